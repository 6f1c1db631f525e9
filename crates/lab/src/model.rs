//! The segment-level uplift model and the budgeted policy built on it.

use std::sync::OnceLock;

use discount_core::Offer;
use discount_features::FeatureSpec;
use discount_policy::engine::CustomerFacts;
use discount_sim::policy::{Plan, Truth, VisitTruth};
use discount_sim::rng::SplitMix64;
use discount_sim::{Context, Decision, Policy, SimConfig, SimError};

use crate::error::LabError;
use crate::log::LoggedDecision;
use crate::observed::OutcomeTap;

/// Hyper-parameters of the learner and the policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Hyper {
    /// Prior strength (pseudo-visits) of the pooled estimate in each segment's cell; >= 0.
    pub shrinkage: f64,
    /// Share of visits given a uniformly random affordable rung, in [0, 1).
    pub epsilon: f64,
    /// Seed of the exploration draws.
    pub seed: u64,
}

impl Default for Hyper {
    fn default() -> Self {
        Self {
            shrinkage: 1000.0,
            epsilon: 0.05,
            seed: 1,
        }
    }
}

impl Hyper {
    /// Checks every value.
    pub fn validate(&self) -> Result<(), LabError> {
        if !(self.shrinkage.is_finite() && self.shrinkage >= 0.0) {
            return Err(LabError::Policy(discount_policy::PolicyError::Hyper {
                name: "shrinkage",
                value: self.shrinkage,
                rule: "must be a finite number >= 0",
            }));
        }
        if !(0.0..1.0).contains(&self.epsilon) {
            return Err(LabError::Policy(discount_policy::PolicyError::Hyper {
                name: "epsilon",
                value: self.epsilon,
                rule: "must be in [0, 1)",
            }));
        }
        Ok(())
    }
}

const STAGES: usize = 3;
const ORDER_BUCKETS: usize = 4;
const RECENCY_BUCKETS: usize = 4;
const TENURE_BUCKETS: usize = 2;
/// Number of segments [`segment_of`] returns.
pub const SEGMENTS: usize = STAGES * ORDER_BUCKETS * RECENCY_BUCKETS * TENURE_BUCKETS;

/// Positions in the profile's feature vector of what a segment reads.
struct SegmentFeatures {
    recency: usize,
    tenure: usize,
}

fn segment_features() -> &'static SegmentFeatures {
    static POSITIONS: OnceLock<SegmentFeatures> = OnceLock::new();
    POSITIONS.get_or_init(|| {
        let names: Vec<String> = FeatureSpec::base_ref()
            .all_features()
            .into_iter()
            .map(|f| f.name)
            .collect();
        let at = |name: &str| names.iter().position(|n| n == name).unwrap_or(usize::MAX);
        SegmentFeatures {
            recency: at("days_since_last_order"),
            tenure: at("tenure_days"),
        }
    })
}

/// The segment of a customer from their serving facts (what `serve` builds from the shop's
/// events): lifecycle stage (no order yet; ordered within `active_window_days`; ordered before
/// that), order count, days since the last order and tenure, bucketed.
pub fn segment_of(facts: &CustomerFacts, active_window_days: u32) -> usize {
    let positions = segment_features();
    let feature = |i: usize| facts.profile.get(i).copied().unwrap_or(0.0);
    let recency = (facts.orders > 0).then(|| feature(positions.recency).max(0.0));
    let stage = match recency {
        None => 0,
        Some(d) if d <= f64::from(active_window_days) => 1,
        Some(_) => 2,
    };
    let orders = match facts.orders {
        0 => 0,
        1 => 1,
        2..=3 => 2,
        _ => 3,
    };
    let recency = match recency {
        None => 0,
        Some(d) if d < 8.0 => 1,
        Some(d) if d < 31.0 => 2,
        Some(_) => 3,
    };
    let tenure = usize::from(feature(positions.tenure) >= 30.0);
    ((stage * ORDER_BUCKETS + orders) * RECENCY_BUCKETS + recency) * TENURE_BUCKETS + tenure
}

