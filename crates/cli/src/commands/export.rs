//! `discount export decisions` and `discount export events`: the joined decision log and the event
//! log as files, for off-policy evaluation here (`discount ope --decisions FILE`) or anywhere else.
//! Parquet files (feature `parquet`) are written while the store is read, in flat memory, for
//! Spark, DuckDB or DataFusion to take over (docs/export.md).

#[cfg(feature = "parquet")]
mod parquet_file;

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use discount_core::{Config, Event, Timestamp};
use discount_store::decision_log::{open_decision_log, DecisionRow, OutcomeRow};
use serde::{Deserialize, Serialize};

use super::ingest::redact;
use crate::output::print_json;

/// Export the decision log, each decision joined to its outcome, or the event log.
///
/// Decisions: one row per decision: when and for whom it was made, the policy, the rung served
/// (`action`), the probability the policy gave it (`propensity`), whether it explored, the budget
/// it held, the outcome when it is known (`joined`, `converted`, `revenue`, `discount`, `profit`)
/// and the feature vector the policy decided on. JSON Lines keep `features` as an array; CSV
/// spreads it over `feature_0`, `feature_1`, ...; Parquet keeps it as a list and adds the offer,
/// currency, budget, attribution deadline and the outcome's time, source and charge.
///
/// Events: one row per event, grouped by user, each user's oldest first; in Parquet every field
/// of every kind of event is a typed column and an order's lines are a list of structs.
///
/// Customer ids are as stored (pseudonyms when a key is set). Parquet: times are
/// TIMESTAMP(MICROS, UTC), money INT64 minor units, text UTF8, zstd-compressed row groups of at
/// most --row-group-rows rows; the schemas are in docs/export.md.
///
/// Examples:
///   discount export decisions --out decisions.jsonl
///   discount export decisions --format csv --since 2026-11-01 --out november.csv
///   discount export decisions --out decisions.parquet
///   discount export events --out events.parquet
///   discount ope --decisions decisions.jsonl --policy uniform
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum ExportCommand {
    /// The joined decision log.
    Decisions(DecisionsArgs),
    /// The event log.
    Events(EventsArgs),
}

#[derive(clap::Args, Debug)]
pub struct DecisionsArgs {
    /// Where to write (standard output when absent; Parquet needs a file).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `jsonl`, `csv` or `parquet` (default: from --out's extension, else jsonl).
    #[arg(long, value_parser = ["jsonl", "csv", "parquet"])]
    pub format: Option<String>,
    /// Decisions at or after this time (RFC 3339 or a date).
    #[arg(long)]
    pub since: Option<String>,
    /// Decisions before this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Parquet: rows per row group at most (a row group also ends at 64 MiB of buffered values).
    #[arg(long, default_value_t = 131_072, value_parser = clap::value_parser!(u32).range(1..))]
    pub row_group_rows: u32,
}

#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    /// Where to write (standard output when absent; Parquet needs a file).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `jsonl` or `parquet` (default: from --out's extension, else jsonl).
    #[arg(long, value_parser = ["jsonl", "parquet"])]
    pub format: Option<String>,
    /// Events at or after this time (RFC 3339 or a date).
    #[arg(long)]
    pub since: Option<String>,
    /// Events before this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Parquet: rows per row group at most (a row group also ends at 64 MiB of buffered values).
    #[arg(long, default_value_t = 131_072, value_parser = clap::value_parser!(u32).range(1..))]
    pub row_group_rows: u32,
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

/// The format asked for, else the one `--out`'s extension names among `known`, else JSON Lines.
fn format_of(format: &Option<String>, out: &Option<PathBuf>, known: &[&str]) -> String {
    match (format, out) {
        (Some(f), _) => f.clone(),
        (None, Some(p)) => p
            .extension()
            .and_then(|e| e.to_str())
            .filter(|e| known.contains(e))
            .unwrap_or("jsonl")
            .to_string(),
        (None, None) => "jsonl".into(),
    }
}

pub fn run(config: &Config, cmd: &ExportCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        ExportCommand::Decisions(args) => run_decisions(config, args, json),
        ExportCommand::Events(args) => run_events(config, args, json),
    }
}

