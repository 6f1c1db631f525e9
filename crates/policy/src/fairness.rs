//! Fairness constraints on who gets offers and what they pay.
//!
//! Two rules, both off unless configured (`[rules.fairness]` of the engine's TOML):
//!
//! - `max_offer_rate_ratio`: across the groups of a customer attribute (region, device, new or
//!   returning...), the highest group's offer rate (share of its customers given an offer) may be
//!   at most this many times the lowest group's. It is a population rule, so it binds the
//!   offline plan ([`fair_plan`]): after the Lagrangian allocation, the cheapest moves in
//!   incremental profit (offer one more customer of the least-offered group, or withdraw the
//!   least valuable offer of the most-offered group) are taken until the ratio holds
//!   ([`enforce_offer_rate_ratio`]).
//! - `max_price_spread`: the effective price of one item at one moment may differ between two
//!   customers by at most this share of its list price. A customer without an offer pays the list
//!   price at every moment, so the rule is that no rung may take more than this share off an item:
//!   a rung whose deepest cut ([`max_depth`]) exceeds it is never offered, by the engine
//!   (ineligible as `price_spread`) nor by the plan.
//!
//! What each costs in incremental profit is measured in the simulated shop by
//! `discount-lab`'s fairness experiment (`discount evaluate-policy fairness`).

use discount_core::Offer;
use serde::{Deserialize, Serialize};

use crate::engine::DecisionEngine;
use crate::error::PolicyError;
use crate::knapsack::{Allocation, Instance};
use crate::plan::{instance, lagrangian, to_plan, Plan, PlanCustomer};

/// The fairness rules of an engine; both off by default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FairnessConfig {
    /// Largest ratio of the highest group offer rate to the lowest (>= 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_offer_rate_ratio: Option<f64>,
    /// Largest share of an item's list price that separates what two customers pay for it at the
    /// same moment, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_price_spread: Option<f64>,
}

impl FairnessConfig {
    /// Checks the limits' domains; the error names the field and value.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if let Some(r) = self.max_offer_rate_ratio {
            if !(r.is_finite() && r >= 1.0) {
                return Err(PolicyError::Hyper {
                    name: "rules.fairness.max_offer_rate_ratio",
                    value: r,
                    rule: "must be a finite number >= 1",
                });
            }
        }
        if let Some(s) = self.max_price_spread {
            if !(0.0..=1.0).contains(&s) {
                return Err(PolicyError::Hyper {
                    name: "rules.fairness.max_price_spread",
                    value: s,
                    rule: "must be a share of the list price in [0, 1]",
                });
            }
        }
        Ok(())
    }

    /// Whether the price-spread rule lets `offer` be given.
    pub fn allows(&self, offer: &Offer) -> bool {
        self.max_price_spread
            .is_none_or(|s| max_depth(offer) <= s + 1e-12)
    }
}

/// The largest share of an item's list price that `offer` can take off: the percentage of a
/// percentage offer; `amount / min_spend` of an amount off (the amount spread over a basket of
/// at least the minimum spend; all of it without a minimum); 0 for free shipping and content.
pub fn max_depth(offer: &Offer) -> f64 {
    match offer {
        Offer::PercentOff { percent } => percent / 100.0,
        Offer::AmountOff { amount, min_spend } if *min_spend > 0 => {
            (*amount as f64 / *min_spend as f64).min(1.0)
        }
        Offer::AmountOff { .. } => 1.0,
        Offer::NoOffer | Offer::FreeShipping | Offer::Content { .. } => 0.0,
    }
}

/// One group's offers in an allocation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupRate {
    pub group: String,
    pub customers: usize,
    pub offered: usize,
    /// Share of the group's (expected) decisions with an offer.
    pub rate: f64,
}

/// The highest offer rate over the lowest, among groups with customers; 1 when no group has an
/// offer, infinite when one group has offers and another none.
pub fn rate_ratio(rates: &[GroupRate]) -> f64 {
    let (lo, hi) = rates
        .iter()
        .filter(|g| g.customers > 0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), g| {
            (lo.min(g.rate), hi.max(g.rate))
        });
    if hi <= 0.0 {
        1.0
    } else if lo <= 0.0 {
        f64::INFINITY
    } else {
        hi / lo
    }
}

