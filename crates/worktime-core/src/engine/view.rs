//! The popup's snapshot, computed from the engine's state.

use super::*;

impl Engine {
    /// Everything the popup shows, with live seconds as of `now`.
    pub fn view(&self, now: UnixMillis) -> SyncView {
        let in_flight = match self.coord.in_flight.as_ref().map(|f| &f.flight) {
            Some(Flight::Push(items)) => items.len(),
            _ => 0,
        };
        let parked: Vec<&QueueEntry> = self.queue.parked().collect();
        let signed_in = self.has_token && !self.meta.signed_out;
        let status = if !signed_in {
            Status::SignedOut
        } else if self.coord.in_flight.is_some() {
            Status::Syncing
        } else if !self.online {
            Status::Offline
        } else if self.meta.server_problem.is_some() {
            Status::ServerProblem
        } else if self.queue.len() > 0 && (self.meta.last_error.is_some() || !parked.is_empty()) {
            Status::Error
        } else {
            Status::Idle
        };
        let live: Vec<(LocalId, u32, UnixMillis)> = self
            .tracker
            .sessions()
            .map(|r| {
                (
                    r.session.local_id.clone(),
                    secs(self.tracker.live_ms(r, now)),
                    r.session.started_at,
                )
            })
            .collect();
        let current = self.tracker.current().map(|r| CurrentReview {
            local_id: r.session.local_id.clone(),
            pr: r.pr(),
            started_at: r.session.started_at,
            active_seconds: secs(self.tracker.live_ms(r, now)),
            running: self.tracker.running(r),
        });
        let today_seconds = if day_of(now, self.utc_offset_minutes) == self.meta.today.day {
            self.meta.today.total(&live, self.utc_offset_minutes)
        } else {
            TodayTotals::default().total_for_day(
                &live,
                day_of(now, self.utc_offset_minutes),
                self.utc_offset_minutes,
            )
        };
        SyncView {
            at: now,
            status,
            pending: self.queue.len(),
            in_flight,
            parked: parked.len(),
            unavailable_since: parked.iter().filter_map(|e| e.parked_since).min(),
            failed: self
                .failed
                .list()
                .into_iter()
                .map(|f| FailedItem {
                    local_id: f.session.local_id.clone(),
                    pr: f.session.pr(),
                    active_seconds: f.session.active_seconds,
                    reason: f.reason.clone(),
                    attempts: f.attempts,
                    failed_at: f.failed_at,
                })
                .collect(),
            evictions: self.meta.evictions,
            last_attempted: self.meta.last_attempted,
            last_successful: self.meta.last_successful,
            last_error: self.meta.last_error.clone(),
            server_problem: self.meta.server_problem.as_deref().cloned(),
            next_retry: if signed_in && self.online {
                self.next_send_at(now)
            } else {
                None
            },
            signed_in,
            online: self.online,
            sync_now_cooldown_until: self.coord.in_cooldown(now),
            current,
            today_seconds,
        }
    }
}
