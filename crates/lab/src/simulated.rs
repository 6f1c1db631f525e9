//! The engine in the market simulator: visit features from what the platform observes, outcomes
//! joined to decisions from the simulator's order records (as a shop joins its order log), and a
//! [`discount_sim::Policy`] that asks the [`DecisionEngine`] at each visit, paces the budget daily
//! and learns online from the joined outcomes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use discount_core::time::MICROS_PER_DAY;
use discount_core::{EventKind, Offer, Record};
use discount_sim::customer::ObservedStage;
use discount_sim::policy::{Plan, RandomPolicy, Truth, VisitTruth};
use discount_sim::{simulate_with, Context, Decision, Policy, RunOptions, SimConfig, SimError};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::error::LabError;
use crate::model::{segment_of, SEGMENTS};
use discount_policy::engine::{CustomerFacts, DecisionEngine, DecisionRequest, JoinedOutcome};
use discount_policy::offers::default_id;
use discount_policy::plan::{plan, PlanCustomer};

/// What the platform knows of a customer beyond the visit context: its own offer history.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OfferHistory {
    pub offers: u32,
    pub redeemed: u32,
    pub last_offer_day: Option<u32>,
}

/// Turns a visit into the engine's feature vector.
#[derive(Clone, Debug, PartialEq)]
pub struct VisitFeatures {
    categories: Vec<String>,
}

impl VisitFeatures {
    pub fn new(config: &SimConfig) -> Self {
        Self {
            categories: config
                .catalogue
                .categories
                .iter()
                .map(|c| c.name.clone())
                .collect(),
        }
    }

    /// Feature names, in order.
    pub fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = [
            "bias",
            "stage_new",
            "stage_lapsing",
            "orders_0",
            "orders_1",
            "orders_2_3",
            "recency_0_7",
            "recency_8_30",
            "recency_31_plus",
            "tenure_30_plus",
            "ln_orders",
            "ln_spend",
            "ln_visits",
            "offers_received",
            "redemption_rate",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        n.extend(self.categories.iter().map(|c| format!("category_{c}")));
        n.extend((0..SEGMENTS).map(|s| format!("segment_{s}")));
        n
    }

    pub fn dim(&self) -> usize {
        15 + self.categories.len() + SEGMENTS
    }

    pub fn fill(&self, ctx: &Context<'_>, h: &OfferHistory, out: &mut Vec<f64>) {
        out.clear();
        let b = |c: bool| f64::from(u8::from(c));
        out.push(1.0);
        out.push(b(ctx.stage == ObservedStage::New));
        out.push(b(ctx.stage == ObservedStage::Lapsing));
        out.push(b(ctx.orders == 0));
        out.push(b(ctx.orders == 1));
        out.push(b((2..=3).contains(&ctx.orders)));
        let r = ctx.days_since_last_order;
        out.push(b(matches!(r, Some(0..=7))));
        out.push(b(matches!(r, Some(8..=30))));
        out.push(b(matches!(r, Some(31..))));
        out.push(b(ctx.tenure_days >= 30));
        out.push(f64::from(ctx.orders).ln_1p());
        out.push((ctx.total_spend.max(0) as f64 / 100.0).ln_1p());
        out.push(f64::from(ctx.visits).ln_1p());
        out.push(f64::from(h.offers).ln_1p());
        out.push(if h.offers > 0 {
            f64::from(h.redeemed) / f64::from(h.offers)
        } else {
            0.0
        });
        for c in &self.categories {
            out.push(b(c == ctx.viewed_category));
        }
        let seg = segment_of(ctx);
        out.extend((0..SEGMENTS).map(|s| b(s == seg)));
    }
}

/// Order outcomes per (user, day), collected from the simulator's records.
#[derive(Debug, Default)]
struct TapState {
    start: i64,
    costs: HashMap<String, i64>,
    /// (user, day) -> (profit, discount)
    orders: HashMap<(String, u32), (i64, i64)>,
}

