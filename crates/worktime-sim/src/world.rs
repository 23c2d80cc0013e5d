//! One simulated world: a browser with tabs, a worker that can be killed, a
//! network and a fake server with a fault menu, all driven by one seed.

use crate::rng::SimRng;
use crate::server::{FakeServer, error};
use crate::storage::Storage;
use crate::subject::{Bug, Subject, pushed_ids};
use std::collections::{BTreeMap, BTreeSet};
use worktime_core::retry::MAX_TRANSIENT_FAILURES;
use worktime_core::tracker::MAX_ACCRUAL_GAP;
use worktime_core::{
    Command, HttpOutcome, Input, Output, PageEvent, Record, RequestId, SyncNowReply, TabId,
    UiEvent, Write,
};
use worktime_protocol::{LocalId, PrRef, UnixMillis};

/// Where the simulated clock starts (2026-11-21).
const EPOCH: i64 = 1_795_300_000_000;
/// The shell's fetch timeout.
const FETCH_TIMEOUT: i64 = 15_000;
/// The fallback alarm's period.
const ALARM_PERIOD: i64 = 60_000;
/// Pull requests the simulated user reviews (13 is refused by the server).
const PRS: [u64; 6] = [1, 2, 3, 4, 5, crate::server::POISON_PR];

/// A broken promise, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The seed that found it.
    pub seed: u64,
    /// The step after which it was seen (`usize::MAX` = quiet phase).
    pub step: usize,
    /// What broke.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let step = if self.step == usize::MAX {
            "the quiet phase".to_owned()
        } else {
            format!("step {}", self.step)
        };
        write!(
            f,
            "seed {} violated an invariant at {step}: {} (replay: SIM_SEED={} cargo test -p worktime-sim)",
            self.seed, self.message, self.seed
        )
    }
}

/// What one seed's run did, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Steps taken (fault phase).
    pub steps: u64,
    /// Inputs handled.
    pub inputs: u64,
    /// Workers killed between outputs.
    pub kills: u64,
    /// Requests the engine sent.
    pub requests: u64,
    /// Requests answered with a fault.
    pub faults: u64,
    /// Duplicate traps (applied, answer lost).
    pub duplicate_traps: u64,
    /// Sessions that ended.
    pub ended: u64,
    /// Sessions on the server at the end.
    pub on_server: u64,
    /// Items in the failed list at the end.
    pub failed: u64,
    /// Failed items evicted.
    pub evictions: u64,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        self.steps += o.steps;
        self.inputs += o.inputs;
        self.kills += o.kills;
        self.requests += o.requests;
        self.faults += o.faults;
        self.duplicate_traps += o.duplicate_traps;
        self.ended += o.ended;
        self.on_server += o.on_server;
        self.failed += o.failed;
        self.evictions += o.evictions;
    }
}

#[derive(Debug, Clone)]
struct SimTab {
    pr: Option<PrRef>,
    visible: bool,
}

#[derive(Debug, Clone)]
struct InFlight {
    due: i64,
    incarnation: u64,
    request_id: RequestId,
    outcome: HttpOutcome,
}

/// Per-seed fault rates (per mille), so some seeds are calm and some stormy.
#[derive(Debug, Clone, Copy)]
struct Faults {
    kill: u64,
    network_error: u64,
    timeout_before: u64,
    timeout_after: u64,
    server_error: u64,
    too_many: u64,
    bad_request: u64,
    malformed: u64,
    poison: u64,
}

/// The simulated world.
pub struct World {
    seed: u64,
    rng: SimRng,
    bug: Bug,
    faults: Faults,
    calm: bool,
    step: usize,
    real: i64,
    skew: i64,
    utc_offset: i32,
    subject: Subject,
    incarnation: u64,
    storage: Storage,
    server: FakeServer,
    tabs: BTreeMap<i64, SimTab>,
    next_tab: i64,
    seq: u64,
    idle: bool,
    online: bool,
    outage: bool,
    token_valid: bool,
    has_token: bool,
    wake: Option<i64>,
    next_alarm: i64,
    in_flight: Vec<InFlight>,
    /// Ended sessions committed to storage and not yet seen ended on the
    /// server.
    watch: BTreeSet<LocalId>,
    lost: u64,
    discarded: BTreeSet<LocalId>,
    truth_ms: i64,
    slack_ms: i64,
    sends_seen: u64,
    violation: Option<String>,
    stats: Stats,
    trace: bool,
}

