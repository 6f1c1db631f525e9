//! The decision engine: one offer per request, maximising expected incremental profit at the
//! budget's shadow price, within the rules, with a logged probability.
//!
//! # Contract
//!
//! - Build a [`DecisionEngine`] from an [`EngineConfig`] (ladder, rules, budgets, exploration,
//!   model). It is `Send + Sync`: share it in an `Arc` and call [`DecisionEngine::decide`] from as
//!   many threads as you like; the models sit behind a read-write lock, shadow prices and the
//!   in-memory ledger are atomics.
//! - [`DecisionEngine::decide`] takes a [`DecisionRequest`] (who, where, the basket, optional
//!   candidate offer ids and campaign), the customer's [`CustomerFacts`] (feature vector in the
//!   order of `model.features`, order count, days since each offer was last given) and a seeded
//!   random generator. It returns a [`Decision`]: the chosen rung, its propensity (the probability
//!   with which this engine, in this state, picks it), whether the pick was exploration, the
//!   expected incremental profit of every rung with its probability (the probabilities of all
//!   rungs sum to 1; ineligible rungs have probability 0), the gate's record and, on request, an
//!   explanation. Log the decision before answering: the log is what learners and evaluators read.
//! - Order of the rules: candidate filter, fraud gate (withhold or cap), eligibility, margin floor
//!   on the basket, budget (a rung whose reservation does not fit the ledger is ineligible), then
//!   scoring and exploration. `no offer` is always eligible.
//! - Budget: a chosen offer's most possible cost ([`Decision::reserved`]) is reserved in the
//!   campaign's [`BudgetLedger`] before the decision is returned, so the budget can never be
//!   overspent. When the outcome is known call [`DecisionEngine::settle`] with the discount
//!   actually paid (commit) or 0 (release). Call [`DecisionEngine::pace`] periodically with the
//!   progress through the period so that the shadow price keeps spend on the even curve.
//! - Learning: [`DecisionEngine::update`] folds one [`JoinedOutcome`] (the decision's features,
//!   rung, profit, discount, whether the customer ordered) into the rung's model; each update bumps
//!   the model version reported in [`Decision::policy_version`].
//! - Risk: plug a [`discount_core::RiskScores`] source in with [`DecisionEngine::with_risk`];
//!   without one only the configured rule list applies.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use discount_core::{Offer, RiskScores};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::bandit::{Exploration, Ridge, CONVERSION, PROFIT, SPEND, TARGETS};
use crate::budget::{AtomicLedger, BudgetLedger, Pacer, PacingConfig};
use crate::error::PolicyError;
use crate::fairness::FairnessConfig;
use crate::gate::{GateAction, GateConfig, GateRecord, RiskGate};
use crate::offers::{
    basket_discount, eligible, History, Ineligible, Ladder, MarginFloor, OfferSpec,
};
use crate::response::ResponseModel;
use crate::scoring::OfferScorer;
use crate::stock::StockBook;

/// One basket line of the request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BasketLine {
    pub item_id: String,
    #[serde(default)]
    pub category: String,
    pub quantity: u32,
    /// Unit list price, minor units.
    pub unit_price: i64,
    /// Unit cost of goods, minor units, when known.
    #[serde(default)]
    pub unit_cost: Option<i64>,
}

/// Where and with what the customer is deciding.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionContext {
    pub placement: String,
    pub device: String,
    pub basket: Vec<BasketLine>,
}

/// A request for one decision.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DecisionRequest {
    pub customer_id: String,
    #[serde(default)]
    pub context: DecisionContext,
    /// Restrict the choice to these ladder ids (`no offer` stays eligible).
    #[serde(default)]
    pub candidate_offers: Option<Vec<String>>,
    /// Budget to charge; `None` is the `default` campaign.
    #[serde(default)]
    pub campaign: Option<String>,
    #[serde(default)]
    pub explain: bool,
}

/// What the engine knows about the customer at decision time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerFacts {
    /// Feature vector in the order of `EngineConfig.model.features`.
    pub features: Vec<f64>,
    /// Orders placed so far.
    pub orders: u32,
    /// Days since each rung (by id) was last given to this customer.
    pub days_since_offer: BTreeMap<String, u32>,
    /// The whole profile feature vector (the feature spec's order), which a trained response
    /// model reads; empty where none is built (then only the engine's own models can score).
    pub profile: Vec<f64>,
}

/// One rung's score in a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OfferScore {
    pub offer_id: String,
    /// Expected incremental profit against no offer, minor units (includes the lifetime-value
    /// term where configured).
    pub expected_incremental_profit: f64,
    /// Expected discount spend, minor units.
    pub expected_cost: f64,
    /// `expected_incremental_profit - lambda * expected_cost`: what the choice maximises.
    pub value: f64,
    /// Probability that this rung is chosen.
    pub probability: f64,
    /// Why the rung could not be chosen, if so.
    pub ineligible: Option<Ineligible>,
}

/// One feature's part in the chosen rung's value over no offer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureContribution {
    pub feature: String,
    pub value: f64,
    pub contribution: f64,
}

/// Why this rung.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// Largest contributions (by magnitude) to the chosen rung's value over no offer.
    pub top_features: Vec<FeatureContribution>,
    /// The best other eligible rung, and how much less it was worth.
    pub runner_up: Option<String>,
    pub margin: f64,
    pub reason: String,
    /// What the customer's history contributed to the offer's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryContribution>,
}

/// The value (incremental profit - lambda x expected cost) of one rung for this customer, with
/// their history and as a newcomer: every history feature at the value a customer without any
/// event has (the engine's `bias` stays 1). The rung is the chosen one, or the best other
/// eligible one when no offer was chosen. Both are scored by the same model without the basket's
/// stock adjustment, which does not depend on history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryContribution {
    pub offer_id: String,
    pub with_history: f64,
    pub as_newcomer: f64,
    /// `with_history - as_newcomer`.
    pub contribution: f64,
}

