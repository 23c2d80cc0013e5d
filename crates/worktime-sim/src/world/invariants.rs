//! The promises checked after every step (the safety phase, faults on),
//! and the liveness phase (faults off) that must drain everything, leave
//! every review of the script on the server within its tolerance, and the
//! engine silent.

use super::*;

impl World {
    pub(super) fn check(&mut self) -> Result<(), Violation> {
        self.settle_watch();
        if self.trace {
            let truth: i64 = self.ledger.values().map(|r| r.truth_ms).sum();
            eprintln!(
                "== step {} reviews {} truth {} s server {} s",
                self.step,
                self.ledger.len(),
                truth / 1000,
                self.server.total_seconds
            );
            let tabs: Vec<String> = self
                .tabs
                .iter()
                .map(|(id, t)| {
                    format!(
                        "{id}:{}{}{}",
                        t.pr.as_ref().map_or("-".to_owned(), |p| p.to_string()),
                        if t.visible { "+v" } else { "" },
                        if t.loading { "+l" } else { "" }
                    )
                })
                .collect();
            let sessions: Vec<String> = self
                .subject
                .engine()
                .running_sessions()
                .map(|r| {
                    let tabs: Vec<String> = r
                        .tabs
                        .iter()
                        .map(|t| format!("{}{}", t.tab.0, if t.visible { "v" } else { "" }))
                        .collect();
                    format!(
                        "{} {} {}s [{}]",
                        &r.session.local_id.as_str()[..6],
                        r.pr(),
                        r.session.active_seconds,
                        tabs.join(",")
                    )
                })
                .collect();
            eprintln!(
                "   tabs {} idle {} | engine {}",
                tabs.join(" "),
                self.idle,
                sessions.join("; ")
            );
        }
        // Nothing lost, session by session: an ended session the engine
        // wrote is queued, failed, on the server, or the server's verdict
        // refused it, or the user discarded it, or the product said it was
        // at risk (quarantined as corrupt, refused by both storages).
        let lost = self.watch.iter().find(|id| {
            let key = id.as_str();
            !(self.storage.queue.contains_key(key)
                || self.storage.failed.contains_key(key)
                || self.storage.holds_waiting(key)
                || self.discarded.contains(*id)
                || self.server.rejected.contains(*id)
                || self.rejected.contains(*id)
                || self.excused.contains(*id))
        });
        if let Some(id) = lost {
            self.fail(format!(
                "nothing lost: ended session {id} is neither queued, failed, refused by the server nor on it"
            ));
        }
        // Nothing counted twice, session by session: no row holds more than
        // the user's time on it and its tolerance.
        let over = self.server.rows.iter().find_map(|(id, row)| {
            if self.excused.contains(id) {
                return None;
            }
            let review = self.ledger.get(id)?;
            let held = i64::from(row.active_seconds) * 1000;
            (held > review.truth_ms + review.upper_ms).then(|| {
                format!(
                    "nothing counted twice: the server holds {} s for {id} ({}), the user looked {:.1} s (+{:.1} s allowed)",
                    row.active_seconds,
                    review.pr,
                    review.truth_ms as f64 / 1000.0,
                    review.upper_ms as f64 / 1000.0
                )
            })
        });
        if let Some(message) = over {
            self.fail(message);
        }
        if let Some(stray) = self.server.rows.iter().find(|(id, row)| {
            row.active_seconds > 0 && !self.ledger.contains_key(*id) && !self.excused.contains(*id)
        }) {
            self.fail(format!(
                "nothing counted twice: the server holds {} s for {}, a session the user never looked at",
                stray.1.active_seconds, stray.0
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
        self.take_violation()
    }

    fn take_violation(&mut self) -> Result<(), Violation> {
        match self.violation.take() {
            Some(message) => Err(Violation {
                seed: self.seed,
                step: self.step,
                message,
            }),
            None => Ok(()),
        }
    }

    /// The liveness phase: no faults, every tab closed, the network, the
    /// online hint and the token good: the queue must drain, every review
    /// must be on the server (or refused by it, item by item), and then the
    /// idle engine must stay silent.
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
        self.online = true;
        self.input(Input::Network {
            now: self.now(),
            online: true,
        });
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
                && self.storage.queue_as_loaded() == 0
                && engine.running_sessions().next().is_none();
            if drained {
                break;
            }
            if waited > 4 * 3_600_000 {
                let pending = engine.pending().count();
                self.fail(format!(
                    "liveness: did not drain in 4 hours without faults: {pending} pending, {} stored, in flight: {:?}",
                    self.storage.queue_as_loaded(),
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
                !self.storage.failed.contains_key(id.as_str())
                    && !self.storage.holds_waiting(id.as_str())
                    && !self.discarded.contains(*id)
                    && !self.excused.contains(*id)
            })
            .collect();
        if !stranded.is_empty() {
            let message = format!(
                "after the liveness phase {} ended sessions are neither on the server nor failed: {:?}",
                stranded.len(),
                stranded
            );
            self.fail(message);
        }
        self.check_reviews();
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