/// Each visit's segment, from the customer's facts at the start of the visit's day as the shop
/// recorded them (the tap must be fed the run's records).
#[derive(Clone, Debug)]
pub struct Segments {
    tap: OutcomeTap,
    active_window_days: u32,
}

impl Segments {
    pub fn new(tap: OutcomeTap, config: &SimConfig) -> Self {
        Self {
            tap,
            active_window_days: config.population.active_window_days,
        }
    }

    /// The visit's segment; `None` when the customer's recorded events cannot be read.
    pub fn of_visit(&self, ctx: &Context<'_>) -> Option<usize> {
        let facts = self.tap.facts_at_day(ctx.user_id, ctx.day, &[], &[]).ok()?;
        Some(segment_of(&facts, self.active_window_days))
    }

    pub fn tap(&self) -> &OutcomeTap {
        &self.tap
    }
}

/// Per segment and rung: expected profit and spend per visit, and visits per day.
#[derive(Clone, Debug, PartialEq)]
pub struct UpliftModel {
    pub ladder: Vec<Offer>,
    /// Index of `no offer` in the ladder.
    pub baseline: usize,
    /// `profit[s][k]`: expected gross profit per visit of segment `s` given rung `k`.
    pub profit: Vec<Vec<f64>>,
    /// `cost[s][k]`: expected discount spend per visit.
    pub cost: Vec<Vec<f64>>,
    /// Visits per day of each segment in the log.
    pub visits_per_day: Vec<f64>,
    /// Largest discount seen paid at one visit for each rung (the reserve kept before offering it).
    pub max_discount: Vec<f64>,
}

impl UpliftModel {
    /// Learns from `log`, covering `days` days, with decisions indexed into `ladder`.
    pub fn fit(
        ladder: &[Offer],
        log: &[LoggedDecision],
        days: u32,
        hyper: &Hyper,
    ) -> Result<Self, LabError> {
        hyper.validate()?;
        let baseline = ladder
            .iter()
            .position(|o| *o == Offer::NoOffer)
            .ok_or(LabError::Policy(discount_policy::PolicyError::NoBaseline))?;
        if log.is_empty() || days == 0 {
            return Err(LabError::EmptyLog);
        }
        let k = ladder.len();
        // Weighted sums: [s][k] -> (sum w, sum w*profit, sum w*discount, count).
        let mut cells = vec![vec![(0.0f64, 0.0f64, 0.0f64, 0.0f64); k]; SEGMENTS];
        let mut visits = vec![0.0; SEGMENTS];
        let mut max_discount = vec![0.0f64; k];
        for (index, d) in log.iter().enumerate() {
            let bad = |reason: &str| LabError::BadLog {
                index,
                reason: reason.to_string(),
            };
            if d.segment >= SEGMENTS || d.action >= k {
                return Err(bad("segment or action out of range"));
            }
            if !(d.propensity > 0.0 && d.propensity <= 1.0) {
                return Err(bad("propensity not in (0, 1]"));
            }
            if !(d.profit.is_finite() && d.discount.is_finite()) {
                return Err(bad("outcome not finite"));
            }
            let w = 1.0 / d.propensity;
            let c = &mut cells[d.segment][d.action];
            c.0 += w;
            c.1 += w * d.profit;
            c.2 += w * d.discount;
            c.3 += 1.0;
            visits[d.segment] += 1.0;
            max_discount[d.action] = max_discount[d.action].max(d.discount);
        }
        // Pooled (self-normalised IPW) means per rung.
        let pooled: Vec<(f64, f64)> = (0..k)
            .map(|a| {
                let (w, p, c) = cells.iter().fold((0.0, 0.0, 0.0), |acc, row| {
                    (acc.0 + row[a].0, acc.1 + row[a].1, acc.2 + row[a].2)
                });
                if w > 0.0 {
                    (p / w, c / w)
                } else {
                    (0.0, 0.0)
                }
            })
            .collect();
        let m = hyper.shrinkage;
        let mut profit = vec![vec![0.0; k]; SEGMENTS];
        let mut cost = vec![vec![0.0; k]; SEGMENTS];
        for s in 0..SEGMENTS {
            for a in 0..k {
                let (w, p, c, n) = cells[s][a];
                let (pp, pc) = pooled[a];
                let (mp, mc) = if w > 0.0 { (p / w, c / w) } else { (pp, pc) };
                let denom = n + m;
                if denom > 0.0 {
                    profit[s][a] = (n * mp + m * pp) / denom;
                    cost[s][a] = (n * mc + m * pc) / denom;
                } else {
                    profit[s][a] = pp;
                    cost[s][a] = pc;
                }
            }
            // Shrink the baseline's profit to the segment's own estimate only: uplift is the
            // difference against the same segment's no-offer profit.
        }
        let visits_per_day = visits.iter().map(|v| v / f64::from(days)).collect();
        Ok(Self {
            ladder: ladder.to_vec(),
            baseline,
            profit,
            cost,
            visits_per_day,
            max_discount,
        })
    }

