//! Invariants of the decision engine: never over budget under many concurrent decisions,
//! propensities that sum to 1 and match the observed choice frequencies, margin floors held, and
//! the Lagrangian plan's gap against the exact solver on small instances.

use std::sync::Arc;

use discount_core::Offer;
use discount_policy::bandit::Exploration;
use discount_policy::engine::{
    BasketLine, BudgetConfig, CustomerFacts, DecisionEngine, DecisionRequest, EngineConfig,
    JoinedOutcome, ModelConfig, ModelStructure, RulesConfig,
};
use discount_policy::offers::{Eligibility, MarginFloor, OfferSpec, Scope};
use discount_policy::plan::{exact_gap, instance, plan, PlanCustomer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn rung(id: &str, offer: Offer, cap: Option<i64>) -> OfferSpec {
    OfferSpec {
        id: id.into(),
        offer,
        scope: Scope::Basket,
        eligibility: Eligibility::default(),
        max_discount: cap,
    }
}

fn config(exploration: Exploration, budget: Option<i64>) -> EngineConfig {
    EngineConfig {
        name: "t".into(),
        ladder: vec![
            rung("none", Offer::NoOffer, None),
            rung("pct5", Offer::PercentOff { percent: 5.0 }, Some(300)),
            rung("pct10", Offer::PercentOff { percent: 10.0 }, Some(600)),
            rung("pct20", Offer::PercentOff { percent: 20.0 }, Some(1200)),
            rung(
                "amt500",
                Offer::AmountOff {
                    amount: 500,
                    min_spend: 2000,
                },
                None,
            ),
            rung("ship", Offer::FreeShipping, None),
        ],
        rules: RulesConfig {
            margin_floor: MarginFloor {
                percent_of_cost: 10.0,
                minor_per_unit: 5,
                unknown_cost_ratio: Some(0.6),
            },
            shipping_fee: 400,
            ..RulesConfig::default()
        },
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
        pacing: Default::default(),
        exploration,
        model: ModelConfig {
            features: (0..4).map(|i| format!("f{i}")).collect(),
            ridge: 1.0,
            structure: ModelStructure::Disjoint,
            lifetime_value: None,
        },
    }
}

/// Warm-starts with outcomes where deeper discounts earn more for f1 > 0.
fn warm(engine: &DecisionEngine, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let ids = ["none", "pct5", "pct10", "pct20", "amt500", "ship"];
    for _ in 0..3000 {
        let x = vec![1.0, rng.gen::<f64>(), rng.gen::<f64>(), rng.gen::<f64>()];
        let k = rng.gen_range(0..ids.len());
        let depth = k as f64;
        engine
            .update(&JoinedOutcome {
                offer_id: ids[k].into(),
                features: x.clone(),
                profit: 100.0 + 30.0 * depth * (x[1] - 0.4) + rng.gen::<f64>() * 20.0,
                discount: 40.0 * depth,
                ordered: rng.gen::<f64>() < 0.3,
            })
            .unwrap();
    }
}

#[test]
fn many_threads_never_overspend() {
    let budget = 50_000;
    let engine = Arc::new(
        DecisionEngine::new(config(
            Exploration::EpsilonGreedy { epsilon: 0.2 },
            Some(budget),
        ))
        .unwrap(),
    );
    warm(&engine, 1);
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let engine = Arc::clone(&engine);
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(100 + t);
                let mut paid = 0i64;
                for i in 0..5_000 {
                    let facts = CustomerFacts {
                        features: vec![1.0, rng.gen(), rng.gen(), rng.gen()],
                        ..CustomerFacts::default()
                    };
                    let req = DecisionRequest {
                        customer_id: format!("c{t}-{i}"),
                        ..DecisionRequest::default()
                    };
                    let d = engine.decide(&req, &facts, &mut rng).unwrap();
                    assert!(d.reserved >= 0);
                    // Some redeem in full, some in part, the rest not at all.
                    let actual = match i % 3 {
                        0 => d.reserved,
                        1 => d.reserved / 3,
                        _ => 0,
                    };
                    engine.settle(None, d.reserved, actual);
                    paid += actual;
                }
                paid
            })
        })
        .collect();
    let paid: i64 = threads.into_iter().map(|h| h.join().unwrap()).sum();
    let ledger = engine.ledger(None).unwrap();
    assert_eq!(ledger.spent(), paid);
    assert!(
        ledger.spent() <= budget,
        "spent {} of {budget}",
        ledger.spent()
    );
    assert_eq!(ledger.reserved(), 0);
    // The budget was worth spending, so the guard (not the model) stopped it near the total.
    assert!(ledger.spent() > budget * 9 / 10, "spent {}", ledger.spent());
}

