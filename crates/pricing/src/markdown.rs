//! Markdowns: selling a finite stock before an end date, with a salvage value per unit left over.
//!
//! State: units in stock and weeks left (and the current discount, since markdowns only go down when
//! `monotone`). Each week the shop picks a discount from a ladder; demand is random with a known
//! distribution per discount; sales are the smaller of demand and stock. The optimal schedule comes from
//! dynamic programming over (weeks left, stock, discount); fixed rules (a constant 30%, 50% or 70%, or a
//! 0 -> 30 -> 50 -> 70% step schedule) are valued exactly by the same recursion and in simulation.
//!
//! Money is in integer minor units (prices, salvage); expected revenues are `f64` minor units.

// Index loops over rows, columns and states read like the formulas they implement.
#![allow(clippy::needless_range_loop)]

use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};
use serde::Serialize;

use crate::error::{invalid, Result};

/// The distribution of one week's demand at each discount level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum WeeklyDemand {
    /// Poisson with mean `base_rate (1 - discount)^elasticity` (elasticity < 0: deeper discounts sell more).
    Poisson { base_rate: f64, elasticity: f64 },
    /// Explicit probabilities of demand 0, 1, 2, ... for each discount level (in ladder order).
    Table(Vec<Vec<f64>>),
}

/// A markdown problem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkdownProblem {
    pub list_price_minor: i64,
    pub salvage_minor: i64,
    pub stock: usize,
    pub weeks: usize,
    /// Allowed discounts as fractions, ascending, the first usually 0.
    pub discounts: Vec<f64>,
    pub demand: WeeklyDemand,
    /// Discounts never go back up.
    pub monotone: bool,
}

/// A policy: the discount index for (weeks left, stock, current discount index).
pub trait MarkdownPolicy {
    fn discount(&self, weeks_left: usize, stock: usize, current: usize) -> usize;
    fn name(&self) -> String;
}

/// A fixed schedule: the discount index of each week, from the first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub name: String,
    pub levels: Vec<usize>,
}

impl MarkdownPolicy for Schedule {
    fn discount(&self, weeks_left: usize, _stock: usize, current: usize) -> usize {
        let week = self.levels.len().saturating_sub(weeks_left);
        self.levels.get(week).copied().unwrap_or(current)
    }
    fn name(&self) -> String {
        self.name.clone()
    }
}

/// The optimal policy from dynamic programming.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimalPolicy {
    /// `action[t][s][k]`: best discount index with `t` weeks left, `s` in stock, current discount `k`.
    action: Vec<Vec<Vec<usize>>>,
    /// `value[t][s][k]`: expected revenue to go.
    value: Vec<Vec<Vec<f64>>>,
}

impl MarkdownPolicy for OptimalPolicy {
    fn discount(&self, weeks_left: usize, stock: usize, current: usize) -> usize {
        self.action
            .get(weeks_left)
            .and_then(|a| a.get(stock))
            .and_then(|a| a.get(current))
            .copied()
            .unwrap_or(current)
    }
    fn name(&self) -> String {
        "optimal (dynamic programming)".into()
    }
}

impl OptimalPolicy {
    /// Expected revenue of the whole season from full stock at no discount.
    pub fn expected_revenue(&self, problem: &MarkdownProblem) -> f64 {
        self.value[problem.weeks][problem.stock][0]
    }
}

impl MarkdownProblem {
    fn validate(&self) -> Result<()> {
        if self.discounts.is_empty() || self.discounts.iter().any(|d| !(0.0..1.0).contains(d)) {
            return Err(invalid("discounts", "each discount must be in [0, 1)"));
        }
        if self.discounts.windows(2).any(|w| w[0] >= w[1]) {
            return Err(invalid("discounts", "must be ascending"));
        }
        if self.list_price_minor <= 0 || self.salvage_minor < 0 {
            return Err(invalid(
                "price",
                "list price above zero and salvage not negative",
            ));
        }
        if self.weeks == 0 {
            return Err(invalid("weeks", "at least one week"));
        }
        match &self.demand {
            WeeklyDemand::Poisson {
                base_rate,
                elasticity,
            } => {
                if !(*base_rate > 0.0 && base_rate.is_finite() && elasticity.is_finite()) {
                    return Err(invalid(
                        "demand",
                        "base rate above zero and a finite elasticity",
                    ));
                }
            }
            WeeklyDemand::Table(rows) => {
                if rows.len() != self.discounts.len() {
                    return Err(invalid(
                        "demand",
                        "one demand distribution per discount level",
                    ));
                }
                for row in rows {
                    let total: f64 = row.iter().sum();
                    if row.iter().any(|p| *p < 0.0) || (total - 1.0).abs() > 1e-9 {
                        return Err(invalid("demand", "probabilities must be >= 0 and sum to 1"));
                    }
                }
            }
        }
        Ok(())
    }

