//! The simulated storage: IndexedDB, where only what was committed survives
//! a killed worker, and the shell's fallback for writes IndexedDB refuses
//! (`crates/worktime-wasm/src/backlog.rs`): the refused writes wait in
//! memory, are kept in `chrome.storage.local` too, go in front of the next
//! batch, and are put back over IndexedDB by a worker that starts. Writes
//! both refuse die with the worker (the popup shows them at risk). A record
//! that is corrupt on load is quarantined by the shell and never reaches the
//! engine. Keyed maps so the invariants can look records up cheaply.

use std::collections::BTreeMap;
use worktime_core::{
    FailedEntry, QueueEntry, Record, SessionRecord, StoreName, StoredState, SyncMeta, Write,
};
use worktime_protocol::LocalId;

/// Sessions whose records a load found corrupt and quarantined.
#[derive(Debug, Clone, Default)]
pub struct Quarantined {
    /// A running session's record (its tabs are no longer known).
    pub sessions: Vec<LocalId>,
    /// A queue or failed entry.
    pub entries: Vec<LocalId>,
}

/// Committed records, store by store, and the refused writes.
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
    /// Writes IndexedDB refused, waiting in the worker's memory.
    waiting: Vec<Write>,
    /// The copy of them `chrome.storage.local` holds.
    spare: Vec<Write>,
}

impl Storage {
    /// Commits one atomic batch — or, when IndexedDB refuses, keeps it
    /// (with what already waited) for the next one, in
    /// `chrome.storage.local` too unless `spare_refuses`.
    pub fn commit(&mut self, writes: &[Write], idb_refuses: bool, spare_refuses: bool) {
        let mut batch = std::mem::take(&mut self.waiting);
        batch.extend_from_slice(writes);
        if idb_refuses {
            if !spare_refuses {
                self.spare = batch.clone();
            }
            self.waiting = batch;
            return;
        }
        self.apply(&batch);
        self.spare.clear();
    }

    fn apply(&mut self, writes: &[Write]) {
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

    /// The worker died: what waited only in its memory is gone. Returns the
    /// sessions those writes were about.
    pub fn forget_unsaved(&mut self) -> Vec<LocalId> {
        let waiting = std::mem::take(&mut self.waiting);
        let lost = &waiting[self.spare.len().min(waiting.len())..];
        lost.iter().filter_map(write_session).collect()
    }

    /// Whether a write waits for IndexedDB (in memory or the spare store).
    pub fn holds_waiting(&self, key: &str) -> bool {
        self.waiting.iter().chain(&self.spare).any(|w| match w {
            Write::Put { record } => {
                matches!(record.store(), StoreName::Queue | StoreName::Failed)
                    && record.key() == key
            }
            Write::Delete { .. } => false,
        })
    }

    /// Queued records a worker starting now would load (IndexedDB with the
    /// kept writes put back over it): IndexedDB itself may lag behind until
    /// the next transaction commits, which is no loss.
    pub fn queue_as_loaded(&self) -> usize {
        if self.spare.is_empty() {
            return self.queue.len();
        }
        let mut view = self.clone();
        view.apply(&self.spare);
        view.queue.len()
    }

    /// What a starting worker loads: IndexedDB with the spare store's writes
    /// put back over it (and kept for the next batch). `corrupt` picks one
    /// record that fails to decode: it is quarantined (returned as the
    /// session it was about) and never reaches the engine.
    pub fn load(&mut self, corrupt: Option<u64>) -> (StoredState, Quarantined) {
        let mut quarantined = Quarantined::default();
        if let Some(pick) = corrupt {
            let total = self.sessions.len() + self.queue.len() + self.failed.len() + 1;
            let mut i = (pick % total as u64) as usize;
            if i < self.sessions.len() {
                if let Some(key) = self.sessions.keys().nth(i).cloned()
                    && let Some(r) = self.sessions.remove(&key)
                {
                    quarantined.sessions.push(r.session.local_id);
                }
            } else {
                i -= self.sessions.len();
                if i < self.queue.len() {
                    if let Some(key) = self.queue.keys().nth(i).cloned()
                        && let Some(e) = self.queue.remove(&key)
                    {
                        quarantined.entries.push(e.session.local_id);
                    }
                } else {
                    i -= self.queue.len();
                    if let Some(key) = self.failed.keys().nth(i).cloned() {
                        if let Some(f) = self.failed.remove(&key) {
                            quarantined.entries.push(f.session.local_id);
                        }
                    } else {
                        // The meta record: the engine starts from defaults.
                        self.meta = None;
                    }
                }
            }
        }
        self.waiting = self.spare.clone();
        if !self.spare.is_empty() {
            let mut view = self.clone();
            view.apply(&self.spare);
            return (view.state(), quarantined);
        }
        (self.state(), quarantined)
    }

    fn state(&self) -> StoredState {
        let view = self;
        StoredState {
            sessions: view.sessions.values().cloned().collect(),
            queue: view.queue.values().cloned().collect(),
            failed: view.failed.values().cloned().collect(),
            meta: view.meta.clone(),
        }
    }
}

/// The session a write is about, if any.
fn write_session(w: &Write) -> Option<LocalId> {
    match w {
        Write::Put { record } => match record {
            Record::Sessions(r) => Some(r.session.local_id.clone()),
            Record::Queue(e) => Some(e.session.local_id.clone()),
            Record::Failed(f) => Some(f.session.local_id.clone()),
            Record::Meta(_) => None,
        },
        Write::Delete { key, .. } => LocalId::parse(key).ok(),
    }
}
