//! The network and the fake server's fault menu: what happens to a request
//! and when its answer (if any) comes back.
//!
//! Faults, each decided by the seed: offline; a connection reset; a
//! timeout before the server saw the request, or after it applied it (the
//! duplicate trap); 503 during an outage or at random, and 500, 502, 504
//! (some with a proxy's HTML page); 408; 429 with `Retry-After` in seconds
//! or as an HTTP date; 401 and 403 (revoked token); a whole request refused
//! with 404, 405 or 400 naming no item, a redirect, or a 200 that is a
//! proxy's HTML page (all "server problem": every item kept); 422 refusing
//! a request as a whole (the item's verdict on a single-session PUT); a
//! malformed 200. Every answer that got through carries the server's
//! `Date`, delivered before the answer as the shell does.

use super::*;

impl World {
    pub(super) fn send(&mut self, request_id: RequestId, request: &worktime_core::Request) {
        let server_now = UnixMillis(self.real);
        let latency = self.rng.range(5, 800);
        let f = self.faults;
        let mut applied = false;
        let (delay, outcome) = if !self.online {
            (
                self.rng.range(1, 50),
                HttpOutcome::NetworkError {
                    message: "offline".into(),
                },
            )
        } else if !self.calm && self.rng.chance(f.network_error) {
            self.stats.faults += 1;
            (
                latency,
                HttpOutcome::NetworkError {
                    message: "connection reset".into(),
                },
            )
        } else if !self.calm && self.rng.chance(f.timeout_before) {
            self.stats.faults += 1;
            (FETCH_TIMEOUT, HttpOutcome::Timeout)
        } else if !self.token_valid || !self.has_token {
            let status = if self.rng.chance(300) { 403 } else { 401 };
            let a = error(status, "unauthorized", "token revoked");
            (latency, self.outcome(a.status, None, a.body))
        } else if self.outage || (!self.calm && self.rng.chance(f.server_error)) {
            self.stats.faults += 1;
            (latency, self.transient_answer())
        } else if !self.calm && self.rng.chance(f.too_many) {
            self.stats.faults += 1;
            let secs = self.rng.range(0, 120);
            let after = if self.rng.chance(300) {
                // An HTTP date, on the server's clock.
                http_date(UnixMillis(self.real + secs * 1000))
            } else {
                secs.to_string()
            };
            let a = error(429, "rate_limited", "slow down");
            (latency, self.outcome(a.status, Some(&after), a.body))
        } else if !self.calm && self.rng.chance(f.odd_answer) {
            self.stats.faults += 1;
            (latency, self.odd_answer())
        } else if !self.calm && self.rng.chance(f.bad_request) && !pushed_ids(request).is_empty() {
            self.stats.faults += 1;
            let a = error(422, "unprocessable", "refused as a whole");
            (latency, self.outcome(a.status, None, a.body))
        } else {
            applied = true;
            let answer = self.server.apply(request, server_now);
            if !self.calm && self.rng.chance(f.timeout_after) {
                self.stats.faults += 1;
                self.stats.duplicate_traps += 1;
                (FETCH_TIMEOUT, HttpOutcome::Timeout)
            } else if answer.status == 200 && !self.calm && self.rng.chance(f.malformed) {
                self.stats.faults += 1;
                (latency, self.outcome(200, None, "{\"results\": 7".into()))
            } else {
                (latency, self.outcome(answer.status, None, answer.body))
            }
        };
        // A single session refused by an answer that is its verdict.
        if matches!(outcome, HttpOutcome::Rejected { .. })
            && request.method == worktime_core::Method::Put
        {
            for id in pushed_ids(request) {
                if let Ok(id) = LocalId::parse(&id) {
                    self.rejected.insert(id);
                }
            }
        }
        if applied {
            self.settle_watch();
        }
        self.in_flight.push(InFlight {
            due: self.real + delay,
            incarnation: self.incarnation,
            request_id,
            outcome,
        });
    }

    /// A transient server failure: 500, 502, 503 or 504, the gateway ones
    /// sometimes with a proxy's HTML page; 408 now and then.
    fn transient_answer(&mut self) -> HttpOutcome {
        let status = match self.rng.range(0, 10) {
            0 => 500,
            1 => 502,
            2 => 504,
            3 => 408,
            _ => 503,
        };
        let body = if matches!(status, 502 | 504) && self.rng.chance(500) {
            "<html><body><h1>Bad Gateway</h1></body></html>".to_owned()
        } else {
            error(status, "unavailable", "try later").body
        };
        let after = (status == 503 && self.rng.chance(200))
            .then(|| http_date(UnixMillis(self.real + self.rng.range(1, 60) * 1000)));
        self.outcome(status, after.as_deref(), body)
    }

