//! The oracle is the user: the script of what the simulated reviewer did —
//! which pull request each visible tab showed, and for how long the user
//! was really looking (visible, not idle) — kept per review session, and
//! compared with the server's rows after the liveness phase.
//!
//! Time the user spends on a pull request is credited to the session the
//! engine runs for that PR at that moment (that is how a review is matched
//! to a row); time with no such session is a review the engine missed. The
//! engine's own writes never decide how much time a review was worth.
//!
//! Tolerances, per session:
//! - lower: the server may hold up to 1 s less (whole seconds on the wire);
//!   for each backward wall-clock step while the review ran, up to
//!   [`STEP_BACK_LOSS`] less; and for each worker restart that finds one of
//!   the session's tabs closed (its pagehide or removal lost with the
//!   killed worker) while it keeps other tabs, up to [`CHECKPOINT_INTERVAL`]
//!   less (the restarted engine drops that tab's stretch since the last
//!   checkpoint); for a browser crash while it ran, up to
//!   [`CHECKPOINT_INTERVAL`] less (the new browser run ends it at its last
//!   checkpoint);
//! - upper: for each forward step while it ran, each idle change lost
//!   with a killed worker while it ran, and each restart that found the
//!   stored idle state quarantined as corrupt, up to [`MAX_ACCRUAL_GAP`]
//!   more (a restarted engine counts the stretch since the last checkpoint
//!   with the state it has).

use super::*;

/// Review time a backward wall-clock step may cost a running session: the
/// stretch since its last checkpoint, and the one until the next.
pub(super) const STEP_BACK_LOSS: i64 = 2 * CHECKPOINT_INTERVAL.0;

/// What the script says about one review session.
#[derive(Debug, Clone)]
pub(super) struct Review {
    /// The pull request the user looked at.
    pub pr: PrRef,
    /// Milliseconds the user really looked at it.
    pub truth_ms: i64,
    /// How much less the server may hold.
    pub lower_ms: i64,
    /// How much more the server may hold.
    pub upper_ms: i64,
}

impl World {
    /// Pull requests the user is looking at now: a visible tab shows them,
    /// its page is not loading, and the user is not idle. Tabs whose
    /// session record the product lost and said so (quarantined, or refused
    /// by both storages) are left out until their page reports again.
    pub(super) fn watched_prs(&self) -> BTreeSet<PrRef> {
        if self.idle {
            return BTreeSet::new();
        }
        self.tabs
            .iter()
            .filter(|(id, t)| t.visible && !t.loading && !self.blind.contains(id))
            .filter_map(|(_, t)| t.pr.clone())
            .collect()
    }

    /// The engine's session for `pr`, if it runs one.
    fn session_for(&self, pr: &PrRef) -> Option<LocalId> {
        self.subject
            .engine()
            .running_sessions()
            .find(|r| r.pr() == *pr)
            .map(|r| r.session.local_id.clone())
    }

    fn review(&mut self, id: LocalId, pr: &PrRef) -> &mut Review {
        self.ledger.entry(id).or_insert_with(|| Review {
            pr: pr.clone(),
            truth_ms: 0,
            lower_ms: 1_000,
            upper_ms: 0,
        })
    }

    /// Credits `dt` of real time to every review the user is looking at.
    pub(super) fn credit(&mut self, dt: i64) {
        if !self.blind.is_empty() {
            // A tab the engine knows as it is again (its user came back
            // and the engine timed it) is seen.
            let engine = self.subject.engine();
            let tabs = &self.tabs;
            let known: BTreeSet<i64> = engine
                .running_sessions()
                .flat_map(|r| {
                    let pr = r.pr();
                    r.tabs.iter().filter(move |p| {
                        p.left_at.is_none()
                            && tabs.get(&p.tab.0).is_some_and(|t| {
                                t.visible == p.visible && t.pr.as_ref() == Some(&pr)
                            })
                    })
                })
                .map(|p| p.tab.0)
                .collect();
            self.blind.retain(|t| !known.contains(t));
        }
        for pr in self.watched_prs() {
            match self.session_for(&pr) {
                Some(id) => self.review(id, &pr).truth_ms += dt,
                None => {
                    self.fail(format!(
                        "a review the engine missed: the user looked at {pr} for {} ms with no session running for it",
                        dt
                    ));
                }
            }
        }
    }

    /// Widens the tolerance of every session the engine runs now by
    /// `lower` / `upper`.
    pub(super) fn widen_running(&mut self, lower: i64, upper: i64) {
        let running: Vec<(LocalId, PrRef)> = self
            .subject
            .engine()
            .running_sessions()
            .map(|r| (r.session.local_id.clone(), r.pr()))
            .collect();
        self.widen(running, lower, upper);
    }

    /// Widens the tolerance of `sessions` by `lower` / `upper`.
    pub(super) fn widen(&mut self, sessions: Vec<(LocalId, PrRef)>, lower: i64, upper: i64) {
        for (id, pr) in sessions {
            let r = self.review(id, &pr);
            r.lower_ms += lower;
            r.upper_ms += upper;
        }
    }

    /// A wall-clock step of `by` milliseconds while reviews run.
    pub(super) fn note_clock_step(&mut self, by: i64) {
        if by > 0 {
            self.widen_running(0, MAX_ACCRUAL_GAP.0);
        } else if by < 0 {
            self.widen_running(STEP_BACK_LOSS, 0);
            // Local deadlines set before the step are judged no more.
            self.hold_until = None;
            self.retry_floor.clear();
        }
    }

    /// After the liveness phase: every review the user made is on the
    /// server, ended, on its pull request, with active seconds within its
    /// tolerance — or the server refused that very session.
    pub(super) fn check_reviews(&mut self) {
        let mut problems = Vec::new();
        for (id, review) in &self.ledger {
            if review.truth_ms <= 0 || self.excused.contains(id) {
                continue;
            }
            if self.server.rejected.contains(id) || self.rejected.contains(id) {
                continue;
            }
            let Some(row) = self.server.rows.get(id) else {
                problems.push(format!(
                    "review {id} of {} ({} ms of the user's time) never reached the server",
                    review.pr, review.truth_ms
                ));
                continue;
            };
            if !row.is_ended() {
                problems.push(format!(
                    "review {id} of {} is not ended on the server",
                    review.pr
                ));
            }
            if worktime_protocol::page::pull_request_of_path(&format!(
                "/{}/{}/pull/{}",
                row.repo_owner, row.repo_name, row.pr_number
            ))
            .as_ref()
                != Some(&review.pr)
            {
                problems.push(format!(
                    "review {id} of {} is on the server as {}/{}#{}",
                    review.pr, row.repo_owner, row.repo_name, row.pr_number
                ));
            }
            let held = i64::from(row.active_seconds) * 1000;
            let (lo, hi) = (
                review.truth_ms - review.lower_ms,
                review.truth_ms + review.upper_ms,
            );
            if held < lo || held > hi {
                problems.push(format!(
                    "review {id} of {}: the server holds {} s, the user looked {:.1} s (allowed {:.1}..{:.1} s)",
                    review.pr,
                    row.active_seconds,
                    review.truth_ms as f64 / 1000.0,
                    lo as f64 / 1000.0,
                    hi as f64 / 1000.0
                ));
            }
            self.stats.reviews += 1;
            self.stats.worst_under_ms = self.stats.worst_under_ms.max(review.truth_ms - held);
            self.stats.worst_over_ms = self.stats.worst_over_ms.max(held - review.truth_ms);
        }
        if let Some(first) = problems.first() {
            let more = problems.len() - 1;
            self.fail(format!("{first} (and {more} more)"));
        }
    }
}
