//! An exhaustive model check of the real WorkTime Sync engine together
//! with storage, the network and a server, with `stateright`.
//!
//! The simulator (`worktime-sim`) samples millions of random worlds; this
//! crate explores *every* interleaving of a small one: a few tabs each
//! opening one pull request once and closing it (its `tabs.onRemoved` maybe
//! lost with a killed worker), time jumping to the engine's next wake-up or
//! the fallback alarm, and each request the engine sends delivered, lost
//! before the server, applied with its answer lost (the duplicate trap),
//! answered twice, or cut off by a worker kill before or after the server
//! applied it. Every fault has a budget ([`Bounds`]), so every path ends.
//!
//! The engine is the real [`worktime_core::Engine`]; a state keeps the
//! inputs it was given since its worker started and rebuilds it by replay
//! (the engine is deterministic), and is identified by a fingerprint of the
//! rebuilt engine, the committed storage, the server's rows, the request in
//! flight, the clock and the budgets left. Storage and server are the
//! simulator's ([`worktime_sim::storage::Storage`],
//! [`worktime_sim::server::FakeServer`], which merges with the real
//! server's rule).
//!
//! Properties:
//! - **always nothing lost**: a review whose tab closed is on the server as
//!   ended, or durably queued or failed;
//! - **always nothing counted twice**: at most one row per pull request,
//!   never more active seconds than the tab was open;
//! - **eventually drained**: when a path ends (faults spent, user done,
//!   time up), every closed review is on the server, ended, with its time
//!   (at most one checkpoint interval less).

use stateright::{Checker, Model, Property};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use worktime_core::page::content_input;
use worktime_core::{
    DocId, Engine, HttpOutcome, Input, Output, PageEvent, Request, RequestId, StoreName, TabId,
    UnixMillis, Write,
};
use worktime_protocol::PrRef;
use worktime_sim::server::FakeServer;
use worktime_sim::storage::Storage;

/// Where the model's clock starts.
const T0: i64 = 1_795_300_000_000;
/// The fallback alarm's period.
const ALARM: i64 = 60_000;

/// How big the explored world is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Tabs (each shows its own pull request, once): the sessions.
    pub tabs: usize,
    /// Worker kills.
    pub kills: u8,
    /// Requests lost before the server, or applied with the answer lost.
    pub lost_replies: u8,
    /// Answers delivered twice.
    pub duplicates: u8,
    /// The user acts (opens, closes) only before this many ms.
    pub user_ms: i64,
    /// Time runs up to this many ms.
    pub horizon_ms: i64,
}

impl Bounds {
    /// The bounds `./build.sh model` (and so `./build.sh test`) checks:
    /// every fault kind, sized to finish in well under a minute on two
    /// busy cores (about 212,000 distinct states).
    pub const CI: Bounds = Bounds {
        tabs: 2,
        kills: 1,
        lost_replies: 1,
        duplicates: 1,
        user_ms: 30_000,
        horizon_ms: 90_000,
    };

    /// `./build.sh model --full`: two kills (about 860,000 distinct states,
    /// some 3–4 minutes on two cores).
    pub const FULL: Bounds = Bounds {
        kills: 2,
        ..Bounds::CI
    };
}

/// A deliberate bug in how the engine's outputs are carried out, so the
/// check can show it has teeth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flaw {
    /// Queue writes are never persisted (no write-ahead).
    SkipQueueWrites,
    /// Pushed items are deleted from the queue before the server answers.
    DeleteBeforeAck,
}

/// What a tab has done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tab {
    /// Not opened yet.
    Unopened,
    /// Showing its PR, visible, since this time.
    Open(i64),
    /// Was open over this span.
    Closed(i64, i64),
}

/// The inputs a worker was given, newest first, sharing their past with
/// the states they came from.
#[derive(Debug)]
struct Given {
    input: Input,
    before: Option<Arc<Given>>,
}

/// One state of the world.
#[derive(Debug, Clone)]
pub struct World {
    /// Inputs the current worker was given (the first is `Started`).
    inputs: Option<Arc<Given>>,
    storage: Storage,
    server: FakeServer,
    in_flight: Option<(RequestId, Request)>,
    wake: Option<i64>,
    now: i64,
    next_alarm: i64,
    tabs: Vec<Tab>,
    kills: u8,
    lost_replies: u8,
    duplicates: u8,
    restarts: u64,
    flaw: Option<Flaw>,
    fingerprint: u128,
}