impl World {
    /// A world for `seed` with `bug` planted in the engine.
    pub fn new(seed: u64, bug: Bug) -> Self {
        let mut rng = SimRng::new(seed);
        let storm = rng.range(0, 4) as u64; // 0 calm … 3 stormy
        // One seed in eight meets a hostile server that refuses much of what
        // it gets, so the failed list fills up and evicts.
        let hostile = rng.chance(125);
        let faults = Faults {
            kill: 2 + 4 * storm,
            network_error: 10 + 20 * storm,
            timeout_before: 5 + 10 * storm,
            timeout_after: 5 + 15 * storm,
            server_error: 10 + 30 * storm,
            too_many: 5 + 10 * storm,
            bad_request: if hostile { 300 } else { 1 + storm },
            malformed: 2 + 4 * storm,
            poison: if hostile { 900 } else { 300 },
        };
        let utc_offset = rng.range(-12, 15) as i32 * 60;
        // One seed in eight talks to a server (or proxy) with a small body
        // limit, so batches meet 413.
        let max_batch = if rng.chance(125) { 3 } else { 0 };
        let mut w = World {
            seed,
            rng,
            bug,
            faults,
            calm: false,
            step: 0,
            real: EPOCH,
            skew: 0,
            utc_offset,
            subject: Subject::new(bug),
            incarnation: 0,
            storage: Storage::default(),
            server: FakeServer {
                max_batch,
                ..FakeServer::default()
            },
            tabs: BTreeMap::new(),
            next_tab: 1,
            seq: 0,
            idle: false,
            online: true,
            outage: false,
            token_valid: true,
            has_token: true,
            wake: None,
            next_alarm: EPOCH + ALARM_PERIOD,
            in_flight: Vec::new(),
            watch: BTreeSet::new(),
            lost: 0,
            discarded: BTreeSet::new(),
            truth_ms: 0,
            slack_ms: 0,
            sends_seen: 0,
            violation: None,
            stats: Stats::default(),
            trace: std::env::var_os("SIM_TRACE").is_some(),
        };
        w.start_worker();
        w
    }

    /// Runs `steps` faulty steps, checking every invariant after each, then
    /// the quiet phase.
    pub fn run(mut self, steps: usize) -> Result<Stats, Violation> {
        for step in 0..steps {
            self.step = step;
            self.random_step();
            self.check()?;
            self.stats.steps += 1;
        }
        self.step = usize::MAX;
        self.quiet()?;
        self.stats.on_server = self.server.rows.len() as u64;
        self.stats.failed = self.subject.engine().failed().len() as u64;
        self.stats.evictions = self.storage.meta.as_ref().map_or(0, |m| m.evictions);
        Ok(self.stats)
    }

    fn now(&self) -> UnixMillis {
        UnixMillis(self.real + self.skew)
    }

    fn fail(&mut self, message: String) {
        if self.violation.is_none() {
            self.violation = Some(message);
        }
    }

    // ------------------------------------------------------------ worker

    fn start_worker(&mut self) {
        self.subject = Subject::new(self.bug);
        self.incarnation += 1;
        self.wake = None;
        let input = Input::Started {
            now: self.now(),
            stored: self.storage.load(),
            open_tabs: self.tabs.keys().map(|&t| TabId(t)).collect(),
            has_token: self.has_token,
            online: self.online,
            entropy: self.rng.next_u128(),
            utc_offset_minutes: self.utc_offset,
        };
        self.input(input);
        // The shell asks chrome.idle for the current state at start.
        self.input(Input::UserIdle {
            now: self.now(),
            idle: self.idle,
        });
    }

