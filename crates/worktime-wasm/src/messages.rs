//! The messages the glue forwards, as serde-tagged enums decoded once, here,
//! through `serde-wasm-bindgen`. `messages.js` checks only what only it can
//! see (who sent the message); every rule about a message's shape — its
//! `type`, which fields it carries and their types and bounds — lives here.
//!
//! The enums are plain serde derives in the default, externally tagged
//! form; [`crate::tagged`] reads the glue's `{type, ...fields}` objects into
//! them (without serde's buffering for `#[serde(tag = "type")]`).

use crate::error::ShellError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

/// Longest URL path a content script may report.
pub const MAX_PATH: usize = 2048;
/// Longest server URL, token or repository list the options page may submit.
pub const MAX_SETTING: usize = 4096;

/// A string of at most `MAX` bytes; longer is refused while decoding.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Bounded<const MAX: usize>(String);

impl<const MAX: usize> Bounded<MAX> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> From<Bounded<MAX>> for String {
    fn from(value: Bounded<MAX>) -> String {
        value.0
    }
}

impl<const MAX: usize> TryFrom<String> for Bounded<MAX> {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if text.len() > MAX {
            Err(format!("{} bytes, more than the {MAX} allowed", text.len()))
        } else {
            Ok(Bounded(text))
        }
    }
}

/// A path reported by the content script.
pub type PagePath = Bounded<MAX_PATH>;
/// A value typed into the options page.
pub type SettingText = Bounded<MAX_SETTING>;

/// From the content script in a github.com tab.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum ContentMessage {
    /// The tab shows `path` and is visible or hidden.
    PageState {
        /// `location.pathname`.
        path: PagePath,
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
        path: PagePath,
        /// The showing of the page.
        doc: u64,
        /// Report order within the showing.
        seq: u64,
    },
}

/// From the extension's own popup and options pages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
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
        id: SettingText,
    },
    /// Retry every failed item.
    RetryAllFailed,
    /// Discard one failed item.
    DiscardFailed {
        /// Its local id.
        id: SettingText,
    },
    /// The options page opened.
    GetSettings,
    /// Save server URL and token (an empty token keeps the saved one).
    SaveSettings {
        /// Server URL as typed.
        server_url: SettingText,
        /// Token as typed, or empty.
        token: SettingText,
    },
    /// Forget the saved token (the server URL stays).
    Disconnect,
    /// The options page wants the timing preferences.
    GetTiming,
    /// The options page wants the privacy controls.
    GetPrivacy,
    /// Save the privacy controls.
    SavePrivacy {
        /// Time pages in incognito windows.
        time_incognito: bool,
        /// `owner/*` or `owner/repo` entries, one per line or comma.
        repos: SettingText,
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
        server_url: SettingText,
        /// Token as typed, or empty for the saved one.
        token: SettingText,
    },
}

/// Decodes a value the glue passes (an idle state) into `T`; a value that
/// does not fit is a [`ShellError::Message`] naming what is wrong.
pub fn decode<T: DeserializeOwned>(value: JsValue) -> Result<T, ShellError> {
    crate::convert::from_js(value).map_err(ShellError::Message)
}

/// Decodes a message `{type, ...fields}` into the enum `T` whose variants
/// are its types; anything that is not such an object, or whose type or
/// fields do not fit, is a [`ShellError::Message`] naming what is wrong.
pub fn decode_tagged<T: DeserializeOwned>(message: JsValue) -> Result<T, ShellError> {
    crate::tagged::from_tagged(message).map_err(ShellError::Message)
}

#[cfg(test)]
mod tests {
    //! The serde rules, exercised natively through `serde_json` on the
    //! externally tagged form (the browser path, `crate::tagged` included,
    //! is foreign_messages.test.js's).
    use super::*;
    use crate::timing::IdleState;

