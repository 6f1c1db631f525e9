//! The one place where failures become HTTP answers: every error is a JSON body
//! `{"error": {"code", "message", "field"}}` with a 4xx for the caller's mistakes and a 5xx (logged
//! with its cause) only for the service's own.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use utoipa::ToSchema;

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

/// The body of every answer that is not a success.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_field`, `unauthorized`, `method_not_allowed`.
    pub code: String,
    /// A plain sentence saying what was wrong and, where a field is at fault, naming it.
    pub message: String,
    /// The request field at fault (`context.basket[0].quantity`, a query parameter such as
    /// `limit`, a header such as `Idempotency-Key` or `Authorization`, `method` or `path`), when one
    /// can be named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
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

    /// A 422 naming `field`, in `field` and in the message.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_field",
            message: naming(&field, message.into()),
            field: Some(field),
            retry_after_seconds: None,
        }
    }

    /// The same error, naming `field` as the request field at fault.
    pub fn in_field(self, field: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..self
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// A 400 naming the query parameter at fault.
    pub fn query(parameter: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(parameter.into()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_query", message)
        }
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

/// `message` with the field's name in front when it does not name it already (`must not be
/// empty` becomes `` `customer_id` must not be empty``), so that the sentence stands on its own.
fn naming(field: &str, message: String) -> String {
    if message.contains(&format!("`{field}`")) {
        return message;
    }
    let predicate = ["must ", "is ", "has ", "contains ", "holds "]
        .iter()
        .any(|p| message.starts_with(p));
    if predicate {
        format!("`{field}` {message}")
    } else {
        format!("`{field}`: {message}")
    }
}

impl From<discount_store::StoreError> for ApiError {
    fn from(e: discount_store::StoreError) -> Self {
        ApiError::internal("the store", e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
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

/// Parses a JSON body into `T`, naming the field at fault on failure in a plain sentence (serde's
/// own wording names Rust types, which mean nothing to a caller).
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the request body is empty; this endpoint takes a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return malformed(&inner);
        }
        let parent = (path != "." && path != "?").then_some(path.as_str());
        let (field, message) = plain_data_error(parent, &message_of(&inner));
        ApiError {
            field,
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
        }
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(e: &serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        format!(
            "the request body is not valid JSON: {} (line {}, column {})",
            message_of(e),
            e.line(),
            e.column()
        ),
    )
}

/// serde_json's message without its ` at line L column C` suffix.
fn message_of(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

/// Rewrites a serde data error about the value at `parent` (`None`: the whole body) as the field
/// at fault and a plain sentence naming it.
pub fn plain_data_error(parent: Option<&str>, message: &str) -> (Option<String>, String) {
    let child = |name: &str| match parent {
        Some(p) if p.rsplit('.').next() == Some(name) => p.to_string(),
        Some(p) => format!("{p}.{name}"),
        None => name.to_string(),
    };
    let subject = parent.map_or_else(|| "the request body".to_string(), |p| format!("`{p}`"));
    let quoted = |text: &str| -> Option<String> {
        let start = text.find('`')? + 1;
        let len = text[start..].find('`')?;
        Some(text[start..start + len].to_string())
    };
    // serde lists `a` alone, `a` or `b`, or one of `a`, `b`, `c`.
    let names = |list: &str| -> String {
        list.replace("` or `", "`, `")
            .split(", ")
            .map(|n| n.trim_matches('`'))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let field = parent.map(str::to_string);
    if let Some(rest) = message.strip_prefix("missing field ") {
        let name = quoted(rest).unwrap_or_else(|| rest.to_string());
        let f = child(&name);
        return (Some(f.clone()), format!("`{f}` is required"));
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        let name = quoted(rest).unwrap_or_else(|| rest.to_string());
        let f = child(&name);
        return (Some(f.clone()), format!("`{f}` is given twice"));
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = quoted(rest).unwrap_or_else(|| rest.to_string());
        let f = child(&name);
        let known = match rest.split_once(", expected ") {
            Some((_, list)) => {
                let list = list.strip_prefix("one of ").unwrap_or(list);
                format!("; the fields here are {}", names(list))
            }
            None => "; no fields are taken here".to_string(),
        };
        return (
            Some(f.clone()),
            format!("`{f}` is not a known field{known}"),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let value = quoted(rest).unwrap_or_else(|| rest.to_string());
        let allowed = match rest.split_once(", expected ") {
            Some((_, list)) => {
                let list = list.strip_prefix("one of ").unwrap_or(list);
                format!("; it must be one of {}", names(list))
            }
            None => String::new(),
        };
        return (
            field,
            format!("{subject} does not take the value `{value}`{allowed}"),
        );
    }
    for (prefix, kind) in [("invalid type: ", "type"), ("invalid value: ", "value")] {
        let Some(rest) = message.strip_prefix(prefix) else {
            continue;
        };
        let Some((found, expected)) = rest.rsplit_once(", expected ") else {
            continue;
        };
        let found = plain_found(found);
        let sentence = match (kind, whole_number_range(expected)) {
            ("value", Some(range)) => format!("{subject} must be {range} (got {found})"),
            _ => format!(
                "{subject} must be {}, not {found}",
                plain_expected(expected)
            ),
        };
        return (field, sentence);
    }
    if let Some(rest) = message.strip_prefix("invalid length ") {
        let (length, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another length"));
        return (
            field,
            format!(
                "{subject} has {length} elements; it must have {}",
                plain_expected(expected)
            ),
        );
    }
    if message.starts_with("data did not match any variant") {
        return (
            field,
            format!("{subject} matches none of the accepted forms (see /v1/openapi.json)"),
        );
    }
    // A message of the type's own validation, already written for people.
    match parent {
        Some(p) => (field, format!("`{p}`: {message}")),
        None => (None, message.to_string()),
    }
}

/// serde's `Unexpected` wording (`map`, `integer \`5\``, `unit value`) in plain words.
fn plain_found(found: &str) -> String {
    let inside = |text: &str| text.trim().trim_matches('`').to_string();
    match found {
        "map" => "an object".into(),
        "sequence" => "a list".into(),
        "unit value" | "unit" => "null".into(),
        _ => {
            if let Some(v) = found.strip_prefix("integer ") {
                format!("the number {}", inside(v))
            } else if let Some(v) = found.strip_prefix("floating point ") {
                format!("the number {}", inside(v))
            } else if let Some(v) = found.strip_prefix("boolean ") {
                inside(v)
            } else if let Some(v) = found.strip_prefix("string ") {
                format!("the text {v}")
            } else if let Some(v) = found.strip_prefix("character ") {
                format!("the text \"{}\"", inside(v))
            } else {
                found.to_string()
            }
        }
    }
}

/// serde's `expected` wording (`u32`, `struct DecisionBody`, `a sequence`) in plain words.
fn plain_expected(expected: &str) -> String {
    if let Some(range) = whole_number_range(expected) {
        return range;
    }
    match expected {
        "f32" | "f64" => "a number".into(),
        "a string" | "a borrowed string" | "string" => "a string".into(),
        "a boolean" | "bool" => "true or false".into(),
        "a sequence" | "a vec" => "a list".into(),
        "a map" => "an object".into(),
        "unit" => "null".into(),
        "a character" | "char" => "a single character".into(),
        "variant identifier" | "field identifier" => "a name".into(),
        other if other.starts_with("struct ") || other.contains("tagged enum ") => {
            "an object".into()
        }
        other if other.starts_with("tuple") || other.starts_with("an array") => "a list".into(),
        other if other.starts_with("enum ") => "one of the documented names".into(),
        other => other.to_string(),
    }
}

/// The range of a Rust integer type named by serde, as words.
fn whole_number_range(expected: &str) -> Option<String> {
    let (low, high): (i128, i128) = match expected {
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" | "usize" => (0, u64::MAX.into()),
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" | "isize" => (i64::MIN.into(), i64::MAX.into()),
        _ => return None,
    };
    Some(format!("a whole number from {low} to {high}"))
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

/// A path segment that is not valid percent-encoded UTF-8.
impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(_: axum::extract::rejection::PathRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_path",
            "the path is not valid percent-encoded UTF-8",
        )
    }
}

/// Reads a query string's parameters, refusing names this endpoint does not take and names given
/// twice (a 400 naming the parameter).
pub fn query_params(
    query: Result<
        axum::extract::Query<Vec<(String, String)>>,
        axum::extract::rejection::QueryRejection,
    >,
    allowed: &[&str],
) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
    let axum::extract::Query(pairs) = query.map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "the query string is not valid percent-encoded name=value pairs",
        )
    })?;
    let mut params = std::collections::BTreeMap::new();
    for (name, value) in pairs {
        if !allowed.contains(&name.as_str()) {
            let takes = if allowed.is_empty() {
                "no query parameters".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(ApiError::query(
                name.clone(),
                format!("unknown query parameter `{name}`; this endpoint takes {takes}"),
            ));
        }
        if params.insert(name.clone(), value).is_some() {
            return Err(ApiError::query(
                name.clone(),
                format!("the query parameter `{name}` is given twice"),
            ));
        }
    }
    Ok(params)
}

/// A background task that panicked or was cancelled.
impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal("a background task", e)
    }
}

/// What every handler returns: the response, or the error that becomes one.
pub type ApiResult = Result<Response, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_wording_becomes_sentences_naming_the_field() {
        let cases = [
            (
                Some("context.basket[0]"),
                "invalid type: map, expected u32",
                Some("context.basket[0]"),
                "`context.basket[0]` must be a whole number from 0 to 4294967295, not an object",
            ),
            (
                None,
                "missing field `customer_id`",
                Some("customer_id"),
                "`customer_id` is required",
            ),
            (
                Some("context"),
                "unknown field `colour`, expected `placement` or `device`",
                Some("context.colour"),
                "`context.colour` is not a known field; the fields here are placement, device",
            ),
            (
                Some("explain"),
                "invalid type: null, expected a boolean",
                Some("explain"),
                "`explain` must be true or false, not null",
            ),
            (
                Some("k"),
                "invalid value: integer `-3`, expected usize",
                Some("k"),
                "`k` must be a whole number from 0 to 18446744073709551615 (got the number -3)",
            ),
            (
                None,
                "invalid type: sequence, expected struct DecisionBody",
                None,
                "the request body must be an object, not a list",
            ),
            (
                Some("offer"),
                "unknown variant `gift`, expected one of `no_offer`, `content`",
                Some("offer"),
                "`offer` does not take the value `gift`; it must be one of no_offer, content",
            ),
            (
                Some("currency"),
                "expected a three-letter ISO 4217 code",
                Some("currency"),
                "`currency`: expected a three-letter ISO 4217 code",
            ),
        ];
        for (parent, serde_message, field, sentence) in cases {
            let (f, m) = plain_data_error(parent, serde_message);
            assert_eq!(f.as_deref(), field, "{serde_message}");
            assert_eq!(m, sentence, "{serde_message}");
        }
    }

    #[test]
    fn field_errors_name_the_field_once() {
        let e = ApiError::field("customer_id", "must not be empty");
        assert_eq!(e.message, "`customer_id` must not be empty");
        let e = ApiError::field("k", "`k` must be 1 to 100 (got 0)");
        assert_eq!(e.message, "`k` must be 1 to 100 (got 0)");
        let e = ApiError::field("engine", "ladder: no rungs");
        assert_eq!(e.message, "`engine`: ladder: no rungs");
    }
}