    /// Expected incremental profit per visit of rung `k` in segment `s`.
    pub fn uplift(&self, s: usize, k: usize) -> f64 {
        self.profit[s][k] - self.profit[s][self.baseline]
    }

    /// The rung maximising `uplift - lambda * cost` in segment `s` among `allowed` rungs.
    pub fn best(&self, s: usize, lambda: f64, allowed: impl Fn(usize) -> bool) -> usize {
        let mut best = self.baseline;
        let mut best_value = 0.0;
        for k in 0..self.ladder.len() {
            if k == self.baseline || !allowed(k) {
                continue;
            }
            let v = self.uplift(s, k) - lambda * self.cost[s][k];
            if v > best_value {
                best = k;
                best_value = v;
            }
        }
        best
    }

    /// Planned spend over `days` days at shadow price `lambda` with exploration share `epsilon`.
    pub fn planned_spend(&self, lambda: f64, days: u32, epsilon: f64) -> f64 {
        let k = self.ladder.len() as f64;
        (0..SEGMENTS)
            .map(|s| {
                let greedy = self.cost[s][self.best(s, lambda, |_| true)];
                let uniform = self.cost[s].iter().sum::<f64>() / k;
                self.visits_per_day[s]
                    * f64::from(days)
                    * ((1.0 - epsilon) * greedy + epsilon * uniform)
            })
            .sum()
    }
}

/// The smallest shadow price whose planned spend over `days` is at most `budget` (the engine's
/// bisection, `discount_policy::knapsack::shadow_price`), and that planned spend. Without a
/// budget, 0.
pub fn plan_lambda(
    model: &UpliftModel,
    budget: Option<i64>,
    days: u32,
    epsilon: f64,
) -> (f64, f64) {
    let Some(budget) = budget else {
        return (0.0, model.planned_spend(0.0, days, epsilon));
    };
    let budget = budget as f64;
    let spend0 = model.planned_spend(0.0, days, epsilon);
    if spend0 <= budget {
        return (0.0, spend0);
    }
    let (_, hi) = discount_policy::knapsack::shadow_price(budget, |lambda| {
        model.planned_spend(lambda, days, epsilon)
    });
    (hi, model.planned_spend(hi, days, epsilon))
}

/// The learned policy: the model's best rung at the budget's shadow price, epsilon exploration.
#[derive(Clone, Debug)]
pub struct LearnedPolicy {
    model: UpliftModel,
    hyper: Hyper,
    segments: Segments,
    lambda: f64,
    planned: f64,
    rng: SplitMix64,
}

/// Stream tag of the policy's exploration draws.
const EXPLORE_STREAM: u64 = 0x7E57;

impl LearnedPolicy {
    /// `segments` reads each visit's segment from the run's records (feed its tap).
    pub fn new(model: UpliftModel, hyper: Hyper, segments: Segments) -> Result<Self, LabError> {
        hyper.validate()?;
        Ok(Self {
            rng: SplitMix64::stream(hyper.seed, &[EXPLORE_STREAM]),
            model,
            hyper,
            segments,
            lambda: 0.0,
            planned: 0.0,
        })
    }

    /// The shadow price set by `begin`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    pub fn model(&self) -> &UpliftModel {
        &self.model
    }
}

impl Policy for LearnedPolicy {
    fn name(&self) -> String {
        "learned".into()
    }

