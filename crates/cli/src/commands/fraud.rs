//! `discount fraud`: coupon abuse and fraud scans.

use std::path::PathBuf;

use anyhow::{bail, Context};
use discount_core::money::format_minor;
use discount_core::{Config, Currency, Pseudonymiser};
use discount_fraud::scan::{CalibrationMethod, ScanReport};
use discount_fraud::source::{self, ReadSummary};
use discount_fraud::{Labels, ScanConfig};
use discount_ingest::datasets::Dataset;
use indicatif::{ProgressBar, ProgressStyle};
use rand::RngCore;
use serde::Serialize;

use crate::output::{count, print_json, Table};

/// Find coupon farming, order brushing, bulk reselling and refund abuse.
///
/// Accounts that share a device, IP, shipping address, payment fingerprint or phone (read from
/// the user records' attributes, normalised and pseudonymised with a keyed hash) form rings.
/// Named rules flag what they see and say why; an isolation forest and, when labels are given,
/// a logistic model over account and ring features score every account, calibrated to a
/// probability. The threshold affects at most --budget of the good customers (with labels) or
/// of all customers (without). docs/fraud.md explains every rule, score and figure.
///
/// Examples:
///   discount simulate --users 100000 --policy random --out sim/
///   discount fraud scan --events sim/ --labels sim/ground_truth.json
///   discount fraud scan --events sim/events.jsonl --rules fraud.toml --json
///   discount fraud scan --dataset complete-journey
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum FraudCommand {
    Scan(ScanArgs),
}

/// Scan an event history for coupon abuse and fraud.
///
/// Prints the rules that fired (with counts), the riskiest accounts with the rules and features
/// that flagged them, the rings, and with --labels precision and recall per fraud type at the
/// threshold that affects at most --budget of the good customers.
///
/// Examples:
///   discount fraud scan --events sim/ --labels sim/ground_truth.json
///   discount fraud scan --events sim/events.jsonl --budget 0.001 --calibration isotonic
///   discount fraud scan --events orders.csv --rules fraud.toml --scores-out scores.jsonl
///   discount fraud scan --dataset complete-journey --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ScanArgs {
    /// Event file (.jsonl or .csv) or folder (its events.jsonl, else all .jsonl/.csv files).
    #[arg(
        long,
        value_name = "DIR_OR_FILE",
        conflicts_with = "dataset",
        required_unless_present = "dataset"
    )]
    pub events: Option<PathBuf>,
    /// A public data set instead of files, e.g. `complete-journey`.
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<String>,
    /// Folder holding the data sets (default: $DISCOUNT_DATA_DIR, else ../shared/data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Fraud labels (a simulator's ground_truth.json): trains the supervised score and prints
    /// precision and recall per fraud type.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Scan settings (TOML): [rules.*], link_attributes, false_positive_budget, calibration,
    /// [isolation_forest], [logistic]; name only what you change.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Largest share of good customers the gate may affect (0.005 = 0.5%).
    #[arg(long, value_name = "SHARE")]
    pub budget: Option<f64>,
    /// Calibration of the supervised score.
    #[arg(long, value_enum)]
    pub calibration: Option<CalibrationArg>,
    /// Count unreadable rows instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Accounts listed, riskiest first.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Write every account's risk and reasons as JSON Lines (the score table for the gate).
    #[arg(long, value_name = "FILE")]
    pub scores_out: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum CalibrationArg {
    Platt,
    Isotonic,
}

#[derive(Serialize)]
struct Output<'a> {
    input: String,
    read: &'a ReadSummary,
    #[serde(flatten)]
    report: &'a ScanReport,
}

pub fn run(config: &Config, command: &FraudCommand, json: bool) -> anyhow::Result<()> {
    match command {
        FraudCommand::Scan(args) => scan(config, args, json),
    }
}

fn progress_bar(json: bool) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "reading [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

fn scan(config: &Config, args: &ScanArgs, json: bool) -> anyhow::Result<()> {
    let mut scan_config = match &args.rules {
        Some(path) => ScanConfig::load(path)?,
        None => ScanConfig::default(),
    };
    if let Some(b) = args.budget {
        scan_config.false_positive_budget = b;
    }
    if let Some(c) = args.calibration {
        scan_config.calibration = match c {
            CalibrationArg::Platt => CalibrationMethod::Platt,
            CalibrationArg::Isotonic => CalibrationMethod::Isotonic,
        };
    }
    if let Some(top) = args.top {
        scan_config.report_accounts = top;
    }
    scan_config.validate()?;
    // Identifiers are hashed with the configured key; without one, with a key that lives only
    // for this scan (links are still found, nothing can be recomputed afterwards).
    let pseudonymiser = match config.privacy.pseudonymise_key.as_deref() {
        Some(key) => Pseudonymiser::new(key.as_bytes())?,
        None => {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            Pseudonymiser::new(&key)?
        }
    };
    let mut activity = source::new_activity(&scan_config.link_attributes, pseudonymiser);
    let bar = progress_bar(json);
    let mut progress = |done: u64, total: Option<u64>| {
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(done);
    };
    let (input, read) = match (&args.events, &args.dataset) {
        (Some(path), _) => (
            path.display().to_string(),
            source::read_events(path, &mut activity, args.skip_bad_rows, &mut progress)?,
        ),
        (None, Some(name)) => {
            let dataset: Dataset = name.parse()?;
            let dir = args
                .data_dir
                .clone()
                .unwrap_or_else(super::datasets::data_dir);
            (
                dataset.name().to_string(),
                source::read_dataset(dataset, &dir, &mut activity, &mut progress)?,
            )
        }
        (None, None) => bail!("give --events DIR_OR_FILE or --dataset NAME"),
    };
    bar.finish_and_clear();
    let labels = args
        .labels
        .as_deref()
        .map(Labels::load)
        .transpose()
        .context("reading the labels")?;
    let result = discount_fraud::scan(activity, labels.as_ref(), &scan_config)?;
    if let Some(path) = &args.scores_out {
        write_scores(path, &result)?;
    }
    let report = &result.report;
    if json {
        return print_json(&Output {
            input,
            read: &read,
            report,
        });
    }
    print_text(&input, &read, report);
    Ok(())
}

