//! The user's commands: sync now, retry or discard failed items, tokens,
//! popup opened.

use super::*;
use crate::queue::Release;

impl Engine {
    pub(super) fn on_command(&mut self, now: UnixMillis, command: Command) {
        match command {
            Command::SyncNow => {
                let reply = if !self.has_token || self.meta.signed_out {
                    SyncNowReply::Refused {
                        reason: "signed out: set an API token in the options".to_owned(),
                        retry_at: None,
                    }
                } else if self.coord.in_flight.is_some() {
                    self.coord.manual_queued = true;
                    SyncNowReply::Queued {
                        reason: "a sync is running; another will follow it".to_owned(),
                    }
                } else if let Some(until) = self.coord.in_cooldown(now) {
                    SyncNowReply::Refused {
                        reason: "synced a moment ago; try again in a few seconds".to_owned(),
                        retry_at: Some(until),
                    }
                } else {
                    self.begin_manual(now);
                    SyncNowReply::Started
                };
                self.events.push(UiEvent::SyncNow { reply });
            }
            Command::RetryFailed { local_id } => self.retry_failed(&local_id),
            Command::RetryAllFailed => {
                for id in self.failed.ids() {
                    self.retry_failed(&id);
                }
            }
            Command::DiscardFailed { local_id } => {
                if self.failed.take(&local_id).is_some() {
                    self.writes
                        .push(delete(StoreName::Failed, local_id.as_str()));
                    self.queue_changed = true;
                }
            }
            Command::TokenSet => {
                self.has_token = true;
                self.coord.token_epoch += 1;
                if self.meta.signed_out {
                    self.meta.signed_out = false;
                    self.meta_dirty = true;
                }
                // New settings (the shell saves URL and token together): a
                // server problem with the old ones says nothing about these.
                if self.meta.server_problem.take().is_some() {
                    self.meta_dirty = true;
                }
            }
            Command::TokenCleared => self.has_token = false,
            Command::PopupOpened => {
                let older_than = |at: Option<UnixMillis>, interval| {
                    at.is_none_or(|t| now.since(t) >= interval || t > now)
                };
                let offset = self.utc_offset_minutes;
                let pulled_today = self
                    .meta
                    .last_pull
                    .is_some_and(|t| day_of(t, offset) == day_of(now, offset));
                let stale = (older_than(self.meta.last_pull, PULL_INTERVAL) || !pulled_today)
                    && older_than(self.coord.last_pull_sent, PULL_RETRY_INTERVAL);
                if stale {
                    self.coord.pull_wanted = true;
                }
            }
        }
    }

    pub(super) fn begin_manual(&mut self, now: UnixMillis) {
        let until = now + SYNC_NOW_COOLDOWN;
        self.coord.cooldown_until = Some(until);
        self.timers.set(Timer::Cooldown, until);
        for e in self.queue.release_all(Release::ParkedAndBackingOff) {
            self.writes.push(put(Record::Queue(e)));
        }
        self.coord.pull_wanted = true;
        self.coord.force_once = true;
        if self.meta.server_problem.is_some() {
            self.coord.probe_wanted = true;
        }
    }

    pub(super) fn retry_failed(&mut self, id: &LocalId) {
        let Some(f) = self.failed.take(id) else {
            return;
        };
        self.writes.push(delete(StoreName::Failed, id.as_str()));
        let priority = if f.session.is_ended() {
            Priority::Ended
        } else {
            Priority::Started
        };
        if let Some(e) = self
            .queue
            .enqueue(f.session, priority, &mut self.meta.counter)
        {
            self.writes.push(put(Record::Queue(e)));
        }
        self.meta_dirty = true;
        self.queue_changed = true;
    }
}
