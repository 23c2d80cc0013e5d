//! The engine: owns the state, turns inputs into outputs. Each input is
//! handled in three steps — apply it, fire due timers, start the next
//! request if one may go — and then the outputs are laid out in the
//! write-ahead order (persist, then send, then events, then the wake-up).

use crate::coord::{Coordinator, Flight, PULL_INTERVAL, SYNC_NOW_COOLDOWN};
use crate::failed::FailedList;
use crate::ids::{RequestId, TabId};
use crate::input::{Command, Input, PageEvent};
use crate::outcome::HttpOutcome;
use crate::output::{Method, Output, Request, SyncNowReply, UiEvent};
use crate::queue::{Ack, Queue};
use crate::rng::Rng;
use crate::status::{CurrentReview, FailedItem, Status, SyncView};
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

    /// The request in flight, if any.
    pub fn in_flight(&self) -> Option<RequestId> {
        self.coord.in_flight.as_ref().map(|f| f.id)
    }

    /// Everything the popup shows, with live seconds as of `now`.
    pub fn view(&self, now: UnixMillis) -> SyncView {
        let in_flight = match self.coord.in_flight.as_ref().map(|f| &f.flight) {
            Some(Flight::Push(items)) => items.len(),
            _ => 0,
        };
        let parked: Vec<&QueueEntry> = self.queue.parked().collect();
        let signed_in = self.has_token && !self.meta.signed_out;
        let status = if !signed_in {
            Status::SignedOut
        } else if self.coord.in_flight.is_some() {
            Status::Syncing
        } else if !self.online {
            Status::Offline
        } else if self.queue.len() > 0 && (self.meta.last_error.is_some() || !parked.is_empty()) {
            Status::Error
        } else {
            Status::Idle
        };
        let live: Vec<(LocalId, u32, UnixMillis)> = self
            .tracker
            .sessions()
            .map(|r| {
                (
                    r.session.local_id.clone(),
                    secs(self.tracker.live_ms(r, now)),
                    r.session.started_at,
                )
            })
            .collect();
        let current = self.tracker.current().map(|r| CurrentReview {
            local_id: r.session.local_id.clone(),
            pr: r.pr(),
            started_at: r.session.started_at,
            active_seconds: secs(self.tracker.live_ms(r, now)),
            running: self.tracker.running(r),
        });
        let today_seconds = if day_of(now, self.utc_offset_minutes) == self.meta.today.day {
            self.meta.today.total(&live, self.utc_offset_minutes)
        } else {
            TodayTotals::default().total_for_day(
                &live,
                day_of(now, self.utc_offset_minutes),
                self.utc_offset_minutes,
            )
        };
        SyncView {
            at: now,
            status,
            pending: self.queue.len(),
            in_flight,
            parked: parked.len(),
            unavailable_since: parked.iter().filter_map(|e| e.parked_since).min(),
            failed: self
                .failed
                .list()
                .into_iter()
                .map(|f| FailedItem {
                    local_id: f.session.local_id.clone(),
                    pr: f.session.pr(),
                    active_seconds: f.session.active_seconds,
                    reason: f.reason.clone(),
                    attempts: f.attempts,
                    failed_at: f.failed_at,
                })
                .collect(),
            evictions: self.meta.evictions,
            last_attempted: self.meta.last_attempted,
            last_successful: self.meta.last_successful,
            last_error: self.meta.last_error.clone(),
            next_retry: if signed_in && self.online {
                self.queue.next_retry()
            } else {
                None
            },
            signed_in,
            online: self.online,
            sync_now_cooldown_until: self.coord.in_cooldown(now),
            current,
            today_seconds,
        }
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
                seq,
            } => {
                self.observe_clock(now);
                self.on_page(now, tab, &pr, event, seq);
            }
            Input::TabRemoved { now, tab } => {
                self.observe_clock(now);
                let changes = self.tracker.tab_removed(now, tab);
                self.apply_changes(now, changes);
            }
            Input::UserIdle { now, idle } => {
                self.observe_clock(now);
                let changes = self.tracker.set_idle(now, idle);
                self.apply_changes(now, changes);
                if self.meta.user_idle != idle {
                    self.meta.user_idle = idle;
                    self.meta_dirty = true;
                }
            }
            Input::Network { now, online } => {
                self.observe_clock(now);
                self.online = online;
                if online {
                    self.coord.trigger();
                }
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
        }
        self.fire_timers(now);
        self.drive(now);
        self.flush(now);
    }

    // ----------------------------------------------------------- handlers

    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        now: UnixMillis,
        stored: StoredState,
        open_tabs: &[TabId],
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
        let changes = self.tracker.load(sessions, open_tabs, now);
        self.apply_changes(now, changes);
        self.queue_changed = true;
    }

    fn on_page(&mut self, now: UnixMillis, tab: TabId, pr: &PrRef, event: PageEvent, seq: u64) {
        let rng = &mut self.rng;
        let changes = self.tracker.page(now, tab, pr, event, seq, || {
            LocalId::from_random(rng.next_u128())
        });
        self.apply_changes(now, changes);
    }

    fn on_alarm(&mut self) {
        if self.queue.parked().next().is_some() {
            self.coord.probe_wanted = true;
        }
        if !self.online && self.queue.len() > 0 {
            self.coord.force_once = true;
        }
    }

    fn on_command(&mut self, now: UnixMillis, command: Command) {
        match command {
            Command::SyncNow => {
                let reply = if !self.has_token || self.meta.signed_out {
                    SyncNowReply::Refused {
                        reason: "signed out: set an API token in the options".to_owned(),
                        retry_at: None,
                    }
                } else if self.coord.in_flight.is_some() {
                    self.coord.manual_queued = true;
                    SyncNowReply::Queued {
                        reason: "a sync is running; another will follow it".to_owned(),
                    }
                } else if let Some(until) = self.coord.in_cooldown(now) {
                    SyncNowReply::Refused {
                        reason: "synced a moment ago; try again in a few seconds".to_owned(),
                        retry_at: Some(until),
                    }
                } else {
                    self.begin_manual(now);
                    SyncNowReply::Started
                };
                self.events.push(UiEvent::SyncNow { reply });
            }
            Command::RetryFailed { local_id } => self.retry_failed(&local_id),
            Command::RetryAllFailed => {
                for id in self.failed.ids() {
                    self.retry_failed(&id);
                }
            }
            Command::DiscardFailed { local_id } => {
                if self.failed.take(&local_id).is_some() {
                    self.writes
                        .push(delete(StoreName::Failed, local_id.as_str()));
                    self.queue_changed = true;
                }
            }
            Command::TokenSet => {
                self.has_token = true;
                self.coord.token_epoch += 1;
                if self.meta.signed_out {
                    self.meta.signed_out = false;
                    self.meta_dirty = true;
                }
                self.coord.trigger();
            }
            Command::TokenCleared => self.has_token = false,
            Command::PopupOpened => {
                let stale = self
                    .meta
                    .last_pull
                    .is_none_or(|t| now.since(t) >= PULL_INTERVAL || t > now);
                if stale {
                    self.coord.pull_wanted = true;
                }
            }
        }
    }

    fn begin_manual(&mut self, now: UnixMillis) {
        let until = now + SYNC_NOW_COOLDOWN;
        self.coord.cooldown_until = Some(until);
        self.timers.set(Timer::Cooldown, until);
        for e in self.queue.release_all(true) {
            self.writes.push(put(Record::Queue(e)));
        }
        self.coord.pull_wanted = true;
        self.coord.force_once = true;
    }

    fn retry_failed(&mut self, id: &LocalId) {
        let Some(f) = self.failed.take(id) else {
            return;
        };
        self.writes.push(delete(StoreName::Failed, id.as_str()));
        let priority = if f.session.is_ended() {
            Priority::Ended
        } else {
            Priority::Started
        };
        if let Some(e) = self
            .queue
            .enqueue(f.session, priority, &mut self.meta.counter)
        {
            self.writes.push(put(Record::Queue(e)));
        }
        self.meta_dirty = true;
        self.queue_changed = true;
        self.coord.trigger();
    }

    fn on_response(&mut self, now: UnixMillis, id: RequestId, outcome: HttpOutcome) {
        let Some(flight) = self.coord.finish(id) else {
            return; // stale, duplicated or unknown: ignored
        };
        self.timers.stop(Timer::SyncLease);
        if flight.token_epoch != self.coord.token_epoch
            && matches!(outcome, HttpOutcome::Unauthorized { .. })
        {
            // Sent with the token the user just replaced: not a verdict on
            // the new one. The items go again at once, at no cost.
            return;
        }
        self.settle(now, flight.flight, outcome);
    }

    /// Applies the outcome of a finished request.
    fn settle(&mut self, now: UnixMillis, flight: Flight, outcome: HttpOutcome) {
        match outcome {
            HttpOutcome::Delivered { body, .. } => match flight {
                Flight::Push(items) => self.on_push_delivered(now, items, &body),
                Flight::Probe => self.on_success(now),
                Flight::Pull => match serde_json::from_str::<SessionsPage>(&body) {
                    Ok(page) => {
                        self.on_success(now);
                        self.on_pulled(now, page);
                    }
                    Err(e) => self.note_error(format!("malformed reply from the server: {e}")),
                },
            },
            HttpOutcome::Retry { after, .. } => {
                let message = outcome.describe();
                self.transient(now, flight, after, true, &message);
            }
            HttpOutcome::Timeout => {
                let message = outcome.describe();
                self.transient(now, flight, None, true, &message);
            }
            HttpOutcome::NetworkError { .. } => {
                let message = outcome.describe();
                let consume = self.online;
                self.transient(now, flight, None, consume, &message);
            }
            HttpOutcome::Rejected { status: 413, .. } if matches!(&flight, Flight::Push(items) if items.len() > 1) =>
            {
                // Too large as a whole, not wrong item by item: halve the
                // batch and go again at once, at no cost to the items.
                if let Flight::Push(items) = &flight {
                    self.coord.max_batch = (items.len() / 2).max(1);
                }
                self.note_error(outcome.describe());
            }
            HttpOutcome::Rejected { ref reason, .. } => {
                let message = outcome.describe();
                if let Flight::Push(items) = flight {
                    for (id, rev) in items {
                        self.dead_letter(now, &id, rev, reason);
                    }
                }
                self.note_error(message);
            }
            HttpOutcome::Unauthorized { .. } => {
                self.meta.signed_out = true;
                self.meta_dirty = true;
                self.note_error(outcome.describe());
            }
        }
    }

    fn on_push_delivered(&mut self, now: UnixMillis, items: Vec<(LocalId, u64)>, body: &str) {
        let results = if items.len() == 1 {
            // PUT: a 2xx is the acknowledgement.
            None
        } else {
            match serde_json::from_str::<BatchResponse>(body) {
                Ok(r) => Some(r.results),
                Err(e) => {
                    let message = format!("malformed reply from the server: {e}");
                    self.transient(now, Flight::Push(items), None, true, &message);
                    return;
                }
            }
        };
        self.on_success(now);
        let mut missing = Vec::new();
        for (id, rev) in items {
            let result = match &results {
                None => Some((ItemStatus::Ok, None)),
                Some(rs) => rs
                    .iter()
                    .find(|r| r.local_id == id.as_str())
                    .map(|r| (r.status, r.error.clone())),
            };
            match result {
                Some((ItemStatus::Ok, _)) => self.acknowledge(&id, rev),
                Some((ItemStatus::Rejected, error)) => {
                    let reason = error.unwrap_or_else(|| ErrorBody {
                        code: "rejected".to_owned(),
                        message: "the server refused this session".to_owned(),
                        field: None,
                    });
                    self.dead_letter(now, &id, rev, &reason);
                }
                None => missing.push((id, rev)),
            }
        }
        if !missing.is_empty() {
            let message = "the server's reply left out some sessions".to_owned();
            self.transient(now, Flight::Push(missing), None, true, &message);
        }
    }

    fn acknowledge(&mut self, id: &LocalId, rev: u64) {
        if let Some(run) = self.coord.run.as_mut() {
            run.delivered += 1;
        }
        match self.queue.acknowledge(id, rev) {
            Ack::Removed => self.writes.push(delete(StoreName::Queue, id.as_str())),
            Ack::Kept(e) => self.writes.push(put(Record::Queue(e))),
            Ack::Gone => {}
        }
        self.queue_changed = true;
    }

    /// The server refused `id` for good: the refused version moves to the
    /// failed list — unless a newer version was queued meanwhile, which then
    /// gets its own verdict.
    fn dead_letter(&mut self, now: UnixMillis, id: &LocalId, rev: u64, reason: &ErrorBody) {
        let Some(entry) = self.queue.get(id) else {
            return;
        };
        if entry.revision != rev {
            return;
        }
        let Some(entry) = self.queue.remove(id) else {
            return;
        };
        if let Some(run) = self.coord.run.as_mut() {
            run.rejected += 1;
        }
        self.writes.push(delete(StoreName::Queue, id.as_str()));
        self.add_failed(now, entry.session, entry.attempts + 1, reason);
    }

    fn add_failed(&mut self, now: UnixMillis, session: Session, attempts: u32, reason: &ErrorBody) {
        self.meta.counter += 1;
        let entry = FailedEntry {
            session,
            reason: match &reason.field {
                Some(field) if !reason.message.contains(field.as_str()) => {
                    format!("{} ({field})", reason.message)
                }
                _ => reason.message.clone(),
            },
            code: reason.code.clone(),
            attempts,
            failed_at: now,
            order: self.meta.counter,
        };
        self.writes.push(put(Record::Failed(entry.clone())));
        for evicted in self.failed.add(entry) {
            self.meta.evictions += 1;
            self.writes
                .push(delete(StoreName::Failed, evicted.as_str()));
        }
        self.meta_dirty = true;
        self.queue_changed = true;
    }

    /// A request failed for now. `consume` says whether it counts against
    /// the items sent.
    fn transient(
        &mut self,
        now: UnixMillis,
        flight: Flight,
        after: Option<DurationMillis>,
        consume: bool,
        message: &str,
    ) {
        if let Flight::Push(items) = flight {
            for (id, _) in items {
                let jitter = self.rng.unit();
                if let Some(e) = self
                    .queue
                    .transient_failure(&id, now, jitter, after, consume, message)
                {
                    self.writes.push(put(Record::Queue(e)));
                }
            }
            self.queue_changed = true;
        }
        self.note_error(message.to_owned());
    }

    fn note_error(&mut self, message: String) {
        self.events.push(UiEvent::SyncError {
            message: message.clone(),
        });
        self.coord.run = None;
        self.meta.last_error = Some(message);
        self.meta_dirty = true;
    }

    /// The server answered: parked items go again with fresh attempts.
    fn on_success(&mut self, now: UnixMillis) {
        self.meta.last_successful = Some(now);
        self.meta.last_error = None;
        self.meta_dirty = true;
        let released = self.queue.release_all(false);
        if !released.is_empty() {
            self.queue_changed = true;
        }
        for e in released {
            self.writes.push(put(Record::Queue(e)));
        }
    }

    fn on_pulled(&mut self, now: UnixMillis, page: SessionsPage) {
        self.meta.last_pull = Some(now);
        self.meta.today.roll(now, self.utc_offset_minutes);
        for s in &page.sessions {
            self.meta.today.record(s, self.utc_offset_minutes);
        }
        self.meta_dirty = true;
    }

    // ------------------------------------------------------------ helpers

    /// Turns tracking changes into writes, queue entries and events.
    fn apply_changes(&mut self, now: UnixMillis, changes: Vec<Change>) {
        for change in changes {
            match change {
                Change::Started(rec) => {
                    self.events.push(session_event(&rec.session));
                    self.writes.push(put(Record::Sessions(rec.clone())));
                    self.enqueue(now, rec.session, Priority::Started);
                }
                Change::Updated(rec) => {
                    self.events.push(session_event(&rec.session));
                    // Not worth a meta write on every checkpoint: a running
                    // session's count comes back live after a restart, and
                    // its end is recorded durably.
                    self.meta
                        .today
                        .record(&rec.session, self.utc_offset_minutes);
                    let id = rec.session.local_id.clone();
                    let due = now.since(rec.last_queued_at) >= ACTIVITY_INTERVAL
                        || rec.last_queued_at > now;
                    if due {
                        let session = rec.session.clone();
                        if let Some(rec) = self.tracker.mark_queued(&id, now) {
                            self.writes.push(put(Record::Sessions(rec)));
                        }
                        self.enqueue(now, session, Priority::Activity);
                    } else {
                        self.writes.push(put(Record::Sessions(rec)));
                    }
                }
                Change::Ended(session) => {
                    self.events.push(session_event(&session));
                    if self.meta.today.record(&session, self.utc_offset_minutes) {
                        self.meta_dirty = true;
                    }
                    self.writes
                        .push(delete(StoreName::Sessions, session.local_id.as_str()));
                    self.enqueue(now, session, Priority::Ended);
                }
            }
        }
    }

    /// Queues a session version (write-ahead: the put goes out before any
    /// request that carries it). A version the contract would refuse goes
    /// straight to the failed list with the reason.
    fn enqueue(&mut self, now: UnixMillis, session: Session, priority: Priority) {
        if let Err(e) = validate_session(&session, now) {
            let reason = ErrorBody {
                code: "invalid_field".to_owned(),
                message: format!("not sent: {e}"),
                field: Some(e.field.to_owned()),
            };
            if let Some(old) = self.queue.remove(&session.local_id) {
                self.writes
                    .push(delete(StoreName::Queue, old.session.local_id.as_str()));
            }
            self.add_failed(now, session, 0, &reason);
            return;
        }
        if let Some(e) = self
            .queue
            .enqueue(session, priority, &mut self.meta.counter)
        {
            // The counter needs no write of its own: a restart takes the
            // highest `order`/`revision` in the stored queue.
            self.writes.push(put(Record::Queue(e)));
            self.queue_changed = true;
            self.coord.trigger();
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
        }
        self.now = now;
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
                        self.settle(now, f.flight, HttpOutcome::Timeout);
                    }
                }
                Timer::Retry | Timer::Cooldown => {}
            }
        }
    }

    /// Starts the next request if none is in flight: push first (ended
    /// sessions first), then a probe if items are parked, then a pull.
    fn drive(&mut self, now: UnixMillis) {
        if self.coord.in_flight.is_some() {
            return;
        }
        self.coord.follow_up = false;
        if !self.has_token || self.meta.signed_out {
            self.coord.run = None;
            self.coord.force_once = false;
            return;
        }
        if self.coord.manual_queued {
            self.coord.manual_queued = false;
            self.begin_manual(now);
        }
        let may_send = self.online || self.coord.force_once;
        let due: Vec<(Session, u64)> = if may_send {
            self.queue
                .due(now, self.coord.max_batch.max(1))
                .into_iter()
                .map(|e| (e.session.clone(), e.revision))
                .collect()
        } else {
            Vec::new()
        };
        let request = if !due.is_empty() {
            let items = due.iter().map(|(s, r)| (s.local_id.clone(), *r)).collect();
            let request = if due.len() == 1 {
                Request {
                    method: Method::Put,
                    path: format!("/api/v1/sessions/{}", due[0].0.local_id),
                    body: serde_json::to_string(&due[0].0).ok(),
                }
            } else {
                let batch = BatchRequest {
                    sessions: due.into_iter().map(|(s, _)| s).collect(),
                };
                Request {
                    method: Method::Post,
                    path: "/api/v1/sessions/batch".to_owned(),
                    body: serde_json::to_string(&batch).ok(),
                }
            };
            Some((Flight::Push(items), request))
        } else if self.coord.probe_wanted && self.queue.parked().next().is_some() {
            self.coord.probe_wanted = false;
            Some((
                Flight::Probe,
                Request {
                    method: Method::Get,
                    path: "/api/v1/me".to_owned(),
                    body: None,
                },
            ))
        } else if self.coord.pull_wanted && may_send {
            self.coord.pull_wanted = false;
            let midnight = day_start(
                day_of(now, self.utc_offset_minutes),
                self.utc_offset_minutes,
            );
            let since = worktime_protocol::time::rfc3339::format(midnight).unwrap_or_default();
            Some((
                Flight::Pull,
                Request {
                    method: Method::Get,
                    path: format!("/api/v1/sessions?since={since}&limit=500"),
                    body: None,
                },
            ))
        } else {
            None
        };
        self.coord.force_once = false;
        match request {
            Some((flight, request)) => {
                let (request_id, new_run) = self.coord.begin(flight, now);
                if let Some(f) = &self.coord.in_flight {
                    self.timers.set(Timer::SyncLease, f.lease_until);
                }
                if new_run {
                    self.events.push(UiEvent::SyncStarted);
                }
                self.meta.last_attempted = Some(now);
                self.meta_dirty = true;
                self.sends.push(Output::Send {
                    request_id,
                    request,
                });
            }
            None => {
                if let Some(run) = self.coord.run.take() {
                    self.events.push(UiEvent::SyncCompleted {
                        delivered: run.delivered,
                        rejected: run.rejected,
                    });
                }
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
        let retry = if self.has_token
            && !self.meta.signed_out
            && self.online
            && self.coord.in_flight.is_none()
        {
            self.queue.next_retry().filter(|&t| t > now)
        } else {
            None
        };
        match retry {
            Some(t) => self.timers.set(Timer::Retry, t),
            None => self.timers.stop(Timer::Retry),
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