    /// What `externally_tagged` does, on JSON text.
    fn tagged<T: DeserializeOwned>(json: &str) -> Result<T, String> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let serde_json::Value::Object(mut fields) = value else {
            return Err(format!("invalid type: {value}, expected a message object"));
        };
        let Some(serde_json::Value::String(tag)) = fields.remove("type") else {
            return Err("missing field `type` (a string)".to_owned());
        };
        // A struct variant with its fields, or (with none) a unit variant.
        let empty = fields.is_empty();
        serde_json::from_value(serde_json::json!({ &tag: fields }))
            .or_else(|e| match empty {
                true => serde_json::from_value(serde_json::Value::String(tag)).map_err(|_| e),
                false => Err(e),
            })
            .map_err(|e| e.to_string())
    }

    fn content(json: &str) -> Result<ContentMessage, String> {
        tagged(json)
    }

    fn page(json: &str) -> Result<PageMessage, String> {
        tagged(json)
    }

    fn content_err(json: &str) -> Option<String> {
        content(json).err()
    }

    fn page_err(json: &str) -> Option<String> {
        page(json).err()
    }

    fn text<const MAX: usize>(s: &str) -> Bounded<MAX> {
        Bounded(s.to_owned())
    }

    #[test]
    fn content_messages_decode_with_exactly_their_fields() {
        assert_eq!(
            content(r#"{"type":"page-state","path":"/o/r/pull/1","visible":true,"doc":3,"seq":7}"#),
            Ok(ContentMessage::PageState {
                path: text("/o/r/pull/1"),
                visible: true,
                doc: 3,
                seq: 7
            })
        );
        assert_eq!(
            content(r#"{"type":"page-left","path":"/o/r/pull/1","doc":3,"seq":8}"#),
            Ok(ContentMessage::PageLeft {
                path: text("/o/r/pull/1"),
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
            (
                r#"{"type":"retry-all-failed"}"#,
                PageMessage::RetryAllFailed {},
            ),
            (r#"{"type":"disconnect"}"#, PageMessage::Disconnect),
            (r#"{"type":"get-settings"}"#, PageMessage::GetSettings),
            (r#"{"type":"get-timing"}"#, PageMessage::GetTiming),
            (r#"{"type":"get-privacy"}"#, PageMessage::GetPrivacy),
            (
                r#"{"type":"save-privacy","timeIncognito":false,"repos":"a/*","onlyThese":true}"#,
                PageMessage::SavePrivacy {
                    time_incognito: false,
                    repos: text("a/*"),
                    only_these: true,
                },
            ),
            (
                r#"{"type":"save-timing","idleSeconds":180}"#,
                PageMessage::SaveTiming { idle_seconds: 180 },
            ),
            (
                r#"{"type":"retry-failed","id":"abc"}"#,
                PageMessage::RetryFailed { id: text("abc") },
            ),
            (
                r#"{"type":"discard-failed","id":"abc"}"#,
                PageMessage::DiscardFailed { id: text("abc") },
            ),
            (
                r#"{"type":"save-settings","serverUrl":"https://a","token":"t"}"#,
                PageMessage::SaveSettings {
                    server_url: text("https://a"),
                    token: text("t"),
                },
            ),
            (
                r#"{"token":"","serverUrl":"","type":"test-connection"}"#,
                PageMessage::TestConnection {
                    server_url: text(""),
                    token: text(""),
                },
            ),
        ] {
            assert_eq!(page(json), Ok(want), "{json}");
        }
    }

    #[test]
    fn a_missing_extra_mistyped_or_oversized_field_or_unknown_type_is_refused_with_its_name() {
        let long = "x".repeat(MAX_PATH + 1);
        let too_long = format!(r#"{{"type":"page-left","path":"{long}","doc":1,"seq":1}}"#);
        let refused = [
            (
                content_err(r#"{"type":"page-state","path":"/p","doc":1,"seq":1}"#),
                "visible",
            ),
            (
                content_err(r#"{"type":"page-state","path":"/p","visible":true,"seq":1}"#),
                "doc",
            ),
            (
                content_err(
                    r#"{"type":"page-state","path":"/p","incognito":true,"visible":true,"doc":1,"seq":1}"#,
                ),
                "incognito",
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
                content_err(r#"{"type":"page-left","path":"/p","doc":"7","seq":1}"#),
                "\"7\"",
            ),
            (content_err(&too_long), "2049 bytes"),
            (content_err(r#"{"type":"get-status"}"#), "get-status"),
            (content_err(r#"{"type":"sync-now"}"#), "sync-now"),
            (content_err(r#"{"path":"/p","seq":1}"#), "type"),
            (
                page_err(r#"{"type":"page-left","path":"/p","seq":1}"#),
                "page-left",
            ),
            (page_err(r#"{"type":"rm-rf"}"#), "rm-rf"),
            // A field on a message that has none: serde_json says "expected
            // unit"; in the browser `crate::tagged` names the field
            // (foreign_messages.test.js).
            (page_err(r#"{"type":"sync-now","id":"x"}"#), "expected unit"),
            (page_err(r#"{"type":"retry-failed"}"#), "id"),
            (page_err(r#"{"type":"retry-failed","id":5}"#), "5"),
            (
                page_err(r#"{"type":"save-settings","serverUrl":"https://a"}"#),
                "token",
            ),
            (
                page_err(r#"{"type":"get-settings","server_url":"x"}"#),
                "expected unit",
            ),
            (page_err(r#""get-status""#), "message object"),
            (page_err(r#"{"type":7}"#), "type"),
            (page_err(r#"{"type":"save-timing"}"#), "idleSeconds"),
            (page_err(r#"{"type":"save-timing","idleSeconds":-5}"#), "-5"),
            (
                page_err(r#"{"type":"get-timing","idleSeconds":60}"#),
                "expected unit",
            ),
        ];
        for (result, named) in refused {
            let Some(err) = result else {
                panic!("accepted, though it should be refused for {named:?}")
            };
            assert!(err.contains(named), "{err:?} should name {named:?}");
        }
    }

    #[test]
    fn idle_states_are_chromes_three_words() {
        for (json, want) in [
            (r#""active""#, IdleState::Active),
            (r#""idle""#, IdleState::Idle),
            (r#""locked""#, IdleState::Locked),
        ] {
            assert_eq!(serde_json::from_str::<IdleState>(json).ok(), Some(want));
        }
        assert!(serde_json::from_str::<IdleState>(r#""asleep""#).is_err());
    }
}
