//! Typed errors of the shell, and how they cross into JavaScript: as real
//! `Error` objects whose `name` is the Rust type and `variant` the case, so
//! the glue and the pages can tell failures apart without parsing strings.

use wasm_bindgen::{JsCast as _, JsValue};

/// IndexedDB failed (opening, reading or writing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The database could not be opened or upgraded.
    #[error("could not open the extension's database: {0}")]
    Open(String),
    /// A read failed.
    #[error("could not read {store}: {reason}")]
    Read {
        /// The object store.
        store: String,
        /// What IndexedDB said.
        reason: String,
    },
    /// A write batch failed and was rolled back as a whole.
    #[error("could not save changes (nothing was written): {0}")]
    Write(String),
    /// A value could not be converted for storage.
    #[error("could not encode a record for {store}: {reason}")]
    Encode {
        /// The object store.
        store: String,
        /// What the encoder said.
        reason: String,
    },
}

/// The settings the user submitted are not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The server URL is empty or does not parse.
    #[error("Server URL is not a valid URL (for example https://worktime.example.com)")]
    InvalidUrl,
    /// Only https, or http to this computer, is allowed: the token must not
    /// travel in clear text over a network.
    #[error(
        "Server URL must start with https:// (http:// only for this computer: localhost, 127.x.x.x or [::1])"
    )]
    InsecureUrl,
    /// The URL carries a user name, password, query or fragment.
    #[error(
        "Server URL must be just the server's address, without a user name, query or #fragment"
    )]
    UrlHasExtras,
    /// No token was given and none is saved for this server.
    #[error("Enter the API token for this server")]
    MissingToken,
    /// The token has characters that cannot go in an HTTP header.
    #[error("API token may only contain visible characters, without spaces")]
    InvalidToken,
    /// No server is configured yet.
    #[error("No server is configured yet: enter a Server URL and API token in Options")]
    NotConfigured,
    /// The idle threshold is outside 15 s (Chrome's floor) to 1 hour.
    #[error("Idle after must be from 15 seconds (Chrome's floor) to 60 minutes")]
    InvalidIdleThreshold,
    /// An entry of the repository list is not `owner/*` or `owner/repo`.
    #[error("Repositories: {0}")]
    InvalidRepoPattern(#[from] worktime_core::privacy::InvalidRepoPattern),
}

/// A request to the server did not produce a usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The request could not be built (should not happen with a checked URL).
    #[error("could not build the request: {0}")]
    Build(String),
    /// The network failed or the server could not be reached (also CORS).
    #[error("could not reach the server{}", if *.online { "" } else { " (this computer is offline)" })]
    Network {
        /// Whether the browser believed it was online.
        online: bool,
    },
    /// No answer within the time limit.
    #[error("the server did not answer within {0} seconds")]
    Timeout(u32),
    /// The server answers, but its CORS answer refuses this extension's origin.
    #[error("{message}")]
    Cors {
        /// What to tell the user, with the origin to allow.
        message: String,
    },
    /// The server answered with an error status.
    #[error("{message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's message, in plain words.
        message: String,
    },
    /// The server's answer is not what the v1 contract says.
    #[error("the server's answer was not understood: {0}")]
    Malformed(String),
}

/// Something the shell could not do, by where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    /// IndexedDB.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// User settings.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The network or the server.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A message from the glue that does not fit the expected shape.
    #[error("malformed message: {0}")]
    Message(String),
}

/// The `name` and `variant` a typed error carries into JavaScript.
pub trait JsErrorKind: std::fmt::Display {
    /// The error's type name, e.g. `StorageError`.
    fn name(&self) -> &'static str;
    /// The case, e.g. `Write`.
    fn variant(&self) -> &'static str;
}

impl JsErrorKind for StorageError {
    fn name(&self) -> &'static str {
        "StorageError"
    }
    fn variant(&self) -> &'static str {
        match self {
            StorageError::Open(_) => "Open",
            StorageError::Read { .. } => "Read",
            StorageError::Write(_) => "Write",
            StorageError::Encode { .. } => "Encode",
        }
    }
}

impl JsErrorKind for SettingsError {
    fn name(&self) -> &'static str {
        "SettingsError"
    }
    fn variant(&self) -> &'static str {
        match self {
            SettingsError::InvalidUrl => "InvalidUrl",
            SettingsError::InsecureUrl => "InsecureUrl",
            SettingsError::UrlHasExtras => "UrlHasExtras",
            SettingsError::MissingToken => "MissingToken",
            SettingsError::InvalidToken => "InvalidToken",
            SettingsError::NotConfigured => "NotConfigured",
            SettingsError::InvalidIdleThreshold => "InvalidIdleThreshold",
            SettingsError::InvalidRepoPattern(_) => "InvalidRepoPattern",
        }
    }
}

impl JsErrorKind for HttpError {
    fn name(&self) -> &'static str {
        "HttpError"
    }
    fn variant(&self) -> &'static str {
        match self {
            HttpError::Build(_) => "Build",
            HttpError::Network { .. } => "Network",
            HttpError::Timeout(_) => "Timeout",
            HttpError::Cors { .. } => "Cors",
            HttpError::Status { .. } => "Status",
            HttpError::Malformed(_) => "Malformed",
        }
    }
}

impl JsErrorKind for ShellError {
    fn name(&self) -> &'static str {
        match self {
            ShellError::Storage(e) => e.name(),
            ShellError::Settings(e) => e.name(),
            ShellError::Http(e) => e.name(),
            ShellError::Message(_) => "MessageError",
        }
    }
    fn variant(&self) -> &'static str {
        match self {
            ShellError::Storage(e) => e.variant(),
            ShellError::Settings(e) => e.variant(),
            ShellError::Http(e) => e.variant(),
            ShellError::Message(_) => "Malformed",
        }
    }
}

/// Builds the JavaScript `Error` for `err`: `message` is the Display text,
/// `name` the type and `variant` the case.
pub fn to_js_error(err: &impl JsErrorKind) -> JsValue {
    let js = js_sys::Error::new(&err.to_string());
    js.set_name(err.name());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&js, &"variant".into(), &err.variant().into());
    js.into()
}

impl From<ShellError> for JsValue {
    fn from(err: ShellError) -> JsValue {
        to_js_error(&err)
    }
}

/// Text of a JavaScript exception, for error messages (never contains the token:
/// the shell never puts it in anything that can throw).
pub fn js_text(value: &JsValue) -> String {
    if let Some(err) = value.dyn_ref::<js_sys::Error>() {
        return format!(
            "{}: {}",
            String::from(err.name()),
            String::from(err.message())
        );
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}
