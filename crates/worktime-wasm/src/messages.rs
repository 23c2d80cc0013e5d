//! The messages the glue forwards, decoded into Rust types. `messages.js`
//! already refused anything malformed; decoding again here means the shell
//! never acts on a value it has not checked itself.
//!
//! A message is read as one flat set of [`Fields`] and then checked against
//! its `type`: which fields it must carry and that it carries no others.
//! That is what serde's internally tagged enums do too, but their buffering
//! cost the extension's wasm about 15 KB.

use serde::Deserialize;

/// From the content script in a github.com tab.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Fields")]
pub enum ContentMessage {
    /// The tab shows `path` and is visible or hidden.
    PageState {
        /// `location.pathname`.
        path: String,
        /// Whether the tab is in an incognito window (added by the glue from
        /// the sender's tab, never taken from the content script).
        incognito: bool,
        /// `document.visibilityState === "visible"`.
        visible: bool,
        /// The showing of the page (a random number per document load and
        /// back/forward-cache restore).
        doc: u64,
        /// Report order within the showing (1, 2, 3, …).
        seq: u64,
    },
    /// `pagehide`: the page that showed `path` is going away.
    PageLeft {
        /// The path the page showed.
        path: String,
        /// The showing of the page.
        doc: u64,
        /// Report order within the showing.
        seq: u64,
    },
}

/// From the extension's own popup and options pages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Fields")]
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
    /// The options page wants the timing preferences.
    GetTiming,
    /// The options page wants the privacy controls.
    GetPrivacy,
    /// Save the privacy controls.
    SavePrivacy {
        /// Time pages in incognito windows.
        time_incognito: bool,
        /// `owner/*` or `owner/repo` entries, one per line or comma.
        repos: String,
        /// The list holds the only repositories timed.
        only_these: bool,
    },
    /// Save the timing preferences.
    SaveTiming {
        /// Seconds without input that count as idle (checked by the shell).
        idle_seconds: u32,
    },
    /// Try `GET /api/v1/me` with these settings, saving nothing.
    TestConnection {
        /// Server URL as typed.
        server_url: String,
        /// Token as typed, or empty for the saved one.
        token: String,
    },
}

/// Every field a message of either family may carry (`serverUrl` in
/// camelCase, as the pages send it).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fields {
    /// The message's type, e.g. `page-state` or `save-settings`.
    #[serde(rename = "type")]
    kind: String,
    path: Option<String>,
    visible: Option<bool>,
    doc: Option<u64>,
    seq: Option<u64>,
    id: Option<String>,
    server_url: Option<String>,
    token: Option<String>,
    idle_seconds: Option<u32>,
    incognito: Option<bool>,
    time_incognito: Option<bool>,
    repos: Option<String>,
    only_these: Option<bool>,
}

impl Fields {
    /// Refuses any field a message of this type does not carry.
    fn only(&self, allowed: &[&str]) -> Result<(), String> {
        let present = [
            ("path", self.path.is_some()),
            ("visible", self.visible.is_some()),
            ("doc", self.doc.is_some()),
            ("seq", self.seq.is_some()),
            ("id", self.id.is_some()),
            ("serverUrl", self.server_url.is_some()),
            ("token", self.token.is_some()),
            ("idleSeconds", self.idle_seconds.is_some()),
            ("incognito", self.incognito.is_some()),
            ("timeIncognito", self.time_incognito.is_some()),
            ("repos", self.repos.is_some()),
            ("onlyThese", self.only_these.is_some()),
        ];
        match present
            .iter()
            .find(|(name, here)| *here && !allowed.contains(name))
        {
            Some((name, _)) => Err(format!("unknown field `{name}` in `{}`", self.kind)),
            None => Ok(()),
        }
    }
}

/// The value of a field the message's type requires.
fn need<T>(value: Option<T>, name: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing field `{name}`"))
}

fn unknown_type(kind: &str) -> String {
    format!("unknown message type `{kind}`")
}

