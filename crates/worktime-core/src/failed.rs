//! The dead-letter list: sessions the server refused for good, capped at
//! [`MAX_FAILED`], oldest evicted first.

use crate::store::FailedEntry;
use std::collections::BTreeMap;
use worktime_protocol::LocalId;

/// Most entries the failed list keeps.
pub const MAX_FAILED: usize = 50;

/// The failed list in memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct FailedList {
    entries: BTreeMap<LocalId, FailedEntry>,
}

impl FailedList {
    /// Adds (or replaces) an entry; returns the ids evicted to stay within
    /// [`MAX_FAILED`], oldest first.
    pub(crate) fn add(&mut self, entry: FailedEntry) -> Vec<LocalId> {
        self.entries.insert(entry.session.local_id.clone(), entry);
        let mut evicted = Vec::new();
        while self.entries.len() > MAX_FAILED {
            let oldest = self
                .entries
                .values()
                .min_by_key(|e| (e.order, e.failed_at))
                .map(|e| e.session.local_id.clone());
            match oldest {
                Some(id) => {
                    self.entries.remove(&id);
                    evicted.push(id);
                }
                None => break,
            }
        }
        evicted
    }

    pub(crate) fn take(&mut self, id: &LocalId) -> Option<FailedEntry> {
        self.entries.remove(id)
    }

    pub(crate) fn get(&self, id: &LocalId) -> Option<&FailedEntry> {
        self.entries.get(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn ids(&self) -> Vec<LocalId> {
        self.entries.keys().cloned().collect()
    }

    /// Oldest first.
    pub(crate) fn list(&self) -> Vec<&FailedEntry> {
        let mut all: Vec<&FailedEntry> = self.entries.values().collect();
        all.sort_by_key(|e| e.order);
        all
    }
}