    /// Price at discount level `k`, in minor units (rounded to the nearest unit).
    pub fn price_minor(&self, k: usize) -> Result<i64> {
        let discount = self.discounts.get(k).copied().unwrap_or(0.0);
        let off = (self.list_price_minor as f64 * discount).round() as i64;
        self.list_price_minor
            .checked_sub(off)
            .ok_or_else(|| invalid("price", "overflow"))
    }

    /// Mean weekly demand at discount level `k`.
    pub fn mean_demand(&self, k: usize) -> f64 {
        match &self.demand {
            WeeklyDemand::Poisson {
                base_rate,
                elasticity,
            } => base_rate * (1.0 - self.discounts[k]).powf(*elasticity),
            WeeklyDemand::Table(rows) => {
                rows[k].iter().enumerate().map(|(d, p)| d as f64 * p).sum()
            }
        }
    }

    /// Probabilities of demand 0..=max_units (the last entry holds the tail: demand >= max_units).
    fn demand_distribution(&self, k: usize, max_units: usize) -> Vec<f64> {
        let mut out = vec![0.0; max_units + 1];
        match &self.demand {
            WeeklyDemand::Poisson { .. } => {
                let lambda = self.mean_demand(k);
                let mut p = (-lambda).exp();
                let mut cumulative = 0.0;
                for (d, slot) in out.iter_mut().enumerate().take(max_units) {
                    *slot = p;
                    cumulative += p;
                    p *= lambda / (d + 1) as f64;
                }
                out[max_units] = (1.0 - cumulative).max(0.0);
            }
            WeeklyDemand::Table(rows) => {
                for (d, p) in rows[k].iter().enumerate() {
                    out[d.min(max_units)] += p;
                }
            }
        }
        out
    }

    /// The allowed next discount levels from level `k`.
    fn allowed(&self, k: usize) -> std::ops::Range<usize> {
        if self.monotone {
            k..self.discounts.len()
        } else {
            0..self.discounts.len()
        }
    }

    /// Solves the dynamic programme.
    pub fn solve(&self) -> Result<OptimalPolicy> {
        self.validate()?;
        let levels = self.discounts.len();
        let prices: Vec<f64> = (0..levels)
            .map(|k| self.price_minor(k).map(|p| p as f64))
            .collect::<Result<_>>()?;
        let salvage = self.salvage_minor as f64;
        // Demand distributions truncated at the stock (selling more is impossible).
        let dist: Vec<Vec<f64>> = (0..levels)
            .map(|k| self.demand_distribution(k, self.stock))
            .collect();
        let mut value = vec![vec![vec![0.0; levels]; self.stock + 1]; self.weeks + 1];
        let mut action = vec![vec![vec![0; levels]; self.stock + 1]; self.weeks + 1];
        for s in 0..=self.stock {
            for k in 0..levels {
                value[0][s][k] = salvage * s as f64;
                action[0][s][k] = k;
            }
        }
        for t in 1..=self.weeks {
            for s in 0..=self.stock {
                for k in 0..levels {
                    let mut best = (f64::NEG_INFINITY, k);
                    for next in self.allowed(k) {
                        let v = expected_step(&dist[next], prices[next], s, |left| {
                            value[t - 1][left][next]
                        });
                        if v > best.0 + 1e-9 {
                            best = (v, next);
                        }
                    }
                    value[t][s][k] = best.0;
                    action[t][s][k] = best.1;
                }
            }
        }
        Ok(OptimalPolicy { action, value })
    }

