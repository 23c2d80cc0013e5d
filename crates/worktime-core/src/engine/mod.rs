//! The engine: owns the state, turns inputs into outputs. Each input is
//! handled in three steps — apply it, fire due timers, start the next
//! request if one may go — and then the outputs are laid out in the
//! write-ahead order (persist, then send, then events, then the wake-up).

use crate::coord::{Coordinator, Flight, PULL_INTERVAL, PULL_RETRY_INTERVAL, SYNC_NOW_COOLDOWN};
use crate::failed::FailedList;
use crate::ids::{DocId, RequestId, TabId};
use crate::input::{Command, Input, PageEvent};
use crate::outcome::HttpOutcome;
use crate::output::{Method, Output, Request, SyncNowReply, UiEvent};
use crate::queue::{Ack, Queue};
use crate::rng::Rng;
use crate::status::{CurrentReview, FailedItem, ServerProblem, Status, SyncView};
use crate::store::{
    FailedEntry, Priority, QueueEntry, Record, SessionRecord, StoreName, StoredState, SyncMeta,
    TodayTotals, Write,
};
use crate::timers::{Timer, TimerTable};
use crate::today::{day_of, day_start};
use crate::tracker::{CHECKPOINT_INTERVAL, Change, Tracker};
use std::collections::VecDeque;
use worktime_protocol::{
    BatchRequest, BatchResponse, DurationMillis, ErrorBody, ItemStatus, LocalId, PrRef, Session,
    SessionsPage, UnixMillis, validate_session,
};

mod changes;
mod commands;
mod drive;
mod outcomes;
mod view;

/// How often a running session's progress is queued for the server (the
/// server closes sessions silent for 10 minutes).
pub const ACTIVITY_INTERVAL: DurationMillis = DurationMillis::from_secs(5 * 60);

/// The sync engine. See the crate docs for the run loop and the drain rule.
///
/// Methods by role:
/// - **getters** (`&self`): [`Engine::view`], [`Engine::is_started`],
///   [`Engine::next_wake`], [`Engine::pending`], [`Engine::failed`],
///   [`Engine::running_sessions`], [`Engine::in_flight`];
/// - **input**: [`Engine::handle`] for everything that happens to it
///   (including the user's commands, as [`Input::Command`]);
/// - **output**: [`Engine::poll_output`] for what the shell must do next.
#[derive(Debug)]
pub struct Engine {
    started: bool,
    now: UnixMillis,
    rng: Rng,
    tracker: Tracker,
    queue: Queue,
    failed: FailedList,
    meta: SyncMeta,
    meta_dirty: bool,
    coord: Coordinator,
    timers: TimerTable,
    has_token: bool,
    online: bool,
    utc_offset_minutes: i32,
    writes: Vec<Write>,
    sends: Vec<Output>,
    events: Vec<UiEvent>,
    queue_changed: bool,
    outputs: VecDeque<Output>,
    announced_wake: Option<UnixMillis>,
    announced_view: Option<SyncView>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// An engine waiting for [`Input::Started`]; every other input before it
    /// is ignored.
    pub fn new() -> Self {
        Engine {
            started: false,
            now: UnixMillis(0),
            rng: Rng::new(0),
            tracker: Tracker::default(),
            queue: Queue::default(),
            failed: FailedList::default(),
            meta: SyncMeta::default(),
            meta_dirty: false,
            coord: Coordinator::default(),
            timers: TimerTable::default(),
            has_token: false,
            online: true,
            utc_offset_minutes: 0,
            writes: Vec::new(),
            sends: Vec::new(),
            events: Vec::new(),
            queue_changed: false,
            outputs: VecDeque::new(),
            announced_wake: None,
            announced_view: None,
        }
    }

    // ------------------------------------------------------------ getters

    /// Whether [`Input::Started`] has been handled.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// The wake-up the engine wants next, if any.
    pub fn next_wake(&self) -> Option<UnixMillis> {
        self.timers.next_timeout()
    }

    /// The queue (pending items, in no particular order).
    pub fn pending(&self) -> impl Iterator<Item = &QueueEntry> {
        self.queue.iter()
    }

    /// The failed list, oldest first.
    pub fn failed(&self) -> Vec<&FailedEntry> {
        self.failed.list()
    }

    /// The sessions being timed.
    pub fn running_sessions(&self) -> impl Iterator<Item = &SessionRecord> {
        self.tracker.sessions()
    }

