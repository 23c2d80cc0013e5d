//! The promises checked after every step, and the quiet phase that must
//! drain.

use super::*;

impl World {
    pub(super) fn check(&mut self) -> Result<(), Violation> {
        self.settle_watch();
        if self.trace {
            eprintln!(
                "== step {} truth {} s slack {} s server {} s",
                self.step,
                self.truth_ms / 1000,
                self.slack_ms / 1000,
                self.server.total_seconds
            );
        }
        let evictions = self.storage.meta.as_ref().map_or(0, |m| m.evictions);
        let mut newly_lost = Vec::new();
        for id in &self.watch {
            let key = id.as_str();
            let held = self.storage.queue.contains_key(key)
                || self.storage.failed.contains_key(key)
                || self.discarded.contains(id);
            if !held {
                newly_lost.push(id.clone());
            }
        }
        let last_lost = newly_lost.last().cloned();
        for id in newly_lost {
            self.watch.remove(&id);
            self.lost += 1;
        }
        if self.lost > evictions {
            self.fail(format!(
                "nothing lost: {} ended sessions (last: {last_lost:?}) are neither queued, failed nor on the server (evictions: {evictions})",
                self.lost
            ));
        }
        let counted = self.server.total_seconds as i64 * 1000;
        if counted > self.truth_ms + self.slack_ms {
            self.fail(format!(
                "nothing counted twice: the server holds {} s of review, the user reviewed {} s (+{} s slack)",
                counted / 1000,
                self.truth_ms / 1000,
                self.slack_ms / 1000
            ));
        }
        let engine = self.subject.engine();
        let unbounded = engine
            .pending()
            .find(|e| {
                e.attempts > MAX_TRANSIENT_FAILURES
                    || (e.parked_since.is_some() != (e.attempts >= MAX_TRANSIENT_FAILURES))
            })
            .map(|e| {
                format!(
                    "attempts bounded: {} has {} attempts (parked: {})",
                    e.session.local_id,
                    e.attempts,
                    e.parked_since.is_some()
                )
            });
        let failed = engine.failed().len();
        if let Some(message) = unbounded {
            self.fail(message);
        }
        if failed > worktime_core::failed::MAX_FAILED
            || self.storage.failed.len() > worktime_core::failed::MAX_FAILED
        {
            self.fail(format!(
                "failed list capped: {failed} in memory, {} stored",
                self.storage.failed.len()
            ));
        }
        match self.violation.take() {
            Some(message) => Err(Violation {
                seed: self.seed,
                step: self.step,
                message,
            }),
            None => Ok(()),
        }
    }

    /// No faults, every tab closed, the network and the token good: the
    /// queue must drain, every ended session must be on the server or in the
    /// failed list, and then the idle engine must stay silent.
    pub(super) fn quiet(&mut self) -> Result<(), Violation> {
        self.calm = true;
        self.outage = false;
        let tabs: Vec<i64> = self.tabs.keys().copied().collect();
        for tab in tabs {
            self.tabs.remove(&tab);
            self.input(Input::TabRemoved {
                now: self.now(),
                tab: TabId(tab),
            });
        }
        if !self.online {
            self.online = true;
            self.input(Input::Network {
                now: self.now(),
                online: true,
            });
        }
        if self.idle {
            self.idle = false;
            self.input(Input::UserIdle {
                now: self.now(),
                idle: false,
                last_input: None,
            });
        }
        if !self.token_valid || !self.has_token {
            self.token_valid = true;
            self.has_token = true;
            self.command(Command::TokenSet);
        }
        let mut waited = 0;
        loop {
            let engine = self.subject.engine();
            let drained = engine.pending().next().is_none()
                && engine.in_flight().is_none()
                && self.storage.queue.is_empty()
                && engine.running_sessions().next().is_none();
            if drained {
                break;
            }
            if waited > 4 * 3_600_000 {
                let pending = engine.pending().count();
                self.fail(format!(
                    "quiet phase did not drain in 4 hours: {pending} pending, {} stored, in flight: {:?}",
                    self.storage.queue.len(),
                    engine.in_flight()
                ));
                break;
            }
            self.advance(10_000);
            waited += 10_000;
        }
        // Let the last answers and wake-ups play out.
        self.advance(FETCH_TIMEOUT + 1_000);
        self.check()?;
        let stranded: Vec<&LocalId> = self
            .watch
            .iter()
            .filter(|id| {
                !self.storage.failed.contains_key(id.as_str()) && !self.discarded.contains(*id)
            })
            .collect();
        if !stranded.is_empty() {
            let message = format!(
                "after the quiet phase {} ended sessions are neither on the server nor failed: {:?}",
                stranded.len(),
                stranded
            );
            self.fail(message);
        }
        if let Some(at) = self.subject.engine().next_wake() {
            self.fail(format!("idle engine still wants a wake-up at {}", at.0));
        }
        let before = self.sends_seen;
        self.advance(10 * 60_000);
        if self.sends_seen != before {
            self.fail(format!(
                "idle engine sent {} requests in 10 quiet minutes",
                self.sends_seen - before
            ));
        }
        self.check()
    }
}
