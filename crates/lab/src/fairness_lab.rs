//! What the fairness rules cost, measured in the simulated shop.
//!
//! Per seed, one market is run several times with common random numbers: with no offers (the
//! control), and with a plan that knows every customer's true response (the simulator's ground
//! truth, so that the measured cost is the rules' own and not a model's error) under each rule
//! set: none, the offer-rate ratio between new and returning customers, the price spread, both.
//! Each plan is the engine's offline plan ([`discount_policy::plan::lagrangian`] and
//! [`discount_policy::fairness`]) over each customer's visits (those of the control run: the plan
//! knows who will come as it knows how they respond); each visit then gets the
//! customer's planned offer while the budget lasts. The incremental profit is the run's gross
//! profit minus the control's; beside it are the realised offer-rate ratio (visits with an offer
//! over visits, per group, as the audit measures it) and the realised price spread (the
//! largest gap in the share of list price taken off between two visits of the same day; a visit
//! without an offer pays the list price).

use discount_core::Offer;
use discount_policy::fairness::{
    enforce_offer_rate_ratio, max_depth, rate_ratio, FairnessConfig, GroupRate,
};
use discount_policy::knapsack::{Choice, Instance};
use discount_policy::plan::lagrangian;
use discount_sim::catalogue::Catalogue;
use discount_sim::customer::{Population, Stage};
use discount_sim::policy::{Plan, Truth, VisitTruth};
use discount_sim::{
    simulate_with, Context, Decision, FraudKind, NullSink, Policy, RunOptions, SimConfig, SimError,
};
use serde::Serialize;

use crate::LabError;

/// The groups the ratio is measured over.
pub const GROUPS: [&str; 2] = ["new", "returning"];

/// The experiment's settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FairnessLabOptions {
    pub users: usize,
    pub days: u32,
    /// Discount budget of each run, minor units.
    pub budget: i64,
    pub seeds: Vec<u64>,
    /// The rules measured (each alone, then both).
    pub max_offer_rate_ratio: f64,
    pub max_price_spread: f64,
}

impl Default for FairnessLabOptions {
    fn default() -> Self {
        Self {
            users: 5_000,
            days: 30,
            budget: 300_000,
            seeds: vec![1, 2, 3, 4, 5],
            max_offer_rate_ratio: 1.25,
            max_price_spread: 0.15,
        }
    }
}

/// One run: a seed under one rule set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleRun {
    pub rules: String,
    pub seed: u64,
    /// Gross profit over the control's, minor units.
    pub incremental_profit: i64,
    pub discount_spend: i64,
    pub offers: u64,
    /// The plan's own figures: expected incremental profit and offer-rate ratio.
    pub planned_value: f64,
    pub planned_ratio: f64,
    /// Per group: customers who visited, those of them who got an offer at least once, and
    /// the share of the group's visits with an offer.
    pub realised: Vec<GroupRate>,
    pub realised_ratio: f64,
    pub realised_spread: f64,
}

/// A rule set over the seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleSummary {
    pub rules: String,
    /// The plans' expected incremental profit, and what the rules cost in it (no noise: the
    /// plan's own expectation under the true response).
    pub mean_planned_value: f64,
    pub mean_planned_cost: f64,
    pub mean_incremental_profit: f64,
    /// Mean over seeds of (incremental profit without rules - with these), and its standard
    /// error: the seeds are paired.
    pub mean_cost: f64,
    pub cost_standard_error: f64,
    /// `mean_cost / mean incremental profit without rules`.
    pub relative_cost: f64,
    pub mean_realised_ratio: f64,
    pub worst_realised_ratio: f64,
    pub worst_realised_spread: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FairnessLabReport {
    pub options: FairnessLabOptions,
    pub runs: Vec<RuleRun>,
    pub summary: Vec<RuleSummary>,
}

/// The rule sets measured, by name.
fn rule_sets(o: &FairnessLabOptions) -> Vec<(&'static str, FairnessConfig)> {
    let ratio = Some(o.max_offer_rate_ratio);
    let spread = Some(o.max_price_spread);
    vec![
        ("none", FairnessConfig::default()),
        (
            "offer_rate_ratio",
            FairnessConfig {
                max_offer_rate_ratio: ratio,
                max_price_spread: None,
            },
        ),
        (
            "price_spread",
            FairnessConfig {
                max_offer_rate_ratio: None,
                max_price_spread: spread,
            },
        ),
        (
            "both",
            FairnessConfig {
                max_offer_rate_ratio: ratio,
                max_price_spread: spread,
            },
        ),
    ]
}

