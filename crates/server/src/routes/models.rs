//! The model registry over HTTP: what is registered, what scores, and promotion and roll-back
//! for admins. The service follows the registry within a second of a change, in every process.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use discount_store::model_registry::ModelRow;
use serde::{Deserialize, Serialize};

use crate::app::{json, Shared};
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::models::RESPONSE_KIND;
use crate::routes::admin::refresh;

/// A registered model without its artifact.
#[derive(Serialize)]
pub struct ModelView {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub feature_spec: Option<String>,
    pub training_window_from: Option<String>,
    pub training_window_to: Option<String>,
    pub training_rows: i64,
    pub metrics: serde_json::Value,
    pub parent: Option<String>,
    pub created_at: String,
    pub content_hash: String,
}

impl ModelView {
    pub fn of(row: &ModelRow) -> Self {
        let time = |t: Option<i64>| t.map(|t| discount_core::Timestamp(t).to_rfc3339());
        Self {
            id: row.id.clone(),
            kind: row.kind.clone(),
            status: row.status.as_str().to_string(),
            feature_spec: row.feature_spec.clone(),
            training_window_from: time(row.window_from),
            training_window_to: time(row.window_to),
            training_rows: row.training_rows,
            metrics: serde_json::from_str(&row.metrics).unwrap_or(serde_json::Value::Null),
            parent: row.parent.clone(),
            created_at: discount_core::Timestamp(row.created_at).to_rfc3339(),
            content_hash: row.content_hash.clone(),
        }
    }
}

/// `GET /v1/models`: the registry, the model scoring in this process, and the last refusal.
pub async fn list(State(state): State<Shared>, headers: HeaderMap) -> ApiResult {
    state.caller(&headers).await?.require(Role::Admin)?;
    refresh(&state).await?;
    let rows = state.pool.run(|log| log.models(None)).await?;
    let views: Vec<ModelView> = rows.iter().map(ModelView::of).collect();
    let model = state.policies.model_state();
    Ok(json(&serde_json::json!({
        "models": views,
        "serving": model.serving,
        "refused": model.refused,
        "lifetime_value": model.lifetime_value,
    })))
}

/// `POST /v1/models/{id}/promote`: makes the model the active one of its kind; the answer says
/// whether this process now scores with it, or why it refused it.
pub async fn promote(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    state.caller(&headers).await?.require(Role::Admin)?;
    crate::error::checked_id("id", &id)?;
    let key = id.clone();
    if !state.pool.run(move |log| log.promote_model(&key)).await? {
        return Err(ApiError::not_found(format!("no model `{id}`")));
    }
    refresh(&state).await?;
    let model = state.policies.model_state();
    Ok(json(&serde_json::json!({
        "active": id,
        "serving": model.serving,
        "refused": model.refused,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollBackQuery {
    /// The kind to roll back (default: the response model, `uplift`).
    pub kind: Option<String>,
}

/// `POST /v1/models/rollback`: re-activates the model active before the current one.
pub async fn roll_back(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<RollBackQuery>, QueryRejection>,
) -> ApiResult {
    state.caller(&headers).await?.require(Role::Admin)?;
    let Query(q) = query.map_err(|e| {
        ApiError::field(
            "query",
            format!("only `kind` may be given: {}", e.body_text()),
        )
    })?;
    let kind = q.kind.unwrap_or_else(|| RESPONSE_KIND.to_string());
    crate::error::checked_id("kind", &kind)?;
    let k = kind.clone();
    let Some(previous) = state.pool.run(move |log| log.roll_back_model(&k)).await? else {
        return Err(ApiError::conflict(format!(
            "no earlier `{kind}` model to roll back to"
        )));
    };
    refresh(&state).await?;
    let model = state.policies.model_state();
    Ok(json(&serde_json::json!({
        "active": previous,
        "serving": model.serving,
        "refused": model.refused,
    })))
}
