//! `discount export decisions`: the joined decision log as a file, for off-policy evaluation here
//! (`discount ope --decisions FILE`) or anywhere else.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use discount_core::{Config, Timestamp};
use discount_store::decision_log::{open_decision_log, DecisionRow, OutcomeRow};
use serde::{Deserialize, Serialize};

use super::ingest::redact;
use crate::output::print_json;

/// Export the decision log, each decision joined to its outcome.
///
/// One row per decision: when and for whom it was made, the policy, the rung served (`action`),
/// the probability the policy gave it (`propensity`), whether it explored, the budget it held,
/// the outcome when it is known (`joined`, `converted`, `revenue`, `discount`, `profit`) and the
/// feature vector the policy decided on. JSON Lines keep `features` as an array; CSV spreads it
/// over `feature_0`, `feature_1`, ... Customer ids are as stored (pseudonyms when a key is set).
///
/// Examples:
///   discount export decisions --out decisions.jsonl
///   discount export decisions --format csv --since 2026-11-01 --out november.csv
///   discount ope --decisions decisions.jsonl --policy uniform
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum ExportCommand {
    /// The joined decision log.
    Decisions(DecisionsArgs),
}

#[derive(clap::Args, Debug)]
pub struct DecisionsArgs {
    /// Where to write (standard output when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `jsonl` or `csv` (default: from --out's extension, else jsonl).
    #[arg(long, value_parser = ["jsonl", "csv"])]
    pub format: Option<String>,
    /// Decisions at or after this time (RFC 3339 or a date).
    #[arg(long)]
    pub since: Option<String>,
    /// Decisions before this time.
    #[arg(long)]
    pub until: Option<String>,
}

/// One decision of the joined log, as exported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedDecision {
    pub decision_id: String,
    pub at: String,
    pub customer_id: String,
    pub policy: String,
    /// The rung served.
    pub action: String,
    pub propensity: f64,
    pub explored: bool,
    /// Budget held by the decision, minor units.
    pub reserved: i64,
    /// Whether the outcome is known.
    pub joined: bool,
    pub converted: Option<bool>,
    pub revenue: Option<i64>,
    pub discount: Option<i64>,
    pub profit: Option<i64>,
    pub features: Vec<f64>,
}

impl LoggedDecision {
    fn of(d: &DecisionRow, o: Option<&OutcomeRow>) -> Self {
        #[derive(Deserialize, Default)]
        struct Logged {
            #[serde(default)]
            policy: String,
            #[serde(default)]
            offer_id: String,
            #[serde(default)]
            features: Vec<f64>,
        }
        let logged: Logged = serde_json::from_str(&d.request).unwrap_or_default();
        Self {
            decision_id: d.id.clone(),
            at: Timestamp(d.at).to_rfc3339(),
            customer_id: d.customer_id.clone(),
            policy: if logged.policy.is_empty() {
                d.policy_version.clone()
            } else {
                logged.policy
            },
            action: logged.offer_id,
            propensity: d.propensity,
            explored: d.explored,
            reserved: d.reserved,
            joined: o.is_some(),
            converted: o.map(|o| o.converted),
            revenue: o.map(|o| o.revenue),
            discount: o.map(|o| o.discount),
            profit: o.map(|o| o.profit),
            features: logged.features,
        }
    }
}

const CSV_FIXED: [&str; 13] = [
    "decision_id",
    "at",
    "customer_id",
    "policy",
    "action",
    "propensity",
    "explored",
    "reserved",
    "joined",
    "converted",
    "revenue",
    "discount",
    "profit",
];

fn time_arg(name: &str, text: &Option<String>, default: i64) -> anyhow::Result<i64> {
    Ok(match text {
        Some(t) => Timestamp::parse(name, t)?.0,
        None => default,
    })
}

/// The store's joined decision log with `from <= at < to`, as exported.
pub fn store_decisions(url: &str, from: i64, to: i64) -> anyhow::Result<Vec<LoggedDecision>> {
    let mut log =
        open_decision_log(url).with_context(|| format!("opening the store {}", redact(url)))?;
    Ok(log
        .joined_decisions(from, to)?
        .iter()
        .map(|(d, o)| LoggedDecision::of(d, o.as_ref()))
        .collect())
}

