//! One HTTP exchange with the configured server through the global `fetch`:
//! JSON in and out, `Authorization: Bearer`, a 15 s limit enforced with an
//! `AbortController`, redirects never followed (the token stays with the
//! configured server). The outcome is data (status, `Retry-After`, body, or
//! which way it failed); what it means for sync is the engine's call.

use crate::error::{HttpError, js_text};
use gloo_timers::callback::Timeout;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, Request, RequestCredentials, RequestInit, RequestMode,
    RequestRedirect, ResponseType,
};

/// How long one request may take, answer body included.
pub const TIMEOUT_SECS: u32 = 15;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (a window's or a worker's: there is no `window` in
    /// a service worker, so `web_sys::window()` is never used).
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &Request) -> js_sys::Promise;
}

/// A request as the engine describes it; the shell adds the server's base URL
/// and the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `PUT`, `POST`, `DELETE`.
    pub method: String,
    /// Path and query below the server's base URL, starting with `/`.
    pub path: String,
    /// JSON body, if any.
    pub body: Option<String>,
}

/// What came back. Any status counts as an answer; only a missing answer is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status; 0 for a redirect, which is not followed and whose
    /// status and target the browser hides (`redirect: "manual"`).
    pub status: u16,
    /// The `Retry-After` header as sent, if any.
    pub retry_after: Option<String>,
    /// The `Date` header (the server's clock), if sent and exposed by CORS.
    pub date: Option<String>,
    /// The body as text.
    pub body: String,
}

/// Whether the browser believes it is online (true when it cannot tell).
pub fn online() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|nav| js_sys::Reflect::get(&nav, &"onLine".into()))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(true)
}

/// Whether the server at `base` answers when the browser need not let the
/// extension read the answer: `GET /healthz` with `mode: "no-cors"`, no
/// token, no cookies, at most 5 s. After a request that failed as a network
/// error, an answer here means the server is up and its CORS answer refuses
/// this extension's origin.
pub async fn answers_without_cors(base: &str) -> bool {
    let Some(url) = join_url(base, "/healthz") else {
        return false;
    };
    let Ok(controller) = AbortController::new() else {
        return false;
    };
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_mode(RequestMode::NoCors);
    init.set_credentials(RequestCredentials::Omit);
    init.set_signal(Some(&controller.signal()));
    let Ok(req) = Request::new_with_str_and_init(&url, &init) else {
        return false;
    };
    let abort_on_timeout = {
        let controller = controller.clone();
        Timeout::new(5_000, move || controller.abort())
    };
    let answered = JsFuture::from(global_fetch(&req)).await.is_ok();
    drop(abort_on_timeout);
    answered
}

/// This extension's origin (`chrome-extension://<id>`), as servers see it
/// in the `Origin` header.
pub fn own_origin() -> String {
    js_sys::Reflect::get(&js_sys::global(), &"location".into())
        .and_then(|location| js_sys::Reflect::get(&location, &"origin".into()))
        .ok()
        .and_then(|origin| origin.as_string())
        .unwrap_or_default()
}

/// Joins `base` (no trailing slash needed) and `path`. The path must start
/// with a single `/` and hold no `\\`, so the result can only ever name the
/// configured server (`base` + `@evil.example` or `//evil.example` would
/// send the token elsewhere); anything else is `None`.
pub fn join_url(base: &str, path: &str) -> Option<String> {
    let safe = path.starts_with('/') && !path.starts_with("//") && !path.contains('\\');
    safe.then(|| format!("{}{}", base.trim_end_matches('/'), path))
}

/// Sends `request` to `base` with `token` and waits at most [`TIMEOUT_SECS`].
///
/// `Err` means there was no answer: [`HttpError::Network`] (including CORS
/// refusals, which browsers do not tell apart) or [`HttpError::Timeout`].
pub async fn send(
    base: &str,
    token: &str,
    request: &HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let controller = AbortController::new().map_err(|e| HttpError::Build(js_text(&e)))?;
    let signal = controller.signal();
    let init = RequestInit::new();
    init.set_method(&request.method);
    init.set_signal(Some(&signal));
    // No cookies: the token is the only credential. No `cache` mode either:
    // the server answers `Cache-Control: no-store`, and asking for
    // `no-store` here would also make Chromium skip its CORS preflight
    // cache, doubling the round trips of every push.
    init.set_credentials(RequestCredentials::Omit);
    // Never follow a redirect: the browser would carry the Authorization
    // header to wherever it points. A redirect comes back as an
    // `opaqueredirect` answer, which the engine treats as a server problem.
    init.set_redirect(RequestRedirect::Manual);
    let headers = Headers::new().map_err(|e| HttpError::Build(js_text(&e)))?;
    headers
        .set("Accept", "application/json")
        .map_err(|e| HttpError::Build(js_text(&e)))?;
    // A token with characters not allowed in a header would throw here with the
    // token in the message; settings validation refuses such tokens first.
    headers
        .set("Authorization", &format!("Bearer {token}"))
        .map_err(|_| HttpError::Build("the API token is not a valid header value".into()))?;
    if let Some(body) = &request.body {
        headers
            .set("Content-Type", "application/json")
            .map_err(|e| HttpError::Build(js_text(&e)))?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let url = join_url(base, &request.path).ok_or_else(|| {
        HttpError::Build(format!("refused to send to the path {:?}", request.path))
    })?;
    let req =
        Request::new_with_str_and_init(&url, &init).map_err(|e| HttpError::Build(js_text(&e)))?;

    // Dropping the Timeout cancels it, so it fires only if we are still waiting.
    let abort_on_timeout = {
        let controller = controller.clone();
        Timeout::new(TIMEOUT_SECS * 1000, move || controller.abort())
    };
    let result = exchange(&req).await;
    drop(abort_on_timeout);
    result.map_err(|_| {
        if signal.aborted() {
            HttpError::Timeout(TIMEOUT_SECS)
        } else {
            HttpError::Network { online: online() }
        }
    })
}

async fn exchange(req: &Request) -> Result<HttpResponse, JsValue> {
    let response: web_sys::Response = JsFuture::from(global_fetch(req)).await?.dyn_into()?;
    if response.type_() == ResponseType::Opaqueredirect {
        return Ok(HttpResponse {
            status: 0,
            retry_after: None,
            date: None,
            body: String::new(),
        });
    }
    let retry_after = response.headers().get("Retry-After").ok().flatten();
    let date = response.headers().get("Date").ok().flatten();
    let body = JsFuture::from(response.text()?).await?;
    Ok(HttpResponse {
        status: response.status(),
        retry_after,
        date,
        body: body.as_string().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_below_the_configured_server_only() {
        assert_eq!(
            join_url("https://wt.example.com/", "/api/v1/me").as_deref(),
            Some("https://wt.example.com/api/v1/me")
        );
        assert_eq!(
            join_url(
                "https://wt.example.com/team",
                "/api/v1/sessions?state=ended"
            )
            .as_deref(),
            Some("https://wt.example.com/team/api/v1/sessions?state=ended")
        );
        for bad in [
            "@evil.example/x",
            "//evil.example/x",
            "api/v1/me",
            "/\\evil.example",
            "",
        ] {
            assert_eq!(join_url("https://wt.example.com", bad), None, "{bad:?}");
        }
    }
}