impl PartialEq for World {
    fn eq(&self, other: &World) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl Hash for World {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.fingerprint.hash(state);
    }
}

/// Something that can happen next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The user opens tab `n` (visible).
    Open(usize),
    /// The user closes tab `n`.
    Close(usize),
    /// The user closes tab `n` while the worker is being killed: the
    /// removal is lost with it and the next worker starts without the tab.
    CloseLost(usize),
    /// Time jumps to the engine's wake-up or the fallback alarm.
    Advance,
    /// The request in flight reaches the server; the answer comes back.
    Deliver,
    /// The request in flight never reaches the server.
    Drop,
    /// The server applies it; the answer is lost (the fetch times out).
    LoseAnswer,
    /// The server applies it; the answer comes back twice.
    Duplicate,
    /// The worker is killed; the request in flight (if any) never arrived.
    Kill,
    /// The worker is killed after the server applied the request in flight.
    KillAfterApply,
}

/// The model: the engine, storage, network and server, within `bounds`.
#[derive(Debug, Clone, Copy)]
pub struct SyncModel {
    /// The world's size.
    pub bounds: Bounds,
    /// A planted bug, if any (tests only).
    pub flaw: Option<Flaw>,
}

fn pr(tab: usize) -> PrRef {
    PrRef {
        owner: "octo".into(),
        repo: "hello".into(),
        number: tab as u64 + 1,
    }
}

impl World {
    fn engine(&self) -> Engine {
        let mut given = Vec::new();
        let mut at = self.inputs.as_deref();
        while let Some(g) = at {
            given.push(&g.input);
            at = g.before.as_deref();
        }
        let mut engine = Engine::new();
        for input in given.into_iter().rev() {
            engine.handle(input.clone());
            while engine.poll_output().is_some() {}
        }
        engine
    }

    fn open_tabs(&self) -> Vec<TabId> {
        self.tabs
            .iter()
            .enumerate()
            .filter(|(_, t)| matches!(t, Tab::Open(_)))
            .map(|(i, _)| TabId(i as i64 + 1))
            .collect()
    }

    /// Feeds `input` to the current worker and carries out its outputs.
    fn feed(&mut self, engine: &mut Engine, input: Input) {
        engine.handle(input.clone());
        self.inputs = Some(Arc::new(Given {
            input,
            before: self.inputs.take(),
        }));
        while let Some(output) = engine.poll_output() {
            match output {
                Output::Persist { mut writes } => {
                    if self.flaw == Some(Flaw::SkipQueueWrites) {
                        writes.retain(|w| {
                            !matches!(w, Write::Put { record } if record.store() == StoreName::Queue)
                        });
                    }
                    self.storage.commit(&writes, false, false);
                }
                Output::Send {
                    request_id,
                    request,
                } => {
                    if self.flaw == Some(Flaw::DeleteBeforeAck) {
                        let deletes: Vec<Write> = worktime_sim::subject::pushed_ids(&request)
                            .into_iter()
                            .map(|key| Write::Delete {
                                store: StoreName::Queue,
                                key,
                            })
                            .collect();
                        self.storage.commit(&deletes, false, false);
                    }
                    self.in_flight = Some((request_id, request));
                }
                Output::WakeAt { at } => self.wake = Some(at.0),
                Output::CancelWake => self.wake = None,
                Output::Event { .. } | Output::StatusChanged { .. } => {}
            }
        }
    }

    /// A new worker starts from what storage holds.
    fn start(&mut self) -> Engine {
        self.inputs = None;
        self.in_flight = None;
        self.wake = None;
        self.restarts += 1;
        let mut engine = Engine::new();
        let (stored, _) = self.storage.load(None);
        let started = Input::Started {
            now: UnixMillis(self.now),
            stored,
            open_tabs: self.open_tabs(),
            has_token: true,
            online: true,
            entropy: 0x5eed_u128 + u128::from(self.restarts) * 7919,
            utc_offset_minutes: 0,
            new_browser_run: false,
        };
        self.feed(&mut engine, started);
        let idle = Input::UserIdle {
            now: UnixMillis(self.now),
            idle: false,
            last_input: None,
        };
        self.feed(&mut engine, idle);
        engine
    }

    fn respond(&mut self, engine: &mut Engine, id: RequestId, outcome: HttpOutcome) {
        let now = UnixMillis(self.now);
        self.feed(
            engine,
            Input::Response {
                now,
                request_id: id,
                outcome,
            },
        );
    }