#[test]
fn propensities_sum_to_one_and_match_choice_frequencies() {
    for exploration in [
        Exploration::EpsilonGreedy { epsilon: 0.3 },
        Exploration::LinUcb {
            alpha: 1.0,
            epsilon: 0.3,
        },
        Exploration::LinTs {
            scale: 30.0,
            epsilon: 0.1,
        },
    ] {
        let engine = DecisionEngine::new(config(exploration, None)).unwrap();
        warm(&engine, 2);
        let facts = CustomerFacts {
            features: vec![1.0, 0.5, 0.2, 0.7],
            ..CustomerFacts::default()
        };
        let req = DecisionRequest {
            customer_id: "c".into(),
            ..DecisionRequest::default()
        };
        let mut rng = StdRng::seed_from_u64(9);
        let first = engine.decide(&req, &facts, &mut rng).unwrap();
        let total: f64 = first.scores.iter().map(|s| s.probability).sum();
        assert!((total - 1.0).abs() < 1e-9, "{exploration:?}: {total}");
        let n = 40_000;
        let mut counts = vec![0usize; first.scores.len()];
        for _ in 0..n {
            let d = engine.decide(&req, &facts, &mut rng).unwrap();
            let k = d
                .scores
                .iter()
                .position(|s| s.offer_id == d.offer_id)
                .unwrap();
            assert!((d.propensity - d.scores[k].probability).abs() < 1e-12);
            counts[k] += 1;
        }
        for (k, s) in first.scores.iter().enumerate() {
            let freq = counts[k] as f64 / n as f64;
            let sd = (s.probability * (1.0 - s.probability) / n as f64).sqrt();
            assert!(
                (freq - s.probability).abs() < 5.0 * sd + 1e-3,
                "{exploration:?} {}: frequency {freq} vs propensity {}",
                s.offer_id,
                s.probability
            );
        }
    }
}

#[test]
fn margin_floors_hold_on_random_baskets() {
    let engine =
        DecisionEngine::new(config(Exploration::EpsilonGreedy { epsilon: 0.5 }, None)).unwrap();
    warm(&engine, 3);
    let floor = engine.config().rules.margin_floor;
    let mut rng = StdRng::seed_from_u64(4);
    for i in 0..5_000 {
        let basket: Vec<BasketLine> = (0..rng.gen_range(1..4))
            .map(|j| {
                let price = rng.gen_range(100..5_000);
                BasketLine {
                    item_id: format!("i{j}"),
                    category: "c".into(),
                    quantity: rng.gen_range(1..4),
                    unit_price: price,
                    unit_cost: (j % 2 == 0).then(|| price * rng.gen_range(50..98) / 100),
                }
            })
            .collect();
        let req = DecisionRequest {
            customer_id: format!("c{i}"),
            context: discount_policy::DecisionContext {
                basket: basket.clone(),
                ..Default::default()
            },
            ..DecisionRequest::default()
        };
        let facts = CustomerFacts {
            features: vec![1.0, rng.gen(), rng.gen(), rng.gen()],
            ..CustomerFacts::default()
        };
        let d = engine.decide(&req, &facts, &mut rng).unwrap();
        let discount = d.basket_discount.unwrap() as f64;
        if discount == 0.0 || d.offer == Offer::FreeShipping {
            continue;
        }
        // Spread the discount as the engine does (pro rata over the lines in scope) and check
        // every paid unit price against its floor.
        let subtotal: f64 = basket
            .iter()
            .map(|l| (l.unit_price * i64::from(l.quantity)) as f64)
            .sum();
        for l in &basket {
            let line_total = (l.unit_price * i64::from(l.quantity)) as f64;
            let unit_paid =
                l.unit_price as f64 - discount * line_total / subtotal / f64::from(l.quantity);
            let min = floor.floor_of(l).unwrap();
            assert!(
                unit_paid >= min - 1e-6,
                "{}: unit paid {unit_paid} below floor {min}",
                d.offer_id
            );
        }
    }
}

fn customers(rng: &mut StdRng, n: usize, tag: usize) -> Vec<PlanCustomer> {
    (0..n)
        .map(|i| PlanCustomer {
            customer_id: format!("t{tag}-{i}"),
            facts: CustomerFacts {
                features: vec![1.0, rng.gen(), rng.gen(), rng.gen()],
                ..CustomerFacts::default()
            },
            visits: rng.gen_range(0.5..3.0),
        })
        .collect()
}

#[test]
fn lagrangian_plan_is_near_the_exact_optimum_on_small_instances() {
    let engine =
        DecisionEngine::new(config(Exploration::EpsilonGreedy { epsilon: 0.0 }, Some(1))).unwrap();
    warm(&engine, 5);
    let mut rng = StdRng::seed_from_u64(6);
    // Tiny instances (enumeration): the gap is at most one customer's best option, the bound of
    // the Lagrangian relaxation of a multiple-choice knapsack with one budget.
    for trial in 0..20 {
        let list = customers(&mut rng, 8, trial);
        let (inst, _) = instance(&engine, &list).unwrap();
        let budget = rng.gen_range(100..1_500);
        let check = exact_gap(&inst, budget).unwrap();
        let largest = inst
            .options
            .iter()
            .flatten()
            .map(|c| c.profit)
            .fold(0.0, f64::max);
        assert!(check.lagrangian <= check.exact + 1e-6);
        assert!(
            check.exact - check.lagrangian <= largest + 1e-6,
            "{check:?}"
        );
        assert!(check.exact <= check.lagrangian + check.certified_gap + 1e-6);
        let p = plan(&engine, &list, budget).unwrap();
        assert!(p.cost <= budget as f64 + 1e-6);
    }
    // Larger instances (dynamic programming): the relative gap is small.
    let mut worst = 0.0f64;
    for trial in 0..5 {
        let list = customers(&mut rng, 300, 100 + trial);
        let (inst, _) = instance(&engine, &list).unwrap();
        let budget = rng.gen_range(5_000..20_000);
        let check = exact_gap(&inst, budget).unwrap();
        assert!(check.lagrangian <= check.exact + 1e-6);
        worst = worst.max(check.relative_gap);
    }
    println!("worst relative gap on 300-customer instances: {worst:.5}");
    assert!(worst < 0.01, "worst relative gap {worst}");
}
