//! What the glue calls: the `Extension` class. Each method converts its
//! arguments, hands them to the [`Shell`] and converts the answer back;
//! errors leave as `Error` objects with `name` and `variant`.

use crate::connection;
use crate::error::{SettingsError, ShellError, to_js_error};
use crate::host::Host;
use crate::messages::{ContentMessage, PageMessage};
use crate::settings::{self, SettingsView};
use crate::shell::{FALLBACK_ALARM, Shell, WAKE_ALARM};
use crate::storage::to_js;
use serde::Serialize;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use worktime_core::{Command, Input, PageEvent, TabId};
use worktime_protocol::{LocalId, PrRef};

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

    /// The worker woke (`installed`, `startup`, or any start): nothing to
    /// tell the engine beyond what opening did, but the view is refreshed.
    pub async fn woke(&self, _reason: String) -> Result<(), JsValue> {
        self.shell.input(|now| Input::TimerDue { now }).await;
        Ok(())
    }

    /// `chrome.alarms.onAlarm`.
    pub async fn alarm(&self, name: String) -> Result<(), JsValue> {
        match name.as_str() {
            FALLBACK_ALARM => self.shell.input(|now| Input::AlarmFired { now }).await,
            WAKE_ALARM => self.shell.input(|now| Input::TimerDue { now }).await,
            _ => {}
        }
        Ok(())
    }

    /// `chrome.tabs.onRemoved`.
    #[wasm_bindgen(js_name = tabRemoved)]
    pub async fn tab_removed(&self, tab_id: f64) -> Result<(), JsValue> {
        let tab = TabId(tab_id as i64);
        self.shell.input(|now| Input::TabRemoved { now, tab }).await;
        Ok(())
    }

    /// `chrome.idle.onStateChanged`: `active`, `idle` or `locked`.
    #[wasm_bindgen(js_name = idleChanged)]
    pub async fn idle_changed(&self, state: String) -> Result<(), JsValue> {
        let idle = match state.as_str() {
            "active" => false,
            "idle" | "locked" => true,
            other => {
                return Err(ShellError::Message(format!("unknown idle state {other:?}")).into());
            }
        };
        self.shell.input(|now| Input::UserIdle { now, idle }).await;
        Ok(())
    }

    /// The worker's `online` / `offline` events: a hint about the network.
    pub async fn network(&self, online: bool) -> Result<(), JsValue> {
        self.shell.input(|now| Input::Network { now, online }).await;
        Ok(())
    }

    /// A checked message from the content script in tab `tab_id`.
    #[wasm_bindgen(js_name = contentMessage)]
    pub async fn content_message(&self, tab_id: f64, message: JsValue) -> Result<(), JsValue> {
        let tab = TabId(tab_id as i64);
        let (path, event, seq) = match decode::<ContentMessage>(message)? {
            ContentMessage::PageState { path, visible, seq } => (
                path,
                if visible {
                    PageEvent::Visible
                } else {
                    PageEvent::Hidden
                },
                seq,
            ),
            ContentMessage::PageLeft { path, seq } => (path, PageEvent::Closed, seq),
        };
        match PrRef::from_url_path(&path) {
            Some(pr) => {
                self.shell
                    .input(|now| Input::Page {
                        now,
                        tab,
                        pr,
                        event,
                        seq,
                    })
                    .await
            }
            // The tab navigated (inside GitHub) to a page that is not a pull
            // request: for the engine the tab no longer shows one.
            None => self.shell.input(|now| Input::TabRemoved { now, tab }).await,
        }
        Ok(())
    }

    /// A checked message from the popup or the options page; answers with
    /// what the page shows next.
    #[wasm_bindgen(js_name = pageMessage)]
    pub async fn page_message(&self, message: JsValue) -> Result<JsValue, JsValue> {
        let shell = &self.shell;
        match decode::<PageMessage>(message)? {
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
}

impl Extension {
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
