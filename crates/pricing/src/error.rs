//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong in pricing: unreadable input (with file, line, field and value), settings
/// out of range, or data that cannot identify a model.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// A file could not be opened, read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A CSV file was malformed (bad quoting, ragged rows...).
    #[error("malformed CSV in {path}: {source}")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    /// A CSV file lacks a required column.
    #[error("{path}: missing column `{column}`")]
    MissingColumn { path: PathBuf, column: String },
    /// One value in an input file is invalid and the whole file cannot be used.
    #[error("{path}, line {line}, field `{field}`: {message} (value: {value:?})")]
    BadValue {
        path: PathBuf,
        line: u64,
        field: String,
        value: String,
        message: String,
    },
    /// A setting is out of its valid range.
    #[error("invalid setting `{name}`: {message}")]
    InvalidSetting { name: String, message: String },
    /// The data cannot identify the model (too few rows, no price variation, singular design...).
    #[error("cannot fit {model}: {message}")]
    NotIdentified { model: String, message: String },
    /// The gradient-boosting nuisance model failed.
    #[error("nuisance model failed: {0}")]
    Nuisance(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, PricingError>;

pub(crate) fn invalid(name: &str, message: impl Into<String>) -> PricingError {
    PricingError::InvalidSetting {
        name: name.to_string(),
        message: message.into(),
    }
}

pub(crate) fn not_identified(model: &str, message: impl Into<String>) -> PricingError {
    PricingError::NotIdentified {
        model: model.to_string(),
        message: message.into(),
    }
}
