//! Session tracking: one session per pull request, shared by all its tabs
//! (reference counted), with active time that runs only while a tab is
//! visible and the user is not idle.

use crate::ids::TabId;
use crate::input::PageEvent;
use crate::store::{SessionRecord, TabPresence};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use worktime_protocol::validate::MAX_ACTIVE_SECONDS;
use worktime_protocol::{DurationMillis, LocalId, PrRef, Session, SessionState, UnixMillis};

/// Longest stretch counted between two observations of a running session.
/// The engine checkpoints every 30 s while time runs and the fallback alarm
/// wakes it every minute, so a longer gap means the machine slept or the
/// clock jumped: that time is not review time.
pub const MAX_ACCRUAL_GAP: DurationMillis = DurationMillis::from_secs(90);
/// How often a running session is checkpointed to storage.
pub const CHECKPOINT_INTERVAL: DurationMillis = DurationMillis::from_secs(30);
/// Removed tabs remembered, so late page events for them are ignored.
const TOMBSTONES: usize = 1024;

/// What a tracking step changed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// A session started (persist it and queue it).
    Started(SessionRecord),
    /// A running session changed (persist it).
    Updated(SessionRecord),
    /// A session ended (delete its record, queue its final state).
    Ended(Session),
}

/// The running sessions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tracker {
    sessions: BTreeMap<LocalId, SessionRecord>,
    idle: bool,
    removed: BTreeSet<TabId>,
    removed_order: VecDeque<TabId>,
    last_seq: BTreeMap<TabId, u64>,
}

impl Tracker {
    /// Loads the stored sessions: tabs that no longer exist are dropped, and
    /// a session still shown gets the time since its checkpoint (up to
    /// [`MAX_ACCRUAL_GAP`]) if it was running.
    ///
    /// A session left with no tab ended while the worker was stopped. MV3
    /// stops an idle worker within 30 s, and closing the tab is what wakes
    /// it (`tabs.onRemoved`, the end notice), so when its checkpoint is at
    /// most [`MAX_ACCRUAL_GAP`] old, the time since it is review time and
    /// the session ends now. Older than that, nothing saw the tab close (the
    /// fallback alarm would have): the browser went down, and the session
    /// ends at its last checkpoint.
    pub(crate) fn load(
        &mut self,
        stored: Vec<SessionRecord>,
        open_tabs: &[TabId],
        now: UnixMillis,
    ) -> Vec<Change> {
        let open: BTreeSet<TabId> = open_tabs.iter().copied().collect();
        let mut changes = Vec::new();
        for mut rec in stored {
            if rec.session.is_ended() {
                continue;
            }
            let was_running = self.running(&rec);
            rec.tabs.retain(|t| open.contains(&t.tab));
            for t in &rec.tabs {
                let seq = self.last_seq.entry(t.tab).or_insert(t.seq);
                *seq = (*seq).max(t.seq);
            }
            if rec.tabs.is_empty() {
                let since = now.since(rec.last_checkpoint);
                if since.0 >= 0 && since <= MAX_ACCRUAL_GAP {
                    accrue(&mut rec, now, was_running);
                }
                let at = rec.last_checkpoint;
                changes.push(Change::Ended(end(&mut rec, at)));
                continue;
            }
            let running = self.running(&rec);
            accrue(&mut rec, now, running);
            changes.push(Change::Updated(rec.clone()));
            self.sessions.insert(rec.session.local_id.clone(), rec);
        }
        changes
    }

    pub(crate) fn sessions(&self) -> impl Iterator<Item = &SessionRecord> {
        self.sessions.values()
    }

    /// Whether active time runs for `rec` now.
    pub(crate) fn running(&self, rec: &SessionRecord) -> bool {
        !self.idle && rec.tabs.iter().any(|t| t.visible)
    }

    pub(crate) fn any_running(&self) -> bool {
        self.sessions.values().any(|r| self.running(r))
    }

