//! The simulator's error type.

use thiserror::Error;

/// Everything that can go wrong while configuring or running a simulation.
#[derive(Debug, Error)]
pub enum SimError {
    /// A configuration value is outside its domain; `field` is the TOML path.
    #[error("simulator config: field `{field}`: {reason} (value: {value})")]
    Config {
        field: String,
        value: String,
        reason: String,
    },
    /// The TOML text does not parse into a [`crate::SimConfig`].
    #[error("simulator config {origin}: {message}")]
    Toml { origin: String, message: String },
    /// A policy returned something the simulator cannot act on.
    #[error("policy `{policy}`: {reason}")]
    Policy { policy: String, reason: String },
    /// The sink refused a record (for example, a full disk).
    #[error("writing simulated records: {0}")]
    Sink(String),
    /// An oracle allocation failed (a malformed or infeasible instance).
    #[error("oracle: {0}")]
    Oracle(#[from] discount_policy::PolicyError),
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Core(#[from] discount_core::CoreError),
}

impl SimError {
    pub(crate) fn config(field: &str, value: impl ToString, reason: impl Into<String>) -> Self {
        SimError::Config {
            field: field.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
