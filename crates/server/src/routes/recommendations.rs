//! `POST /v1/recommendations`: a customer's slate from the registry's active `recommend` model, each
//! slot with the offer (or none) that the active policy's ladder and shadow price make worth most,
//! logged with the exact probability of the shown ranking.
//!
//! The service follows the registry's active `recommend` model like the other models: its id is
//! polled every second and the artifact read only when the id changes; an artifact that fails its
//! checks is refused (and not read again), and the previous model keeps serving.

use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use discount_recommend::served::{
    PolicyOffers, RecommendArtifact, ServedRecommender, RECOMMEND_KIND,
};
use discount_recommend::{RecommendError, Scratch, Slate, SlateRequest};
use discount_store::model_registry::content_hash;
use discount_store::slate_log::SlateRow;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::{json, Shared};
use crate::auth::Role;
use crate::error::{checked_id, parse_json, ApiError, ApiResult, ErrorBody, ServerError};
use crate::models::Refusal;
use crate::pool::LogPool;
use utoipa::ToSchema;

/// Most slots one request may ask for.
const MAX_K: usize = 100;
/// Most exclusions of each kind in one request.
const MAX_EXCLUSIONS: usize = 1_000;
/// Events of the customer read to know what they just bought.
const HISTORY_EVENTS: usize = 1_000;

/// The registry's `recommend` model as this process follows it.
#[derive(Default)]
pub struct Recommendations {
    serving: RwLock<Option<(String, Arc<ServedRecommender>)>>,
    refused: RwLock<Option<Refusal>>,
}

impl Recommendations {
    /// The serving model's id and the model.
    pub fn serving(&self) -> Option<(String, Arc<ServedRecommender>)> {
        self.serving
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The active model this process refused, and why.
    pub fn refused(&self) -> Option<Refusal> {
        self.refused
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Follows the registry: reads the artifact only when the active id changed.
    pub fn refresh(&self, pool: &LogPool) -> Result<(), ServerError> {
        let id = pool.with(|log| log.active_model_id(RECOMMEND_KIND))?;
        let current = self.serving().map(|(id, _)| id);
        let refused = self.refused().map(|r| r.model_id);
        if id == current || (id.is_some() && id == refused) {
            return Ok(());
        }
        let row = match &id {
            Some(_) => pool.with(|log| log.active_model(RECOMMEND_KIND))?,
            None => None,
        };
        let Some(row) = row else {
            *self.serving.write().unwrap_or_else(|e| e.into_inner()) = None;
            *self.refused.write().unwrap_or_else(|e| e.into_inner()) = None;
            return Ok(());
        };
        match load(&row) {
            Ok(model) => {
                tracing::info!("recommend model {} serves recommendations", row.id);
                *self.serving.write().unwrap_or_else(|e| e.into_inner()) =
                    Some((row.id, Arc::new(model)));
                *self.refused.write().unwrap_or_else(|e| e.into_inner()) = None;
            }
            Err(reason) => {
                tracing::warn!("refused {reason}; the previous recommender keeps serving");
                *self.refused.write().unwrap_or_else(|e| e.into_inner()) = Some(Refusal {
                    model_id: row.id,
                    reason,
                });
            }
        }
        Ok(())
    }
}

/// Reads and checks a registered `recommend` artifact; the error is the reason to refuse it.
pub fn load(row: &discount_store::model_registry::ModelRow) -> Result<ServedRecommender, String> {
    let hash = content_hash(&row.artifact);
    if hash != row.content_hash {
        return Err(format!(
            "model `{}`: the stored artifact's SHA-256 is {hash}, the registry recorded {}",
            row.id, row.content_hash
        ));
    }
    RecommendArtifact::from_json(&row.artifact).map_err(|e| format!("model `{}`: {e}", row.id))
}

/// A slate of items for a customer, with offers attached.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RecommendationRequest)]
pub struct RecommendationBody {
    pub customer_id: String,
    /// Number of slots, 1 to 100.
    #[serde(default = "default_k")]
    #[schema(minimum = 1, maximum = 100, default = 10)]
    pub k: usize,
    #[serde(default)]
    pub context: RecommendationContext,
    #[serde(default)]
    pub exclusions: Exclusions,
    /// Attach offers from the active policy's ladder (default true; none without an active policy).
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub offers: bool,
    /// Draw the slate by Plackett-Luce at this temperature (exploration, for off-policy evaluation);
    /// absent: rank greedily (propensity 1).
    #[serde(default)]
    pub temperature: Option<f64>,
}

fn default_k() -> usize {
    10
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RecommendationContext {
    /// The customer's segment: a new customer gets that segment's popularity.
    pub segment: Option<String>,
}

/// Items and categories never to recommend (at most 1,000 of each).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Exclusions {
    pub items: Vec<String>,
    pub categories: Vec<String>,
}

impl RecommendationBody {
    fn validate(&self) -> Result<(), ApiError> {
        if self.customer_id.trim().is_empty() {
            return Err(ApiError::field("customer_id", "must not be empty"));
        }
        checked_id("customer_id", &self.customer_id)?;
        if !(1..=MAX_K).contains(&self.k) {
            return Err(ApiError::field(
                "k",
                format!("must be 1 to {MAX_K} (got {})", self.k),
            ));
        }
        if let Some(s) = &self.context.segment {
            checked_id("context.segment", s)?;
        }
        for (name, list) in [
            ("items", &self.exclusions.items),
            ("categories", &self.exclusions.categories),
        ] {
            if list.len() > MAX_EXCLUSIONS {
                return Err(ApiError::field(
                    format!("exclusions.{name}"),
                    format!("at most {MAX_EXCLUSIONS} (got {})", list.len()),
                ));
            }
            for (i, id) in list.iter().enumerate() {
                checked_id(&format!("exclusions.{name}[{i}]"), id)?;
            }
        }
        if let Some(t) = self.temperature {
            if !(t > 0.0 && t.is_finite()) {
                return Err(ApiError::field(
                    "temperature",
                    format!("must be finite and > 0 (got {t})"),
                ));
            }
        }
        Ok(())
    }
}

/// One recommended item.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendedItem {
    /// 1 = top.
    pub position: usize,
    pub item_id: String,
    pub category: String,
    /// Unit list price, minor units.
    pub price: i64,
    pub score: f64,
    /// With the offer when there is one.
    pub purchase_probability: f64,
    /// With the offer when there is one, minor units.
    pub expected_profit: f64,
    /// Probability of drawing this item here given the items above.
    pub conditional_propensity: f64,
    pub offer: Option<ItemOffer>,
}

/// The offer attached to a recommended item.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemOffer {
    pub offer_id: String,
    #[schema(value_type = crate::openapi::OfferSchema)]
    pub offer: discount_core::Offer,
    /// Discount on one unit, minor units.
    pub discount: i64,
    /// Expected profit with the offer minus without, minor units.
    pub incremental_profit: f64,
}

