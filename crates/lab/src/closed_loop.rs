//! The closed loop on a simulated shop that runs on: warm-up exploration, then weeks of serving
//! in which every visit is decided by the engine `discount serve` uses, from the customer's facts
//! built by the function the service builds them with ([`customer_facts`], over the events the
//! shop has recorded so far), outcomes are joined to decisions each day, and every
//! `retrain_every` days a candidate response model is fitted on the joined log and promoted only
//! if the off-policy gate ([`retrain`], what `discount retrain` runs) says it earns more than the
//! incumbent on the most recent window.
//!
//! The comparison: the market is saved at the end of the warm-up, and every policy (no discounts,
//! 10% to everyone, random offers, the loop, the information ceiling and the oracle) continues it
//! from that state with the same budget; with common random numbers, a policy's incremental profit
//! is its gross profit minus that of the no-discount continuation, week by week.
//!
//! The information ceiling is the best this learner and engine do from observable features alone
//! when data is not the limit: the response model fitted once on random exploration of a market
//! of the same kind `ceiling_factor` times the size of the warm-up log, then served (greedy, with
//! the same budget pacing) without further learning. The oracle knows every customer's latent
//! type; the gap between the oracle and the ceiling is what cannot be known from the data the shop
//! has, the gap between the ceiling and the loop is what the loop fails to learn.

use std::collections::HashMap;

use discount_core::time::MICROS_PER_DAY;
use discount_core::{EventKind, Offer, Record, Timestamp};
use discount_eval::ope::BootstrapConfig;
use discount_features::FeatureSpec;
use discount_models::response::{DecisionRow, ResponseFitConfig};
use discount_models::retrain_gate::retrain;
use discount_policy::bandit::Exploration;
use discount_policy::budget::PacingConfig;
use discount_policy::engine::{
    BudgetConfig, CustomerFacts, DecisionEngine, DecisionRequest, EngineConfig, JoinedOutcome,
    ModelConfig, ModelStructure, RulesConfig,
};
use discount_policy::facts::{feature_sources, FeatureSource};
use discount_policy::offers::default_id;
use discount_policy::plan::{plan, PlanCustomer};
use discount_policy::response::ResponseModel;
use discount_sim::policy::{NoOfferPolicy, OraclePolicy, RandomPolicy, UniformPolicy};
use discount_sim::{
    Context, DayFigures, Decision, Market, MarketState, NullSink, Policy, RunOptions, SimConfig,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;

use crate::error::LabError;
use crate::observed::Observed;

/// What to run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoopOptions {
    pub users: usize,
    pub seed: u64,
    /// Days of random exploration before serving.
    pub warmup_days: u32,
    /// Weeks of serving.
    pub weeks: u32,
    /// Days between retraining rounds; each judges the candidate on the last this many days.
    pub retrain_every: u32,
    /// Discount budget of the whole serving period, per customer, minor units.
    pub budget_per_user: i64,
    /// Share of visits the loop explores (uniformly over the eligible offers).
    pub epsilon: f64,
    /// The gate's margin: profit per decision (minor units) the candidate's DR lower bound must
    /// beat the incumbent's DR estimate by.
    pub margin: f64,
    /// Bootstrap resamples of the gate's intervals.
    pub bootstrap: usize,
    /// How many times the warm-up log's size the information ceiling learns from (0: skip it).
    pub ceiling_factor: u32,
    /// Fit the response model pooled over the ladder's depths instead of one model per offer.
    pub pooled: bool,
    /// Penalties of the response model (`discount retrain --l2 --ridge`): L2 of the order models
    /// on standardised inputs, and of the profit and discount regressions.
    pub l2: f64,
    pub ridge: f64,
}

impl Default for LoopOptions {
    fn default() -> Self {
        Self {
            users: 50_000,
            seed: 42,
            warmup_days: 14,
            weeks: 8,
            retrain_every: 7,
            budget_per_user: 20,
            epsilon: 0.05,
            margin: 0.0,
            bootstrap: 200,
            ceiling_factor: 50,
            pooled: false,
            // Stronger than `discount train uplift`'s defaults (1 and 10): the loop's first
            // weeks hold a few hundred decisions per offer (docs/demo.md has the comparison).
            l2: 10.0,
            ridge: 100.0,
        }
    }
}

