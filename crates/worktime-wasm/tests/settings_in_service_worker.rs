//! The options page's input checks, with the browser's own URL parser in a
//! real service worker: what is accepted and normalised, what is refused and
//! why, and that a saved token never follows a changed server URL.
#![cfg(target_arch = "wasm32")]
// `allow-unwrap-in-tests` / `allow-expect-in-tests` do not see `#[wasm_bindgen_test]` functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use wasm_bindgen_test::*;
use worktime_wasm::error::SettingsError;
use worktime_wasm::settings::{Settings, SettingsView, check_token, normalize_server_url, resolve};

wasm_bindgen_test_configure!(run_in_service_worker);

#[wasm_bindgen_test]
fn https_urls_and_loopback_http_are_accepted_and_normalised() {
    assert_eq!(
        normalize_server_url(" https://wt.example.com/ ").unwrap(),
        "https://wt.example.com"
    );
    assert_eq!(
        normalize_server_url("https://wt.example.com:8443/team/").unwrap(),
        "https://wt.example.com:8443/team"
    );
    assert_eq!(
        normalize_server_url("http://127.0.0.1:8787").unwrap(),
        "http://127.0.0.1:8787"
    );
    assert_eq!(
        normalize_server_url("http://localhost:3000/").unwrap(),
        "http://localhost:3000"
    );
    assert_eq!(
        normalize_server_url("http://127.8.9.10:1").unwrap(),
        "http://127.8.9.10:1"
    );
    assert_eq!(
        normalize_server_url("http://[::1]:8787").unwrap(),
        "http://[::1]:8787"
    );
    // Other spellings of loopback addresses, as the URL parser writes them.
    assert_eq!(
        normalize_server_url("http://[0:0:0:0:0:0:0:1]:8787").unwrap(),
        "http://[::1]:8787"
    );
    assert_eq!(
        normalize_server_url("http://127.1:8787").unwrap(),
        "http://127.0.0.1:8787"
    );
}

#[wasm_bindgen_test]
fn unusable_urls_are_refused_with_a_reason() {
    let cases = [
        ("", SettingsError::InvalidUrl),
        ("wt.example.com", SettingsError::InvalidUrl),
        ("ftp://wt.example.com", SettingsError::InvalidUrl),
        ("javascript:alert(1)", SettingsError::InvalidUrl),
        ("http://wt.example.com", SettingsError::InsecureUrl),
        ("http://192.168.1.5:8787", SettingsError::InsecureUrl),
        // A name that merely starts like a loopback address is a remote host.
        ("http://127.evil.example", SettingsError::InsecureUrl),
        (
            "http://127.0.0.1.evil.example:8787",
            SettingsError::InsecureUrl,
        ),
        ("http://localhost.evil.example", SettingsError::InsecureUrl),
        (
            "https://user:pw@wt.example.com",
            SettingsError::UrlHasExtras,
        ),
        ("https://wt.example.com/?x=1", SettingsError::UrlHasExtras),
        ("https://wt.example.com/#top", SettingsError::UrlHasExtras),
    ];
    for (text, want) in cases {
        assert_eq!(normalize_server_url(text), Err(want), "{text:?}");
    }
}

#[wasm_bindgen_test]
fn tokens_must_be_header_safe() {
    assert_eq!(check_token("wt_abc123"), Ok(()));
    assert_eq!(check_token(""), Err(SettingsError::MissingToken));
    assert_eq!(check_token("two words"), Err(SettingsError::InvalidToken));
    assert_eq!(check_token("line\nbreak"), Err(SettingsError::InvalidToken));
    assert_eq!(check_token("ünïcode"), Err(SettingsError::InvalidToken));
}

#[wasm_bindgen_test]
fn an_empty_token_keeps_the_saved_one_only_for_the_same_server() {
    let saved = Settings {
        server_url: "https://wt.example.com".into(),
        token: "wt_secret".into(),
    };
    let same = resolve("https://wt.example.com/", "", Some(&saved)).unwrap();
    assert_eq!(same.token, "wt_secret");
    assert_eq!(
        resolve("https://other.example.com", "", Some(&saved)),
        Err(SettingsError::MissingToken),
        "the saved token must not be sent to another server"
    );
    assert_eq!(
        resolve("https://wt.example.com", "", None),
        Err(SettingsError::MissingToken)
    );
    let fresh = resolve("https://other.example.com", "wt_new", Some(&saved)).unwrap();
    assert_eq!(fresh.server_url, "https://other.example.com");
    assert_eq!(fresh.token, "wt_new");
}

#[wasm_bindgen_test]
fn the_token_never_appears_in_what_pages_or_logs_see() {
    let saved = Settings {
        server_url: "https://wt.example.com".into(),
        token: "wt_secret".into(),
    };
    assert!(!format!("{saved:?}").contains("wt_secret"));
    let view = SettingsView::of(Some(&saved));
    assert!(view.has_token);
    assert_eq!(view.server_url, "https://wt.example.com");
    let json = serde_json::to_string(&view).unwrap();
    assert!(!json.contains("wt_secret"), "{json}");
}
