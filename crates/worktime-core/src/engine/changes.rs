//! From tracking changes to storage writes and queue entries (write-ahead).

use super::*;

impl Engine {
    /// Turns tracking changes into writes, queue entries and events.
    pub(super) fn apply_changes(&mut self, now: UnixMillis, changes: Vec<Change>) {
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
    /// straight to the failed list with the reason — but never for what the
    /// local clock did: times a step back left out of order or in our
    /// future are made consistent first (see [`crate::clock`]).
    pub(super) fn enqueue(&mut self, now: UnixMillis, session: Session, priority: Priority) {
        let session = crate::clock::not_after(crate::clock::consistent(session), now);
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
        }
    }
}
