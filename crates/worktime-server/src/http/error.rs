//! The API's one error type: each case maps to a status and a stable code in
//! `{"error": {"code", "message", "field"?}}`. Internal causes go to the log,
//! never to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use worktime_protocol::{ErrorBody, ErrorEnvelope};

use crate::store::StoreError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, a malformed one, or one that is unknown or revoked.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Authenticated, but not allowed (a non-admin asking about others).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing (or not the caller's).
    #[error("{0}")]
    NotFound(String),
    /// A field or parameter breaks a rule.
    #[error("{message}")]
    Invalid {
        /// The field or query parameter at fault.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The body is not JSON of the expected shape.
    #[error("{message}")]
    MalformedJson {
        /// Where in the body, when known.
        field: Option<String>,
        /// The parser's complaint.
        message: String,
    },
    /// The body is not declared as JSON.
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// The body or batch is over the limit.
    #[error("{message}")]
    TooLarge {
        /// `payload_too_large` or `batch_too_large`.
        code: &'static str,
        /// The limit that was passed.
        message: String,
    },
    /// Well-formed, but conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// The token's bucket, or the client address's for requests without a
    /// valid token, is empty.
    #[error("too many requests; retry in {} s", retry_after_secs(*.0))]
    RateLimited(Duration),
    /// The caller holds as many event streams as it may.
    #[error("{0}")]
    TooManyStreams(String),
    /// The server is at capacity (requests in flight, writer queue, event
    /// streams); retry after `Retry-After`.
    #[error("{0}")]
    Overloaded(String),
    /// The request took longer than the server allows.
    #[error("the request took too long; retry later")]
    Timeout,
    /// The request body did not arrive in time.
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    /// The path exists, the method does not.
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// A storage failure; details are logged, not returned (a full writer
    /// queue is 503 `overloaded`).
    #[error("{}", internal_message(.0))]
    Internal(#[from] StoreError),
}

fn internal_message(e: &StoreError) -> &'static str {
    match e {
        StoreError::Busy => "the server is busy writing; retry shortly",
        _ => "internal error",
    }
}

/// What `Retry-After` says when the server is at capacity.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

fn retry_after_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl ApiError {
    /// An [`ApiError::Invalid`] for `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid_field"),
            ApiError::MalformedJson { .. } => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::TooLarge { code, .. } => (StatusCode::PAYLOAD_TOO_LARGE, code),
            ApiError::Conflict(_) => (StatusCode::UNPROCESSABLE_ENTITY, "conflict"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::TooManyStreams(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_streams"),
            ApiError::Overloaded(_) | ApiError::Internal(StoreError::Busy) => {
                (StatusCode::SERVICE_UNAVAILABLE, "overloaded")
            }
            ApiError::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            ApiError::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, "body_timeout"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The error object, as sent and as used for rejected batch items.
    pub fn body(&self) -> ErrorBody {
        let field = match self {
            ApiError::Invalid { field, .. } | ApiError::MalformedJson { field, .. } => {
                field.clone()
            }
            _ => None,
        };
        ErrorBody {
            code: self.status_and_code().1.to_owned(),
            message: self.to_string(),
            field,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        match &self {
            ApiError::Internal(StoreError::Busy) => {
                tracing::warn!("writer queue full; request shed");
            }
            ApiError::Internal(cause) => tracing::error!(error = %cause, "request failed"),
            _ => {}
        }
        let mut response =
            (status, axum::Json(ErrorEnvelope { error: self.body() })).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::RateLimited(wait) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs(*wait).max(1)),
                );
            }
            ApiError::TooManyStreams(_)
            | ApiError::Overloaded(_)
            | ApiError::Timeout
            | ApiError::Internal(StoreError::Busy) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs(BUSY_RETRY_AFTER)),
                );
            }
            ApiError::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"worktime\""),
                );
            }
            _ => {}
        }
        response
    }
}

/// Answer for paths that do not exist.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such path".into())
}

/// Answer for requests the layers refused: load shedding (503 with
/// `Retry-After`), the request timeout (503) or anything else (500).
pub async fn refused(err: tower::BoxError) -> ApiError {
    if err.is::<tower::load_shed::error::Overloaded>() {
        ApiError::Overloaded("the server is at capacity; retry shortly".into())
    } else if err.is::<tower::timeout::error::Elapsed>() {
        ApiError::Timeout
    } else {
        tracing::error!(error = %err, "a request layer failed");
        ApiError::Internal(StoreError::ReadInterrupted)
    }
}

/// Answer for methods a path does not take.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
