//! End-to-end properties of the simulator: reproducibility, ordering, budgets, oracle, fraud.

use std::collections::{HashMap, HashSet};

use discount_core::{EventKind, Offer, Record};
use discount_sim::policy::{
    Context, Decision, NoOfferPolicy, OraclePolicy, RandomPolicy, UniformPolicy, VisitTruth,
};
use discount_sim::{
    simulate, simulate_with_counterfactual, FraudKind, JsonlSink, Policy, RunOptions, SimConfig,
};

fn small(users: usize, days: u32) -> SimConfig {
    SimConfig {
        users,
        days,
        ..SimConfig::default()
    }
}

fn jsonl(config: &SimConfig, policy: &mut dyn Policy) -> anyhow::Result<Vec<u8>> {
    let mut sink = JsonlSink::new(Vec::new());
    simulate(config, policy, &mut sink)?;
    Ok(sink.finish()?)
}

#[test]
fn the_same_seed_gives_byte_identical_records() -> anyhow::Result<()> {
    let config = small(3_000, 20);
    let a = jsonl(&config, &mut RandomPolicy::new(config.seed))?;
    let b = jsonl(&config, &mut RandomPolicy::new(config.seed))?;
    assert!(a.len() > 100_000, "{} bytes", a.len());
    assert_eq!(a, b);
    let other = jsonl(
        &SimConfig {
            seed: 7,
            ..config.clone()
        },
        &mut RandomPolicy::new(7),
    )?;
    assert_ne!(a, other);
    Ok(())
}

#[test]
fn records_are_valid_unique_and_in_time_order() -> anyhow::Result<()> {
    let config = small(3_000, 15);
    let mut records = Vec::new();
    let out = simulate(
        &config,
        &mut UniformPolicy { percent: 10.0 },
        &mut |r: Record| records.push(r),
    )?;
    let mut last = i64::MIN;
    let mut keys = HashSet::new();
    let mut types = HashSet::new();
    let mut coupons_issued = HashSet::new();
    for r in &records {
        assert!(
            keys.insert(format!("{:?}", r.key())),
            "duplicate key {:?}",
            r.key()
        );
        types.insert(r.type_name());
        if let Record::Event(e) = r {
            e.validate()?;
            assert!(e.time.0 >= last, "out of order at {}", e.id);
            last = e.time.0;
            match &e.kind {
                EventKind::CouponIssued { coupon_id, .. } => {
                    coupons_issued.insert(coupon_id.clone());
                }
                EventKind::CouponRedeemed {
                    coupon_id, amount, ..
                } => {
                    assert!(coupons_issued.contains(coupon_id), "redeemed before issued");
                    assert!(*amount > 0);
                }
                EventKind::Order { lines, .. } => {
                    for l in lines {
                        assert_eq!(l.paid + l.coupon_discount, l.list_price * l.quantity as i64);
                    }
                }
                _ => {}
            }
        }
        // Labels never leak into the events.
        if let Record::User(u) = r {
            assert!(u
                .attributes
                .keys()
                .all(|k| ["device", "address", "payment", "channel"].contains(&k.as_str())));
        }
    }
    for t in [
        "item",
        "user",
        "view",
        "add_to_cart",
        "order",
        "review",
        "offer_shown",
        "coupon_issued",
        "coupon_redeemed",
    ] {
        assert!(types.contains(t), "no {t} records");
    }
    let s = &out.summary;
    assert_eq!(s.records.values().sum::<u64>(), records.len() as u64);
    assert_eq!(s.decisions, s.visits);
    assert_eq!(out.truth.decisions.len() as u64, s.decisions);
    assert_eq!(s.gross_profit, s.revenue - s.cost_of_goods);
    let spend: i64 = out.truth.decisions.iter().map(|d| d.discount_paid).sum();
    assert_eq!(spend, s.discount_spend);
    Ok(())
}

#[test]
fn the_no_offer_counterfactual_uses_common_random_numbers() -> anyhow::Result<()> {
    let config = small(4_000, 20);
    let none = simulate_with_counterfactual(
        &config,
        &mut NoOfferPolicy,
        &mut discount_sim::NullSink,
        RunOptions::default(),
    )?;
    assert_eq!(none.summary.incremental_profit, Some(0));
    // A sink that wants records and one that does not see the same world.
    let with_sink = simulate(&config, &mut NoOfferPolicy, &mut |_r: Record| {})?;
    assert_eq!(with_sink.summary.gross_profit, none.summary.gross_profit);
    assert_eq!(with_sink.summary.orders, none.summary.orders);
    let uniform = simulate_with_counterfactual(
        &config,
        &mut UniformPolicy { percent: 10.0 },
        &mut discount_sim::NullSink,
        RunOptions::default(),
    )?;
    let s = &uniform.summary;
    assert_eq!(
        s.counterfactual_gross_profit,
        Some(none.summary.gross_profit)
    );
    assert!(s.orders > none.summary.orders);
    assert!(s.discount_spend > 0);
    Ok(())
}

#[test]
fn budgets_stop_the_spending() -> anyhow::Result<()> {
    let mut config = small(4_000, 20);
    config.budget = Some(20_000);
    let out = simulate(
        &config,
        &mut UniformPolicy { percent: 20.0 },
        &mut discount_sim::NullSink,
    )?;
    let s = &out.summary;
    assert!(s.discount_spend >= 20_000, "spend {}", s.discount_spend);
    // At most one order's discount beyond the budget.
    let biggest = out
        .truth
        .decisions
        .iter()
        .map(|d| d.discount_paid)
        .max()
        .unwrap_or(0);
    assert!(s.discount_spend <= 20_000 + biggest);
    assert!(s.offers < s.decisions);
    assert!(s.budget_used.unwrap() >= 1.0);
    Ok(())
}