impl LoopOptions {
    pub fn validate(&self) -> Result<(), LabError> {
        let bad = |what: &str, value: String| {
            Err(LabError::Invalid(format!(
                "closed loop: {what} (got {value})"
            )))
        };
        if self.users < 100 {
            return bad("users must be at least 100", self.users.to_string());
        }
        if self.warmup_days < 7 {
            return bad(
                "the warm-up needs at least 7 days",
                self.warmup_days.to_string(),
            );
        }
        if self.weeks == 0 {
            return bad("weeks must be at least 1", self.weeks.to_string());
        }
        if self.retrain_every == 0 || self.retrain_every > self.warmup_days {
            return bad(
                "retrain-every must be 1 .. the warm-up's days",
                self.retrain_every.to_string(),
            );
        }
        if self.budget_per_user < 0 {
            return bad("the budget must be >= 0", self.budget_per_user.to_string());
        }
        if !(0.0..=1.0).contains(&self.epsilon) {
            return bad("epsilon must be in [0, 1]", self.epsilon.to_string());
        }
        if !(self.margin.is_finite() && self.margin >= 0.0) {
            return bad("the margin must be >= 0", self.margin.to_string());
        }
        for (name, v) in [("l2", self.l2), ("ridge", self.ridge)] {
            if !(v.is_finite() && v > 0.0) {
                return bad(&format!("{name} must be a positive number"), v.to_string());
            }
        }
        Ok(())
    }

    fn serving_days(&self) -> u32 {
        self.weeks * 7
    }

    fn budget(&self) -> i64 {
        self.budget_per_user.saturating_mul(self.users as i64)
    }
}

/// One retraining round.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetrainRound {
    /// Serving day it ran before.
    pub day: u32,
    pub training_rows: usize,
    pub held_out_rows: usize,
    pub promoted: bool,
    /// The candidate's DR estimate, the serving model's (or the logged profit), and the
    /// candidate's advantage per decision with the lower bound that had to beat the margin.
    pub candidate_dr: Option<f64>,
    pub bar: Option<f64>,
    pub advantage: Option<f64>,
    pub advantage_lower: Option<f64>,
    pub reason: String,
}

/// One policy's continuation of the market.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyCurve {
    pub policy: String,
    pub revenue: i64,
    pub discount_spend: i64,
    pub gross_profit: i64,
    /// Gross profit minus that of no discounts, over the serving period.
    pub incremental_profit: i64,
    /// Per serving week.
    pub weekly_incremental_profit: Vec<i64>,
    pub weekly_discount_spend: Vec<i64>,
    /// Incremental profit / the oracle's, per week (None where the oracle earned nothing).
    pub weekly_share_of_oracle: Vec<Option<f64>>,
    pub share_of_oracle: Option<f64>,
    /// Share of the oracle over the last two weeks.
    pub last_two_weeks_share: Option<f64>,
    pub budget_used: f64,
}

/// What the loop did and how each policy fared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoopResult {
    pub options: LoopOptions,
    pub currency: String,
    pub budget: i64,
    /// Random decisions logged in the warm-up.
    pub warmup_decisions: usize,
    /// Decisions of the loop over the serving period, and how many explored.
    pub loop_decisions: usize,
    pub loop_explored: usize,
    pub retrains: Vec<RetrainRound>,
    /// Exploration decisions the information ceiling learned from.
    pub ceiling_rows: usize,
    /// no discounts, 10% to everyone, random offers, the loop, the ceiling, the oracle.
    pub policies: Vec<PolicyCurve>,
    /// Last two weeks: the loop's incremental profit / the ceiling's.
    pub loop_share_of_ceiling: Option<f64>,
}

impl LoopResult {
    pub fn policy(&self, name: &str) -> Option<&PolicyCurve> {
        self.policies.iter().find(|p| p.policy == name)
    }
}

/// A decision waiting for its day to end.
#[derive(Clone)]
struct Pending {
    customer: String,
    day: u32,
    at: i64,
    offer_id: String,
    propensity: f64,
    profile: Vec<f64>,
    orders: u32,
}

/// The shop's side of the loop: what it observed, the decisions it logged and joined, and each
/// customer's offer history (latest first), as the store keeps it.
#[derive(Clone)]
struct Shop {
    observed: Observed,
    pending: Vec<Pending>,
    joined: Vec<DecisionRow>,
    /// Orders count at decision time of each joined row (what the plan needs besides `x`).
    joined_orders: Vec<u32>,
    offers: HashMap<String, Vec<(String, i64)>>,
}

