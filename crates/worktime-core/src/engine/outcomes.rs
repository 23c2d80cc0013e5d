//! What the answer to a request does: acknowledge, dead-letter, back off,
//! park, pause for a server problem, sign out.

use super::*;
use crate::queue::Release;

impl Engine {
    pub(super) fn on_response(&mut self, now: UnixMillis, id: RequestId, outcome: HttpOutcome) {
        let Some(flight) = self.coord.finish(id) else {
            return; // stale, duplicated or unknown: ignored
        };
        self.timers.stop(Timer::SyncLease);
        if flight.token_epoch != self.coord.token_epoch
            && matches!(outcome, HttpOutcome::Unauthorized { .. })
        {
            // Sent with the token the user just replaced: not a verdict on
            // the new one. The items go again at once, at no cost.
            return;
        }
        self.settle(
            now,
            flight.flight,
            (&flight.request, flight.offset),
            outcome,
        );
    }

    /// Applies the outcome of a finished request (`sent` is its method and
    /// path, and the clock offset its timestamps went with).
    pub(super) fn settle(
        &mut self,
        now: UnixMillis,
        flight: Flight,
        sent: (&str, DurationMillis),
        outcome: HttpOutcome,
    ) {
        let (request, sent_offset) = sent;
        match outcome {
            HttpOutcome::Delivered { status, body } => match flight {
                Flight::Push(items) => {
                    self.on_push_delivered(now, items, status, &body, sent);
                }
                Flight::Probe => self.on_success(now),
                Flight::Pull { since, page: n } => {
                    match serde_json::from_str::<SessionsPage>(&body) {
                        Ok(page) => {
                            self.on_success(now);
                            self.on_pulled(now, page, since, n);
                        }
                        Err(e) => self.note_error(format!("malformed reply from the server: {e}")),
                    }
                }
            },
            HttpOutcome::Retry { after, .. } => {
                if let Some(after) = after {
                    self.coord.server_busy_until = Some(now + after);
                    self.meta.server_busy_until = self.coord.server_busy_until;
                    self.meta_dirty = true;
                }
                let message = outcome.describe();
                self.transient(now, flight, after, true, &message);
            }
            HttpOutcome::Timeout => {
                let message = outcome.describe();
                self.transient(now, flight, None, true, &message);
            }
            HttpOutcome::NetworkError { .. } => {
                let message = outcome.describe();
                let consume = self.online;
                self.transient(now, flight, None, consume, &message);
            }
            HttpOutcome::Rejected { status: 413, .. } if matches!(&flight, Flight::Push(items) if items.len() > 1) =>
            {
                // Too large as a whole, not wrong item by item: halve the
                // batch and go again at once, at no cost to the items.
                if let Flight::Push(items) = &flight {
                    self.coord.max_batch = (items.len() / 2).max(1);
                }
                self.note_error(outcome.describe());
            }
            HttpOutcome::Rejected { status, ref reason } => match flight {
                // One session PUT: the server's verdict on that session.
                Flight::Push(items) if items.len() == 1 => {
                    let message = outcome.describe();
                    for (id, rev) in items {
                        self.refused(now, &id, rev, reason, sent_offset);
                    }
                    self.note_error(message);
                }
                // A batch's verdicts on its items come item by item in a
                // 200; a refusal of the whole request, or of a probe or
                // pull, is not about any session.
                _ => {
                    let detail = format!("HTTP {status} ({}: {})", reason.code, reason.message);
                    self.pause_for_server_problem(now, status, detail, request);
                }
            },
            HttpOutcome::ServerProblem { status, detail } => {
                self.pause_for_server_problem(now, status, detail, request);
            }
            HttpOutcome::Unauthorized { .. } => {
                self.meta.signed_out = true;
                self.meta_dirty = true;
                self.note_error(outcome.describe());
            }
        }
    }

