//! `discount`: decide which customer gets which discount, and prove it was worth it.

mod commands;
mod output;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use discount_core::Config;

/// Decide which customer gets which discount, and prove that it was worth it.
///
/// See the whole loop in one command (simulated market, learned policy, baselines, oracle):
///   discount demo
///
/// Start with real data:
///   discount datasets import hillstrom --from ../shared/data/hillstrom-minethatdata
///   discount stats
///
/// Or pour in your own event logs (JSON Lines or CSV, see docs/ingest.md):
///   discount ingest events.jsonl orders.csv
///
/// Learn from it (lifetime value, embeddings, propensity, uplift, sequences):
///   discount train ltv
///   discount train propensity --dataset online-shoppers --model all
///   discount profile CUSTOMER_ID
///
/// Decide, plan and serve offers within a budget; stop coupon abuse:
///   discount evaluate-policy
///   discount plan --help
///   discount fraud scan --events sim/ --labels sim/ground_truth.json
///   discount keys create --name checkout --role decide
///   discount serve
///
/// Privacy: erase a customer, or everything past a retention period:
///   discount customers erase CUSTOMER_ID
///   discount customers retain --days 730
///
/// Evaluate policies and experiments:
///   discount ope --dataset obd --behavior random --policy bts
///   discount experiment analyze ab.csv --control A
///   discount report --experiment ab.csv
///
/// Set shelf prices, forecast demand, plan markdowns (docs/pricing.md):
///   discount price elasticity --dataset orange-juice
///   discount price markdown --stock 60 --weeks 8
///
/// Settings come from discount.toml (or --config FILE); every key can be overridden by an
/// environment variable DISCOUNT_<SECTION>__<KEY>, e.g. DISCOUNT_STORE__URL.
#[derive(Parser, Debug)]
#[command(name = "discount", version, verbatim_doc_comment)]
struct Cli {
    /// Configuration file (TOML). Default: ./discount.toml if present.
    #[arg(long, global = true, env = "DISCOUNT_CONFIG")]
    config: Option<PathBuf>,

    /// Store URL: sqlite://PATH (embedded, the default) or postgres://USER@HOST:PORT/DB.
    /// Overrides store.url of the configuration.
    #[arg(long, global = true)]
    store: Option<String>,

    /// Print results as JSON (for scripts) instead of tables.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Demo(commands::demo::DemoArgs),
    Ingest(commands::ingest::IngestArgs),
    #[command(subcommand)]
    Datasets(commands::datasets::DatasetsCommand),
    Stats(commands::stats::StatsArgs),
    Simulate(commands::simulate::SimulateArgs),
    Ope(commands::ope::OpeArgs),
    Report(commands::report::ReportArgs),
    #[command(subcommand)]
    Experiment(commands::experiment::ExperimentArgs),
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
    #[command(subcommand)]
    Bandit(commands::bandit::BanditCommand),
    #[command(subcommand)]
    Train(commands::train::TrainCommand),
    #[command(subcommand)]
    Models(commands::models::ModelsCommand),
    Retrain(commands::retrain::RetrainArgs),
    Profile(commands::profile::ProfileArgs),
    Recommend(commands::recommend::RecommendArgs),
    SimulateRecommendations(commands::recommend::SimulateRecommendationsArgs),
    #[command(subcommand)]
    Fraud(commands::fraud::FraudCommand),
    Serve(commands::serve::ServeArgs),
    #[command(subcommand)]
    Keys(commands::keys::KeysCommand),
    #[command(subcommand)]
    Customers(commands::customers::CustomersCommand),
    #[command(subcommand)]
    Privacy(commands::privacy::PrivacyCommand),
    #[command(subcommand)]
    Export(commands::export::ExportCommand),
    Monitor(commands::monitor::MonitorArgs),
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    Decide(commands::decide::DecideArgs),
    Plan(commands::plan::PlanArgs),
    #[command(subcommand)]
    Price(commands::price::PriceCommand),
    EvaluatePolicy(commands::evaluate_policy::EvaluatePolicyArgs),
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        match e.downcast_ref::<commands::ExitCode>() {
            Some(code) => {
                eprintln!("error: {e}");
                std::process::exit(code.0);
            }
            None => {
                eprintln!("error: {}", describe(&e));
                std::process::exit(1);
            }
        }
    }
}

/// The error and its causes on one line. Library errors often quote their cause in their own
/// message already, so a cause whose text is already there is not repeated.
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(cli.config.as_deref()).context("loading the configuration")?;
    if let Some(url) = cli.store {
        config.store.url = url;
    }
    match cli.command {
        Command::Demo(args) => commands::demo::run(&args, cli.json),
        Command::Ingest(args) => commands::ingest::run(&config, &args, cli.json),
        Command::Datasets(cmd) => commands::datasets::run(&config, &cmd, cli.json),
        Command::Stats(args) => commands::stats::run(&config, &args, cli.json),
        Command::Simulate(args) => commands::simulate::run(&args, cli.json),
        Command::Ope(args) => commands::ope::run(&config, &args, cli.json),
        Command::Report(args) => commands::report::run(&args, cli.json),
        Command::Experiment(args) => commands::experiment::run(&args, cli.json),
        Command::Bench(cmd) => commands::bench::run(&config, &cmd, cli.json),
        Command::Bandit(cmd) => commands::bandit::run(&cmd, cli.json),
        Command::Train(cmd) => commands::train::run(&config, &cmd, cli.json),
        Command::Models(cmd) => commands::models::run(&config, &cmd, cli.json),
        Command::Retrain(args) => commands::retrain::run(&config, &args, cli.json),
        Command::Profile(args) => commands::profile::run(&config, &args, cli.json),
        Command::Recommend(args) => commands::recommend::run(&config, &args, cli.json),
        Command::SimulateRecommendations(args) => commands::recommend::simulate(&args, cli.json),
        Command::Fraud(cmd) => commands::fraud::run(&config, &cmd, cli.json),
        Command::Serve(args) => commands::serve::run(&config, &args, cli.json),
        Command::Keys(cmd) => commands::keys::run(&config, &cmd, cli.json),
        Command::Customers(cmd) => commands::customers::run(&config, &cmd, cli.json),
        Command::Privacy(cmd) => commands::privacy::run(&config, &cmd, cli.json),
        Command::Export(cmd) => commands::export::run(&config, &cmd, cli.json),
        Command::Monitor(args) => commands::monitor::run(&config, &args, cli.json),
        Command::Audit(cmd) => commands::audit::run(&config, &cmd, cli.json),
        Command::Decide(args) => commands::decide::run(&config, &args, cli.json),
        Command::Plan(args) => commands::plan::run(&args, cli.json),
        Command::Price(cmd) => commands::price::run(&config, &cmd, cli.json),
        Command::EvaluatePolicy(args) => commands::evaluate_policy::run(&args, cli.json),
    }
}