impl Shop {
    fn new(config: &SimConfig) -> Result<Self, LabError> {
        Ok(Self {
            observed: Observed::new(config)?,
            pending: Vec::new(),
            joined: Vec::new(),
            joined_orders: Vec::new(),
            offers: HashMap::new(),
        })
    }

    /// Runs the market's next day with `decide` at each visit, records what it emitted, and
    /// joins the day's decisions to their outcomes.
    fn day(&mut self, market: &mut Market, decide: &mut DecideVisit<'_>) -> Result<(), LabError> {
        let day = market.day();
        let mut records = Vec::new();
        {
            let mut policy = Visits {
                observed: &self.observed,
                offers: &self.offers,
                pending: &mut self.pending,
                decide,
                day_start: self.observed.day_start(day).0,
            };
            market.run_days(1, &mut policy, &mut |r: Record| records.push(r))?;
        }
        for r in records {
            self.observed.record(r);
        }
        for p in std::mem::take(&mut self.pending) {
            let (profit, discount) = self
                .observed
                .outcomes
                .remove(&(p.customer.clone(), p.day))
                .map_or((0, 0), |(p, d)| (p, d));
            let ordered = self.observed.events.get(&p.customer).is_some_and(|evs| {
                evs.iter().rev().take_while(|e| e.time.0 >= p.at).any(|e| {
                    matches!(e.kind, EventKind::Order { .. }) && (e.time.0 - p.at) < MICROS_PER_DAY
                })
            });
            self.offers
                .entry(p.customer.clone())
                .or_default()
                .insert(0, (p.offer_id.clone(), p.at));
            self.joined.push(DecisionRow {
                offer_id: p.offer_id,
                at: p.at,
                x: p.profile,
                propensity: p.propensity,
                ordered,
                profit: profit as f64,
                discount: discount as f64,
            });
            self.joined_orders.push(p.orders);
        }
        Ok(())
    }
}

/// The loop's decision at a visit: from the visit, what the shop recorded, and the customer's
/// offer history (latest first); `None` gives no offer.
type DecideVisit<'a> =
    dyn FnMut(&Context<'_>, &Observed, &[(String, i64)]) -> Option<VisitChoice> + 'a;

/// What the loop's decision function returns for one visit.
struct VisitChoice {
    offer: Offer,
    offer_id: String,
    propensity: f64,
    profile: Vec<f64>,
    orders: u32,
}

/// The simulator's policy for one day: asks `decide` at each visit and logs the decision.
struct Visits<'a, 'f> {
    observed: &'a Observed,
    offers: &'a HashMap<String, Vec<(String, i64)>>,
    pending: &'a mut Vec<Pending>,
    decide: &'f mut DecideVisit<'f>,
    day_start: i64,
}

impl Policy for Visits<'_, '_> {
    fn name(&self) -> String {
        "closed-loop".into()
    }

    fn decide(
        &mut self,
        ctx: &Context<'_>,
        _truth: Option<&discount_sim::policy::VisitTruth<'_>>,
    ) -> Decision {
        let history = self
            .offers
            .get(ctx.user_id)
            .map_or(&[][..], |v| v.as_slice());
        let Some(choice) = (self.decide)(ctx, self.observed, history) else {
            return Decision::none();
        };
        self.pending.push(Pending {
            customer: ctx.user_id.to_string(),
            day: ctx.day,
            at: self.day_start,
            offer_id: choice.offer_id,
            propensity: choice.propensity,
            profile: choice.profile,
            orders: choice.orders,
        });
        Decision {
            offer: choice.offer,
            propensity: choice.propensity,
        }
    }
}

/// The loop's decision for one customer: their facts from what the shop recorded up to `now`,
/// then the engine's `decide`, the function `discount serve` and `discount decide` call.
#[allow(clippy::too_many_arguments)]
fn decide_at<R: rand::Rng + ?Sized>(
    engine: &DecisionEngine,
    observed: &Observed,
    customer: &str,
    offers: &[(String, i64)],
    now: Timestamp,
    sources: &[FeatureSource],
    explain: bool,
    rng: &mut R,
) -> Result<(CustomerFacts, discount_policy::engine::Decision), LabError> {
    let facts = observed.facts_at(customer, now, offers, sources)?;
    let req = DecisionRequest {
        customer_id: customer.to_string(),
        explain,
        ..DecisionRequest::default()
    };
    let decision = engine.decide(&req, &facts, rng)?;
    Ok((facts, decision))
}

/// A shop's records as the loop keeps them (the catalogue and each customer's events in time
/// order), for deciding as the loop does outside a run: a test gives it the records a store
/// ingested and compares its decisions with those of `serve` and `decide` on that store.
pub struct RecordedShop {
    observed: Observed,
}

impl RecordedShop {
    /// The shop after `records` (users, items and events, in time order).
    pub fn from_records(records: impl IntoIterator<Item = Record>) -> Self {
        let mut observed = Observed::default();
        for r in records {
            observed.record(r);
        }
        Self { observed }
    }

    /// What the loop decides for `customer` at `now`, given the offers they had before (latest
    /// first): the facts it decided from and the decision (explained).
    pub fn decide<R: rand::Rng + ?Sized>(
        &self,
        engine: &DecisionEngine,
        customer: &str,
        offers: &[(String, i64)],
        now: Timestamp,
        rng: &mut R,
    ) -> Result<(CustomerFacts, discount_policy::engine::Decision), LabError> {
        let sources = feature_sources(engine.config())?;
        decide_at(
            engine,
            &self.observed,
            customer,
            offers,
            now,
            &sources,
            true,
            rng,
        )
    }
}

/// Random offers over `days` of `market`, every decision logged with its facts.
fn explore(market: &mut Market, shop: &mut Shop, days: u32, seed: u64) -> Result<(), LabError> {
    let mut random = RandomPolicy::new(seed);
    let sources = [FeatureSource::Bias];
    for _ in 0..days {
        let mut decide = |ctx: &Context<'_>, observed: &Observed, offers: &[(String, i64)]| {
            let d = random.decide(ctx, None);
            let facts = observed
                .facts_at(ctx.user_id, observed.day_start(ctx.day), offers, &sources)
                .ok()?;
            Some(VisitChoice {
                offer_id: default_id(&d.offer),
                offer: d.offer,
                propensity: d.propensity,
                profile: facts.profile,
                orders: facts.orders,
            })
        };
        shop.day(market, &mut decide)?;
    }
    Ok(())
}

