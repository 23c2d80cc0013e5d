//! Slots for open event streams: at most so many per device token and so
//! many in total, so long-lived SSE connections cannot pile up without
//! bound. A slot is held by a [`StreamSlot`] and freed when it drops.
//! The same counter bounds each device's session writes in progress
//! ([`crate::state::ServerConfig::writes_per_device`]).
//!
//! Hand-written: a counter under a mutex; no crate counts per key and in
//! total at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamRefused {
    /// This token has as many streams open as it may.
    #[error("this token already has {0} event streams open")]
    PerToken(usize),
    /// The server has as many streams open as it serves.
    #[error("the server has {0} event streams open, its maximum")]
    Total(usize),
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_device: HashMap<i64, usize>,
}

/// The caps and the current counts.
#[derive(Debug, Clone)]
pub struct StreamSlots {
    per_token: usize,
    total: usize,
    counts: Arc<Mutex<Counts>>,
}

/// One open stream's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct StreamSlot {
    device_id: i64,
    counts: Arc<Mutex<Counts>>,
}

impl StreamSlots {
    /// Caps of `per_token` streams per device token and `total` in all.
    pub fn new(per_token: usize, total: usize) -> Self {
        StreamSlots {
            per_token,
            total,
            counts: Arc::default(),
        }
    }

    /// Takes a slot for a stream of `device_id`, or says which cap is reached.
    pub fn open(&self, device_id: i64) -> Result<StreamSlot, StreamRefused> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.total >= self.total {
            return Err(StreamRefused::Total(self.total));
        }
        let mine = counts.by_device.entry(device_id).or_insert(0);
        if *mine >= self.per_token {
            return Err(StreamRefused::PerToken(self.per_token));
        }
        *mine += 1;
        counts.total += 1;
        Ok(StreamSlot {
            device_id,
            counts: Arc::clone(&self.counts),
        })
    }

    /// Streams open now.
    pub fn open_now(&self) -> usize {
        self.counts.lock().map_or(0, |c| c.total)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(mine) = counts.by_device.get_mut(&self.device_id) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                counts.by_device.remove(&self.device_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_token_and_in_total_and_frees_on_drop() {
        let slots = StreamSlots::new(2, 3);
        let a1 = slots.open(1).unwrap();
        let _a2 = slots.open(1).unwrap();
        assert_eq!(slots.open(1).unwrap_err(), StreamRefused::PerToken(2));
        let _b1 = slots.open(2).unwrap();
        assert_eq!(slots.open(3).unwrap_err(), StreamRefused::Total(3));
        drop(a1);
        assert_eq!(slots.open_now(), 2);
        assert!(slots.open(3).is_ok());
    }
}
