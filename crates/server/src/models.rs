//! The trained model the service decides with: the registry's active response model, checked
//! before it is trusted (the artifact's hash, its format, the feature spec it was trained on, the
//! ladder it covers). A model that fails a check is refused with the reason, and whatever served
//! before keeps serving.

use discount_features::{CustomerEmbeddings, FeatureSpec};
use discount_policy::response::ResponseModel;
use discount_store::model_registry::{content_hash, ModelRow};
use serde::Serialize;

/// The registry kind of the model that scores offers.
pub const RESPONSE_KIND: &str = "uplift";

/// The registry kind of the collaborative-filtering model whose customer vectors extend the
/// feature vector.
pub const CF_KIND: &str = "cf";

/// Reads and checks a registered CF model's customer vectors.
pub fn load_embeddings(row: &ModelRow) -> Result<CustomerEmbeddings, String> {
    let hash = content_hash(&row.artifact);
    if hash != row.content_hash {
        return Err(format!(
            "model `{}`: the stored artifact's SHA-256 is {hash}, the registry recorded {}",
            row.id, row.content_hash
        ));
    }
    let e: CustomerEmbeddings = serde_json::from_str(&row.artifact)
        .map_err(|e| format!("model `{}`: not a set of customer vectors: {e}", row.id))?;
    e.validate()
        .map_err(|e| format!("model `{}`: {e}", row.id))?;
    Ok(e)
}

/// The registry's active CF model's customer vectors, checked; `None` when no CF model is active.
pub fn active_embeddings(
    log: &mut dyn discount_store::decision_log::DecisionLog,
) -> Result<Option<(String, CustomerEmbeddings)>, String> {
    let row = log
        .active_model(CF_KIND)
        .map_err(|e| format!("reading the model registry: {e}"))?;
    row.map(|r| load_embeddings(&r).map(|e| (r.id.clone(), e)))
        .transpose()
}

/// The registry kind of the lifetime-value model whose new-buyer value prices first orders.
pub const LTV_KIND: &str = "ltv";

/// The future profit, in minor units, of turning a prospect into a buyer, from a registered
/// lifetime-value model: its expected value of a new buyer over its horizon (revenue, major
/// units of its currency) in minor units, times the share of revenue that is profit, `1 -
/// cost_ratio` (the service's `unknown_cost_ratio`, the same assumption the join makes for items
/// without a known cost).
pub fn lifetime_value_of(row: &ModelRow, cost_ratio: f64) -> Result<f64, String> {
    let hash = content_hash(&row.artifact);
    if hash != row.content_hash {
        return Err(format!(
            "model `{}`: the stored artifact's SHA-256 is {hash}, the registry recorded {}",
            row.id, row.content_hash
        ));
    }
    #[derive(serde::Deserialize)]
    struct Ltv {
        currency: String,
    }
    let ltv: Ltv = serde_json::from_str(&row.artifact)
        .map_err(|e| format!("model `{}`: not a lifetime-value artifact: {e}", row.id))?;
    let currency = discount_core::Currency::parse("currency", &ltv.currency)
        .map_err(|e| format!("model `{}`: currency: {e}", row.id))?;
    let metrics: serde_json::Value = serde_json::from_str(&row.metrics)
        .map_err(|e| format!("model `{}`: metrics: {e}", row.id))?;
    let value = metrics["new_buyer_value"]
        .as_f64()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("model `{}` has no finite new_buyer_value", row.id))?;
    Ok(value * 10f64.powi(currency.exponent() as i32) * (1.0 - cost_ratio).clamp(0.0, 1.0))
}

/// The id of the feature spec the service builds vectors with (computed once).
pub fn serving_spec_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| FeatureSpec::base().id())
}

