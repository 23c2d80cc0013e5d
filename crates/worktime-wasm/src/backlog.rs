//! Writes that IndexedDB refused, kept until a later transaction commits them.
//!
//! The engine hands over each persist batch once and goes on as if it were
//! stored. When IndexedDB keeps failing (quota exhausted, the profile's disk
//! full, a broken database), dropping the batch would leave the disk behind
//! the engine for good: a later restart would resurrect sessions already
//! delivered, or lose ones that ended. Instead the shell keeps the refused
//! writes here and puts them in front of the next batch, so the first
//! transaction that commits brings the disk level with the engine again. In
//! the meantime the popup says that storage is failing.
//!
//! Memory alone dies with the worker, so the waiting writes are also kept in
//! `chrome.storage.local` (its own quota), and a worker that starts puts
//! them back over what IndexedDB holds ([`merge_kept`]). When that storage
//! refuses too, the popup says how many ended reviews are at risk.

use std::collections::BTreeMap;
use worktime_core::store::{Record, StoreName, StoredState, Write};

/// Refused writes waiting for a transaction that commits, and why the last
/// attempt failed.
#[derive(Debug, Default)]
pub struct WriteBacklog {
    waiting: Vec<Write>,
    error: Option<String>,
    /// Why `chrome.storage.local` refused the waiting writes too, if it did.
    spare_error: Option<String>,
    /// `chrome.storage.local` holds writes to forget once IndexedDB has them.
    spare_holds: bool,
}

impl WriteBacklog {
    /// The batch to commit next: the waiting writes, then `writes`. A later
    /// write to a record replaces an earlier one (only the last write to a key
    /// decides what is stored), so the backlog never grows past one write per
    /// record however long storage keeps failing.
    pub fn batch_with(&self, writes: &[Write]) -> Vec<Write> {
        compact(self.waiting.iter().chain(writes))
    }

    /// Whether writes are waiting (the shell then retries before each input).
    pub fn is_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// `batch` (from [`WriteBacklog::batch_with`]) could not be committed.
    pub fn refused(&mut self, batch: Vec<Write>, error: String) {
        self.waiting = batch;
        self.error = Some(error);
    }

    /// A batch from [`WriteBacklog::batch_with`] committed: nothing waits any
    /// more. Returns whether an error was showing (the view must change).
    pub fn committed(&mut self) -> bool {
        self.waiting.clear();
        self.spare_error = None;
        self.error.take().is_some()
    }

    /// How keeping the waiting writes in `chrome.storage.local` went.
    /// Returns whether that changed what the popup must say.
    pub fn kept(&mut self, outcome: Result<(), String>) -> bool {
        let before = self.spare_error.is_some();
        match outcome {
            Ok(()) => {
                self.spare_error = None;
                self.spare_holds = true;
            }
            Err(e) => self.spare_error = Some(e),
        }
        before != self.spare_error.is_some()
    }

    /// Records a previous worker kept in `chrome.storage.local`, merged into
    /// the loaded state already ([`merge_kept`]): they wait for IndexedDB
    /// like refused writes.
    pub fn restore(&mut self, kept: &StoredState) {
        let puts = kept_puts(kept);
        self.waiting = compact(puts.iter().chain(&self.waiting));
        self.spare_holds = true;
    }

    /// Whether `chrome.storage.local` holds writes that IndexedDB has now
    /// committed (the shell then clears them); true once per commit.
    pub fn take_spare_to_clear(&mut self) -> bool {
        !self.is_waiting() && std::mem::take(&mut self.spare_holds)
    }

    /// While IndexedDB and `chrome.storage.local` both refuse: the ended
    /// reviews held in memory only, which a closed browser would lose.
    pub fn at_risk(&self) -> Option<usize> {
        self.spare_error.as_ref()?;
        let ended = self
            .waiting
            .iter()
            .filter(
                |w| matches!(w, Write::Put { record: Record::Queue(e) } if e.session.is_ended()),
            )
            .count();
        Some(ended)
    }

    /// Why storage is failing, while writes wait.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

/// `writes` in order, less every write that a later write to the same
/// record replaces: committing the result stores what committing all of them
/// in order would. Linear in the number of writes (a group commit of a
/// thousand page reports carries thousands).
pub fn compact<'a>(writes: impl Iterator<Item = &'a Write>) -> Vec<Write> {
    let mut slots: Vec<Option<&Write>> = Vec::new();
    let mut last_of: BTreeMap<(StoreName, String), usize> = BTreeMap::new();
    for write in writes {
        if let Some(earlier) = last_of.insert(key_of(write), slots.len()) {
            slots[earlier] = None;
        }
        slots.push(Some(write));
    }
    slots.into_iter().flatten().cloned().collect()
}

