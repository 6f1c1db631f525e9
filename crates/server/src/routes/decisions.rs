//! `POST /v1/decisions` and `GET /v1/decisions/{id}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use discount_core::{Offer, Timestamp};

use discount_features::Profile;
use discount_policy::{BasketLine, CustomerFacts, DecisionContext, DecisionRequest};
use discount_store::decision_log::{DecisionRow, Recorded};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::{json, Shared};
use crate::auth::Role;
use crate::error::{parse_json, ApiError, ApiResult, ErrorBody};
use crate::policies::FeatureSource;
use crate::profiles::{LiveProfile, ProfileError};
use axum::extract::rejection::BytesRejection;
use discount_policy::facts::{facts_of_profile, OFFER_HISTORY_DAYS, OFFER_HISTORY_DECISIONS};

const MAX_ID_LEN: usize = 256;
const MAX_BASKET_LINES: usize = 1_000;

/// One offer for a customer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DecisionRequest)]
pub struct DecisionBody {
    pub customer_id: String,
    #[serde(default)]
    pub context: ContextBody,
    /// Restrict the choice to these offer ids (`no offer` stays possible).
    #[serde(default)]
    pub candidate_offers: Option<Vec<String>>,
    /// The budget to charge; the engine's `default` campaign when absent.
    #[serde(default)]
    pub campaign: Option<String>,
    #[serde(default)]
    pub explain: bool,
    /// Same as the `Idempotency-Key` header (the header wins): a retry with the same key and body
    /// gets the same decision.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// Where and for what the offer is asked.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = DecisionContext)]
pub struct ContextBody {
    pub placement: String,
    pub device: String,
    pub basket: Vec<BasketBody>,
}

/// One basket line; money in minor units.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BasketLine)]
pub struct BasketBody {
    pub item_id: String,
    #[serde(default)]
    pub category: String,
    #[schema(minimum = 1)]
    pub quantity: u32,
    /// Unit list price, minor units.
    pub unit_price: i64,
    #[serde(default)]
    pub unit_cost: Option<i64>,
}

/// The answer, stored verbatim so that a retry gets exactly this.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = Decision)]
pub struct DecisionResponse {
    pub decision_id: String,
    /// The stored id (the pseudonym when the service pseudonymises customer ids).
    pub customer_id: String,
    /// The ladder rung given.
    pub offer_id: String,
    #[schema(value_type = crate::openapi::OfferSchema)]
    pub offer: Offer,
    /// The probability with which the policy chose this offer (for off-policy evaluation).
    pub propensity: f64,
    /// Whether the offer was an exploration draw.
    pub explored: bool,
    /// Expected incremental profit of the offer against no offer, minor units.
    pub expected_profit: i64,
    pub policy_version: String,
    pub campaign: String,
    /// Budget held for this decision until its outcome is known, minor units.
    pub reserved: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basket_discount: Option<i64>,
    /// In apprentice mode the control arm is served and this is what the policy would have given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apprentice_choice: Option<String>,
    #[schema(format = DateTime)]
    pub decided_at: String,
    /// Orders until this time are attributed to the decision.
    #[schema(format = DateTime)]
    pub attribution_ends_at: String,
    /// Each offer's scores and the terms that chose it, when the request asked `explain`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub explanation: Option<serde_json::Value>,
    /// The fraud gate's record (score, reasons, action) when it capped or withheld the offer or
    /// the customer has risk reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::openapi::GateRecordSchema>)]
    pub gate: Option<discount_policy::GateRecord>,
    /// The registered response model that scored the offers; absent when the policy's own
    /// online models did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

impl DecisionBody {
    /// Checks what serde cannot, naming the field.
    pub fn validate(&self) -> Result<(), ApiError> {
        let id_ok = |field: &str, v: &str| {
            if v.trim().is_empty() {
                return Err(ApiError::field(field, "must not be empty"));
            }
            crate::error::checked_id(field, v)
        };
        id_ok("customer_id", &self.customer_id)?;
        for (i, offer) in self.candidate_offers.iter().flatten().enumerate() {
            id_ok(&format!("candidate_offers[{i}]"), offer)?;
        }
        if let Some(k) = &self.idempotency_key {
            id_ok("idempotency_key", k)?;
        }
        if let Some(c) = &self.campaign {
            id_ok("campaign", c)?;
        }
        if self.context.basket.len() > MAX_BASKET_LINES {
            return Err(ApiError::field(
                "context.basket",
                format!("at most {MAX_BASKET_LINES} lines"),
            ));
        }
        let mut basket_total: i64 = 0;
        for (i, line) in self.context.basket.iter().enumerate() {
            let f = |name: &str| format!("context.basket[{i}].{name}");
            id_ok(&f("item_id"), &line.item_id)?;
            if !line.category.is_empty() {
                crate::error::checked_id(&f("category"), &line.category)?;
            }
            if line.quantity == 0 {
                return Err(ApiError::field(f("quantity"), "must be at least 1"));
            }
            if line.unit_price < 0 {
                return Err(ApiError::field(
                    f("unit_price"),
                    format!("must not be negative (got {})", line.unit_price),
                ));
            }
            if line.unit_cost.is_some_and(|c| c < 0) {
                return Err(ApiError::field(f("unit_cost"), "must not be negative"));
            }
            basket_total = line
                .unit_price
                .checked_mul(i64::from(line.quantity))
                .and_then(|t| basket_total.checked_add(t))
                .ok_or_else(|| {
                    ApiError::field(
                        f("unit_price"),
                        format!(
                            "the basket's total does not fit in 64-bit minor units (unit_price {} x quantity {})",
                            line.unit_price, line.quantity
                        ),
                    )
                })?;
        }
        Ok(())
    }