/// A newcomer's profile vector of `len` values: the base features of a customer without events
/// and zeros for the learned slots (what an unknown customer gets).
fn newcomer_profile(len: usize) -> Vec<f64> {
    let mut v = discount_features::ProfileBuilder::new("")
        .snapshot(discount_core::Timestamp(0))
        .ok()
        .and_then(|p| {
            discount_features::FeatureSpec::base_ref()
                .vector(&p, &[])
                .ok()
        })
        .unwrap_or_default();
    v.resize(len, 0.0);
    v
}

/// The engine's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub offer_id: String,
    pub offer: Offer,
    pub propensity: f64,
    pub explored: bool,
    /// Expected incremental profit of the chosen rung, minor units.
    pub expected_profit: i64,
    pub policy_version: String,
    pub scores: Vec<OfferScore>,
    pub explanation: Option<Explanation>,
    pub gate: Option<GateRecord>,
    /// Campaign charged.
    pub campaign: String,
    /// Amount reserved in the campaign's ledger (settle it with the actual discount).
    pub reserved: i64,
    /// The discount on the request's basket, when a basket was given.
    pub basket_discount: Option<i64>,
    /// Shadow price used.
    pub lambda: f64,
    /// The registered response model that scored the offers; `None` when the engine's own
    /// online models did.
    pub model_id: Option<String>,
}

/// A decision's outcome joined to it, for learning.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JoinedOutcome {
    pub offer_id: String,
    pub features: Vec<f64>,
    /// Paid revenue minus cost of goods of the orders attributed to the decision, minor units.
    pub profit: f64,
    /// Discount paid, minor units.
    pub discount: f64,
    pub ordered: bool,
}

/// A budget of one campaign and period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    #[serde(default = "default_campaign")]
    pub campaign: String,
    /// Minor units for the period.
    pub amount: i64,
    /// Shadow price at the start (from `discount plan`); 0 spends freely until pacing says not.
    #[serde(default)]
    pub initial_lambda: f64,
    /// When the period starts (RFC 3339). With `period_days`, the service paces spend along the
    /// even curve over the period: its shadow price rises when spend runs ahead, falls behind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<String>,
    /// The period's length in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_days: Option<f64>,
}

impl BudgetConfig {
    /// The period as `[start, end)` microseconds, if the budget has one.
    pub fn period(&self, index: usize) -> Result<Option<(i64, i64)>, PolicyError> {
        let invalid = |value: String, rule: &'static str| PolicyError::Config {
            field: format!("budgets[{index}].period_start / period_days"),
            value,
            rule,
        };
        match (&self.period_start, self.period_days) {
            (None, None) => Ok(None),
            (Some(start), Some(days)) if days.is_finite() && days > 0.0 => {
                let start = discount_core::Timestamp::parse("period_start", start)
                    .map_err(|e| invalid(e.to_string(), "period_start must be a time"))?;
                let length = (days * discount_core::time::MICROS_PER_DAY as f64) as i64;
                Ok(Some((start.0, start.0.saturating_add(length))))
            }
            (start, days) => Err(invalid(
                format!("{start:?} / {days:?}"),
                "give both, with period_days > 0",
            )),
        }
    }
}

fn default_campaign() -> String {
    "default".into()
}

/// Rules every decision obeys.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    pub margin_floor: MarginFloor,
    /// What free shipping costs, minor units.
    pub shipping_fee: i64,
    pub gate: GateConfig,
    /// Offer-rate and price-spread limits across customers ([`crate::fairness`]); off by default.
    pub fairness: FairnessConfig,
}

/// How the rungs' models are structured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelStructure {
    /// One regression per rung.
    #[default]
    Disjoint,
    /// One regression over `[x, depth * x, one-hot(rung)]`.
    Shared,
}

/// The scoring model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Feature names; their number is the model's dimension.
    pub features: Vec<String>,
    /// Ridge penalty (prior precision) of each regression, > 0.
    pub ridge: f64,
    pub structure: ModelStructure,
    /// Expected future profit (minor units) of turning a customer without orders into a buyer:
    /// when set, a rung's value for such a customer adds `(P(order | rung) - P(order | none)) *
    /// lifetime_value`.
    pub lifetime_value: Option<f64>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            features: vec!["bias".into()],
            ridge: 1.0,
            structure: ModelStructure::Disjoint,
            lifetime_value: None,
        }
    }
}

/// Everything the engine is built from (TOML or JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    #[serde(default = "default_name")]
    pub name: String,
    pub ladder: Vec<OfferSpec>,
    #[serde(default)]
    pub rules: RulesConfig,
    /// No budget: offers are free of a shadow price and of reservations.
    #[serde(default)]
    pub budgets: Vec<BudgetConfig>,
    #[serde(default)]
    pub pacing: PacingConfig,
    #[serde(default)]
    pub exploration: Exploration,
    #[serde(default)]
    pub model: ModelConfig,
}

fn default_name() -> String {
    "engine".into()
}

impl EngineConfig {
    /// Parses TOML, naming the origin in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, PolicyError> {
        toml::from_str(text).map_err(|e| PolicyError::Config {
            field: origin.to_string(),
            value: e.to_string(),
            rule: "must be a valid engine configuration",
        })
    }

    /// Writes the configuration as TOML.
    pub fn to_toml(&self) -> Result<String, PolicyError> {
        toml::to_string(self).map_err(|e| PolicyError::Config {
            field: "engine configuration".into(),
            value: e.to_string(),
            rule: "must be representable in TOML",
        })
    }
}

struct CampaignBudget {
    ledger: Arc<dyn BudgetLedger>,
    pacer: Pacer,
    /// `[start, end)` in microseconds, for pacing by the clock.
    period: Option<(i64, i64)>,
}

struct Models {
    arms: Vec<Ridge>,
}

/// A trained scorer the engine scores with, with each ladder rung's place in it.
#[derive(Debug)]
struct ServingModel {
    id: String,
    scorer: Arc<dyn OfferScorer>,
    /// The scorer's offer `rung[k]` is ladder rung `k`.
    rung: Vec<usize>,
}

