//! The engine in the market simulator: each customer's facts built from the events the shop
//! recorded, by the function `serve` uses (the serving feature vocabulary), outcomes joined to
//! decisions from the simulator's order records (as a shop joins its order log), and a
//! [`discount_sim::Policy`] that asks the [`DecisionEngine`] at each visit, paces the budget daily
//! and learns online from the joined outcomes.

use std::collections::HashMap;
use std::sync::Arc;

use discount_core::Offer;
use discount_sim::policy::{Plan, RandomPolicy, Truth, VisitTruth};
use discount_sim::{simulate_with, Context, Decision, Policy, RunOptions, SimConfig, SimError};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::error::LabError;
pub use crate::observed::OutcomeTap;
use discount_policy::engine::{CustomerFacts, DecisionEngine, DecisionRequest, JoinedOutcome};
use discount_policy::facts::{feature_sources, sources_of, FeatureSource};
use discount_policy::offers::default_id;
use discount_policy::plan::{plan, PlanCustomer};

/// The features the simulated shop's online models read: serving features (`discount serve`
/// builds the same from a store's events), heavy-tailed ones on the log scale. A config printed by
/// `discount decide --print-config` therefore serves unchanged.
pub const SIMULATED_SHOP_FEATURES: [&str; 14] = [
    "bias",
    "has_ordered",
    "log1p(orders_total)",
    "log1p(days_since_last_order)",
    "log1p(tenure_days)",
    "log1p(spend_mean_order)",
    "log1p(views_7d)",
    "log1p(views_30d)",
    "log1p(carts_30d)",
    "log1p(orders_30d)",
    "log1p(orders_90d)",
    "log1p(coupons_received)",
    "coupon_redemption_rate",
    "discounted_order_share",
];

/// [`SIMULATED_SHOP_FEATURES`] as the engine's feature names.
pub fn simulated_shop_features() -> Vec<String> {
    SIMULATED_SHOP_FEATURES
        .iter()
        .map(|f| f.to_string())
        .collect()
}

/// Where [`SIMULATED_SHOP_FEATURES`] come from in the profile.
pub(crate) fn simulated_shop_sources() -> Result<Vec<FeatureSource>, LabError> {
    Ok(sources_of("simulated shop", &simulated_shop_features())?)
}

/// A decision waiting for its day's outcome.
struct Pending {
    user: String,
    day: u32,
    offer_id: String,
    facts: CustomerFacts,
}

/// Builds each visit's facts from what the shop recorded, joins decisions to outcomes day by day
/// and keeps each customer's offer history (latest first), as the store keeps it.
struct Tracker {
    tap: OutcomeTap,
    sources: Vec<FeatureSource>,
    offers: HashMap<String, Vec<(String, i64)>>,
    pending: Vec<Pending>,
    joined: Vec<JoinedOutcome>,
    /// Orders at decision time of each joined outcome (what the plan needs besides features).
    joined_orders: Vec<u32>,
}

impl Tracker {
    fn new(tap: OutcomeTap, sources: Vec<FeatureSource>) -> Self {
        Self {
            tap,
            sources,
            offers: HashMap::new(),
            pending: Vec::new(),
            joined: Vec::new(),
            joined_orders: Vec::new(),
        }
    }

    /// The customer's facts at the start of the visit's day, as `serve` builds them.
    fn facts(&self, ctx: &Context<'_>) -> Result<CustomerFacts, LabError> {
        let offers = self
            .offers
            .get(ctx.user_id)
            .map_or(&[][..], |v| v.as_slice());
        self.tap
            .facts_at_day(ctx.user_id, ctx.day, offers, &self.sources)
    }

