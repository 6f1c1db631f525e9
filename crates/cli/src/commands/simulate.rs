//! `discount simulate`: a market with known ground truth, as event files and a summary.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use discount_core::money::format_minor;
use discount_core::Currency;
use discount_sim::policy::NoOfferPolicy;
use discount_sim::{
    policy_from_spec, JsonlSink, Market, MarketState, NullSink, RunOptions, SimConfig,
};
use serde::{Deserialize, Serialize};

use crate::output::{count, print_json, Table};

/// Simulate a shop whose customers' true response to every offer is known.
///
/// Customers (persuadables, sure things, lost causes, sleeping dogs, and a share of fraud
/// rings) visit, view, buy, review and churn day by day; a policy decides at each visit which
/// offer to make. The run is reproducible from its seed. Besides the policy's run, the same
/// seed is simulated without offers, so the summary shows the policy's true incremental
/// profit. With --out DIR it writes:
///   DIR/events.jsonl       users, items and events in time order (the ingest format)
///   DIR/ground_truth.json  every customer's traits and type, every decision's true value,
///                          fraud labels
///   DIR/summary.json       the figures printed below
///
/// Examples:
///   discount simulate --users 100000 --days 30 --policy uniform:10 --out sim/
///   discount ingest sim/events.jsonl
///   discount simulate --users 50000 --policy oracle --budget 2000000
///   discount simulate --sim-config market.toml --policy random --out sim/ --json
///   discount simulate --days 60 --stop-after 30 --policy random --save-state week4.json --out a/
///   discount simulate --resume week4.json --out b/
///
/// A market runs on: with --stop-after D only the next D days are simulated, and --save-state
/// FILE keeps the market (customers with their history and lifecycle, stock, budget spent) and
/// the policy's state, so that --resume FILE continues it exactly; the records of a/ and then
/// b/ are those of one uninterrupted run. When resuming, the counterfactual continues the saved
/// market without offers, so the incremental profit is that of the resumed days' offers.
///
/// docs/simulator.md describes the model, every setting of the TOML file, and where the
/// defaults come from.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct SimulateArgs {
    /// Number of customer accounts [default: 10000, or the file's value].
    #[arg(long, value_name = "N")]
    pub users: Option<usize>,

    /// Number of simulated days [default: 30, or the file's value].
    #[arg(long, value_name = "D")]
    pub days: Option<u32>,

    /// Seed of every random draw; the same seed gives the same files byte for byte
    /// [default: 42, or the file's value].
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// Simulator settings (TOML): population, response types, catalogue, fraud, offer ladder.
    /// Name only what you change, e.g. `users = 200000` and `[fraud]` / `share = 0.02`.
    #[arg(long = "sim-config", value_name = "FILE")]
    pub sim_config: Option<PathBuf>,

    /// Who gets which offer: `none` (nobody), `uniform:10` (10% off for every visitor),
    /// `random` (a random rung of the ladder, logged with its propensity, good for
    /// off-policy evaluation), `oracle` (the best allocation knowing the truth)
    /// [default: none, or the saved run's with --resume].
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<String>,

    /// Discount budget for the whole run, in minor units (cents): 500000 = 5,000.00.
    /// Coupons are paid when redeemed; offers stop when it is spent [default: unlimited].
    /// With --resume, a new budget period from the resumed day on.
    #[arg(long, value_name = "MINOR_UNITS")]
    pub budget: Option<i64>,

    /// Simulate only the next D days (the market's length stays --days); with --save-state,
    /// continue later with --resume.
    #[arg(long = "stop-after", value_name = "D")]
    pub stop_after: Option<u32>,

    /// After the run, save the market and the policy's state to FILE (JSON).
    #[arg(long = "save-state", value_name = "FILE")]
    pub save_state: Option<PathBuf>,

    /// Continue a market saved with --save-state (its size, length, seed and settings come from
    /// the file).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["users", "days", "seed", "sim_config"])]
    pub resume: Option<PathBuf>,

    /// Folder for events.jsonl, ground_truth.json and summary.json (created if missing).
    /// Without it nothing is written and only the summary is printed.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

fn create(path: &std::path::Path) -> anyhow::Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// What --save-state writes: the market and the policy's state.
#[derive(Serialize, Deserialize)]
struct SavedRun {
    policy: String,
    policy_state: Option<String>,
    market: MarketState,
}

fn quiet() -> RunOptions {
    RunOptions {
        customer_truth: false,
        decision_truth: false,
    }
}

