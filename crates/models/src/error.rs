//! Errors of model fitting, prediction and artifacts.

/// What can go wrong in this crate. Hyper-parameters are validated before fitting.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("invalid hyper-parameter {name} = {value}: {reason}")]
    InvalidHyper {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("invalid training data: {0}")]
    Data(String),
    #[error("{path}:{line}: {message}")]
    Input {
        path: String,
        line: u64,
        message: String,
    },
    #[error("artifact: {0}")]
    Artifact(String),
    #[error("I/O on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}