    fn into_request(self) -> DecisionRequest {
        DecisionRequest {
            customer_id: self.customer_id,
            context: DecisionContext {
                placement: self.context.placement,
                device: self.context.device,
                basket: self
                    .context
                    .basket
                    .into_iter()
                    .map(|l| BasketLine {
                        item_id: l.item_id,
                        category: l.category,
                        quantity: l.quantity,
                        unit_price: l.unit_price,
                        unit_cost: l.unit_cost,
                    })
                    .collect(),
            },
            candidate_offers: self.candidate_offers,
            campaign: self.campaign,
            explain: self.explain,
        }
    }
}

/// What the service knows of a customer as of `now`: their profile and feature vector (from
/// the profile state kept up to date, or rebuilt from the stored history; see
/// [`crate::profiles`]) and the offers they were given.
pub struct History {
    pub live: LiveProfile,
    /// Served rung and decision time of each past decision, latest first.
    pub offers: Vec<(String, i64)>,
}

impl History {
    /// Reads a customer's profile and offers (one round trip on the blocking pool for
    /// PostgreSQL or Redis; in place on SQLite, where an indexed read never waits on writers).
    pub async fn read(state: &Shared, customer: &str, now: Timestamp) -> Result<Self, ApiError> {
        let c = customer.to_string();
        let since = now.0 - OFFER_HISTORY_DAYS * discount_core::time::MICROS_PER_DAY;
        let profiles = Arc::clone(&state.profiles);
        type Read = (Result<LiveProfile, ProfileError>, Vec<(String, i64)>);
        let read = move |log: &mut dyn discount_store::decision_log::DecisionLog| -> Result<Read, discount_store::StoreError> {
            let live = profiles.live(log, &c, now);
            let offers = log.offers_of(&c, since, OFFER_HISTORY_DECISIONS)?;
            Ok((live, offers))
        };
        let (live, offers) = if state.blocking_ledger || state.server().redis_url.is_some() {
            state.pool.run(read).await?
        } else {
            state.pool.with(read)?
        };
        Ok(Self {
            live: live?,
            offers,
        })
    }