/// Where a Parquet file goes: the `--out` that it needs (a binary file is not for a terminal).
fn parquet_out(out: &Option<PathBuf>) -> anyhow::Result<&Path> {
    out.as_deref()
        .context("Parquet is written to a file: give --out FILE.parquet")
}

/// What an export wrote, as the command reports it.
struct Report<'a> {
    what: &'a str,
    rows: u64,
    joined: Option<u64>,
    row_groups: Option<usize>,
    out: &'a Path,
    format: &'a str,
    seconds: f64,
}

impl Report<'_> {
    fn print(&self, json: bool) -> anyhow::Result<()> {
        let per_second = self.rows as f64 / self.seconds.max(1e-9);
        if json {
            let mut v = serde_json::json!({
                self.what: self.rows, "out": self.out.display().to_string(), "format": self.format,
                "seconds": self.seconds, "rows_per_second": per_second,
            });
            if let Some(joined) = self.joined {
                v["joined"] = joined.into();
            }
            if let Some(groups) = self.row_groups {
                v["row_groups"] = groups.into();
            }
            return print_json(&v);
        }
        let joined = self
            .joined
            .map_or(String::new(), |j| format!(" ({j} with outcomes)"));
        let groups = self
            .row_groups
            .map_or(String::new(), |g| format!(", {g} row groups"));
        println!(
            "wrote {} {}{joined} to {} ({}{groups}) in {:.2} s, {:.0} rows/s",
            self.rows,
            self.what,
            self.out.display(),
            self.format,
            self.seconds,
            per_second
        );
        Ok(())
    }
}

fn run_decisions(config: &Config, args: &DecisionsArgs, json: bool) -> anyhow::Result<()> {
    let from = time_arg("--since", &args.since, i64::MIN)?;
    let to = time_arg("--until", &args.until, i64::MAX)?;
    let format = format_of(&args.format, &args.out, &["csv", "parquet"]);
    if format == "parquet" {
        let out = parquet_out(&args.out)?;
        let started = Instant::now();
        let (written, joined) =
            decisions_parquet(&config.store.url, from, to, out, args.row_group_rows)?;
        return Report {
            what: "decisions",
            rows: written.rows,
            joined: Some(joined),
            row_groups: Some(written.row_groups),
            out,
            format: &format,
            seconds: started.elapsed().as_secs_f64(),
        }
        .print(json);
    }
    let started = Instant::now();
    let rows = store_decisions(&config.store.url, from, to)?;
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
        Report {
            what: "decisions",
            rows: rows.len() as u64,
            joined: Some(joined as u64),
            row_groups: None,
            out: p,
            format: &format,
            seconds: started.elapsed().as_secs_f64(),
        }
        .print(json)?;
    }
    Ok(())
}

fn run_events(config: &Config, args: &EventsArgs, json: bool) -> anyhow::Result<()> {
    let from = time_arg("--since", &args.since, i64::MIN)?;
    let to = time_arg("--until", &args.until, i64::MAX)?;
    let format = format_of(&args.format, &args.out, &["parquet"]);
    let started = Instant::now();
    let (rows, row_groups) = if format == "parquet" {
        let out = parquet_out(&args.out)?;
        let written = events_parquet(&config.store.url, from, to, out, args.row_group_rows)?;
        (written.rows, Some(written.row_groups))
    } else {
        let sink: Box<dyn Write> = match &args.out {
            Some(p) => Box::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            ),
            None => Box::new(std::io::stdout().lock()),
        };
        let mut out = BufWriter::new(sink);
        let rows = scan_store_events(&config.store.url, from, to, |e| {
            serde_json::to_writer(&mut out, e)?;
            out.write_all(b"\n")?;
            Ok(())
        })?;
        out.flush()?;
        (rows, None)
    };
    if let Some(p) = &args.out {
        Report {
            what: "events",
            rows,
            joined: None,
            row_groups,
            out: p,
            format: &format,
            seconds: started.elapsed().as_secs_f64(),
        }
        .print(json)?;
    }
    Ok(())
}

