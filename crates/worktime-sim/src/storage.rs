//! The simulated IndexedDB: only what was committed survives a killed
//! worker. Keyed maps so the invariants can look records up cheaply.

use std::collections::BTreeMap;
use worktime_core::{
    FailedEntry, QueueEntry, Record, SessionRecord, StoreName, StoredState, SyncMeta, Write,
};

/// Committed records, store by store.
#[derive(Debug, Clone, Default)]
pub struct Storage {
    /// The `sessions` store.
    pub sessions: BTreeMap<String, SessionRecord>,
    /// The `queue` store.
    pub queue: BTreeMap<String, QueueEntry>,
    /// The `failed` store.
    pub failed: BTreeMap<String, FailedEntry>,
    /// The `meta` store.
    pub meta: Option<SyncMeta>,
}

impl Storage {
    /// Commits one atomic batch.
    pub fn commit(&mut self, writes: &[Write]) {
        for w in writes {
            match w {
                Write::Put { record } => {
                    let key = record.key();
                    match record {
                        Record::Sessions(r) => {
                            self.sessions.insert(key, r.clone());
                        }
                        Record::Queue(r) => {
                            self.queue.insert(key, r.clone());
                        }
                        Record::Failed(r) => {
                            self.failed.insert(key, r.clone());
                        }
                        Record::Meta(m) => self.meta = Some(m.clone()),
                    }
                }
                Write::Delete { store, key } => match store {
                    StoreName::Sessions => {
                        self.sessions.remove(key);
                    }
                    StoreName::Queue => {
                        self.queue.remove(key);
                    }
                    StoreName::Failed => {
                        self.failed.remove(key);
                    }
                    StoreName::Meta => self.meta = None,
                },
            }
        }
    }

    /// What a restarted worker loads.
    pub fn load(&self) -> StoredState {
        StoredState {
            sessions: self.sessions.values().cloned().collect(),
            queue: self.queue.values().cloned().collect(),
            failed: self.failed.values().cloned().collect(),
            meta: self.meta.clone(),
        }
    }
}