    /// The profile and feature vector as of `now`: the values training rows get for the same
    /// events.
    pub fn profile(
        &self,
        _customer: &str,
        _now: Timestamp,
    ) -> Result<(Profile, Vec<f64>), ApiError> {
        Ok((self.live.profile.clone(), self.live.vector.clone()))
    }

    /// Whether any event of the customer up to `now` is stored.
    pub fn known(&self) -> bool {
        self.live.profile.events > 0
    }
}

/// The customer's live facts: the profile as of `now` and the offers given before.
async fn facts(
    state: &Shared,
    customer: &str,
    sources: &[FeatureSource],
    now: Timestamp,
) -> Result<CustomerFacts, ApiError> {
    let history = History::read(state, customer, now).await?;
    let embeddings = state.policies.scoring_embeddings();
    Ok(facts_of_profile(
        customer,
        &history.live.profile,
        history.live.vector,
        &history.offers,
        now,
        embeddings.as_deref(),
        sources,
    ))
}

/// Gives back a hold no decision will use (on the blocking pool when the ledger is shared).
async fn release(state: &Shared, ledger: &Option<Arc<dyn crate::ledger::Ledger>>, reserved: i64) {
    let Some(l) = ledger.clone().filter(|_| reserved > 0) else {
        return;
    };
    if state.blocking_ledger {
        let _ = tokio::task::spawn_blocking(move || l.release(reserved)).await;
    } else {
        l.release(reserved);
    }
}

fn replay(stored: &DecisionRow) -> Response {
    let mut r = (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        stored.response.clone(),
    )
        .into_response();
    r.headers_mut()
        .insert("idempotent-replay", HeaderValue::from_static("true"));
    r
}

#[utoipa::path(
    post,
    path = "/v1/decisions",
    tag = "decisions",
    summary = "Decide one offer for a customer; logged before it is answered (role decide)",
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key and body gets the same decision (1 to 256 bytes)")),
    request_body = DecisionBody,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The decision (with header `Idempotent-Replay: true` when it answers a retry)", body = DecisionResponse),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 413, description = "The body is over server.body_limit_bytes", body = ErrorBody),
        (status = 422, description = "A field is invalid (named in `field`: also an offer or campaign the active policy lacks), or the idempotency key was used for another request", body = ErrorBody),
        (status = 503, description = "No policy is active", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    decide(&state, &headers, &body?).await
}

async fn decide(state: &Shared, headers: &HeaderMap, body: &[u8]) -> ApiResult {
    let caller = state.caller(headers).await?;
    caller.require(Role::Decide)?;
    let mut body: DecisionBody = parse_json(body)?;
    body.validate()?;
    // From here on the customer is the stored id (the pseudonym when a key is configured): it is
    // what the history was stored under and what the log may hold.
    body.customer_id = state.customer_ids.stored(&body.customer_id);
    let header_key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::field("Idempotency-Key", "must be visible ASCII"))?
                .to_string(),
        ),
        None => None,
    };
    if header_key
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.len() > MAX_ID_LEN)
    {
        return Err(ApiError::field(
            "Idempotency-Key",
            format!("must be 1 to {MAX_ID_LEN} bytes"),
        ));
    }
    let client_key = header_key.or_else(|| body.idempotency_key.clone());
    let scoped_key = client_key
        .as_ref()
        .map(|k| format!("{}:{k}", caller.key_id));
    let fingerprint = RequestEcho::of(&body).fingerprint(&body.customer_id)?;
    if let Some(k) = &scoped_key {
        let key = k.clone();
        if let Some(stored) = state
            .pool
            .run(move |log| log.decision_by_idempotency_key(&key))
            .await?
        {
            return replay_same(&stored, &fingerprint, client_key.as_deref());
        }
    }
    let policy = state.policies.active().ok_or_else(|| {
        ApiError::unavailable(
            "no policy is active; activate one with POST /v1/policies/{version}/activate",
        )
    })?;
    let now = state.clock.now();
    let customer = body.customer_id.clone();
    let facts = facts(state, &customer, &policy.features, now).await?;
    let request_json = serde_json::to_value(RequestEcho::of(&body))
        .map_err(|e| ApiError::internal("encoding the request", e))?;
    let request = body.into_request();
    let id = state.next_decision_id();
    let seed = {
        let h = Sha256::digest(format!("{}:{id}", state.server().seed).as_bytes());
        u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let decided = if state.blocking_ledger {
        let (engine, facts) = (Arc::clone(&policy.engine), facts.clone());
        tokio::task::spawn_blocking(move || engine.decide(&request, &facts, &mut rng)).await?
    } else {
        policy.engine.decide(&request, &facts, &mut rng)
    };
    let mut decision = decided?;
    state
        .policies
        .drift()
        .observe(&facts.features, decision.expected_profit);
    let ledger = state.policies.ledger_of(&decision.campaign);
    let mut apprentice_choice = None;
    if policy.apprentice {
        // Serve the control arm; log what the policy chose. Its hold is not needed.
        release(state, &ledger, decision.reserved).await;
        let base = &policy.engine.ladder().rungs[policy.engine.ladder().baseline];
        apprentice_choice = Some(std::mem::replace(&mut decision.offer_id, base.id.clone()));
        decision.offer = base.offer.clone();
        decision.reserved = 0;
        decision.basket_discount = None;
        decision.propensity = 1.0;
        decision.explored = false;
    }
    let deadline = Timestamp(now.0 + state.window_micros());
    let response = DecisionResponse {
        decision_id: id.clone(),
        customer_id: customer.clone(),
        offer_id: decision.offer_id.clone(),
        offer: decision.offer.clone(),
        propensity: decision.propensity,
        explored: decision.explored,
        expected_profit: decision.expected_profit,
        policy_version: decision.policy_version.clone(),
        campaign: decision.campaign.clone(),
        reserved: decision.reserved,
        basket_discount: decision.basket_discount,
        apprentice_choice,
        decided_at: crate::clock::rfc3339(now),
        attribution_ends_at: crate::clock::rfc3339(deadline),
        explanation: decision
            .explanation
            .as_ref()
            .and_then(|e| serde_json::to_value(e).ok()),
        gate: decision.gate.clone(),
        model_id: decision.model_id.clone(),
    };
    let response_json = serde_json::to_string(&response)
        .map_err(|e| ApiError::internal("encoding the response", e))?;
    let logged = serde_json::json!({
        "policy": policy.version,
        "offer_id": decision.offer_id,
        "features": facts.features,
        "model_id": decision.model_id,
        "feature_spec": decision
            .model_id
            .as_ref()
            .map(|_| crate::models::serving_spec_id()),
        "body": request_json,
        "scores": decision.scores,
        "gate": decision.gate,
        "fingerprint": fingerprint,
    });
    let row = DecisionRow {
        id,
        idempotency_key: scoped_key,
        customer_id: customer,
        at: now.0,
        attribution_deadline: deadline.0,
        policy_version: decision.policy_version.clone(),
        offer: serde_json::to_string(&decision.offer)
            .map_err(|e| ApiError::internal("encoding the offer", e))?,
        propensity: decision.propensity,
        explored: decision.explored,
        expected_profit: decision.expected_profit,
        currency: state.server().currency.clone(),
        budget_id: ledger.as_ref().map(|_| decision.campaign.clone()),
        reserved: decision.reserved,
        request: logged.to_string(),
        response: response_json.clone(),
        joined: false,
        offer_id: Some(decision.offer_id.clone()),
    };
    match state.writer.record(row).await {
        Ok(Recorded::Stored) => {}
        Ok(Recorded::Existing(stored)) => {
            // A concurrent retry won: its decision stands, ours never happened.
            release(state, &ledger, decision.reserved).await;
            return replay_same(&stored, &fingerprint, client_key.as_deref());
        }
        Err(e) => {
            release(state, &ledger, decision.reserved).await;
            return Err(e);
        }
    }
    state
        .metrics
        .decisions
        .with_label_values(&[&decision.offer_id])
        .inc();
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        response_json,
    )
        .into_response())
}