pub fn run(config: &Config, cmd: &ExportCommand, json: bool) -> anyhow::Result<()> {
    let ExportCommand::Decisions(args) = cmd;
    let from = time_arg("--since", &args.since, i64::MIN)?;
    let to = time_arg("--until", &args.until, i64::MAX)?;
    let rows = store_decisions(&config.store.url, from, to)?;
    let format = match (&args.format, &args.out) {
        (Some(f), _) => f.clone(),
        (None, Some(p)) if p.extension().is_some_and(|e| e == "csv") => "csv".into(),
        _ => "jsonl".into(),
    };
    let sink: Box<dyn Write> = match &args.out {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(sink);
    if format == "csv" {
        write_csv(&mut out, &rows)?;
    } else {
        for r in &rows {
            serde_json::to_writer(&mut out, r)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    let joined = rows.iter().filter(|r| r.joined).count();
    if let Some(p) = &args.out {
        if json {
            print_json(&serde_json::json!({
                "decisions": rows.len(), "joined": joined, "out": p.display().to_string(), "format": format,
            }))?;
        } else {
            println!(
                "wrote {} decisions ({joined} with outcomes) to {} ({format})",
                rows.len(),
                p.display()
            );
        }
    }
    Ok(())
}

fn write_csv(out: &mut impl Write, rows: &[LoggedDecision]) -> anyhow::Result<()> {
    let width = rows.iter().map(|r| r.features.len()).max().unwrap_or(0);
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = CSV_FIXED.iter().map(|s| s.to_string()).collect();
    header.extend((0..width).map(|i| format!("feature_{i}")));
    w.write_record(&header)?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for r in rows {
        let mut rec = vec![
            r.decision_id.clone(),
            r.at.clone(),
            r.customer_id.clone(),
            r.policy.clone(),
            r.action.clone(),
            r.propensity.to_string(),
            r.explored.to_string(),
            r.reserved.to_string(),
            r.joined.to_string(),
            opt(r.converted.map(|v| v.to_string())),
            opt(r.revenue.map(|v| v.to_string())),
            opt(r.discount.map(|v| v.to_string())),
            opt(r.profit.map(|v| v.to_string())),
        ];
        rec.extend((0..width).map(|i| r.features.get(i).map_or(String::new(), f64::to_string)));
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// Reads an exported decision log (JSON Lines, or CSV by the `.csv` extension); every bad line is
/// an error naming the file and line.
pub fn read_decisions(path: &Path) -> anyhow::Result<Vec<LoggedDecision>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "csv") {
        return read_csv(path, file);
    }
    let mut rows = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}:{}", path.display(), i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let row: LoggedDecision = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not an exported decision", path.display(), i + 1))?;
        rows.push(row);
    }
    Ok(rows)
}

fn read_csv(path: &Path, file: std::fs::File) -> anyhow::Result<Vec<LoggedDecision>> {
    let mut r = csv::Reader::from_reader(file);
    let header = r.headers()?.clone();
    for (i, name) in CSV_FIXED.iter().enumerate() {
        if header.get(i) != Some(name) {
            bail!(
                "{}:1: column {} must be `{name}` (the layout `discount export decisions` writes)",
                path.display(),
                i + 1
            );
        }
    }
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("{}:{line}", path.display()))?;
        let field = |k: usize| rec.get(k).unwrap_or_default();
        let parse = |k: usize| -> anyhow::Result<Option<f64>> {
            let text = field(k);
            if text.is_empty() {
                return Ok(None);
            }
            text.parse::<f64>().map(Some).with_context(|| {
                format!(
                    "{}:{line}: column `{}` = {text:?} is not a number",
                    path.display(),
                    header.get(k).unwrap_or_default()
                )
            })
        };
        let int = |k: usize| -> anyhow::Result<Option<i64>> { Ok(parse(k)?.map(|v| v as i64)) };
        let flag = |k: usize| field(k) == "true";
        rows.push(LoggedDecision {
            decision_id: field(0).to_string(),
            at: field(1).to_string(),
            customer_id: field(2).to_string(),
            policy: field(3).to_string(),
            action: field(4).to_string(),
            propensity: parse(5)?
                .with_context(|| format!("{}:{line}: `propensity` is empty", path.display()))?,
            explored: flag(6),
            reserved: int(7)?.unwrap_or(0),
            joined: flag(8),
            converted: (!field(9).is_empty()).then(|| flag(9)),
            revenue: int(10)?,
            discount: int(11)?,
            profit: int(12)?,
            features: (CSV_FIXED.len()..rec.len())
                .map(|k| parse(k).map(|v| v.unwrap_or(0.0)))
                .collect::<anyhow::Result<_>>()?,
        });
    }
    Ok(rows)
}
