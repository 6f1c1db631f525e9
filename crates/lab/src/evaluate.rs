//! Policies compared in the simulator at the same budget, over the same weeks and seeds: no
//! discounts, 10% to everyone, the segment uplift policy, the engine with each exploration rule,
//! and the oracle (which knows every customer's true response). Incremental profit is the gross
//! profit minus that of the same market without any offer (common random numbers).

use std::sync::Arc;

use discount_core::Offer;
use discount_sim::policy::{NoOfferPolicy, OraclePolicy, UniformPolicy};
use discount_sim::{simulate_with, NullSink, Policy, RunOptions, SimConfig, SimSummary};
use serde::Serialize;

use crate::error::LabError;
use crate::model::{Hyper, LearnedPolicy, Segments, UpliftModel};
use crate::rl::{compare_lifecycle, LifecycleReport};
use crate::simulated::{
    explore_features, planned_lambda, simulated_shop_features, ApprenticePolicy, ApprenticeReport,
    EnginePolicy, FeatureLog, OutcomeTap,
};
use crate::{explore, log::LoggedDecision};
use discount_policy::bandit::Exploration;
use discount_policy::budget::PacingConfig;
use discount_policy::engine::{
    BudgetConfig, DecisionEngine, EngineConfig, JoinedOutcome, ModelConfig, ModelStructure,
    RulesConfig,
};
use discount_policy::offers::{default_id, Eligibility, OfferSpec, Scope};

/// What to compare.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalOptions {
    pub users: usize,
    pub learn_days: u32,
    pub test_days: u32,
    /// Budget of the test period per customer, minor units.
    pub budget_per_user: i64,
    pub seeds: Vec<u64>,
    /// Which engine variants to run.
    pub explorations: Vec<(String, Exploration, ModelStructure)>,
    /// Lifecycle comparison: customers, days, training episodes, per-visit discount (None: skip).
    pub lifecycle: Option<(usize, u32, usize, f64)>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            users: 20_000,
            learn_days: 28,
            test_days: 28,
            budget_per_user: 10,
            seeds: vec![1, 2, 3, 4, 5],
            explorations: vec![
                (
                    "engine:eps-greedy".into(),
                    Exploration::EpsilonGreedy { epsilon: 0.05 },
                    ModelStructure::Disjoint,
                ),
                (
                    "engine:linucb".into(),
                    Exploration::LinUcb {
                        alpha: 0.5,
                        epsilon: 0.02,
                    },
                    ModelStructure::Disjoint,
                ),
                (
                    "engine:lints".into(),
                    Exploration::LinTs {
                        scale: 0.5,
                        epsilon: 0.02,
                    },
                    ModelStructure::Disjoint,
                ),
                (
                    "engine:eps-greedy-shared".into(),
                    Exploration::EpsilonGreedy { epsilon: 0.05 },
                    ModelStructure::Shared,
                ),
            ],
            lifecycle: Some((10_000, 90, 10, 0.9)),
        }
    }
}

/// One policy's figures in one seed.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyRun {
    pub policy: String,
    pub seed: u64,
    pub incremental_profit: i64,
    pub discount_spend: i64,
    pub budget: i64,
    /// spend / budget.
    pub budget_used: f64,
    pub share_of_oracle: Option<f64>,
    /// The shadow price at the start and at the end of the run (engine policies).
    pub lambda_start: Option<f64>,
    pub lambda_end: Option<f64>,
}

/// Mean and standard deviation over seeds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Self {
            mean,
            sd: var.sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// One policy over all seeds.
#[derive(Clone, Debug, Serialize)]
pub struct PolicySummary {
    pub policy: String,
    pub incremental_profit: Spread,
    pub share_of_oracle: Spread,
    /// Incremental profit minus that of 10% to everyone, per seed.
    pub vs_uniform: Spread,
    /// Incremental profit minus that of no discounts (= incremental profit).
    pub vs_none: Spread,
    pub budget_used: Spread,
    /// Seeds in which spend exceeded the budget.
    pub over_budget_runs: usize,
}

/// The comparison.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub options: EvalOptions,
    pub runs: Vec<PolicyRun>,
    pub summary: Vec<PolicySummary>,
    /// The engine in apprentice mode behind 10% to everyone (first seed).
    pub apprentice: Option<ApprenticeReport>,
    /// Lifecycle reinforcement learning against one-step greedy.
    pub lifecycle: Option<LifecycleReport>,
}

fn run(config: &SimConfig, policy: &mut dyn Policy) -> Result<SimSummary, LabError> {
    Ok(simulate_with(
        config,
        policy,
        &mut NullSink,
        RunOptions {
            customer_truth: false,
            decision_truth: false,
        },
    )?
    .summary)
}