    /// Joins every pending decision of a day before `day`.
    fn join_before(&mut self, day: u32) -> usize {
        let before = self.joined.len();
        let mut keep = Vec::new();
        for p in std::mem::take(&mut self.pending) {
            if p.day >= day {
                keep.push(p);
                continue;
            }
            let (profit, discount, ordered) = self.tap.take_outcome(&p.user, p.day);
            self.offers
                .entry(p.user)
                .or_default()
                .insert(0, (p.offer_id.clone(), self.tap.day_start(p.day).0));
            self.joined.push(JoinedOutcome {
                offer_id: p.offer_id,
                features: p.facts.features,
                profit,
                discount,
                ordered,
            });
            self.joined_orders.push(p.facts.orders);
        }
        self.pending = keep;
        self.joined.len() - before
    }

    fn push(&mut self, ctx: &Context<'_>, facts: CustomerFacts, offer: &Offer) {
        self.pending.push(Pending {
            user: ctx.user_id.to_string(),
            day: ctx.day,
            offer_id: default_id(offer),
            facts,
        });
    }
}

/// Wraps a policy and logs its decisions with features and joined outcomes.
struct FeatureRecorder<'p> {
    inner: &'p mut dyn Policy,
    tracker: Tracker,
    error: Option<LabError>,
}

impl Policy for FeatureRecorder<'_> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn begin(&mut self, plan: &Plan<'_>, truth: Option<&Truth<'_>>) -> Result<(), SimError> {
        self.inner.begin(plan, truth)
    }

    fn decide(&mut self, ctx: &Context<'_>, truth: Option<&VisitTruth<'_>>) -> Decision {
        self.tracker.join_before(ctx.day);
        let d = self.inner.decide(ctx, truth);
        match self.tracker.facts(ctx) {
            Ok(facts) => self.tracker.push(ctx, facts, &d.offer),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        d
    }
}

/// An exploration log in the serving features: random offers over `config` (budget removed),
/// each visit's features ([`SIMULATED_SHOP_FEATURES`]) and its joined outcome.
#[derive(Clone, Debug, Default)]
pub struct FeatureLog {
    pub outcomes: Vec<JoinedOutcome>,
    /// The customer's orders at each decision, in the order of `outcomes`.
    pub orders: Vec<u32>,
}

/// Logs random offers over `config` (budget removed) with each visit's facts and outcome.
pub fn explore_features(config: &SimConfig, seed: u64) -> Result<FeatureLog, LabError> {
    let mut config = config.clone();
    config.budget = None;
    let tap = OutcomeTap::new(&config)?;
    let mut random = RandomPolicy::new(seed);
    let mut recorder = FeatureRecorder {
        inner: &mut random,
        tracker: Tracker::new(tap.clone(), simulated_shop_sources()?),
        error: None,
    };
    let sink_tap = tap.clone();
    let mut sink = move |r| sink_tap.record(r);
    simulate_with(
        &config,
        &mut recorder,
        &mut sink,
        RunOptions {
            customer_truth: false,
            decision_truth: false,
        },
    )?;
    if let Some(e) = recorder.error {
        return Err(e);
    }
    recorder.tracker.join_before(u32::MAX);
    Ok(FeatureLog {
        outcomes: recorder.tracker.joined,
        orders: recorder.tracker.joined_orders,
    })
}

/// The shadow price of the offline plan: the logged visits, each weighted so that they stand for
/// the visits of a `days`-day period, allocated within `budget`.
pub fn planned_lambda(
    engine: &DecisionEngine,
    log: &FeatureLog,
    log_days: u32,
    days: u32,
    budget: i64,
) -> Result<f64, LabError> {
    let w = f64::from(days) / f64::from(log_days.max(1));
    let customers: Vec<PlanCustomer> = log
        .outcomes
        .iter()
        .zip(&log.orders)
        .enumerate()
        .map(|(i, (o, &orders))| PlanCustomer {
            customer_id: format!("log-{i}"),
            facts: CustomerFacts {
                features: o.features.clone(),
                orders,
                ..CustomerFacts::default()
            },
            visits: w,
        })
        .collect();
    Ok(plan(engine, &customers, budget)?.lambda)
}

