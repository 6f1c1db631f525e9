//! Budgeted offer allocation: the multiple-choice knapsack.
//!
//! The one home of the solvers: [`crate::plan`] allocates the engine's predictions with them, and
//! the simulator's oracle allocates the true responses with them. Each customer gets exactly one option from a ladder (option 0 is normally "no offer": zero
//! profit, zero cost); the goal is to maximise the total incremental profit subject to the total
//! expected cost staying within the budget.
//!
//! - [`Instance::solve_brute_force`] enumerates every combination (tiny instances, exact);
//! - [`Instance::solve_dp`] is exact dynamic programming over integer costs (small budgets);
//! - [`Instance::solve_lagrangian`] prices the budget with one shadow price `lambda`, found by
//!   bisection, lets every customer take the option maximising `profit - lambda * cost`, then fills
//!   leftover budget greedily. Weak duality gives a certificate: for every `lambda >= 0`,
//!   `D(lambda) = sum_i max_j (profit_ij - lambda cost_ij) + lambda budget >= OPT`, so
//!   `dual_bound >= OPT >= value`, and `gap = dual_bound - value` bounds the loss. The gap is at
//!   most the profit of one customer's option change, negligible on large instances.

use serde::{Deserialize, Serialize};

use crate::PolicyError;

/// One option of one customer: its (incremental) profit and expected cost.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub profit: f64,
    pub cost: f64,
}

/// A multiple-choice knapsack instance: `options[i]` are customer `i`'s options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub options: Vec<Vec<Choice>>,
}

/// How an allocation was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    BruteForce,
    DynamicProgramming,
    Lagrangian,
}

/// One option per customer, with its value, cost and optimality certificate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// Index of the chosen option, per customer.
    pub choice: Vec<usize>,
    /// Total profit of the choices (the primal value).
    pub value: f64,
    /// Total cost of the choices (never above the budget).
    pub cost: f64,
    /// The shadow price of the budget (Lagrangian method only).
    pub lambda: Option<f64>,
    /// An upper bound on the optimum (equal to `value` for exact methods).
    pub dual_bound: f64,
    /// `dual_bound - value`: how far from optimal the allocation can be at most.
    pub gap: f64,
    pub method: Method,
}

/// Largest number of combinations brute force will enumerate.
pub const BRUTE_FORCE_LIMIT: u64 = 1 << 24;
/// Largest `customers x (budget + 1)` table the dynamic program will fill.
pub const DP_LIMIT: u64 = 200_000_000;

impl Instance {
    pub fn new(options: Vec<Vec<Choice>>) -> Self {
        Self { options }
    }

    /// Checks that every customer has options and every number is finite, costs non-negative.
    pub fn validate(&self) -> Result<(), PolicyError> {
        for (i, opts) in self.options.iter().enumerate() {
            if opts.is_empty() {
                return Err(PolicyError::Knapsack(format!(
                    "customer {i} has no options"
                )));
            }
            if opts.len() > 255 {
                return Err(PolicyError::Knapsack(format!(
                    "customer {i} has more than 255 options"
                )));
            }
            for (j, c) in opts.iter().enumerate() {
                if !c.profit.is_finite() || !c.cost.is_finite() || c.cost < 0.0 {
                    return Err(PolicyError::Knapsack(format!(
                        "customer {i} option {j}: profit {} cost {} (need finite values and cost >= 0)",
                        c.profit, c.cost
                    )));
                }
            }
        }
        Ok(())
    }

    fn min_cost(&self) -> f64 {
        self.options
            .iter()
            .map(|o| o.iter().map(|c| c.cost).fold(f64::INFINITY, f64::min))
            .sum()
    }

    fn check_feasible(&self, budget: f64) -> Result<(), PolicyError> {
        self.validate()?;
        if budget.is_nan() || budget < 0.0 {
            return Err(PolicyError::Knapsack(format!(
                "budget {budget} must be >= 0"
            )));
        }
        let min = self.min_cost();
        if min > budget + 1e-9 {
            return Err(PolicyError::Knapsack(format!(
                "infeasible: the cheapest options cost {min} in total, above the budget {budget}"
            )));
        }
        Ok(())
    }

