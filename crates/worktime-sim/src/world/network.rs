//! The network and the fake server's fault menu: what happens to a request
//! and when its answer (if any) comes back.

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
            let a = error(401, "unauthorized", "token revoked");
            (latency, self.outcome(a.status, None, a.body))
        } else if self.outage || (!self.calm && self.rng.chance(f.server_error)) {
            self.stats.faults += 1;
            let a = error(503, "unavailable", "try later");
            (latency, self.outcome(a.status, None, a.body))
        } else if !self.calm && self.rng.chance(f.too_many) {
            self.stats.faults += 1;
            let after = self.rng.range(0, 120).to_string();
            let a = error(429, "rate_limited", "slow down");
            (latency, self.outcome(a.status, Some(&after), a.body))
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