/// Serves each customer the offer the plan gave them; records who visited and who got what.
struct PlannedPolicy {
    rules: FairnessConfig,
    /// Each customer's visits in the control run (the market's visits with no offer), which the
    /// plan weighs customers by: a plan with perfect knowledge knows who will come.
    control_visits: Vec<u32>,
    /// Group index of each customer (in [`GROUPS`]).
    groups: Vec<usize>,
    budget: i64,
    planned: Vec<Option<Offer>>,
    planned_value: f64,
    planned_ratio: f64,
    visited: Vec<bool>,
    offered: Vec<bool>,
    /// Per group: visits, and visits with an offer.
    visits: [(u64, u64); 2],
    /// Per day: the smallest and largest depth served.
    day_depths: Vec<(f64, f64)>,
}

impl PlannedPolicy {
    fn new(
        rules: FairnessConfig,
        groups: Vec<usize>,
        control_visits: Vec<u32>,
        budget: i64,
    ) -> Self {
        let n = groups.len();
        Self {
            rules,
            control_visits,
            groups,
            budget,
            planned: Vec::new(),
            planned_value: 0.0,
            planned_ratio: 1.0,
            visited: vec![false; n],
            offered: vec![false; n],
            visits: [(0, 0); 2],
            day_depths: Vec::new(),
        }
    }

    fn realised(&self) -> Vec<GroupRate> {
        GROUPS
            .iter()
            .enumerate()
            .map(|(g, name)| {
                let (mut customers, mut offered) = (0, 0);
                for i in (0..self.groups.len()).filter(|&i| self.groups[i] == g) {
                    customers += usize::from(self.visited[i]);
                    offered += usize::from(self.offered[i]);
                }
                let (visits, with_offer) = self.visits[g];
                GroupRate {
                    group: (*name).to_string(),
                    customers,
                    offered,
                    rate: if visits == 0 {
                        0.0
                    } else {
                        with_offer as f64 / visits as f64
                    },
                }
            })
            .collect()
    }

    fn realised_spread(&self) -> f64 {
        self.day_depths
            .iter()
            .map(|(lo, hi)| if hi >= lo { hi - lo } else { 0.0 })
            .fold(0.0, f64::max)
    }
}

impl Policy for PlannedPolicy {
    fn name(&self) -> String {
        "fair-plan".into()
    }

    fn reads_truth(&self) -> bool {
        true
    }

    fn begin(&mut self, plan: &Plan<'_>, truth: Option<&Truth<'_>>) -> Result<(), SimError> {
        let truth = truth.ok_or_else(|| SimError::Policy {
            policy: self.name(),
            reason: "needs the ground truth".into(),
        })?;
        let n = truth.customers();
        let mut options = Vec::with_capacity(n);
        let mut weights = Vec::with_capacity(n);
        let mut offers: Vec<Vec<Option<Offer>>> = Vec::with_capacity(n);
        for i in 0..n {
            let mut opts = vec![Choice {
                profit: 0.0,
                cost: 0.0,
            }];
            let mut map = vec![None];
            let w = f64::from(self.control_visits.get(i).copied().unwrap_or(0));
            weights.push(w);
            if truth.fraud(i) == FraudKind::None {
                let base = truth.evaluate(i, &Offer::NoOffer).expected_profit;
                for o in plan.ladder {
                    if *o == Offer::NoOffer || !self.rules.allows(o) {
                        continue;
                    }
                    let t = truth.evaluate(i, o);
                    opts.push(Choice {
                        profit: (t.expected_profit - base) * w,
                        cost: t.expected_cost * w,
                    });
                    map.push(Some(o.clone()));
                }
            }
            options.push(opts);
            offers.push(map);
        }
        let inst = Instance::new(options);
        let budget = self.budget as f64;
        let mut a = lagrangian(&inst, budget).map_err(|e| SimError::Policy {
            policy: self.name(),
            reason: e.to_string(),
        })?;
        if let Some(r) = self.rules.max_offer_rate_ratio {
            enforce_offer_rate_ratio(
                &inst,
                &mut a,
                &self.groups,
                &weights,
                GROUPS.len(),
                r,
                budget,
            )
            .map_err(|e| SimError::Policy {
                policy: "fair-plan".into(),
                reason: e.to_string(),
            })?;
        }
        let names: Vec<String> = GROUPS.iter().map(|g| g.to_string()).collect();
        self.planned_ratio = rate_ratio(&discount_policy::fairness::offer_rates(
            &a.choice,
            &self.groups,
            &weights,
            &names,
        ));
        self.planned_value = a.value;
        self.planned = a
            .choice
            .iter()
            .zip(offers)
            .map(|(&j, map)| map[j].clone())
            .collect();
        Ok(())
    }

