//! The user's settings — server URL and API token — and the checks they pass
//! before they are stored. The token is never logged, never returned to a
//! page, and only ever sent to the server it was saved with.

use crate::error::SettingsError;
use serde::{Deserialize, Serialize};

/// What the options page saved. Stored by the shell, not the engine.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The server's base URL, normalised without a trailing slash.
    pub server_url: String,
    /// The bearer token for that server.
    pub token: String,
}

impl std::fmt::Debug for Settings {
    // Never print the token, not even in a debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("server_url", &self.server_url)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// What the options page may see of the settings: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// The saved server URL, or empty.
    pub server_url: String,
    /// Whether a token is saved.
    pub has_token: bool,
}

impl SettingsView {
    /// The view of `settings` (none saved: empty).
    pub fn of(settings: Option<&Settings>) -> Self {
        SettingsView {
            server_url: settings.map(|s| s.server_url.clone()).unwrap_or_default(),
            has_token: settings.is_some_and(|s| !s.token.is_empty()),
        }
    }
}

/// Checks a server URL and returns it normalised (`scheme://host[:port][/path]`,
/// no trailing slash). https anywhere; http only to this computer.
pub fn normalize_server_url(text: &str) -> Result<String, SettingsError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SettingsError::InvalidUrl);
    }
    let url = web_sys::Url::new(text).map_err(|_| SettingsError::InvalidUrl)?;
    let host = url.hostname();
    if host.is_empty() {
        return Err(SettingsError::InvalidUrl);
    }
    match url.protocol().as_str() {
        "https:" => {}
        "http:" if is_loopback(&host) => {}
        "http:" => return Err(SettingsError::InsecureUrl),
        _ => return Err(SettingsError::InvalidUrl),
    }
    if !url.username().is_empty()
        || !url.password().is_empty()
        || !url.search().is_empty()
        || !url.hash().is_empty()
        || text.ends_with('?')
        || text.ends_with('#')
    {
        return Err(SettingsError::UrlHasExtras);
    }
    let path = url.pathname();
    Ok(format!(
        "{}//{}{}",
        url.protocol(),
        url.host(),
        path.trim_end_matches('/')
    ))
}

/// Whether `host` (a URL's hostname, as the URL parser normalised it) is
/// this computer: `localhost`, an IPv4 address in 127.0.0.0/8 or `[::1]`.
/// The host is parsed as an address, never matched by prefix:
/// `127.evil.example` is a name anyone may register, and a token sent there
/// over http travels in clear text. The URL parser writes every IPv6
/// loopback spelling as `[::1]` and every IPv4 one (`127.1`, `0x7f.0.0.1`)
/// as four decimal octets.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

/// Checks a token: visible ASCII, no spaces, at most 4096 characters.
pub fn check_token(token: &str) -> Result<(), SettingsError> {
    if token.is_empty() {
        return Err(SettingsError::MissingToken);
    }
    if token.len() > 4096 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SettingsError::InvalidToken);
    }
    Ok(())
}

/// Settings from what the options page submitted, given what is saved.
/// An empty token keeps the saved one — but only for the same server, so a
/// token is never sent to a server it was not entered for.
pub fn resolve(
    server_url: &str,
    token: &str,
    saved: Option<&Settings>,
) -> Result<Settings, SettingsError> {
    let server_url = normalize_server_url(server_url)?;
    let token = token.trim();
    let token = if token.is_empty() {
        match saved {
            Some(saved) if saved.server_url == server_url && !saved.token.is_empty() => {
                saved.token.clone()
            }
            _ => return Err(SettingsError::MissingToken),
        }
    } else {
        token.to_owned()
    };
    check_token(&token)?;
    Ok(Settings { server_url, token })
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_real_loopback_addresses_count_as_this_computer() {
        for host in [
            "localhost",
            "127.0.0.1",
            "127.1.2.3",
            "127.255.255.254",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "127.evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "128.0.0.1",
            "10.0.0.1",
            "[::2]",
            "[::ffff:8.8.8.8]",
            "::1",
            "",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
