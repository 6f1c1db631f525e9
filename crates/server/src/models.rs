//! The trained model the service decides with: the registry's active response model, checked
//! before it is trusted (the artifact's hash, its format, the feature spec it was trained on, the
//! ladder it covers). A model that fails a check is refused with the reason, and whatever served
//! before keeps serving.

use discount_features::FeatureSpec;
use discount_policy::response::ResponseModel;
use discount_store::model_registry::{content_hash, ModelRow};
use serde::Serialize;

/// The registry kind of the model that scores offers.
pub const RESPONSE_KIND: &str = "uplift";

/// Reads and checks a registered response model; the error is the reason to refuse it.
pub fn load_response_model(row: &ModelRow) -> Result<ResponseModel, String> {
    let hash = content_hash(&row.artifact);
    if hash != row.content_hash {
        return Err(format!(
            "model `{}`: the stored artifact's SHA-256 is {hash}, the registry recorded {}; it was \
             changed after registration",
            row.id, row.content_hash
        ));
    }
    let model: ResponseModel = serde_json::from_str(&row.artifact).map_err(|e| {
        format!(
            "model `{}`: the artifact is not a response model: {e}",
            row.id
        )
    })?;
    let serving = FeatureSpec::base().id();
    if model.feature_spec != serving {
        return Err(format!(
            "model `{}` was trained on feature spec {}, the service builds {serving}",
            row.id, model.feature_spec
        ));
    }
    model
        .validate()
        .map_err(|e| format!("model `{}`: {e}", row.id))?;
    Ok(model)
}

/// What the service knows of the response model, for `/v1/models` and `/metrics`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ModelState {
    /// The model that scores the active policy's offers; `None`: the engine's own online models.
    pub serving: Option<String>,
    /// The registry's active model when it was refused, and why.
    pub refused: Option<Refusal>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Refusal {
    pub model_id: String,
    pub reason: String,
}