/// Streams the store's events with `from <= time < to` (grouped by user, each user's oldest
/// first) through `write`, stopping at its first error; how many were written.
fn scan_store_events(
    url: &str,
    from: i64,
    to: i64,
    mut write: impl FnMut(&Event) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut store =
        discount_store::open(url).with_context(|| format!("opening the store {}", redact(url)))?;
    let mut written = 0u64;
    let mut failed = None;
    store.scan_events(&mut |event| {
        if event.time.0 < from || event.time.0 >= to {
            return std::ops::ControlFlow::Continue(());
        }
        match write(&event) {
            Ok(()) => {
                written += 1;
                std::ops::ControlFlow::Continue(())
            }
            Err(e) => {
                failed = Some(e.context(format!("writing event `{}`", event.id)));
                std::ops::ControlFlow::Break(())
            }
        }
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(written),
    }
}

/// Writes a file through `write` into `out.partial` and renames it to `out` only when complete,
/// so that a failed export never leaves a truncated file where a reader expects a whole one.
#[cfg(feature = "parquet")]
fn write_whole<T>(
    out: &Path,
    write: impl FnOnce(BufWriter<std::fs::File>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    match write(BufWriter::with_capacity(1 << 20, file)) {
        Ok(v) => {
            std::fs::rename(&partial, out)
                .with_context(|| format!("renaming {} to {}", partial.display(), out.display()))?;
            Ok(v)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

#[cfg(feature = "parquet")]
fn events_parquet(
    url: &str,
    from: i64,
    to: i64,
    out: &Path,
    row_group_rows: u32,
) -> anyhow::Result<parquet_file::Written> {
    let limits = parquet_file::RowGroupLimits {
        rows: row_group_rows as usize,
        ..Default::default()
    };
    write_whole(out, |sink| {
        let mut file = parquet_file::EventsParquet::new(sink, limits)?;
        scan_store_events(url, from, to, |e| Ok(file.push(e)?))?;
        Ok(file.finish()?)
    })
    .with_context(|| format!("writing {}", out.display()))
}

/// The joined decision log into a Parquet file, read from the store as it is written; what was
/// written and how many decisions had outcomes.
#[cfg(feature = "parquet")]
fn decisions_parquet(
    url: &str,
    from: i64,
    to: i64,
    out: &Path,
    row_group_rows: u32,
) -> anyhow::Result<(parquet_file::Written, u64)> {
    let limits = parquet_file::RowGroupLimits {
        rows: row_group_rows as usize,
        ..Default::default()
    };
    let mut log =
        open_decision_log(url).with_context(|| format!("opening the store {}", redact(url)))?;
    write_whole(out, |sink| {
        let mut file = parquet_file::DecisionsParquet::new(sink, limits)?;
        let mut joined = 0u64;
        let mut failed = None;
        log.scan_joined_decisions(from, to, &mut |d, o| {
            joined += u64::from(o.is_some());
            match file.push(&d, o.as_ref()) {
                Ok(()) => std::ops::ControlFlow::Continue(()),
                Err(e) => {
                    failed = Some(anyhow::Error::from(e).context(format!("decision `{}`", d.id)));
                    std::ops::ControlFlow::Break(())
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        Ok((file.finish()?, joined))
    })
    .with_context(|| format!("writing {}", out.display()))
}

/// What a Parquet export wrote.
#[cfg(not(feature = "parquet"))]
struct Written {
    rows: u64,
    row_groups: usize,
}

#[cfg(not(feature = "parquet"))]
const NO_PARQUET: &str =
    "this `discount` was built without Parquet: rebuild it with `cargo build -p discount-cli --features parquet`";

#[cfg(not(feature = "parquet"))]
fn events_parquet(_: &str, _: i64, _: i64, _: &Path, _: u32) -> anyhow::Result<Written> {
    bail!(NO_PARQUET)
}

#[cfg(not(feature = "parquet"))]
fn decisions_parquet(_: &str, _: i64, _: i64, _: &Path, _: u32) -> anyhow::Result<(Written, u64)> {
    bail!(NO_PARQUET)
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