    pub(super) fn on_push_delivered(
        &mut self,
        now: UnixMillis,
        items: Vec<(LocalId, u64)>,
        status: u16,
        body: &str,
        sent: (&str, DurationMillis),
    ) {
        let (request, sent_offset) = sent;
        let results = if items.len() == 1 {
            // PUT: a 2xx carrying the stored session is the
            // acknowledgement. Anything else acknowledges nothing.
            if !names_session(body, &items[0].0) {
                self.not_acknowledged(now, items, status, body, request);
                return;
            }
            None
        } else {
            match serde_json::from_str::<BatchResponse>(body) {
                Ok(r) => Some(r.results),
                Err(_) => {
                    self.not_acknowledged(now, items, status, body, request);
                    return;
                }
            }
        };
        self.on_success(now);
        let mut missing = Vec::new();
        for (id, rev) in items {
            let result = match &results {
                None => Some((ItemStatus::Ok, None)),
                Some(rs) => rs
                    .iter()
                    .find(|r| r.local_id == id.as_str())
                    .map(|r| (r.status, r.error.clone())),
            };
            match result {
                Some((ItemStatus::Ok, _)) => self.acknowledge(&id, rev),
                Some((ItemStatus::Rejected, error)) => {
                    let reason = error.unwrap_or_else(|| ErrorBody {
                        code: "rejected".to_owned(),
                        message: "the server refused this session".to_owned(),
                        field: None,
                    });
                    self.refused(now, &id, rev, &reason, sent_offset);
                }
                None => missing.push((id, rev)),
            }
        }
        if !missing.is_empty() {
            let message = "the server's reply left out some sessions".to_owned();
            self.transient(now, Flight::Push(missing), None, true, &message);
        }
    }

    /// A 2xx to a push whose body is not the API's answer: a JSON object
    /// gone wrong (cut short, the wrong shape) is retried like any
    /// transient failure; anything else (a portal's or proxy's own page, an
    /// empty body) did not come from the API, and sync pauses for it.
    fn not_acknowledged(
        &mut self,
        now: UnixMillis,
        items: Vec<(LocalId, u64)>,
        status: u16,
        body: &str,
        request: &str,
    ) {
        if body.trim_start().starts_with('{') {
            let message = "malformed reply from the server".to_owned();
            self.transient(now, Flight::Push(items), None, true, &message);
        } else {
            let detail = answer_not_the_api(status, body);
            self.pause_for_server_problem(now, status, detail, request);
        }
    }

    pub(super) fn acknowledge(&mut self, id: &LocalId, rev: u64) {
        if let Some(run) = self.coord.run.as_mut() {
            run.delivered += 1;
        }
        match self.queue.acknowledge(id, rev) {
            Ack::Removed => self.writes.push(delete(StoreName::Queue, id.as_str())),
            Ack::Kept(e) => self.writes.push(put(Record::Queue(e))),
            Ack::Gone => {}
        }
        self.queue_changed = true;
    }

    /// The server refused `id`. A refusal of its timestamps while what we
    /// know of the server's clock changed since they were sent (the answer's
    /// own `Date` told us) is about our clock, not the session: it goes
    /// again at once with corrected times, at no cost. Anything else is for
    /// good ([`Engine::dead_letter`]).
    fn refused(
        &mut self,
        now: UnixMillis,
        id: &LocalId,
        rev: u64,
        reason: &ErrorBody,
        sent_offset: DurationMillis,
    ) {
        let clock_moved = self.clock_offset() != sent_offset;
        if clock_moved && crate::clock::is_time_field(reason.field.as_deref()) {
            self.queue_changed = true;
            return; // still queued, unchanged: due now
        }
        self.dead_letter(now, id, rev, reason);
    }

    /// The server refused `id` for good: the refused version moves to the
    /// failed list — unless a newer version was queued meanwhile, which then
    /// gets its own verdict.
    pub(super) fn dead_letter(
        &mut self,
        now: UnixMillis,
        id: &LocalId,
        rev: u64,
        reason: &ErrorBody,
    ) {
        let Some(entry) = self.queue.get(id) else {
            return;
        };
        if entry.revision != rev {
            return;
        }
        let Some(entry) = self.queue.remove(id) else {
            return;
        };
        if let Some(run) = self.coord.run.as_mut() {
            run.rejected += 1;
        }
        self.writes.push(delete(StoreName::Queue, id.as_str()));
        self.add_failed(now, entry.session, entry.attempts + 1, reason);
    }

