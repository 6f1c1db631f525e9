//! The closed loop end to end on a small shop: six policies continue one market at one budget,
//! the baseline at zero, the loop within budget and retraining on schedule, and a report that
//! shows every policy and the learning curve.

use discount_lab::closed_loop::LoopOptions;
use discount_lab::demo::{report, retrain_table, run};

#[test]
fn the_closed_loop_serves_retrains_and_stays_within_budget() -> anyhow::Result<()> {
    let options = LoopOptions {
        users: 6_000,
        seed: 5,
        warmup_days: 14,
        weeks: 3,
        retrain_every: 7,
        budget_per_user: 20,
        ceiling_factor: 5,
        bootstrap: 50,
        ..LoopOptions::default()
    };
    let mut phases = Vec::new();
    let result = run(&options, |p| phases.push(p.to_string()))?;
    let names: Vec<&str> = result.policies.iter().map(|r| r.policy.as_str()).collect();
    assert_eq!(
        names,
        [
            "no discounts",
            "10% to everyone",
            "random offers",
            "closed loop",
            "information ceiling",
            "oracle"
        ]
    );
    let none = &result.policies[0];
    assert_eq!((none.incremental_profit, none.discount_spend), (0, 0));
    let looped = &result.policies[3];
    assert!(looped.discount_spend <= result.budget, "{looped:?}");
    assert!(
        looped.discount_spend > 0,
        "the loop never offered: {looped:?}"
    );
    assert_eq!(looped.weekly_incremental_profit.len(), 3);
    assert!(result.warmup_decisions > 0 && result.loop_decisions > 0);
    assert!(result.loop_explored > 0 && result.loop_explored < result.loop_decisions);
    // One round before each week, each judged on the week before it.
    let days: Vec<u32> = result.retrains.iter().map(|r| r.day).collect();
    assert_eq!(days, [0, 7, 14]);
    assert!(result
        .retrains
        .iter()
        .all(|r| r.held_out_rows > 0 && !r.reason.is_empty()));
    assert!(result.ceiling_rows > result.warmup_decisions);
    let oracle = &result.policies[5];
    assert_eq!(oracle.share_of_oracle, Some(1.0));
    let (header, rows) = retrain_table(&result);
    assert!(rows.iter().all(|r| r.len() == header.len()));
    let html = report(&result)?.to_html();
    assert!(html.contains("Learning curve") && html.matches("<svg").count() >= 2);
    for name in names {
        assert!(html.contains(name), "{name} missing from the report");
    }
    Ok(())
}

#[test]
fn the_same_seed_gives_the_same_loop() -> anyhow::Result<()> {
    let options = LoopOptions {
        users: 2_000,
        seed: 9,
        weeks: 2,
        ceiling_factor: 0,
        bootstrap: 20,
        ..LoopOptions::default()
    };
    let a = run(&options, |_| {})?;
    let b = run(&options, |_| {})?;
    assert_eq!(a, b);
    assert!(a.policy("information ceiling").is_none());
    Ok(())
}
