//! Errors of profile building and feature vectors.

use discount_core::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error("event `{event_id}` is for user `{found}`, but this profile is of user `{expected}`")]
    WrongUser {
        event_id: String,
        expected: String,
        found: String,
    },
    #[error(
        "profile of `{user_id}` asked as of {as_of}, before its latest folded event at {latest}; \
         fold only events up to the snapshot time (use ProfileBuilder::with_horizon for training)"
    )]
    SnapshotBeforeEvents {
        user_id: String,
        as_of: String,
        latest: String,
    },
    #[error("embedding `{name}` has {found} values, the feature spec expects {expected}")]
    EmbeddingSize {
        name: String,
        expected: usize,
        found: usize,
    },
    #[error("embedding `{0}` is not declared in the feature spec")]
    UnknownEmbedding(String),
    #[error("embedding slot `{0}` is declared twice")]
    DuplicateSlot(String),
    #[error("a profile state's JSON: {0}")]
    StateEncoding(#[source] serde_json::Error),
    #[error("feature spec mismatch: the model was trained with {expected}, the vector is {found}")]
    SpecMismatch { expected: String, found: String },
}

pub(crate) fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339()
}