    /// Feeds one input and carries out its outputs, maybe killing the
    /// worker between two of them.
    fn input(&mut self, input: Input) {
        self.stats.inputs += 1;
        let now = input.now();
        if self.trace {
            let text = match &input {
                Input::Started { stored, .. } => format!(
                    "Started (queue {}, failed {}, sessions {})",
                    stored.queue.len(),
                    stored.failed.len(),
                    stored.sessions.len()
                ),
                other => format!("{other:?}"),
            };
            eprintln!(
                "[{} real {} skew {}] -> {text}",
                self.step, self.real, self.skew
            );
        }
        // Messages whose sender waits for an answer (content-script page
        // reports, popup and options commands) are sent again when the
        // worker dies before answering; browser events are not.
        let resend =
            matches!(input, Input::Page { .. } | Input::Command { .. }).then(|| input.clone());
        let lost_idle_change = matches!(input, Input::UserIdle { .. });
        self.subject.handle(input);
        loop {
            if !self.calm && self.rng.chance(self.faults.kill) {
                self.stats.kills += 1;
                if lost_idle_change {
                    // An idle change lost with the worker: the restarted
                    // engine counts the gap with the stale state (≤ 90 s).
                    self.slack_ms += MAX_ACCRUAL_GAP.0 * self.visible_prs() as i64;
                }
                self.start_worker();
                if let Some(mut input) = resend {
                    set_now(&mut input, self.now());
                    self.input(input);
                }
                return;
            }
            let Some(output) = self.subject.poll_output() else {
                break;
            };
            self.carry_out(output, now);
        }
    }

    fn carry_out(&mut self, output: Output, now: UnixMillis) {
        if self.trace {
            match &output {
                Output::StatusChanged { view } => eprintln!(
                    "      <- status {:?} pending {} parked {} failed {} err {:?}",
                    view.status,
                    view.pending,
                    view.parked,
                    view.failed.len(),
                    view.last_error
                ),
                Output::Send {
                    request_id,
                    request,
                } => eprintln!(
                    "      <- send {} {:?} {} ({} items)",
                    request_id.0,
                    request.method,
                    request.path,
                    pushed_ids(request).len()
                ),
                other => eprintln!("      <- {other:?}"),
            }
        }
        match output {
            Output::Persist { writes } => {
                self.observe(&writes);
                self.storage.commit(&writes);
            }
            Output::Send {
                request_id,
                request,
            } => {
                self.stats.requests += 1;
                self.sends_seen += 1;
                self.send(request_id, &request);
            }
            Output::WakeAt { at } => {
                if at <= now {
                    self.fail(format!(
                        "wake-up asked for {} at {}: not in the future",
                        at.0, now.0
                    ));
                }
                self.wake = Some(self.real + (at.0 - now.0).max(0));
            }
            Output::CancelWake => self.wake = None,
            Output::Event { event } => self.observe_event(&event),
            Output::StatusChanged { .. } => {}
        }
    }

    /// Ended sessions written to storage join the watch list.
    fn observe(&mut self, writes: &[Write]) {
        for w in writes {
            if let Write::Put { record } = w {
                let session = match record {
                    Record::Queue(e) => &e.session,
                    Record::Failed(f) => &f.session,
                    _ => continue,
                };
                if session.is_ended()
                    && !self
                        .server
                        .rows
                        .get(&session.local_id)
                        .is_some_and(|s| s.is_ended())
                    && self.watch.insert(session.local_id.clone())
                {
                    self.stats.ended += 1;
                }
            }
        }
    }

    fn observe_event(&mut self, event: &UiEvent) {
        if let UiEvent::SyncNow {
            reply: SyncNowReply::Refused { retry_at, .. },
        } = event
            && retry_at.is_some_and(|t| t <= self.now())
        {
            self.fail("sync-now refused until a time already past".into());
        }
    }

    // ----------------------------------------------------------- network

