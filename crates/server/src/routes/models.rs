//! The model registry over HTTP: what is registered, what scores, and promotion and roll-back
//! for admins. The service follows the registry within a second of a change, in every process.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use discount_store::model_registry::ModelRow;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::app::{json, Shared};
use crate::auth::Role;
use crate::clock::rfc3339;
use crate::error::{query_params, ApiError, ApiResult, ErrorBody};
use crate::models::{LifetimeValue, Refusal, RESPONSE_KIND};
use crate::page::{paginate, PageParams, PageRequest};
use crate::routes::admin::{path_id, refresh};

/// A registered model without its artifact.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Model)]
pub struct ModelView {
    pub id: String,
    /// What it predicts: `uplift` (the response model that decides), `propensity`, `ltv`, `cf`,
    /// `recommend`, ...
    pub kind: String,
    /// `candidate`, `active`, `retired` or `rejected`.
    pub status: String,
    /// Id of the feature spec its inputs follow, when it reads profile feature vectors.
    pub feature_spec: Option<String>,
    /// Start of the training window.
    #[schema(format = DateTime)]
    pub training_window_from: Option<String>,
    /// End of the training window (exclusive).
    #[schema(format = DateTime)]
    pub training_window_to: Option<String>,
    pub training_rows: i64,
    /// Validation figures, name to number.
    #[schema(value_type = Object)]
    pub metrics: serde_json::Value,
    /// The active model of the same kind when this one was registered.
    pub parent: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Hex SHA-256 of the artifact.
    pub content_hash: String,
}

impl ModelView {
    pub fn of(row: &ModelRow) -> Self {
        let time = |t: Option<i64>| t.map(|t| rfc3339(discount_core::Timestamp(t)));
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
            created_at: rfc3339(discount_core::Timestamp(row.created_at)),
            content_hash: row.content_hash.clone(),
        }
    }
}

/// One page of the model registry (oldest first), with what this process scores with.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ModelList)]
pub struct ModelPage {
    pub items: Vec<ModelView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// The response model that scores the active policy's offers in this process; null: the
    /// policy's own online models.
    pub serving: Option<String>,
    /// The registry's active response model when this process refused it, and why.
    pub refused: Option<Refusal>,
    /// The lifetime-value model that prices first orders, and the value it gives.
    pub lifetime_value: Option<LifetimeValue>,
}

/// `GET /v1/models`: the registry, the model scoring in this process, and the last refusal.
#[utoipa::path(
    get,
    path = "/v1/models",
    tag = "models",
    summary = "The model registry, oldest first, a page at a time, and the model serving (role admin)",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "One page of models", body = ModelPage),
        (status = 400, description = "A bad `limit` or `cursor`, or an unknown query parameter", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    state.caller(&headers).await?.require(Role::Admin)?;
    let (page, _) = PageRequest::from_query(query, &[])?;
    refresh(&state).await?;
    let rows = state.pool.run(|log| log.models(None)).await?;
    let (rows, next_cursor) = paginate(rows, |r| (r.created_at, r.id.clone()), &page);
    let model = state.policies.model_state();
    Ok(json(&ModelPage {
        items: rows.iter().map(ModelView::of).collect(),
        next_cursor,
        serving: model.serving,
        refused: model.refused,
        lifetime_value: model.lifetime_value,
    }))
}

/// The active model of a kind after a promotion or roll-back, and what this process scores with.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ModelServing)]
pub struct ModelServing {
    /// The model now active in the registry.
    pub active: String,
    /// The response model this process scores with; null: the policy's own online models.
    pub serving: Option<String>,
    /// The registry's active response model when this process refused it, and why.
    pub refused: Option<Refusal>,
}

/// `POST /v1/models/{id}/promote`: makes the model the active one of its kind; the answer says
/// whether this process now scores with it, or why it refused it.
#[utoipa::path(
    post,
    path = "/v1/models/{id}/promote",
    tag = "models",
    summary = "Make a registered model the active one of its kind (role admin)",
    params(("id" = String, Path, description = "The model's id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Active; `refused` says when this process will not score with it", body = ModelServing),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 422, description = "The id is empty, too long or holds control characters", body = ErrorBody),
    )
)]
pub async fn promote(
    State(state): State<Shared>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = path_id(id)?;
    state.caller(&headers).await?.require(Role::Admin)?;
    crate::error::checked_id("id", &id)?;
    let key = id.clone();
    if !state.pool.run(move |log| log.promote_model(&key)).await? {
        return Err(ApiError::not_found_field("id", format!("no model `{id}`")));
    }
    refresh(&state).await?;
    let model = state.policies.model_state();
    Ok(json(&ModelServing {
        active: id,
        serving: model.serving,
        refused: model.refused,
    }))
}

/// The query of `POST /v1/models/rollback`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RollBackQuery {
    /// The kind to roll back (default: the response model, `uplift`).
    pub kind: Option<String>,
}

/// `POST /v1/models/rollback`: re-activates the model active before the current one.
#[utoipa::path(
    post,
    path = "/v1/models/rollback",
    tag = "models",
    summary = "Re-activate the model of a kind active before the current one (role admin)",
    params(RollBackQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The model now active", body = ModelServing),
        (status = 400, description = "An unknown query parameter", body = ErrorBody),
        (status = 409, description = "No earlier model of the kind", body = ErrorBody),
        (status = 422, description = "`kind` is empty, too long or holds control characters", body = ErrorBody),
    )
)]
pub async fn roll_back(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    state.caller(&headers).await?.require(Role::Admin)?;
    let mut params = query_params(query, &["kind"])?;
    let kind = params
        .remove("kind")
        .unwrap_or_else(|| RESPONSE_KIND.to_string());
    crate::error::checked_id("kind", &kind)?;
    let k = kind.clone();
    let Some(previous) = state.pool.run(move |log| log.roll_back_model(&k)).await? else {
        return Err(
            ApiError::conflict(format!("no earlier `{kind}` model to roll back to"))
                .in_field("kind"),
        );
    };
    refresh(&state).await?;
    let model = state.policies.model_state();
    Ok(json(&ModelServing {
        active: previous,
        serving: model.serving,
        refused: model.refused,
    }))
}