/// The engine as a simulator policy.
pub struct EnginePolicy {
    engine: Arc<DecisionEngine>,
    tracker: Tracker,
    rng: StdRng,
    learn_online: bool,
    days: u32,
    budget: Option<i64>,
    current_day: Option<u32>,
    last_spent: i64,
    outstanding: i64,
    label: String,
    /// Decisions made, explored, and the final shadow price.
    decisions: u64,
    explored: u64,
}

impl EnginePolicy {
    /// `tap` must be fed the run's records (see [`OutcomeTap::record`]); the engine's features
    /// must be serving features.
    pub fn new(
        engine: Arc<DecisionEngine>,
        config: &SimConfig,
        tap: OutcomeTap,
        seed: u64,
        learn_online: bool,
        label: &str,
    ) -> Result<Self, LabError> {
        Ok(Self {
            tracker: Tracker::new(tap, feature_sources(engine.config())?),
            engine,
            rng: StdRng::seed_from_u64(seed ^ 0xE461_4E00),
            learn_online,
            days: config.days,
            budget: config.budget,
            current_day: None,
            last_spent: 0,
            outstanding: 0,
            label: label.to_string(),
            decisions: 0,
            explored: 0,
        })
    }

    pub fn engine(&self) -> &DecisionEngine {
        &self.engine
    }
}

impl Policy for EnginePolicy {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn begin(&mut self, plan: &Plan<'_>, _truth: Option<&Truth<'_>>) -> Result<(), SimError> {
        let bad = |reason: String| SimError::Policy {
            policy: self.label.clone(),
            reason,
        };
        let ledger_total = self.engine.ledger(None).map(|l| l.total());
        if ledger_total != plan.budget {
            return Err(bad(format!(
                "the engine's default budget {ledger_total:?} differs from the run's {:?}",
                plan.budget
            )));
        }
        for o in plan.ladder {
            if self.engine.ladder().index_of(&default_id(o)).is_none() {
                return Err(bad(format!(
                    "the run's offer {} is not in the ladder",
                    o.label()
                )));
            }
        }
        self.days = plan.days;
        self.budget = plan.budget;
        Ok(())
    }

    fn decide(&mut self, ctx: &Context<'_>, _truth: Option<&VisitTruth<'_>>) -> Decision {
        // Settle the previous decision's reservation with what it actually cost.
        if let (Some(b), Some(left)) = (self.budget, ctx.budget_left) {
            let spent = b - left;
            self.engine
                .settle(None, self.outstanding, spent - self.last_spent);
            self.last_spent = spent;
            self.outstanding = 0;
        }
        if self.current_day != Some(ctx.day) {
            self.current_day = Some(ctx.day);
            let n = self.tracker.join_before(ctx.day);
            if self.learn_online {
                let start = self.tracker.joined.len() - n;
                for o in &self.tracker.joined[start..] {
                    // Outcomes come from this engine's own ladder, so they always fit.
                    let _ = self.engine.update(o);
                }
            }
            if self.budget.is_some() {
                let days = f64::from(self.days.max(1));
                let _ = self
                    .engine
                    .pace(None, f64::from(ctx.day) / days, 1.0 / days);
            }
        }
        let Ok(facts) = self.tracker.facts(ctx) else {
            return Decision::none();
        };
        let req = DecisionRequest {
            customer_id: ctx.user_id.to_string(),
            ..DecisionRequest::default()
        };
        let decision = match self.engine.decide(&req, &facts, &mut self.rng) {
            Ok(d) => d,
            Err(_) => return Decision::none(),
        };
        self.decisions += 1;
        self.explored += u64::from(decision.explored);
        self.outstanding = decision.reserved;
        self.tracker.push(ctx, facts, &decision.offer);
        Decision {
            offer: decision.offer,
            propensity: decision.propensity.clamp(f64::MIN_POSITIVE, 1.0),
        }
    }

    fn notes(&self) -> Vec<(String, f64)> {
        vec![
            ("engine_lambda".into(), self.engine.lambda(None)),
            ("engine_decisions".into(), self.decisions as f64),
            ("engine_explored".into(), self.explored as f64),
            ("engine_model_version".into(), self.engine.version() as f64),
        ]
    }
}