impl TryFrom<Fields> for ContentMessage {
    type Error = String;

    fn try_from(f: Fields) -> Result<Self, String> {
        match f.kind.as_str() {
            "page-state" => {
                f.only(&["path", "incognito", "visible", "doc", "seq"])?;
                Ok(ContentMessage::PageState {
                    path: need(f.path, "path")?,
                    incognito: need(f.incognito, "incognito")?,
                    visible: need(f.visible, "visible")?,
                    doc: need(f.doc, "doc")?,
                    seq: need(f.seq, "seq")?,
                })
            }
            "page-left" => {
                f.only(&["path", "doc", "seq"])?;
                Ok(ContentMessage::PageLeft {
                    path: need(f.path, "path")?,
                    doc: need(f.doc, "doc")?,
                    seq: need(f.seq, "seq")?,
                })
            }
            other => Err(unknown_type(other)),
        }
    }
}

impl TryFrom<Fields> for PageMessage {
    type Error = String;

    fn try_from(f: Fields) -> Result<Self, String> {
        let settings = ["serverUrl", "token"];
        let (allowed, message): (&[&str], _) = match f.kind.as_str() {
            "get-status" => (&[], PageMessage::GetStatus),
            "sync-now" => (&[], PageMessage::SyncNow),
            "get-settings" => (&[], PageMessage::GetSettings),
            "get-timing" => (&[], PageMessage::GetTiming),
            "get-privacy" => (&[], PageMessage::GetPrivacy),
            "save-privacy" => (
                &["timeIncognito", "repos", "onlyThese"],
                PageMessage::SavePrivacy {
                    time_incognito: need(f.time_incognito, "timeIncognito")?,
                    repos: need(f.repos.clone(), "repos")?,
                    only_these: need(f.only_these, "onlyThese")?,
                },
            ),
            "save-timing" => (
                &["idleSeconds"],
                PageMessage::SaveTiming {
                    idle_seconds: need(f.idle_seconds, "idleSeconds")?,
                },
            ),
            "retry-failed" => (
                &["id"],
                PageMessage::RetryFailed {
                    id: need(f.id.clone(), "id")?,
                },
            ),
            "discard-failed" => (
                &["id"],
                PageMessage::DiscardFailed {
                    id: need(f.id.clone(), "id")?,
                },
            ),
            "save-settings" => (
                &settings,
                PageMessage::SaveSettings {
                    server_url: need(f.server_url.clone(), "serverUrl")?,
                    token: need(f.token.clone(), "token")?,
                },
            ),
            "test-connection" => (
                &settings,
                PageMessage::TestConnection {
                    server_url: need(f.server_url.clone(), "serverUrl")?,
                    token: need(f.token.clone(), "token")?,
                },
            ),
            other => return Err(unknown_type(other)),
        };
        f.only(allowed)?;
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(json: &str) -> Result<ContentMessage, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    fn page(json: &str) -> Result<PageMessage, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    fn content_err(json: &str) -> Option<String> {
        content(json).err()
    }

    fn page_err(json: &str) -> Option<String> {
        page(json).err()
    }

    #[test]
    fn content_messages_decode_with_exactly_their_fields() {
        assert_eq!(
            content(
                r#"{"type":"page-state","path":"/o/r/pull/1","incognito":false,"visible":true,"doc":3,"seq":7}"#
            ),
            Ok(ContentMessage::PageState {
                path: "/o/r/pull/1".into(),
                incognito: false,
                visible: true,
                doc: 3,
                seq: 7
            })
        );
        assert_eq!(
            content(r#"{"type":"page-left","path":"/o/r/pull/1","doc":3,"seq":8}"#),
            Ok(ContentMessage::PageLeft {
                path: "/o/r/pull/1".into(),
                doc: 3,
                seq: 8
            })
        );
    }

    #[test]
    fn page_messages_decode_with_exactly_their_fields() {
        for (json, want) in [
            (r#"{"type":"get-status"}"#, PageMessage::GetStatus),
            (r#"{"type":"sync-now"}"#, PageMessage::SyncNow),
            (r#"{"type":"get-settings"}"#, PageMessage::GetSettings),
            (r#"{"type":"get-timing"}"#, PageMessage::GetTiming),
            (r#"{"type":"get-privacy"}"#, PageMessage::GetPrivacy),
            (
                r#"{"type":"save-privacy","timeIncognito":false,"repos":"a/*","onlyThese":true}"#,
                PageMessage::SavePrivacy {
                    time_incognito: false,
                    repos: "a/*".into(),
                    only_these: true,
                },
            ),
            (
                r#"{"type":"save-timing","idleSeconds":180}"#,
                PageMessage::SaveTiming { idle_seconds: 180 },
            ),
            (
                r#"{"type":"retry-failed","id":"abc"}"#,
                PageMessage::RetryFailed { id: "abc".into() },
            ),
            (
                r#"{"type":"discard-failed","id":"abc"}"#,
                PageMessage::DiscardFailed { id: "abc".into() },
            ),
            (
                r#"{"type":"save-settings","serverUrl":"https://a","token":"t"}"#,
                PageMessage::SaveSettings {
                    server_url: "https://a".into(),
                    token: "t".into(),
                },
            ),
            (
                r#"{"token":"","serverUrl":"","type":"test-connection"}"#,
                PageMessage::TestConnection {
                    server_url: String::new(),
                    token: String::new(),
                },
            ),
        ] {
            assert_eq!(page(json), Ok(want), "{json}");
        }
    }

    #[test]
    fn a_missing_extra_or_mistyped_field_or_unknown_type_is_refused_with_its_name() {
        let refused = [
            (
                content_err(
                    r#"{"type":"page-state","path":"/p","incognito":false,"doc":1,"seq":1}"#,
                ),
                "visible",
            ),
            (
                content_err(r#"{"type":"page-state","path":"/p","visible":true,"doc":1,"seq":1}"#),
                "incognito",
            ),
            (
                content_err(
                    r#"{"type":"page-state","path":"/p","incognito":true,"visible":true,"seq":1}"#,
                ),
                "doc",
            ),
            (
                content_err(r#"{"type":"page-left","path":"/p","doc":1,"seq":1,"visible":true}"#),
                "visible",
            ),
            (
                content_err(r#"{"type":"page-left","path":"/p","doc":1,"seq":-1}"#),
                "-1",
            ),
            (
                content_err(r#"{"type":"page-left","path":"/p","doc":1,"seq":1,"tab":3}"#),
                "tab",
            ),
            (content_err(r#"{"type":"get-status"}"#), "get-status"),
            (content_err(r#"{"path":"/p","seq":1}"#), "type"),
            (
                page_err(r#"{"type":"page-left","path":"/p","seq":1}"#),
                "page-left",
            ),
            (page_err(r#"{"type":"sync-now","id":"x"}"#), "id"),
            (page_err(r#"{"type":"retry-failed"}"#), "id"),
            (page_err(r#"{"type":"retry-failed","id":5}"#), "5"),
            (
                page_err(r#"{"type":"save-settings","serverUrl":"https://a"}"#),
                "token",
            ),
            (
                page_err(r#"{"type":"get-settings","server_url":"x"}"#),
                "server_url",
            ),
            (page_err(r#""get-status""#), "string"),
            (page_err(r#"{"type":"save-timing"}"#), "idleSeconds"),
            (page_err(r#"{"type":"save-timing","idleSeconds":-5}"#), "-5"),
            (
                page_err(r#"{"type":"get-timing","idleSeconds":60}"#),
                "idleSeconds",
            ),
        ];
        for (result, named) in refused {
            let Some(err) = result else {
                panic!("accepted, though it should be refused for {named:?}")
            };
            assert!(err.contains(named), "{err:?} should name {named:?}");
        }
    }
}