/// The sink side of the outcome join; clone it into the simulator's sink closure.
#[derive(Clone, Debug, Default)]
pub struct OutcomeTap {
    state: Rc<RefCell<TapState>>,
}

impl OutcomeTap {
    pub fn new(config: &SimConfig) -> Result<Self, LabError> {
        let tap = Self::default();
        tap.state.borrow_mut().start = config.start()?.0;
        Ok(tap)
    }

    /// Feeds one simulator record.
    pub fn record(&self, r: Record) {
        let mut s = self.state.borrow_mut();
        match r {
            Record::Item(item) => {
                s.costs.insert(item.id, item.unit_cost.unwrap_or(0));
            }
            Record::Event(e) => {
                if let EventKind::Order { lines, .. } = e.kind {
                    let day = (e.time.0 - s.start).div_euclid(MICROS_PER_DAY).max(0) as u32;
                    let mut profit = 0i64;
                    let mut discount = 0i64;
                    for l in &lines {
                        let cost = s.costs.get(&l.item_id).copied().unwrap_or(0);
                        profit += l.paid - cost * i64::from(l.quantity);
                        discount += l.coupon_discount;
                    }
                    let entry = s.orders.entry((e.user_id, day)).or_default();
                    entry.0 += profit;
                    entry.1 += discount;
                }
            }
            Record::User(_) => {}
        }
    }

    /// Removes and returns the outcome of `user` on `day`: (profit, discount, ordered).
    pub fn take_outcome(&self, user: &str, day: u32) -> (f64, f64, bool) {
        self.take(user, day)
    }

    fn take(&self, user: &str, day: u32) -> (f64, f64, bool) {
        match self
            .state
            .borrow_mut()
            .orders
            .remove(&(user.to_string(), day))
        {
            Some((p, d)) => (p as f64, d as f64, true),
            None => (0.0, 0.0, false),
        }
    }
}

struct Pending {
    user: String,
    customer: usize,
    day: u32,
    offer_id: String,
    features: Vec<f64>,
    offered: bool,
}

/// Joins decisions to outcomes day by day and keeps each customer's offer history.
struct Tracker {
    tap: OutcomeTap,
    featurizer: VisitFeatures,
    history: Vec<OfferHistory>,
    pending: Vec<Pending>,
    joined: Vec<JoinedOutcome>,
}

impl Tracker {
    fn new(tap: OutcomeTap, featurizer: VisitFeatures, customers: usize) -> Self {
        Self {
            tap,
            featurizer,
            history: vec![OfferHistory::default(); customers],
            pending: Vec::new(),
            joined: Vec::new(),
        }
    }

    fn features(&mut self, ctx: &Context<'_>) -> Vec<f64> {
        if ctx.customer >= self.history.len() {
            self.history
                .resize(ctx.customer + 1, OfferHistory::default());
        }
        let mut x = Vec::with_capacity(self.featurizer.dim());
        self.featurizer
            .fill(ctx, &self.history[ctx.customer], &mut x);
        x
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
            let (profit, discount, ordered) = self.tap.take(&p.user, p.day);
            let h = &mut self.history[p.customer];
            if p.offered {
                h.offers += 1;
                h.last_offer_day = Some(p.day);
                if discount > 0.0 {
                    h.redeemed += 1;
                }
            }
            self.joined.push(JoinedOutcome {
                offer_id: p.offer_id,
                features: p.features,
                profit,
                discount,
                ordered,
            });
        }
        self.pending = keep;
        self.joined.len() - before
    }

    fn push(&mut self, ctx: &Context<'_>, features: Vec<f64>, offer: &Offer) {
        self.pending.push(Pending {
            user: ctx.user_id.to_string(),
            customer: ctx.customer,
            day: ctx.day,
            offer_id: default_id(offer),
            features,
            offered: *offer != Offer::NoOffer,
        });
    }
}

/// Wraps a policy and logs its decisions with features and joined outcomes.
struct FeatureRecorder<'p> {
    inner: &'p mut dyn Policy,
    tracker: Tracker,
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
        let x = self.tracker.features(ctx);
        let d = self.inner.decide(ctx, truth);
        self.tracker.push(ctx, x, &d.offer);
        d
    }
}