/// The slate as shown and logged.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Recommendation)]
pub struct RecommendationResponse {
    pub recommendation_id: String,
    pub customer_id: String,
    pub model_id: String,
    /// The policy whose ladder and shadow price chose the offers (none: no offers).
    pub policy_version: Option<String>,
    pub shadow_price: Option<f64>,
    /// Where the scores came from: `personal`, `segment_popularity` (with the segment) or
    /// `popularity`.
    #[schema(value_type = crate::openapi::ScoreSourceSchema)]
    pub source: discount_recommend::ScoreSource,
    pub items: Vec<RecommendedItem>,
    /// Exact probability of the shown ranking (1 when ranked greedily), as logged.
    pub propensity: f64,
    /// Of the whole slate with its offers, minor units.
    pub expected_profit: f64,
    /// Discount the slate's offers carry if all were used, minor units.
    pub offered_discount: i64,
    /// How many catalogue items each rule left out.
    #[schema(value_type = crate::openapi::ExclusionCountsSchema)]
    pub excluded: discount_recommend::rank::ExclusionCounts,
}

fn response_of(
    id: String,
    customer: &str,
    model_id: &str,
    policy: Option<(&str, f64)>,
    slate: Slate,
) -> RecommendationResponse {
    RecommendationResponse {
        recommendation_id: id,
        customer_id: customer.to_string(),
        model_id: model_id.to_string(),
        policy_version: policy.map(|(v, _)| v.to_string()),
        shadow_price: policy.map(|(_, l)| l),
        source: slate.source,
        propensity: slate.propensity,
        expected_profit: slate.expected_profit,
        offered_discount: slate.offered_discount,
        excluded: slate.excluded,
        items: slate
            .slots
            .into_iter()
            .map(|s| RecommendedItem {
                position: s.position + 1,
                item_id: s.item_id,
                category: s.category,
                price: s.price,
                score: s.score,
                purchase_probability: s
                    .offer
                    .as_ref()
                    .map_or(s.purchase_probability, |o| o.purchase_probability),
                expected_profit: s.expected_profit
                    + s.offer.as_ref().map_or(0.0, |o| o.incremental_profit),
                conditional_propensity: s.conditional_propensity,
                offer: s.offer.map(|o| ItemOffer {
                    offer_id: o.offer_id,
                    offer: o.offer,
                    discount: o.discount,
                    incremental_profit: o.incremental_profit,
                }),
            })
            .collect(),
    }
}

