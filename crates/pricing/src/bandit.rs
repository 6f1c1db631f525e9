//! Online price experiments in simulation: Thompson sampling over a price grid, with the demand model as
//! prior, against a flat prior and the historic price; regret against the known best price.
//!
//! Simulated demand: weekly units ~ Poisson(`scale price^elasticity`). Each price on the grid has a
//! Gamma posterior over its mean demand (conjugate to Poisson). The demand-model prior centres each price's
//! demand on the fitted curve with the weight of `prior_weeks` weeks of data; the flat prior knows nothing.
//! Each week the policy draws every price's demand from its posterior and charges the price whose drawn
//! profit `(price - cost) * demand` is largest.

// Index loops over rows, columns and states read like the formulas they implement.
#![allow(clippy::needless_range_loop)]

use rand::SeedableRng;
use rand_distr::{Distribution, Gamma, Poisson};
use serde::Serialize;

use crate::error::{invalid, Result};

/// The simulated market and the experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BanditConfig {
    /// Price points (currency units).
    pub grid: Vec<f64>,
    pub unit_cost: f64,
    /// True demand: units = Poisson(scale * price^elasticity).
    pub scale: f64,
    pub elasticity: f64,
    /// The demand model's (estimated, possibly wrong) elasticity and scale used as prior.
    pub prior_elasticity: f64,
    pub prior_scale: f64,
    /// Weight of the prior in weeks of data.
    pub prior_weeks: f64,
    /// Index of the historic price in the grid.
    pub historic: usize,
    pub weeks: usize,
    pub runs: usize,
    pub seed: u64,
}

/// Regret of one policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyRegret {
    pub policy: String,
    /// Mean cumulative regret (expected profit lost against the best price) after each week.
    pub cumulative_regret: Vec<f64>,
    pub final_regret: f64,
    pub final_regret_std_error: f64,
    /// Share of the last quarter of weeks spent at the best price.
    pub best_price_share_late: f64,
}

/// The experiment's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BanditResult {
    pub best_price: f64,
    pub best_expected_profit: f64,
    /// Expected weekly profit of each grid price.
    pub expected_profit: Vec<(f64, f64)>,
    pub policies: Vec<PolicyRegret>,
}

#[derive(Clone, Copy)]
enum Policy {
    Informed,
    Flat,
    Historic,
}

/// Runs Thompson sampling with the demand-model prior and a flat prior, and the historic price.
pub fn run(config: &BanditConfig) -> Result<BanditResult> {
    if config.grid.len() < 2 || config.grid.iter().any(|p| p.is_nan() || *p <= 0.0) {
        return Err(invalid("grid", "at least two prices above zero"));
    }
    if config.historic >= config.grid.len() {
        return Err(invalid("historic", "index outside the grid"));
    }
    if config.weeks == 0 || config.runs == 0 || config.scale <= 0.0 || config.prior_scale <= 0.0 {
        return Err(invalid("bandit", "weeks, runs and scales must be positive"));
    }
    if config.prior_weeks <= 0.0 {
        return Err(invalid("prior_weeks", "must be positive"));
    }
    let mean_demand: Vec<f64> = config
        .grid
        .iter()
        .map(|p| config.scale * p.powf(config.elasticity))
        .collect();
    let profit: Vec<f64> = config
        .grid
        .iter()
        .zip(&mean_demand)
        .map(|(p, q)| (p - config.unit_cost) * q)
        .collect();
    let (best, best_profit) = profit
        .iter()
        .copied()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, 0.0));
    let mut policies = Vec::new();
    for (policy, name) in [
        (Policy::Informed, "Thompson, demand-model prior"),
        (Policy::Flat, "Thompson, flat prior"),
        (Policy::Historic, "historic price"),
    ] {
        let mut cumulative = vec![0.0; config.weeks];
        let mut finals = Vec::with_capacity(config.runs);
        let mut late_best = 0usize;
        for run in 0..config.runs {
            let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed.wrapping_add(run as u64));
            // Gamma(shape, rate) posterior per price.
            let (mut shape, mut rate): (Vec<f64>, Vec<f64>) = match policy {
                Policy::Informed => config
                    .grid
                    .iter()
                    .map(|p| {
                        let prior_mean = config.prior_scale * p.powf(config.prior_elasticity);
                        (prior_mean * config.prior_weeks + 0.5, config.prior_weeks)
                    })
                    .unzip(),
                _ => (vec![0.5; config.grid.len()], vec![1e-3; config.grid.len()]),
            };
            let mut regret = 0.0;
            for week in 0..config.weeks {
                let arm = match policy {
                    Policy::Historic => config.historic,
                    _ => {
                        let mut best_draw = (f64::NEG_INFINITY, 0);
                        for k in 0..config.grid.len() {
                            let gamma = Gamma::new(shape[k], 1.0 / rate[k])
                                .map_err(|e| invalid("posterior", e.to_string()))?;
                            let draw = (config.grid[k] - config.unit_cost) * gamma.sample(&mut rng);
                            if draw > best_draw.0 {
                                best_draw = (draw, k);
                            }
                        }
                        best_draw.1
                    }
                };
                let poisson =
                    Poisson::new(mean_demand[arm]).map_err(|e| invalid("demand", e.to_string()))?;
                let sold: f64 = poisson.sample(&mut rng);
                shape[arm] += sold;
                rate[arm] += 1.0;
                regret += best_profit - profit[arm];
                cumulative[week] += regret;
                if week >= config.weeks * 3 / 4 && arm == best {
                    late_best += 1;
                }
            }
            finals.push(regret);
        }
        let n = config.runs as f64;
        let mean = finals.iter().sum::<f64>() / n;
        let sd =
            (finals.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
        let late_weeks = (config.weeks - config.weeks * 3 / 4) as f64 * n;
        policies.push(PolicyRegret {
            policy: name.to_string(),
            cumulative_regret: cumulative.iter().map(|c| c / n).collect(),
            final_regret: mean,
            final_regret_std_error: sd / n.sqrt(),
            best_price_share_late: late_best as f64 / late_weeks.max(1.0),
        });
    }
    Ok(BanditResult {
        best_price: config.grid[best],
        best_expected_profit: best_profit,
        expected_profit: config
            .grid
            .iter()
            .copied()
            .zip(profit.iter().copied())
            .collect(),
        policies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BanditConfig {
        BanditConfig {
            grid: vec![1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0],
            unit_cost: 1.0,
            scale: 400.0,
            elasticity: -2.5,
            prior_elasticity: -2.45,
            prior_scale: 395.0,
            prior_weeks: 2.0,
            historic: 4,
            weeks: 52,
            runs: 40,
            seed: 9,
        }
    }

    #[test]
    fn the_best_price_is_the_markup_rule_and_an_accurate_prior_lowers_regret() {
        let result = run(&config()).unwrap();
        // p* = c e / (1 + e) = 2.5 / 1.5 = 1.67: the grid's best is 1.75.
        assert_eq!(result.best_price, 1.75);
        let regret = |name: &str| {
            result
                .policies
                .iter()
                .find(|p| p.policy.starts_with(name))
                .unwrap()
                .final_regret
        };
        assert!(regret("Thompson, demand") < regret("historic"));
        assert!(regret("Thompson, demand") < regret("Thompson, flat"));
        let historic = result
            .policies
            .iter()
            .find(|p| p.policy == "historic price")
            .unwrap();
        // The historic policy loses the same every week: regret grows linearly.
        let per_week = historic.cumulative_regret[0];
        assert!((historic.cumulative_regret[51] - 52.0 * per_week).abs() < 1e-6);
    }
}
