//! Policies: who gets which offer. The simulation loop asks the policy once for each visit.
//!
//! A policy sees only what the platform could know ([`Context`]: the customer's id, order history,
//! the observable lifecycle stage, the day, the budget left). Only a policy that says it
//! [`reads_truth`](Policy::reads_truth) (the oracle) is also handed the ground truth.

use crate::config::StageValues;
use crate::customer::{ObservedStage, Population, Stage};
use crate::fraud::FraudKind;
use crate::oracle::{best_option, Choice, Instance};
use crate::response::{OfferTruth, Traits, TrueModel};
use crate::rng::{domain, SplitMix64};
use crate::SimError;
use discount_core::Offer;

/// What a policy may observe about a visiting customer.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    /// The customer's public id.
    pub user_id: &'a str,
    /// The customer's index in `0..users` (a stable key for per-customer policy state).
    pub customer: usize,
    /// Day of the run, from 0.
    pub day: u32,
    /// Lifecycle stage as told by the order history.
    pub stage: ObservedStage,
    /// Orders placed so far (including before the run).
    pub orders: u32,
    /// Days since the last order, if any.
    pub days_since_last_order: Option<u32>,
    /// Paid spend so far, minor units.
    pub total_spend: i64,
    /// Visits during the run before this one.
    pub visits: u32,
    /// Days since signup (0 on the signup day).
    pub tenure_days: u32,
    /// Category of the first item viewed in this visit.
    pub viewed_category: &'a str,
    /// Budget left for the run (minor units), if the run has a budget.
    pub budget_left: Option<i64>,
    /// The offers of the run's ladder.
    pub ladder: &'a [Offer],
}

/// A policy's answer: the offer, and the probability with which the policy chose it.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub offer: Offer,
    /// In (0, 1]; 1 for deterministic policies.
    pub propensity: f64,
}

impl Decision {
    pub fn none() -> Self {
        Decision {
            offer: Offer::NoOffer,
            propensity: 1.0,
        }
    }
}

/// The ground truth, as handed to truth-reading policies.
#[derive(Clone, Copy, Debug)]
pub struct Truth<'a> {
    pub(crate) model: &'a TrueModel,
    pub(crate) population: &'a Population,
    pub(crate) visit_rate: &'a StageValues,
    pub(crate) fraud_visit: (f64, f64),
    /// The period the policy is asked to plan for: days `from_day..from_day + days` of the market.
    pub(crate) from_day: u32,
    pub(crate) days: u32,
}

impl Truth<'_> {
    /// Number of customers.
    pub fn customers(&self) -> usize {
        self.population.len()
    }

    /// The truth of `offer` for `customer` at an ordinary visit.
    pub fn evaluate(&self, customer: usize, offer: &Offer) -> OfferTruth {
        self.model
            .evaluate(&Traits::of(self.population, customer), offer, false)
    }

    /// The fraud label of `customer`.
    pub fn fraud(&self, customer: usize) -> FraudKind {
        self.population.fraud[customer]
    }

    /// A rough expected number of visits of `customer` over the planned period, from the current
    /// stage's visit rate (lifecycle moves are ignored; enough to set a shadow price).
    pub fn expected_visits(&self, customer: usize) -> f64 {
        let pop = self.population;
        let (from, to) = (
            self.from_day as i64,
            self.from_day as i64 + self.days as i64,
        );
        let signup = pop.signup_day[customer] as i64;
        let days_present = (to - signup.max(from)).max(0) as f64;
        match pop.fraud[customer] {
            FraudKind::CouponFarmer => return 1.0,
            FraudKind::Reseller => return self.fraud_visit.1 * days_present,
            _ => {}
        }
        let rate = match pop.stage[customer] {
            Stage::New => self.visit_rate.new,
            Stage::Active => self.visit_rate.active,
            Stage::Lapsing => self.visit_rate.lapsing,
            Stage::Lost => self.visit_rate.lost,
        };
        let signup_visit = if (from..to).contains(&signup) {
            1.0
        } else {
            0.0
        };
        signup_visit + (rate * pop.visit_mult[customer] as f64).min(1.0) * days_present
    }
}

/// The truth for the current visit (includes what only the simulator knows, e.g. a brushing burst).
#[derive(Clone, Copy, Debug)]
pub struct VisitTruth<'a> {
    pub(crate) model: &'a TrueModel,
    pub(crate) traits: Traits,
    pub(crate) burst: bool,
}

impl VisitTruth<'_> {
    /// The truth of `offer` at this visit.
    pub fn evaluate(&self, offer: &Offer) -> OfferTruth {
        self.model.evaluate(&self.traits, offer, self.burst)
    }

    /// The customer's latent traits.
    pub fn traits(&self) -> &Traits {
        &self.traits
    }
}