/// The request as logged (the body's fields, without the idempotency key).
#[derive(Serialize)]
struct RequestEcho<'a> {
    context: &'a ContextBody,
    candidate_offers: &'a Option<Vec<String>>,
    campaign: &'a Option<String>,
    explain: bool,
}

impl<'a> RequestEcho<'a> {
    fn of(b: &'a DecisionBody) -> Self {
        Self {
            context: &b.context,
            candidate_offers: &b.candidate_offers,
            campaign: &b.campaign,
            explain: b.explain,
        }
    }

    /// SHA-256 of the customer and the request as logged: two requests with one idempotency key
    /// must have the same fingerprint.
    fn fingerprint(&self, customer: &str) -> Result<String, ApiError> {
        let echo = serde_json::to_string(self)
            .map_err(|e| ApiError::internal("encoding the request", e))?;
        let digest = Sha256::digest(format!("{customer}\u{1f}{echo}").as_bytes());
        Ok(hex::encode(&digest[..16]))
    }
}

/// Replays a stored decision to a retry, after checking that the retry asks the same thing (as
/// payment APIs do, a key reused with another body is the caller's mistake, not a retry).
fn replay_same(
    stored: &DecisionRow,
    fingerprint: &str,
    client_key: Option<&str>,
) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct Logged {
        fingerprint: Option<String>,
    }
    let logged = serde_json::from_str::<Logged>(&stored.request)
        .ok()
        .and_then(|l| l.fingerprint);
    if logged.as_deref().is_some_and(|f| f != fingerprint) {
        let key = client_key.unwrap_or_default();
        return Err(ApiError {
            status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            code: "idempotency_key_reused",
            message: format!(
                "the idempotency key `{key}` was already used for a different request (decision {}); \
                 a retry must send the same body, a new request needs a new key",
                stored.id
            ),
            field: Some("Idempotency-Key".into()),
            retry_after_seconds: None,
        });
    }
    Ok(replay(stored))
}

