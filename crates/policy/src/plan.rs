//! The offline plan: one offer per customer of a list, maximising the total expected incremental
//! profit within the budget. It is a multiple-choice knapsack, solved through its Lagrangian dual:
//! one shadow price `lambda` for the budget, each customer then takes the rung maximising
//! `incremental profit - lambda * cost`, and `lambda` is the smallest price whose allocation fits
//! (bisection), followed by a greedy fill of the slack. The dual value at every price tried bounds
//! the optimum from above, so each plan carries its own optimality gap; [`exact_gap`] also checks
//! the allocation against the exact optimum (dynamic programming or enumeration) on small
//! instances.

use crate::knapsack::{Allocation, Choice, Instance};
use serde::Serialize;

use crate::engine::{CustomerFacts, DecisionEngine};
use crate::error::PolicyError;
use crate::gate::GateAction;
use crate::offers::{eligible, History};

/// One customer of the list.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanCustomer {
    pub customer_id: String,
    pub facts: CustomerFacts,
    /// Expected decisions (visits) of the customer over the period.
    pub visits: f64,
}

/// The plan.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub customers: usize,
    pub budget: i64,
    pub lambda: f64,
    /// Expected incremental profit of the plan, minor units.
    pub value: f64,
    /// Expected spend of the plan (<= budget).
    pub cost: f64,
    pub dual_bound: f64,
    /// `dual_bound - value`.
    pub gap: f64,
    /// Customers per rung (by ladder order).
    pub per_offer: Vec<(String, usize)>,
    /// The rung index of each customer.
    #[serde(skip)]
    pub choice: Vec<usize>,
}

/// The knapsack of `customers` under `engine`'s models and rules: option 0 is no offer; the
/// others are the eligible rungs (gate and eligibility rules apply; there is no basket offline).
/// Returns the instance and, per customer, the rung of each option.
pub fn instance(
    engine: &DecisionEngine,
    customers: &[PlanCustomer],
) -> Result<(Instance, Vec<Vec<usize>>), PolicyError> {
    let ladder = engine.ladder();
    let base = ladder.baseline;
    let ltv = engine.config().model.lifetime_value;
    let mut options = Vec::with_capacity(customers.len());
    let mut rungs = Vec::with_capacity(customers.len());
    for c in customers {
        if !(c.visits.is_finite() && c.visits >= 0.0) {
            return Err(PolicyError::Config {
                field: format!("customer {} visits", c.customer_id),
                value: c.visits.to_string(),
                rule: "must be a finite number >= 0",
            });
        }
        let p = engine.predict(&c.facts)?;
        let gate = engine.gate().check(&c.customer_id);
        let mut opts = vec![Choice {
            profit: 0.0,
            cost: 0.0,
        }];
        let mut map = vec![base];
        for (k, spec) in ladder.rungs.iter().enumerate() {
            if k == base
                || gate.action == GateAction::Withhold
                || !engine.config().rules.fairness.allows(&spec.offer)
            {
                continue;
            }
            let history = History {
                orders: c.facts.orders,
                days_since_this_offer: c.facts.days_since_offer.get(&spec.id).copied(),
            };
            if eligible(spec, &history, "").is_err() {
                continue;
            }
            let mut inc = p[k][0] - p[base][0];
            if let (Some(v), 0) = (ltv, c.facts.orders) {
                inc += (p[k][2] - p[base][2]) * v;
            }
            opts.push(Choice {
                profit: inc * c.visits,
                cost: p[k][1].max(0.0) * c.visits,
            });
            map.push(k);
        }
        options.push(opts);
        rungs.push(map);
    }
    Ok((Instance::new(options), rungs))
}

/// The Lagrangian plan of `customers` within `budget`.
pub fn plan(
    engine: &DecisionEngine,
    customers: &[PlanCustomer],
    budget: i64,
) -> Result<Plan, PolicyError> {
    if budget < 0 {
        return Err(PolicyError::Config {
            field: "budget".into(),
            value: budget.to_string(),
            rule: "must be >= 0 minor units",
        });
    }
    let (inst, rungs) = instance(engine, customers)?;
    let a = lagrangian(&inst, budget as f64)?;
    Ok(to_plan(engine, &a, &rungs, budget))
}