    fn totals(&self, choice: &[usize]) -> (f64, f64) {
        choice
            .iter()
            .zip(&self.options)
            .fold((0.0, 0.0), |(v, c), (&j, o)| {
                (v + o[j].profit, c + o[j].cost)
            })
    }

    /// Exact optimum by enumerating every combination.
    pub fn solve_brute_force(&self, budget: f64) -> Result<Allocation, PolicyError> {
        self.check_feasible(budget)?;
        let combos = self
            .options
            .iter()
            .try_fold(1u64, |acc, o| acc.checked_mul(o.len() as u64))
            .filter(|&c| c <= BRUTE_FORCE_LIMIT)
            .ok_or_else(|| {
                PolicyError::Knapsack(format!(
                    "too many combinations for brute force (limit {BRUTE_FORCE_LIMIT})"
                ))
            })?;
        let n = self.options.len();
        let mut current = vec![0usize; n];
        let mut best: Option<(f64, Vec<usize>)> = None;
        for _ in 0..combos {
            let (v, c) = self.totals(&current);
            if c <= budget + 1e-9 && best.as_ref().is_none_or(|(bv, _)| v > *bv) {
                best = Some((v, current.clone()));
            }
            // Next combination (mixed radix).
            for (k, digit) in current.iter_mut().enumerate() {
                *digit += 1;
                if *digit < self.options[k].len() {
                    break;
                }
                *digit = 0;
            }
        }
        let (value, choice) =
            best.ok_or_else(|| PolicyError::Knapsack("no feasible combination".into()))?;
        let (_, cost) = self.totals(&choice);
        Ok(Allocation {
            choice,
            value,
            cost,
            lambda: None,
            dual_bound: value,
            gap: 0.0,
            method: Method::BruteForce,
        })
    }

    /// Exact optimum by dynamic programming over costs rounded up to whole units (exact when
    /// every cost is a whole number of minor units).
    pub fn solve_dp(&self, budget: i64) -> Result<Allocation, PolicyError> {
        self.check_feasible(budget as f64)?;
        let n = self.options.len();
        let b = budget as usize;
        if (n as u64).saturating_mul(b as u64 + 1) > DP_LIMIT {
            return Err(PolicyError::Knapsack(format!(
                "dynamic program too large: {n} customers x budget {budget} (limit {DP_LIMIT} cells)"
            )));
        }
        let unit = |c: f64| (c - 1e-9).ceil().max(0.0) as usize;
        let mut best = vec![0.0f64; b + 1];
        let mut next = vec![f64::NEG_INFINITY; b + 1];
        let mut pick = vec![0u8; n * (b + 1)];
        for (i, opts) in self.options.iter().enumerate() {
            next.fill(f64::NEG_INFINITY);
            for cap in 0..=b {
                for (j, c) in opts.iter().enumerate() {
                    let w = unit(c.cost);
                    if w <= cap {
                        let v = best[cap - w] + c.profit;
                        if v > next[cap] {
                            next[cap] = v;
                            pick[i * (b + 1) + cap] = j as u8;
                        }
                    }
                }
            }
            std::mem::swap(&mut best, &mut next);
        }
        let mut choice = vec![0usize; n];
        let mut cap = b;
        for i in (0..n).rev() {
            let j = pick[i * (b + 1) + cap] as usize;
            choice[i] = j;
            cap -= unit(self.options[i][j].cost);
        }
        let (value, cost) = self.totals(&choice);
        Ok(Allocation {
            choice,
            value,
            cost,
            lambda: None,
            dual_bound: value,
            gap: 0.0,
            method: Method::DynamicProgramming,
        })
    }

    /// The best option of each customer at shadow price `lambda` (ties: the cheaper option), with
    /// the totals and the dual function value `D(lambda)`.
    pub fn respond(&self, lambda: f64, budget: f64) -> (Vec<usize>, f64, f64, f64) {
        let mut choice = Vec::with_capacity(self.options.len());
        let (mut value, mut cost, mut dual) = (0.0, 0.0, lambda * budget);
        for opts in &self.options {
            let j = best_option(opts, lambda);
            choice.push(j);
            value += opts[j].profit;
            cost += opts[j].cost;
            dual += opts[j].profit - lambda * opts[j].cost;
        }
        (choice, value, cost, dual)
    }