/// The engine configuration for a simulated market: the run's ladder with each percentage offer
/// capped at the largest discount the exploration log saw it pay, the budget, and the serving
/// features of [`simulated_shop_features`].
pub fn sim_engine_config(
    config: &SimConfig,
    log: &[JoinedOutcome],
    budget: Option<i64>,
    exploration: Exploration,
    structure: ModelStructure,
) -> EngineConfig {
    let ladder = capped_ladder(&config.ladder, |id| {
        log.iter()
            .filter(|r| r.offer_id == id)
            .map(|r| r.discount)
            .fold(0.0f64, f64::max)
    });
    EngineConfig {
        name: "engine".into(),
        ladder,
        rules: RulesConfig::default(),
        budgets: budget
            .map(|amount| BudgetConfig {
                campaign: "default".into(),
                amount,
                initial_lambda: 0.0,
                period_start: None,
                period_days: None,
            })
            .into_iter()
            .collect(),
        pacing: PacingConfig::default(),
        exploration,
        model: ModelConfig {
            features: simulated_shop_features(),
            ridge: 10.0,
            structure,
            lifetime_value: None,
        },
    }
}

/// The simulated shop's ladder as the engine's offers: each percentage offer's reservation capped
/// at `largest_seen(offer id)`, the largest discount the log saw it pay (the simulator applies a
/// percentage to the whole order, so a reservation needs a cap).
pub fn capped_ladder(ladder: &[Offer], largest_seen: impl Fn(&str) -> f64) -> Vec<OfferSpec> {
    ladder
        .iter()
        .map(|o| {
            let id = default_id(o);
            let seen = largest_seen(&id);
            OfferSpec {
                id,
                offer: o.clone(),
                scope: Scope::Basket,
                eligibility: Eligibility::default(),
                max_discount: match o {
                    Offer::PercentOff { .. } => Some((seen.ceil() as i64).max(1)),
                    _ => None,
                },
            }
        })
        .collect()
}

/// Builds and warm-starts the engine on `log`, with the plan's shadow price for the period.
pub fn warm_engine(
    engine_config: EngineConfig,
    log: &FeatureLog,
    log_days: u32,
    days: u32,
) -> Result<DecisionEngine, LabError> {
    let engine = DecisionEngine::new(engine_config)?;
    for o in &log.outcomes {
        engine.update(o)?;
    }
    if let Some(ledger) = engine.ledger(None) {
        let lambda = planned_lambda(&engine, log, log_days, days, ledger.total())?;
        engine.set_lambda(None, lambda)?;
    }
    Ok(engine)
}