fn recommend_error(e: RecommendError) -> ApiError {
    match e {
        RecommendError::Input { field, message, .. } => ApiError::field(field, message),
        other => ApiError::internal("building the slate", other),
    }
}

#[utoipa::path(
    post,
    path = "/v1/recommendations",
    tag = "recommendations",
    summary = "A customer's slate from the active recommend model, each slot with its best offer; logged with its propensity (role decide)",
    request_body = RecommendationBody,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The slate", body = RecommendationResponse),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 413, description = "The body is over server.body_limit_bytes", body = ErrorBody),
        (status = 422, description = "A field is invalid (named in `field`)", body = ErrorBody),
        (status = 503, description = "No recommend model serves", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let caller = state.caller(&headers).await?;
    caller.require(Role::Decide)?;
    let body: RecommendationBody = parse_json(&body?)?;
    body.validate()?;
    let Some((model_id, model)) = state.recommendations.serving() else {
        let why = state.recommendations.refused().map_or(String::new(), |r| {
            format!(" (the active one was refused: {})", r.reason)
        });
        return Err(ApiError::unavailable(format!(
            "no recommend model serves{why}; register one with `discount recommend --register` and \
             promote it with POST /v1/models/{{id}}/promote"
        )));
    };
    // The stored id (the pseudonym when a key is configured): what events and the model know.
    let customer = state.customer_ids.stored(&body.customer_id);
    let now = state.clock.now();
    let c = customer.clone();
    let events = state
        .pool
        .run(move |log| log.events_of(&c, HISTORY_EVENTS))
        .await?;
    let policy = state.policies.active().filter(|_| body.offers);
    let offers = policy.as_ref().map(|p| PolicyOffers {
        ladder: p.engine.ladder().clone(),
        margin_floor: p.engine.config().rules.margin_floor,
        shadow_price: p.engine.lambda(None),
        budget_left: p.engine.ledger(None).map(|l| l.remaining()),
    });
    let request = SlateRequest {
        user_id: customer.clone(),
        segment: body.context.segment.clone(),
        k: body.k,
        now: Some(now),
        excluded_items: body.exclusions.items.clone(),
        excluded_categories: body.exclusions.categories.clone(),
        temperature: body.temperature,
        budget_left: None,
    };
    let n = state
        .counter
        .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    let id = format!("r-{}-{n:x}", state.instance);
    let seed = {
        let h = Sha256::digest(format!("{}:{id}", state.server().seed).as_bytes());
        u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let slate = model
        .recommend(
            &request,
            &events,
            offers.as_ref(),
            &mut Scratch::default(),
            &mut rng,
        )
        .map_err(recommend_error)?;
    let response = response_of(
        id.clone(),
        &customer,
        &model_id,
        policy
            .as_ref()
            .zip(offers.as_ref())
            .map(|(p, o)| (p.version.as_str(), o.shadow_price)),
        slate,
    );
    let row = SlateRow {
        id,
        customer_id: customer,
        at: now.0,
        model_id,
        policy_version: response.policy_version.clone(),
        items: encode(
            &response
                .items
                .iter()
                .map(|i| &i.item_id)
                .collect::<Vec<_>>(),
        )?,
        propensity: response.propensity,
        expected_profit: response.expected_profit,
        offered_discount: response.offered_discount,
        request: encode(&body)?,
        response: encode(&response)?,
    };
    state.pool.run(move |log| log.record_slate(&row)).await?;
    Ok(json(&response))
}

/// JSON for the log's text columns.
fn encode<T: Serialize + ?Sized>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::internal("encoding the slate log", e))
}
