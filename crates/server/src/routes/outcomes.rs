//! `POST /v1/outcomes` (report one decision's outcome explicitly) and `POST /v1/outcomes/settle`
//! (settle every closed attribution window now, instead of waiting for the background sweep).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use discount_store::decision_log::{OutcomeRow, OutcomeSource};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::{json, Shared};
use crate::auth::Role;
use crate::clock::rfc3339;
use crate::error::{parse_json, ApiError, ApiResult, ErrorBody};
use axum::extract::rejection::BytesRejection;

/// A decision's outcome, reported by the caller; money in minor units.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OutcomeReport)]
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

/// A decision's outcome as recorded; money in minor units.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Outcome)]
pub struct OutcomeView {
    pub decision_id: String,
    /// When the rewarding fact happened (the order's time, the report's, or the window's end).
    #[schema(format = DateTime)]
    pub at: String,
    /// `order` (an attributed order), `reported` (POST /v1/outcomes) or `default` (the window
    /// closed without an order).
    #[schema(value_type = crate::openapi::OutcomeSourceSchema)]
    pub source: OutcomeSource,
    /// The attributed order's event id.
    pub event_id: Option<String>,
    pub converted: bool,
    pub revenue: i64,
    /// Coupon discount given.
    pub discount: i64,
    /// Revenue less the cost of the goods.
    pub profit: i64,
    /// What the budget was charged (the discount, at most the decision's hold).
    pub charged: i64,
    #[schema(format = DateTime)]
    pub recorded_at: String,
}

impl From<OutcomeRow> for OutcomeView {
    fn from(o: OutcomeRow) -> Self {
        Self {
            decision_id: o.decision_id,
            at: rfc3339(discount_core::Timestamp(o.at)),
            source: o.source,
            event_id: o.event_id,
            converted: o.converted,
            revenue: o.revenue,
            discount: o.discount,
            profit: o.profit,
            charged: o.charged,
            recorded_at: rfc3339(discount_core::Timestamp(o.recorded_at)),
        }
    }
}

/// How many decisions a settlement closed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Settlement {
    /// Decisions whose attribution window had closed and that got their default outcome now.
    pub settled: usize,
}

#[utoipa::path(
    post,
    path = "/v1/outcomes",
    tag = "outcomes",
    summary = "Report a decision's outcome explicitly (role decide)",
    request_body = OutcomeBody,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The outcome as recorded", body = OutcomeView),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 404, description = "No such decision (`field`: decision_id)", body = ErrorBody),
        (status = 409, description = "The decision already has an outcome", body = ErrorBody),
        (status = 413, description = "The body is over server.body_limit_bytes", body = ErrorBody),
        (status = 422, description = "A field is invalid (named in `field`)", body = ErrorBody),
    )
)]
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
        return Err(ApiError::field("revenue", "`revenue` must not be negative"));
    }
    if body.discount < 0 {
        return Err(ApiError::field(
            "discount",
            "`discount` must not be negative",
        ));
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
        ))
        .in_field("decision_id"));
    }
    Ok(json(&OutcomeView::from(outcome)))
}

#[utoipa::path(
    post,
    path = "/v1/outcomes/settle",
    tag = "outcomes",
    summary = "Settle every closed attribution window now, instead of waiting for the background sweep (role admin)",
    security(("api_key" = [])),
    responses((status = 200, description = "How many decisions were settled", body = Settlement))
)]
pub async fn settle(State(state): State<Shared>, headers: HeaderMap) -> ApiResult {
    let caller = state.caller(&headers).await?;
    caller.require(Role::Admin)?;
    let settled = crate::join::settle_due(&state).await?;
    Ok(json(&Settlement { settled }))
}