/// The engine for the simulated shop: the run's ladder (each percentage offer's reservation
/// capped at the largest discount the log saw it pay), the serving budget, epsilon-greedy
/// exploration; it scores with the response model the loop promotes.
fn engine_config(
    config: &SimConfig,
    log: &[DecisionRow],
    budget: i64,
    epsilon: f64,
) -> EngineConfig {
    let ladder = crate::evaluate::capped_ladder(&config.ladder, |id| {
        log.iter()
            .filter(|r| r.offer_id == id)
            .map(|r| r.discount)
            .fold(0.0f64, f64::max)
    });
    EngineConfig {
        name: "closed-loop".into(),
        ladder,
        rules: RulesConfig::default(),
        budgets: vec![BudgetConfig {
            campaign: "default".into(),
            amount: budget,
            initial_lambda: 0.0,
            period_start: None,
            period_days: None,
        }],
        pacing: PacingConfig::default(),
        exploration: Exploration::EpsilonGreedy { epsilon },
        model: ModelConfig {
            features: vec!["bias".into()],
            ridge: 10.0,
            structure: ModelStructure::Disjoint,
            lifetime_value: None,
        },
    }
}

/// Sets the engine's shadow price from the offline plan: the last week's decisions stand for
/// the visits of the `days_left` days to come, allocated within what is left of the budget.
fn replan(engine: &DecisionEngine, shop: &Shop, now: i64, days_left: u32) -> Result<(), LabError> {
    let Some(ledger) = engine.ledger(None) else {
        return Ok(());
    };
    let since = now - 7 * MICROS_PER_DAY;
    let first = shop.joined.partition_point(|r| r.at < since);
    let weight = f64::from(days_left) / 7.0;
    let customers: Vec<PlanCustomer> = shop.joined[first..]
        .iter()
        .zip(&shop.joined_orders[first..])
        .enumerate()
        .map(|(i, (r, &orders))| PlanCustomer {
            customer_id: format!("recent-{i}"),
            facts: CustomerFacts {
                features: vec![1.0],
                orders,
                profile: r.x.clone(),
                ..CustomerFacts::default()
            },
            visits: weight,
        })
        .collect();
    if customers.is_empty() {
        return Ok(());
    }
    let left = ledger.remaining();
    let lambda = plan(engine, &customers, left)?.lambda;
    engine.set_lambda(None, lambda)?;
    Ok(())
}

