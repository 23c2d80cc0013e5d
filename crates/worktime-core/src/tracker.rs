//! Session tracking: one session per pull request, shared by all its tabs
//! (reference counted), with active time that runs only while a tab is
//! visible and the user is not idle.
//!
//! A tab is not a page: leaving a PR inside a tab detaches the tab from that
//! PR's session, and the tab is timed again on the next PR it shows. Only
//! `chrome.tabs.onRemoved` retires a tab id. A page that goes away
//! (`pagehide`) keeps its tab in the session for [`LEAVE_GRACE`], so a
//! reload or back/forward continues the same session.

use crate::ids::{DocId, TabId};
use crate::input::PageEvent;
use crate::store::{DormantTab, SessionRecord, TabPresence};
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
/// How long a tab whose page went away (`pagehide`) stays in its session
/// with the clock stopped: the same PR shown again in the tab within it (a
/// reload, back/forward) continues the session.
pub const LEAVE_GRACE: DurationMillis = DurationMillis::from_secs(5);
/// Seed 001's safety timeout: a session with no active time for this long
/// (its tabs hidden, or the user idle) ends at its last active moment, so a
/// forgotten tab never shows "in progress" forever. Coming back to the tab
/// starts a new session.
pub const INACTIVE_LIMIT: DurationMillis = DurationMillis::from_secs(10 * 60);
/// Removed tabs remembered, so late page events for them are ignored.
const TOMBSTONES: usize = 1024;
/// Showings a tab moved on from, remembered per tab, so their late reports
/// are ignored.
const RETIRED_DOCS: usize = 8;

/// The latest report accepted from one tab.
#[derive(Debug, Clone, Default)]
struct TabReports {
    doc: DocId,
    seq: u64,
    retired: VecDeque<DocId>,
}

impl TabReports {
    /// Whether a report `(doc, seq)` is newer than what the tab said last;
    /// if so it becomes the latest. A report from a showing the tab moved on
    /// from, or not above its showing's last `seq`, is not.
    fn accept(&mut self, doc: DocId, seq: u64) -> bool {
        if doc == self.doc {
            if seq <= self.seq {
                return false;
            }
        } else if self.retired.contains(&doc) {
            return false;
        } else {
            self.retire_current();
            self.doc = doc;
        }
        self.seq = seq;
        true
    }

