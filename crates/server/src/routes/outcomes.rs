//! `POST /v1/outcomes` (report one decision's outcome explicitly) and `POST /v1/outcomes/settle`
//! (settle every closed attribution window now, instead of waiting for the background sweep).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use discount_store::decision_log::{OutcomeRow, OutcomeSource};
use serde::Deserialize;

use crate::app::{json, Shared};
use crate::auth::Role;
use crate::error::{parse_json, ApiError, ApiResult};
use axum::extract::rejection::BytesRejection;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    pub decision_id: String,
    /// Whether the customer bought.
    pub converted: bool,
    /// Paid revenue attributed to the decision, minor units.
    #[serde(default)]
    pub revenue: i64,
    /// Discount given, minor units (charged to the budget, at most the decision's hold).
    #[serde(default)]
    pub discount: i64,
    /// Revenue less cost of goods, minor units.
    #[serde(default)]
    pub profit: i64,
}

pub async fn report(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = body?;
    let caller = state.caller(&headers).await?;
    caller.require(Role::Decide)?;
    let body: OutcomeBody = parse_json(&body)?;
    if body.revenue < 0 {
        return Err(ApiError::field("revenue", "must not be negative"));
    }
    if body.discount < 0 {
        return Err(ApiError::field("discount", "must not be negative"));
    }
    crate::error::checked_id("decision_id", &body.decision_id)?;
    let id = body.decision_id.clone();
    let decision = state
        .pool
        .run(move |log| log.decision(&id))
        .await?
        .ok_or_else(|| {
            ApiError::not_found_field("decision_id", format!("no decision `{}`", body.decision_id))
        })?;
    let now = state.clock.now().0;
    let outcome = OutcomeRow {
        decision_id: decision.id.clone(),
        at: now,
        source: OutcomeSource::Reported,
        event_id: None,
        converted: body.converted,
        revenue: body.revenue,
        discount: body.discount,
        profit: body.profit,
        charged: crate::join::charge(&decision, body.discount),
        recorded_at: now,
    };
    if !crate::join::record(&state, &decision, outcome.clone()).await? {
        return Err(ApiError::conflict(format!(
            "decision `{}` already has an outcome; read it with GET /v1/decisions/{}",
            decision.id, decision.id
        )));
    }
    Ok(json(&outcome))
}

pub async fn settle(State(state): State<Shared>, headers: HeaderMap) -> ApiResult {
    let caller = state.caller(&headers).await?;
    caller.require(Role::Admin)?;
    let settled = crate::join::settle_due(&state).await?;
    Ok(json(&serde_json::json!({ "settled": settled })))
}
