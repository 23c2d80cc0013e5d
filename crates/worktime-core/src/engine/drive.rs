//! Starting the next request: push first (ended sessions first), then a
//! probe if items are parked, then a pull.

use super::*;

impl Engine {
    /// Starts the next request if none is in flight: push first (ended
    /// sessions first), then a probe if items are parked, then a pull.
    pub(super) fn drive(&mut self, now: UnixMillis) {
        if self.coord.in_flight.is_some() {
            return;
        }
        self.coord.follow_up = false;
        if !self.has_token || self.meta.signed_out {
            self.coord.run = None;
            self.coord.force_once = false;
            return;
        }
        if self.coord.manual_queued {
            self.coord.manual_queued = false;
            self.begin_manual(now);
        }
        if self.coord.server_busy(now).is_some() {
            // The server said when to come back (Retry-After): nothing goes
            // before then, whatever is waiting. A wake-up is set for it.
            return;
        }
        let may_send = self.online || self.coord.force_once;
        let due: Vec<(Session, u64)> = if may_send {
            self.queue
                .due(now, self.coord.max_batch.max(1))
                .into_iter()
                .map(|e| (e.session.clone(), e.revision))
                .collect()
        } else {
            Vec::new()
        };
        let request = if !due.is_empty() {
            let items = due.iter().map(|(s, r)| (s.local_id.clone(), *r)).collect();
            let request = if due.len() == 1 {
                Request {
                    method: Method::Put,
                    path: format!("/api/v1/sessions/{}", due[0].0.local_id),
                    body: serde_json::to_string(&due[0].0).ok(),
                }
            } else {
                let batch = BatchRequest {
                    sessions: due.into_iter().map(|(s, _)| s).collect(),
                };
                Request {
                    method: Method::Post,
                    path: "/api/v1/sessions/batch".to_owned(),
                    body: serde_json::to_string(&batch).ok(),
                }
            };
            Some((Flight::Push(items), request))
        } else if self.coord.probe_wanted && self.queue.parked().next().is_some() {
            self.coord.probe_wanted = false;
            Some((
                Flight::Probe,
                Request {
                    method: Method::Get,
                    path: "/api/v1/me".to_owned(),
                    body: None,
                },
            ))
        } else if self.coord.pull_wanted && may_send {
            self.coord.pull_wanted = false;
            self.coord.last_pull_sent = Some(now);
            let midnight = day_start(
                day_of(now, self.utc_offset_minutes),
                self.utc_offset_minutes,
            );
            let since = worktime_protocol::time::rfc3339::format(midnight).unwrap_or_default();
            Some((
                Flight::Pull,
                Request {
                    method: Method::Get,
                    path: format!("/api/v1/sessions?since={since}&limit=500"),
                    body: None,
                },
            ))
        } else {
            None
        };
        self.coord.force_once = false;
        match request {
            Some((flight, request)) => {
                let (request_id, new_run) = self.coord.begin(flight, now);
                if let Some(f) = &self.coord.in_flight {
                    self.timers.set(Timer::SyncLease, f.lease_until);
                }
                if new_run {
                    self.events.push(UiEvent::SyncStarted);
                }
                self.meta.last_attempted = Some(now);
                self.meta_dirty = true;
                self.sends.push(Output::Send {
                    request_id,
                    request,
                });
            }
            None => {
                if let Some(run) = self.coord.run.take() {
                    self.events.push(UiEvent::SyncCompleted {
                        delivered: run.delivered,
                        rejected: run.rejected,
                    });
                }
            }
        }
    }
}