    /// The Lagrangian allocation with its duality-gap certificate.
    pub fn solve_lagrangian(&self, budget: f64) -> Result<Allocation, PolicyError> {
        self.check_feasible(budget)?;
        let (choice0, value0, cost0, dual0) = self.respond(0.0, budget);
        if cost0 <= budget + 1e-9 {
            return Ok(Allocation {
                choice: choice0,
                value: value0,
                cost: cost0,
                lambda: Some(0.0),
                dual_bound: dual0,
                gap: dual0 - value0,
                method: Method::Lagrangian,
            });
        }
        let mut dual_bound = dual0;
        let (lo, hi) = shadow_price(budget, |lambda| {
            let (_, _, cost, dual) = self.respond(lambda, budget);
            dual_bound = dual_bound.min(dual);
            cost
        });
        let (mut choice, _, _, dual_hi) = self.respond(hi, budget);
        dual_bound = dual_bound.min(dual_hi);
        let (lo_choice, _, _, dual_lo) = self.respond(lo, budget);
        dual_bound = dual_bound.min(dual_lo);
        // Greedy fill: move customers to their choice at `lo` (the budget-tight side) by best
        // profit-per-cost while the budget allows.
        let (_, mut cost) = self.totals(&choice);
        let mut moves: Vec<(usize, f64, f64)> = choice
            .iter()
            .zip(&lo_choice)
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, (&a, &b))| {
                let o = &self.options[i];
                (i, o[b].profit - o[a].profit, o[b].cost - o[a].cost)
            })
            .filter(|&(_, dp, _)| dp > 0.0)
            .collect();
        moves.sort_by(|x, y| {
            let rx = x.1 / x.2.max(1e-12);
            let ry = y.1 / y.2.max(1e-12);
            ry.total_cmp(&rx).then(x.0.cmp(&y.0))
        });
        for (i, _, dc) in moves {
            if cost + dc <= budget + 1e-9 {
                choice[i] = lo_choice[i];
                cost += dc;
            }
        }
        let (value, cost) = self.totals(&choice);
        let dual_bound = dual_bound.max(value);
        Ok(Allocation {
            choice,
            value,
            cost,
            lambda: Some(hi),
            dual_bound,
            gap: dual_bound - value,
            method: Method::Lagrangian,
        })
    }

    /// Exact when small enough for brute force, else Lagrangian.
    pub fn solve(&self, budget: f64) -> Result<Allocation, PolicyError> {
        let combos = self
            .options
            .iter()
            .try_fold(1u64, |acc, o| acc.checked_mul(o.len() as u64));
        match combos {
            Some(c) if c <= 1 << 16 => self.solve_brute_force(budget),
            _ => self.solve_lagrangian(budget),
        }
    }
}

