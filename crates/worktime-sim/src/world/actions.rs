//! What the simulated user and browser do in one step: tabs and the pages
//! they show (pull requests in any case and on any sub-page, the PR list,
//! other sites), visibility, in-page navigation, reloads and back/forward,
//! idle, network, clock steps, crashes and commands. Every page report goes
//! through `worktime_core::page`, the mapping the browser shell applies.

use super::*;
use worktime_core::page::{content_input, tab_updated_input};

/// Pull-request pages GitHub serves under one PR.
const SUB_PAGES: [&str; 6] = ["", "/", "/changes", "/files", "/commits", "/checks"];

impl World {
    pub(super) fn random_pr(&mut self) -> PrRef {
        let n = PRS[self.rng.index(PRS.len())];
        let n = if n == crate::server::POISON_PR && !self.rng.chance(self.faults.poison) {
            1
        } else {
            n
        };
        let (owner, repo) = REPOS[self.rng.index(REPOS.len())];
        PrRef {
            owner: owner.into(),
            repo: repo.into(),
            number: n,
        }
    }

    /// A path that shows `pr`: any sub-page, owner and repo in any case.
    pub(super) fn path_of(&mut self, pr: &PrRef) -> String {
        let sub = match self.rng.range(0, 8) {
            0 => format!("/commits/{:x}", self.rng.next_u64()),
            i => SUB_PAGES[(i as usize - 1) % SUB_PAGES.len()].to_owned(),
        };
        let owner = self.any_case(&pr.owner);
        let repo = self.any_case(&pr.repo);
        format!("/{owner}/{repo}/pull/{}{sub}", pr.number)
    }

