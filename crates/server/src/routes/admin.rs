//! Customer profiles, the policy registry and budgets.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use discount_policy::EngineConfig;
use serde::{Deserialize, Serialize};

use crate::app::{json, Shared};
use crate::auth::Role;
use crate::error::{parse_json, ApiError, ApiResult};
use axum::extract::rejection::BytesRejection;

/// `GET /v1/customers/{id}/profile`: the profile the next decision for this customer will use.
pub async fn profile(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    state.caller(&headers).await?.require(Role::Decide)?;
    crate::error::checked_id("id", &id)?;
    let id = state.customer_ids.stored(&id);
    let now = state.clock.now();
    let history = crate::routes::decisions::History::read(&state, &id, now).await?;
    let events = &history.events;
    let (profile, _) = history.profile(&id, now)?;
    let features = discount_features::FeatureSpec::base()
        .named_values(&profile, &[])
        .map_err(|e| ApiError::internal("building the feature vector", e))?;
    let features: serde_json::Map<String, serde_json::Value> = features
        .into_iter()
        .map(|(def, v)| (def.name, serde_json::json!(v)))
        .collect();
    Ok(json(&serde_json::json!({
        "customer_id": id,
        "known": !events.is_empty(),
        "profile": profile,
        "features": features,
    })))
}

/// A fresh secret salt for one erasure. Drawn from the operating system, not from a seed: it
/// must never be reproducible, or the stand-in ids could be recomputed from customer ids.
pub fn erasure_salt() -> [u8; 32] {
    rand::random()
}

/// `DELETE /v1/customers/{id}`: erases the customer (see `DecisionLog::erase_customer`); answers
/// the counts and the audit record's id.
pub async fn erase(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    state.caller(&headers).await?.require(Role::Admin)?;
    crate::error::checked_id("id", &id)?;
    let stored = state.customer_ids.stored(&id);
    let now = state.clock.now().0;
    let salt = erasure_salt();
    let erasure = state
        .pool
        .run(move |log| log.erase_customer(&stored, &salt, now, "request"))
        .await?;
    Ok(json(&erasure))
}

#[derive(Serialize)]
struct PolicyView {
    version: String,
    active: bool,
    apprentice: bool,
    /// The engine's version string (it includes the number of outcomes learned).
    engine_version: Option<String>,
    created_at: String,
}

pub async fn list_policies(State(state): State<Shared>, headers: HeaderMap) -> ApiResult {
    state.caller(&headers).await?.require(Role::Admin)?;
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.policies.refresh())
        .await
        .map_err(|e| ApiError::internal("a policy task", e))?
        .map_err(|e| ApiError::internal("reading policies", e))?;
    let views: Vec<PolicyView> = state
        .policies
        .rows()
        .into_iter()
        .map(|r| PolicyView {
            engine_version: state
                .policies
                .engine(&r.version)
                .map(|e| e.policy_version()),
            version: r.version,
            active: r.active,
            apprentice: r.apprentice,
            created_at: discount_core::Timestamp(r.created_at).to_rfc3339(),
        })
        .collect();
    Ok(json(&serde_json::json!({ "policies": views })))
}

/// `POST /v1/policies`: registers an engine configuration (its `name` is the version).
pub async fn register_policy(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = body?;
    state.caller(&headers).await?.require(Role::Admin)?;
    let config: EngineConfig = parse_json(&body)?;
    if config.name.trim().is_empty() {
        return Err(ApiError::field("name", "must not be empty"));
    }
    crate::policies::feature_sources(&config)
        .map_err(|e| ApiError::field("model.features", e.to_string()))?;
    discount_policy::DecisionEngine::new(config.clone())
        .map_err(|e| ApiError::field("engine", e.to_string()))?;
    let json_text =
        serde_json::to_string(&config).map_err(|e| ApiError::internal("encoding", e))?;
    let (name, currency) = (config.name.clone(), state.server().currency.clone());
    let budgets: Vec<(String, i64)> = config
        .budgets
        .iter()
        .map(|b| (b.campaign.clone(), b.amount))
        .collect();
    let created = state
        .pool
        .run(move |log| {
            if log.policies()?.iter().any(|p| p.version == name) {
                return Ok(false);
            }
            for (campaign, amount) in &budgets {
                if log.budget(campaign)?.is_none() {
                    log.set_budget(campaign, &currency, *amount)?;
                }
            }
            log.register_policy(&name, &json_text, crate::policies::now_micros())
        })
        .await?;
    if !created {
        return Err(ApiError::conflict(format!(
            "policy `{}` exists; register a new version under another name",
            config.name
        )));
    }
    refresh(&state).await?;
    Ok(json(
        &serde_json::json!({ "version": config.name, "active": false }),
    ))
}

