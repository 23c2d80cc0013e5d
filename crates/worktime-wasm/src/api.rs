//! What the glue calls: the `Extension` class, opened once and then handed
//! every event through [`Extension::handle`]. It converts the event, hands it
//! to the [`Shell`] and converts the answer back; errors leave as `Error`
//! objects with `name` and `variant`.

use crate::connection;
use crate::error::{SettingsError, ShellError, to_js_error};
use crate::host::Host;
use crate::messages::{ContentMessage, PageMessage};
use crate::settings::{self, SettingsView};
use crate::shell::{FALLBACK_ALARM, Shell, WAKE_ALARM};
use crate::storage::to_js;
use crate::timing::{IdleState, IdleThreshold, Timing};
use serde::Serialize;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use worktime_core::privacy::Privacy;
use worktime_core::{Command, DocId, Input, PageEvent, TabId};
use worktime_protocol::LocalId;
use worktime_protocol::page::pull_request_of_path;

/// The started shell, as the service worker holds it.
#[wasm_bindgen]
pub struct Extension {
    shell: Rc<Shell>,
}

fn js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    to_js(value, "reply").map_err(|e| ShellError::from(e).into())
}

fn decode<T: serde::de::DeserializeOwned>(value: JsValue) -> Result<T, JsValue> {
    crate::json::from_js(&value).map_err(|e| ShellError::Message(e).into())
}

#[wasm_bindgen]
impl Extension {
    /// Opens storage and starts the engine. `db_name` is for tests; the
    /// extension uses the default database.
    pub async fn open(host: Host, db_name: Option<String>) -> Result<Extension, JsValue> {
        let shell = Shell::open(host, db_name.as_deref()).await?;
        Ok(Extension { shell })
    }

    /// Every event the glue forwards, through this one entry point. `event`
    /// names it; `detail` and `tab` carry its data:
    ///
    /// | `event` | `detail` | `tab` |
    /// | --- | --- | --- |
    /// | `woke` (installed, startup, any start) | — | — |
    /// | `alarm` (`chrome.alarms.onAlarm`) | the alarm's name | — |
    /// | `tab-removed` (`chrome.tabs.onRemoved`) | — | the tab's id |
    /// | `tab-updated` (`chrome.tabs.onUpdated`, status `loading`) | the tab's URL, or `null` when the extension may not see it | the tab's id |
    /// | `idle` (`chrome.idle.onStateChanged`) | `active`, `idle` or `locked` | — |
    /// | `network` (`online` / `offline`) | `true` or `false` | — |
    /// | `content` | the checked content-script message | its tab's id |
    /// | `page` | the checked popup or options message | — |
    ///
    /// Answers with what the page shows next for `page`, `null` otherwise.
    /// One async export rather than one per event: each export carries its
    /// own future state machine and glue, which the size budget cannot afford.
    pub async fn handle(
        &self,
        event: String,
        detail: JsValue,
        tab: Option<f64>,
    ) -> Result<JsValue, JsValue> {
        let shell = &self.shell;
        let tab = || {
            tab.map(|id| TabId(id as i64))
                .ok_or_else(|| malformed(format!("{event} without a tab")))
        };
        match event.as_str() {
            // Nothing to tell the engine beyond what opening did, but the
            // view is refreshed.
            "woke" => shell.input(|now| Input::TimerDue { now }).await,
            "alarm" => match detail.as_string().as_deref() {
                Some(FALLBACK_ALARM) => shell.input(|now| Input::AlarmFired { now }).await,
                Some(WAKE_ALARM) => shell.input(|now| Input::TimerDue { now }).await,
                _ => {}
            },
            "tab-removed" => {
                let tab = tab()?;
                shell.input(|now| Input::TabRemoved { now, tab }).await
            }
            "tab-updated" => {
                let tab = tab()?;
                // A github.com page has the content script, which reports
                // what it shows; any other page is one the tab left GitHub
                // for (its URL is hidden from us without the `tabs`
                // permission, and we need not know it). A tab no session
                // times is not worth a turn.
                let on_github = detail
                    .as_string()
                    .is_some_and(|url| url.starts_with("https://github.com/"));
                if !on_github && shell.times_tab(tab) {
                    shell
                        .input(|now| Input::LeftPullRequest {
                            now,
                            tab,
                            report: None,
                        })
                        .await
                }
            }
            "idle" => {
                let Some(state) = detail.as_string().as_deref().and_then(IdleState::parse) else {
                    let state = crate::error::js_text(&detail);
                    return Err(malformed(format!("unknown idle state {state:?}")));
                };
                let threshold = shell.timing().idle_seconds;
                shell.input(|now| state.input(now, threshold)).await
            }
            "network" => {
                let online = detail
                    .as_bool()
                    .ok_or_else(|| malformed("network without online".into()))?;
                shell.input(|now| Input::Network { now, online }).await
            }
            "content" => {
                let tab = tab()?;
                self.content_message(tab, decode(detail)?).await
            }
            "page" => return self.page_message(decode(detail)?).await,
            other => return Err(malformed(format!("unknown event {other:?}"))),
        }
        Ok(JsValue::NULL)
    }
}

fn malformed(message: String) -> JsValue {
    ShellError::Message(message).into()
}