/// Serves the market from its current state for the serving period with the engine: daily
/// joins and pacing, and, with `retrain_every`, retraining behind the gate.
struct Server<'a> {
    options: &'a LoopOptions,
    offers: Vec<String>,
    features: Vec<String>,
    spec_id: String,
    engine: DecisionEngine,
    incumbent: Option<(String, ResponseModel)>,
    /// The information ceiling's exploration log: when set, every round refits on it and on
    /// everything served so far, and serves the refit without a gate.
    prior: Option<Vec<DecisionRow>>,
    fit: ResponseFitConfig,
    retrains: Vec<RetrainRound>,
    decisions: usize,
    explored: usize,
}

impl Server<'_> {
    fn retrain(&mut self, shop: &Shop, now: i64, day: u32) -> Result<(), LabError> {
        if let Some(prior) = &self.prior {
            let mut rows = prior.clone();
            rows.extend_from_slice(&shop.joined);
            let model = discount_models::response::fit_response_model(
                &rows,
                &self.offers,
                &self.features,
                &self.spec_id,
                &self.fit,
            )?;
            self.engine
                .set_response_model(&format!("ceiling-day-{day}"), model)?;
            return Ok(());
        }
        let cut = now - i64::from(self.options.retrain_every) * MICROS_PER_DAY;
        let split = shop.joined.partition_point(|r| r.at < cut);
        let (train, held_out) = shop.joined.split_at(split);
        let bootstrap = BootstrapConfig::new(
            self.options.bootstrap,
            0.05,
            self.options.seed ^ u64::from(day),
        );
        let round = match retrain(
            train,
            held_out,
            &self.offers,
            &self.features,
            &self.spec_id,
            &self.fit,
            self.incumbent.as_ref().map(|(id, m)| (id.as_str(), m)),
            self.options.margin,
            &bootstrap,
        ) {
            Ok(r) => {
                let g = &r.gate;
                let round = RetrainRound {
                    day,
                    training_rows: train.len(),
                    held_out_rows: held_out.len(),
                    promoted: g.promote,
                    candidate_dr: Some(g.candidate.dr.estimate),
                    bar: Some(g.bar),
                    advantage: Some(g.advantage.estimate),
                    advantage_lower: Some(g.advantage.lower),
                    reason: g.reason.clone(),
                };
                if g.promote {
                    let id = format!("loop-day-{day}");
                    self.engine.set_response_model(&id, r.candidate.clone())?;
                    self.incumbent = Some((id, r.candidate));
                }
                round
            }
            Err(e) => RetrainRound {
                day,
                training_rows: train.len(),
                held_out_rows: held_out.len(),
                promoted: false,
                candidate_dr: None,
                bar: None,
                advantage: None,
                advantage_lower: None,
                reason: format!("no candidate: {e}"),
            },
        };
        self.retrains.push(round);
        Ok(())
    }

    /// Serves every remaining day of the period; `learn`: retrain on schedule.
    fn serve(
        &mut self,
        market: &mut Market,
        shop: &mut Shop,
        learn: bool,
        mut progress: impl FnMut(&str),
    ) -> Result<(), LabError> {
        let days = self.options.serving_days();
        let first_day = market.day();
        let sources = feature_sources(self.engine.config())?;
        let mut rng = StdRng::seed_from_u64(self.options.seed ^ 0x100B);
        for d in 0..days {
            let now = shop.observed.day_start(first_day + d).0;
            if learn && d % self.options.retrain_every == 0 {
                progress(&format!("week {}: retraining", d / 7 + 1));
                self.retrain(shop, now, d)?;
            }
            // The shadow price from the plan each week; every day a pacing step, which also sets
            // how much may be spent before the next one (as `serve` paces on its clock).
            if d % 7 == 0 {
                replan(&self.engine, shop, now, days - d)?;
            }
            let days_f = f64::from(days);
            self.engine
                .pace(None, f64::from(d) / days_f, 1.0 / days_f)?;
            let engine = &self.engine;
            let (mut decisions, mut explored) = (0usize, 0usize);
            // In the simulated shop an order is placed (and its coupon redeemed) within the
            // visit, so a decision's reservation is settled at the next visit with what the
            // market's spend moved by: the join of a real shop, without the wait.
            let (mut last_spent, mut outstanding) = (market.budget_spent(), 0i64);
            let budget = Some(self.options.budget());
            let mut decide = |ctx: &Context<'_>, observed: &Observed, offers: &[(String, i64)]| {
                if let (Some(b), Some(left)) = (budget, ctx.budget_left) {
                    let spent = b - left;
                    engine.settle(None, outstanding, spent - last_spent);
                    last_spent = spent;
                    outstanding = 0;
                }
                let now = observed.day_start(ctx.day);
                let (facts, d) = decide_at(
                    engine,
                    observed,
                    ctx.user_id,
                    offers,
                    now,
                    &sources,
                    false,
                    &mut rng,
                )
                .ok()?;
                decisions += 1;
                explored += usize::from(d.explored);
                outstanding = d.reserved;
                Some(VisitChoice {
                    offer: d.offer,
                    offer_id: d.offer_id,
                    propensity: d.propensity.clamp(f64::MIN_POSITIVE, 1.0),
                    profile: facts.profile,
                    orders: facts.orders,
                })
            };
            let joined_before = shop.joined.len();
            shop.day(market, &mut decide)?;
            let spent = market.budget_spent();
            self.engine.settle(None, outstanding, spent - last_spent);
            self.decisions += decisions;
            self.explored += explored;
            // The engine's own models learn from every joined outcome, as the service's do:
            // they decide until a trained model is promoted.
            learn_online(&self.engine, &shop.joined[joined_before..])?;
        }
        Ok(())
    }
}