    fn any_case(&mut self, name: &str) -> String {
        match self.rng.range(0, 3) {
            0 => name.to_owned(),
            1 => name.to_ascii_uppercase(),
            _ => name
                .chars()
                .map(|c| {
                    if self.rng.chance(500) {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect(),
        }
    }

    pub(super) fn random_tab(&mut self) -> Option<i64> {
        let ids: Vec<i64> = self.tabs.keys().copied().collect();
        (!ids.is_empty()).then(|| ids[self.rng.index(ids.len())])
    }

    /// The content script's report for `tab`'s page now (`Closed` for
    /// `pagehide`), mapped as the shell maps it; `None` when the script
    /// stays silent or the mapping says there is nothing to tell.
    pub(super) fn report(&mut self, tab: i64, event: PageEvent) -> Option<Input> {
        let now = self.now();
        let t = self.tabs.get_mut(&tab)?;
        let path = t.path.clone()?;
        let looks_like_pr = path.contains("/pull/");
        if !t.reported && !looks_like_pr {
            // content.js stays silent off pull requests until it reported one.
            return None;
        }
        t.reported = true;
        t.seq += 1;
        self.blind.remove(&tab);
        let (doc, seq) = (DocId(t.doc), t.seq);
        content_input(TabId(tab), &path, event, doc, seq, |_| true).map(|make| make(now))
    }

    /// The report of what `tab` shows now (visible or hidden).
    pub(super) fn state_report(&mut self, tab: i64) -> Option<Input> {
        let visible = self.tabs.get(&tab).is_some_and(|t| t.visible);
        self.report(tab, shown(visible))
    }

    /// Sends page events as the browser might deliver them: sometimes
    /// duplicated, sometimes the last two swapped.
    pub(super) fn deliver_pages(&mut self, inputs: Vec<Option<Input>>) {
        let mut inputs: Vec<Input> = inputs.into_iter().flatten().collect();
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

    /// A new document in `tab` (full load, reload, back/forward): a fresh
    /// showing with its own report counter.
    pub(super) fn new_document(&mut self, tab: i64, pr: Option<PrRef>, path: Option<String>) {
        let doc = self.rng.next_u64() >> 11;
        if let Some(t) = self.tabs.get_mut(&tab) {
            t.pr = pr;
            t.path = path;
            t.doc = doc;
            t.seq = 0;
            t.reported = false;
            t.loading = false;
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
            400..=479 => self.open_tab(),
            480..=599 => {
                // Show or hide a tab (once or twice in a row).
                let Some(tab) = self.random_tab() else { return };
                let mut inputs = Vec::new();
                for _ in 0..self.rng.range(1, 3) {
                    let Some(t) = self.tabs.get_mut(&tab) else {
                        return;
                    };
                    t.visible = !t.visible;
                    inputs.push(self.state_report(tab));
                }
                self.deliver_pages(inputs);
            }
            600..=669 => self.navigate(),
            670..=739 => {
                // Close a tab, with or without pagehide.
                let Some(tab) = self.random_tab() else { return };
                let left = if self.rng.chance(600) {
                    self.report(tab, PageEvent::Closed)
                } else {
                    None
                };
                self.tabs.remove(&tab);
                self.blind.remove(&tab);
                self.deliver_pages(vec![left]);
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
            770..=794 => {
                self.online = !self.online;
                self.input(Input::Network {
                    now: self.now(),
                    online: self.online,
                });
            }
            795..=799 => {
                // A wrong online hint: navigator.onLine lies for a while.
                if !self.calm {
                    self.stats.faults += 1;
                    let hint = !self.online;
                    self.input(Input::Network {
                        now: self.now(),
                        online: hint,
                    });
                }
            }
            800..=824 => self.jump_clock(),
            825..=839 => {
                self.stats.kills += 1;
                self.start_worker();
            }
            840..=844 => {
                // The browser crashed: every tab is gone, no events at all,
                // and the next run hands out tab ids from 1 again. The new
                // run ends what was running at its last checkpoint: the
                // stretch since then is unknown, and none of it is counted.
                self.widen_running(CHECKPOINT_INTERVAL.0, 0);
                self.tabs.clear();
                self.blind.clear();
                self.next_tab = 1;
                self.stats.kills += 1;
                self.start_browser();
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

    /// Opens a tab on a pull request, in front or in the background (some
    /// background tabs are closed without ever being shown).
    fn open_tab(&mut self) {
        let tab = self.next_tab;
        self.next_tab += 1;
        let pr = self.random_pr();
        let path = self.path_of(&pr);
        let visible = self.rng.chance(700);
        self.tabs.insert(
            tab,
            SimTab {
                pr: None,
                path: None,
                visible,
                loading: false,
                doc: 0,
                seq: 0,
                reported: false,
            },
        );
        self.new_document(tab, Some(pr), Some(path));
        let input = self.state_report(tab);
        self.deliver_pages(vec![input]);
    }

    /// One of the ways a tab moves on: in-page navigation (to another PR,
    /// a sub-page of the same PR, the repository's PR list), a reload or
    /// back/forward within the grace, leaving GitHub, coming back to it.
    fn navigate(&mut self) {
        let Some(tab) = self.random_tab() else { return };
        let Some(t) = self.tabs.get(&tab) else { return };
        let on_github = t.path.is_some();
        let current = t.pr.clone();
        match (on_github, self.rng.range(0, 6)) {
            (true, 0 | 1) => {
                // Turbo: same document, another pull request.
                let pr = self.random_pr();
                let path = self.path_of(&pr);
                if let Some(t) = self.tabs.get_mut(&tab) {
                    t.pr = Some(pr);
                    t.path = Some(path);
                }
                let input = self.state_report(tab);
                self.deliver_pages(vec![input]);
            }
            (true, 2) => {
                // Turbo: the repository's pull-request list (or back to a
                // sub-page of the PR it came from).
                let (pr, path) = match current {
                    Some(_) => (None, "/Octo/Hello/pulls".to_owned()),
                    None => {
                        let pr = self.random_pr();
                        let path = self.path_of(&pr);
                        (Some(pr), path)
                    }
                };
                if let Some(t) = self.tabs.get_mut(&tab) {
                    t.pr = pr;
                    t.path = Some(path);
                }
                let input = self.state_report(tab);
                self.deliver_pages(vec![input]);
            }
            (true, 3) => {
                // A reload or back/forward: pagehide, a short while with no
                // page, then a new showing of a PR (usually the same one).
                let left = self.report(tab, PageEvent::Closed);
                if let Some(t) = self.tabs.get_mut(&tab) {
                    t.loading = true;
                }
                self.deliver_pages(vec![left]);
                let gap = self.rng.range(0, LEAVE_GRACE.0 - 1_000);
                self.advance(gap);
                if !self.tabs.contains_key(&tab) {
                    return;
                }
                let pr = match current {
                    Some(pr) if self.rng.chance(800) => pr,
                    _ => self.random_pr(),
                };
                let path = self.path_of(&pr);
                self.new_document(tab, Some(pr), Some(path));
                let input = self.state_report(tab);
                self.deliver_pages(vec![input]);
            }
            (true, _) => {
                // Off to another site: tabs.onUpdated and pagehide (reliable
                // on navigation, unlike on a tab closing), in either order.
                let left = self.report(tab, PageEvent::Closed);
                let now = self.now();
                let updated = tab_updated_input(TabId(tab), None).map(|make| make(now));
                self.new_document(tab, None, None);
                let inputs = if self.rng.chance(500) {
                    vec![left, updated]
                } else {
                    vec![updated, left]
                };
                self.deliver_pages(inputs);
            }
            (false, _) => {
                // Back to GitHub, on a pull request: a new document.
                let pr = self.random_pr();
                let path = self.path_of(&pr);
                let now = self.now();
                let url = format!("https://github.com{path}");
                let updated =
                    tab_updated_input(TabId(tab), Some(url.as_str())).map(|make| make(now));
                self.new_document(tab, Some(pr), Some(path));
                let input = self.state_report(tab);
                self.deliver_pages(vec![updated, input]);
            }
        }
    }

    pub(super) fn command(&mut self, command: Command) {
        // "Sync now" and "Retry" push what waits at once, by design.
        self.retry_floor.clear();
        self.input(Input::Command {
            now: self.now(),
            command,
        });
    }

    /// The wall clock steps: small corrections, or up to a day either way.
    pub(super) fn jump_clock(&mut self) {
        let old = self.skew;
        self.skew = match self.rng.range(0, 10) {
            0..=3 => 0,
            4..=7 => self.skew + self.rng.range(-120_000, 120_000),
            8 => self.rng.range(-DAY, 0),
            _ => self.rng.range(0, DAY),
        };
        self.skew = self.skew.clamp(-DAY, DAY);
        self.note_clock_step(self.skew - old);
        // Every input carries the clock; the next one shows the step.
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