/// The market to run, the policy's spec and state, from the flags or the saved run.
fn start(args: &SimulateArgs) -> anyhow::Result<(MarketState, String, Option<String>)> {
    if let Some(path) = &args.resume {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let saved: SavedRun = serde_json::from_slice(&text).with_context(|| {
            format!(
                "{}: not a run saved with `discount simulate --save-state`",
                path.display()
            )
        })?;
        let spec = args.policy.clone().unwrap_or(saved.policy.clone());
        // A different policy starts afresh; the same one continues its draws.
        let state = (spec == saved.policy)
            .then_some(saved.policy_state)
            .flatten();
        return Ok((saved.market, spec, state));
    }
    let mut config = match &args.sim_config {
        Some(path) => SimConfig::from_file(path)?,
        None => SimConfig::default(),
    };
    if let Some(users) = args.users {
        config.users = users;
    }
    if let Some(days) = args.days {
        config.days = days;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if args.budget.is_some() {
        config.budget = args.budget;
    }
    config.validate()?;
    let market = Market::new(config, quiet())?;
    let spec = args.policy.clone().unwrap_or_else(|| "none".into());
    Ok((market.state(), spec, None))
}

pub fn run(args: &SimulateArgs, json: bool) -> anyhow::Result<()> {
    let (state, spec, policy_state) = start(args)?;
    let seed = state.config.seed;
    let mut policy = policy_from_spec(&spec, seed)?;
    if let Some(s) = &policy_state {
        policy.restore(s)?;
    }
    let options = if args.out.is_some() {
        RunOptions::default()
    } else {
        quiet()
    };
    let mut market = Market::resume(state, options)?;
    if args.resume.is_some() && args.budget.is_some() {
        market.set_budget(args.budget);
    }
    let left = market.days_left();
    let days = args.stop_after.unwrap_or(left);
    if days == 0 || days > left {
        anyhow::bail!(
            "--stop-after {days}: the market is at day {} of {}, so 1 to {left} more days can be simulated",
            market.day(),
            market.config().days
        );
    }
    // The counterfactual: the same market from the same day, without offers.
    let mut control = Market::resume(market.state(), quiet())?;
    let control_span = control.run_days(days, &mut NoOfferPolicy, &mut NullSink)?;
    let mut summary = match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let events_path = dir.join("events.jsonl");
            let mut sink = JsonlSink::new(create(&events_path)?);
            let span = market.run_days(days, policy.as_mut(), &mut sink)?;
            sink.finish()
                .with_context(|| format!("writing {}", events_path.display()))?;
            span
        }
        None => market.run_days(days, policy.as_mut(), &mut NullSink)?,
    };
    summary.counterfactual_gross_profit = Some(control_span.gross_profit);
    summary.counterfactual_revenue = Some(control_span.revenue);
    summary.incremental_profit = Some(summary.gross_profit - control_span.gross_profit);
    summary.policy_notes = policy.notes().into_iter().collect();
    let (reached, horizon) = (market.day(), market.config().days);
    if let Some(path) = &args.save_state {
        let saved = SavedRun {
            policy: spec.clone(),
            policy_state: policy.saved_state(),
            market: market.state(),
        };
        let text = serde_json::to_vec(&saved)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(dir) = &args.out {
        let out = market.finish(policy.as_ref());
        let truth_path = dir.join("ground_truth.json");
        let mut w = create(&truth_path)?;
        serde_json::to_writer(&mut w, &out.truth)?;
        w.flush()
            .with_context(|| format!("writing {}", truth_path.display()))?;
        let summary_path = dir.join("summary.json");
        let mut w = create(&summary_path)?;
        serde_json::to_writer_pretty(&mut w, &summary)?;
        w.flush()
            .with_context(|| format!("writing {}", summary_path.display()))?;
    }

    if json {
        return print_json(&summary);
    }
    let currency = Currency::parse("currency", &summary.currency)?;
    let money = |m: i64| format_minor(m, currency);
    let mut t = Table::new(&["figure", "value"]);
    let mut row = |k: &str, v: String| t.row(vec![k.to_string(), v]);
    row("policy", summary.policy.clone());
    row(
        "customers x days",
        format!("{} x {}", count(summary.users as u64), summary.days),
    );
    row("visits", count(summary.visits));
    row("offers made", count(summary.offers));
    row("orders", count(summary.orders));
    row("coupons redeemed", count(summary.coupons_redeemed));
    row(
        "redemption rate",
        format!("{:.1}%", 100.0 * summary.redemption_rate),
    );
    row("revenue", money(summary.revenue));
    row("discount spend", money(summary.discount_spend));
    if let (Some(b), Some(used)) = (summary.budget, summary.budget_used) {
        row(
            "budget",
            format!("{} ({:.1}% used)", money(b), 100.0 * used),
        );
    }
    row("gross profit", money(summary.gross_profit));
    if let (Some(cf), Some(inc)) = (
        summary.counterfactual_gross_profit,
        summary.incremental_profit,
    ) {
        row("gross profit without offers", money(cf));
        row("incremental profit", money(inc));
    }
    row(
        "expected incremental profit (truth)",
        money(summary.expected_incremental_profit.round() as i64),
    );
    row("fraud orders", count(summary.fraud_orders));
    row("fraud discount spend", money(summary.fraud_discount_spend));
    for (k, v) in &summary.policy_notes {
        row(k, format!("{v:.2}"));
    }
    print!("{}", t.render());
    if let Some(path) = &args.save_state {
        println!(
            "saved the market at day {reached} of {horizon} to {}; continue with --resume",
            path.display()
        );
    }
    if let Some(dir) = &args.out {
        let records: u64 = summary.records.values().sum();
        println!(
            "wrote {} records to {}, ground truth and summary beside it",
            count(records),
            dir.join("events.jsonl").display()
        );
    }
    Ok(())
}