impl Extension {
    /// A checked message from the content script in tab `tab`.
    async fn content_message(&self, tab: TabId, message: ContentMessage) {
        let (path, incognito, event, doc, seq) = match message {
            ContentMessage::PageState {
                path,
                incognito,
                visible,
                doc,
                seq,
            } => (
                path,
                incognito,
                if visible {
                    PageEvent::Visible
                } else {
                    PageEvent::Hidden
                },
                doc,
                seq,
            ),
            ContentMessage::PageLeft { path, doc, seq } => {
                (path, false, PageEvent::Closed, doc, seq)
            }
        };
        let doc = DocId(doc);
        // A page the user asked never to time is, for the engine, no pull
        // request: it starts nothing and leaves no trace. (A page-left
        // carries no incognito flag: it only ends what a report started.)
        let pr = pull_request_of_path(&path)
            .filter(|pr| event == PageEvent::Closed || self.shell.may_time(pr, incognito));
        match (pr, event) {
            (Some(pr), _) => {
                self.shell
                    .input(|now| Input::Page {
                        now,
                        tab,
                        pr,
                        event,
                        doc,
                        seq,
                    })
                    .await
            }
            // The tab navigated (inside GitHub) to a page that is not a pull
            // request: it leaves its PR, and stays a tab that may show one.
            (None, PageEvent::Visible | PageEvent::Hidden) => {
                self.shell
                    .input(|now| Input::LeftPullRequest {
                        now,
                        tab,
                        report: Some((doc, seq)),
                    })
                    .await
            }
            // A page that was no pull request went away: nothing to end.
            (None, PageEvent::Closed) => {}
        }
    }

    /// A checked message from the popup or the options page; answers with
    /// what the page shows next.
    async fn page_message(&self, message: PageMessage) -> Result<JsValue, JsValue> {
        let shell = &self.shell;
        match message {
            PageMessage::GetStatus => {
                self.command(Command::PopupOpened).await;
                self.status_reply(None)
            }
            PageMessage::SyncNow => {
                self.command(Command::SyncNow).await;
                let reply = shell.take_sync_now_reply();
                self.status_reply(reply)
            }
            PageMessage::RetryFailed { id } => {
                let local_id = parse_id(&id)?;
                self.command(Command::RetryFailed { local_id }).await;
                self.status_reply(None)
            }
            PageMessage::DiscardFailed { id } => {
                let local_id = parse_id(&id)?;
                self.command(Command::DiscardFailed { local_id }).await;
                self.status_reply(None)
            }
            PageMessage::GetSettings => js(&SettingsView::of(shell.settings().as_ref())),
            PageMessage::GetTiming => js(&shell.timing()),
            PageMessage::GetPrivacy => js(&shell.privacy()),
            PageMessage::SavePrivacy {
                time_incognito,
                repos,
                only_these,
            } => {
                let privacy = Privacy {
                    time_incognito,
                    repos: Privacy::parse_list(&repos)
                        .map_err(|e| to_js_error(&SettingsError::from(e)))?,
                    only_these,
                };
                shell
                    .save_privacy(privacy)
                    .await
                    .map_err(|e| to_js_error(&e))?;
                js(&shell.privacy())
            }
            PageMessage::SaveTiming { idle_seconds } => {
                let timing = Timing {
                    idle_seconds: IdleThreshold::from_secs(idle_seconds)
                        .map_err(|e| to_js_error(&e))?,
                };
                shell
                    .save_timing(timing)
                    .await
                    .map_err(|e| to_js_error(&e))?;
                js(&shell.timing())
            }
            PageMessage::SaveSettings { server_url, token } => {
                let saved = shell.settings();
                let next = settings::resolve(&server_url, &token, saved.as_ref())
                    .map_err(|e| to_js_error(&e))?;
                shell
                    .save_settings(next)
                    .await
                    .map_err(|e| to_js_error(&e))?;
                js(&SettingsView::of(shell.settings().as_ref()))
            }
            PageMessage::TestConnection { server_url, token } => {
                let saved = shell.settings();
                let candidate = if server_url.trim().is_empty() {
                    saved.ok_or(SettingsError::NotConfigured)
                } else {
                    settings::resolve(&server_url, &token, saved.as_ref())
                }
                .map_err(|e| to_js_error(&e))?;
                let who = connection::test(&candidate)
                    .await
                    .map_err(|e| to_js_error(&e))?;
                js(&who)
            }
        }
    }

    async fn command(&self, command: Command) {
        self.shell
            .input(|now| Input::Command { now, command })
            .await;
    }

    fn status_reply(
        &self,
        sync_now: Option<worktime_core::output::SyncNowReply>,
    ) -> Result<JsValue, JsValue> {
        #[derive(Serialize)]
        struct Reply {
            view: crate::view::PopupView,
            #[serde(skip_serializing_if = "Option::is_none")]
            sync_now: Option<worktime_core::output::SyncNowReply>,
        }
        js(&Reply {
            view: self.shell.popup_view(crate::clock::now()),
            sync_now,
        })
    }
}

fn parse_id(id: &str) -> Result<LocalId, JsValue> {
    LocalId::parse(id).map_err(|e| ShellError::Message(e.to_string()).into())
}
