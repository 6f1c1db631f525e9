//! `discount evaluate-policy`: the policies compared in the simulator over several seeds.

use std::time::Instant;

use discount_lab::closed_loop::{run_seeds, LoopOptions, LoopSeeds};
use discount_lab::evaluate::{evaluate, EvalOptions, Spread};
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::{print_json, Table};

/// Compare discount policies in the simulated shop at the same budget, over the same weeks and
/// several seeds, and print the mean and spread of each figure.
///
/// For each seed: a log of random offers over --learn-days (the exploration log), then the
/// --test-days simulated once per policy with the same budget and the same random draws:
/// no discounts, 10% to everyone, the segment uplift policy of `discount demo`, the decision
/// engine (epsilon-greedy, LinUCB, Thompson sampling, and the shared model; warm-started from the
/// log, planned shadow price, daily pacing, learning online from joined outcomes), and the oracle
/// that knows every customer's true response. Then the lifecycle reinforcement-learning policies
/// against the one-step greedy policy on 90-day profit, and the engine in apprentice mode behind
/// the 10%-to-everyone rule.
///
/// Examples:
///   discount evaluate-policy
///   discount evaluate-policy --users 50000 --seeds 10 --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct EvaluatePolicyArgs {
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub users: usize,
    #[arg(long = "learn-days", value_name = "D", default_value_t = 28)]
    pub learn_days: u32,
    #[arg(long = "test-days", value_name = "D", default_value_t = 28)]
    pub test_days: u32,
    /// Budget of the test period per customer, minor units.
    #[arg(long = "budget-per-user", value_name = "MINOR", default_value_t = 10)]
    pub budget_per_user: i64,
    /// Number of seeds (1, 2, ..., N).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub seeds: u64,
    /// The closed loop (as `discount demo`, on --users customers): weeks of serving.
    #[arg(long = "loop-weeks", value_name = "W", default_value_t = 8)]
    pub loop_weeks: u32,
    /// The closed loop's information ceiling learns from this many times the warm-up's data.
    #[arg(long = "ceiling-factor", value_name = "X", default_value_t = 50)]
    pub ceiling_factor: u32,
    /// Skip the closed-loop comparison.
    #[arg(long)]
    pub skip_loop: bool,
}

/// Both comparisons, for --json.
#[derive(serde::Serialize)]
struct Output<'a> {
    #[serde(flatten)]
    report: &'a discount_lab::evaluate::EvalReport,
    closed_loop: Option<&'a LoopSeeds>,
}

fn pm(s: &Spread, scale: f64, digits: usize) -> String {
    format!(
        "{:.*} ± {:.*}",
        digits,
        s.mean * scale,
        digits,
        s.sd * scale
    )
}