    fn answer(&mut self, request: &Request) -> HttpOutcome {
        let a = self.server.apply(request, UnixMillis(self.now));
        HttpOutcome::from_response(a.status, None, a.body, UnixMillis(self.now))
    }

    fn seal(mut self, engine: &Engine) -> World {
        let mut text = format!("{engine:?}");
        text.push_str(&format!(
            "{:?}{:?}{:?}{:?}{}{}{:?}{}{}{}",
            self.storage,
            self.server.rows,
            self.in_flight,
            self.wake,
            self.now,
            self.next_alarm,
            self.tabs,
            self.kills,
            self.lost_replies,
            self.duplicates
        ));
        let mut a = DefaultHasher::new();
        text.hash(&mut a);
        let mut b = DefaultHasher::new();
        0x9e37_u16.hash(&mut b);
        text.hash(&mut b);
        self.fingerprint = (u128::from(a.finish()) << 64) | u128::from(b.finish());
        self
    }

    /// The server's rows for tab `n`'s pull request.
    fn rows_of(&self, n: usize) -> Vec<&worktime_protocol::Session> {
        let want = pr(n);
        self.server
            .rows
            .values()
            .filter(|s| s.pr_number == want.number)
            .collect()
    }
}

impl SyncModel {
    /// A model of `bounds`.
    pub fn new(bounds: Bounds) -> Self {
        SyncModel { bounds, flaw: None }
    }
}

impl Model for SyncModel {
    type State = World;
    type Action = Action;

    fn init_states(&self) -> Vec<World> {
        let mut w = World {
            inputs: None,
            storage: Storage::default(),
            server: FakeServer::default(),
            in_flight: None,
            wake: None,
            now: T0,
            next_alarm: T0 + ALARM,
            tabs: vec![Tab::Unopened; self.bounds.tabs],
            kills: self.bounds.kills,
            lost_replies: self.bounds.lost_replies,
            duplicates: self.bounds.duplicates,
            restarts: 0,
            flaw: self.flaw,
            fingerprint: 0,
        };
        let engine = w.start();
        vec![w.seal(&engine)]
    }

    fn actions(&self, w: &World, actions: &mut Vec<Action>) {
        let user = w.now < T0 + self.bounds.user_ms;
        for (n, tab) in w.tabs.iter().enumerate() {
            match tab {
                Tab::Unopened if user => actions.push(Action::Open(n)),
                Tab::Open(_) if user => {
                    actions.push(Action::Close(n));
                    if w.kills > 0 {
                        actions.push(Action::CloseLost(n));
                    }
                }
                _ => {}
            }
        }
        let next = w.wake.map_or(w.next_alarm, |t| t.min(w.next_alarm));
        if next <= T0 + self.bounds.horizon_ms {
            actions.push(Action::Advance);
        }
        if w.in_flight.is_some() {
            actions.push(Action::Deliver);
            if w.lost_replies > 0 {
                actions.push(Action::Drop);
                actions.push(Action::LoseAnswer);
            }
            if w.duplicates > 0 {
                actions.push(Action::Duplicate);
            }
            if w.kills > 0 {
                actions.push(Action::KillAfterApply);
            }
        }
        if w.kills > 0 {
            actions.push(Action::Kill);
        }
    }