/// What to keep in `chrome.storage.local` of a refused batch: the records
/// it puts (deletes are never replayed, see [`merge_kept`]), as plain
/// records.
pub fn kept_records(batch: &[Write]) -> StoredState {
    let mut kept = StoredState::default();
    kept.apply(batch);
    kept
}

fn kept_puts(kept: &StoredState) -> Vec<Write> {
    let put = |record| Write::Put { record };
    kept.sessions
        .iter()
        .cloned()
        .map(Record::Sessions)
        .chain(kept.queue.iter().cloned().map(Record::Queue))
        .chain(kept.failed.iter().cloned().map(Record::Failed))
        .chain(kept.meta.iter().cloned().map(Record::Meta))
        .map(put)
        .collect()
}

/// Puts records a previous worker kept in `chrome.storage.local` back over
/// the state loaded from IndexedDB. They may be older than it (a worker
/// killed after IndexedDB took them, before they were forgotten), so they
/// only ever add what may be missing and never take back anything newer:
/// a queued version joins the loaded ones (the engine keeps the newer of
/// two), a running session or the meta record replaces the loaded one only
/// if it is not older, a failed entry only fills a gap, and deletes are not
/// replayed. The worst a stale write can do is send a session once more,
/// which the server's merge makes harmless; it can never lose one.
pub fn merge_kept(stored: &mut StoredState, kept: &StoredState) {
    for write in kept_puts(kept) {
        let Write::Put { record } = write else {
            continue;
        };
        match &record {
            Record::Queue(e) => stored.queue.push(e.clone()),
            Record::Sessions(r) => {
                match stored
                    .sessions
                    .iter_mut()
                    .find(|x| x.session.local_id == r.session.local_id)
                {
                    Some(x)
                        if (x.last_checkpoint, x.active_ms) >= (r.last_checkpoint, r.active_ms) => {
                    }
                    Some(x) => *x = r.clone(),
                    None => stored.sessions.push(r.clone()),
                }
            }
            Record::Failed(f) => {
                if !stored
                    .failed
                    .iter()
                    .any(|x| x.session.local_id == f.session.local_id)
                {
                    stored.failed.push(f.clone());
                }
            }
            Record::Meta(m) => match &stored.meta {
                Some(loaded) if loaded.counter > m.counter => {}
                _ => stored.meta = Some(m.clone()),
            },
        }
    }
}