/// A logged decision with its outcome.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = DecisionRecord)]
pub struct DecisionView {
    /// The decision as it was answered.
    #[schema(value_type = DecisionResponse)]
    pub decision: serde_json::Value,
    /// `open` until the outcome is known, then `joined`.
    pub status: &'static str,
    pub outcome: Option<crate::routes::outcomes::OutcomeView>,
}

#[utoipa::path(
    get,
    path = "/v1/decisions/{id}",
    tag = "decisions",
    summary = "A logged decision and its outcome (role decide)",
    params(("id" = String, Path, description = "The decision's id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The decision as answered, and its outcome once known", body = DecisionView),
        (status = 404, description = "No such decision", body = ErrorBody),
        (status = 422, description = "The id is empty, too long or holds control characters", body = ErrorBody),
    )
)]
pub async fn read(
    State(state): State<Shared>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = crate::routes::admin::path_id(id)?;
    let caller = state.caller(&headers).await?;
    caller.require(Role::Decide)?;
    crate::error::checked_id("id", &id)?;
    let key = id.clone();
    let (decision, outcome) = state
        .pool
        .run(move |log| Ok((log.decision(&key)?, log.outcome(&key)?)))
        .await?;
    let decision =
        decision.ok_or_else(|| ApiError::not_found_field("id", format!("no decision `{id}`")))?;
    let body: serde_json::Value = serde_json::from_str(&decision.response)
        .map_err(|e| ApiError::internal("reading the logged response", e))?;
    Ok(json(&DecisionView {
        decision: body,
        status: if decision.joined { "joined" } else { "open" },
        outcome: outcome.map(crate::routes::outcomes::OutcomeView::from),
    }))
}