/// An exploration log with features: random offers over `config` (budget removed), each visit's
/// features and its joined outcome. Also returns the visits per customer per day of the log.
pub fn explore_features(
    config: &SimConfig,
    seed: u64,
) -> Result<(Vec<JoinedOutcome>, f64), LabError> {
    let mut config = config.clone();
    config.budget = None;
    let tap = OutcomeTap::new(&config)?;
    let mut random = RandomPolicy::new(seed);
    let mut recorder = FeatureRecorder {
        inner: &mut random,
        tracker: Tracker::new(tap.clone(), VisitFeatures::new(&config), config.users),
    };
    let sink_tap = tap.clone();
    let mut sink = move |r: Record| sink_tap.record(r);
    simulate_with(
        &config,
        &mut recorder,
        &mut sink,
        RunOptions {
            customer_truth: false,
            decision_truth: false,
        },
    )?;
    recorder.tracker.join_before(u32::MAX);
    let n = recorder.tracker.joined.len();
    let rate = n as f64 / (config.users.max(1) as f64 * f64::from(config.days.max(1)));
    Ok((recorder.tracker.joined, rate))
}

/// The shadow price of the offline plan: the logged visits, each weighted so that they stand for
/// the visits of a `days`-day period, allocated within `budget`.
pub fn planned_lambda(
    engine: &DecisionEngine,
    log: &[JoinedOutcome],
    log_days: u32,
    days: u32,
    budget: i64,
) -> Result<f64, LabError> {
    let w = f64::from(days) / f64::from(log_days.max(1));
    let customers: Vec<PlanCustomer> = log
        .iter()
        .enumerate()
        .map(|(i, o)| PlanCustomer {
            customer_id: format!("log-{i}"),
            facts: CustomerFacts {
                features: o.features.clone(),
                // The plan sees the LTV term only for customers with no order (bucket orders_0).
                orders: if o.features.get(3).copied().unwrap_or(0.0) > 0.5 {
                    0
                } else {
                    1
                },
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
    /// `tap` must be fed the run's records (see [`OutcomeTap::record`]).
    pub fn new(
        engine: Arc<DecisionEngine>,
        config: &SimConfig,
        tap: OutcomeTap,
        seed: u64,
        learn_online: bool,
        label: &str,
    ) -> Self {
        Self {
            tracker: Tracker::new(tap, VisitFeatures::new(config), config.users),
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
        }
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
        let features = self.tracker.features(ctx);
        let facts = CustomerFacts {
            features,
            orders: ctx.orders,
            ..CustomerFacts::default()
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
        self.tracker.push(ctx, facts.features, &decision.offer);
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
    featurizer: VisitFeatures,
    history: Vec<OfferHistory>,
    rng: StdRng,
    report: ApprenticeReport,
}

impl<'r> ApprenticePolicy<'r> {
    /// `engine` should have no budget (it reserves nothing in the shadow).
    pub fn new(
        rule: &'r mut dyn Policy,
        engine: Arc<DecisionEngine>,
        config: &SimConfig,
        seed: u64,
    ) -> Self {
        Self {
            rule,
            engine,
            featurizer: VisitFeatures::new(config),
            history: vec![OfferHistory::default(); config.users],
            rng: StdRng::seed_from_u64(seed ^ 0xA99E),
            report: ApprenticeReport::default(),
        }
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
        if ctx.customer >= self.history.len() {
            self.history
                .resize(ctx.customer + 1, OfferHistory::default());
        }
        let mut x = Vec::with_capacity(self.featurizer.dim());
        self.featurizer
            .fill(ctx, &self.history[ctx.customer], &mut x);
        let facts = CustomerFacts {
            features: x,
            orders: ctx.orders,
            ..CustomerFacts::default()
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
        if served.offer != Offer::NoOffer {
            let h = &mut self.history[ctx.customer];
            h.offers += 1;
            h.last_offer_day = Some(ctx.day);
        }
        served
    }
}
