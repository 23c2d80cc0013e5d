//! "Test connection" on the options page: one `GET /api/v1/me` with the
//! settings being edited, answered with who the token belongs to or what
//! went wrong, in plain words.

use crate::error::HttpError;
use crate::http::{self, HttpRequest};
use crate::settings::Settings;
use serde::Serialize;
use worktime_protocol::{ErrorEnvelope, Me};

/// Who the token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The user's name.
    pub user: String,
    /// The device label of this token.
    pub device: String,
}

/// Asks the server who `settings.token` is.
pub async fn test(settings: &Settings) -> Result<Identity, HttpError> {
    let request = HttpRequest {
        method: "GET".into(),
        path: "/api/v1/me".into(),
        body: None,
    };
    let response = match http::send(&settings.server_url, &settings.token, &request).await {
        Ok(response) => response,
        Err(HttpError::Network { online: true }) => {
            // Browsers report a CORS refusal as a network error; an answer
            // to a request the page may not read tells the two apart.
            let cors = http::answers_without_cors(&settings.server_url).await;
            return Err(unreachable(&settings.server_url, cors, &http::own_origin()));
        }
        Err(other) => return Err(other),
    };
    interpret(response.status, &response.body)
}

/// What to say when `GET /api/v1/me` got no answer the extension may read:
/// the server refused this extension's origin (`cors`: something answers at
/// the address), or nothing answers there.
pub fn unreachable(server_url: &str, cors: bool, origin: &str) -> HttpError {
    if cors {
        HttpError::Cors {
            message: format!(
                "The server at {server_url} answers, but refuses requests from this extension \
                 (CORS): its operator must allow the origin {origin}."
            ),
        }
    } else {
        HttpError::Status {
            status: 0,
            message: format!(
                "Could not reach the server at {server_url}. Check the URL and that the server \
                 is running."
            ),
        }
    }
}

/// Turns the answer to `GET /api/v1/me` into an identity or a plain-words error.
pub fn interpret(status: u16, body: &str) -> Result<Identity, HttpError> {
    match status {
        200 => serde_json::from_str::<Me>(body)
            .map(|me| Identity {
                user: me.user,
                device: me.device,
            })
            .map_err(|_| HttpError::Malformed("this does not look like a WorkTime server".into())),
        0 => Err(HttpError::Status {
            status,
            message: "The server answered with a redirect, which WorkTime Sync does not follow \
                      (the token goes to the configured address only). Enter the address it \
                      redirects to."
                .into(),
        }),
        401 | 403 => Err(HttpError::Status {
            status,
            message: format!(
                "The server refused this API token ({status}): it is wrong or has been revoked."
            ),
        }),
        _ => {
            let detail = serde_json::from_str::<ErrorEnvelope>(body)
                .map(|e| e.error.message)
                .unwrap_or_else(|_| "this does not look like a WorkTime server".into());
            Err(HttpError::Status {
                status,
                message: format!("The server answered {status}: {detail}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_me_answer_names_user_and_device() {
        let body = r#"{"user":"ana","device":"laptop","device_id":3,"admin":false}"#;
        assert_eq!(
            interpret(200, body),
            Ok(Identity {
                user: "ana".into(),
                device: "laptop".into()
            })
        );
    }

    #[test]
    fn a_refused_token_is_said_in_plain_words() {
        let err =
            interpret(401, r#"{"error":{"code":"unauthorized","message":"no"}}"#).unwrap_err();
        assert!(
            err.to_string().contains("refused this API token (401)"),
            "{err}"
        );
    }

    #[test]
    fn a_cors_refusal_is_said_as_such_and_names_the_origin_to_allow() {
        let err = unreachable("https://wt.example.com", true, "chrome-extension://abc");
        let text = err.to_string();
        assert!(
            text.contains("refuses requests from this extension (CORS)"),
            "{text}"
        );
        assert!(text.contains("chrome-extension://abc"), "{text}");
        let text =
            unreachable("https://wt.example.com", false, "chrome-extension://abc").to_string();
        assert!(
            text.starts_with("Could not reach the server at https://wt.example.com"),
            "{text}"
        );
    }

    #[test]
    fn a_redirect_is_not_followed_and_says_so() {
        let err = interpret(0, "").unwrap_err();
        assert!(err.to_string().contains("redirect"), "{err}");
    }

    #[test]
    fn other_errors_carry_the_servers_message_or_say_it_is_not_a_worktime_server() {
        let err = interpret(
            404,
            r#"{"error":{"code":"not_found","message":"no such route"}}"#,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "The server answered 404: no such route");
        let err = interpret(200, "<html>hello</html>").unwrap_err();
        assert!(matches!(err, HttpError::Malformed(_)), "{err:?}");
        let err = interpret(500, "oops").unwrap_err();
        assert!(
            err.to_string()
                .contains("does not look like a WorkTime server")
        );
    }
}