pub fn run(args: &EvaluatePolicyArgs, json: bool) -> anyhow::Result<()> {
    if args.seeds == 0 || args.learn_days == 0 || args.test_days == 0 {
        anyhow::bail!("--seeds, --learn-days and --test-days must be at least 1");
    }
    if args.budget_per_user < 0 {
        anyhow::bail!(
            "--budget-per-user must be >= 0 minor units, got {}",
            args.budget_per_user
        );
    }
    let options = EvalOptions {
        users: args.users,
        learn_days: args.learn_days,
        test_days: args.test_days,
        budget_per_user: args.budget_per_user,
        seeds: (1..=args.seeds).collect(),
        ..EvalOptions::default()
    };
    let started = Instant::now();
    let steps = options.seeds.len() as u64 * (5 + options.explorations.len() as u64) + 2;
    let bar = ProgressBar::new(steps);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = evaluate(&options, |seed, what| {
        bar.inc(1);
        bar.set_message(format!("seed {seed}: {what}"));
    })?;
    bar.finish_and_clear();
    let seeds: Vec<u64> = (1..=args.seeds).collect();
    let closed_loop = if args.skip_loop {
        None
    } else {
        let loop_options = LoopOptions {
            users: args.users,
            weeks: args.loop_weeks,
            ceiling_factor: args.ceiling_factor,
            ..LoopOptions::default()
        };
        let bar = ProgressBar::new_spinner();
        let looped = run_seeds(&loop_options, &seeds, |seed, step| {
            bar.set_message(format!("closed loop, seed {seed}: {step}"));
            bar.tick();
        })?;
        bar.finish_and_clear();
        Some(looped)
    };
    if json {
        return print_json(&Output {
            report: &report,
            closed_loop: closed_loop.as_ref(),
        });
    }
    println!(
        "{} customers; {} days of random offers, then {} days per policy at a budget of {} per customer; {} seeds ({:.1}s)",
        args.users,
        args.learn_days,
        args.test_days,
        args.budget_per_user,
        args.seeds,
        started.elapsed().as_secs_f64()
    );
    let mut t = Table::new(&[
        "policy",
        "incremental profit",
        "% of oracle",
        "vs 10% to everyone",
        "budget used %",
        "max used %",
        "runs over budget",
    ]);
    for s in &report.summary {
        t.row(vec![
            s.policy.clone(),
            pm(&s.incremental_profit, 1.0, 0),
            pm(&s.share_of_oracle, 100.0, 1),
            pm(&s.vs_uniform, 1.0, 0),
            pm(&s.budget_used, 100.0, 1),
            format!("{:.1}", 100.0 * s.budget_used.max),
            s.over_budget_runs.to_string(),
        ]);
    }
    print!("{}", t.render());
    println!("(mean ± standard deviation over seeds; money in minor units)");
    if let Some(a) = &report.apprentice {
        println!(
            "apprentice mode behind 10% to everyone (seed 1): agreement {:.1}% over {} decisions; the engine expects {:.0} of incremental profit for its own choices (cost {:.0}) against {:.0} for the rule's (cost {:.0})",
            100.0 * a.agreement,
            a.decisions,
            a.engine_expected_profit,
            a.engine_expected_cost,
            a.rule_expected_profit,
            a.rule_expected_cost
        );
    }
    if let Some(l) = &report.lifecycle {
        println!(
            "lifecycle: {} customers over {} days, no budget (discounts cost in the reward), gamma {} per visit, {} training episodes",
            l.users, l.days, l.gamma, l.training_episodes
        );
        let mut t = Table::new(&["lifecycle policy", "incremental profit vs no offers"]);
        for (name, s) in &l.policies {
            t.row(vec![name.clone(), pm(s, 1.0, 0)]);
        }
        print!("{}", t.render());
        println!(
            "minus one-step greedy: q-learning {}; fitted q iteration {}; dqn {} (final training loss {:.4})",
            pm(&l.q_learning_vs_greedy, 1.0, 0),
            pm(&l.fqi_vs_greedy, 1.0, 0),
            pm(&l.dqn_vs_greedy, 1.0, 0),
            l.dqn_final_loss
        );
    }
    if let Some(c) = &closed_loop {
        print_loop(c, args);
    }
    Ok(())
}

fn print_loop(c: &LoopSeeds, args: &EvaluatePolicyArgs) {
    let o = LoopOptions::default();
    println!(
        "\nclosed loop ({} customers; {} days of random offers, then {} weeks served by the engine, \
         retrained every {} days behind the off-policy gate; budget {} per customer; every policy \
         continues the same market; {} seeds):",
        args.users, o.warmup_days, args.loop_weeks, o.retrain_every, o.budget_per_user, args.seeds
    );
    let mut t = Table::new(&[
        "policy",
        "% of oracle, last 2 weeks",
        "min",
        "% of oracle, all weeks",
        "runs over budget",
        "runs beating 10% to everyone",
    ]);
    for s in &c.summary {
        t.row(vec![
            s.policy.clone(),
            pm(&s.last_two_weeks_share, 100.0, 1),
            format!("{:.1}", 100.0 * s.last_two_weeks_share.min),
            pm(&s.share_of_oracle, 100.0, 1),
            s.over_budget_runs.to_string(),
            s.beats_uniform_runs.to_string(),
        ]);
    }
    print!("{}", t.render());
    println!(
        "the loop's share of the information ceiling over the last two weeks: {}%",
        pm(&c.loop_share_of_ceiling, 100.0, 1)
    );
}