    fn next_state(&self, last: &World, action: Action) -> Option<World> {
        let mut w = last.clone();
        let mut engine = w.engine();
        let now = UnixMillis(w.now);
        match action {
            Action::Open(n) => {
                w.tabs[n] = Tab::Open(w.now);
                let path = format!("/Octo/Hello/pull/{}", n + 1);
                let make = content_input(
                    TabId(n as i64 + 1),
                    &path,
                    PageEvent::Visible,
                    DocId(n as u64 + 1),
                    1,
                    |_| true,
                )?;
                w.feed(&mut engine, make(now));
            }
            Action::Close(n) => {
                let Tab::Open(since) = w.tabs[n] else {
                    return None;
                };
                w.tabs[n] = Tab::Closed(since, w.now);
                let tab = TabId(n as i64 + 1);
                w.feed(&mut engine, Input::TabRemoved { now, tab });
            }
            Action::CloseLost(n) => {
                let Tab::Open(since) = w.tabs[n] else {
                    return None;
                };
                w.tabs[n] = Tab::Closed(since, w.now);
                w.kills -= 1;
                engine = w.start();
            }
            Action::Advance => {
                let next = w.wake.map_or(w.next_alarm, |t| t.min(w.next_alarm));
                w.now = next.max(w.now);
                let now = UnixMillis(w.now);
                if w.wake == Some(next) {
                    w.wake = None;
                    w.feed(&mut engine, Input::TimerDue { now });
                } else {
                    w.next_alarm = next + ALARM;
                    w.feed(&mut engine, Input::AlarmFired { now });
                }
            }
            Action::Deliver | Action::Duplicate => {
                let (id, request) = w.in_flight.take()?;
                let outcome = w.answer(&request);
                w.respond(&mut engine, id, outcome.clone());
                if action == Action::Duplicate {
                    w.duplicates -= 1;
                    w.respond(&mut engine, id, outcome);
                }
            }
            Action::Drop => {
                let (id, _) = w.in_flight.take()?;
                w.lost_replies -= 1;
                let outcome = HttpOutcome::NetworkError {
                    message: "connection reset".into(),
                };
                w.respond(&mut engine, id, outcome);
            }
            Action::LoseAnswer => {
                let (id, request) = w.in_flight.take()?;
                w.lost_replies -= 1;
                let _ = w.answer(&request);
                w.respond(&mut engine, id, HttpOutcome::Timeout);
            }
            Action::Kill | Action::KillAfterApply => {
                if action == Action::KillAfterApply {
                    let (_, request) = w.in_flight.take()?;
                    let _ = w.answer(&request);
                }
                w.kills -= 1;
                engine = w.start();
            }
        }
        Some(w.seal(&engine))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("nothing lost", |_, w: &World| {
                w.tabs.iter().enumerate().all(|(n, t)| {
                    if !matches!(t, Tab::Closed(..)) {
                        return true;
                    }
                    let number = pr(n).number;
                    w.rows_of(n).iter().any(|s| s.is_ended())
                        || w.storage
                            .queue
                            .values()
                            .any(|e| e.session.pr_number == number && e.session.is_ended())
                        || w.storage
                            .failed
                            .values()
                            .any(|f| f.session.pr_number == number)
                })
            }),
            Property::always("nothing counted twice", |_, w: &World| {
                w.tabs.iter().enumerate().all(|(n, t)| {
                    let open_ms = match *t {
                        Tab::Unopened => 0,
                        Tab::Open(since) => w.now - since,
                        Tab::Closed(since, until) => until - since,
                    };
                    let rows = w.rows_of(n);
                    rows.len() <= 1
                        && rows
                            .iter()
                            .all(|s| i64::from(s.active_seconds) * 1000 <= open_ms)
                })
            }),
            Property::eventually("drained", |_, w: &World| {
                w.tabs.iter().enumerate().all(|(n, t)| match *t {
                    Tab::Closed(since, until) => w.rows_of(n).iter().any(|s| {
                        s.is_ended()
                            && i64::from(s.active_seconds) * 1000
                                >= until
                                    - since
                                    - 1_000
                                    - worktime_core::tracker::CHECKPOINT_INTERVAL.0
                    }),
                    _ => true,
                }) && w.storage.failed.is_empty()
            }),
        ]
    }
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Distinct states explored.
    pub unique_states: usize,
    /// States visited (with repeats).
    pub states: usize,
    /// Longest path explored.
    pub max_depth: usize,
    /// The properties violated, each with the path that shows it.
    pub violations: Vec<String>,
}

/// Explores every state within `bounds` (breadth first, on `threads`).
pub fn check(bounds: Bounds, threads: usize) -> Report {
    check_model(SyncModel::new(bounds), threads)
}

/// Explores every state of `model` (breadth first, on `threads`).
pub fn check_model(model: SyncModel, threads: usize) -> Report {
    let checker = model.checker().threads(threads).spawn_bfs().join();
    let mut violations: Vec<String> = checker
        .discoveries()
        .into_iter()
        .map(|(name, path)| {
            let actions: Vec<String> = path
                .into_actions()
                .iter()
                .map(|a| format!("{a:?}"))
                .collect();
            format!("{name}: {}", actions.join(" → "))
        })
        .collect();
    violations.sort();
    Report {
        unique_states: checker.unique_state_count(),
        states: checker.state_count(),
        max_depth: checker.max_depth(),
        violations,
    }
}
