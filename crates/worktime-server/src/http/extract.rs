//! Request extractors that answer in the API's error format: the
//! authenticated caller (with rate limits per token and, for requests
//! without a valid token, per client address), JSON bodies and query
//! strings.

use super::error::ApiError;
use crate::state::AppState;
use crate::store::Principal;
use crate::token;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};
use std::ops::Deref;

/// The authenticated caller of an API request.
///
/// Reads `Authorization: Bearer <token>`, looks the token's hash up, refuses
/// unknown or revoked tokens with 401, and takes one request from the
/// token's rate-limit bucket (429 when empty).
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who the token belongs to.
    pub principal: Principal,
    /// SHA-256 of the presented token (for re-checks by long streams).
    pub token_hash: String,
}

impl Deref for Caller {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::Unauthorized(
            "Authorization must be \"Bearer <token>\"",
        )),
    }
}

/// Authenticates `token` (not logged anywhere) and applies the rate limit.
pub(crate) async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let token_hash = token::hash(token);
    let principal = state
        .store
        .authenticate(&token_hash)
        .await?
        .ok_or(ApiError::Unauthorized("the token is unknown or revoked"))?;
    state
        .limiter
        .check(&principal.device_id)
        .map_err(ApiError::RateLimited)?;
    state.touch_device(principal.device_id);
    Ok(Caller {
        principal,
        token_hash,
    })
}

/// The client's address: the peer the accept loop recorded, or what a
/// trusted proxy in front of it says (see [`crate::client_addr`]).
fn client(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())?;
    Some(state.config.trusted_proxies.client(peer, &parts.headers))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// The token only ever comes in the `Authorization` header, never in
    /// the URL (URLs end up in proxy logs and browser history). A request
    /// without a valid token takes one from its address's bucket: a flood
    /// of bad tokens meets 429 instead of 401.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let result = match bearer(parts) {
            Ok(Some(token)) => authenticate(state, token).await,
            Ok(None) => Err(ApiError::Unauthorized("missing bearer token")),
            Err(e) => Err(e),
        };
        match result {
            Err(ApiError::Unauthorized(why)) => {
                if let Some(ip) = client(parts, state) {
                    state
                        .unauthenticated
                        .check(&ip)
                        .map_err(ApiError::RateLimited)?;
                }
                Err(ApiError::Unauthorized(why))
            }
            other => other,
        }
    }
}

/// A JSON body parsed with field paths in its errors: 415 unless declared
/// JSON, 413 over the body limit, 408 when it does not arrive completely
/// within the body timeout, 400 with the offending field otherwise.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// Deserializes `text`: broken JSON is `malformed_json`, a wrong value
/// `invalid_field` naming its path (e.g. `sessions[3].state`).
pub fn parse_json<T: DeserializeOwned>(text: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_data() {
            // Well-formed JSON with a wrong value (an unknown `state`, a
            // string where a number belongs): name the field.
            ApiError::Invalid {
                field: (path != ".").then_some(path),
                message: inner.to_string(),
            }
        } else {
            ApiError::MalformedJson {
                field: None,
                message: inner.to_string(),
            }
        }
    })?;
    de.end().map_err(|e| ApiError::MalformedJson {
        field: None,
        message: e.to_string(),
    })?;
    Ok(value)
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        // One deadline for the whole body, by hand: tower-http's body
        // timeout restarts on every frame, so a trickled body would pass it.
        let read = tokio::time::timeout(state.config.body_timeout, Bytes::from_request(req, state));
        let bytes = read.await.map_err(|_| ApiError::BodyTimeout)?;
        let bytes = bytes.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge {
                    code: "payload_too_large",
                    message: format!("the body is larger than {} bytes", super::MAX_BODY_BYTES),
                }
            } else {
                ApiError::MalformedJson {
                    field: None,
                    message: rejection.body_text(),
                }
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Query parameters, refused with 400 when they do not parse.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::Invalid {
                field: None,
                message: e.body_text(),
            })
    }
}
