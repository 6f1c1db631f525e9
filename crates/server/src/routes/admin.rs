//! Customer profiles, the policy registry and budgets.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use discount_policy::EngineConfig;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::{json, Shared};
use crate::auth::Role;
use crate::clock::rfc3339;
use crate::error::{parse_json, ApiError, ApiResult, ErrorBody};
use crate::page::{paginate, PageParams, PageRequest};

/// The answer of `GET /v1/customers/{id}/profile`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CustomerProfile)]
pub struct ProfileResponse {
    /// The stored id (the pseudonym when the service pseudonymises customer ids).
    pub customer_id: String,
    /// Whether any event of the customer is stored.
    pub known: bool,
    pub profile: ProfileView,
    /// The base feature vector, by feature name.
    pub features: BTreeMap<String, f64>,
}

/// What is known of one customer as of a time; money in minor units of `currency`, the currency
/// of the customer's first order.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Profile)]
pub struct ProfileView {
    pub user_id: String,
    #[schema(format = DateTime)]
    pub as_of: String,
    /// Events folded (those at or before `as_of`).
    pub events: u64,
    pub tenure_days: f64,
    pub orders: u64,
    /// Days since the last order; null before the first order.
    pub days_since_last_order: Option<f64>,
    /// Days from the first to the last order (0 with one order or none).
    pub order_span_days: f64,
    /// ISO 4217 code; null before the first order.
    pub currency: Option<String>,
    pub spend_total: i64,
    pub refund_total: i64,
    /// Orders whose amounts are in `currency`.
    pub orders_in_currency: u64,
    pub windows: WindowCountsView,
    /// Orders with any retail or coupon discount.
    pub discounted_orders: u64,
    /// Mean of discount / (paid + discount) over the discounted orders.
    pub mean_discount_depth: f64,
    pub coupons_received: u64,
    /// Coupons received that were then redeemed.
    pub coupons_redeemed: u64,
    pub distinct_categories: u64,
    pub top_categories: Vec<CategoryShareView>,
}

/// Event counts in the last 7, 30 and 90 days (one list element per window, in that order).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WindowCounts)]
pub struct WindowCountsView {
    pub views: [u64; 3],
    pub carts: [u64; 3],
    pub orders: [u64; 3],
    pub refunds: [u64; 3],
    pub reviews: [u64; 3],
}

/// One category's share of the customer's item interactions.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CategoryShare)]
pub struct CategoryShareView {
    pub category: String,
    pub share: f64,
}

impl From<discount_features::Profile> for ProfileView {
    fn from(p: discount_features::Profile) -> Self {
        let w = p.windows;
        Self {
            user_id: p.user_id,
            as_of: rfc3339(p.as_of),
            events: p.events,
            tenure_days: p.tenure_days,
            orders: p.orders,
            days_since_last_order: p.days_since_last_order,
            order_span_days: p.order_span_days,
            currency: p.currency.map(|c| c.as_str().to_string()),
            spend_total: p.spend_total,
            refund_total: p.refund_total,
            orders_in_currency: p.orders_in_currency,
            windows: WindowCountsView {
                views: w.views,
                carts: w.carts,
                orders: w.orders,
                refunds: w.refunds,
                reviews: w.reviews,
            },
            discounted_orders: p.discounted_orders,
            mean_discount_depth: p.mean_discount_depth,
            coupons_received: p.coupons_received,
            coupons_redeemed: p.coupons_redeemed,
            distinct_categories: p.distinct_categories,
            top_categories: p
                .top_categories
                .into_iter()
                .map(|c| CategoryShareView {
                    category: c.category,
                    share: c.share,
                })
                .collect(),
        }
    }
}

/// The path's id, or a 400 when it is not valid percent-encoded UTF-8.
pub(crate) fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    Ok(path?.0)
}

/// `GET /v1/customers/{id}/profile`: the profile the next decision for this customer will use.
#[utoipa::path(
    get,
    path = "/v1/customers/{id}/profile",
    tag = "customers",
    summary = "The profile and features the next decision for this customer will use (role decide)",
    params(("id" = String, Path, description = "The customer id as sent in decisions and events")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The profile as of now", body = ProfileResponse),
        (status = 422, description = "The id is empty, too long or holds control characters", body = ErrorBody),
    )
)]
pub async fn profile(
    State(state): State<Shared>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = path_id(id)?;
    state.caller(&headers).await?.require(Role::Decide)?;
    crate::error::checked_id("id", &id)?;
    let id = state.customer_ids.stored(&id);
    let now = state.clock.now();
    let history = crate::routes::decisions::History::read(&state, &id, now).await?;
    let known = history.known();
    let (profile, _) = history.profile(&id, now)?;
    let features = discount_features::FeatureSpec::base()
        .named_values(&profile, &[])
        .map_err(|e| ApiError::internal("building the feature vector", e))?
        .into_iter()
        .map(|(def, v)| (def.name, v))
        .collect();
    Ok(json(&ProfileResponse {
        customer_id: id,
        known,
        profile: profile.into(),
        features,
    }))
}