    fn begin(&mut self, plan: &Plan<'_>, _truth: Option<&Truth<'_>>) -> Result<(), SimError> {
        if plan.ladder != self.model.ladder.as_slice() {
            return Err(SimError::Policy {
                policy: self.name(),
                reason: LabError::LadderMismatch.to_string(),
            });
        }
        let (lambda, planned) =
            plan_lambda(&self.model, plan.budget, plan.days, self.hyper.epsilon);
        self.lambda = lambda;
        self.planned = planned;
        Ok(())
    }

    fn decide(&mut self, ctx: &Context<'_>, _truth: Option<&VisitTruth<'_>>) -> Decision {
        // Draw every time so that the stream does not depend on the budget.
        let u = self.rng.uniform();
        let pick = self.rng.uniform();
        let m = &self.model;
        if ctx.ladder.len() != m.ladder.len() {
            return Decision::none();
        }
        let left = ctx.budget_left.map(|b| b as f64);
        // Offer a rung only while the budget left covers the largest discount it was seen to cost.
        let affordable =
            |k: usize| k == m.baseline || left.is_none_or(|b| b >= m.max_discount[k].max(1.0));
        let allowed: Vec<usize> = (0..m.ladder.len()).filter(|&k| affordable(k)).collect();
        if allowed.len() <= 1 {
            return Decision::none();
        }
        let Some(s) = self.segments.of_visit(ctx) else {
            return Decision::none();
        };
        let greedy = m.best(s, self.lambda, affordable);
        let eps = self.hyper.epsilon;
        let n = allowed.len();
        let chosen = if u < eps {
            allowed[((pick * n as f64) as usize).min(n - 1)]
        } else {
            greedy
        };
        let mut propensity = eps / n as f64;
        if chosen == greedy {
            propensity += 1.0 - eps;
        }
        Decision {
            offer: m.ladder[chosen].clone(),
            propensity: propensity.clamp(f64::MIN_POSITIVE, 1.0),
        }
    }