/// Re-reads the policy and model registries (on the blocking pool).
pub(crate) async fn refresh(state: &Shared) -> Result<(), ApiError> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || {
        s.recommendations.refresh(&s.pool)?;
        s.policies.refresh()
    })
    .await
    .map_err(|e| ApiError::internal("a policy task", e))?
    .map_err(|e| ApiError::internal("loading policies", e))
}

pub async fn activate(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(version): Path<String>,
) -> ApiResult {
    state.caller(&headers).await?.require(Role::Admin)?;
    let v = version.clone();
    if !state.pool.run(move |log| log.activate_policy(&v)).await? {
        return Err(ApiError::not_found(format!("no policy `{version}`")));
    }
    refresh(&state).await?;
    Ok(json(&serde_json::json!({ "active": version })))
}

pub async fn roll_back(State(state): State<Shared>, headers: HeaderMap) -> ApiResult {
    state.caller(&headers).await?.require(Role::Admin)?;
    let previous = state.pool.run(|log| log.roll_back_policy()).await?;
    let Some(previous) = previous else {
        return Err(ApiError::conflict("no earlier policy to roll back to"));
    };
    refresh(&state).await?;
    Ok(json(&serde_json::json!({ "active": previous })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprenticeBody {
    enabled: bool,
}

pub async fn apprentice(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(version): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = body?;
    state.caller(&headers).await?.require(Role::Admin)?;
    let b: ApprenticeBody = parse_json(&body)?;
    let v = version.clone();
    if !state
        .pool
        .run(move |log| log.set_apprentice(&v, b.enabled))
        .await?
    {
        return Err(ApiError::not_found(format!("no policy `{version}`")));
    }
    refresh(&state).await?;
    Ok(json(
        &serde_json::json!({ "version": version, "apprentice": b.enabled }),
    ))
}

#[derive(Serialize)]
struct BudgetView {
    id: String,
    currency: String,
    total: i64,
    spent: i64,
    reserved: i64,
    remaining: i64,
    /// The active policy's shadow price for this budget (what a unit of spend costs a decision).
    #[serde(skip_serializing_if = "Option::is_none")]
    shadow_price: Option<f64>,
}

fn view(state: &Shared, b: discount_store::decision_log::BudgetRow) -> BudgetView {
    BudgetView {
        shadow_price: state
            .policies
            .active()
            .filter(|p| p.engine.ledger(Some(&b.id)).is_some())
            .map(|p| p.engine.lambda(Some(&b.id))),
        remaining: b.remaining(),
        id: b.id,
        currency: b.currency,
        total: b.total,
        spent: b.spent,
        reserved: b.reserved,
    }
}

pub async fn budgets(State(state): State<Shared>, headers: HeaderMap) -> ApiResult {
    state.caller(&headers).await?.require(Role::Decide)?;
    let rows = state.pool.run(|log| log.budgets()).await?;
    let views: Vec<BudgetView> = rows.into_iter().map(|b| view(&state, b)).collect();
    Ok(json(&serde_json::json!({ "budgets": views })))
}

pub async fn budget(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    state.caller(&headers).await?.require(Role::Decide)?;
    let key = id.clone();
    let row = state
        .pool
        .run(move |log| log.budget(&key))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no budget `{id}`")))?;
    Ok(json(&view(&state, row)))
}