    /// The server's clock minus ours, as applied to timestamps on the wire.
    pub fn clock_offset(&self) -> DurationMillis {
        self.meta.clock_offset.unwrap_or_default()
    }

    /// The request in flight, if any.
    pub fn in_flight(&self) -> Option<RequestId> {
        self.coord.in_flight.as_ref().map(|f| f.id)
    }

    // ------------------------------------------------------------- output

    /// The next thing the shell must do, or `None` when the engine has
    /// nothing more to say until the next input. Carry outputs out in order;
    /// a [`Output::Persist`] must have committed before anything after it.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    // -------------------------------------------------------------- input

    /// Handles one input. Then drain [`Engine::poll_output`].
    pub fn handle(&mut self, input: Input) {
        let now = input.now();
        match input {
            Input::Started {
                now,
                stored,
                open_tabs,
                new_browser_run,
                has_token,
                online,
                entropy,
                utc_offset_minutes,
            } => {
                let pending = std::mem::take(&mut self.outputs);
                *self = Engine::new();
                self.outputs = pending;
                self.start(
                    now,
                    stored,
                    &open_tabs,
                    new_browser_run,
                    has_token,
                    online,
                    entropy,
                    utc_offset_minutes,
                );
            }
            _ if !self.started => return,
            Input::Page {
                now,
                tab,
                pr,
                event,
                doc,
                seq,
            } => {
                self.observe_clock(now);
                self.on_page(now, tab, &pr, event, doc, seq);
            }
            Input::LeftPullRequest { now, tab, report } => {
                self.observe_clock(now);
                let changes = self.tracker.left_pull_request(now, tab, report);
                self.apply_changes(now, changes);
            }
            Input::TabRemoved { now, tab } => {
                self.observe_clock(now);
                let changes = self.tracker.tab_removed(now, tab);
                self.apply_changes(now, changes);
            }
            Input::UserIdle {
                now,
                idle,
                last_input,
            } => {
                self.observe_clock(now);
                let rng = &mut self.rng;
                let changes = self.tracker.set_idle(now, idle, last_input, || {
                    LocalId::from_random(rng.next_u128())
                });
                self.apply_changes(now, changes);
                if self.meta.user_idle != idle {
                    self.meta.user_idle = idle;
                    self.meta_dirty = true;
                }
            }
            Input::Network { now, online } => {
                self.observe_clock(now);
                // Back online, the next drive sends what waits at once.
                self.online = online;
            }
            Input::AlarmFired { now } => {
                self.observe_clock(now);
                self.on_alarm();
            }
            Input::TimerDue { now } => self.observe_clock(now),
            Input::Response {
                now,
                request_id,
                outcome,
            } => {
                self.observe_clock(now);
                self.on_response(now, request_id, outcome);
            }
            Input::Command { now, command } => {
                self.observe_clock(now);
                self.on_command(now, command);
            }
            Input::ServerClock { now, server_date } => {
                self.observe_clock(now);
                let estimate = crate::clock::estimate(now, server_date);
                if let Some(offset) = crate::clock::updated(self.meta.clock_offset, estimate) {
                    self.meta.clock_offset = Some(offset);
                    self.meta_dirty = true;
                }
            }
        }
        self.arm_tracker_timers();
        self.fire_timers(now);
        self.drive(now);
        self.flush(now);
    }

    /// The tracker's deadlines (grace ends, the safety timeout) follow its
    /// state: set before timers fire, so one already due fires now.
    fn arm_tracker_timers(&mut self) {
        match self.tracker.next_grace_end() {
            Some(at) => self.timers.set(Timer::LeaveGrace, at),
            None => self.timers.stop(Timer::LeaveGrace),
        }
        match self.tracker.next_inactive_end() {
            Some(at) => self.timers.set(Timer::Inactive, at),
            None => self.timers.stop(Timer::Inactive),
        }
    }