    fn send(&mut self, request_id: RequestId, request: &worktime_core::Request) {
        let server_now = UnixMillis(self.real);
        let latency = self.rng.range(5, 800);
        let f = self.faults;
        let mut applied = false;
        let (delay, outcome) = if !self.online {
            (
                self.rng.range(1, 50),
                HttpOutcome::NetworkError {
                    message: "offline".into(),
                },
            )
        } else if !self.calm && self.rng.chance(f.network_error) {
            self.stats.faults += 1;
            (
                latency,
                HttpOutcome::NetworkError {
                    message: "connection reset".into(),
                },
            )
        } else if !self.calm && self.rng.chance(f.timeout_before) {
            self.stats.faults += 1;
            (FETCH_TIMEOUT, HttpOutcome::Timeout)
        } else if !self.token_valid || !self.has_token {
            let a = error(401, "unauthorized", "token revoked");
            (latency, self.outcome(a.status, None, a.body))
        } else if self.outage || (!self.calm && self.rng.chance(f.server_error)) {
            self.stats.faults += 1;
            let a = error(503, "unavailable", "try later");
            (latency, self.outcome(a.status, None, a.body))
        } else if !self.calm && self.rng.chance(f.too_many) {
            self.stats.faults += 1;
            let after = self.rng.range(0, 120).to_string();
            let a = error(429, "rate_limited", "slow down");
            (latency, self.outcome(a.status, Some(&after), a.body))
        } else if !self.calm && self.rng.chance(f.bad_request) && !pushed_ids(request).is_empty() {
            self.stats.faults += 1;
            let a = error(422, "unprocessable", "refused as a whole");
            (latency, self.outcome(a.status, None, a.body))
        } else {
            applied = true;
            let answer = self.server.apply(request, server_now);
            if !self.calm && self.rng.chance(f.timeout_after) {
                self.stats.faults += 1;
                self.stats.duplicate_traps += 1;
                (FETCH_TIMEOUT, HttpOutcome::Timeout)
            } else if answer.status == 200 && !self.calm && self.rng.chance(f.malformed) {
                self.stats.faults += 1;
                (latency, self.outcome(200, None, "{\"results\": 7".into()))
            } else {
                (latency, self.outcome(answer.status, None, answer.body))
            }
        };
        if applied {
            self.settle_watch();
        }
        self.in_flight.push(InFlight {
            due: self.real + delay,
            incarnation: self.incarnation,
            request_id,
            outcome,
        });
    }

    fn outcome(&self, status: u16, retry_after: Option<&str>, body: String) -> HttpOutcome {
        HttpOutcome::from_response(status, retry_after, body, self.now())
    }

    /// Drops watched sessions the server now holds as ended (they can never
    /// be lost any more: the server does not delete).
    fn settle_watch(&mut self) {
        let rows = &self.server.rows;
        self.watch
            .retain(|id| !rows.get(id).is_some_and(|s| s.is_ended()));
    }

    // -------------------------------------------------------------- time

