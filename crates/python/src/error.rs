//! The one error type of the bindings: a wrong argument (named, with the index of the bad value) or an
//! error of the engine's crates. The Python layer raises each as `ValueError` with this text.

/// What can go wrong between an array handed in from Python and the engine.
#[derive(Debug, thiserror::Error)]
pub enum BindingError {
    /// One value of an argument is invalid.
    #[error("argument `{argument}`, index {index}: {message} (value: {value})")]
    Value {
        argument: String,
        index: usize,
        value: String,
        message: String,
    },
    /// An argument's shape or a setting is wrong as a whole.
    #[error("argument `{argument}`: {message}")]
    Argument { argument: String, message: String },
    #[error(transparent)]
    Eval(#[from] discount_eval::EvalError),
    #[error(transparent)]
    Model(#[from] discount_models::ModelError),
    #[error(transparent)]
    Sim(#[from] discount_sim::SimError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl BindingError {
    pub(crate) fn value(
        argument: &str,
        index: usize,
        value: impl ToString,
        message: impl Into<String>,
    ) -> Self {
        BindingError::Value {
            argument: argument.to_string(),
            index,
            value: value.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn argument(argument: &str, message: impl Into<String>) -> Self {
        BindingError::Argument {
            argument: argument.to_string(),
            message: message.into(),
        }
    }
}

/// Result alias of the bindings.
pub type Result<T, E = BindingError> = std::result::Result<T, E>;