/// A fresh secret salt for one erasure. Drawn from the operating system, not from a seed: it
/// must never be reproducible, or the stand-in ids could be recomputed from customer ids.
pub fn erasure_salt() -> [u8; 32] {
    rand::random()
}

/// What an erasure removed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Erasure)]
pub struct ErasureView {
    /// The audit record's id.
    pub audit_id: String,
    /// Events deleted (with their order lines).
    pub events: i64,
    /// User records deleted.
    pub users: i64,
    /// Decisions kept for budgets and evaluation, with the customer replaced by a stand-in and
    /// everything derived from their history removed.
    pub decisions: i64,
}

impl From<discount_store::decision_log::Erasure> for ErasureView {
    fn from(e: discount_store::decision_log::Erasure) -> Self {
        Self {
            audit_id: e.audit_id,
            events: e.events,
            users: e.users,
            decisions: e.decisions,
        }
    }
}

/// `DELETE /v1/customers/{id}`: erases the customer (see `DecisionLog::erase_customer`); answers
/// the counts and the audit record's id.
#[utoipa::path(
    delete,
    path = "/v1/customers/{id}",
    tag = "customers",
    summary = "Erase a customer: events and user record deleted, kept decisions anonymised (role admin)",
    params(("id" = String, Path, description = "The customer id as sent in decisions and events")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "What was erased, and the audit record", body = ErasureView),
        (status = 422, description = "The id is empty, too long or holds control characters", body = ErrorBody),
    )
)]
pub async fn erase(
    State(state): State<Shared>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = path_id(id)?;
    state.caller(&headers).await?.require(Role::Admin)?;
    crate::error::checked_id("id", &id)?;
    let stored = state.customer_ids.stored(&id);
    let now = state.clock.now().0;
    let salt = erasure_salt();
    let erasure = state
        .pool
        .run(move |log| log.erase_customer(&stored, &salt, now, "request"))
        .await?;
    // The profile state kept in memory or in Redis is derived from the erased events.
    state.profiles.forget(&state.customer_ids.stored(&id));
    Ok(json(&ErasureView::from(erasure)))
}

/// A registered policy.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Policy)]
pub struct PolicyView {
    pub version: String,
    pub active: bool,
    pub apprentice: bool,
    /// The engine's version string (it includes the number of outcomes learned); null when this
    /// process could not load the policy.
    pub engine_version: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// One page of the policy registry, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyPage {
    pub items: Vec<PolicyView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/policies",
    tag = "policies",
    summary = "The policy registry, oldest first, a page at a time (role admin)",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "One page of policies", body = PolicyPage),
        (status = 400, description = "A bad `limit` or `cursor`, or an unknown query parameter", body = ErrorBody),
    )
)]
pub async fn list_policies(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    state.caller(&headers).await?.require(Role::Admin)?;
    let (page, _) = PageRequest::from_query(query, &[])?;
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.policies.refresh())
        .await
        .map_err(|e| ApiError::internal("a policy task", e))?
        .map_err(|e| ApiError::internal("reading policies", e))?;
    let (rows, next_cursor) = paginate(
        state.policies.rows(),
        |r| (r.created_at, r.version.clone()),
        &page,
    );
    let items = rows
        .into_iter()
        .map(|r| PolicyView {
            engine_version: state
                .policies
                .engine(&r.version)
                .map(|e| e.policy_version()),
            version: r.version,
            active: r.active,
            apprentice: r.apprentice,
            created_at: rfc3339(discount_core::Timestamp(r.created_at)),
        })
        .collect();
    Ok(json(&PolicyPage { items, next_cursor }))
}

/// A policy just registered (not yet active).
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredPolicy {
    pub version: String,
    pub active: bool,
}

/// The active policy after an activation or a roll-back.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivePolicy {
    /// The version now active.
    pub active: String,
}

/// `POST /v1/policies`: registers an engine configuration (its `name` is the version).
#[utoipa::path(
    post,
    path = "/v1/policies",
    tag = "policies",
    summary = "Register an engine configuration as a new policy version (role admin)",
    request_body(content = crate::openapi::EngineConfigSchema, description = "An engine configuration as in docs/policy.md; its `name` is the version"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Registered, not active", body = RegisteredPolicy),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 409, description = "A policy with this name exists", body = ErrorBody),
        (status = 413, description = "The body is over server.body_limit_bytes", body = ErrorBody),
        (status = 422, description = "The configuration is invalid; `field` names where", body = ErrorBody),
    )
)]
pub async fn register_policy(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = body?;
    state.caller(&headers).await?.require(Role::Admin)?;
    let config: EngineConfig = parse_json(&body)?;
    if config.name.trim().is_empty() {
        return Err(ApiError::field("name", "`name` must not be empty"));
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
        ))
        .in_field("name"));
    }
    refresh(&state).await?;
    Ok(json(&RegisteredPolicy {
        version: config.name,
        active: false,
    }))
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

