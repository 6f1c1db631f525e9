//! `discount demo`: what the engine is for, in one command on the embedded defaults.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use discount_core::money::format_minor;
use discount_core::Currency;
use discount_lab::demo::{self, DemoOptions, DemoResult};
use serde::Serialize;

use crate::output::{count, print_json, Table};

/// Learn a discount policy from an exploration log and compare it with simple baselines.
///
/// A market is simulated on the embedded defaults. During the first --learn-days, offers are
/// given at random (the exploration log, with propensities). The engine learns from that log
/// which offer pays in which customer segment, then the following --test-days are simulated
/// for each policy with the SAME discount budget: no discounts, 10% off for everyone, random
/// offers, the learned policy, and the oracle (which knows every customer's true response; the
/// ceiling). Incremental profit is measured against the same market without any offer (common
/// random numbers), so it includes every effect of the discounts.
///
/// Examples:
///   discount demo
///   discount demo --users 20000 --budget 300000 --report out.html
///   discount demo --json
///
/// docs/demo.md explains the figures.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct DemoArgs {
    /// Number of customer accounts.
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    pub users: usize,

    /// Days of random offers the policy learns from.
    #[arg(long = "learn-days", value_name = "D", default_value_t = 28)]
    pub learn_days: u32,

    /// Days over which the policies are compared.
    #[arg(long = "test-days", value_name = "D", default_value_t = 28)]
    pub test_days: u32,

    /// Discount budget of the test period, minor units [default: 10 per customer].
    #[arg(long, value_name = "MINOR")]
    pub budget: Option<i64>,

    /// Seed of every random draw.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,

    /// Where to write the HTML report.
    #[arg(long, value_name = "FILE", default_value = "demo-report.html")]
    pub report: PathBuf,
}

/// The demo's figures and where its report was written.
#[derive(Serialize)]
struct DemoOutput<'a> {
    #[serde(flatten)]
    result: &'a DemoResult,
    report: String,
}

pub fn run(args: &DemoArgs, json: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let options = DemoOptions {
        users: args.users,
        learn_days: args.learn_days,
        test_days: args.test_days,
        budget: args.budget,
        seed: args.seed,
    };
    let result = demo::run(&options, |phase| {
        eprintln!("{phase} ({:.1}s)", started.elapsed().as_secs_f64())
    })?;
    let currency = Currency::parse("currency", &result.currency)?;
    let budget = result.budget;
    demo::report(&result)?
        .write(&args.report)
        .with_context(|| format!("writing {}", args.report.display()))?;
    eprintln!(
        "done in {:.1}s; report: {}",
        started.elapsed().as_secs_f64(),
        args.report.display()
    );
    if json {
        return print_json(&DemoOutput {
            result: &result,
            report: args.report.display().to_string(),
        });
    }
    let (header, rows) = demo::table(&result, currency);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header);
    for row in rows {
        table.row(row);
    }
    println!(
        "{} customers; learned from {} days of random offers ({} decisions); compared over {} days with a budget of {}",
        count(result.users as u64),
        result.learn_days,
        count(result.logged_decisions as u64),
        result.test_days,
        format_minor(budget, currency)
    );
    print!("{}", table.render());
    println!("report: {}", args.report.display());
    Ok(())
}