    /// Active milliseconds of `rec` as of `now`, counting the running stretch
    /// since its checkpoint.
    pub(crate) fn live_ms(&self, rec: &SessionRecord, now: UnixMillis) -> u64 {
        let mut ms = rec.active_ms;
        if self.running(rec) {
            ms += gap(rec.last_checkpoint, now);
        }
        ms
    }

    /// A page reported in. `new_id` supplies a fresh id if a session starts.
    /// Reports from removed tabs, and reports whose `seq` is not above the
    /// last one seen from the tab (duplicated or overtaken), change nothing.
    pub(crate) fn page(
        &mut self,
        now: UnixMillis,
        tab: TabId,
        pr: &PrRef,
        event: PageEvent,
        seq: u64,
        new_id: impl FnOnce() -> LocalId,
    ) -> Vec<Change> {
        if self.removed.contains(&tab) || self.last_seq.get(&tab).is_some_and(|&last| seq <= last) {
            return Vec::new();
        }
        self.last_seq.insert(tab, seq);
        let mut changes = Vec::new();
        let holder = self.holder(tab);
        let same_pr = holder
            .as_ref()
            .and_then(|id| self.sessions.get(id))
            .is_some_and(|r| r.pr() == *pr);
        match event {
            PageEvent::Closed => {
                if let (Some(id), true) = (holder, same_pr) {
                    self.detach(&id, tab, now, &mut changes);
                }
            }
            PageEvent::Visible | PageEvent::Hidden => {
                let visible = event == PageEvent::Visible;
                if let (Some(id), false) = (&holder, same_pr) {
                    self.detach(id, tab, now, &mut changes);
                }
                self.accrue_all(now, &mut changes);
                let existing = self
                    .sessions
                    .values()
                    .find(|r| r.pr() == *pr)
                    .map(|r| r.session.local_id.clone());
                match existing {
                    Some(id) => {
                        if let Some(rec) = self.sessions.get_mut(&id) {
                            match rec.tabs.iter_mut().find(|t| t.tab == tab) {
                                Some(t) => {
                                    t.visible = visible;
                                    t.seq = seq;
                                }
                                None => rec.tabs.push(TabPresence { tab, visible, seq }),
                            }
                            stamp(rec, now);
                            changes.push(Change::Updated(rec.clone()));
                        }
                    }
                    None => {
                        let rec = SessionRecord {
                            session: Session {
                                local_id: new_id(),
                                repo_owner: pr.owner.clone(),
                                repo_name: pr.repo.clone(),
                                pr_number: pr.number,
                                started_at: now,
                                ended_at: None,
                                active_seconds: 0,
                                state: SessionState::Active,
                                updated_at: now,
                            },
                            active_ms: 0,
                            tabs: vec![TabPresence { tab, visible, seq }],
                            last_checkpoint: now,
                            last_queued_at: now,
                        };
                        self.sessions
                            .insert(rec.session.local_id.clone(), rec.clone());
                        changes.push(Change::Started(rec));
                    }
                }
            }
        }
        changes
    }

    /// `chrome.tabs.onRemoved`: the tab leaves its session for good.
    pub(crate) fn tab_removed(&mut self, now: UnixMillis, tab: TabId) -> Vec<Change> {
        let mut changes = Vec::new();
        if let Some(id) = self.holder(tab) {
            self.detach(&id, tab, now, &mut changes);
        }
        self.last_seq.remove(&tab);
        if self.removed.insert(tab) {
            self.removed_order.push_back(tab);
            if self.removed_order.len() > TOMBSTONES
                && let Some(old) = self.removed_order.pop_front()
            {
                self.removed.remove(&old);
            }
        }
        changes
    }

    /// The idle state restored from storage, before [`Tracker::load`].
    pub(crate) fn restore_idle(&mut self, idle: bool) {
        self.idle = idle;
    }

    /// Idle or locked stops active time; active resumes it.
    pub(crate) fn set_idle(&mut self, now: UnixMillis, idle: bool) -> Vec<Change> {
        let mut changes = Vec::new();
        if self.idle != idle {
            self.accrue_all(now, &mut changes);
            self.idle = idle;
        }
        changes
    }