    // ----------------------------------------------------------- handlers

    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        now: UnixMillis,
        stored: StoredState,
        open_tabs: &[TabId],
        new_browser_run: bool,
        has_token: bool,
        online: bool,
        entropy: u128,
        utc_offset_minutes: i32,
    ) {
        self.started = true;
        self.now = now;
        self.rng = Rng::new(entropy);
        self.coord = Coordinator::new(self.rng.next_u64() >> 12);
        self.has_token = has_token;
        self.online = online;
        self.utc_offset_minutes = utc_offset_minutes;
        self.meta = stored.meta.unwrap_or_default();
        let max_counter = stored
            .queue
            .iter()
            .map(|e| e.order.max(e.revision))
            .chain(stored.failed.iter().map(|f| f.order))
            .max()
            .unwrap_or(0);
        self.meta.counter = self.meta.counter.max(max_counter);
        if self.meta.today.roll(now, utc_offset_minutes) {
            self.meta_dirty = true;
        }
        // The server's Retry-After outlives the worker that heard it (no
        // later than any Retry-After can be, should the clock have gone back).
        self.coord.server_busy_until = self
            .meta
            .server_busy_until
            .filter(|&t| t > now)
            .map(|t| t.min(now + crate::outcome::MAX_RETRY_AFTER));
        for entry in stored.queue {
            self.queue.load(clamp_entry(entry, now));
        }
        for entry in stored.failed {
            // A key in both stores: the queue's (newer) version wins.
            if self.queue.get(&entry.session.local_id).is_none() {
                for id in self.failed.add(entry) {
                    self.meta.evictions += 1;
                    self.meta_dirty = true;
                    self.writes.push(delete(StoreName::Failed, id.as_str()));
                }
            } else {
                self.writes
                    .push(delete(StoreName::Failed, entry.session.local_id.as_str()));
            }
        }
        // A session already queued as ended must not be timed again.
        let sessions: Vec<SessionRecord> = stored
            .sessions
            .into_iter()
            .filter(|r| {
                let ended = self
                    .queue
                    .get(&r.session.local_id)
                    .is_some_and(|e| e.session.is_ended())
                    || self
                        .failed
                        .get(&r.session.local_id)
                        .is_some_and(|f| f.session.is_ended());
                if ended {
                    self.writes
                        .push(delete(StoreName::Sessions, r.session.local_id.as_str()));
                }
                !ended
            })
            .collect();
        self.tracker.restore_idle(self.meta.user_idle);
        let changes = self.tracker.load(sessions, open_tabs, new_browser_run, now);
        self.tracker.restore_dormant(&self.meta.dormant, open_tabs);
        self.apply_changes(now, changes);
        self.queue_changed = true;
    }

    fn on_page(
        &mut self,
        now: UnixMillis,
        tab: TabId,
        pr: &PrRef,
        event: PageEvent,
        doc: DocId,
        seq: u64,
    ) {
        let rng = &mut self.rng;
        let changes = self.tracker.page(now, tab, pr, event, doc, seq, || {
            LocalId::from_random(rng.next_u128())
        });
        self.apply_changes(now, changes);
    }

    fn on_alarm(&mut self) {
        let problem_with_work = self.meta.server_problem.is_some() && self.queue.len() > 0;
        if problem_with_work || self.queue.parked().next().is_some() {
            self.coord.probe_wanted = true;
        }
        if !self.online && self.queue.len() > 0 {
            self.coord.force_once = true;
        }
    }

    // ------------------------------------------------------------ helpers

    /// When a queued session may next go: its backoff, and never before the
    /// server's `Retry-After` (a pull or probe waiting for it wakes then too).
    pub(super) fn next_send_at(&self, now: UnixMillis) -> Option<UnixMillis> {
        if self.meta.server_problem.is_some() {
            return None; // paused until a probe, a success or new settings
        }
        match self.coord.server_busy(now) {
            None => self.queue.next_retry(),
            Some(busy) => {
                let earliest = self.queue.earliest_attempt(now);
                let other_waiting = self.coord.pull_wanted
                    || self.coord.pull_next.is_some()
                    || self.coord.manual_queued
                    || (self.coord.probe_wanted && self.queue.parked().next().is_some());
                match earliest {
                    Some(t) => Some(t.max(busy)),
                    None if other_waiting => Some(busy),
                    None => None,
                }
            }
        }
    }

    /// Notices a wall clock that went back, and moves every deadline with
    /// it, so that a 1 s backoff does not turn into hours.
    fn observe_clock(&mut self, now: UnixMillis) {
        if now < self.now {
            let by = now.since(self.now);
            self.timers.shift(by);
            self.queue.shift(by);
            self.coord.shift(by);
            // Queued sessions timed before the step would now be in our
            // future (and the server's): move each back as a whole.
            for e in self.queue.not_after(now) {
                self.writes.push(put(Record::Queue(e)));
            }
            if self.meta.server_busy_until != self.coord.server_busy_until {
                self.meta.server_busy_until = self.coord.server_busy_until;
                self.meta_dirty = true;
            }
        }
        self.now = now;
        // Past local midnight: today starts empty, so that sessions of the
        // new day are counted into it as they end, without a restart.
        if self.meta.today.roll(now, self.utc_offset_minutes) {
            self.meta_dirty = true;
        }
    }

    fn fire_timers(&mut self, now: UnixMillis) {
        for timer in Timer::ALL {
            if !self.timers.take_expired(timer, now) {
                continue;
            }
            match timer {
                Timer::Checkpoint => {
                    let changes = self.tracker.checkpoint(now);
                    self.apply_changes(now, changes);
                }
                Timer::SyncLease => {
                    if let Some(f) = self.coord.in_flight.take() {
                        self.settle(now, f.flight, (&f.request, f.offset), HttpOutcome::Timeout);
                    }
                }
                Timer::LeaveGrace => {
                    let changes = self.tracker.end_graces(now);
                    self.apply_changes(now, changes);
                }
                Timer::Inactive => {
                    let changes = self.tracker.end_inactive(now);
                    self.apply_changes(now, changes);
                }
                Timer::Retry | Timer::Cooldown => {}
            }
        }
    }

    /// Lays out this input's outputs: persist, send, events, status,
    /// wake-up.
    fn flush(&mut self, now: UnixMillis) {
        // Timers that depend on state.
        if self.tracker.any_running() {
            if self.timers.get(Timer::Checkpoint).is_none() {
                self.timers
                    .set(Timer::Checkpoint, now + CHECKPOINT_INTERVAL);
            }
        } else {
            self.timers.stop(Timer::Checkpoint);
        }
        self.arm_tracker_timers();
        let retry = if self.has_token
            && !self.meta.signed_out
            && self.online
            && self.coord.in_flight.is_none()
        {
            self.next_send_at(now).filter(|&t| t > now)
        } else {
            None
        };
        match retry {
            Some(t) => self.timers.set(Timer::Retry, t),
            None => self.timers.stop(Timer::Retry),
        }
        let dormant = self.tracker.dormant_tabs();
        if dormant != self.meta.dormant {
            self.meta.dormant = dormant;
            self.meta_dirty = true;
        }
        if self.meta_dirty {
            self.meta_dirty = false;
            self.writes.push(put(Record::Meta(self.meta.clone())));
        }
        if !self.writes.is_empty() {
            let writes = std::mem::take(&mut self.writes);
            self.outputs.push_back(Output::Persist { writes });
        }
        self.outputs.extend(self.sends.drain(..));
        if std::mem::take(&mut self.queue_changed) {
            self.events.push(UiEvent::QueueUpdated {
                pending: self.queue.len(),
                failed: self.failed.len(),
            });
        }
        for event in self.events.drain(..) {
            self.outputs.push_back(Output::Event { event });
        }
        let view = self.view(now);
        let key = view_key(&view);
        if self.announced_view.as_ref() != Some(&key) {
            self.announced_view = Some(key);
            self.outputs.push_back(Output::StatusChanged {
                view: Box::new(view),
            });
        }
        let wake = self.timers.next_timeout();
        if wake != self.announced_wake {
            self.announced_wake = wake;
            self.outputs.push_back(match wake {
                Some(at) => Output::WakeAt { at },
                None => Output::CancelWake,
            });
        }
    }
}

