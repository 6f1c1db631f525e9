//! Registering a fitted model in the store's model registry: the one place that names a model,
//! hashes its artifact and records what it replaced.

use anyhow::{bail, Context};
use discount_store::decision_log::open_decision_log;
use discount_store::model_registry::{content_hash, ModelRow, ModelStatus};

use crate::commands::ingest::redact;

/// What a learner registers.
pub struct Registration {
    /// `uplift`, `propensity`, `ltv`, `cf`, `sequence`.
    pub kind: &'static str,
    pub feature_spec: Option<String>,
    /// The training window, microseconds since the epoch.
    pub window_from: Option<i64>,
    pub window_to: Option<i64>,
    pub training_rows: usize,
    /// Name to number; non-finite values are left out.
    pub metrics: Vec<(&'static str, Option<f64>)>,
    /// The fitted model, JSON.
    pub artifact: String,
}

/// Registers a candidate in the store at `url`; its id, `<kind>-<UTC time>-<hash prefix>`.
pub fn register(url: &str, r: Registration) -> anyhow::Result<String> {
    let mut log =
        open_decision_log(url).with_context(|| format!("opening the store {}", redact(url)))?;
    let hash = content_hash(&r.artifact);
    let now = chrono::Utc::now();
    let id = format!("{}-{}-{}", r.kind, now.format("%Y%m%dT%H%M%S"), &hash[..8]);
    let metrics: serde_json::Map<String, serde_json::Value> = r
        .metrics
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| v.is_finite())
                .map(|v| ((*k).to_string(), serde_json::json!(v)))
        })
        .collect();
    let row = ModelRow {
        id: id.clone(),
        kind: r.kind.into(),
        feature_spec: r.feature_spec,
        window_from: r.window_from,
        window_to: r.window_to,
        training_rows: r.training_rows as i64,
        metrics: serde_json::Value::Object(metrics).to_string(),
        parent: log.active_model(r.kind)?.map(|m| m.id),
        created_at: now.timestamp_micros(),
        status: ModelStatus::Candidate,
        activated_seq: None,
        content_hash: hash,
        artifact: r.artifact,
    };
    if !log.register_model(&row)? {
        bail!("a model with id {id} is registered already; train again in a second");
    }
    Ok(id)
}
