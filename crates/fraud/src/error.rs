//! What can go wrong while scanning for fraud.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum FraudError {
    /// A hyper-parameter or rule setting outside its domain.
    #[error("invalid setting `{field}` = {value}: {reason}")]
    Config {
        field: String,
        value: String,
        reason: String,
    },
    /// An input row that could not be read (the message names file:line and field).
    #[error("{0}")]
    Input(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Toml {
        path: String,
        source: toml::de::Error,
    },
    /// Fitting a model was impossible on the data given (e.g. one class only).
    #[error("cannot fit {model}: {reason}")]
    Fit { model: &'static str, reason: String },
    #[error(transparent)]
    Core(#[from] discount_core::CoreError),
    #[error(transparent)]
    Dataset(#[from] discount_ingest::datasets::DatasetError),
    #[error(transparent)]
    Ingest(#[from] discount_ingest::IngestError),
}

impl FraudError {
    pub fn config(field: &str, value: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        FraudError::Config {
            field: field.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
