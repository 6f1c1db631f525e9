//! The one error type of this crate.

/// What can go wrong while training or recommending.
#[derive(Debug, thiserror::Error)]
pub enum RecommendError {
    /// The store could not be read.
    #[error("reading the store: {0}")]
    Store(#[from] discount_store::StoreError),
    /// The collaborative-filtering model could not be fitted.
    #[cfg(feature = "train")]
    #[error("fitting the model: {0}")]
    Model(#[from] discount_models::ModelError),
    /// Propensities could not be computed.
    #[error("slate propensities: {0}")]
    Eval(#[from] discount_eval::EvalError),
    /// A setting is outside its valid range.
    #[error("invalid setting `{name}` = {value}: {rule}")]
    Setting {
        name: &'static str,
        value: String,
        rule: &'static str,
    },
    /// A catalogue row or request field is invalid.
    #[error("{place}: field `{field}` = {value:?}: {message}")]
    Input {
        /// File and line, or the request.
        place: String,
        field: String,
        value: String,
        message: String,
    },
    /// There is nothing to train on or recommend from.
    #[error("{0}")]
    Empty(String),
    /// Money arithmetic left the range of 64-bit minor units.
    #[error("money overflow computing {0}")]
    Overflow(&'static str),
}

/// Result alias of this crate.
pub type Result<T, E = RecommendError> = std::result::Result<T, E>;
