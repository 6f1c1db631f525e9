//! The one place where failures become HTTP answers: every error is a JSON body
//! `{"error": {"code", "message", "field"}}` with a 4xx for the caller's mistakes and a 5xx (logged
//! with its cause) only for the service's own.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use thiserror::Error;

/// Errors of the service's own making (start-up, store, engine).
#[derive(Debug, Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] discount_store::StoreError),
    #[error(transparent)]
    Policy(#[from] discount_policy::PolicyError),
    #[error("{0}")]
    Config(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

/// An answer that is not a success.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `invalid_field`, `unauthorized`.
    pub code: &'static str,
    pub message: String,
    /// The request field at fault (`context.basket[0].quantity`), when one can be named.
    pub field: Option<String>,
    /// Seconds after which a retry can succeed (sent as `Retry-After` with a 429 or 503).
    pub retry_after_seconds: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_seconds: None,
        }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_field",
            message: message.into(),
            field: Some(field.into()),
            retry_after_seconds: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// A 404 that names the request field which pointed at nothing.
    pub fn not_found_field(field: impl Into<String>, what: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::not_found(what)
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// A failure of the service; the cause is logged, the caller sees a generic message.
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!("{context}: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{context} failed; the cause is in the server log"),
        )
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl From<discount_store::StoreError> for ApiError {
    fn from(e: discount_store::StoreError) -> Self {
        ApiError::internal("the store", e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
            },
        })
        .unwrap_or_default();
        let mut response = (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

/// The answer to a method a path does not take: 405 with the JSON error and `Allow`.
pub fn method_not_allowed(allowed: &[axum::http::Method]) -> Response {
    let names: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
    let mut response = ApiError {
        field: Some("method".into()),
        ..ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this path takes {}", names.join(", ")),
        )
    }
    .into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&names.join(", ")) {
        response
            .headers_mut()
            .insert(axum::http::header::ALLOW, value);
    }
    response
}

/// Checks an identifier from a request (body field, header or path): short, and free of NUL and
/// other control characters, which no store accepts; a 422 naming `field` otherwise.
pub fn checked_id(field: &str, value: &str) -> Result<(), ApiError> {
    discount_core::ids::validate_id(field, value).map_err(|e| match e {
        discount_core::CoreError::InvalidField { reason, value, .. } => {
            ApiError::field(field, format!("{reason} (got {value})"))
        }
        other => ApiError::field(field, other.to_string()),
    })
}

/// Parses a JSON body into `T`, naming the field at fault on failure.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let syntax = inner.is_syntax() || inner.is_eof();
        let mut err = if syntax {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("malformed JSON: {inner}"),
            )
        } else {
            ApiError::field(path.clone(), inner.to_string())
        };
        if !syntax && (path == "." || path == "?") {
            err.field = None;
            err.status = StatusCode::UNPROCESSABLE_ENTITY;
        }
        err
    })?;
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {e}"),
        )
    })?;
    Ok(value)
}

/// A body that could not be read: a JSON error (413 when it is over the limit) instead of axum's
/// plain text rejection. Handlers take `Result<Bytes, BytesRejection>` and write `body?`.
impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(r: axum::extract::rejection::BytesRejection) -> Self {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "body_too_large",
                "the request body is larger than server.body_limit_bytes",
            )
        } else {
            ApiError::new(status, "bad_body", r.body_text())
        }
    }
}

/// The engine's refusals that are the caller's mistake name the request field; the rest are the
/// service's own failures.
impl From<discount_policy::PolicyError> for ApiError {
    fn from(e: discount_policy::PolicyError) -> Self {
        use discount_policy::PolicyError;
        match e {
            PolicyError::UnknownOffer(o) => ApiError::field(
                "candidate_offers",
                format!("unknown offer id `{o}`: it is not in the active policy's ladder"),
            ),
            PolicyError::UnknownCampaign(c) => ApiError::field(
                "campaign",
                format!("unknown campaign `{c}`: the active policy has no budget for it"),
            ),
            other => ApiError::internal("deciding", other),
        }
    }
}

/// A background task that panicked or was cancelled.
impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal("a background task", e)
    }
}

/// What every handler returns: the response, or the error that becomes one.
pub type ApiResult = Result<Response, ApiError>;