/// What an apprentice run found: how often the engine agreed with the rule that was served, and
/// what the engine's own models say each choice was worth.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ApprenticeReport {
    pub decisions: u64,
    pub agreed: u64,
    pub agreement: f64,
    /// Sum over visits of the engine's expected incremental profit of its own choice.
    pub engine_expected_profit: f64,
    /// Sum over visits of the engine's expected incremental profit of the rule's choice.
    pub rule_expected_profit: f64,
    /// Same for the expected discount spend.
    pub engine_expected_cost: f64,
    pub rule_expected_cost: f64,
}

/// Apprentice mode: the engine runs in the shadow of the platform's current rule. At each visit
/// the rule's offer is served (with the rule's propensity); the engine's decision is only logged,
/// reserving nothing. The report says how often they agree and what the engine expects each
/// choice to earn (its estimated value before it takes over).
pub struct ApprenticePolicy<'r> {
    rule: &'r mut dyn Policy,
    engine: Arc<DecisionEngine>,
    tap: OutcomeTap,
    sources: Vec<FeatureSource>,
    /// Each customer's offers served by the rule (latest first).
    offers: HashMap<String, Vec<(String, i64)>>,
    rng: StdRng,
    report: ApprenticeReport,
}

impl<'r> ApprenticePolicy<'r> {
    /// `engine` should have no budget (it reserves nothing in the shadow); `tap` must be fed
    /// the run's records.
    pub fn new(
        rule: &'r mut dyn Policy,
        engine: Arc<DecisionEngine>,
        tap: OutcomeTap,
        seed: u64,
    ) -> Result<Self, LabError> {
        Ok(Self {
            rule,
            sources: feature_sources(engine.config())?,
            engine,
            tap,
            offers: HashMap::new(),
            rng: StdRng::seed_from_u64(seed ^ 0xA99E),
            report: ApprenticeReport::default(),
        })
    }

    pub fn report(&self) -> ApprenticeReport {
        let mut r = self.report.clone();
        r.agreement = r.agreed as f64 / r.decisions.max(1) as f64;
        r
    }
}

impl Policy for ApprenticePolicy<'_> {
    fn name(&self) -> String {
        format!("apprentice({})", self.rule.name())
    }

    fn begin(&mut self, plan: &Plan<'_>, truth: Option<&Truth<'_>>) -> Result<(), SimError> {
        self.rule.begin(plan, truth)
    }

    fn decide(&mut self, ctx: &Context<'_>, truth: Option<&VisitTruth<'_>>) -> Decision {
        let served = self.rule.decide(ctx, truth);
        let offers = self
            .offers
            .get(ctx.user_id)
            .map_or(&[][..], |v| v.as_slice());
        let Ok(facts) = self
            .tap
            .facts_at_day(ctx.user_id, ctx.day, offers, &self.sources)
        else {
            return served;
        };
        let req = DecisionRequest {
            customer_id: ctx.user_id.to_string(),
            ..DecisionRequest::default()
        };
        if let Ok(shadow) = self.engine.decide(&req, &facts, &mut self.rng) {
            let r = &mut self.report;
            r.decisions += 1;
            if shadow.offer == served.offer {
                r.agreed += 1;
            }
            let served_id = default_id(&served.offer);
            let score = |id: &str| shadow.scores.iter().find(|s| s.offer_id == id);
            if let Some(s) = score(&shadow.offer_id) {
                r.engine_expected_profit += s.expected_incremental_profit;
                r.engine_expected_cost += s.expected_cost;
            }
            if let Some(s) = score(&served_id) {
                r.rule_expected_profit += s.expected_incremental_profit;
                r.rule_expected_cost += s.expected_cost;
            }
        }
        self.offers
            .entry(ctx.user_id.to_string())
            .or_default()
            .insert(
                0,
                (default_id(&served.offer), self.tap.day_start(ctx.day).0),
            );
        served
    }
}