/// The Lagrangian allocation, then one greedy pass that spends the slack it leaves: each customer's
/// best upgrade that still fits, taken by profit gained per unit of cost.
pub fn lagrangian(inst: &Instance, budget: f64) -> Result<Allocation, PolicyError> {
    let mut a = inst.solve_lagrangian(budget)?;
    let mut slack = budget - a.cost;
    let mut moves: Vec<(usize, usize, f64, f64)> = Vec::new();
    for (i, opts) in inst.options.iter().enumerate() {
        let cur = opts[a.choice[i]];
        let best = opts
            .iter()
            .enumerate()
            .filter(|(_, c)| c.profit > cur.profit && c.cost - cur.cost <= slack)
            .max_by(|x, y| {
                let rx = (x.1.profit - cur.profit) / (x.1.cost - cur.cost).max(1e-9);
                let ry = (y.1.profit - cur.profit) / (y.1.cost - cur.cost).max(1e-9);
                rx.total_cmp(&ry)
            });
        if let Some((j, c)) = best {
            moves.push((i, j, c.profit - cur.profit, c.cost - cur.cost));
        }
    }
    moves.sort_by(|x, y| {
        let rx = x.2 / x.3.max(1e-9);
        let ry = y.2 / y.3.max(1e-9);
        ry.total_cmp(&rx).then(x.0.cmp(&y.0))
    });
    for (i, j, dp, dc) in moves {
        if dc <= slack + 1e-9 {
            a.choice[i] = j;
            a.value += dp;
            a.cost += dc;
            slack -= dc;
        }
    }
    a.dual_bound = a.dual_bound.max(a.value);
    a.gap = a.dual_bound - a.value;
    Ok(a)
}

pub(crate) fn to_plan(
    engine: &DecisionEngine,
    a: &Allocation,
    rungs: &[Vec<usize>],
    budget: i64,
) -> Plan {
    let ladder = engine.ladder();
    let choice: Vec<usize> = a.choice.iter().zip(rungs).map(|(&j, map)| map[j]).collect();
    let mut counts = vec![0usize; ladder.len()];
    for &k in &choice {
        counts[k] += 1;
    }
    Plan {
        customers: choice.len(),
        budget,
        lambda: a.lambda.unwrap_or(0.0),
        value: a.value,
        cost: a.cost,
        dual_bound: a.dual_bound,
        gap: a.gap,
        per_offer: ladder
            .rungs
            .iter()
            .zip(counts)
            .map(|(r, n)| (r.id.clone(), n))
            .collect(),
        choice,
    }
}

/// The Lagrangian allocation against the exact optimum on one instance.
#[derive(Clone, Debug, Serialize)]
pub struct GapCheck {
    pub customers: usize,
    pub budget: i64,
    pub lagrangian: f64,
    pub exact: f64,
    /// `(exact - lagrangian) / exact` (0 when the exact optimum is 0).
    pub relative_gap: f64,
    /// The Lagrangian's own certificate: `dual_bound - value`.
    pub certified_gap: f64,
}

/// Solves `inst` both ways. Costs are rounded up to whole minor units for the exact dynamic
/// program (exact when costs are whole minor units); enumeration is used when it is small.
pub fn exact_gap(inst: &Instance, budget: i64) -> Result<GapCheck, PolicyError> {
    let rounded = Instance::new(
        inst.options
            .iter()
            .map(|o| {
                o.iter()
                    .map(|c| Choice {
                        profit: c.profit,
                        cost: c.cost.ceil(),
                    })
                    .collect()
            })
            .collect(),
    );
    let lag = lagrangian(&rounded, budget as f64)?;
    let combos = rounded
        .options
        .iter()
        .try_fold(1u64, |acc, o| acc.checked_mul(o.len() as u64));
    let exact = match combos {
        Some(c) if c <= 1 << 16 => rounded.solve_brute_force(budget as f64)?,
        _ => rounded.solve_dp(budget)?,
    };
    Ok(GapCheck {
        customers: inst.options.len(),
        budget,
        lagrangian: lag.value,
        exact: exact.value,
        relative_gap: if exact.value.abs() > 1e-12 {
            (exact.value - lag.value) / exact.value.abs()
        } else {
            0.0
        },
        certified_gap: lag.gap,
    })
}