/// Reads and checks a registered response model; the error is the reason to refuse it.
pub fn load_response_model(
    row: &ModelRow,
    embeddings: Option<&CustomerEmbeddings>,
) -> Result<ResponseModel, String> {
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
    let base = serving_spec_id();
    let extended = embeddings.and_then(|e| e.spec().ok()).map(|s| s.id());
    if model.feature_spec != base && Some(&model.feature_spec) != extended.as_ref() {
        return Err(format!(
            "model `{}` was trained on feature spec {}, the service builds {base}{}",
            row.id,
            model.feature_spec,
            extended.map_or(String::new(), |x| format!(
                " or, with the active CF model, {x}"
            ))
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
    /// The lifetime-value model that prices first orders, and the value it gives (minor units
    /// of profit); `None`: the policy's `model.lifetime_value`.
    pub lifetime_value: Option<LifetimeValue>,
}

/// The lifetime-value model that prices first orders and the value it gives (minor units of
/// profit).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LifetimeValue {
    pub model_id: String,
    pub value: f64,
}

/// A registered model this process would not load, and why.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = ModelRefusal)]
pub struct Refusal {
    pub model_id: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use discount_policy::response::{LinearTerm, OfferResponse};
    use discount_store::model_registry::ModelStatus;

    fn row(model: &ResponseModel) -> ModelRow {
        let artifact = serde_json::to_string(model).unwrap();
        ModelRow {
            id: "m1".into(),
            kind: RESPONSE_KIND.into(),
            feature_spec: Some(model.feature_spec.clone()),
            window_from: None,
            window_to: None,
            training_rows: 1,
            metrics: "{}".into(),
            parent: None,
            created_at: 0,
            status: ModelStatus::Candidate,
            activated_seq: None,
            content_hash: content_hash(&artifact),
            artifact,
        }
    }

    fn model(spec: &str) -> ResponseModel {
        let d = FeatureSpec::base().all_features().len();
        ResponseModel {
            feature_spec: spec.into(),
            features: FeatureSpec::base()
                .all_features()
                .into_iter()
                .map(|f| f.name)
                .collect(),
            centre: vec![0.0; d],
            scale: vec![1.0; d],
            offers: vec![OfferResponse {
                offer_id: "none".into(),
                rows: 1,
                orders: 0,
                order: LinearTerm::constant(0.0, d),
                profit_if_order: LinearTerm::constant(0.0, d),
                discount_if_order: LinearTerm::constant(0.0, d),
                profit_if_none: 0.0,
            }],
        }
    }

    #[test]
    fn checks_hash_format_and_feature_spec() {
        assert!(load_response_model(&row(&model(serving_spec_id())), None).is_ok());
        let other = load_response_model(&row(&model("profile-v0+0000")), None).unwrap_err();
        assert!(other.contains("feature spec profile-v0+0000"), "{other}");
        let mut edited = row(&model(serving_spec_id()));
        edited.artifact = edited.artifact.replace("\"rows\":1", "\"rows\":2");
        assert!(load_response_model(&edited, None)
            .unwrap_err()
            .contains("SHA-256"));
        let mut garbage = row(&model(serving_spec_id()));
        garbage.artifact = "{}".into();
        garbage.content_hash = content_hash("{}");
        assert!(load_response_model(&garbage, None)
            .unwrap_err()
            .contains("not a response model"));
    }
}

#[cfg(test)]
mod lifetime_value_tests {
    use super::*;
    use discount_store::model_registry::ModelStatus;

    fn row(currency: &str, metrics: &str) -> ModelRow {
        let artifact = format!(r#"{{"unit":"weeks","currency":"{currency}","model":{{}}}}"#);
        ModelRow {
            id: "ltv-1".into(),
            kind: LTV_KIND.into(),
            feature_spec: None,
            window_from: None,
            window_to: None,
            training_rows: 10,
            metrics: metrics.into(),
            parent: None,
            created_at: 0,
            status: ModelStatus::Active,
            activated_seq: Some(1),
            content_hash: content_hash(&artifact),
            artifact,
        }
    }

    #[test]
    fn new_buyer_value_in_minor_units_of_profit() {
        let v = lifetime_value_of(&row("USD", r#"{"new_buyer_value":40.0}"#), 0.75).unwrap();
        assert!((v - 1_000.0).abs() < 1e-9, "{v}");
        let v = lifetime_value_of(&row("JPY", r#"{"new_buyer_value":4000.0}"#), 0.5).unwrap();
        assert!((v - 2_000.0).abs() < 1e-9, "{v}");
        assert!(lifetime_value_of(&row("USD", r#"{"auc":0.5}"#), 0.5)
            .unwrap_err()
            .contains("new_buyer_value"));
        let mut edited = row("USD", r#"{"new_buyer_value":40.0}"#);
        edited.artifact.push(' ');
        assert!(lifetime_value_of(&edited, 0.5)
            .unwrap_err()
            .contains("SHA-256"));
    }
}