/// Offer rate per group of `choice` (option 0 is no offer), per expected decision: `groups[i]`
/// indexes `names`, `weights[i]` is customer `i`'s expected visits (customers counts those with
/// a weight above 0, offered those of them with an offer).
pub fn offer_rates(
    choice: &[usize],
    groups: &[usize],
    weights: &[f64],
    names: &[String],
) -> Vec<GroupRate> {
    let mut counts = vec![(0usize, 0usize, 0.0f64, 0.0f64); names.len()];
    for ((&c, &g), &w) in choice.iter().zip(groups).zip(weights) {
        if w > 0.0 {
            counts[g].0 += 1;
            counts[g].1 += usize::from(c != 0);
            counts[g].2 += w;
            if c != 0 {
                counts[g].3 += w;
            }
        }
    }
    names
        .iter()
        .zip(counts)
        .map(|(name, (customers, offered, total, seen))| GroupRate {
            group: name.clone(),
            customers,
            offered,
            rate: if total > 0.0 { seen / total } else { 0.0 },
        })
        .collect()
}

/// What [`enforce_offer_rate_ratio`] did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RatioRepair {
    /// Customers given an offer, and customers whose offer was withdrawn.
    pub added: usize,
    pub withdrawn: usize,
    /// Incremental profit given up by the moves.
    pub profit_lost: f64,
    /// Whether the ratio holds at the end. It cannot when a group has no customer who may be
    /// offered anything and another keeps offers that cannot be withdrawn, nor when whole
    /// customers cannot reach it (a ratio of exactly 1 between groups of coprime sizes): the
    /// repair then stops where no move brings the ratio down.
    pub met: bool,
}