/// The engine. See the module documentation for the contract.
pub struct DecisionEngine {
    config: EngineConfig,
    ladder: Ladder,
    gate: RiskGate,
    budgets: HashMap<String, CampaignBudget>,
    models: RwLock<Models>,
    /// When set, the offers are scored by this trained model instead of `models`.
    response: RwLock<Option<Arc<ServingModel>>>,
    /// A lifetime value from a trained model (minor units of profit), in place of
    /// `config.model.lifetime_value`.
    lifetime_value: RwLock<Option<f64>>,
    /// Stock positions: when set, an offer's value carries the stock's shadow price (`stock`).
    stock: RwLock<Option<Arc<StockBook>>>,
    version: AtomicU64,
    /// `policy_version()` of the version it was made at (formatting it per decision is slow).
    version_label: RwLock<(u64, String)>,
    dim: usize,
    /// Shared structure: each rung's depth (its reservation relative to the deepest rung).
    depth: Vec<f64>,
}

impl std::fmt::Debug for DecisionEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionEngine")
            .field("name", &self.config.name)
            .field("rungs", &self.ladder.len())
            .field("dim", &self.dim)
            .finish()
    }
}

/// Scratch values of one rung during a decision.
#[derive(Clone, Copy, Default)]
struct Scored {
    profit: f64,
    spend: f64,
    conversion: f64,
    sd: f64,
}

impl DecisionEngine {
    pub fn new(config: EngineConfig) -> Result<Self, PolicyError> {
        let ladder = Ladder::new(config.ladder.clone())?;
        let gate = RiskGate::new(config.rules.gate.clone())?;
        config.rules.fairness.validate()?;
        config.exploration.validate()?;
        if !(config.model.ridge.is_finite() && config.model.ridge > 0.0) {
            return Err(PolicyError::Hyper {
                name: "model.ridge",
                value: config.model.ridge,
                rule: "must be a finite number > 0",
            });
        }
        if config.model.features.is_empty() {
            return Err(PolicyError::Config {
                field: "model.features".into(),
                value: "[]".into(),
                rule: "must name at least one feature",
            });
        }
        if let Some(v) = config.model.lifetime_value {
            if !(v.is_finite() && v >= 0.0) {
                return Err(PolicyError::Hyper {
                    name: "model.lifetime_value",
                    value: v,
                    rule: "must be a finite number >= 0",
                });
            }
        }
        if config.rules.shipping_fee < 0 {
            return Err(PolicyError::Config {
                field: "rules.shipping_fee".into(),
                value: config.rules.shipping_fee.to_string(),
                rule: "must not be negative",
            });
        }
        if !(config.pacing.gain.is_finite() && config.pacing.gain >= 0.0) {
            return Err(PolicyError::Hyper {
                name: "pacing.gain",
                value: config.pacing.gain,
                rule: "must be a finite number >= 0",
            });
        }
        let mut budgets = HashMap::new();
        for (i, b) in config.budgets.iter().enumerate() {
            if b.amount < 0 || !(b.initial_lambda.is_finite() && b.initial_lambda >= 0.0) {
                return Err(PolicyError::Config {
                    field: format!("budgets[{i}]"),
                    value: format!("amount {} initial_lambda {}", b.amount, b.initial_lambda),
                    rule: "amount must be >= 0 and initial_lambda a finite number >= 0",
                });
            }
            let ledger: Arc<dyn BudgetLedger> = Arc::new(AtomicLedger::new(b.amount));
            if budgets
                .insert(
                    b.campaign.clone(),
                    CampaignBudget {
                        ledger,
                        pacer: Pacer::new(b.initial_lambda, config.pacing),
                        period: b.period(i)?,
                    },
                )
                .is_some()
            {
                return Err(PolicyError::Config {
                    field: format!("budgets[{i}].campaign"),
                    value: b.campaign.clone(),
                    rule: "must be unique",
                });
            }
        }
        let d = config.model.features.len();
        let k = ladder.len();
        let reserves: Vec<f64> = ladder
            .rungs
            .iter()
            .map(|r| {
                basket_discount(
                    r,
                    &[],
                    &config.rules.margin_floor,
                    config.rules.shipping_fee,
                )
                .unwrap_or(0) as f64
            })
            .collect();
        let deepest = reserves.iter().copied().fold(0.0, f64::max).max(1.0);
        let depth = reserves.iter().map(|r| r / deepest).collect();
        let arms = match config.model.structure {
            ModelStructure::Disjoint => (0..k).map(|_| Ridge::new(d, config.model.ridge)).collect(),
            ModelStructure::Shared => vec![Ridge::new(2 * d + k, config.model.ridge)],
        };
        Ok(Self {
            dim: d,
            depth,
            ladder,
            gate,
            budgets,
            models: RwLock::new(Models { arms }),
            response: RwLock::new(None),
            lifetime_value: RwLock::new(None),
            stock: RwLock::new(None),
            version: AtomicU64::new(0),
            version_label: RwLock::new((u64::MAX, String::new())),
            config,
        })
    }

    /// Scores with a trained response model from now on (decisions in flight finish with the
    /// one they started with). Refused, leaving the current scorer in place, when the model is
    /// broken or has not learned every rung of the ladder.
    pub fn set_response_model(&self, id: &str, model: ResponseModel) -> Result<(), PolicyError> {
        model.validate()?;
        self.set_scorer(id, Arc::new(model))
    }