/// The response model's settings (`discount retrain` takes the same): the options' penalties;
/// with `pooled`, pooled over the ladder's depths (every rung of the simulated shop is a
/// percentage off).
fn fit_config(ladder: &[Offer], options: &LoopOptions) -> ResponseFitConfig {
    let base = ResponseFitConfig {
        l2: options.l2,
        ridge: options.ridge,
        ..ResponseFitConfig::default()
    };
    if !options.pooled {
        return base;
    }
    let depths: Option<Vec<f64>> = ladder
        .iter()
        .map(|o| match o {
            Offer::NoOffer => Some(0.0),
            Offer::PercentOff { percent } => Some(percent / 100.0),
            _ => None,
        })
        .collect();
    ResponseFitConfig {
        depths: depths.unwrap_or_default(),
        ..base
    }
}

/// Feeds joined decisions to the engine's own (bias-only) models.
fn learn_online(engine: &DecisionEngine, rows: &[DecisionRow]) -> Result<(), LabError> {
    for r in rows {
        engine.update(&JoinedOutcome {
            offer_id: r.offer_id.clone(),
            features: vec![1.0],
            profit: r.profit,
            discount: r.discount,
            ordered: r.ordered,
        })?;
    }
    Ok(())
}

/// Continues `state` for the serving period with a built-in policy; each day's figures.
fn continue_with(
    state: &MarketState,
    policy: &mut dyn Policy,
    days: u32,
) -> Result<Vec<DayFigures>, LabError> {
    let mut market = Market::resume(state.clone(), quiet())?;
    let from = market.day() as usize;
    market.run_days(days, policy, &mut NullSink)?;
    Ok(market.daily()[from..].to_vec())
}

fn quiet() -> RunOptions {
    RunOptions {
        customer_truth: false,
        decision_truth: false,
    }
}