    fn decide(&mut self, ctx: &Context<'_>, _truth: Option<&VisitTruth<'_>>) -> Decision {
        let i = ctx.customer;
        if let Some(v) = self.visited.get_mut(i) {
            *v = true;
        }
        let group = self.groups.get(i).copied().unwrap_or(0);
        let offer = self
            .planned
            .get(i)
            .cloned()
            .flatten()
            .filter(|_| ctx.budget_left.is_none_or(|b| b > 0));
        let depth = offer.as_ref().map_or(0.0, max_depth);
        let day = ctx.day as usize;
        if self.day_depths.len() <= day {
            self.day_depths
                .resize(day + 1, (f64::INFINITY, f64::NEG_INFINITY));
        }
        let d = &mut self.day_depths[day];
        *d = (d.0.min(depth), d.1.max(depth));
        self.visits[group].0 += 1;
        self.visits[group].1 += u64::from(offer.is_some());
        match offer {
            Some(offer) => {
                if let Some(o) = self.offered.get_mut(i) {
                    *o = true;
                }
                Decision {
                    offer,
                    propensity: 1.0,
                }
            }
            None => Decision::none(),
        }
    }
}

/// The control: no offers, each customer's visits counted.
struct VisitCounter(Vec<u32>);

impl Policy for VisitCounter {
    fn name(&self) -> String {
        "none".into()
    }

    fn decide(&mut self, ctx: &Context<'_>, _truth: Option<&VisitTruth<'_>>) -> Decision {
        if let Some(v) = self.0.get_mut(ctx.customer) {
            *v += 1;
        }
        Decision::none()
    }
}

/// New (no order before the run) or returning, per customer, from the same population the
/// market draws from its seed.
fn groups_of(config: &SimConfig) -> Result<Vec<usize>, LabError> {
    let currency = config.currency()?;
    let catalogue = Catalogue::build(&config.catalogue, config.seed, currency);
    let pop = Population::generate(config, &catalogue);
    Ok(pop
        .initial_stage
        .iter()
        .map(|s| usize::from(*s != Stage::New))
        .collect())
}

