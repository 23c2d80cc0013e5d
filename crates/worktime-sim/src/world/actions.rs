//! What the simulated user and browser do in one step: tabs, visibility,
//! navigation, idle, network, clock jumps, crashes and commands.

use super::*;

impl World {
    pub(super) fn random_pr(&mut self) -> PrRef {
        let n = PRS[self.rng.index(PRS.len())];
        let n = if n == crate::server::POISON_PR && !self.rng.chance(self.faults.poison) {
            1
        } else {
            n
        };
        PrRef {
            owner: "octo".into(),
            repo: "hello".into(),
            number: n,
        }
    }

    pub(super) fn random_tab(&mut self) -> Option<i64> {
        let ids: Vec<i64> = self.tabs.keys().copied().collect();
        (!ids.is_empty()).then(|| ids[self.rng.index(ids.len())])
    }

    pub(super) fn page_input(&mut self, tab: i64, pr: PrRef, event: PageEvent) -> Input {
        self.seq += 1 + self.rng.range(0, 3) as u64;
        Input::Page {
            now: self.now(),
            tab: TabId(tab),
            pr,
            event,
            // One showing per run: the global `seq` orders every report.
            doc: worktime_core::DocId(0),
            seq: self.seq,
        }
    }

    /// Sends page events as the browser might deliver them: sometimes
    /// duplicated, sometimes the last two swapped.
    pub(super) fn deliver_pages(&mut self, mut inputs: Vec<Input>) {
        if inputs.len() >= 2 && self.rng.chance(150) {
            let n = inputs.len();
            inputs.swap(n - 1, n - 2);
        }
        for input in inputs {
            let dup = self.rng.chance(80);
            self.input(input.clone());
            if dup {
                self.input(input);
            }
        }
    }

    pub(super) fn random_step(&mut self) {
        let roll = self.rng.range(0, 1000);
        match roll {
            0..=399 => {
                let dt = if self.rng.chance(100) {
                    self.rng.range(60_000, 600_000)
                } else {
                    self.rng.range(50, 20_000)
                };
                self.advance(dt);
            }
            400..=479 => {
                // Open a tab on a pull request.
                let tab = self.next_tab;
                self.next_tab += 1;
                let pr = self.random_pr();
                let visible = self.rng.chance(700);
                self.tabs.insert(
                    tab,
                    SimTab {
                        pr: Some(pr.clone()),
                        visible,
                    },
                );
                let input = self.page_input(tab, pr, shown(visible));
                self.deliver_pages(vec![input]);
            }
            480..=599 => {
                // Show or hide a tab (once or twice in a row).
                let Some(tab) = self.random_tab() else { return };
                let mut inputs = Vec::new();
                for _ in 0..self.rng.range(1, 3) {
                    let Some(t) = self.tabs.get_mut(&tab) else {
                        return;
                    };
                    t.visible = !t.visible;
                    let (visible, pr) = (t.visible, t.pr.clone());
                    if let Some(pr) = pr {
                        inputs.push(self.page_input(tab, pr, shown(visible)));
                    }
                }
                self.deliver_pages(inputs);
            }
            600..=659 => {
                // Navigate a tab to another PR or away from GitHub PRs.
                let Some(tab) = self.random_tab() else { return };
                let new_pr = if self.rng.chance(700) {
                    Some(self.random_pr())
                } else {
                    None
                };
                let Some(t) = self.tabs.get_mut(&tab) else {
                    return;
                };
                let old = std::mem::replace(&mut t.pr, new_pr.clone());
                let visible = t.visible;
                let mut inputs = Vec::new();
                // Leaving for a page that is not a pull request always tells
                // the engine (pagehide or the content script's URL watch);
                // moving to another PR may skip it (the new PR's report
                // moves the tab).
                if let Some(old) = old
                    && (new_pr.is_none() || self.rng.chance(800))
                {
                    inputs.push(self.page_input(tab, old, PageEvent::Closed));
                }
                if let Some(pr) = new_pr {
                    inputs.push(self.page_input(tab, pr, shown(visible)));
                }
                self.deliver_pages(inputs);
            }
            660..=739 => {
                // Close a tab, with or without pagehide.
                let Some(tab) = self.random_tab() else { return };
                let Some(t) = self.tabs.remove(&tab) else {
                    return;
                };
                let mut inputs = Vec::new();
                if let Some(pr) = t.pr
                    && self.rng.chance(600)
                {
                    inputs.push(self.page_input(tab, pr, PageEvent::Closed));
                }
                self.deliver_pages(inputs);
                self.input(Input::TabRemoved {
                    now: self.now(),
                    tab: TabId(tab),
                });
            }
            740..=769 => {
                self.idle = !self.idle;
                self.input(Input::UserIdle {
                    now: self.now(),
                    idle: self.idle,
                    last_input: None,
                });
            }
            770..=799 => {
                self.online = !self.online;
                self.input(Input::Network {
                    now: self.now(),
                    online: self.online,
                });
            }
            800..=824 => self.jump_clock(),
            825..=839 => {
                self.stats.kills += 1;
                self.start_worker();
            }
            840..=844 => {
                // The browser crashed: every tab is gone, no events at all.
                self.tabs.clear();
                self.stats.kills += 1;
                self.start_worker();
            }
            845..=869 => self.command(Command::SyncNow),
            870..=884 => self.command(Command::PopupOpened),
            885..=904 => {
                let failed: Vec<LocalId> = self
                    .subject
                    .engine()
                    .failed()
                    .iter()
                    .map(|f| f.session.local_id.clone())
                    .collect();
                if failed.is_empty() {
                    return;
                }
                let id = failed[self.rng.index(failed.len())].clone();
                match self.rng.range(0, 3) {
                    0 => self.command(Command::RetryFailed { local_id: id }),
                    1 => self.command(Command::RetryAllFailed),
                    _ => {
                        self.discarded.insert(id.clone());
                        self.command(Command::DiscardFailed { local_id: id });
                    }
                }
            }
            905..=924 => {
                // The token is revoked on the server, or a new one is pasted.
                if self.token_valid && self.has_token {
                    self.token_valid = false;
                } else {
                    self.token_valid = true;
                    self.has_token = true;
                    self.command(Command::TokenSet);
                }
            }
            925..=934 => {
                if self.has_token && self.rng.chance(300) {
                    self.has_token = false;
                    self.command(Command::TokenCleared);
                }
            }
            935..=964 => self.outage = !self.outage,
            _ => {
                // Let timers and answers run for a while.
                let dt = self.rng.range(20_000, 120_000);
                self.advance(dt);
            }
        }
    }

    pub(super) fn command(&mut self, command: Command) {
        self.input(Input::Command {
            now: self.now(),
            command,
        });
    }

    pub(super) fn jump_clock(&mut self) {
        let old = self.skew;
        self.skew = match self.rng.range(0, 10) {
            0..=3 => 0,
            4..=7 => self.skew + self.rng.range(-120_000, 120_000),
            8 => self.rng.range(-7_200_000, 0),
            _ => self.rng.range(0, 900_000),
        };
        if self.skew > old {
            self.slack_ms += MAX_ACCRUAL_GAP.0 * self.visible_prs() as i64;
        }
        // Every input carries the clock; the next one shows the jump.
        self.input(Input::TimerDue { now: self.now() });
    }
}

/// The page event a content script reports for a tab that is (or is not) visible.
fn shown(visible: bool) -> PageEvent {
    if visible {
        PageEvent::Visible
    } else {
        PageEvent::Hidden
    }
}