    /// A whole request answered by something that is not the API: a wrong
    /// path or method (404, 405), a 400 naming no item, a redirect (which
    /// the shell does not follow: status 0), a 200 that is a portal's HTML
    /// page.
    fn odd_answer(&mut self) -> HttpOutcome {
        let html = "<!DOCTYPE html><html><body>Not Found</body></html>".to_owned();
        match self.rng.range(0, 6) {
            0 => self.outcome(404, None, html),
            1 => self.outcome(404, None, error(404, "not_found", "no such endpoint").body),
            2 => self.outcome(405, None, String::new()),
            3 => self.outcome(400, None, error(400, "bad_request", "unreadable").body),
            4 => HttpOutcome::redirected(),
            _ => self.outcome(200, None, html),
        }
    }

    pub(super) fn outcome(
        &self,
        status: u16,
        retry_after: Option<&str>,
        body: String,
    ) -> HttpOutcome {
        HttpOutcome::from_response(status, retry_after, body, self.now())
    }

    /// Drops watched sessions the server now holds as ended (they can never
    /// be lost any more: the server does not delete).
    pub(super) fn settle_watch(&mut self) {
        let rows = &self.server.rows;
        self.watch
            .retain(|id| !rows.get(id).is_some_and(|s| s.is_ended()));
    }

    pub(super) fn deliver_response(&mut self, t: i64) {
        let Some(i) = self.in_flight.iter().position(|f| f.due == t) else {
            return;
        };
        let f = self.in_flight.remove(i);
        let stale = f.incarnation != self.incarnation;
        // An answer meant for a dead worker is usually lost with it; now
        // and then it reaches the new one, which must ignore it.
        if stale && !self.rng.chance(300) {
            return;
        }
        if !matches!(
            f.outcome,
            HttpOutcome::NetworkError { .. } | HttpOutcome::Timeout
        ) {
            // The answer's `Date` header: the server's clock (whole seconds).
            self.input(Input::ServerClock {
                now: self.now(),
                server_date: UnixMillis(self.real - self.real % 1000),
            });
        }
        if self.subject.engine().in_flight() == Some(f.request_id) {
            self.heard(&f);
        }
        self.input(Input::Response {
            now: self.now(),
            request_id: f.request_id,
            outcome: f.outcome.clone(),
        });
        if !self.calm && self.rng.chance(20) {
            // A duplicated answer.
            self.input(Input::Response {
                now: self.now(),
                request_id: f.request_id,
                outcome: f.outcome,
            });
        }
    }
}

/// `at` as an HTTP date (IMF-fixdate), as a server writes `Retry-After`.
fn http_date(at: UnixMillis) -> String {
    let secs = u64::try_from(at.0 / 1000).unwrap_or(0);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

impl World {
    /// What the engine must honour from an answer it hears: the server's
    /// `Retry-After` (no request of any kind before it ends).
    fn heard(&mut self, f: &InFlight) {
        if let HttpOutcome::Retry {
            after: Some(after), ..
        } = &f.outcome
        {
            let now = self.now().0;
            // Binding once the engine has stored what it made of the
            // answer (a worker killed before that never heard it).
            self.pending_hold = Some(now + after.0.min(worktime_core::outcome::MAX_RETRY_AFTER.0));
        }
    }

    /// Write-ahead, backoff and `Retry-After`, checked on every request.
    pub(super) fn check_send(&mut self, request: &worktime_core::Request) {
        let now = self.now().0;
        if let Some(until) = self.hold_until {
            if now < until {
                self.fail(format!(
                    "Retry-After honoured: {} {} sent {} ms before the server's hold ends",
                    request.method.as_str(),
                    request.path,
                    until - now
                ));
            } else {
                self.hold_until = None;
            }
        }
        let ids = pushed_ids(request);
        if !ids.is_empty() && std::mem::take(&mut self.sync_now_queued) {
            self.retry_floor.clear();
        }
        for id in ids {
            if !(self.storage.queue.contains_key(&id) || self.storage.holds_waiting(&id)) {
                self.fail(format!(
                    "write-ahead: session {id} was sent before it was stored in the queue"
                ));
            }
            // Only the version that failed waits: a session that changed
            // since is news and goes at once.
            if let Some(&(_, floor)) = self.retry_floor.get(&id)
                && now < floor
            {
                self.fail(format!(
                    "backoff: session {id} went again {} ms after a transient failure",
                    now - (floor - MIN_BACKOFF)
                ));
            }
        }
    }
}

/// The shortest delay before an item goes again after a transient failure:
/// 1 s less the jitter's quarter.
pub(super) const MIN_BACKOFF: i64 = 700;
