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
        // A server problem pauses pushes: only a probe (or a pull the user
        // asked for by opening the popup) asks whether it is over.
        let paused = self.meta.server_problem.is_some();
        // On the wire, timestamps are on the server's clock.
        let offset = self.clock_offset();
        let due: Vec<(Session, u64)> = if may_send && !paused {
            self.queue
                .due(now, self.coord.max_batch.max(1))
                .into_iter()
                .map(|e| (crate::clock::on_the_wire(&e.session, offset), e.revision))
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
        } else if self.coord.probe_wanted && (paused || self.queue.parked().next().is_some()) {
            self.coord.probe_wanted = false;
            Some((
                Flight::Probe,
                Request {
                    method: Method::Get,
                    path: "/api/v1/me".to_owned(),
                    body: None,
                },
            ))
        } else if (self.coord.pull_wanted || self.coord.pull_next.is_some()) && may_send {
            self.coord.pull_wanted = false;
            self.coord.last_pull_sent = Some(now);
            let (since, cursor, page) = match self.coord.pull_next.take() {
                Some(next) => (next.since, Some(next.cursor), next.page),
                None => {
                    let midnight = day_start(
                        day_of(now, self.utc_offset_minutes),
                        self.utc_offset_minutes,
                    );
                    let since =
                        worktime_protocol::time::rfc3339::format(midnight).unwrap_or_default();
                    (since, None, 1)
                }
            };
            let mut path = format!("/api/v1/sessions?since={since}&limit=500");
            if let Some(cursor) = cursor {
                path.push_str("&cursor=");
                path.push_str(&query_value(&cursor));
            }
            Some((
                Flight::Pull { since, page },
                Request {
                    method: Method::Get,
                    path,
                    body: None,
                },
            ))
        } else {
            None
        };
        self.coord.force_once = false;
        match request {
            Some((flight, request)) => {
                let line = format!("{} {}", request.method.as_str(), request.path);
                let (request_id, new_run) = self.coord.begin(flight, line, offset, now);
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

/// `value` percent-encoded for a query string (RFC 3986 unreserved
/// characters kept), so a cursor the server made up cannot add parameters
/// or leave the path.
fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
