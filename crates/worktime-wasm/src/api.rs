//! What the glue calls: the `Extension` class, opened once, with one typed
//! export per kind of input — a start, an alarm, a removed or updated tab,
//! an idle change, the network, a page report, a command from the popup or
//! options page. Values cross through `serde-wasm-bindgen`; each export
//! converts its input, hands it to the [`Shell`] and converts the answer
//! back. Errors leave as `Error` objects with `name` and `variant`.

use crate::connection;
use crate::convert;
use crate::error::{SettingsError, ShellError, to_js_error};
use crate::host::Host;
use crate::messages::{ContentMessage, PageMessage, decode, decode_tagged};
use crate::settings::{self, SettingsView};
use crate::shell::{FALLBACK_ALARM, Shell, WAKE_ALARM};
use crate::timing::{IdleState, IdleThreshold, Timing};
use serde::Serialize;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use worktime_core::privacy::Privacy;
use worktime_core::{Command, DocId, Input, PageEvent, TabId};
use worktime_protocol::LocalId;

/// The started shell, as the service worker holds it.
#[wasm_bindgen]
pub struct Extension {
    shell: Rc<Shell>,
}

fn js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    convert::to_js(value).map_err(|reason| {
        ShellError::from(crate::error::StorageError::Encode {
            store: "reply".into(),
            reason,
        })
        .into()
    })
}

#[wasm_bindgen]
impl Extension {
    /// Opens storage and starts the engine. `db_name` is for tests; the
    /// extension uses the default database.
    pub async fn open(host: Host, db_name: Option<String>) -> Result<Extension, JsValue> {
        let shell = Shell::open(host, db_name.as_deref()).await?;
        Ok(Extension { shell })
    }

    /// The worker started or woke (installed, browser startup, any start):
    /// nothing to tell the engine beyond what opening did, but due timers run
    /// and the view is refreshed.
    pub async fn woke(&self) {
        self.shell.input(|now| Input::TimerDue { now }).await
    }

    /// `chrome.alarms.onAlarm`: the fallback alarm or the far wake-up; other
    /// names are not ours and change nothing.
    pub async fn alarm(&self, name: String) {
        match name.as_str() {
            FALLBACK_ALARM => self.shell.input(|now| Input::AlarmFired { now }).await,
            WAKE_ALARM => self.shell.input(|now| Input::TimerDue { now }).await,
            _ => {}
        }
    }

    /// `chrome.tabs.onRemoved`.
    #[wasm_bindgen(js_name = tabRemoved)]
    pub async fn tab_removed(&self, tab: u32) {
        let tab = TabId(i64::from(tab));
        self.shell.input(|now| Input::TabRemoved { now, tab }).await
    }

    /// `chrome.tabs.onUpdated` (a load started or the URL changed): `url` is
    /// the tab's URL, or `None` when the extension may not see it.
    #[wasm_bindgen(js_name = tabUpdated)]
    pub async fn tab_updated(&self, tab: u32, url: Option<String>) {
        let tab = TabId(i64::from(tab));
        // A github.com page has the content script, which reports what it
        // shows; any other page is one the tab left GitHub for (its URL is
        // hidden from us without the `tabs` permission, and we need not know
        // it). A tab no session times is not worth a turn.
        if self.shell.times_tab(tab)
            && let Some(input) = worktime_core::page::tab_updated_input(tab, url.as_deref())
        {
            self.shell.input(input).await
        }
    }

    /// `chrome.idle.onStateChanged`: `active`, `idle` or `locked`.
    pub async fn idle(&self, state: JsValue) -> Result<(), JsValue> {
        let state: IdleState = decode(state)?;
        // Chrome says `idle` once the threshold passed without input: the
        // user's last input was that long ago.
        let threshold = self.shell.timing().idle_seconds;
        self.shell.input(|now| state.input(now, threshold)).await;
        Ok(())
    }

    /// The worker's `online` / `offline` events.
    pub async fn network(&self, online: bool) {
        self.shell.input(|now| Input::Network { now, online }).await
    }

    /// A message from the content script in tab `tab` (the glue checked the
    /// sender; `incognito` is the sender tab's, never the page's word).
    #[wasm_bindgen(js_name = pageReport)]
    pub async fn page_report(
        &self,
        message: JsValue,
        tab: u32,
        incognito: bool,
    ) -> Result<(), JsValue> {
        let message: ContentMessage = decode_tagged(message)?;
        self.content_message(TabId(i64::from(tab)), incognito, message)
            .await;
        Ok(())
    }

