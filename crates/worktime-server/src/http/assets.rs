//! The dashboard's files, embedded in the binary: `GET /` is
//! `assets/index.html`, `GET /assets/{file}` every other file, each with a
//! strict Content-Security-Policy, its content type and an `ETag`.

use super::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::Embed;

/// Only our own scripts, styles and connections; no framing, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; \
     img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

#[derive(Embed)]
#[folder = "assets/"]
struct Assets;

/// The dashboard routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/assets/{*file}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve(&file, &headers)
}

fn content_type(path: &str, guessed: &str) -> String {
    let guessed = if path.ends_with(".js") || path.ends_with(".mjs") {
        "text/javascript"
    } else {
        guessed
    };
    if guessed.starts_with("text/") || guessed == "image/svg+xml" || guessed == "application/json" {
        format!("{guessed}; charset=utf-8")
    } else {
        guessed.to_owned()
    }
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return ApiError::NotFound(format!("no asset {path:?}")).into_response();
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let mut headers = HeaderMap::new();
    let mime = content_type(path, file.metadata.mimetype());
    let pairs = [
        (
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY.to_owned(),
        ),
        (header::CONTENT_TYPE, mime),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (header::ETAG, etag.clone()),
        (header::REFERRER_POLICY, "no-referrer".to_owned()),
        (header::X_FRAME_OPTIONS, "DENY".to_owned()),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, file.data.into_owned()).into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_text_get_utf8_content_types() {
        assert_eq!(
            content_type("app.js", "application/javascript"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type("style.css", "text/css"),
            "text/css; charset=utf-8"
        );
        assert_eq!(content_type("logo.png", "image/png"), "image/png");
    }
}
