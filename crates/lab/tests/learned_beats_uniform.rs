//! On a small simulated market, the learned policy earns a positive incremental profit, more than
//! 10% off for everyone at the same budget, and never spends more than the budget.

use discount_lab::model::Segments;
use discount_lab::simulated::OutcomeTap;
use discount_lab::{explore, Hyper, LearnedPolicy, UpliftModel};
use discount_sim::policy::{NoOfferPolicy, UniformPolicy};
use discount_sim::{simulate_with, NullSink, Policy, RunOptions, SimConfig, SimSummary};

fn run(config: &SimConfig, policy: &mut dyn Policy) -> SimSummary {
    let options = RunOptions {
        customer_truth: false,
        decision_truth: false,
    };
    simulate_with(config, policy, &mut NullSink, options)
        .expect("simulation runs")
        .summary
}

#[test]
fn learned_policy_beats_uniform_within_budget() {
    let base = SimConfig {
        users: 20_000,
        seed: 11,
        ..SimConfig::default()
    };
    let learn = SimConfig {
        days: 28,
        ..base.clone()
    };
    let log = explore(&learn, 5).expect("exploration runs");
    let hyper = Hyper::default();
    let model = UpliftModel::fit(&learn.ladder, &log.decisions, log.days, &hyper).expect("fits");
    let budget = 10 * base.users as i64;
    let test = SimConfig {
        days: 28,
        budget: Some(budget),
        ..base
    };
    let control = run(&test, &mut NoOfferPolicy);
    // The learned policy reads each visit's segment from the shop's record of the run.
    let tap = OutcomeTap::new(&test).expect("valid config");
    let mut learned =
        LearnedPolicy::new(model, hyper, Segments::new(tap.clone(), &test)).expect("valid");
    let l = tap.run(&test, &mut learned).expect("simulation runs");
    let u = run(&test, &mut UniformPolicy { percent: 10.0 });
    let inc_l = l.gross_profit - control.gross_profit;
    let inc_u = u.gross_profit - control.gross_profit;
    eprintln!(
        "learned: inc {inc_l} spend {} | uniform: inc {inc_u} spend {} | budget {budget}",
        l.discount_spend, u.discount_spend
    );
    assert!(inc_l > 0, "learned incremental profit {inc_l}");
    assert!(inc_l > inc_u, "learned {inc_l} <= uniform {inc_u}");
    assert!(
        l.discount_spend <= budget,
        "{} > {budget}",
        l.discount_spend
    );
}
