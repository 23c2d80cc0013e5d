//! The messages the glue forwards, decoded into Rust types. `messages.js`
//! already refused anything malformed; decoding again here means the shell
//! never acts on a value it has not checked itself.

use serde::Deserialize;

/// From the content script in a github.com tab.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ContentMessage {
    /// The tab shows `path` and is visible or hidden.
    PageState {
        /// `location.pathname`.
        path: String,
        /// `document.visibilityState === "visible"`.
        visible: bool,
        /// Report order within the tab (µs since the epoch).
        seq: u64,
    },
    /// `pagehide`: the page that showed `path` is going away.
    PageLeft {
        /// The path the page showed.
        path: String,
        /// Report order within the tab (µs since the epoch).
        seq: u64,
    },
}

/// From the extension's own popup and options pages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum PageMessage {
    /// The popup opened or wants a fresh view.
    GetStatus,
    /// The Sync-now button.
    SyncNow,
    /// Retry one failed item.
    RetryFailed {
        /// Its local id.
        id: String,
    },
    /// Discard one failed item.
    DiscardFailed {
        /// Its local id.
        id: String,
    },
    /// The options page opened.
    GetSettings,
    /// Save server URL and token (an empty token keeps the saved one).
    SaveSettings {
        /// Server URL as typed.
        server_url: String,
        /// Token as typed, or empty.
        token: String,
    },
    /// Try `GET /api/v1/me` with these settings, saving nothing.
    TestConnection {
        /// Server URL as typed.
        server_url: String,
        /// Token as typed, or empty for the saved one.
        token: String,
    },
}