    /// Later reports from the current showing are ignored.
    fn retire_current(&mut self) {
        self.retired.push_back(self.doc);
        if self.retired.len() > RETIRED_DOCS {
            self.retired.pop_front();
        }
        self.seq = u64::MAX;
    }
}

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
    reports: BTreeMap<TabId, TabReports>,
    /// Tabs whose session the safety timeout ended, with the PR they show
    /// and whether they are visible: the user coming back (active again, or
    /// the page reporting in) starts a new session. Kept in the meta record
    /// too, so a worker started since knows them.
    dormant: BTreeMap<TabId, (PrRef, bool)>,
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
    /// ends at its last checkpoint. On a browser run's first start
    /// (`new_browser_run`) the browser was down however recent the
    /// checkpoint: the session ends there with none of the time since.
    pub(crate) fn load(
        &mut self,
        stored: Vec<SessionRecord>,
        open_tabs: &[TabId],
        new_browser_run: bool,
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
                let r = self.reports.entry(t.tab).or_insert_with(|| TabReports {
                    doc: t.doc,
                    seq: t.seq,
                    retired: VecDeque::new(),
                });
                if r.doc == t.doc {
                    r.seq = r.seq.max(t.seq);
                }
            }
            if rec.tabs.is_empty() {
                let since = now.since(rec.last_checkpoint);
                if !new_browser_run && since.0 >= 0 && since <= MAX_ACCRUAL_GAP {
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
        !self.idle && rec.tabs.iter().any(shown)
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

    /// Whether a report `(doc, seq)` from `tab` is news (see
    /// [`TabReports::accept`]); reports from removed tabs never are.
    fn accept(&mut self, tab: TabId, doc: DocId, seq: u64) -> bool {
        if self.removed.contains(&tab) {
            return false;
        }
        match self.reports.get_mut(&tab) {
            Some(r) => r.accept(doc, seq),
            None => {
                self.reports.insert(
                    tab,
                    TabReports {
                        doc,
                        seq,
                        retired: VecDeque::new(),
                    },
                );
                true
            }
        }
    }

    /// A pull-request page reported in. `new_id` supplies a fresh id if a
    /// session starts. Reports that are not news (see [`Tracker::accept`])
    /// change nothing.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn page(
        &mut self,
        now: UnixMillis,
        tab: TabId,
        pr: &PrRef,
        event: PageEvent,
        doc: DocId,
        seq: u64,
        new_id: impl FnOnce() -> LocalId,
    ) -> Vec<Change> {
        if !self.accept(tab, doc, seq) {
            return Vec::new();
        }
        self.dormant.remove(&tab);
        let mut changes = Vec::new();
        let holder = self.holder(tab);
        let same_pr = holder
            .as_ref()
            .and_then(|id| self.sessions.get(id))
            .is_some_and(|r| r.pr() == *pr);
        if let (Some(id), false) = (&holder, same_pr) {
            // The tab shows another PR now: it leaves the old one at once.
            self.detach(id, tab, now, &mut changes);
        }
        match event {
            PageEvent::Closed => {
                if let (Some(id), true) = (holder, same_pr) {
                    self.leave(&id, tab, now, &mut changes);
                }
            }
            PageEvent::Visible | PageEvent::Hidden => {
                let visible = event == PageEvent::Visible;
                self.accrue_all(now, &mut changes);
                let presence = TabPresence {
                    tab,
                    visible,
                    doc,
                    seq,
                    left_at: None,
                };
                let existing = self
                    .sessions
                    .values()
                    .find(|r| r.pr() == *pr)
                    .map(|r| r.session.local_id.clone());
                match existing {
                    Some(id) => {
                        if let Some(rec) = self.sessions.get_mut(&id) {
                            match rec.tabs.iter_mut().find(|t| t.tab == tab) {
                                Some(t) => *t = presence,
                                None => rec.tabs.push(presence),
                            }
                            stamp(rec, now);
                            changes.push(Change::Updated(rec.clone()));
                        }
                    }
                    // A page never seen is no review: a hidden page starts
                    // nothing until it is shown.
                    None if !visible => {}
                    None => changes.push(self.start(now, pr, presence, new_id())),
                }
            }
        }
        changes
    }

    /// A new session on `pr`, shown by `presence`.
    fn start(
        &mut self,
        now: UnixMillis,
        pr: &PrRef,
        presence: TabPresence,
        local_id: LocalId,
    ) -> Change {
        let rec = SessionRecord {
            session: Session {
                local_id,
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
            tabs: vec![presence],
            last_checkpoint: now,
            last_queued_at: now,
            last_active: Some(now),
        };
        self.sessions
            .insert(rec.session.local_id.clone(), rec.clone());
        Change::Started(rec)
    }

    /// When the earliest session without active time reaches
    /// [`INACTIVE_LIMIT`].
    pub(crate) fn next_inactive_end(&self) -> Option<UnixMillis> {
        self.sessions
            .values()
            .filter(|r| !self.running(r))
            .map(|r| r.last_active() + INACTIVE_LIMIT)
            .min()
    }

    /// Sessions without active time for [`INACTIVE_LIMIT`] by `now` end at
    /// their last active moment; their tabs wait for the user to come back.
    pub(crate) fn end_inactive(&mut self, now: UnixMillis) -> Vec<Change> {
        let over: Vec<LocalId> = self
            .sessions
            .values()
            .filter(|r| !self.running(r) && r.last_active() + INACTIVE_LIMIT <= now)
            .map(|r| r.session.local_id.clone())
            .collect();
        let mut changes = Vec::new();
        for id in over {
            if let Some(mut rec) = self.sessions.remove(&id) {
                let pr = rec.pr();
                for t in rec.tabs.iter().filter(|t| t.left_at.is_none()) {
                    self.dormant.insert(t.tab, (pr.clone(), t.visible));
                }
                rec.last_checkpoint = now;
                let at = rec.last_active();
                changes.push(Change::Ended(end(&mut rec, at)));
            }
        }
        changes
    }

    /// The tab shows no pull request now (see
    /// [`crate::Input::LeftPullRequest`]): it leaves its session at once and
    /// stays a live tab. Without a report (the browser said so), later
    /// reports from the page it showed are ignored.
    pub(crate) fn left_pull_request(
        &mut self,
        now: UnixMillis,
        tab: TabId,
        report: Option<(DocId, u64)>,
    ) -> Vec<Change> {
        match report {
            Some((doc, seq)) => {
                if !self.accept(tab, doc, seq) {
                    return Vec::new();
                }
            }
            None => {
                if self.removed.contains(&tab) {
                    return Vec::new();
                }
                if let Some(r) = self.reports.get_mut(&tab) {
                    r.retire_current();
                }
            }
        }
        self.dormant.remove(&tab);
        let mut changes = Vec::new();
        if let Some(id) = self.holder(tab) {
            self.detach(&id, tab, now, &mut changes);
        }
        changes
    }

    /// When the earliest grace of a tab whose page went away ends.
    pub(crate) fn next_grace_end(&self) -> Option<UnixMillis> {
        self.sessions
            .values()
            .flat_map(|r| r.tabs.iter())
            .filter_map(|t| t.left_at)
            .min()
            .map(|at| at + LEAVE_GRACE)
    }

    /// Tabs whose grace ended by `now` leave their sessions, as of the
    /// moment their page went away.
    pub(crate) fn end_graces(&mut self, now: UnixMillis) -> Vec<Change> {
        let mut changes = Vec::new();
        let over: Vec<(LocalId, TabId, UnixMillis)> = self
            .sessions
            .values()
            .flat_map(|r| {
                r.tabs.iter().filter_map(|t| {
                    t.left_at
                        .filter(|&at| at + LEAVE_GRACE <= now)
                        .map(|at| (r.session.local_id.clone(), t.tab, at))
                })
            })
            .collect();
        for (id, tab, left_at) in over {
            self.detach_at(&id, tab, now, left_at, &mut changes);
        }
        changes
    }

    /// `chrome.tabs.onRemoved`: the tab leaves its session for good.
    pub(crate) fn tab_removed(&mut self, now: UnixMillis, tab: TabId) -> Vec<Change> {
        let mut changes = Vec::new();
        if let Some(id) = self.holder(tab) {
            self.detach(&id, tab, now, &mut changes);
        }
        self.reports.remove(&tab);
        self.dormant.remove(&tab);
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

    /// The tabs whose session the safety timeout ended, to be stored.
    pub(crate) fn dormant_tabs(&self) -> Vec<DormantTab> {
        self.dormant
            .iter()
            .filter_map(|(tab, (pr, visible))| {
                let r = self.reports.get(tab)?;
                Some(DormantTab {
                    pr: pr.clone(),
                    presence: TabPresence {
                        tab: *tab,
                        visible: *visible,
                        doc: r.doc,
                        seq: r.seq,
                        left_at: None,
                    },
                })
            })
            .collect()
    }

    /// Restores the stored dormant tabs that are still open, after
    /// [`Tracker::load`] (a tab timed again since is not dormant).
    pub(crate) fn restore_dormant(&mut self, stored: &[DormantTab], open_tabs: &[TabId]) {
        for d in stored {
            let tab = d.presence.tab;
            if !open_tabs.contains(&tab) || self.reports.contains_key(&tab) {
                continue;
            }
            self.reports.insert(
                tab,
                TabReports {
                    doc: d.presence.doc,
                    seq: d.presence.seq,
                    retired: VecDeque::new(),
                },
            );
            self.dormant.insert(tab, (d.pr.clone(), d.presence.visible));
        }
    }

    /// The idle state restored from storage, before [`Tracker::load`].
    pub(crate) fn restore_idle(&mut self, idle: bool) {
        self.idle = idle;
    }

    /// Idle or locked stops active time — at `last_input` when given (the
    /// time counted since then was no review), else now; active resumes
    /// it, and a visible tab whose session the safety timeout ended starts
    /// a new one (`new_id` supplies the ids).
    pub(crate) fn set_idle(
        &mut self,
        now: UnixMillis,
        idle: bool,
        last_input: Option<UnixMillis>,
        mut new_id: impl FnMut() -> LocalId,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        if self.idle != idle {
            let was_running: Vec<LocalId> = self
                .sessions
                .values()
                .filter(|r| self.running(r))
                .map(|r| r.session.local_id.clone())
                .collect();
            self.accrue_all(now, &mut changes);
            self.idle = idle;
            if let (true, Some(cut)) = (idle, last_input) {
                for id in was_running {
                    if let Some(rec) = self.sessions.get_mut(&id) {
                        trim_to(rec, cut, now);
                        changes.push(Change::Updated(rec.clone()));
                    }
                }
            }
        }
        if !idle {
            let back: Vec<(TabId, PrRef)> = self
                .dormant
                .iter()
                .filter(|(_, (_, visible))| *visible)
                .map(|(tab, (pr, _))| (*tab, pr.clone()))
                .collect();
            for (tab, pr) in back {
                self.dormant.remove(&tab);
                let Some(r) = self.reports.get(&tab) else {
                    continue;
                };
                let presence = TabPresence {
                    tab,
                    visible: true,
                    doc: r.doc,
                    seq: r.seq,
                    left_at: None,
                };
                match self.sessions.values_mut().find(|rec| rec.pr() == pr) {
                    Some(rec) => {
                        rec.tabs.push(presence);
                        stamp(rec, now);
                        changes.push(Change::Updated(rec.clone()));
                    }
                    None => changes.push(self.start(now, &pr, presence, new_id())),
                }
            }
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
            if rec.tabs.iter().any(shown) {
                // Persisted even while idle: a restart counts from the
                // stored checkpoint, so it must not lag behind.
                accrue(rec, now, !idle);
                changes.push(Change::Updated(rec.clone()));
            } else {
                rec.last_checkpoint = now;
            }
        }
    }

    /// The page in `tab` went away: the clock stops for it, and the tab
    /// stays in the session until its grace ends.
    fn leave(&mut self, id: &LocalId, tab: TabId, now: UnixMillis, changes: &mut Vec<Change>) {
        let running = self.sessions.get(id).is_some_and(|r| self.running(r));
        let Some(rec) = self.sessions.get_mut(id) else {
            return;
        };
        accrue(rec, now, running);
        if let Some(t) = rec.tabs.iter_mut().find(|t| t.tab == tab) {
            t.visible = false;
            t.left_at = Some(now);
        }
        changes.push(Change::Updated(rec.clone()));
    }

    /// `tab` leaves the session now; if it was the last, the session ends
    /// now, or as of the moment the tab's page went away if it was in its
    /// grace.
    fn detach(&mut self, id: &LocalId, tab: TabId, now: UnixMillis, changes: &mut Vec<Change>) {
        let left_at = self
            .sessions
            .get(id)
            .and_then(|r| r.tabs.iter().find(|t| t.tab == tab))
            .and_then(|t| t.left_at);
        self.detach_at(id, tab, now, left_at.unwrap_or(now), changes);
    }

    /// `tab` leaves the session at `now`; if it was the last, the session
    /// ends at `end_at` (the moment its page went away, for a grace that
    /// ran out).
    fn detach_at(
        &mut self,
        id: &LocalId,
        tab: TabId,
        now: UnixMillis,
        end_at: UnixMillis,
        changes: &mut Vec<Change>,
    ) {
        let running = self.sessions.get(id).is_some_and(|r| self.running(r));
        let Some(rec) = self.sessions.get_mut(id) else {
            return;
        };
        if running {
            accrue(rec, now, true);
        } else {
            // Nothing to count; the wire fields keep the time they had, so
            // a session ending as of an earlier moment says so.
            rec.last_checkpoint = now;
        }
        rec.tabs.retain(|t| t.tab != tab);
        if rec.tabs.is_empty() {
            if let Some(mut rec) = self.sessions.remove(id) {
                changes.push(Change::Ended(end(&mut rec, end_at)));
            }
        } else {
            stamp(rec, now);
            changes.push(Change::Updated(rec.clone()));
        }
    }
}

/// Whether a tab's page counts as shown: visible and not gone.
fn shown(t: &TabPresence) -> bool {
    t.visible && t.left_at.is_none()
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
        rec.last_active = Some(now);
    }
    rec.last_checkpoint = now;
    stamp(rec, now);
}

/// Takes back the active time a running session was credited after `cut`
/// (the user's last input), up to `now`: never more than that span, nor
/// more than the session has, nor from before it started. Its last active
/// moment becomes `cut`.
fn trim_to(rec: &mut SessionRecord, cut: UnixMillis, now: UnixMillis) {
    let cut = cut.max(rec.session.started_at).min(now);
    let over = u64::try_from(now.since(cut).0).unwrap_or(0);
    rec.active_ms = rec.active_ms.saturating_sub(over);
    rec.last_active = Some(cut);
    // The wire count may only shrink here: recompute it from the record.
    let secs = u32::try_from(rec.active_ms / 1000)
        .unwrap_or(u32::MAX)
        .min(MAX_ACTIVE_SECONDS);
    rec.session.active_seconds = secs;
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

/// The final state of a session ending at `at`: `ended_at` is `at` (never
/// shorter than its active time), `updated_at` stays monotonic, so a session
/// ending as of an earlier moment (a grace or the safety timeout ran out)
/// still replaces every version sent before.
fn end(rec: &mut SessionRecord, at: UnixMillis) -> Session {
    stamp(rec, at);
    let mut s = rec.session.clone();
    let floor = s.started_at + DurationMillis(i64::from(s.active_seconds) * 1000);
    s.state = SessionState::Ended;
    s.ended_at = Some(at.max(floor));
    s
}