fn write_scores(path: &std::path::Path, result: &discount_fraud::Scan) -> anyhow::Result<()> {
    let rows = result
        .account_ids
        .iter()
        .zip(&result.risk)
        .zip(&result.reasons)
        .map(|((id, risk), reasons)| (id.as_str(), *risk, reasons.as_slice()));
    Ok(discount_fraud::scores::write_jsonl(path, rows)?)
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn print_text(input: &str, read: &ReadSummary, r: &ScanReport) {
    println!(
        "fraud scan of {input}: {} records",
        count(read.records as i64)
    );
    if read.skipped > 0 {
        println!(
            "  {} unreadable rows skipped; first: {}",
            count(read.skipped as i64),
            read.first_error.as_deref().unwrap_or("")
        );
    }
    println!(
        "  {} accounts, {} order lines, {} rings holding {} accounts",
        count(r.accounts as i64),
        count(r.order_lines as i64),
        count(r.rings as i64),
        count(r.accounts_in_rings as i64)
    );
    println!(
        "  score: {}; threshold {:.4} (budget {} of {} customers); {} accounts at or above it; {} flagged by rules ({})",
        r.score,
        r.threshold,
        pct(r.false_positive_budget),
        if r.score == "calibrated" { "good" } else { "all" },
        count(r.above_threshold as i64),
        count(r.flagged_by_rules as i64),
        pct(r.flagged_by_rules as f64 / r.accounts.max(1) as f64),
    );
    println!();
    let mut rules = Table::new(&["rule", "accounts"]);
    for (name, n) in &r.rule_counts {
        rules.row(vec![name.clone(), count(*n as i64)]);
    }
    print!("{}", rules.render());
    println!();
    let with_labels = r.top_accounts.iter().any(|a| a.label.is_some());
    let mut header = vec!["account", "risk", "gate", "ring", "rules", "features"];
    if with_labels {
        header.push("label");
    }
    let mut accounts = Table::new(&header);
    for a in &r.top_accounts {
        let mut row = vec![
            a.account.clone(),
            format!("{:.3}", a.risk),
            if a.above_threshold {
                "withhold".into()
            } else {
                "-".into()
            },
            format!("{} ({})", a.ring_size, a.shared_identifiers.join("+")),
            a.rules
                .iter()
                .map(|h| h.rule.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            a.features.join(", "),
        ];
        if let Some(l) = &a.label {
            row.push(l.clone());
        }
        accounts.row(row);
    }
    print!("{}", accounts.render());
    if let Some(first) = r.top_accounts.iter().find(|a| !a.rules.is_empty()) {
        println!("  why {}:", first.account);
        for h in &first.rules {
            println!("    {}: {}", h.rule, h.detail);
        }
    }
    println!();
    let mut rings = Table::new(&[
        "ring",
        "size",
        "new",
        "signup spread (d)",
        "shared",
        "flagged",
        "rules",
    ]);
    for g in &r.top_rings {
        rings.row(vec![
            g.ring.clone(),
            count(g.size as i64),
            pct(g.new_account_share),
            format!("{:.1}", g.signup_spread_days),
            g.shared_identifiers.join("+"),
            count(g.flagged_accounts as i64),
            g.rules
                .iter()
                .map(|(k, v)| format!("{k} x{v}"))
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    print!("{}", rings.render());
    if let Some(e) = &r.evaluation {
        println!();
        println!(
            "against labels: {} fraud and {} good accounts; {} good affected ({}); precision {}, recall {}; Brier {:.4}, calibration error {:.4}",
            count(e.fraud_accounts as i64),
            count(e.good_accounts as i64),
            count(e.good_affected as i64),
            pct(e.good_affected_share),
            pct(e.precision),
            pct(e.recall),
            e.brier,
            e.calibration_error
        );
        let mut kinds = Table::new(&[
            "fraud type",
            "accounts",
            "caught",
            "precision",
            "recall",
            "rules precision",
            "rules recall",
        ]);
        for k in &e.by_kind {
            kinds.row(vec![
                k.kind.clone(),
                count(k.accounts as i64),
                count(k.caught as i64),
                pct(k.precision),
                pct(k.recall),
                pct(k.rules_precision),
                pct(k.rules_recall),
            ]);
        }
        print!("{}", kinds.render());
        let mut rules = Table::new(&["rule", "fired", "on good", "precision", "by type"]);
        for m in &e.rules {
            rules.row(vec![
                m.rule.clone(),
                count(m.fired as i64),
                count(m.fired_on_good as i64),
                pct(m.precision),
                m.by_kind
                    .iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]);
        }
        print!("{}", rules.render());
        let usd = Currency::parse("currency", "USD").ok();
        let money = |m: i64| usd.map_or(m.to_string(), |c| format_minor(m, c));
        println!(
            "discount spend: fraud accounts received {}, of which {} by accounts at or above the threshold (withheld when scores are fresh); good customers affected had received {}",
            money(e.fraud_discount_spend),
            money(e.fraud_discount_spend_flagged),
            money(e.good_discount_spend_affected)
        );
    }
}
