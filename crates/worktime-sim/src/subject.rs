//! The engine under test, optionally with a deliberate bug, so the
//! simulator can show it has teeth (its mutation score, `--mutants`).
//!
//! Most bugs are planted from outside, by bending what goes into the engine
//! or comes out of it; the one that must live inside (zero backoff) is a
//! `worktime-core` feature switch ([`worktime_core::mutant`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use worktime_core::mutant::{Mutant, plant};
use worktime_core::{
    Engine, HttpOutcome, Input, Method, Output, PageEvent, Record, RequestId, StoreName, TabId,
    Write,
};
use worktime_protocol::{BatchRequest, ErrorBody, Session};

/// A deliberate bug to plant in the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// The real engine, unchanged.
    None,
    /// A 503 is taken as the server's verdict on the session: dead-lettered.
    DeadLetter503,
    /// `Retry-After` is dropped from every answer.
    IgnoreRetryAfter,
    /// Backoff is zero: a failed item goes again at once.
    ZeroBackoff,
    /// Workbox's mistake: delete the queued items just before sending them,
    /// instead of after the server acknowledged them.
    DeleteBeforeAck,
    /// No write-ahead: queue writes are never persisted, so a killed worker
    /// forgets what it had not sent yet.
    SkipQueueWrites,
    /// At start, a session whose tabs are gone is ended and its record
    /// deleted, but its ended version is never queued.
    DropOrphanAtStart,
    /// Hidden time counts: every `Hidden` report is taken as `Visible`.
    CountHiddenTime,
    /// Leaving a PR inside a tab is taken as the tab's removal (the bug
    /// issue 9 found in the shell): the tab is shut out.
    LeavingIsRemoval,
    /// Removed tab ids are remembered across browser restarts, so a new tab
    /// that gets an old id (Chrome reuses them) is ignored.
    TombstoneOutlivesRestart,
    /// A request goes out before the writes before it have committed.
    SendBeforePersist,
}

impl Bug {
    /// Every planted bug (not [`Bug::None`]), for the mutation score.
    pub const ALL: [Bug; 10] = [
        Bug::DeadLetter503,
        Bug::IgnoreRetryAfter,
        Bug::ZeroBackoff,
        Bug::DeleteBeforeAck,
        Bug::SkipQueueWrites,
        Bug::DropOrphanAtStart,
        Bug::CountHiddenTime,
        Bug::LeavingIsRemoval,
        Bug::TombstoneOutlivesRestart,
        Bug::SendBeforePersist,
    ];

    /// The bug's name, as `--mutants` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Bug::None => "none",
            Bug::DeadLetter503 => "dead-letter a 503",
            Bug::IgnoreRetryAfter => "ignore Retry-After",
            Bug::ZeroBackoff => "zero backoff",
            Bug::DeleteBeforeAck => "delete before the server's ack",
            Bug::SkipQueueWrites => "skip queue writes",
            Bug::DropOrphanAtStart => "drop an orphan's ended version at start",
            Bug::CountHiddenTime => "count hidden time",
            Bug::LeavingIsRemoval => "treat leaving a PR as a tab removal",
            Bug::TombstoneOutlivesRestart => "a tombstone that outlives a browser restart",
            Bug::SendBeforePersist => "send before persist",
        }
    }
}

/// The engine as the simulator drives it.
#[derive(Debug)]
pub struct Subject {
    engine: Engine,
    bug: Bug,
    extra: VecDeque<Output>,
    /// Requests in flight that push exactly one session (PUT).
    puts: BTreeMap<RequestId, ()>,
    /// Tab ids removed, for [`Bug::TombstoneOutlivesRestart`].
    tombstones: BTreeSet<TabId>,
    /// Outputs up to the first persist after `Started` are being bent
    /// ([`Bug::DropOrphanAtStart`]).
    starting: bool,
}

impl Subject {
    /// A fresh engine (waiting for `Started`) with `bug` planted;
    /// `tombstones` are what the previous worker remembered.
    pub fn new(bug: Bug, tombstones: BTreeSet<TabId>) -> Self {
        plant((bug == Bug::ZeroBackoff).then_some(Mutant::ZeroBackoff));
        Subject {
            engine: Engine::new(),
            bug,
            extra: VecDeque::new(),
            puts: BTreeMap::new(),
            tombstones,
            starting: false,
        }
    }

    /// The engine, for its getters.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Tab ids this worker remembers as removed (only kept across restarts
    /// with [`Bug::TombstoneOutlivesRestart`]).
    pub fn tombstones(&self) -> BTreeSet<TabId> {
        if self.bug == Bug::TombstoneOutlivesRestart {
            self.tombstones.clone()
        } else {
            BTreeSet::new()
        }
    }