/// Runs the warm-up, the loop, the ceiling and the baselines; `progress` hears each step.
pub fn run_loop(
    options: &LoopOptions,
    mut progress: impl FnMut(&str),
) -> Result<LoopResult, LabError> {
    options.validate()?;
    let serving = options.serving_days();
    let config = SimConfig {
        users: options.users,
        seed: options.seed,
        days: options.warmup_days + serving,
        budget: None,
        ..SimConfig::default()
    };
    let budget = options.budget();
    progress(&format!(
        "warm-up: {} days of random offers",
        options.warmup_days
    ));
    let mut market = Market::new(config.clone(), quiet())?;
    let mut shop = Shop::new(&config)?;
    explore(&mut market, &mut shop, options.warmup_days, options.seed)?;
    let warmup_decisions = shop.joined.len();
    market.set_budget(Some(budget));
    let state = market.state();
    let warm_shop = shop.clone();

    let spec = FeatureSpec::base();
    let features: Vec<String> = spec.all_features().into_iter().map(|f| f.name).collect();
    let offers: Vec<String> = config.ladder.iter().map(default_id).collect();
    let new_server = |log: &[DecisionRow], epsilon: f64| -> Result<Server<'_>, LabError> {
        let engine = DecisionEngine::new(engine_config(&config, log, budget, epsilon))?;
        learn_online(&engine, log)?;
        Ok(Server {
            options,
            offers: offers.clone(),
            features: features.clone(),
            spec_id: spec.id(),
            engine,
            incumbent: None,
            prior: None,
            fit: fit_config(&config.ladder, options),
            retrains: Vec::new(),
            decisions: 0,
            explored: 0,
        })
    };

    // The loop.
    let mut loop_server = new_server(&shop.joined, options.epsilon)?;
    loop_server.serve(&mut market, &mut shop, true, &mut progress)?;
    let loop_days = market.daily()[options.warmup_days as usize..].to_vec();

    // The information ceiling.
    let mut ceiling_days = None;
    let mut ceiling_rows = 0;
    if options.ceiling_factor > 0 {
        let horizon = config.days;
        let users = (options.users as u64
            * u64::from(options.ceiling_factor)
            * u64::from(options.warmup_days))
        .div_ceil(u64::from(horizon)) as usize;
        progress(&format!(
            "information ceiling: exploring a market of {users} customers for {horizon} days"
        ));
        let big = SimConfig {
            users,
            seed: options.seed ^ 0xCE11_1460,
            ..config.clone()
        };
        let mut big_market = Market::new(big.clone(), quiet())?;
        let mut big_shop = Shop::new(&big)?;
        explore(&mut big_market, &mut big_shop, horizon, big.seed)?;
        ceiling_rows = big_shop.joined.len();
        progress("information ceiling: serving");
        let mut server = new_server(&warm_shop.joined, options.epsilon)?;
        server.prior = Some(std::mem::take(&mut big_shop.joined));
        drop(big_shop);
        let mut m = Market::resume(state.clone(), quiet())?;
        // The ceiling serves with the warm-up's knowledge of each customer, as the loop does.
        let mut s = warm_shop.clone();
        server.serve(&mut m, &mut s, true, |_| {})?;
        ceiling_days = Some(m.daily()[options.warmup_days as usize..].to_vec());
    }

    progress("baselines: no discounts, 10% to everyone, random offers, oracle");
    let none = continue_with(&state, &mut NoOfferPolicy, serving)?;
    let uniform = continue_with(&state, &mut UniformPolicy { percent: 10.0 }, serving)?;
    let random = continue_with(
        &state,
        &mut RandomPolicy::new(options.seed ^ 0x7A4D),
        serving,
    )?;
    let oracle = continue_with(&state, &mut OraclePolicy::new(), serving)?;

    let mut runs: Vec<(&str, Vec<DayFigures>)> = vec![
        ("no discounts", none),
        ("10% to everyone", uniform),
        ("random offers", random),
        ("closed loop", loop_days),
    ];
    if let Some(days) = ceiling_days {
        runs.push(("information ceiling", days));
    }
    runs.push(("oracle", oracle));
    let policies = curves(&runs, budget);
    let share = |name: &str| policies.iter().find(|p| p.policy == name).map(last_two);
    let loop_share_of_ceiling = match (share("closed loop"), share("information ceiling")) {
        (Some(l), Some(c)) if c > 0 => Some(l as f64 / c as f64),
        _ => None,
    };
    Ok(LoopResult {
        options: options.clone(),
        currency: config.currency()?.to_string(),
        budget,
        warmup_decisions,
        loop_decisions: loop_server.decisions,
        loop_explored: loop_server.explored,
        retrains: loop_server.retrains,
        ceiling_rows,
        policies,
        loop_share_of_ceiling,
    })
}

fn last_two(p: &PolicyCurve) -> i64 {
    let w = &p.weekly_incremental_profit;
    w[w.len().saturating_sub(2)..].iter().sum()
}