/// Runs the experiment; `progress(done, total)` after each run.
pub fn run(
    options: &FairnessLabOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<FairnessLabReport, LabError> {
    if options.seeds.is_empty() {
        return Err(LabError::Invalid("give at least one seed".into()));
    }
    if options.budget < 0 {
        return Err(LabError::Invalid(format!(
            "budget must be >= 0 minor units, got {}",
            options.budget
        )));
    }
    let sets = rule_sets(options);
    for (_, rules) in &sets {
        rules.validate()?;
    }
    let total = options.seeds.len() * (sets.len() + 1);
    let mut done = 0;
    let mut runs = Vec::new();
    let quiet = RunOptions {
        customer_truth: false,
        decision_truth: false,
    };
    for &seed in &options.seeds {
        let config = SimConfig {
            seed,
            users: options.users,
            days: options.days,
            budget: Some(options.budget),
            ..SimConfig::default()
        };
        let groups = groups_of(&config)?;
        let mut counter = VisitCounter(vec![0; options.users]);
        let control = simulate_with(&config, &mut counter, &mut NullSink, quiet)?;
        done += 1;
        progress(done, total);
        for (name, rules) in &sets {
            let mut policy = PlannedPolicy::new(
                rules.clone(),
                groups.clone(),
                counter.0.clone(),
                options.budget,
            );
            let out = simulate_with(&config, &mut policy, &mut NullSink, quiet)?;
            let realised = policy.realised();
            runs.push(RuleRun {
                rules: (*name).to_string(),
                seed,
                incremental_profit: out.summary.gross_profit - control.summary.gross_profit,
                discount_spend: out.summary.discount_spend,
                offers: out.summary.offers,
                planned_value: policy.planned_value,
                planned_ratio: policy.planned_ratio,
                realised_ratio: rate_ratio(&realised),
                realised,
                realised_spread: policy.realised_spread(),
            });
            done += 1;
            progress(done, total);
        }
    }
    let summary = summarise(&sets, &runs, options.seeds.len());
    Ok(FairnessLabReport {
        options: options.clone(),
        runs,
        summary,
    })
}

fn summarise(
    sets: &[(&'static str, FairnessConfig)],
    runs: &[RuleRun],
    seeds: usize,
) -> Vec<RuleSummary> {
    let of = |name: &str| -> Vec<&RuleRun> { runs.iter().filter(|r| r.rules == name).collect() };
    let free = of("none");
    let free_mean = free
        .iter()
        .map(|r| r.incremental_profit as f64)
        .sum::<f64>()
        / seeds.max(1) as f64;
    let free_planned = free.iter().map(|r| r.planned_value).sum::<f64>() / seeds.max(1) as f64;
    sets.iter()
        .map(|(name, _)| {
            let mine = of(name);
            let costs: Vec<f64> = mine
                .iter()
                .zip(&free)
                .map(|(r, f)| (f.incremental_profit - r.incremental_profit) as f64)
                .collect();
            let n = costs.len().max(1) as f64;
            let mean_cost = costs.iter().sum::<f64>() / n;
            let var = if costs.len() > 1 {
                costs.iter().map(|c| (c - mean_cost).powi(2)).sum::<f64>() / (n - 1.0)
            } else {
                0.0
            };
            let mean_planned_value = mine.iter().map(|r| r.planned_value).sum::<f64>() / n;
            RuleSummary {
                rules: (*name).to_string(),
                mean_planned_value,
                mean_planned_cost: free_planned - mean_planned_value,
                mean_incremental_profit: mine
                    .iter()
                    .map(|r| r.incremental_profit as f64)
                    .sum::<f64>()
                    / n,
                mean_cost,
                cost_standard_error: (var / n).sqrt(),
                relative_cost: if free_mean.abs() > 0.0 {
                    mean_cost / free_mean
                } else {
                    0.0
                },
                mean_realised_ratio: mine.iter().map(|r| r.realised_ratio).sum::<f64>() / n,
                worst_realised_ratio: mine.iter().map(|r| r.realised_ratio).fold(0.0, f64::max),
                worst_realised_spread: mine.iter().map(|r| r.realised_spread).fold(0.0, f64::max),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small shop: every rule set runs; the spread rule never serves a cut deeper than its
    /// limit, and the ratio rule's plan meets its ratio.
    #[test]
    fn rules_hold_in_the_small_shop() {
        let options = FairnessLabOptions {
            users: 600,
            days: 10,
            budget: 30_000,
            seeds: vec![3],
            max_offer_rate_ratio: 1.05,
            max_price_spread: 0.15,
        };
        let report = run(&options, |_, _| {}).unwrap();
        assert_eq!(report.runs.len(), 4);
        for r in &report.runs {
            if r.rules == "price_spread" || r.rules == "both" {
                assert!(r.realised_spread <= 0.15 + 1e-12, "{r:?}");
            }
            if r.rules == "offer_rate_ratio" || r.rules == "both" {
                assert!(r.planned_ratio <= 1.05 + 1e-9, "{r:?}");
            }
        }
        let none = &report.summary[0];
        assert_eq!(none.rules, "none");
        assert_eq!(none.mean_cost, 0.0);
        // A rule can only lower the plan's own expected value.
        assert!(report.summary.iter().all(|s| s.mean_planned_cost >= -1e-6));
        assert!(report.runs[0].planned_ratio > 1.05, "{:?}", report.runs[0]);
    }
}