    /// A message from the popup or the options page (the glue checked the
    /// sender); answers with what the page shows next.
    pub async fn command(&self, message: JsValue) -> Result<JsValue, JsValue> {
        self.page_message(decode_tagged(message)?).await
    }
}

impl Extension {
    /// A checked message from the content script in tab `tab`.
    async fn content_message(&self, tab: TabId, incognito: bool, message: ContentMessage) {
        let (path, event, doc, seq) = match message {
            ContentMessage::PageState {
                path,
                visible,
                doc,
                seq,
            } => (
                path,
                if visible {
                    PageEvent::Visible
                } else {
                    PageEvent::Hidden
                },
                doc,
                seq,
            ),
            ContentMessage::PageLeft { path, doc, seq } => (path, PageEvent::Closed, doc, seq),
        };
        // The one mapping the simulator drives too (worktime_core::page).
        // A page the user asked never to time is, for the engine, no pull
        // request: it starts nothing and leaves no trace. (A page-left
        // carries no incognito flag: it only ends what a report started.)
        let input =
            worktime_core::page::content_input(tab, path.as_str(), event, DocId(doc), seq, |pr| {
                self.shell.may_time(pr, incognito)
            });
        if let Some(input) = input {
            self.shell.input(input).await
        }
    }

    /// A checked message from the popup or the options page; answers with
    /// what the page shows next.
    async fn page_message(&self, message: PageMessage) -> Result<JsValue, JsValue> {
        let shell = &self.shell;
        match message {
            PageMessage::GetStatus => {
                self.engine_command(Command::PopupOpened).await;
                self.status_reply(None)
            }
            PageMessage::SyncNow => {
                self.engine_command(Command::SyncNow).await;
                let reply = shell.take_sync_now_reply();
                self.status_reply(reply)
            }
            PageMessage::RetryFailed { id } => {
                let local_id = parse_id(id.as_str())?;
                self.engine_command(Command::RetryFailed { local_id }).await;
                self.status_reply(None)
            }
            PageMessage::RetryAllFailed => {
                self.engine_command(Command::RetryAllFailed).await;
                self.status_reply(None)
            }
            PageMessage::DiscardFailed { id } => {
                let local_id = parse_id(id.as_str())?;
                self.engine_command(Command::DiscardFailed { local_id })
                    .await;
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
                    repos: Privacy::parse_list(repos.as_str())
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
                let next = settings::resolve(server_url.as_str(), token.as_str(), saved.as_ref())
                    .map_err(|e| to_js_error(&e))?;
                shell
                    .save_settings(next)
                    .await
                    .map_err(|e| to_js_error(&e))?;
                js(&SettingsView::of(shell.settings().as_ref()))
            }
            PageMessage::Disconnect => {
                shell.disconnect().await.map_err(|e| to_js_error(&e))?;
                js(&SettingsView::of(shell.settings().as_ref()))
            }
            PageMessage::TestConnection { server_url, token } => {
                let saved = shell.settings();
                let candidate = if server_url.as_str().trim().is_empty() {
                    saved.ok_or(SettingsError::NotConfigured)
                } else {
                    settings::resolve(server_url.as_str(), token.as_str(), saved.as_ref())
                }
                .map_err(|e| to_js_error(&e))?;
                let who = connection::test(&candidate)
                    .await
                    .map_err(|e| to_js_error(&e))?;
                js(&who)
            }
        }
    }

    async fn engine_command(&self, command: Command) {
        self.shell
            .input(|now| Input::Command { now, command })
            .await;
    }

    fn status_reply(
        &self,
        sync_now: Option<worktime_core::output::SyncNowReply>,
    ) -> Result<JsValue, JsValue> {
        /// The popup's next view and, after "Sync now", the engine's answer
        /// and the popup's words for it.
        #[derive(Serialize)]
        struct Reply {
            view: crate::view::PopupView,
            #[serde(skip_serializing_if = "Option::is_none")]
            sync_now: Option<worktime_core::output::SyncNowReply>,
            #[serde(skip_serializing_if = "Option::is_none")]
            sync_now_words: Option<String>,
        }
        let now = crate::clock::now();
        js(&Reply {
            view: self.shell.popup_view(now),
            sync_now_words: sync_now.as_ref().and_then(|reply| reply.words(now)),
            sync_now,
        })
    }
}

fn parse_id(id: &str) -> Result<LocalId, JsValue> {
    LocalId::parse(id).map_err(|e| ShellError::Message(format!("id: {e}")).into())
}