/// Moves `alloc` (an allocation of `inst`, option 0 of every customer being no offer) until the
/// highest group offer rate is at most `max_ratio` times the lowest, within `budget`.
///
/// A group's offer rate is per decision, as the audit measures it: the share of the group's
/// expected decisions (`weights[i]`, customer `i`'s expected visits) that see an offer. A customer
/// who will not be decided for (weight 0) moves no rate, so the rule cannot be met on paper by
/// offers nobody sees. Each step takes the move that costs the least incremental profit per unit
/// of ratio it removes: give a customer of the least-offered group their most profitable option
/// that fits the budget's slack, or withdraw an offer of the most-offered group. A customer is
/// moved at most once, so it ends within `customers` steps; it stops early where no move brings
/// the ratio down (whole customers cannot always reach it).
pub fn enforce_offer_rate_ratio(
    inst: &Instance,
    alloc: &mut Allocation,
    groups: &[usize],
    weights: &[f64],
    n_groups: usize,
    max_ratio: f64,
    budget: f64,
) -> Result<RatioRepair, PolicyError> {
    let n = inst.options.len();
    if groups.len() != n || weights.len() != n || alloc.choice.len() != n {
        return Err(PolicyError::Config {
            field: "groups".into(),
            value: format!(
                "{} groups, {} weights, {} choices",
                groups.len(),
                weights.len(),
                alloc.choice.len()
            ),
            rule: "must give one group and one weight per customer of the instance",
        });
    }
    if let Some(&g) = groups.iter().find(|&&g| g >= n_groups) {
        return Err(PolicyError::Config {
            field: "groups".into(),
            value: g.to_string(),
            rule: "group index must be below the number of groups",
        });
    }
    if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
        return Err(PolicyError::Config {
            field: "weights".into(),
            value: w.to_string(),
            rule: "expected visits must be finite and >= 0",
        });
    }
    let mut total = vec![0.0; n_groups];
    let mut offered = vec![0.0; n_groups];
    for ((&c, &g), &w) in alloc.choice.iter().zip(groups).zip(weights) {
        total[g] += w;
        if c != 0 {
            offered[g] += w;
        }
    }
    let present: Vec<usize> = (0..n_groups).filter(|&g| total[g] > 0.0).collect();
    let ratio = |offered: &[f64]| {
        let (lo, hi) = present
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), &g| {
                let r = offered[g] / total[g];
                (lo.min(r), hi.max(r))
            });
        if hi <= 0.0 {
            1.0
        } else if lo <= 0.0 {
            f64::INFINITY
        } else {
            hi / lo
        }
    };
    let mut moved = vec![false; n];
    let mut repair = RatioRepair {
        added: 0,
        withdrawn: 0,
        profit_lost: 0.0,
        met: false,
    };
    loop {
        let before = ratio(&offered);
        if before <= max_ratio * (1.0 + 1e-12) {
            repair.met = true;
            return Ok(repair);
        }
        let rate = |g: usize| offered[g] / total[g];
        let (Some(&lo), Some(&hi)) = (
            present
                .iter()
                .min_by(|&&a, &&b| rate(a).total_cmp(&rate(b))),
            present
                .iter()
                .max_by(|&&a, &&b| rate(a).total_cmp(&rate(b))),
        ) else {
            return Ok(repair);
        };
        let slack = budget - alloc.cost;
        // Ratio removed per unit of weight moved (up to the common factor 1 / rate(lo)): raising
        // the lowest rate moves the ratio `before` times as much as lowering the highest.
        let add_effect = |w: f64| before.min(1e12) * w / total[lo];
        let withdraw_effect = |w: f64| w / total[hi];
        // Cheapest addition in the least-offered group: (customer, option, loss per effect).
        let add = (0..n)
            .filter(|&i| groups[i] == lo && alloc.choice[i] == 0 && !moved[i] && weights[i] > 0.0)
            .flat_map(|i| {
                inst.options[i]
                    .iter()
                    .enumerate()
                    .skip(1)
                    .filter(|(_, c)| c.cost <= slack + 1e-9)
                    .map(move |(j, c)| (i, j, -c.profit))
            })
            .map(|(i, j, loss)| (i, j, loss / add_effect(weights[i])))
            .min_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
        // Cheapest withdrawal in the most-offered group.
        let withdraw = (0..n)
            .filter(|&i| groups[i] == hi && alloc.choice[i] != 0 && !moved[i] && weights[i] > 0.0)
            .map(|i| {
                let lost = inst.options[i][alloc.choice[i]].profit;
                (i, lost / withdraw_effect(weights[i]))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let take_add = match (add, withdraw) {
            (Some((_, _, a)), w) => w.is_none_or(|(_, l)| a <= l),
            (None, _) => false,
        };
        let mut after = offered.clone();
        match (take_add, add, withdraw) {
            (true, Some((i, _, _)), _) => after[lo] += weights[i],
            (false, _, Some((i, _))) => after[hi] -= weights[i],
            _ => return Ok(repair),
        }
        // A move that does not bring the ratio down: the rates are as close as whole customers
        // allow, so stop rather than trade profit for nothing.
        if before.is_finite() && ratio(&after) >= before {
            return Ok(repair);
        }
        offered = after;
        match (take_add, add, withdraw) {
            (true, Some((i, j, _)), _) => {
                let c = inst.options[i][j];
                alloc.choice[i] = j;
                alloc.value += c.profit;
                alloc.cost += c.cost;
                repair.added += 1;
                repair.profit_lost -= c.profit;
                moved[i] = true;
            }
            (_, _, Some((i, _))) => {
                let c = inst.options[i][alloc.choice[i]];
                alloc.choice[i] = 0;
                alloc.value -= c.profit;
                alloc.cost -= c.cost;
                repair.withdrawn += 1;
                repair.profit_lost += c.profit;
                moved[i] = true;
            }
            _ => return Ok(repair),
        }
    }
}

/// The plan under the fairness rules, beside the plan without them.
#[derive(Clone, Debug, Serialize)]
pub struct FairPlan {
    pub plan: Plan,
    /// The same list's plan without the offer-rate rule (the price-spread rule, being part of
    /// the engine's eligibility, applies to both).
    pub unconstrained_value: f64,
    /// `unconstrained_value - plan.value`: the expected incremental profit the rule costs.
    pub cost_of_fairness: f64,
    pub rates: Vec<GroupRate>,
    pub unconstrained_rates: Vec<GroupRate>,
    pub ratio: f64,
    pub unconstrained_ratio: f64,
    pub repair: Option<RatioRepair>,
}

/// The Lagrangian plan of `customers` within `budget` under the engine's fairness rules;
/// `groups[i]` is customer `i`'s group (any attribute's value).
pub fn fair_plan(
    engine: &DecisionEngine,
    customers: &[PlanCustomer],
    groups: &[String],
    budget: i64,
) -> Result<FairPlan, PolicyError> {
    if groups.len() != customers.len() {
        return Err(PolicyError::Config {
            field: "groups".into(),
            value: format!("{} groups for {} customers", groups.len(), customers.len()),
            rule: "must give one group per customer",
        });
    }
    if budget < 0 {
        return Err(PolicyError::Config {
            field: "budget".into(),
            value: budget.to_string(),
            rule: "must be >= 0 minor units",
        });
    }
    let mut names: Vec<String> = groups.to_vec();
    names.sort();
    names.dedup();
    let index: Vec<usize> = groups
        .iter()
        .map(|g| names.binary_search(g).unwrap_or(0))
        .collect();
    let (inst, rungs) = instance(engine, customers)?;
    let weights: Vec<f64> = customers.iter().map(|c| c.visits).collect();
    let free = lagrangian(&inst, budget as f64)?;
    let unconstrained_rates = offer_rates(&free.choice, &index, &weights, &names);
    let mut fair = free.clone();
    let repair = match engine.config().rules.fairness.max_offer_rate_ratio {
        Some(r) => Some(enforce_offer_rate_ratio(
            &inst,
            &mut fair,
            &index,
            &weights,
            names.len(),
            r,
            budget as f64,
        )?),
        None => None,
    };
    let rates = offer_rates(&fair.choice, &index, &weights, &names);
    Ok(FairPlan {
        plan: to_plan(engine, &fair, &rungs, budget),
        unconstrained_value: free.value,
        cost_of_fairness: free.value - fair.value,
        ratio: rate_ratio(&rates),
        unconstrained_ratio: rate_ratio(&unconstrained_rates),
        rates,
        unconstrained_rates,
        repair,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knapsack::{Choice, Method};
    use rand::{Rng, SeedableRng};

    fn allocation(inst: &Instance, choice: Vec<usize>) -> Allocation {
        let (value, cost) = choice
            .iter()
            .zip(&inst.options)
            .fold((0.0, 0.0), |(v, c), (&j, o)| {
                (v + o[j].profit, c + o[j].cost)
            });
        Allocation {
            choice,
            value,
            cost,
            lambda: None,
            dual_bound: value,
            gap: 0.0,
            method: Method::Lagrangian,
        }
    }

    /// The best allocation meeting the budget and the ratio, by enumeration.
    fn exact_fair(inst: &Instance, groups: &[usize], k: usize, ratio: f64, budget: f64) -> f64 {
        let n = inst.options.len();
        let mut current = vec![0usize; n];
        let mut best = f64::NEG_INFINITY;
        let names: Vec<String> = (0..k).map(|g| g.to_string()).collect();
        loop {
            let a = allocation(inst, current.clone());
            if a.cost <= budget + 1e-9
                && rate_ratio(&offer_rates(&current, groups, &vec![1.0; n], &names)) <= ratio + 1e-9
            {
                best = best.max(a.value);
            }
            let mut k = 0;
            loop {
                if k == n {
                    return best;
                }
                current[k] += 1;
                if current[k] < inst.options[k].len() {
                    break;
                }
                current[k] = 0;
                k += 1;
            }
        }
    }

    #[test]
    fn depth_of_each_offer() {
        assert_eq!(max_depth(&Offer::PercentOff { percent: 15.0 }), 0.15);
        assert_eq!(
            max_depth(&Offer::AmountOff {
                amount: 500,
                min_spend: 2_000
            }),
            0.25
        );
        assert_eq!(
            max_depth(&Offer::AmountOff {
                amount: 500,
                min_spend: 0
            }),
            1.0
        );
        assert_eq!(max_depth(&Offer::FreeShipping), 0.0);
        let c = FairnessConfig {
            max_price_spread: Some(0.15),
            ..FairnessConfig::default()
        };
        assert!(c.allows(&Offer::PercentOff { percent: 15.0 }));
        assert!(!c.allows(&Offer::PercentOff { percent: 20.0 }));
        assert!(FairnessConfig {
            max_offer_rate_ratio: Some(0.5),
            ..FairnessConfig::default()
        }
        .validate()
        .is_err());
        assert!(FairnessConfig {
            max_price_spread: Some(1.5),
            ..FairnessConfig::default()
        }
        .validate()
        .is_err());
    }

    /// Group 0 is worth offering, group 1 barely: without the rule every group-0 customer gets
    /// an offer and one group-1 customer does (ratio 4); with a ratio of 2 the cheapest repair
    /// gives one more group-1 customer an offer, which the budget allows.
    #[test]
    fn the_ratio_is_met_at_the_least_profit() {
        let offer = |profit: f64| {
            vec![
                Choice {
                    profit: 0.0,
                    cost: 0.0,
                },
                Choice { profit, cost: 10.0 },
            ]
        };
        let inst = Instance::new(vec![
            offer(100.0),
            offer(90.0),
            offer(80.0),
            offer(70.0),
            offer(5.0),
            offer(-1.0),
            offer(-2.0),
            offer(-3.0),
        ]);
        let groups = [0, 0, 0, 0, 1, 1, 1, 1];
        let names = vec!["a".to_string(), "b".to_string()];
        let mut a = inst.solve_lagrangian(100.0).unwrap();
        assert_eq!(a.choice, vec![1, 1, 1, 1, 1, 0, 0, 0]);
        assert_eq!(
            rate_ratio(&offer_rates(&a.choice, &groups, &[1.0; 8], &names)),
            4.0
        );
        let r = enforce_offer_rate_ratio(&inst, &mut a, &groups, &[1.0; 8], 2, 2.0, 100.0).unwrap();
        assert!(r.met);
        assert_eq!(a.choice, vec![1, 1, 1, 1, 1, 1, 0, 0]);
        assert_eq!((r.added, r.withdrawn), (1, 0));
        assert!((r.profit_lost - 1.0).abs() < 1e-12);
        assert!((a.value - 344.0).abs() < 1e-12);
        assert_eq!(a.value, exact_fair(&inst, &groups, 2, 2.0, 100.0));
        // With no budget left for another offer, the cheapest group-0 offer is withdrawn.
        let mut a = inst.solve_lagrangian(50.0).unwrap();
        let r = enforce_offer_rate_ratio(&inst, &mut a, &groups, &[1.0; 8], 2, 2.0, 50.0).unwrap();
        assert!(r.met);
        assert!(rate_ratio(&offer_rates(&a.choice, &groups, &[1.0; 8], &names)) <= 2.0);
        assert!(a.cost <= 50.0);
        assert_eq!(a.value, exact_fair(&inst, &groups, 2, 2.0, 50.0));
    }

    /// A ratio of exactly 1 between groups of 2 and 3 customers cannot be met with one offer
    /// per group; the repair stops at the closest rates instead of withdrawing everything.
    #[test]
    fn an_unreachable_ratio_stops_at_the_closest_rates() {
        let offer = |profit: f64| {
            vec![
                Choice {
                    profit: 0.0,
                    cost: 0.0,
                },
                Choice { profit, cost: 1.0 },
            ]
        };
        let inst = Instance::new(vec![
            offer(10.0),
            offer(-50.0),
            offer(10.0),
            offer(-50.0),
            offer(-50.0),
        ]);
        let groups = [0, 0, 1, 1, 1];
        let mut a = inst.solve_lagrangian(10.0).unwrap();
        assert_eq!(a.choice, vec![1, 0, 1, 0, 0]);
        let r = enforce_offer_rate_ratio(&inst, &mut a, &groups, &[1.0; 5], 2, 1.0, 10.0).unwrap();
        assert!(!r.met);
        assert!(a.value >= 20.0 - 50.0, "{a:?}");
        let names = vec!["a".to_string(), "b".to_string()];
        assert!(rate_ratio(&offer_rates(&a.choice, &groups, &[1.0; 5], &names)) <= 1.5);
    }

    /// On random small instances the repair always meets the ratio within the budget, and
    /// stays close to the exact constrained optimum.
    #[test]
    fn repair_is_feasible_and_near_the_exact_optimum() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(19);
        let (mut total_exact, mut total_repair) = (0.0, 0.0);
        for _ in 0..40 {
            let n = 8;
            let inst = Instance::new(
                (0..n)
                    .map(|_| {
                        let mut o = vec![Choice {
                            profit: 0.0,
                            cost: 0.0,
                        }];
                        for _ in 0..2 {
                            o.push(Choice {
                                profit: rng.gen_range(-20.0..100.0),
                                cost: rng.gen_range(1.0..30.0),
                            });
                        }
                        o
                    })
                    .collect(),
            );
            let groups: Vec<usize> = (0..n).map(|i| usize::from(i % 3 == 0)).collect();
            let budget = 80.0;
            let mut a = inst.solve_lagrangian(budget).unwrap();
            let r = enforce_offer_rate_ratio(&inst, &mut a, &groups, &[1.0; 8], 2, 1.5, budget)
                .unwrap();
            assert!(r.met);
            assert!(a.cost <= budget + 1e-9);
            let names = vec!["a".to_string(), "b".to_string()];
            assert!(rate_ratio(&offer_rates(&a.choice, &groups, &[1.0; 8], &names)) <= 1.5 + 1e-9);
            let exact = exact_fair(&inst, &groups, 2, 1.5, budget);
            assert!(a.value <= exact + 1e-9);
            total_exact += exact;
            total_repair += a.value;
        }
        assert!(
            total_repair >= 0.8 * total_exact,
            "repair {total_repair} against exact {total_exact}"
        );
    }
}
