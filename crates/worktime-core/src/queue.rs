//! The pending queue: one entry per session holding its latest unsent
//! state, ordered ended-first, with per-entry backoff and parking.

use crate::retry::{MAX_TRANSIENT_FAILURES, backoff};
use crate::store::{Priority, QueueEntry};
use std::collections::BTreeMap;
use worktime_protocol::{DurationMillis, LocalId, Session, UnixMillis, merge};

/// The queue in memory; every change returns the entry to persist.
#[derive(Debug, Clone, Default)]
pub(crate) struct Queue {
    entries: BTreeMap<LocalId, QueueEntry>,
}

impl Queue {
    pub(crate) fn load(&mut self, entry: QueueEntry) {
        self.enqueue_entry(entry);
    }

    /// Adds or compacts `session` into its entry. Returns the entry to
    /// persist, or `None` when the queue already holds a newer version.
    pub(crate) fn enqueue(
        &mut self,
        session: Session,
        priority: Priority,
        counter: &mut u64,
    ) -> Option<QueueEntry> {
        *counter += 1;
        let stamp = *counter;
        match self.entries.get_mut(&session.local_id) {
            Some(entry) => {
                if !merge::changes(&entry.session, &session) {
                    return None;
                }
                entry.session = session;
                entry.priority = entry.priority.min(priority);
                if entry.session.is_ended() {
                    entry.priority = Priority::Ended;
                }
                entry.revision = stamp;
                Some(entry.clone())
            }
            None => {
                let entry = QueueEntry {
                    priority: if session.is_ended() {
                        Priority::Ended
                    } else {
                        priority
                    },
                    session,
                    order: stamp,
                    revision: stamp,
                    attempts: 0,
                    next_attempt_at: None,
                    parked_since: None,
                    last_error: None,
                };
                self.entries
                    .insert(entry.session.local_id.clone(), entry.clone());
                Some(entry)
            }
        }
    }

    /// Loads a stored entry, keeping the newer version on a duplicate key.
    fn enqueue_entry(&mut self, entry: QueueEntry) {
        match self.entries.get(&entry.session.local_id) {
            Some(existing) if !merge::changes(&existing.session, &entry.session) => {}
            _ => {
                self.entries.insert(entry.session.local_id.clone(), entry);
            }
        }
    }

    pub(crate) fn get(&self, id: &LocalId) -> Option<&QueueEntry> {
        self.entries.get(id)
    }

    pub(crate) fn remove(&mut self, id: &LocalId) -> Option<QueueEntry> {
        self.entries.remove(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &QueueEntry> {
        self.entries.values()
    }

    pub(crate) fn parked(&self) -> impl Iterator<Item = &QueueEntry> {
        self.entries.values().filter(|e| e.parked_since.is_some())
    }

    /// Entries that may be sent at `now`, in sending order (ended first,
    /// then by first-queued), at most `max`.
    pub(crate) fn due(&self, now: UnixMillis, max: usize) -> Vec<&QueueEntry> {
        let mut due: Vec<&QueueEntry> = self
            .entries
            .values()
            .filter(|e| e.parked_since.is_none() && e.next_attempt_at.is_none_or(|t| t <= now))
            .collect();
        due.sort_by_key(|e| (e.priority, e.order));
        due.truncate(max);
        due
    }

    /// When the first entry that is not parked may go: now for one with no
    /// backoff, else the earliest backoff deadline.
    pub(crate) fn earliest_attempt(&self, now: UnixMillis) -> Option<UnixMillis> {
        self.entries
            .values()
            .filter(|e| e.parked_since.is_none())
            .map(|e| e.next_attempt_at.unwrap_or(now))
            .min()
    }

    /// The earliest backoff deadline of an entry that is not parked.
    pub(crate) fn next_retry(&self) -> Option<UnixMillis> {
        self.entries
            .values()
            .filter(|e| e.parked_since.is_none())
            .filter_map(|e| e.next_attempt_at)
            .min()
    }

    /// The server acknowledged `revision` of `id`: the entry goes if nothing
    /// newer was queued meanwhile (returns `Ok(true)`); otherwise its newer
    /// state stays, with fresh attempts (`Ok(false)` + the entry to persist).
    pub(crate) fn acknowledge(&mut self, id: &LocalId, revision: u64) -> Ack {
        match self.entries.get_mut(id) {
            None => Ack::Gone,
            Some(e) if e.revision == revision => {
                self.entries.remove(id);
                Ack::Removed
            }
            Some(e) => {
                e.attempts = 0;
                e.next_attempt_at = None;
                e.parked_since = None;
                e.last_error = None;
                Ack::Kept(e.clone())
            }
        }
    }

    /// A transient failure of `id`. `consume` says whether it counts against
    /// the item (a network error while offline does not). Returns the entry
    /// to persist.
    pub(crate) fn transient_failure(
        &mut self,
        id: &LocalId,
        now: UnixMillis,
        jitter: f64,
        retry_after: Option<DurationMillis>,
        consume: bool,
        message: &str,
    ) -> Option<QueueEntry> {
        let e = self.entries.get_mut(id)?;
        e.last_error = Some(message.to_owned());
        if consume {
            e.attempts = e.attempts.saturating_add(1);
            if e.attempts >= MAX_TRANSIENT_FAILURES {
                e.parked_since = Some(now);
                e.next_attempt_at = None;
            } else {
                e.next_attempt_at = Some(now + backoff(e.attempts, jitter, retry_after));
            }
        } else if let Some(after) = retry_after {
            e.next_attempt_at = Some(now + after);
        }
        Some(e.clone())
    }

    /// The entries `which` names go again with fresh attempts (the server
    /// answered, or the user asked). Returns what changed.
    pub(crate) fn release_all(&mut self, which: Release) -> Vec<QueueEntry> {
        let mut changed = Vec::new();
        for e in self.entries.values_mut() {
            let waiting = e.parked_since.is_some()
                || (which == Release::ParkedAndBackingOff && e.attempts > 0);
            if waiting {
                e.parked_since = None;
                e.attempts = 0;
                e.next_attempt_at = None;
                changed.push(e.clone());
            }
        }
        changed
    }

    /// Moves every session with times after `now` back as a whole (the wall
    /// clock jumped back). Returns the entries to persist.
    pub(crate) fn not_after(&mut self, now: UnixMillis) -> Vec<QueueEntry> {
        let mut changed = Vec::new();
        for e in self.entries.values_mut() {
            let moved = crate::clock::not_after(e.session.clone(), now);
            if moved != e.session {
                e.session = moved;
                changed.push(e.clone());
            }
        }
        changed
    }

    /// Moves every deadline by `by` (wall clock jumped back).
    pub(crate) fn shift(&mut self, by: DurationMillis) {
        for e in self.entries.values_mut() {
            if let Some(t) = e.next_attempt_at.as_mut() {
                *t = *t + by;
            }
        }
    }
}

/// What an acknowledgement did.
#[derive(Debug)]
pub(crate) enum Ack {
    /// The acknowledged version was the latest: the entry is gone.
    Removed,
    /// A newer version is still pending (persist it).
    Kept(QueueEntry),
    /// Nothing was queued under that id.
    Gone,
}

/// Which waiting entries [`Queue::release_all`] sends again at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Release {
    /// Only parked ones (they used up their retries): the server answered.
    Parked,
    /// Parked ones and those waiting out a backoff: the user asked.
    ParkedAndBackingOff,
}