/// Runs the comparison; `progress` is told each policy run as it starts.
pub fn evaluate(
    options: &EvalOptions,
    mut progress: impl FnMut(u64, &str),
) -> Result<EvalReport, LabError> {
    let mut runs = Vec::new();
    let mut apprentice = None;
    for &seed in &options.seeds {
        let base = SimConfig {
            users: options.users,
            seed,
            ..SimConfig::default()
        };
        let learn = SimConfig {
            days: options.learn_days,
            ..base.clone()
        };
        let budget = options.budget_per_user.saturating_mul(options.users as i64);
        let test = SimConfig {
            days: options.test_days,
            budget: Some(budget),
            ..base
        };
        progress(seed, "exploration log");
        let log = explore_features(&learn, seed)?;
        let segment_log: Vec<LoggedDecision> = explore(&learn, seed)?.decisions;
        let mut results: Vec<(String, SimSummary)> = Vec::new();
        let mut starts: Vec<(String, f64)> = Vec::new();
        progress(seed, "no discounts");
        results.push(("none".into(), run(&test, &mut NoOfferPolicy)?));
        progress(seed, "uniform 10%");
        results.push((
            "uniform:10".into(),
            run(&test, &mut UniformPolicy { percent: 10.0 })?,
        ));
        progress(seed, "segment uplift");
        let hyper = Hyper {
            seed,
            ..Hyper::default()
        };
        let model = UpliftModel::fit(&learn.ladder, &segment_log, options.learn_days, &hyper)?;
        let tap = OutcomeTap::new(&test)?;
        let mut learned = LearnedPolicy::new(model, hyper, Segments::new(tap.clone(), &test))?;
        results.push(("segment-uplift".into(), tap.run(&test, &mut learned)?));
        for (label, exploration, structure) in &options.explorations {
            progress(seed, label);
            let cfg =
                sim_engine_config(&test, &log.outcomes, Some(budget), *exploration, *structure);
            let engine = warm_engine(cfg, &log, options.learn_days, options.test_days)?;
            let lambda_start = engine.lambda(None);
            let tap = OutcomeTap::new(&test)?;
            let mut policy =
                EnginePolicy::new(Arc::new(engine), &test, tap.clone(), seed, true, label)?;
            let summary = tap.run(&test, &mut policy)?;
            starts.push((label.clone(), lambda_start));
            results.push((label.clone(), summary));
        }
        if apprentice.is_none() {
            progress(seed, "apprentice");
            // The shadow engine prices the budget like the live one (the plan's shadow price)
            // but reserves from an unbounded ledger: nothing it logs is served.
            let exploration = Exploration::EpsilonGreedy { epsilon: 0.0 };
            let cfg = sim_engine_config(
                &test,
                &log.outcomes,
                Some(budget),
                exploration,
                ModelStructure::Disjoint,
            );
            let planned =
                warm_engine(cfg.clone(), &log, options.learn_days, options.test_days)?.lambda(None);
            let mut shadow_cfg = cfg;
            for b in &mut shadow_cfg.budgets {
                b.amount = i64::MAX / 4;
                b.initial_lambda = planned;
            }
            let engine = DecisionEngine::new(shadow_cfg)?;
            for o in &log.outcomes {
                engine.update(o)?;
            }
            let engine = Arc::new(engine);
            let mut rule = UniformPolicy { percent: 10.0 };
            let tap = OutcomeTap::new(&test)?;
            let mut shadow = ApprenticePolicy::new(&mut rule, engine, tap.clone(), seed)?;
            tap.run(&test, &mut shadow)?;
            apprentice = Some(shadow.report());
        }
        progress(seed, "oracle");
        results.push(("oracle".into(), run(&test, &mut OraclePolicy::new())?));
        let control = results[0].1.gross_profit;
        let oracle = results
            .last()
            .map(|(_, s)| s.gross_profit - control)
            .unwrap_or(0);
        for (label, s) in results {
            let inc = s.gross_profit - control;
            runs.push(PolicyRun {
                seed,
                incremental_profit: inc,
                discount_spend: s.discount_spend,
                budget,
                budget_used: if budget > 0 {
                    s.discount_spend as f64 / budget as f64
                } else {
                    0.0
                },
                share_of_oracle: (oracle > 0).then(|| inc as f64 / oracle as f64),
                lambda_start: starts.iter().find(|(l, _)| *l == label).map(|(_, v)| *v),
                lambda_end: s.policy_notes.get("engine_lambda").copied(),
                policy: label,
            });
        }
    }
    let summary = summarise(&runs);
    let lifecycle = match options.lifecycle {
        Some((users, days, episodes, gamma)) => {
            progress(0, "lifecycle reinforcement learning");
            Some(compare_lifecycle(
                users,
                days,
                episodes,
                gamma,
                &options.seeds,
            )?)
        }
        None => None,
    };
    Ok(EvalReport {
        options: options.clone(),
        runs,
        summary,
        apprentice,
        lifecycle,
    })
}

fn summarise(runs: &[PolicyRun]) -> Vec<PolicySummary> {
    let mut names: Vec<String> = Vec::new();
    for r in runs {
        if !names.contains(&r.policy) {
            names.push(r.policy.clone());
        }
    }
    let of = |policy: &str, seed: u64| {
        runs.iter()
            .find(|r| r.policy == policy && r.seed == seed)
            .map_or(0.0, |r| r.incremental_profit as f64)
    };
    names
        .iter()
        .map(|name| {
            let mine: Vec<&PolicyRun> = runs.iter().filter(|r| &r.policy == name).collect();
            let inc: Vec<f64> = mine.iter().map(|r| r.incremental_profit as f64).collect();
            PolicySummary {
                policy: name.clone(),
                incremental_profit: Spread::of(&inc),
                share_of_oracle: Spread::of(
                    &mine
                        .iter()
                        .filter_map(|r| r.share_of_oracle)
                        .collect::<Vec<_>>(),
                ),
                vs_uniform: Spread::of(
                    &mine
                        .iter()
                        .map(|r| r.incremental_profit as f64 - of("uniform:10", r.seed))
                        .collect::<Vec<_>>(),
                ),
                vs_none: Spread::of(&inc),
                budget_used: Spread::of(&mine.iter().map(|r| r.budget_used).collect::<Vec<_>>()),
                over_budget_runs: mine.iter().filter(|r| r.discount_spend > r.budget).count(),
            }
        })
        .collect()
}
