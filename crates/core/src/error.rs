use thiserror::Error;

/// Errors of the domain layer: invalid values and invalid configuration.
#[derive(Debug, Error)]
pub enum CoreError {
    /// A field holds a value the domain does not accept.
    #[error("field `{field}`: {reason} (value: {value})")]
    InvalidField {
        field: String,
        value: String,
        reason: String,
    },
    /// A required field is absent.
    #[error("field `{field}` is required for a `{record_type}` record")]
    MissingField { field: String, record_type: String },
    /// The configuration file or an override is wrong.
    #[error("configuration: {0}")]
    Config(String),
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl CoreError {
    pub fn invalid(field: &str, value: impl ToString, reason: impl Into<String>) -> Self {
        let mut value = value.to_string();
        if value.len() > 80 {
            let cut = (0..=80)
                .rev()
                .find(|i| value.is_char_boundary(*i))
                .unwrap_or(0);
            value.truncate(cut);
            value.push('…');
        }
        CoreError::InvalidField {
            field: field.to_string(),
            value,
            reason: reason.into(),
        }
    }

    pub fn missing(field: &str, record_type: &str) -> Self {
        CoreError::MissingField {
            field: field.to_string(),
            record_type: record_type.to_string(),
        }
    }
}