/// Weekly incremental profit against the first run (no discounts) and shares of the last (the
/// oracle).
fn curves(runs: &[(&str, Vec<DayFigures>)], budget: i64) -> Vec<PolicyCurve> {
    let weekly = |days: &[DayFigures]| -> Vec<DayFigures> {
        days.chunks(7).map(DayFigures::total).collect()
    };
    let control = weekly(&runs[0].1);
    let mut out: Vec<PolicyCurve> = runs
        .iter()
        .map(|(name, days)| {
            let weeks = weekly(days);
            let total = DayFigures::total(days);
            let inc: Vec<i64> = weeks
                .iter()
                .zip(&control)
                .map(|(w, c)| w.gross_profit() - c.gross_profit())
                .collect();
            PolicyCurve {
                policy: name.to_string(),
                revenue: total.revenue,
                discount_spend: total.discount_spend,
                gross_profit: total.gross_profit(),
                incremental_profit: inc.iter().sum(),
                weekly_discount_spend: weeks.iter().map(|w| w.discount_spend).collect(),
                weekly_incremental_profit: inc,
                weekly_share_of_oracle: Vec::new(),
                share_of_oracle: None,
                last_two_weeks_share: None,
                budget_used: if budget > 0 {
                    total.discount_spend as f64 / budget as f64
                } else {
                    0.0
                },
            }
        })
        .collect();
    let Some(oracle) = out.last().cloned() else {
        return out;
    };
    let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
    for p in &mut out {
        p.weekly_share_of_oracle = p
            .weekly_incremental_profit
            .iter()
            .zip(&oracle.weekly_incremental_profit)
            .map(|(a, b)| ratio(*a, *b))
            .collect();
        p.share_of_oracle = ratio(p.incremental_profit, oracle.incremental_profit);
        p.last_two_weeks_share = ratio(last_two(p), last_two(&oracle));
    }
    out
}

/// One policy of the closed-loop comparison over seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeedsSummary {
    pub policy: String,
    /// Share of the oracle's incremental profit over the last two weeks.
    pub last_two_weeks_share: crate::evaluate::Spread,
    /// Over the whole serving period.
    pub share_of_oracle: crate::evaluate::Spread,
    /// Seeds whose spend exceeded the budget.
    pub over_budget_runs: usize,
    /// Seeds in which it earned more than 10% to everyone over the serving period.
    pub beats_uniform_runs: usize,
}

/// The closed loop and its comparison over several seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoopSeeds {
    pub seeds: Vec<u64>,
    pub runs: Vec<LoopResult>,
    pub summary: Vec<SeedsSummary>,
    /// The loop's last-two-weeks incremental profit / the information ceiling's, per seed.
    pub loop_share_of_ceiling: crate::evaluate::Spread,
}

/// Runs [`run_loop`] once per seed; `progress` hears (seed, step).
pub fn run_seeds(
    options: &LoopOptions,
    seeds: &[u64],
    mut progress: impl FnMut(u64, &str),
) -> Result<LoopSeeds, LabError> {
    let mut runs = Vec::with_capacity(seeds.len());
    for &seed in seeds {
        let o = LoopOptions {
            seed,
            ..options.clone()
        };
        runs.push(run_loop(&o, |step| progress(seed, step))?);
    }
    let spread = crate::evaluate::Spread::of;
    let names: Vec<String> = runs
        .first()
        .map(|r| r.policies.iter().map(|p| p.policy.clone()).collect())
        .unwrap_or_default();
    let summary = names
        .iter()
        .map(|name| {
            let mine: Vec<(&LoopResult, &PolicyCurve)> = runs
                .iter()
                .filter_map(|r| r.policy(name).map(|p| (r, p)))
                .collect();
            SeedsSummary {
                policy: name.clone(),
                last_two_weeks_share: spread(
                    &mine
                        .iter()
                        .filter_map(|(_, p)| p.last_two_weeks_share)
                        .collect::<Vec<_>>(),
                ),
                share_of_oracle: spread(
                    &mine
                        .iter()
                        .filter_map(|(_, p)| p.share_of_oracle)
                        .collect::<Vec<_>>(),
                ),
                over_budget_runs: mine
                    .iter()
                    .filter(|(r, p)| p.discount_spend > r.budget)
                    .count(),
                beats_uniform_runs: mine
                    .iter()
                    .filter(|(r, p)| {
                        r.policy("10% to everyone")
                            .is_some_and(|u| p.incremental_profit > u.incremental_profit)
                    })
                    .count(),
            }
        })
        .collect();
    let loop_share_of_ceiling = spread(
        &runs
            .iter()
            .filter_map(|r| r.loop_share_of_ceiling)
            .collect::<Vec<_>>(),
    );
    Ok(LoopSeeds {
        seeds: seeds.to_vec(),
        runs,
        summary,
        loop_share_of_ceiling,
    })
}
