//! Liveness, readiness, metrics and the API description.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::{json, Shared};
use crate::error::{ApiError, ApiResult, ErrorBody};

/// The answer of the liveness and readiness probes.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Health)]
pub struct HealthStatus {
    /// `ok` (alive) or `ready`.
    pub status: &'static str,
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness: the process answers",
    responses((status = 200, description = "Alive", body = HealthStatus))
)]
pub async fn healthz() -> Response {
    json(&HealthStatus { status: "ok" })
}

/// Ready when the store answers, a policy is active and the service is not shutting down.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness: the store answers, a policy is active, the service is not shutting down",
    responses(
        (status = 200, description = "Ready", body = HealthStatus),
        (status = 503, description = "Not ready; the message says why", body = ErrorBody),
    )
)]
pub async fn readyz(State(state): State<Shared>) -> ApiResult {
    if state.shutting_down.load(Ordering::Acquire) {
        return Err(ApiError::unavailable("shutting down"));
    }
    if state.policies.active().is_none() {
        return Err(ApiError::unavailable("no policy is active"));
    }
    state
        .pool
        .run(|log| log.budgets())
        .await
        .map_err(|e| ApiError::unavailable(format!("the store does not answer: {}", e.message)))?;
    Ok(json(&HealthStatus { status: "ready" }))
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics: requests, latency, decisions, budgets, shadow prices, drift",
    responses((status = 200, description = "The Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"))
)]
pub async fn metrics(State(state): State<Shared>) -> Response {
    let m = &state.metrics;
    for (campaign, ledger) in state.policies.campaigns() {
        m.budget_spent
            .with_label_values(&[&campaign])
            .set(ledger.spent());
        m.budget_reserved
            .with_label_values(&[&campaign])
            .set(ledger.reserved());
        m.budget_remaining
            .with_label_values(&[&campaign])
            .set(ledger.remaining());
    }
    state.policies.drift().export(m);
    let model = state.policies.model_state();
    m.response_model.reset();
    if let Some(id) = &model.serving {
        m.response_model.with_label_values(&[id, "serving"]).set(1);
    }
    if let Some(r) = &model.refused {
        m.response_model
            .with_label_values(&[&r.model_id, "refused"])
            .set(1);
    }
    if let Some(p) = state.policies.active() {
        m.model_version
            .with_label_values(&[&p.version])
            .set(p.engine.version() as i64);
    }
    (
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        m.render(),
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "operations",
    summary = "This description of the API (OpenAPI 3.1)",
    responses((status = 200, description = "The OpenAPI document", body = Object))
)]
pub async fn openapi() -> Response {
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        crate::openapi::served(),
    )
        .into_response()
}