/// What a run tells a policy before the first day.
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    pub days: u32,
    pub customers: usize,
    pub budget: Option<i64>,
    pub ladder: &'a [Offer],
}

/// A policy: called once per visit, in a fixed order, so that a seeded policy is reproducible.
pub trait Policy {
    /// A short name for reports, e.g. `uniform:10`.
    fn name(&self) -> String;

    /// Whether the policy is handed the ground truth (only the oracle should say yes).
    fn reads_truth(&self) -> bool {
        false
    }

    /// Called once before the first day; `truth` is `Some` only for truth-reading policies.
    fn begin(&mut self, _plan: &Plan<'_>, _truth: Option<&Truth<'_>>) -> Result<(), SimError> {
        Ok(())
    }

    /// The offer for this visit.
    fn decide(&mut self, ctx: &Context<'_>, truth: Option<&VisitTruth<'_>>) -> Decision;

    /// Figures the policy wants in the run summary (e.g. the oracle's shadow price).
    fn notes(&self) -> Vec<(String, f64)> {
        Vec::new()
    }

    /// What a saved run must keep for this policy to continue exactly where it stopped (a
    /// random policy's generator); `None` for policies without state between visits.
    fn saved_state(&self) -> Option<String> {
        None
    }

    /// Continues from a [`Policy::saved_state`].
    fn restore(&mut self, state: &str) -> Result<(), SimError> {
        Err(SimError::Policy {
            policy: self.name(),
            reason: format!("keeps no state to restore (got `{state}`)"),
        })
    }
}

/// Never offers anything (the control).
#[derive(Clone, Debug, Default)]
pub struct NoOfferPolicy;

impl Policy for NoOfferPolicy {
    fn name(&self) -> String {
        "none".into()
    }

    fn decide(&mut self, _ctx: &Context<'_>, _truth: Option<&VisitTruth<'_>>) -> Decision {
        Decision::none()
    }
}

/// The same percentage off for every visitor while the budget lasts.
#[derive(Clone, Debug)]
pub struct UniformPolicy {
    pub percent: f64,
}

impl Policy for UniformPolicy {
    fn name(&self) -> String {
        format!("uniform:{}", self.percent)
    }

    fn decide(&mut self, ctx: &Context<'_>, _truth: Option<&VisitTruth<'_>>) -> Decision {
        if ctx.budget_left.is_some_and(|b| b <= 0) {
            return Decision::none();
        }
        Decision {
            offer: Offer::PercentOff {
                percent: self.percent,
            },
            propensity: 1.0,
        }
    }
}

/// A uniformly random rung of the ladder for every visitor (the exploration policy whose logs
/// off-policy evaluation likes best); no offer once the budget is spent.
#[derive(Clone, Debug)]
pub struct RandomPolicy {
    rng: SplitMix64,
}

impl RandomPolicy {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix64::stream(seed, &[domain::POLICY]),
        }
    }
}

impl Policy for RandomPolicy {
    fn name(&self) -> String {
        "random".into()
    }

    fn saved_state(&self) -> Option<String> {
        Some(self.rng.state().to_string())
    }

    fn restore(&mut self, state: &str) -> Result<(), SimError> {
        let s = state.parse::<u64>().map_err(|_| SimError::Policy {
            policy: self.name(),
            reason: format!("the saved generator state `{state}` is not an unsigned integer"),
        })?;
        self.rng = SplitMix64::new(s);
        Ok(())
    }

    fn decide(&mut self, ctx: &Context<'_>, _truth: Option<&VisitTruth<'_>>) -> Decision {
        // Draw even when the budget is spent, so that the stream does not depend on the budget.
        let pick = self.rng.below(ctx.ladder.len().max(1));
        if ctx.ladder.is_empty() || ctx.budget_left.is_some_and(|b| b <= 0) {
            return Decision::none();
        }
        Decision {
            offer: ctx.ladder[pick].clone(),
            propensity: 1.0 / ctx.ladder.len() as f64,
        }
    }
}

/// The oracle: knows every customer's true response and allocates the budget by the Lagrangian
/// method. Before the run it builds the knapsack over all customers (options = ladder rungs,
/// weighted by each customer's expected visits), finds the budget's shadow price `lambda` by
/// bisection (with its duality-gap certificate), then at each visit takes the rung maximising
/// `incremental profit - lambda * expected cost` with the true figures of that visit. It knows the
/// fraud labels and never makes offers to fraud accounts (their orders are abuse, whatever their
/// margin).
#[derive(Clone, Debug, Default)]
pub struct OraclePolicy {
    lambda: f64,
    notes: Vec<(String, f64)>,
}