    /// Feeds one input, bent by the planted bug.
    pub fn handle(&mut self, input: Input) {
        let input = match (self.bug, input) {
            (
                Bug::DeadLetter503,
                Input::Response {
                    now,
                    request_id,
                    outcome: HttpOutcome::Retry { status: 503, .. },
                },
            ) if self.puts.contains_key(&request_id) => Input::Response {
                now,
                request_id,
                outcome: HttpOutcome::Rejected {
                    status: 503,
                    reason: ErrorBody {
                        code: "unavailable".into(),
                        message: "taken as a verdict".into(),
                        field: None,
                    },
                },
            },
            (
                Bug::IgnoreRetryAfter,
                Input::Response {
                    now,
                    request_id,
                    outcome: HttpOutcome::Retry { status, .. },
                },
            ) => Input::Response {
                now,
                request_id,
                outcome: HttpOutcome::Retry {
                    status,
                    after: None,
                },
            },
            (
                Bug::CountHiddenTime,
                Input::Page {
                    now,
                    tab,
                    pr,
                    event: PageEvent::Hidden,
                    doc,
                    seq,
                },
            ) => Input::Page {
                now,
                tab,
                pr,
                event: PageEvent::Visible,
                doc,
                seq,
            },
            (Bug::LeavingIsRemoval, Input::LeftPullRequest { now, tab, .. }) => {
                Input::TabRemoved { now, tab }
            }
            (Bug::TombstoneOutlivesRestart, input) => match input {
                Input::TabRemoved { tab, .. } => {
                    self.tombstones.insert(tab);
                    input
                }
                Input::Page { tab, .. } | Input::LeftPullRequest { tab, .. }
                    if self.tombstones.contains(&tab) =>
                {
                    return;
                }
                input => input,
            },
            (Bug::DropOrphanAtStart, input @ Input::Started { .. }) => {
                self.starting = true;
                input
            }
            (_, input) => input,
        };
        if let Input::Response { request_id, .. } = &input {
            self.puts.remove(request_id);
        }
        self.engine.handle(input);
    }

    /// The next output, bent by the planted bug.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(o) = self.extra.pop_front() {
            return Some(o);
        }
        let output = self.engine.poll_output()?;
        if let Output::Send {
            request_id,
            request,
        } = &output
            && request.method == Method::Put
        {
            self.puts.insert(*request_id, ());
        }
        match (self.bug, output) {
            (Bug::DeleteBeforeAck, Output::Send { request_id, request }) => {
                let ids = pushed_ids(&request);
                let send = Output::Send {
                    request_id,
                    request,
                };
                if ids.is_empty() {
                    return Some(send);
                }
                self.extra.push_back(send);
                Some(Output::Persist {
                    writes: ids
                        .into_iter()
                        .map(|key| Write::Delete {
                            store: StoreName::Queue,
                            key,
                        })
                        .collect(),
                })
            }
            (Bug::SkipQueueWrites, Output::Persist { writes }) => Some(Output::Persist {
                writes: writes
                    .into_iter()
                    .filter(|w| {
                        !matches!(w, Write::Put { record } if record.store() == StoreName::Queue)
                    })
                    .collect(),
            }),
            (Bug::DropOrphanAtStart, Output::Persist { writes }) if self.starting => {
                self.starting = false;
                Some(Output::Persist {
                    writes: writes
                        .into_iter()
                        .filter(|w| {
                            !matches!(w, Write::Put { record: Record::Queue(e) } if e.session.is_ended())
                        })
                        .collect(),
                })
            }
            (Bug::SendBeforePersist, persist @ Output::Persist { .. }) => {
                // Everything up to the next send goes after it.
                let mut held = vec![persist];
                while let Some(next) = self.engine.poll_output() {
                    if let Output::Send { .. } = next {
                        self.extra.push_back(next);
                        self.extra.extend(held);
                        return self.extra.pop_front();
                    }
                    held.push(next);
                }
                self.extra.extend(held);
                self.extra.pop_front()
            }
            (_, output) => Some(output),
        }
    }
}

/// The session ids a push request carries.
pub fn pushed_ids(request: &worktime_core::Request) -> Vec<String> {
    let Some(body) = request.body.as_deref() else {
        return Vec::new();
    };
    match request.method {
        Method::Put => serde_json::from_str::<Session>(body)
            .map(|s| vec![s.local_id.to_string()])
            .unwrap_or_default(),
        Method::Post => serde_json::from_str::<BatchRequest>(body)
            .map(|b| b.sessions.iter().map(|s| s.local_id.to_string()).collect())
            .unwrap_or_default(),
        Method::Get => Vec::new(),
    }
}
