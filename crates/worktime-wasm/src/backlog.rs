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

use std::collections::BTreeMap;
use worktime_core::store::{StoreName, Write};

/// Refused writes waiting for a transaction that commits, and why the last
/// attempt failed.
#[derive(Debug, Default)]
pub struct WriteBacklog {
    waiting: Vec<Write>,
    error: Option<String>,
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
        self.error.take().is_some()
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
}
