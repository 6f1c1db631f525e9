//! `discount simulate`: a market with known ground truth, as event files and a summary.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use discount_core::money::format_minor;
use discount_core::Currency;
use discount_sim::{
    policy_from_spec, simulate_with_counterfactual, JsonlSink, NullSink, RunOptions, SimConfig,
};

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
    /// off-policy evaluation), `oracle` (the best allocation knowing the truth).
    #[arg(long, value_name = "POLICY", default_value = "none")]
    pub policy: String,

    /// Discount budget for the whole run, in minor units (cents): 500000 = 5,000.00.
    /// Coupons are paid when redeemed; offers stop when it is spent [default: unlimited].
    #[arg(long, value_name = "MINOR_UNITS")]
    pub budget: Option<i64>,

    /// Folder for events.jsonl, ground_truth.json and summary.json (created if missing).
    /// Without it nothing is written and only the summary is printed.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

fn create(path: &std::path::Path) -> anyhow::Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

pub fn run(args: &SimulateArgs, json: bool) -> anyhow::Result<()> {
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
    let mut policy = policy_from_spec(&args.policy, config.seed)?;

    let summary = match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let events_path = dir.join("events.jsonl");
            let mut sink = JsonlSink::new(create(&events_path)?);
            let out = simulate_with_counterfactual(
                &config,
                policy.as_mut(),
                &mut sink,
                RunOptions::default(),
            )?;
            sink.finish()
                .with_context(|| format!("writing {}", events_path.display()))?;
            let truth_path = dir.join("ground_truth.json");
            let mut w = create(&truth_path)?;
            serde_json::to_writer(&mut w, &out.truth)?;
            w.flush()
                .with_context(|| format!("writing {}", truth_path.display()))?;
            let summary_path = dir.join("summary.json");
            let mut w = create(&summary_path)?;
            serde_json::to_writer_pretty(&mut w, &out.summary)?;
            w.flush()
                .with_context(|| format!("writing {}", summary_path.display()))?;
            out.summary
        }
        None => {
            let options = RunOptions {
                customer_truth: false,
                decision_truth: false,
            };
            simulate_with_counterfactual(&config, policy.as_mut(), &mut NullSink, options)?.summary
        }
    };

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