    fn notes(&self) -> Vec<(String, f64)> {
        vec![
            ("learned_lambda".into(), self.lambda),
            ("learned_planned_spend".into(), self.planned),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use discount_sim::customer::ObservedStage;

    fn ladder() -> Vec<Offer> {
        vec![
            Offer::NoOffer,
            Offer::PercentOff { percent: 10.0 },
            Offer::PercentOff { percent: 20.0 },
        ]
    }

    /// Segment 0: rung 1 adds 30 of profit at a cost of 20; segment 1: no uplift, cost 20.
    fn synthetic_log(n: usize) -> Vec<LoggedDecision> {
        let mut rng = SplitMix64::new(9);
        let mut log = Vec::new();
        for i in 0..n {
            let segment = i % 2;
            let action = rng.below(3);
            let noise = (rng.uniform() - 0.5) * 40.0;
            let (profit, discount) = match (segment, action) {
                (0, 1) => (130.0, 20.0),
                (0, 2) => (110.0, 40.0),
                (_, 0) => (100.0, 0.0),
                (_, a) => (100.0 - 10.0 * a as f64, 20.0 * a as f64),
            };
            log.push(LoggedDecision {
                segment,
                action,
                propensity: 1.0 / 3.0,
                profit: profit + noise,
                discount,
            });
        }
        log
    }

    #[test]
    fn learner_recovers_a_known_uplift() {
        let model = UpliftModel::fit(
            &ladder(),
            &synthetic_log(60_000),
            10,
            &Hyper {
                shrinkage: 100.0,
                ..Hyper::default()
            },
        )
        .unwrap();
        assert!(
            (model.uplift(0, 1) - 30.0).abs() < 2.0,
            "{}",
            model.uplift(0, 1)
        );
        assert!((model.uplift(0, 2) - 10.0).abs() < 2.0);
        assert!((model.uplift(1, 1) + 10.0).abs() < 2.0);
        assert!((model.cost[0][1] - 20.0).abs() < 1e-9);
        assert_eq!(model.best(0, 0.0, |_| true), 1);
        assert_eq!(model.best(1, 0.0, |_| true), 0);
        // Too expensive at a high shadow price.
        assert_eq!(model.best(0, 2.0, |_| true), 0);
    }

    #[test]
    fn lambda_bisection_spends_at_most_the_budget() {
        let model =
            UpliftModel::fit(&ladder(), &synthetic_log(30_000), 10, &Hyper::default()).unwrap();
        for budget in [0i64, 1_000, 50_000, 10_000_000] {
            let (lambda, planned) = plan_lambda(&model, Some(budget), 10, 0.0);
            assert!(lambda >= 0.0);
            assert!(planned <= budget as f64 + 1e-6, "{budget}: {planned}");
        }
        let (lambda, _) = plan_lambda(&model, None, 10, 0.0);
        assert_eq!(lambda, 0.0);
    }

    #[test]
    fn hyper_parameters_are_validated() {
        let bad = Hyper {
            epsilon: 1.0,
            ..Hyper::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("epsilon"));
        let bad = Hyper {
            shrinkage: f64::NAN,
            ..Hyper::default()
        };
        assert!(UpliftModel::fit(&ladder(), &synthetic_log(10), 1, &bad).is_err());
        assert!(matches!(
            UpliftModel::fit(&ladder()[1..], &synthetic_log(10), 1, &Hyper::default()),
            Err(LabError::Policy(discount_policy::PolicyError::NoBaseline))
        ));
    }

    #[test]
    fn propensities_are_valid() {
        let model =
            UpliftModel::fit(&ladder(), &synthetic_log(3_000), 10, &Hyper::default()).unwrap();
        let config = SimConfig::default();
        let segments = Segments::new(OutcomeTap::new(&config).unwrap(), &config);
        let mut policy = LearnedPolicy::new(
            model,
            Hyper {
                epsilon: 0.2,
                ..Hyper::default()
            },
            segments,
        )
        .unwrap();
        let l = ladder();
        for (i, budget) in [Some(1_000_000i64), Some(0), None].into_iter().enumerate() {
            for day in 0..500 {
                let ctx = Context {
                    user_id: "u1",
                    customer: i,
                    day,
                    stage: ObservedStage::New,
                    orders: 0,
                    days_since_last_order: None,
                    total_spend: 0,
                    visits: 0,
                    tenure_days: 0,
                    viewed_category: "x",
                    budget_left: budget,
                    ladder: &l,
                };
                let d = policy.decide(&ctx, None);
                assert!(d.propensity > 0.0 && d.propensity <= 1.0);
                if budget == Some(0) {
                    assert_eq!(d.offer, Offer::NoOffer);
                }
            }
        }
    }

    /// The facts of a customer with `orders` orders, the last `recency` days ago, first seen
    /// `tenure` days ago.
    fn facts(orders: u32, recency: f64, tenure: f64) -> CustomerFacts {
        let names: Vec<String> = FeatureSpec::base()
            .all_features()
            .into_iter()
            .map(|f| f.name)
            .collect();
        let mut profile = vec![0.0; names.len()];
        for (name, value) in [("days_since_last_order", recency), ("tenure_days", tenure)] {
            let i = names.iter().position(|n| n == name).unwrap();
            profile[i] = value;
        }
        CustomerFacts {
            orders,
            profile,
            ..CustomerFacts::default()
        }
    }

    #[test]
    fn segments_bucket_stage_orders_recency_and_tenure() {
        let window = 60;
        // A customer without orders is new whatever the recency feature says.
        assert_eq!(
            segment_of(&facts(0, 12.0, 5.0), window),
            segment_of(&facts(0, 90.0, 5.0), window)
        );
        let cases = [
            (facts(0, 3.0, 3.0), (0, 0, 0, 0)),
            (facts(1, 3.5, 40.0), (1, 1, 1, 1)),
            (facts(3, 8.0, 10.0), (1, 2, 2, 0)),
            (facts(7, 61.0, 400.0), (2, 3, 3, 1)),
        ];
        for (f, (stage, orders, recency, tenure)) in cases {
            let expected = ((stage * ORDER_BUCKETS + orders) * RECENCY_BUCKETS + recency)
                * TENURE_BUCKETS
                + tenure;
            assert_eq!(segment_of(&f, window), expected, "{f:?}");
        }
    }
}