    /// Scores with any trained [`OfferScorer`] from now on; refused, leaving the current scorer
    /// in place, when it has not learned every rung of the ladder.
    pub fn set_scorer(&self, id: &str, scorer: Arc<dyn OfferScorer>) -> Result<(), PolicyError> {
        let ids: Vec<&str> = self.ladder.rungs.iter().map(|r| r.id.as_str()).collect();
        let rung = scorer.index_offers(&ids)?;
        let serving = ServingModel {
            id: id.to_string(),
            scorer,
            rung,
        };
        *self.response.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(serving));
        Ok(())
    }

    /// The future profit (minor units) of turning a customer without orders into a buyer, from a
    /// trained lifetime-value model; `None` goes back to `model.lifetime_value` of the
    /// configuration.
    pub fn set_lifetime_value(&self, value: Option<f64>) -> Result<(), PolicyError> {
        if let Some(v) = value.filter(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(PolicyError::Hyper {
                name: "lifetime value",
                value: v,
                rule: "must be a finite number >= 0",
            });
        }
        *self
            .lifetime_value
            .write()
            .unwrap_or_else(|e| e.into_inner()) = value;
        Ok(())
    }

    /// Values offers with these stock positions from now on ([`crate::stock`]); `None` ignores
    /// stock again.
    pub fn set_stock(&self, book: Option<StockBook>) {
        *self.stock.write().unwrap_or_else(|e| e.into_inner()) = book.map(Arc::new);
    }

    /// Goes back to the engine's own online models.
    pub fn clear_response_model(&self) {
        *self.response.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The id of the trained model that scores, if any.
    pub fn response_model_id(&self) -> Option<String> {
        self.response
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|m| m.id.clone())
    }

    /// Plugs in a risk score source (e.g. the fraud crate's score table).
    pub fn with_risk(mut self, scores: Arc<dyn RiskScores>) -> Self {
        self.gate = self.gate.with_scores(scores);
        self
    }

    /// Replaces a campaign's ledger (e.g. with one shared by several processes).
    pub fn with_ledger(
        mut self,
        campaign: &str,
        ledger: Arc<dyn BudgetLedger>,
    ) -> Result<Self, PolicyError> {
        let b = self
            .budgets
            .get_mut(campaign)
            .ok_or_else(|| PolicyError::UnknownCampaign(campaign.to_string()))?;
        b.ledger = ledger;
        Ok(self)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn ladder(&self) -> &Ladder {
        &self.ladder
    }

    /// The fraud-risk gate.
    pub fn gate(&self) -> &RiskGate {
        &self.gate
    }

    /// The campaign's ledger, if it has a budget.
    pub fn ledger(&self, campaign: Option<&str>) -> Option<Arc<dyn BudgetLedger>> {
        self.budgets
            .get(campaign.unwrap_or("default"))
            .map(|b| Arc::clone(&b.ledger))
    }

    /// The campaign's shadow price (0 without a budget).
    pub fn lambda(&self, campaign: Option<&str>) -> f64 {
        self.budgets
            .get(campaign.unwrap_or("default"))
            .map_or(0.0, |b| b.pacer.lambda())
    }

    pub fn set_lambda(&self, campaign: Option<&str>, lambda: f64) -> Result<(), PolicyError> {
        let name = campaign.unwrap_or("default");
        let b = self
            .budgets
            .get(name)
            .ok_or_else(|| PolicyError::UnknownCampaign(name.to_string()))?;
        b.pacer.set_lambda(lambda);
        Ok(())
    }

    /// One pacing step: `progress` in [0, 1] through the period, `step_share` the share of the
    /// period between steps. Returns the new shadow price.
    pub fn pace(
        &self,
        campaign: Option<&str>,
        progress: f64,
        step_share: f64,
    ) -> Result<f64, PolicyError> {
        let name = campaign.unwrap_or("default");
        let b = self
            .budgets
            .get(name)
            .ok_or_else(|| PolicyError::UnknownCampaign(name.to_string()))?;
        Ok(b.pacer.step(
            progress,
            b.ledger.spent() + b.ledger.reserved(),
            b.ledger.total(),
            step_share,
        ))
    }

    /// One pacing step, at `now` (microseconds), for every budget with a period under way;
    /// `step` is the time between steps. Returns each paced campaign with its new shadow price.
    /// This is what `discount serve` calls on a timer.
    pub fn pace_by_clock(&self, now: i64, step: i64) -> Vec<(String, f64)> {
        let mut paced: Vec<(String, f64)> = self
            .budgets
            .iter()
            .filter_map(|(campaign, b)| {
                let (start, end) = b.period?;
                if now < start || end <= start {
                    return None;
                }
                let length = (end - start) as f64;
                let lambda = b.pacer.step(
                    (now - start) as f64 / length,
                    b.ledger.spent() + b.ledger.reserved(),
                    b.ledger.total(),
                    step as f64 / length,
                );
                Some((campaign.clone(), lambda))
            })
            .collect();
        paced.sort_by(|a, b| a.0.cmp(&b.0));
        paced
    }

    /// Settles a decision's reservation with the discount actually paid (0 releases it).
    pub fn settle(&self, campaign: Option<&str>, reserved: i64, actual: i64) {
        if let Some(b) = self.budgets.get(campaign.unwrap_or("default")) {
            if actual > 0 {
                b.ledger.commit(reserved, actual);
            } else {
                b.ledger.release(reserved);
            }
        }
    }

    /// The model version (number of outcomes learned).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    pub fn policy_version(&self) -> String {
        let v = self.version();
        {
            let cached = self.version_label.read().unwrap_or_else(|e| e.into_inner());
            if cached.0 == v {
                return cached.1.clone();
            }
        }
        let label = self.format_version(v);
        *self
            .version_label
            .write()
            .unwrap_or_else(|e| e.into_inner()) = (v, label.clone());
        label
    }

    fn format_version(&self, v: u64) -> String {
        format!(
            "{}/{}/{:?}/v{}",
            self.config.name,
            self.config.exploration.name(),
            self.config.model.structure,
            v
        )
        .to_lowercase()
    }

    fn check_features(&self, x: &[f64]) -> Result<(), PolicyError> {
        if x.len() != self.dim {
            return Err(PolicyError::FeatureLength {
                expected: self.dim,
                got: x.len(),
            });
        }
        if let Some((index, &value)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(PolicyError::BadFeature { index, value });
        }
        Ok(())
    }

    /// The shared structure's feature vector of rung `k`.
    fn shared_features(&self, x: &[f64], k: usize, out: &mut Vec<f64>) {
        out.clear();
        out.extend_from_slice(x);
        out.extend(x.iter().map(|v| v * self.depth[k]));
        out.extend((0..self.ladder.len()).map(|j| f64::from(u8::from(j == k))));
    }

    /// Folds a joined outcome into the models.
    pub fn update(&self, outcome: &JoinedOutcome) -> Result<(), PolicyError> {
        self.check_features(&outcome.features)?;
        let k = self
            .ladder
            .index_of(&outcome.offer_id)
            .ok_or_else(|| PolicyError::UnknownOffer(outcome.offer_id.clone()))?;
        if !(outcome.profit.is_finite() && outcome.discount.is_finite()) {
            return Err(PolicyError::Config {
                field: "outcome".into(),
                value: format!("profit {} discount {}", outcome.profit, outcome.discount),
                rule: "must be finite",
            });
        }
        let y: [f64; TARGETS] = [
            outcome.profit,
            outcome.discount,
            f64::from(u8::from(outcome.ordered)),
        ];
        let mut models = self.models.write().unwrap_or_else(|e| e.into_inner());
        match self.config.model.structure {
            ModelStructure::Disjoint => models.arms[k].update(&outcome.features, &y, 1.0),
            ModelStructure::Shared => {
                let mut phi = Vec::new();
                self.shared_features(&outcome.features, k, &mut phi);
                models.arms[0].update(&phi, &y, 1.0);
            }
        }
        self.version.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Each rung's predicted profit, spend and order probability for a customer (no rules
    /// applied), from the served response model when one is set, else the engine's own models:
    /// what the offline plan and the evaluators use, the numbers `decide` scores with.
    pub fn predict(&self, customer: &CustomerFacts) -> Result<Vec<[f64; TARGETS]>, PolicyError> {
        let x = customer.features.as_slice();
        self.check_features(x)?;
        let serving = self
            .response
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(m) = &serving {
            let mut z = Vec::new();
            m.scorer.prepare(&customer.profile, &mut z)?;
            let base = self.ladder.baseline;
            return Ok((0..self.ladder.len())
                .map(|k| {
                    let r = m.scorer.respond(m.rung[k], &z);
                    let spend = if k == base { 0.0 } else { r.spend };
                    [r.profit, spend, r.conversion]
                })
                .collect());
        }
        let models = self.models.read().unwrap_or_else(|e| e.into_inner());
        let mut phi = Vec::new();
        Ok((0..self.ladder.len())
            .map(|k| {
                let s = self.score_rung(&models, x, k, &mut phi);
                [s.profit, s.spend, s.conversion]
            })
            .collect())
    }

    fn score_rung(&self, models: &Models, x: &[f64], k: usize, phi: &mut Vec<f64>) -> Scored {
        let (model, input): (&Ridge, &[f64]) = match self.config.model.structure {
            ModelStructure::Disjoint => (&models.arms[k], x),
            ModelStructure::Shared => {
                self.shared_features(x, k, phi);
                (&models.arms[0], phi.as_slice())
            }
        };
        let needs_sd = !matches!(self.config.exploration, Exploration::EpsilonGreedy { .. });
        Scored {
            profit: model.predict(PROFIT, input),
            spend: if k == self.ladder.baseline {
                0.0
            } else {
                model.predict(SPEND, input).max(0.0)
            },
            conversion: model.predict(CONVERSION, input).clamp(0.0, 1.0),
            sd: if needs_sd {
                model.noise() * model.uncertainty(input).sqrt()
            } else {
                0.0
            },
        }
    }

    /// Incremental value of rung `k` over no offer from scored values.
    fn incremental(&self, s: &Scored, base: &Scored, orders: u32) -> f64 {
        let mut v = s.profit - base.profit;
        let trained = *self
            .lifetime_value
            .read()
            .unwrap_or_else(|e| e.into_inner());
        if let (Some(ltv), 0) = (trained.or(self.config.model.lifetime_value), orders) {
            v += (s.conversion - base.conversion) * ltv;
        }
        v
    }

    /// Decides one request. See the module documentation.
    pub fn decide<R: Rng + ?Sized>(
        &self,
        req: &DecisionRequest,
        customer: &CustomerFacts,
        rng: &mut R,
    ) -> Result<Decision, PolicyError> {
        let x = customer.features.as_slice();
        self.check_features(x)?;
        let k = self.ladder.len();
        let base = self.ladder.baseline;
        let campaign = req.campaign.as_deref().unwrap_or("default");
        let budget = match (self.budgets.get(campaign), &req.campaign) {
            (Some(b), _) => Some(b),
            (None, Some(c)) => return Err(PolicyError::UnknownCampaign(c.clone())),
            (None, None) => None,
        };
        let lambda = budget.map_or(0.0, |b| b.pacer.lambda());
        // What may still be reserved: the ledger's remaining budget, and no more than the pacer
        // allows until its next step.
        let remaining = budget.map(|b| {
            let used = b.ledger.spent() + b.ledger.reserved();
            b.ledger
                .remaining()
                .min(b.pacer.allowance().saturating_sub(used))
        });
        let mut blocked: Vec<Option<Ineligible>> = vec![None; k];
        if let Some(c) = &req.candidate_offers {
            let mut allowed = vec![false; k];
            for id in c {
                let i = self
                    .ladder
                    .index_of(id)
                    .ok_or_else(|| PolicyError::UnknownOffer(id.clone()))?;
                allowed[i] = true;
            }
            for i in 0..k {
                if !allowed[i] && i != base {
                    blocked[i] = Some(Ineligible::NotACandidate);
                }
            }
        }
        let gate = self.gate.check(&req.customer_id);
        let mut reserve = vec![0i64; k];
        let basket = &req.context.basket;
        for (i, spec) in self.ladder.rungs.iter().enumerate() {
            if i == base || blocked[i].is_some() {
                continue;
            }
            if !self.config.rules.fairness.allows(&spec.offer) {
                blocked[i] = Some(Ineligible::PriceSpread);
                continue;
            }
            let history = History {
                orders: customer.orders,
                days_since_this_offer: customer.days_since_offer.get(&spec.id).copied(),
            };
            let verdict = eligible(spec, &history, &req.context.placement).and_then(|()| {
                basket_discount(
                    spec,
                    basket,
                    &self.config.rules.margin_floor,
                    self.config.rules.shipping_fee,
                )
            });
            match verdict {
                Err(why) => blocked[i] = Some(why),
                Ok(amount) => {
                    reserve[i] = amount;
                    let gated = match gate.action {
                        GateAction::Allow => false,
                        GateAction::Cap => amount > self.gate.cap_discount(),
                        GateAction::Withhold => spec.offer != Offer::NoOffer,
                    };
                    if gated {
                        blocked[i] = Some(Ineligible::RiskGate);
                    } else if remaining.is_some_and(|r| amount > r) {
                        blocked[i] = Some(Ineligible::Budget);
                    }
                }
            }
        }
        // Score the eligible rungs.
        let mut scored = [Scored::default(); 16];
        let mut scored_vec;
        let scored: &mut [Scored] = if k <= 16 {
            &mut scored[..k]
        } else {
            scored_vec = vec![Scored::default(); k];
            &mut scored_vec
        };
        let serving = self
            .response
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut z = Vec::new();
        if let Some(m) = &serving {
            m.scorer.prepare(&customer.profile, &mut z)?;
            for i in 0..k {
                if blocked[i].is_none() {
                    let r = m.scorer.respond(m.rung[i], &z);
                    scored[i] = Scored {
                        profit: r.profit,
                        spend: if i == base { 0.0 } else { r.spend },
                        conversion: r.conversion,
                        sd: 0.0,
                    };
                }
            }
        } else {
            let models = self.models.read().unwrap_or_else(|e| e.into_inner());
            let mut phi = Vec::new();
            for i in 0..k {
                if blocked[i].is_none() {
                    scored[i] = self.score_rung(&models, x, i, &mut phi);
                }
            }
        }
        let eligible_idx: Vec<usize> = (0..k).filter(|&i| blocked[i].is_none()).collect();
        let base_score = scored[base];
        // The stock's shadow price on the extra units each rung sells (0 without a book).
        let stock = self.stock.read().unwrap_or_else(|e| e.into_inner()).clone();
        let incremental: Vec<f64> = (0..k)
            .map(|i| {
                let added = scored[i].conversion - base_score.conversion;
                self.incremental(&scored[i], &base_score, customer.orders)
                    + stock.as_ref().map_or(0.0, |b| b.adjustment(basket, added))
            })
            .collect();
        let values: Vec<f64> = eligible_idx
            .iter()
            .map(|&i| {
                if i == base {
                    0.0
                } else {
                    incremental[i] - lambda * scored[i].spend
                }
            })
            .collect();
        let sds: Vec<f64> = eligible_idx.iter().map(|&i| scored[i].sd).collect();
        let mut probs = vec![0.0; eligible_idx.len()];
        let greedy = self
            .config
            .exploration
            .probabilities(&values, &sds, &mut probs);
        // Draw the rung from the probabilities (inverse CDF).
        let u: f64 = rng.gen();
        let mut pick = eligible_idx.len() - 1;
        let mut acc = 0.0;
        for (j, p) in probs.iter().enumerate() {
            acc += p;
            if u < acc {
                pick = j;
                break;
            }
        }
        let mut chosen = eligible_idx[pick];
        let mut propensity = probs[pick];
        let mut explored = pick != greedy;
        // The hard guard: reserve before answering; a race lost to other decisions falls back to
        // no offer.
        let mut reserved = 0;
        if let (Some(b), true) = (budget, chosen != base) {
            if b.ledger.reserve(reserve[chosen]) {
                reserved = reserve[chosen];
            } else {
                chosen = base;
                propensity = 1.0;
                explored = false;
            }
        }
        let mut scores: Vec<OfferScore> = self
            .ladder
            .rungs
            .iter()
            .enumerate()
            .map(|(i, spec)| OfferScore {
                offer_id: spec.id.clone(),
                expected_incremental_profit: 0.0,
                expected_cost: 0.0,
                value: 0.0,
                probability: 0.0,
                ineligible: blocked[i].clone(),
            })
            .collect();
        for (j, &i) in eligible_idx.iter().enumerate() {
            let s = &mut scores[i];
            s.probability = probs[j];
            if i != base {
                s.expected_incremental_profit = incremental[i];
                s.expected_cost = scored[i].spend;
                s.value = values[j];
            }
        }
        let explanation = req.explain.then(|| {
            let mut e = match &serving {
                Some(m) => self.explain_trained(m, &customer.profile, &z, chosen, &scores, lambda),
                None => self.explain(x, chosen, &scores, lambda),
            };
            let rung = if chosen == base {
                e.runner_up
                    .as_deref()
                    .and_then(|id| self.ladder.index_of(id))
            } else {
                Some(chosen)
            };
            e.history = rung
                .and_then(|r| self.history_contribution(serving.as_deref(), customer, r, lambda));
            if let Some(h) = &e.history {
                e.reason.push_str(&format!(
                    "; history {:+.1} on {} (newcomer value {:.1})",
                    h.contribution, h.offer_id, h.as_newcomer
                ));
            }
            e
        });
        let spec = &self.ladder.rungs[chosen];
        Ok(Decision {
            offer_id: spec.id.clone(),
            offer: spec.offer.clone(),
            propensity,
            explored,
            expected_profit: scores[chosen].expected_incremental_profit.round() as i64,
            policy_version: self.policy_version(),
            scores,
            explanation,
            gate: (gate.action != GateAction::Allow || !gate.reasons.is_empty()).then_some(gate),
            campaign: campaign.to_string(),
            reserved,
            basket_discount: (!basket.is_empty()).then_some(reserve[chosen]),
            lambda,
            model_id: serving.as_ref().map(|m| m.id.clone()),
        })
    }

    /// See [`HistoryContribution`]; `None` for the baseline rung or a profile the model
    /// cannot read.
    fn history_contribution(
        &self,
        serving: Option<&ServingModel>,
        customer: &CustomerFacts,
        rung: usize,
        lambda: f64,
    ) -> Option<HistoryContribution> {
        let base = self.ladder.baseline;
        if rung == base {
            return None;
        }
        let value = |x: &[f64], profile: &[f64], orders: u32| -> Option<f64> {
            let (offer, none) = match serving {
                Some(m) => {
                    let mut z = Vec::new();
                    m.scorer.prepare(profile, &mut z).ok()?;
                    let (r, b) = (
                        m.scorer.respond(m.rung[rung], &z),
                        m.scorer.respond(m.rung[base], &z),
                    );
                    let scored = |profit, spend, conversion| Scored {
                        profit,
                        spend,
                        conversion,
                        sd: 0.0,
                    };
                    (
                        scored(r.profit, r.spend, r.conversion),
                        scored(b.profit, 0.0, b.conversion),
                    )
                }
                None => {
                    let models = self.models.read().unwrap_or_else(|e| e.into_inner());
                    let mut phi = Vec::new();
                    (
                        self.score_rung(&models, x, rung, &mut phi),
                        self.score_rung(&models, x, base, &mut phi),
                    )
                }
            };
            Some(self.incremental(&offer, &none, orders) - lambda * offer.spend)
        };
        let newcomer: Vec<f64> = self
            .config
            .model
            .features
            .iter()
            .map(|f| if f == "bias" { 1.0 } else { 0.0 })
            .collect();
        let with_history = value(&customer.features, &customer.profile, customer.orders)?;
        let as_newcomer = value(&newcomer, &newcomer_profile(customer.profile.len()), 0)?;
        Some(HistoryContribution {
            offer_id: self.ladder.rungs[rung].id.clone(),
            with_history,
            as_newcomer,
            contribution: with_history - as_newcomer,
        })
    }

    fn explain(&self, x: &[f64], chosen: usize, scores: &[OfferScore], lambda: f64) -> Explanation {
        let base = self.ladder.baseline;
        let models = self.models.read().unwrap_or_else(|e| e.into_inner());
        let mut top: Vec<FeatureContribution> = Vec::new();
        if chosen != base {
            // Contribution of feature j to (profit_k - profit_0) - lambda * spend_k.
            let d = self.dim;
            for (j, &xj) in x.iter().enumerate().take(d) {
                let w = match self.config.model.structure {
                    ModelStructure::Disjoint => {
                        models.arms[chosen].theta[PROFIT][j]
                            - models.arms[base].theta[PROFIT][j]
                            - lambda * models.arms[chosen].theta[SPEND][j]
                    }
                    ModelStructure::Shared => {
                        let m = &models.arms[0];
                        let dd = self.depth[chosen] - self.depth[base];
                        m.theta[PROFIT][d + j] * dd
                            - lambda
                                * (m.theta[SPEND][j] + m.theta[SPEND][d + j] * self.depth[chosen])
                    }
                };
                top.push(FeatureContribution {
                    feature: self.config.model.features[j].clone(),
                    value: xj,
                    contribution: w * xj,
                });
            }
        }
        Self::explanation(top, chosen, scores, lambda)
    }

    /// Why the trained model chose `chosen`: the inputs that moved the chosen rung's order
    /// probability over no offer's most (in logit units).
    fn explain_trained(
        &self,
        m: &ServingModel,
        x: &[f64],
        z: &[f64],
        chosen: usize,
        scores: &[OfferScore],
        lambda: f64,
    ) -> Explanation {
        let base = self.ladder.baseline;
        let top = if chosen == base {
            Vec::new()
        } else {
            m.scorer
                .contributions(m.rung[chosen], m.rung[base], z)
                .into_iter()
                .zip(x)
                .map(|((feature, contribution), value)| FeatureContribution {
                    feature,
                    value: *value,
                    contribution,
                })
                .collect()
        };
        Self::explanation(top, chosen, scores, lambda)
    }

    fn explanation(
        mut top: Vec<FeatureContribution>,
        chosen: usize,
        scores: &[OfferScore],
        lambda: f64,
    ) -> Explanation {
        top.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        top.truncate(3);
        let runner = scores
            .iter()
            .enumerate()
            .filter(|(i, s)| *i != chosen && s.ineligible.is_none())
            .max_by(|a, b| a.1.value.total_cmp(&b.1.value));
        let c = &scores[chosen];
        let (runner_up, margin) = match runner {
            Some((_, r)) => (Some(r.offer_id.clone()), c.value - r.value),
            None => (None, 0.0),
        };
        let blocked: Vec<String> = scores
            .iter()
            .filter_map(|s| {
                s.ineligible
                    .as_ref()
                    .map(|w| format!("{} ({w:?})", s.offer_id))
            })
            .collect();
        let mut reason = format!(
            "{}: incremental profit {:.1} - lambda {:.4} x expected cost {:.1} = {:.1}",
            c.offer_id, c.expected_incremental_profit, lambda, c.expected_cost, c.value
        );
        if let Some(r) = &runner_up {
            reason.push_str(&format!("; beat {r} by {margin:.1}"));
        }
        if !blocked.is_empty() {
            reason.push_str(&format!("; not eligible: {}", blocked.join(", ")));
        }
        Explanation {
            top_features: top,
            runner_up,
            margin,
            reason,
            history: None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::offers::{Eligibility, Scope};
    use rand::SeedableRng;

    pub(crate) fn config() -> EngineConfig {
        let rung = |id: &str, offer: Offer, cap: Option<i64>| OfferSpec {
            id: id.into(),
            offer,
            scope: Scope::Basket,
            eligibility: Eligibility::default(),
            max_discount: cap,
        };
        EngineConfig {
            name: "test".into(),
            ladder: vec![
                rung("none", Offer::NoOffer, None),
                rung("pct10", Offer::PercentOff { percent: 10.0 }, Some(1_000)),
                rung("pct20", Offer::PercentOff { percent: 20.0 }, Some(2_000)),
                rung(
                    "amt500",
                    Offer::AmountOff {
                        amount: 500,
                        min_spend: 3_000,
                    },
                    None,
                ),
            ],
            rules: RulesConfig {
                margin_floor: MarginFloor {
                    percent_of_cost: 5.0,
                    minor_per_unit: 0,
                    unknown_cost_ratio: None,
                },
                shipping_fee: 300,
                gate: GateConfig {
                    blocked_customers: vec!["fraudster".into()],
                    ..GateConfig::default()
                },
                ..RulesConfig::default()
            },
            budgets: vec![BudgetConfig {
                campaign: "default".into(),
                amount: 10_000,
                initial_lambda: 0.0,
                period_start: None,
                period_days: None,
            }],
            pacing: PacingConfig::default(),
            exploration: Exploration::EpsilonGreedy { epsilon: 0.1 },
            model: ModelConfig {
                features: vec!["bias".into(), "loyal".into()],
                ..ModelConfig::default()
            },
        }
    }

    fn trained(config: EngineConfig) -> DecisionEngine {
        let engine = DecisionEngine::new(config).unwrap();
        // pct10 earns 100 more than nothing for loyal = 0 and costs 50; pct20 earns 120, costs 100.
        for i in 0..400 {
            let loyal = f64::from(i % 2);
            for (id, profit, discount) in [
                ("none", 1000.0, 0.0),
                ("pct10", 1100.0 - 200.0 * loyal, 50.0),
                ("pct20", 1120.0 - 200.0 * loyal, 100.0),
                ("amt500", 900.0, 500.0),
            ] {
                engine
                    .update(&JoinedOutcome {
                        offer_id: id.into(),
                        features: vec![1.0, loyal],
                        profit,
                        discount,
                        ordered: true,
                    })
                    .unwrap();
            }
        }
        engine
    }

    fn request(customer: &str) -> DecisionRequest {
        DecisionRequest {
            customer_id: customer.into(),
            explain: true,
            ..DecisionRequest::default()
        }
    }

    fn facts(loyal: f64) -> CustomerFacts {
        CustomerFacts {
            features: vec![1.0, loyal],
            ..CustomerFacts::default()
        }
    }

    #[test]
    fn engine_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<DecisionEngine>();
    }

    #[test]
    fn best_rung_wins_and_is_explained() {
        let mut c = config();
        c.exploration = Exploration::EpsilonGreedy { epsilon: 0.0 };
        c.budgets.clear();
        let engine = trained(c);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let d = engine.decide(&request("a"), &facts(0.0), &mut rng).unwrap();
        assert_eq!(d.offer_id, "pct20");
        assert_eq!(d.propensity, 1.0);
        let e = d.explanation.unwrap();
        assert_eq!(e.runner_up.as_deref(), Some("pct10"));
        assert!(e.reason.contains("beat pct10"), "{}", e.reason);
        // Loyal customers buy anyway: no offer.
        let d = engine.decide(&request("b"), &facts(1.0), &mut rng).unwrap();
        assert_eq!(d.offer_id, "none");
        // A shadow price makes the cheaper rung better: 100 - 0.5 * 50 > 120 - 0.5 * 100.
        let mut c = config();
        c.exploration = Exploration::EpsilonGreedy { epsilon: 0.0 };
        c.budgets[0].initial_lambda = 0.5;
        let engine = trained(c);
        let d = engine.decide(&request("a"), &facts(0.0), &mut rng).unwrap();
        assert_eq!(d.offer_id, "pct10");
        assert_eq!(d.reserved, 1_000);
        assert_eq!(engine.ledger(None).unwrap().reserved(), 1_000);
        engine.settle(None, d.reserved, 80);
        assert_eq!(engine.ledger(None).unwrap().spent(), 80);
        assert_eq!(engine.ledger(None).unwrap().reserved(), 0);
    }

    #[test]
    fn fraudsters_get_nothing_and_the_reason_is_recorded() {
        let engine = trained(config());
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        for _ in 0..200 {
            let d = engine
                .decide(&request("fraudster"), &facts(0.0), &mut rng)
                .unwrap();
            assert_eq!(d.offer_id, "none");
            let g = d.gate.unwrap();
            assert_eq!(g.action, GateAction::Withhold);
            assert!(g.reasons[0].contains("blocked"));
            assert!(d.scores[1..]
                .iter()
                .all(|s| s.ineligible == Some(Ineligible::RiskGate) && s.probability == 0.0));
        }
    }

    #[test]
    fn margin_floor_and_candidates_restrict_the_basket() {
        let mut c = config();
        c.exploration = Exploration::EpsilonGreedy { epsilon: 0.0 };
        c.budgets.clear();
        let engine = trained(c);
        let mut req = request("a");
        // Price 1000, cost 850: floor 892.5, so 10% (900) is allowed, 20% is not.
        req.context.basket = vec![BasketLine {
            item_id: "i".into(),
            category: "c".into(),
            quantity: 2,
            unit_price: 1000,
            unit_cost: Some(850),
        }];
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let d = engine.decide(&req, &facts(0.0), &mut rng).unwrap();
        assert_eq!(d.offer_id, "pct10");
        assert_eq!(d.basket_discount, Some(200));
        assert_eq!(d.scores[2].ineligible, Some(Ineligible::MarginFloor));
        assert_eq!(d.scores[3].ineligible, Some(Ineligible::BelowMinimumSpend));
        req.candidate_offers = Some(vec!["pct20".into()]);
        let d = engine.decide(&req, &facts(0.0), &mut rng).unwrap();
        assert_eq!(d.offer_id, "none");
        req.candidate_offers = Some(vec!["nope".into()]);
        assert!(matches!(
            engine.decide(&req, &facts(0.0), &mut rng),
            Err(PolicyError::UnknownOffer(_))
        ));
        let short = CustomerFacts {
            features: vec![1.0],
            ..CustomerFacts::default()
        };
        assert!(matches!(
            engine.decide(&request("a"), &short, &mut rng),
            Err(PolicyError::FeatureLength { .. })
        ));
    }
}