    pub(super) fn add_failed(
        &mut self,
        now: UnixMillis,
        session: Session,
        attempts: u32,
        reason: &ErrorBody,
    ) {
        self.meta.counter += 1;
        let entry = FailedEntry {
            session,
            reason: match &reason.field {
                Some(field) if !reason.message.contains(field.as_str()) => {
                    format!("{} ({field})", reason.message)
                }
                _ => reason.message.clone(),
            },
            code: reason.code.clone(),
            attempts,
            failed_at: now,
            order: self.meta.counter,
        };
        self.writes.push(put(Record::Failed(entry.clone())));
        for evicted in self.failed.add(entry) {
            self.meta.evictions += 1;
            self.writes
                .push(delete(StoreName::Failed, evicted.as_str()));
        }
        self.meta_dirty = true;
        self.queue_changed = true;
    }

    /// A request failed for now. `consume` says whether it counts against
    /// the items sent.
    pub(super) fn transient(
        &mut self,
        now: UnixMillis,
        flight: Flight,
        after: Option<DurationMillis>,
        consume: bool,
        message: &str,
    ) {
        if let Flight::Push(items) = flight {
            for (id, _) in items {
                let jitter = self.rng.unit();
                if let Some(e) = self
                    .queue
                    .transient_failure(&id, now, jitter, after, consume, message)
                {
                    self.writes.push(put(Record::Queue(e)));
                }
            }
            self.queue_changed = true;
        }
        self.note_error(message.to_owned());
    }

    pub(super) fn note_error(&mut self, message: String) {
        self.events.push(UiEvent::SyncError {
            message: message.clone(),
        });
        self.coord.run = None;
        self.meta.last_error = Some(message);
        self.meta_dirty = true;
    }

    /// The server's address answered, but not as the API does: sync pauses
    /// with every item kept as it is (no attempt counted), until a probe on
    /// the fallback alarm, any other success or new settings.
    pub(super) fn pause_for_server_problem(
        &mut self,
        now: UnixMillis,
        status: u16,
        detail: String,
        request: &str,
    ) {
        let since = self.meta.server_problem.as_ref().map_or(now, |p| p.since);
        let message = format!("server problem: {request} was answered with {detail}");
        self.meta.server_problem = Some(Box::new(ServerProblem {
            status,
            detail,
            request: request.to_owned(),
            since,
        }));
        self.coord.probe_wanted = false;
        self.queue_changed = true;
        self.note_error(message);
    }

    /// The server answered: parked items go again with fresh attempts, and
    /// a server problem is over.
    pub(super) fn on_success(&mut self, now: UnixMillis) {
        self.meta.server_problem = None;
        self.meta.last_successful = Some(now);
        self.meta.last_error = None;
        self.meta_dirty = true;
        let released = self.queue.release_all(Release::Parked);
        if !released.is_empty() {
            self.queue_changed = true;
        }
        for e in released {
            self.writes.push(put(Record::Queue(e)));
        }
    }

    /// Records a page of today's sessions; follows the server's `next` to
    /// the page after it (up to [`crate::coord::MAX_PULL_PAGES`]), and
    /// counts the pull as done once the last page is in.
    pub(super) fn on_pulled(&mut self, now: UnixMillis, page: SessionsPage, since: String, n: u32) {
        match page.next.filter(|c| !c.is_empty()) {
            Some(cursor) if n < crate::coord::MAX_PULL_PAGES => {
                self.coord.pull_next = Some(crate::coord::PullNext {
                    since,
                    cursor,
                    page: n + 1,
                });
            }
            _ => self.meta.last_pull = Some(now),
        }
        self.meta.today.roll(now, self.utc_offset_minutes);
        for s in &page.sessions {
            self.meta.today.record(s, self.utc_offset_minutes);
        }
        self.meta_dirty = true;
    }
}

/// Whether a 2xx body to a session `PUT` is the server's stored session
/// `id` (a JSON object whose `local_id` is `id`).
fn names_session(body: &str, id: &LocalId) -> bool {
    #[derive(serde::Deserialize)]
    struct Stored {
        local_id: String,
    }
    serde_json::from_str::<Stored>(body).is_ok_and(|s| s.local_id == id.as_str())
}

fn answer_not_the_api(status: u16, body: &str) -> String {
    let what = if body.trim().is_empty() {
        "an empty body"
    } else if body.trim_start().starts_with('<') {
        "an HTML page"
    } else {
        "a body that is not JSON"
    };
    format!("HTTP {status} with {what}, not the WorkTime API")
}