#[utoipa::path(
    post,
    path = "/v1/policies/{version}/activate",
    tag = "policies",
    summary = "Make a registered policy the active one (role admin)",
    params(("version" = String, Path, description = "The policy's version (its name)")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Active", body = ActivePolicy),
        (status = 404, description = "No such policy", body = ErrorBody),
    )
)]
pub async fn activate(
    State(state): State<Shared>,
    headers: HeaderMap,
    version: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let version = path_id(version)?;
    state.caller(&headers).await?.require(Role::Admin)?;
    let v = version.clone();
    if !state.pool.run(move |log| log.activate_policy(&v)).await? {
        return Err(ApiError::not_found_field(
            "version",
            format!("no policy `{version}`"),
        ));
    }
    refresh(&state).await?;
    Ok(json(&ActivePolicy { active: version }))
}

#[utoipa::path(
    post,
    path = "/v1/policies/rollback",
    tag = "policies",
    summary = "Re-activate the policy active before the current one (role admin)",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The policy now active", body = ActivePolicy),
        (status = 409, description = "No earlier policy", body = ErrorBody),
    )
)]
pub async fn roll_back(State(state): State<Shared>, headers: HeaderMap) -> ApiResult {
    state.caller(&headers).await?.require(Role::Admin)?;
    let previous = state.pool.run(|log| log.roll_back_policy()).await?;
    let Some(previous) = previous else {
        return Err(ApiError::conflict("no earlier policy to roll back to"));
    };
    refresh(&state).await?;
    Ok(json(&ActivePolicy { active: previous }))
}

/// Switches apprentice mode: the control arm is served and the policy's choice only logged.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprenticeBody {
    pub enabled: bool,
}

/// A policy's apprentice mode after the change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprenticeState {
    pub version: String,
    pub apprentice: bool,
}

#[utoipa::path(
    post,
    path = "/v1/policies/{version}/apprentice",
    tag = "policies",
    summary = "Switch a policy's apprentice mode (role admin)",
    params(("version" = String, Path, description = "The policy's version (its name)")),
    request_body = ApprenticeBody,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The mode now", body = ApprenticeState),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 404, description = "No such policy", body = ErrorBody),
        (status = 422, description = "`enabled` is missing or not true or false", body = ErrorBody),
    )
)]
pub async fn apprentice(
    State(state): State<Shared>,
    headers: HeaderMap,
    version: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let version = path_id(version)?;
    let body = body?;
    state.caller(&headers).await?.require(Role::Admin)?;
    let b: ApprenticeBody = parse_json(&body)?;
    let v = version.clone();
    if !state
        .pool
        .run(move |log| log.set_apprentice(&v, b.enabled))
        .await?
    {
        return Err(ApiError::not_found_field(
            "version",
            format!("no policy `{version}`"),
        ));
    }
    refresh(&state).await?;
    Ok(json(&ApprenticeState {
        version,
        apprentice: b.enabled,
    }))
}

/// A budget, in minor units of `currency`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Budget)]
pub struct BudgetView {
    /// The campaign it funds.
    pub id: String,
    pub currency: String,
    pub total: i64,
    pub spent: i64,
    /// Held by decisions whose outcome is not known yet.
    pub reserved: i64,
    pub remaining: i64,
    /// The active policy's shadow price for this budget (what a unit of spend costs a decision);
    /// absent when the active policy does not spend from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow_price: Option<f64>,
}

/// One page of budgets, by id.
#[derive(Debug, Serialize, ToSchema)]
pub struct BudgetPage {
    pub items: Vec<BudgetView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
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

#[utoipa::path(
    get,
    path = "/v1/budgets",
    tag = "budgets",
    summary = "Every budget, by id, a page at a time (role decide)",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "One page of budgets", body = BudgetPage),
        (status = 400, description = "A bad `limit` or `cursor`, or an unknown query parameter", body = ErrorBody),
    )
)]
pub async fn budgets(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    state.caller(&headers).await?.require(Role::Decide)?;
    let (page, _) = PageRequest::from_query(query, &[])?;
    let rows = state.pool.run(|log| log.budgets()).await?;
    // Budgets have no creation time: the id alone orders them.
    let (rows, next_cursor) = paginate(rows, |b| (0, b.id.clone()), &page);
    let items = rows.into_iter().map(|b| view(&state, b)).collect();
    Ok(json(&BudgetPage { items, next_cursor }))
}

#[utoipa::path(
    get,
    path = "/v1/budgets/{id}",
    tag = "budgets",
    summary = "One budget (role decide)",
    params(("id" = String, Path, description = "The budget's id (its campaign)")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The budget", body = BudgetView),
        (status = 404, description = "No such budget", body = ErrorBody),
    )
)]
pub async fn budget(
    State(state): State<Shared>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = path_id(id)?;
    state.caller(&headers).await?.require(Role::Decide)?;
    let key = id.clone();
    let row = state
        .pool
        .run(move |log| log.budget(&key))
        .await?
        .ok_or_else(|| ApiError::not_found_field("id", format!("no budget `{id}`")))?;
    Ok(json(&view(&state, row)))
}
