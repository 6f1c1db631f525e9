//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while evaluating: bad input (with the file, line and field that was wrong),
/// inconsistent array shapes, or invalid settings.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A CSV file was malformed (wrong quoting, ragged rows...).
    #[error("malformed CSV in {path}: {source}")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    /// A CSV file lacks a column that is required.
    #[error("{path}: missing column `{column}`")]
    MissingColumn { path: PathBuf, column: String },
    /// One value in an input file is invalid.
    #[error("{path}, line {line}, field `{field}`: {message} (value: {value:?})")]
    BadValue {
        path: PathBuf,
        line: u64,
        field: String,
        value: String,
        message: String,
    },
    /// Arrays that must describe the same rounds (or actions, positions) have different sizes.
    #[error("shape mismatch in {what}: expected {expected}, got {actual}")]
    Shape {
        what: String,
        expected: usize,
        actual: usize,
    },
    /// One value passed in memory is invalid (a propensity of zero, a probability above one, ...).
    #[error("invalid {field} at index {index}: {message} (value: {value})")]
    InvalidInput {
        field: String,
        index: usize,
        value: f64,
        message: String,
    },
    /// A setting (hyper-parameter, level, share...) is out of its valid range.
    #[error("invalid setting `{name}`: {message}")]
    InvalidSetting { name: String, message: String },
    /// The data is valid but cannot support the computation (empty arm, zero variance, ...).
    #[error("{0}")]
    Insufficient(String),
    /// Output could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A result could not be serialised.
    #[error("serialisation failed: {0}")]
    Json(#[from] serde_json::Error),
}

impl EvalError {
    pub(crate) fn setting(name: &str, message: impl Into<String>) -> Self {
        EvalError::InvalidSetting {
            name: name.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn shape(what: &str, expected: usize, actual: usize) -> Self {
        EvalError::Shape {
            what: what.to_string(),
            expected,
            actual,
        }
    }

    pub(crate) fn invalid(
        field: &str,
        index: usize,
        value: f64,
        message: impl Into<String>,
    ) -> Self {
        EvalError::InvalidInput {
            field: field.to_string(),
            index,
            value,
            message: message.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = EvalError> = std::result::Result<T, E>;