impl OraclePolicy {
    pub fn new() -> Self {
        Self::default()
    }

    /// The shadow price set by `begin`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The per-visit options of `offers`: incremental profit and expected cost against no offer.
    fn options(offers: &[Offer], eval: impl Fn(&Offer) -> OfferTruth) -> Vec<Choice> {
        let base = eval(&Offer::NoOffer);
        let mut options = vec![Choice {
            profit: 0.0,
            cost: 0.0,
        }];
        options.extend(offers.iter().map(|o| {
            let t = eval(o);
            Choice {
                profit: t.expected_profit - base.expected_profit,
                cost: t.expected_cost,
            }
        }));
        options
    }
}

impl Policy for OraclePolicy {
    fn name(&self) -> String {
        "oracle".into()
    }

    fn reads_truth(&self) -> bool {
        true
    }

    fn begin(&mut self, plan: &Plan<'_>, truth: Option<&Truth<'_>>) -> Result<(), SimError> {
        let (Some(budget), Some(truth)) = (plan.budget, truth) else {
            self.lambda = 0.0;
            return Ok(());
        };
        let mut options = Vec::with_capacity(truth.customers());
        for i in 0..truth.customers() {
            if truth.fraud(i) != FraudKind::None {
                options.push(vec![Choice {
                    profit: 0.0,
                    cost: 0.0,
                }]);
                continue;
            }
            let w = truth.expected_visits(i);
            options.push(
                Self::options(plan.ladder, |o| truth.evaluate(i, o))
                    .into_iter()
                    .map(|c| Choice {
                        profit: c.profit * w,
                        cost: c.cost * w,
                    })
                    .collect(),
            );
        }
        let allocation = Instance::new(options).solve_lagrangian(budget as f64)?;
        self.lambda = allocation.lambda.unwrap_or(0.0);
        self.notes = vec![
            ("oracle_lambda".into(), self.lambda),
            ("oracle_planned_incremental_profit".into(), allocation.value),
            ("oracle_planned_cost".into(), allocation.cost),
            ("oracle_dual_bound".into(), allocation.dual_bound),
            ("oracle_gap".into(), allocation.gap),
        ];
        Ok(())
    }

    fn decide(&mut self, ctx: &Context<'_>, truth: Option<&VisitTruth<'_>>) -> Decision {
        let Some(truth) = truth else {
            return Decision::none();
        };
        if ctx.budget_left.is_some_and(|b| b <= 0) || truth.traits().fraud != FraudKind::None {
            return Decision::none();
        }
        let options = Self::options(ctx.ladder, |o| truth.evaluate(o));
        let j = best_option(&options, self.lambda);
        if j == 0 {
            return Decision::none();
        }
        Decision {
            offer: ctx.ladder[j - 1].clone(),
            propensity: 1.0,
        }
    }

    fn notes(&self) -> Vec<(String, f64)> {
        self.notes.clone()
    }
}

/// Builds a built-in policy from its spec: `none`, `uniform:PERCENT`, `random` or `oracle`.
pub fn policy_from_spec(spec: &str, seed: u64) -> Result<Box<dyn Policy>, SimError> {
    let bad = |reason: &str| SimError::Policy {
        policy: spec.to_string(),
        reason: reason.to_string(),
    };
    let (name, arg) = spec.split_once(':').unwrap_or((spec, ""));
    match (name.trim(), arg.trim()) {
        ("none", "") => Ok(Box::new(NoOfferPolicy)),
        ("random", "") => Ok(Box::new(RandomPolicy::new(seed))),
        ("oracle", "") => Ok(Box::new(OraclePolicy::new())),
        ("uniform", p) => {
            let percent: f64 = p
                .parse()
                .map_err(|_| bad("expected uniform:PERCENT, e.g. uniform:10"))?;
            if !(percent > 0.0 && percent <= 100.0) {
                return Err(bad("the percentage must be in (0, 100]"));
            }
            Ok(Box::new(UniformPolicy { percent }))
        }
        _ => Err(bad(
            "unknown policy; expected none, uniform:PERCENT, random or oracle",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(policy_from_spec("none", 1).unwrap().name(), "none");
        assert_eq!(
            policy_from_spec("uniform:10", 1).unwrap().name(),
            "uniform:10"
        );
        assert!(policy_from_spec("oracle", 1).unwrap().reads_truth());
        assert!(policy_from_spec("uniform:0", 1).is_err());
        assert!(policy_from_spec("uniform:x", 1).is_err());
        let e = policy_from_spec("greedy", 1).err().unwrap().to_string();
        assert!(e.contains("greedy") && e.contains("uniform:PERCENT"), "{e}");
    }
}