/// The part of a view whose change is worth announcing (not the clock, not
/// the live second counters).
fn view_key(view: &SyncView) -> SyncView {
    let mut key = view.clone();
    key.at = UnixMillis(0);
    key.today_seconds = 0;
    if let Some(c) = key.current.as_mut() {
        c.active_seconds = 0;
    }
    key.sync_now_cooldown_until = None;
    key
}

/// A stored entry whose backoff lies further ahead than any backoff can
/// (the clock went back while the worker was down) is due now.
fn clamp_entry(mut entry: QueueEntry, now: UnixMillis) -> QueueEntry {
    if entry
        .next_attempt_at
        .is_some_and(|t| t > now + crate::outcome::MAX_RETRY_AFTER)
    {
        entry.next_attempt_at = Some(now);
    }
    entry
}

fn session_event(s: &Session) -> UiEvent {
    UiEvent::SessionUpdated {
        pr: s.pr(),
        active_seconds: s.active_seconds,
        state: s.state,
    }
}

fn secs(ms: u64) -> u32 {
    u32::try_from(ms / 1000).unwrap_or(u32::MAX)
}

fn put(record: Record) -> Write {
    Write::Put { record }
}

fn delete(store: StoreName, key: &str) -> Write {
    Write::Delete {
        store,
        key: key.to_owned(),
    }
}