fn key_of(write: &Write) -> (StoreName, String) {
    match write {
        Write::Put { record } => (record.store(), record.key()),
        Write::Delete { store, key } => (*store, key.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use worktime_core::store::{
        Priority, QueueEntry, Record, SessionRecord, StoredState, SyncMeta,
    };
    use worktime_protocol::{LocalId, Session, SessionState, UnixMillis};

    fn session(id: &str, active_seconds: u32) -> Session {
        Session {
            local_id: LocalId::parse(id).unwrap(),
            repo_owner: "octo".into(),
            repo_name: "hello".into(),
            pr_number: 1,
            started_at: UnixMillis(1_795_300_000_000),
            ended_at: Some(UnixMillis(1_795_300_100_000)),
            active_seconds,
            state: SessionState::Ended,
            updated_at: UnixMillis(1_795_300_100_000),
        }
    }

    fn put_queue(id: &str, active_seconds: u32) -> Write {
        Write::Put {
            record: Record::Queue(QueueEntry {
                session: session(id, active_seconds),
                priority: Priority::Ended,
                order: 1,
                revision: u64::from(active_seconds),
                attempts: 0,
                next_attempt_at: None,
                parked_since: None,
                last_error: None,
            }),
        }
    }

    fn put_session(id: &str, active_seconds: u32) -> Write {
        Write::Put {
            record: Record::Sessions(SessionRecord {
                session: session(id, active_seconds),
                active_ms: u64::from(active_seconds) * 1_000,
                tabs: vec![],
                last_checkpoint: UnixMillis(1_795_300_100_000),
                last_queued_at: UnixMillis(1_795_300_100_000),
                last_active: None,
            }),
        }
    }

    fn delete(store: StoreName, id: &str) -> Write {
        Write::Delete {
            store,
            key: id.to_owned(),
        }
    }

    fn applied(batches: &[&[Write]]) -> StoredState {
        let mut state = StoredState::default();
        for batch in batches {
            state.apply(batch);
        }
        state
    }

    #[test]
    fn with_nothing_waiting_the_batch_is_the_engines_batch() {
        let backlog = WriteBacklog::default();
        let writes = vec![put_session("a", 1), put_queue("a", 1)];
        assert_eq!(backlog.batch_with(&writes), writes);
        assert!(!backlog.is_waiting());
        assert_eq!(backlog.error(), None);
    }

    #[test]
    fn refused_writes_go_in_front_of_the_next_batch_and_store_the_same_end_state() {
        let first = vec![put_session("a", 10), put_queue("a", 10), put_queue("b", 5)];
        let second = vec![
            delete(StoreName::Queue, "a"),
            put_queue("b", 7),
            Write::Put {
                record: Record::Meta(SyncMeta::default()),
            },
        ];
        let mut backlog = WriteBacklog::default();
        backlog.refused(backlog.batch_with(&first), "QuotaExceededError".into());
        assert!(backlog.is_waiting());
        assert_eq!(backlog.error(), Some("QuotaExceededError"));

        let retry = backlog.batch_with(&second);
        // One write per record, and the same stored state as if both batches
        // had committed one after the other.
        assert_eq!(retry.len(), 4, "{retry:?}");
        assert_eq!(applied(&[&retry]), applied(&[&first, &second]));
        assert!(retry.contains(&delete(StoreName::Queue, "a")));
        assert!(!retry.contains(&put_queue("b", 5)));
    }

    #[test]
    fn a_commit_empties_the_backlog_and_says_the_error_is_gone_once() {
        let mut backlog = WriteBacklog::default();
        backlog.refused(backlog.batch_with(&[put_queue("a", 1)]), "disk full".into());
        assert!(backlog.committed());
        assert!(!backlog.is_waiting());
        assert_eq!(backlog.error(), None);
        assert!(!backlog.committed());
        assert_eq!(backlog.batch_with(&[]), vec![]);
    }

    #[test]
    fn the_backlog_keeps_one_write_per_record_however_many_batches_fail() {
        let mut backlog = WriteBacklog::default();
        for n in 0..1_000 {
            let batch = backlog.batch_with(&[put_queue("a", n), put_session("a", n)]);
            backlog.refused(batch, "disk full".into());
        }
        let batch = backlog.batch_with(&[]);
        assert_eq!(batch, vec![put_queue("a", 999), put_session("a", 999)]);
    }

    #[test]
    fn kept_writes_add_what_is_missing_and_never_take_back_anything_newer() {
        let mut stored = applied(&[&[
            put_session("run", 50),
            put_queue("old", 3),
            put_queue("gone", 1),
        ]]);
        stored.meta = Some(SyncMeta {
            counter: 10,
            ..SyncMeta::default()
        });
        let older_meta = SyncMeta {
            counter: 4,
            ..SyncMeta::default()
        };
        let kept = vec![
            put_queue("ended", 9),            // missing: added
            put_queue("old", 2),              // older: the engine keeps the newer
            put_session("run", 40),           // older checkpoint: ignored
            delete(StoreName::Queue, "gone"), // deletes are not replayed
            Write::Put {
                record: Record::Meta(older_meta), // older meta: ignored
            },
        ];
        let mut merged = stored.clone();
        merge_kept(&mut merged, &kept_records(&kept));
        let ids: Vec<&str> = merged
            .queue
            .iter()
            .map(|e| e.session.local_id.as_str())
            .collect();
        assert_eq!(ids, ["old", "gone", "ended", "old"]);
        assert_eq!(merged.sessions.len(), 1);
        assert_eq!(merged.sessions[0].active_ms, 50_000);
        assert_eq!(merged.meta.as_ref().unwrap().counter, 10);

        // Newer kept versions win.
        let newer_meta = SyncMeta {
            counter: 12,
            ..SyncMeta::default()
        };
        merge_kept(
            &mut merged,
            &kept_records(&[
                put_session("run", 60),
                Write::Put {
                    record: Record::Meta(newer_meta),
                },
            ]),
        );
        assert_eq!(merged.sessions[0].active_ms, 60_000);
        assert_eq!(merged.meta.as_ref().unwrap().counter, 12);
    }

    #[test]
    fn when_extension_storage_refuses_too_the_ended_reviews_in_memory_are_at_risk() {
        let mut backlog = WriteBacklog::default();
        backlog.refused(
            backlog.batch_with(&[put_queue("a", 1), put_queue("b", 2), put_session("c", 3)]),
            "disk full".into(),
        );
        assert!(!backlog.kept(Ok(())));
        assert_eq!(backlog.at_risk(), None, "kept in chrome.storage.local");
        assert!(backlog.kept(Err("QUOTA_BYTES quota exceeded".into())));
        assert_eq!(backlog.at_risk(), Some(2));
        assert!(!backlog.take_spare_to_clear(), "still waiting");
        backlog.committed();
        assert_eq!(backlog.at_risk(), None);
        assert!(backlog.take_spare_to_clear(), "forget the kept copy once");
        assert!(!backlog.take_spare_to_clear());
    }

    #[test]
    fn restored_writes_wait_for_indexeddb_and_are_forgotten_once_it_takes_them() {
        let mut backlog = WriteBacklog::default();
        backlog.restore(&kept_records(&[put_queue("a", 1)]));
        assert!(backlog.is_waiting());
        assert_eq!(backlog.batch_with(&[put_queue("b", 1)]).len(), 2);
        backlog.committed();
        assert!(backlog.take_spare_to_clear());
    }
}
