//! The engine in the simulated shop: within budget, spend close to plan, positive incremental
//! profit against no discounts; the lifecycle learners run end to end.

use discount_lab::evaluate::{evaluate, EvalOptions};
use discount_lab::rl::compare_lifecycle;

#[test]
fn engine_spends_the_budget_evenly_and_profitably() {
    let options = EvalOptions {
        users: 8_000,
        learn_days: 21,
        test_days: 21,
        budget_per_user: 10,
        seeds: vec![3, 4],
        lifecycle: None,
        ..EvalOptions::default()
    };
    let report = evaluate(&options, |_, _| {}).expect("evaluation runs");
    for s in report
        .summary
        .iter()
        .filter(|s| s.policy.starts_with("engine"))
    {
        assert_eq!(s.over_budget_runs, 0, "{}", s.policy);
        assert!(
            s.budget_used.max <= 1.0,
            "{}: {:?}",
            s.policy,
            s.budget_used
        );
        assert!(s.budget_used.min > 0.9, "{}: {:?}", s.policy, s.budget_used);
        assert!(
            s.incremental_profit.min > 0.0,
            "{}: {:?}",
            s.policy,
            s.incremental_profit
        );
    }
    let apprentice = report.apprentice.expect("apprentice report");
    assert!(apprentice.decisions > 0 && (0.0..=1.0).contains(&apprentice.agreement));
}

#[test]
fn lifecycle_learners_run_and_report_per_seed() {
    let r = compare_lifecycle(2_000, 30, 2, 0.9, &[1, 2]).expect("lifecycle comparison runs");
    assert_eq!(r.policies.len(), 4);
    assert!(r.dqn_final_loss.is_finite());
    assert!(r.policies.iter().all(|(_, s)| s.mean.is_finite()));
}