    /// Counts active time of every running session up to `now`.
    pub(crate) fn checkpoint(&mut self, now: UnixMillis) -> Vec<Change> {
        let mut changes = Vec::new();
        self.accrue_all(now, &mut changes);
        changes
    }

    /// Marks a session as queued at `now` (for the activity interval).
    pub(crate) fn mark_queued(&mut self, id: &LocalId, now: UnixMillis) -> Option<SessionRecord> {
        let rec = self.sessions.get_mut(id)?;
        rec.last_queued_at = now;
        Some(rec.clone())
    }

    /// The most relevant running session for the popup: a running one if
    /// any, else the most recently updated.
    pub(crate) fn current(&self) -> Option<&SessionRecord> {
        self.sessions
            .values()
            .max_by_key(|r| (self.running(r), r.session.updated_at, r.session.started_at))
    }

    fn holder(&self, tab: TabId) -> Option<LocalId> {
        self.sessions
            .values()
            .find(|r| r.tabs.iter().any(|t| t.tab == tab))
            .map(|r| r.session.local_id.clone())
    }

    fn accrue_all(&mut self, now: UnixMillis, changes: &mut Vec<Change>) {
        let idle = self.idle;
        for rec in self.sessions.values_mut() {
            let shown = rec.tabs.iter().any(|t| t.visible);
            if shown {
                // Persisted even while idle: a restart counts from the
                // stored checkpoint, so it must not lag behind.
                accrue(rec, now, !idle);
                changes.push(Change::Updated(rec.clone()));
            } else {
                rec.last_checkpoint = now;
            }
        }
    }

    fn detach(&mut self, id: &LocalId, tab: TabId, now: UnixMillis, changes: &mut Vec<Change>) {
        let running = self.sessions.get(id).is_some_and(|r| self.running(r));
        let Some(rec) = self.sessions.get_mut(id) else {
            return;
        };
        accrue(rec, now, running);
        rec.tabs.retain(|t| t.tab != tab);
        if rec.tabs.is_empty() {
            if let Some(mut rec) = self.sessions.remove(id) {
                changes.push(Change::Ended(end(&mut rec, now)));
            }
        } else {
            stamp(rec, now);
            changes.push(Change::Updated(rec.clone()));
        }
    }
}

/// Milliseconds to count between two observations: never negative (clock
/// went back), never more than [`MAX_ACCRUAL_GAP`] (sleep or clock jump).
fn gap(from: UnixMillis, to: UnixMillis) -> u64 {
    u64::try_from(to.since(from).0.clamp(0, MAX_ACCRUAL_GAP.0)).unwrap_or(0)
}

/// Counts the stretch since the last checkpoint if `running`, then moves the
/// checkpoint to `now`.
fn accrue(rec: &mut SessionRecord, now: UnixMillis, running: bool) {
    if running {
        rec.active_ms = rec.active_ms.saturating_add(gap(rec.last_checkpoint, now));
    }
    rec.last_checkpoint = now;
    stamp(rec, now);
}

/// Refreshes the wire fields from the record, keeping `updated_at` monotonic
/// and never shorter than the active time (so the contract's span check
/// holds even after the clock went back).
fn stamp(rec: &mut SessionRecord, now: UnixMillis) {
    let secs = u32::try_from(rec.active_ms / 1000)
        .unwrap_or(u32::MAX)
        .min(MAX_ACTIVE_SECONDS);
    rec.session.active_seconds = secs;
    let floor = rec.session.started_at + DurationMillis(i64::from(secs) * 1000);
    rec.session.updated_at = now.max(rec.session.updated_at).max(floor);
}

/// The final state of a session ending at `at`.
fn end(rec: &mut SessionRecord, at: UnixMillis) -> Session {
    stamp(rec, at);
    let mut s = rec.session.clone();
    s.state = SessionState::Ended;
    s.ended_at = Some(s.updated_at);
    s
}