    /// Exact expected revenue of any policy (by the same recursion with its actions).
    pub fn evaluate(&self, policy: &dyn MarkdownPolicy) -> Result<f64> {
        self.validate()?;
        let levels = self.discounts.len();
        let prices: Vec<f64> = (0..levels)
            .map(|k| self.price_minor(k).map(|p| p as f64))
            .collect::<Result<_>>()?;
        let dist: Vec<Vec<f64>> = (0..levels)
            .map(|k| self.demand_distribution(k, self.stock))
            .collect();
        let mut value = vec![vec![self.salvage_minor as f64; levels]; self.stock + 1];
        for (s, row) in value.iter_mut().enumerate() {
            for v in row.iter_mut() {
                *v *= s as f64;
            }
        }
        for t in 1..=self.weeks {
            let mut next_value = vec![vec![0.0; levels]; self.stock + 1];
            for s in 0..=self.stock {
                for k in 0..levels {
                    let mut a = policy.discount(t, s, k).min(levels - 1);
                    if self.monotone && a < k {
                        a = k;
                    }
                    next_value[s][k] = expected_step(&dist[a], prices[a], s, |left| value[left][a]);
                }
            }
            value = next_value;
        }
        Ok(value[self.stock][0])
    }

    /// Simulates a policy `runs` times with known demand; returns the mean path and revenue.
    pub fn simulate(
        &self,
        policy: &dyn MarkdownPolicy,
        runs: usize,
        seed: u64,
    ) -> Result<SimulatedPolicy> {
        self.validate()?;
        if runs == 0 {
            return Err(invalid("runs", "at least one run"));
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let levels = self.discounts.len();
        let mut revenues = Vec::with_capacity(runs);
        let mut stock_path = vec![0.0; self.weeks + 1];
        let mut discount_path = vec![0.0; self.weeks];
        let mut leftover = 0.0;
        for _ in 0..runs {
            let (mut stock, mut k, mut revenue) = (self.stock, 0usize, 0i64);
            stock_path[0] += stock as f64;
            for week in 0..self.weeks {
                let weeks_left = self.weeks - week;
                let mut a = policy.discount(weeks_left, stock, k).min(levels - 1);
                if self.monotone && a < k {
                    a = k;
                }
                k = a;
                discount_path[week] += self.discounts[k];
                let demand = self.draw_demand(k, &mut rng)?;
                let sold = demand.min(stock);
                stock -= sold;
                let price = self.price_minor(k)?;
                revenue = i64::try_from(sold)
                    .ok()
                    .and_then(|s| price.checked_mul(s))
                    .and_then(|v| revenue.checked_add(v))
                    .ok_or_else(|| invalid("revenue", "overflow"))?;
                stock_path[week + 1] += stock as f64;
            }
            let salvage = i64::try_from(stock)
                .ok()
                .and_then(|s| self.salvage_minor.checked_mul(s))
                .and_then(|v| revenue.checked_add(v))
                .ok_or_else(|| invalid("revenue", "overflow"))?;
            leftover += stock as f64;
            revenues.push(salvage as f64);
        }
        let n = runs as f64;
        let mean = revenues.iter().sum::<f64>() / n;
        let sd =
            (revenues.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
        Ok(SimulatedPolicy {
            policy: policy.name(),
            runs,
            mean_revenue_minor: mean,
            std_error_minor: sd / n.sqrt(),
            mean_leftover_units: leftover / n,
            mean_stock_by_week: stock_path.iter().map(|v| v / n).collect(),
            mean_discount_by_week: discount_path.iter().map(|v| v / n).collect(),
        })
    }

    fn draw_demand(&self, k: usize, rng: &mut rand::rngs::StdRng) -> Result<usize> {
        match &self.demand {
            WeeklyDemand::Poisson { .. } => {
                let lambda = self.mean_demand(k);
                let poisson = Poisson::new(lambda).map_err(|e| invalid("demand", e.to_string()))?;
                Ok(poisson.sample(rng) as usize)
            }
            WeeklyDemand::Table(rows) => {
                let u: f64 = rand::Rng::gen(rng);
                let mut cumulative = 0.0;
                for (d, p) in rows[k].iter().enumerate() {
                    cumulative += p;
                    if u < cumulative {
                        return Ok(d);
                    }
                }
                Ok(rows[k].len().saturating_sub(1))
            }
        }
    }

    /// The fixed rules: a constant 30%, 50% and 70% (or the nearest ladder levels), no markdown, and the
    /// step schedule 0 -> 30 -> 50 -> 70% over four equal parts of the season.
    pub fn rules(&self) -> Vec<Schedule> {
        let nearest = |d: f64| {
            (0..self.discounts.len())
                .min_by(|a, b| {
                    (self.discounts[*a] - d)
                        .abs()
                        .total_cmp(&(self.discounts[*b] - d).abs())
                })
                .unwrap_or(0)
        };
        let mut rules = vec![Schedule {
            name: "no markdown".into(),
            levels: vec![0; self.weeks],
        }];
        for d in [0.3f64, 0.5, 0.7] {
            rules.push(Schedule {
                name: format!("constant {}%", (d * 100.0).round()),
                levels: vec![nearest(d); self.weeks],
            });
        }
        rules.push(Schedule {
            name: "steps 0/30/50/70%".into(),
            levels: (0..self.weeks)
                .map(|w| nearest([0.0, 0.3, 0.5, 0.7][(4 * w / self.weeks).min(3)]))
                .collect(),
        });
        rules
    }
}

/// Expected revenue of one week at price `price` from stock `s`, plus the value to go.
fn expected_step(dist: &[f64], price: f64, s: usize, to_go: impl Fn(usize) -> f64) -> f64 {
    let mut v = 0.0;
    let mut tail = 1.0;
    for (d, p) in dist.iter().enumerate().take(s) {
        v += p * (price * d as f64 + to_go(s - d));
        tail -= p;
    }
    // Demand at or above the stock sells out.
    v + tail.max(0.0) * (price * s as f64 + to_go(0))
}

/// A policy's simulated results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulatedPolicy {
    pub policy: String,
    pub runs: usize,
    pub mean_revenue_minor: f64,
    pub std_error_minor: f64,
    pub mean_leftover_units: f64,
    pub mean_stock_by_week: Vec<f64>,
    pub mean_discount_by_week: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two units, two weeks, no salvage. Full price (100) sells 0 or 1 unit with probability 1/2 each;
    /// half price (50) sells both. By hand: the last week with 2 units is worth 100 (half price), with 1
    /// unit 50; the first week at full price is worth 0.5 (0 + 100) + 0.5 (100 + 50) = 125, at half price
    /// 100. A constant full price earns 0.5 * 50 + 0.5 * (100 + 50) = 100, a constant half price 100.
    fn hand_case() -> MarkdownProblem {
        MarkdownProblem {
            list_price_minor: 100,
            salvage_minor: 0,
            stock: 2,
            weeks: 2,
            discounts: vec![0.0, 0.5],
            demand: WeeklyDemand::Table(vec![vec![0.5, 0.5], vec![0.0, 0.0, 1.0]]),
            monotone: true,
        }
    }

    #[test]
    fn the_dynamic_programme_matches_the_hand_solution_and_beats_the_constant_rules() {
        let problem = hand_case();
        let optimal = problem.solve().unwrap();
        assert!((optimal.expected_revenue(&problem) - 125.0).abs() < 1e-9);
        assert_eq!(optimal.discount(2, 2, 0), 0);
        assert_eq!(optimal.discount(1, 2, 0), 1);
        assert_eq!(optimal.discount(1, 1, 0), 0);
        let full = Schedule {
            name: "full".into(),
            levels: vec![0, 0],
        };
        let half = Schedule {
            name: "half".into(),
            levels: vec![1, 1],
        };
        assert!((problem.evaluate(&full).unwrap() - 100.0).abs() < 1e-9);
        assert!((problem.evaluate(&half).unwrap() - 100.0).abs() < 1e-9);
        assert!((problem.evaluate(&optimal).unwrap() - 125.0).abs() < 1e-9);
        let simulated = problem.simulate(&optimal, 20_000, 3).unwrap();
        assert!(
            (simulated.mean_revenue_minor - 125.0).abs() < 4.0 * simulated.std_error_minor + 1e-9
        );
    }

    #[test]
    fn with_poisson_demand_the_optimum_is_at_least_every_rule_and_salvage_counts() {
        let problem = MarkdownProblem {
            list_price_minor: 4_000,
            salvage_minor: 500,
            stock: 60,
            weeks: 8,
            discounts: vec![0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
            demand: WeeklyDemand::Poisson {
                base_rate: 4.0,
                elasticity: -3.0,
            },
            monotone: true,
        };
        let optimal = problem.solve().unwrap();
        let best = optimal.expected_revenue(&problem);
        for rule in problem.rules() {
            let value = problem.evaluate(&rule).unwrap();
            assert!(best >= value - 1e-6, "{} {value} > {best}", rule.name);
        }
        assert!(best >= 60.0 * 500.0);
        assert_eq!(problem.rules().len(), 5);
    }

    #[test]
    fn invalid_ladders_are_errors() {
        let mut problem = hand_case();
        problem.discounts = vec![0.5, 0.0];
        assert!(problem.solve().is_err());
        problem.discounts = vec![0.0, 1.5];
        assert!(problem.solve().is_err());
    }
}