#[test]
fn the_oracle_beats_blind_policies_under_a_budget() -> anyhow::Result<()> {
    let mut config = small(6_000, 30);
    config.budget = Some(60_000);
    let run = |config: &SimConfig, policy: &mut dyn Policy| {
        simulate(config, policy, &mut discount_sim::NullSink)
    };
    let oracle = run(&config, &mut OraclePolicy::new())?;
    let uniform = run(&config, &mut UniformPolicy { percent: 10.0 })?;
    let random = run(&config, &mut RandomPolicy::new(1))?;
    let o = &oracle.summary;
    assert!(o.expected_incremental_profit > 0.0);
    assert!(o.expected_incremental_profit > uniform.summary.expected_incremental_profit);
    assert!(o.expected_incremental_profit > random.summary.expected_incremental_profit);
    assert!(o.policy_notes["oracle_gap"] >= 0.0);
    assert_eq!(
        o.fraud_discount_spend, 0,
        "the oracle knows the fraud labels"
    );
    assert!(
        o.policy_notes["oracle_dual_bound"] >= o.policy_notes["oracle_planned_incremental_profit"]
    );
    // The oracle never offers to customers for whom the offer loses money at that visit.
    assert!(oracle
        .truth
        .decisions
        .iter()
        .all(|d| d.offer == Offer::NoOffer || d.incremental_profit > 0.0));
    // Without a budget it takes every profitable offer.
    config.budget = None;
    let free = run(&config, &mut OraclePolicy::new())?;
    assert!(free.summary.expected_incremental_profit >= o.expected_incremental_profit);
    Ok(())
}

#[test]
fn fraud_rings_share_identifiers_and_are_labelled_apart() -> anyhow::Result<()> {
    let mut config = small(5_000, 30);
    config.fraud.share = 0.04;
    let mut users = HashMap::new();
    let mut redeemers = HashSet::new();
    let mut orders_per_user: HashMap<String, u32> = HashMap::new();
    let out = simulate(
        &config,
        &mut UniformPolicy { percent: 25.0 },
        &mut |r: Record| match r {
            Record::User(u) => {
                users.insert(u.id.clone(), u);
            }
            Record::Event(e) => match e.kind {
                EventKind::CouponRedeemed { .. } => {
                    redeemers.insert(e.user_id);
                }
                EventKind::Order { .. } => *orders_per_user.entry(e.user_id).or_default() += 1,
                _ => {}
            },
            _ => {}
        },
    )?;
    let labels = &out.truth.fraud;
    assert_eq!(labels.len(), 200);
    let mut ring_devices: HashMap<&str, HashSet<String>> = HashMap::new();
    for l in labels.iter().filter(|l| l.kind == FraudKind::CouponFarmer) {
        let u = &users[&l.user_id];
        ring_devices
            .entry(&l.ring)
            .or_default()
            .insert(u.attributes["payment"].clone());
    }
    assert!(
        ring_devices.values().all(|p| p.len() == 1),
        "a farming ring shares one payment id"
    );
    let farmers: Vec<_> = labels
        .iter()
        .filter(|l| l.kind == FraudKind::CouponFarmer)
        .collect();
    let redeemed = farmers
        .iter()
        .filter(|l| redeemers.contains(&l.user_id))
        .count();
    assert!(
        redeemed as f64 > 0.5 * farmers.len() as f64,
        "{redeemed} of {}",
        farmers.len()
    );
    assert!(farmers
        .iter()
        .all(|l| orders_per_user.get(&l.user_id).copied().unwrap_or(0) <= 1));
    let brusher_orders: u32 = labels
        .iter()
        .filter(|l| l.kind == FraudKind::OrderBrusher)
        .map(|l| orders_per_user.get(&l.user_id).copied().unwrap_or(0))
        .sum();
    assert!(brusher_orders > 50, "{brusher_orders}");
    assert!(out.summary.fraud_orders > 0);
    Ok(())
}

struct Broken;

impl Policy for Broken {
    fn name(&self) -> String {
        "broken".into()
    }

    fn decide(&mut self, _ctx: &Context<'_>, _truth: Option<&VisitTruth<'_>>) -> Decision {
        Decision {
            offer: Offer::PercentOff { percent: 10.0 },
            propensity: 0.0,
        }
    }
}

#[test]
fn a_misbehaving_policy_is_an_error() {
    let e = simulate(&small(500, 5), &mut Broken, &mut discount_sim::NullSink)
        .unwrap_err()
        .to_string();
    assert!(e.contains("broken") && e.contains("propensity"), "{e}");
}

#[test]
fn configs_load_from_toml_files() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("sim.toml");
    std::fs::write(
        &path,
        "users = 1000\ndays = 5\nbudget = 5000\n[fraud]\nshare = 0.0\n",
    )?;
    let config = SimConfig::from_file(&path)?;
    assert_eq!(
        (config.users, config.days, config.budget),
        (1000, 5, Some(5000))
    );
    let out = simulate(&config, &mut NoOfferPolicy, &mut discount_sim::NullSink)?;
    assert!(out.truth.fraud.is_empty());
    std::fs::write(&path, "users = 0\n")?;
    let e = SimConfig::from_file(&path).unwrap_err().to_string();
    assert!(e.contains("users"), "{e}");
    Ok(())
}
