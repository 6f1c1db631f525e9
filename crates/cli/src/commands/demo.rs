//! `discount demo`: what the engine is for, in one command on the embedded defaults.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use discount_core::money::format_minor;
use discount_core::Currency;
use discount_lab::closed_loop::{LoopOptions, LoopResult};
use discount_lab::demo;
use serde::Serialize;

use crate::output::{count, print_json, Table};

/// Run a simulated shop as a real one: explore, serve, learn from its own decisions, and compare.
///
/// A market is simulated on the embedded defaults and runs on day after day. During the first
/// --warmup-days, offers are given at random (the exploration log, with propensities). Then, for
/// --weeks, every visit is decided by the engine `discount serve` runs, from the customer's
/// profile built from what the shop has recorded so far; each day's decisions are joined to the
/// orders they led to; every --retrain-every days a candidate response model is fitted on the
/// joined log and promoted only if the lower bound of its off-policy advantage over the serving
/// model on the most recent window (doubly robust, paired bootstrap) is above --margin (what
/// `discount retrain` does).
///
/// Every policy continues the same market from the end of the warm-up with the SAME budget and
/// random draws: no discounts, 10% to everyone, random offers, the closed loop, the information
/// ceiling (the same learner with --ceiling-factor times more exploration data: the best this
/// learner does from what the shop observes) and the oracle (which knows every customer's true
/// response). Incremental profit is measured against the same market without any offer.
///
/// Examples:
///   discount demo
///   discount demo --users 20000 --weeks 6 --report out.html
///   discount demo --json
///
/// docs/demo.md explains the figures.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct DemoArgs {
    #[command(flatten)]
    pub run: LoopArgs,

    /// Seed of every random draw.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,

    /// Where to write the HTML report.
    #[arg(long, value_name = "FILE", default_value = "demo-report.html")]
    pub report: PathBuf,
}

/// The closed loop's settings, shared by `discount demo` and `discount evaluate-policy`.
#[derive(clap::Args, Debug, Clone)]
pub struct LoopArgs {
    /// Number of customer accounts.
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    pub users: usize,

    /// Days of random offers before serving.
    #[arg(long = "warmup-days", value_name = "D", default_value_t = 14)]
    pub warmup_days: u32,

    /// Weeks of serving.
    #[arg(long, value_name = "W", default_value_t = 8)]
    pub weeks: u32,

    /// Days between retraining rounds (each judges the candidate on the last this many days).
    #[arg(long = "retrain-every", value_name = "D", default_value_t = 7)]
    pub retrain_every: u32,

    /// Discount budget of the serving period per customer, minor units.
    #[arg(long = "budget-per-user", value_name = "MINOR", default_value_t = 20)]
    pub budget_per_user: i64,

    /// Share of visits the loop explores.
    #[arg(long, default_value_t = 0.05)]
    pub epsilon: f64,

    /// Profit per decision (minor units) the lower bound of a candidate's advantage must exceed.
    #[arg(long, default_value_t = 0.0)]
    pub margin: f64,

    /// The information ceiling learns from this many times the warm-up's data (0: skip it).
    #[arg(long = "ceiling-factor", value_name = "X", default_value_t = 50)]
    pub ceiling_factor: u32,

    /// Fit the response model pooled over the offers' depths (one order model with the
    /// profile's effect growing with the depth) instead of one model per offer.
    #[arg(long)]
    pub pooled: bool,

    /// L2 penalty of the response model's order models (standardised inputs), as `discount
    /// retrain --l2`.
    #[arg(long, default_value_t = 10.0)]
    pub l2: f64,

    /// L2 penalty of its profit and discount regressions, as `discount retrain --ridge`.
    #[arg(long, default_value_t = 100.0)]
    pub ridge: f64,
}

impl LoopArgs {
    pub fn options(&self, seed: u64) -> LoopOptions {
        LoopOptions {
            users: self.users,
            seed,
            warmup_days: self.warmup_days,
            weeks: self.weeks,
            retrain_every: self.retrain_every,
            budget_per_user: self.budget_per_user,
            epsilon: self.epsilon,
            margin: self.margin,
            ceiling_factor: self.ceiling_factor,
            pooled: self.pooled,
            l2: self.l2,
            ridge: self.ridge,
            ..LoopOptions::default()
        }
    }
}

/// The demo's figures and where its report was written.
#[derive(Serialize)]
struct DemoOutput<'a> {
    #[serde(flatten)]
    result: &'a LoopResult,
    report: String,
}

pub fn run(args: &DemoArgs, json: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let options = args.run.options(args.seed);
    let result = demo::run(&options, |phase| {
        eprintln!("{phase} ({:.1}s)", started.elapsed().as_secs_f64())
    })?;
    let currency = Currency::parse("currency", &result.currency)?;
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
    println!(
        "{} customers; {} days of random offers ({} decisions), then {} weeks of the closed loop \
         ({} decisions, {} explored; retrained every {} days); budget {}",
        count(options.users as u64),
        options.warmup_days,
        count(result.warmup_decisions as u64),
        options.weeks,
        count(result.loop_decisions as u64),
        count(result.loop_explored as u64),
        options.retrain_every,
        format_minor(result.budget, currency)
    );
    print!("{}", render(demo::table(&result, currency)));
    println!("\nretraining rounds:");
    print!("{}", render(demo::retrain_table(&result)));
    if let Some(x) = result.loop_share_of_ceiling {
        println!(
            "the loop earned {:.0}% of the information ceiling in the last two weeks",
            100.0 * x
        );
    }
    println!("report: {}", args.report.display());
    Ok(())
}

fn render((header, rows): (Vec<String>, Vec<Vec<String>>)) -> String {
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header);
    for row in rows {
        table.row(row);
    }
    table.render()
}
