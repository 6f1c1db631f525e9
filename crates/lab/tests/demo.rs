//! The demo end to end on a small shop: five policies at one budget, the baseline at zero, the
//! learned policy within budget, and a report that shows every policy.

use discount_lab::demo::{report, run, DemoOptions};

#[test]
fn the_demo_compares_five_policies_at_one_budget() -> anyhow::Result<()> {
    let options = DemoOptions {
        users: 4_000,
        learn_days: 14,
        test_days: 14,
        budget: Some(40_000),
        seed: 5,
    };
    let mut phases = Vec::new();
    let result = run(&options, |p| phases.push(p.to_string()))?;
    let names: Vec<&str> = result.rows.iter().map(|r| r.policy.as_str()).collect();
    assert_eq!(
        names,
        [
            "no discounts",
            "10% to everyone",
            "random offers",
            "learned",
            "oracle"
        ]
    );
    assert_eq!(result.rows[0].incremental_profit, 0);
    assert_eq!(result.rows[0].discount_spend, 0);
    let learned = &result.rows[3];
    assert!(learned.discount_spend <= result.budget, "{learned:?}");
    assert!(result.logged_decisions > 0);
    assert_eq!(phases.len(), 2 + 5, "{phases:?}");
    let html = report(&result)?.to_html();
    assert!(html.contains("<svg"));
    for name in ["no discounts", "10% to everyone", "learned", "oracle"] {
        assert!(html.contains(name), "{name} missing from the report");
    }
    Ok(())
}