    /// Advances real time by `dt`, delivering alarms, wake-ups and answers
    /// in time order.
    fn advance(&mut self, dt: i64) {
        let target = self.real + dt;
        loop {
            let next_response = self.in_flight.iter().map(|f| f.due).min();
            let next = [Some(self.next_alarm), self.wake, next_response]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= target => {
                    self.pass_time(t);
                    if next_response == Some(t) {
                        self.deliver_response(t);
                    } else if self.wake == Some(t) {
                        self.wake = None;
                        self.input(Input::TimerDue { now: self.now() });
                    } else {
                        self.next_alarm = t + ALARM_PERIOD;
                        self.input(Input::AlarmFired { now: self.now() });
                    }
                }
                _ => {
                    self.pass_time(target);
                    return;
                }
            }
        }
    }

    fn pass_time(&mut self, to: i64) {
        let dt = to - self.real;
        if dt > 0 && !self.idle {
            self.truth_ms += dt * self.visible_prs() as i64;
        }
        self.real = to.max(self.real);
    }

    fn deliver_response(&mut self, t: i64) {
        let Some(i) = self.in_flight.iter().position(|f| f.due == t) else {
            return;
        };
        let f = self.in_flight.remove(i);
        let stale = f.incarnation != self.incarnation;
        // An answer meant for a dead worker is usually lost with it; now
        // and then it reaches the new one, which must ignore it.
        if stale && !self.rng.chance(300) {
            return;
        }
        self.input(Input::Response {
            now: self.now(),
            request_id: f.request_id,
            outcome: f.outcome.clone(),
        });
        if !self.calm && self.rng.chance(20) {
            // A duplicated answer.
            self.input(Input::Response {
                now: self.now(),
                request_id: f.request_id,
                outcome: f.outcome,
            });
        }
    }

    // ------------------------------------------------------------- steps

    fn visible_prs(&self) -> usize {
        let prs: BTreeSet<&PrRef> = self
            .tabs
            .values()
            .filter(|t| t.visible)
            .filter_map(|t| t.pr.as_ref())
            .collect();
        prs.len()
    }

    fn random_pr(&mut self) -> PrRef {
        let n = PRS[self.rng.index(PRS.len())];
        let n = if n == crate::server::POISON_PR && !self.rng.chance(self.faults.poison) {
            1
        } else {
            n
        };
        PrRef {
            owner: "octo".into(),
            repo: "hello".into(),
            number: n,
        }
    }

    fn random_tab(&mut self) -> Option<i64> {
        let ids: Vec<i64> = self.tabs.keys().copied().collect();
        (!ids.is_empty()).then(|| ids[self.rng.index(ids.len())])
    }

    fn page_input(&mut self, tab: i64, pr: PrRef, event: PageEvent) -> Input {
        self.seq += 1 + self.rng.range(0, 3) as u64;
        Input::Page {
            now: self.now(),
            tab: TabId(tab),
            pr,
            event,
            seq: self.seq,
        }
    }

    /// Sends page events as the browser might deliver them: sometimes
    /// duplicated, sometimes the last two swapped.
    fn deliver_pages(&mut self, mut inputs: Vec<Input>) {
        if inputs.len() >= 2 && self.rng.chance(150) {
            let n = inputs.len();
            inputs.swap(n - 1, n - 2);
        }
        for input in inputs {
            let dup = self.rng.chance(80);
            self.input(input.clone());
            if dup {
                self.input(input);
            }
        }
    }

    fn random_step(&mut self) {
        let roll = self.rng.range(0, 1000);
        match roll {
            0..=399 => {
                let dt = if self.rng.chance(100) {
                    self.rng.range(60_000, 600_000)
                } else {
                    self.rng.range(50, 20_000)
                };
                self.advance(dt);
            }
            400..=479 => {
                // Open a tab on a pull request.
                let tab = self.next_tab;
                self.next_tab += 1;
                let pr = self.random_pr();
                let visible = self.rng.chance(700);
                self.tabs.insert(
                    tab,
                    SimTab {
                        pr: Some(pr.clone()),
                        visible,
                    },
                );
                let event = if visible {
                    PageEvent::Visible
                } else {
                    PageEvent::Hidden
                };
                let input = self.page_input(tab, pr, event);
                self.deliver_pages(vec![input]);
            }
            480..=599 => {
                // Show or hide a tab (once or twice in a row).
                let Some(tab) = self.random_tab() else { return };
                let mut inputs = Vec::new();
                for _ in 0..self.rng.range(1, 3) {
                    let Some(t) = self.tabs.get_mut(&tab) else {
                        return;
                    };
                    t.visible = !t.visible;
                    let (visible, pr) = (t.visible, t.pr.clone());
                    if let Some(pr) = pr {
                        let event = if visible {
                            PageEvent::Visible
                        } else {
                            PageEvent::Hidden
                        };
                        inputs.push(self.page_input(tab, pr, event));
                    }
                }
                self.deliver_pages(inputs);
            }
            600..=659 => {
                // Navigate a tab to another PR or away from GitHub PRs.
                let Some(tab) = self.random_tab() else { return };
                let new_pr = if self.rng.chance(700) {
                    Some(self.random_pr())
                } else {
                    None
                };
                let Some(t) = self.tabs.get_mut(&tab) else {
                    return;
                };
                let old = std::mem::replace(&mut t.pr, new_pr.clone());
                let visible = t.visible;
                let mut inputs = Vec::new();
                // Leaving for a page that is not a pull request always tells
                // the engine (pagehide or the content script's URL watch);
                // moving to another PR may skip it (the new PR's report
                // moves the tab).
                if let Some(old) = old
                    && (new_pr.is_none() || self.rng.chance(800))
                {
                    inputs.push(self.page_input(tab, old, PageEvent::Closed));
                }
                if let Some(pr) = new_pr {
                    let event = if visible {
                        PageEvent::Visible
                    } else {
                        PageEvent::Hidden
                    };
                    inputs.push(self.page_input(tab, pr, event));
                }
                self.deliver_pages(inputs);
            }
            660..=739 => {
                // Close a tab, with or without pagehide.
                let Some(tab) = self.random_tab() else { return };
                let Some(t) = self.tabs.remove(&tab) else {
                    return;
                };
                let mut inputs = Vec::new();
                if let Some(pr) = t.pr
                    && self.rng.chance(600)
                {
                    inputs.push(self.page_input(tab, pr, PageEvent::Closed));
                }
                self.deliver_pages(inputs);
                self.input(Input::TabRemoved {
                    now: self.now(),
                    tab: TabId(tab),
                });
            }
            740..=769 => {
                self.idle = !self.idle;
                self.input(Input::UserIdle {
                    now: self.now(),
                    idle: self.idle,
                });
            }
            770..=799 => {
                self.online = !self.online;
                self.input(Input::Network {
                    now: self.now(),
                    online: self.online,
                });
            }
            800..=824 => self.jump_clock(),
            825..=839 => {
                self.stats.kills += 1;
                self.start_worker();
            }
            840..=844 => {
                // The browser crashed: every tab is gone, no events at all.
                self.tabs.clear();
                self.stats.kills += 1;
                self.start_worker();
            }
            845..=869 => self.command(Command::SyncNow),
            870..=884 => self.command(Command::PopupOpened),
            885..=904 => {
                let failed: Vec<LocalId> = self
                    .subject
                    .engine()
                    .failed()
                    .iter()
                    .map(|f| f.session.local_id.clone())
                    .collect();
                if failed.is_empty() {
                    return;
                }
                let id = failed[self.rng.index(failed.len())].clone();
                match self.rng.range(0, 3) {
                    0 => self.command(Command::RetryFailed { local_id: id }),
                    1 => self.command(Command::RetryAllFailed),
                    _ => {
                        self.discarded.insert(id.clone());
                        self.command(Command::DiscardFailed { local_id: id });
                    }
                }
            }
            905..=924 => {
                // The token is revoked on the server, or a new one is pasted.
                if self.token_valid && self.has_token {
                    self.token_valid = false;
                } else {
                    self.token_valid = true;
                    self.has_token = true;
                    self.command(Command::TokenSet);
                }
            }
            925..=934 => {
                if self.has_token && self.rng.chance(300) {
                    self.has_token = false;
                    self.command(Command::TokenCleared);
                }
            }
            935..=964 => self.outage = !self.outage,
            _ => {
                // Let timers and answers run for a while.
                let dt = self.rng.range(20_000, 120_000);
                self.advance(dt);
            }
        }
    }

    fn command(&mut self, command: Command) {
        self.input(Input::Command {
            now: self.now(),
            command,
        });
    }

    fn jump_clock(&mut self) {
        let old = self.skew;
        self.skew = match self.rng.range(0, 10) {
            0..=3 => 0,
            4..=7 => self.skew + self.rng.range(-120_000, 120_000),
            8 => self.rng.range(-7_200_000, 0),
            _ => self.rng.range(0, 900_000),
        };
        if self.skew > old {
            self.slack_ms += MAX_ACCRUAL_GAP.0 * self.visible_prs() as i64;
        }
        // Every input carries the clock; the next one shows the jump.
        self.input(Input::TimerDue { now: self.now() });
    }

    // -------------------------------------------------------- invariants

    fn check(&mut self) -> Result<(), Violation> {
        self.settle_watch();
        if self.trace {
            eprintln!(
                "== step {} truth {} s slack {} s server {} s",
                self.step,
                self.truth_ms / 1000,
                self.slack_ms / 1000,
                self.server.total_seconds
            );
        }
        let evictions = self.storage.meta.as_ref().map_or(0, |m| m.evictions);
        let mut newly_lost = Vec::new();
        for id in &self.watch {
            let key = id.as_str();
            let held = self.storage.queue.contains_key(key)
                || self.storage.failed.contains_key(key)
                || self.discarded.contains(id);
            if !held {
                newly_lost.push(id.clone());
            }
        }
        let last_lost = newly_lost.last().cloned();
        for id in newly_lost {
            self.watch.remove(&id);
            self.lost += 1;
        }
        if self.lost > evictions {
            self.fail(format!(
                "nothing lost: {} ended sessions (last: {last_lost:?}) are neither queued, failed nor on the server (evictions: {evictions})",
                self.lost
            ));
        }
        let counted = self.server.total_seconds as i64 * 1000;
        if counted > self.truth_ms + self.slack_ms {
            self.fail(format!(
                "nothing counted twice: the server holds {} s of review, the user reviewed {} s (+{} s slack)",
                counted / 1000,
                self.truth_ms / 1000,
                self.slack_ms / 1000
            ));
        }
        let engine = self.subject.engine();
        let unbounded = engine
            .pending()
            .find(|e| {
                e.attempts > MAX_TRANSIENT_FAILURES
                    || (e.parked_since.is_some() != (e.attempts >= MAX_TRANSIENT_FAILURES))
            })
            .map(|e| {
                format!(
                    "attempts bounded: {} has {} attempts (parked: {})",
                    e.session.local_id,
                    e.attempts,
                    e.parked_since.is_some()
                )
            });
        let failed = engine.failed().len();
        if let Some(message) = unbounded {
            self.fail(message);
        }
        if failed > worktime_core::failed::MAX_FAILED
            || self.storage.failed.len() > worktime_core::failed::MAX_FAILED
        {
            self.fail(format!(
                "failed list capped: {failed} in memory, {} stored",
                self.storage.failed.len()
            ));
        }
        match self.violation.take() {
            Some(message) => Err(Violation {
                seed: self.seed,
                step: self.step,
                message,
            }),
            None => Ok(()),
        }
    }

    /// No faults, every tab closed, the network and the token good: the
    /// queue must drain, every ended session must be on the server or in the
    /// failed list, and then the idle engine must stay silent.
    fn quiet(&mut self) -> Result<(), Violation> {
        self.calm = true;
        self.outage = false;
        let tabs: Vec<i64> = self.tabs.keys().copied().collect();
        for tab in tabs {
            self.tabs.remove(&tab);
            self.input(Input::TabRemoved {
                now: self.now(),
                tab: TabId(tab),
            });
        }
        if !self.online {
            self.online = true;
            self.input(Input::Network {
                now: self.now(),
                online: true,
            });
        }
        if self.idle {
            self.idle = false;
            self.input(Input::UserIdle {
                now: self.now(),
                idle: false,
            });
        }
        if !self.token_valid || !self.has_token {
            self.token_valid = true;
            self.has_token = true;
            self.command(Command::TokenSet);
        }
        let mut waited = 0;
        loop {
            let engine = self.subject.engine();
            let drained = engine.pending().next().is_none()
                && engine.in_flight().is_none()
                && self.storage.queue.is_empty()
                && engine.running_sessions().next().is_none();
            if drained {
                break;
            }
            if waited > 4 * 3_600_000 {
                let pending = engine.pending().count();
                self.fail(format!(
                    "quiet phase did not drain in 4 hours: {pending} pending, {} stored, in flight: {:?}",
                    self.storage.queue.len(),
                    engine.in_flight()
                ));
                break;
            }
            self.advance(10_000);
            waited += 10_000;
        }
        // Let the last answers and wake-ups play out.
        self.advance(FETCH_TIMEOUT + 1_000);
        self.check()?;
        let stranded: Vec<&LocalId> = self
            .watch
            .iter()
            .filter(|id| {
                !self.storage.failed.contains_key(id.as_str()) && !self.discarded.contains(*id)
            })
            .collect();
        if !stranded.is_empty() {
            let message = format!(
                "after the quiet phase {} ended sessions are neither on the server nor failed: {:?}",
                stranded.len(),
                stranded
            );
            self.fail(message);
        }
        if let Some(at) = self.subject.engine().next_wake() {
            self.fail(format!("idle engine still wants a wake-up at {}", at.0));
        }
        let before = self.sends_seen;
        self.advance(10 * 60_000);
        if self.sends_seen != before {
            self.fail(format!(
                "idle engine sent {} requests in 10 quiet minutes",
                self.sends_seen - before
            ));
        }
        self.check()
    }
}

/// Re-stamps a resent input with the time it is sent again.
fn set_now(input: &mut Input, at: UnixMillis) {
    match input {
        Input::Page { now, .. } | Input::Command { now, .. } => *now = at,
        _ => {}
    }
}