/// The bracket `(lo, hi)` of the smallest shadow price at which the spend fits `budget`:
/// `cost_at(price)` is the spend at a price and does not increase with it. The bracket is found by
/// doubling from 1 and narrowed by bisection to the float resolution; `hi` fits (unless no price up
/// to 1e15 does) and `lo` does not, or is 0. Callers check price 0 themselves. The one bisection
/// of the workspace's budget prices: the knapsack here and the lab's segment policy use it.
pub fn shadow_price(budget: f64, mut cost_at: impl FnMut(f64) -> f64) -> (f64, f64) {
    let fits = |cost: f64| cost <= budget + 1e-9;
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while !fits(cost_at(hi)) && hi <= 1e15 {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if fits(cost_at(mid)) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    (lo, hi)
}

/// The option maximising `profit - lambda * cost`; ties go to the cheaper, then the lower index.
pub fn best_option(opts: &[Choice], lambda: f64) -> usize {
    let mut best = 0;
    let mut best_score = f64::NEG_INFINITY;
    for (j, c) in opts.iter().enumerate() {
        let s = c.profit - lambda * c.cost;
        if s > best_score + 1e-12 || ((s - best_score).abs() <= 1e-12 && c.cost < opts[best].cost) {
            best = j;
            best_score = s;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn random_instance(rng: &mut StdRng, n: usize, k: usize, integer: bool) -> Instance {
        let mut options = Vec::new();
        for _ in 0..n {
            let mut opts = vec![Choice {
                profit: 0.0,
                cost: 0.0,
            }];
            for _ in 1..k {
                let mut cost = rng.gen::<f64>() * 50.0;
                if integer {
                    cost = cost.round();
                }
                let profit = rng.gen::<f64>() * 40.0 - 8.0;
                opts.push(Choice { profit, cost });
            }
            options.push(opts);
        }
        Instance::new(options)
    }

    #[test]
    fn lagrangian_is_bracketed_by_the_exact_optimum() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut worst_gap: f64 = 0.0;
        for trial in 0..60 {
            let inst = random_instance(&mut rng, 8, 4, false);
            let budget = rng.gen::<f64>() * 120.0;
            let exact = inst.solve_brute_force(budget).unwrap();
            let lag = inst.solve_lagrangian(budget).unwrap();
            assert!(lag.cost <= budget + 1e-9, "trial {trial}: infeasible");
            assert!(
                lag.value <= exact.value + 1e-9,
                "trial {trial}: primal above optimum"
            );
            assert!(
                lag.dual_bound >= exact.value - 1e-9,
                "trial {trial}: dual {} < opt {}",
                lag.dual_bound,
                exact.value
            );
            assert!((lag.gap - (lag.dual_bound - lag.value)).abs() < 1e-9);
            worst_gap = worst_gap.max(lag.gap);
        }
        eprintln!(
            "largest Lagrangian gap on 60 instances of 8 customers x 4 offers: {worst_gap:.3}"
        );
    }

    #[test]
    fn dynamic_programming_matches_brute_force_on_integer_costs() {
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..20 {
            let inst = random_instance(&mut rng, 7, 3, true);
            let budget = (rng.gen::<f64>() * 80.0).round();
            let bf = inst.solve_brute_force(budget).unwrap();
            let dp = inst.solve_dp(budget as i64).unwrap();
            assert!(
                (bf.value - dp.value).abs() < 1e-9,
                "{} vs {}",
                bf.value,
                dp.value
            );
            assert!(dp.cost <= budget + 1e-9);
        }
    }

    #[test]
    fn the_gap_is_small_relative_to_large_instances() {
        let mut rng = StdRng::seed_from_u64(3);
        let inst = random_instance(&mut rng, 5_000, 6, false);
        let lag = inst.solve_lagrangian(20_000.0).unwrap();
        assert!(lag.cost <= 20_000.0 + 1e-6);
        assert!(
            lag.gap / lag.value < 1e-3,
            "gap {} of {}",
            lag.gap,
            lag.value
        );
        assert!(lag.lambda.unwrap() > 0.0);
    }

    #[test]
    fn the_shadow_price_is_the_smallest_that_fits() {
        // Spend 100 / (1 + price): it fits a budget of 20 from price 4 on.
        let (lo, hi) = shadow_price(20.0, |p| 100.0 / (1.0 + p));
        assert!((hi - 4.0).abs() < 1e-9 && hi >= 4.0 - 1e-9, "{hi}");
        assert!(lo < hi && 100.0 / (1.0 + lo) > 20.0);
        // Never fits: the bracket stops at the cap.
        let (_, hi) = shadow_price(-1.0, |_| 0.0);
        assert!(hi > 1e15);
    }

    #[test]
    fn bad_instances_are_refused() {
        let inst = Instance::new(vec![vec![]]);
        assert!(inst.solve_lagrangian(1.0).is_err());
        let inst = Instance::new(vec![vec![Choice {
            profit: 1.0,
            cost: 5.0,
        }]]);
        assert!(inst
            .solve_lagrangian(1.0)
            .unwrap_err()
            .to_string()
            .contains("infeasible"));
        let inst = Instance::new(vec![vec![Choice {
            profit: f64::NAN,
            cost: 0.0,
        }]]);
        assert!(inst.solve_brute_force(1.0).is_err());
    }
}
