//! `discount ingest`: files in, every row accounted for.

use std::path::{Path, PathBuf};

use anyhow::Context;
use discount_core::config::UnknownItems;
use discount_core::{Config, CustomerIds};
use discount_ingest::pipeline::DeferIndexes;
use discount_ingest::quarantine::Quarantine;
use discount_ingest::{
    open_file, pipeline, Counts, Format, IngestOptions, InputReport, RecordSource,
};
use discount_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::ExitCode;
use crate::output::{count, print_json, Table};

/// Load users, items and events from JSON Lines or CSV files into the store.
///
/// Each line of a .jsonl file is one record with a "type": user, item, view, click,
/// add_to_cart, order, refund, review, offer_shown, coupon_issued, coupon_redeemed or
/// session. CSV files use the same field names as columns (one order line per row;
/// consecutive rows with the same order id form one order). Money is integer minor
/// units (cents); times are RFC 3339, 'YYYY-MM-DD HH:MM:SS' (UTC) or Unix seconds.
/// See docs/ingest.md for every field.
///
/// Re-ingesting a file stores nothing twice (records are keyed by id). Bad rows are
/// rejected with file:line, field and reason, written to a quarantine file, and the
/// run goes on; the exit code is then 2. The summary always balances:
/// read = stored + duplicates + rejected.
///
/// Examples:
///   discount ingest events.jsonl
///   discount ingest --strict --unknown-items reject items.csv orders.csv
///   discount --store postgres://postgres@127.0.0.1/test --json ingest big.jsonl
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct IngestArgs {
    /// Files to read (.jsonl/.ndjson/.json or .csv).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Force the format instead of guessing it from the extension.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Stop at the first rejected row (the valid rows before it are kept).
    #[arg(long)]
    pub strict: bool,
    /// Records per transaction (default: ingest.batch_size).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Events naming an item the store does not know: register a placeholder, or reject.
    #[arg(long, value_enum)]
    pub unknown_items: Option<UnknownItemsArg>,
    /// Where rejected rows go (default: ingest.quarantine_dir).
    #[arg(long)]
    pub quarantine_dir: Option<PathBuf>,
    /// Drop the secondary indexes during the load and build them once at the end: `auto` on a
    /// first load into a store without events, `always` for a large load while no server reads
    /// the store, `never` to keep them.
    #[arg(long, value_enum, default_value = "auto")]
    pub defer_indexes: DeferIndexesArg,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum DeferIndexesArg {
    Auto,
    Always,
    Never,
}

impl From<DeferIndexesArg> for DeferIndexes {
    fn from(arg: DeferIndexesArg) -> Self {
        match arg {
            DeferIndexesArg::Auto => DeferIndexes::Auto,
            DeferIndexesArg::Always => DeferIndexes::Always,
            DeferIndexesArg::Never => DeferIndexes::Never,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    Jsonl,
    Csv,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum UnknownItemsArg {
    Register,
    Reject,
}

/// What a whole ingestion run did, for the table and for `--json`.
#[derive(Serialize)]
pub struct RunReport {
    pub store: String,
    pub inputs: Vec<InputReport>,
    pub total: Counts,
    pub seconds: f64,
    pub records_per_second: f64,
    /// Whether the secondary indexes were dropped for the load and built once at the end.
    pub deferred_indexes: bool,
    /// Peak resident memory of this process (Linux), MiB.
    pub peak_rss_mib: Option<f64>,
}

/// The process's peak resident set size from `/proc/self/status` (`VmHWM`), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn options(
    config: &Config,
    args_batch: Option<usize>,
    unknown: Option<UnknownItemsArg>,
    strict: bool,
) -> anyhow::Result<IngestOptions> {
    let customer_ids = CustomerIds::from_key(config.privacy.pseudonymise_key.as_deref())?;
    Ok(IngestOptions {
        batch_size: args_batch.unwrap_or(config.ingest.batch_size),
        unknown_items: match unknown {
            Some(UnknownItemsArg::Register) => UnknownItems::Register,
            Some(UnknownItemsArg::Reject) => UnknownItems::Reject,
            None => config.ingest.unknown_items,
        },
        strict,
        customer_ids,
        defer_indexes: DeferIndexes::Auto,
    })
}

fn progress_bar(total: Option<u64>, name: &str) -> ProgressBar {
    let bar = match total {
        Some(t) => ProgressBar::new(t),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(name.to_string());
    bar
}

/// Runs the pipeline over named sources into one store and reports; shared by `ingest` and
/// `datasets import`.
pub fn ingest_sources(
    store: &mut dyn Store,
    store_url: &str,
    sources: Vec<(String, Box<dyn RecordSource>)>,
    options: &IngestOptions,
    quarantine_dir: &Path,
    json: bool,
) -> anyhow::Result<RunReport> {
    let started = std::time::Instant::now();
    let deferred = options
        .defer_indexes
        .begin(store)
        .context("dropping the indexes for a bulk load")?;
    let loaded = load_sources(store, sources, options, quarantine_dir);
    // The indexes come back whatever happened to the load.
    let rebuilt = if deferred {
        store
            .end_bulk_load()
            .context("building the indexes after the bulk load")
    } else {
        Ok(())
    };
    let (inputs, total) = loaded?;
    rebuilt?;
    let seconds = started.elapsed().as_secs_f64();
    let report = RunReport {
        store: redact(store_url),
        records_per_second: total.read as f64 / seconds.max(1e-9),
        inputs,
        total,
        seconds,
        deferred_indexes: deferred,
        peak_rss_mib: peak_rss_mib(),
    };
    if json {
        print_json(&report)?;
    } else {
        print_report(&report);
    }
    Ok(report)
}

/// Ingests each source in turn, stopping after one that stopped early (`--strict`).
fn load_sources(
    store: &mut dyn Store,
    sources: Vec<(String, Box<dyn RecordSource>)>,
    options: &IngestOptions,
    quarantine_dir: &Path,
) -> anyhow::Result<(Vec<InputReport>, Counts)> {
    let mut inputs = Vec::new();
    let mut total = Counts::default();
    for (name, mut source) in sources {
        let bar = progress_bar(source.total_bytes(), &name);
        let mut quarantine = Quarantine::for_input(quarantine_dir, &name);
        let report = pipeline::ingest(
            &name,
            source.as_mut(),
            store,
            options,
            &mut quarantine,
            &mut |b| bar.set_position(b),
        )
        .with_context(|| format!("ingesting {name}"))?;
        bar.finish_and_clear();
        total.add(&report.counts);
        let stop = report.stopped_early;
        inputs.push(report);
        if stop {
            break;
        }
    }
    Ok((inputs, total))
}

/// Hides a password in a store URL before it is printed.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if url[s + 3..at].contains(':') => {
            let user_end = url[s + 3..at].find(':').map_or(at, |c| s + 3 + c);
            format!("{}:***{}", &url[..user_end], &url[at..])
        }
        _ => url.to_string(),
    }
}

fn print_report(r: &RunReport) {
    let mut t = Table::new(&["input", "read", "stored", "duplicates", "rejected"]);
    for i in &r.inputs {
        let c = &i.counts;
        t.row(vec![
            i.input.clone(),
            count(c.read),
            count(c.stored),
            count(c.duplicates),
            count(c.rejected),
        ]);
    }
    let c = &r.total;
    t.row(vec![
        "total".into(),
        count(c.read),
        count(c.stored),
        count(c.duplicates),
        count(c.rejected),
    ]);
    print!("{}", t.render());
    println!(
        "{} records in {:.2} s ({} records/s) into {}",
        count(c.read),
        r.seconds,
        count(r.records_per_second as i64),
        r.store
    );
    if !c.stored_by_type.is_empty() {
        let parts: Vec<String> = c
            .stored_by_type
            .iter()
            .map(|(k, v)| format!("{k} {}", count(*v)))
            .collect();
        println!("stored: {}", parts.join(", "));
    }
    for i in &r.inputs {
        if i.empty {
            println!("warning: {} holds no records (empty file?)", i.input);
        }
        for reason in &i.first_rejections {
            println!("rejected: {reason}");
        }
        if i.counts.rejected > i.first_rejections.len() as u64 {
            println!(
                "... and {} more",
                i.counts.rejected - i.first_rejections.len() as u64
            );
        }
        if let Some(q) = &i.quarantine {
            println!(
                "rejected rows of {} written with their reasons to {q}",
                i.input
            );
        }
        if i.stopped_early {
            println!("stopped at the first rejection (--strict)");
        }
    }
}

/// Exit code 2 when anything was rejected, so scripts notice.
pub fn exit_status(report: &RunReport) -> anyhow::Result<()> {
    if report.total.rejected > 0 {
        return Err(anyhow::Error::new(ExitCode(2)).context(format!(
            "{} row(s) rejected; see the quarantine file(s) above",
            report.total.rejected
        )));
    }
    Ok(())
}

pub fn run(config: &Config, args: &IngestArgs, json: bool) -> anyhow::Result<()> {
    let mut options = options(config, args.batch_size, args.unknown_items, args.strict)?;
    options.defer_indexes = args.defer_indexes.into();
    let mut sources: Vec<(String, Box<dyn RecordSource>)> = Vec::new();
    for path in &args.files {
        let format = match args.format {
            Some(FormatArg::Jsonl) => Format::Jsonl,
            Some(FormatArg::Csv) => Format::Csv,
            None => Format::detect(path)?,
        };
        sources.push((
            path.display().to_string(),
            open_file(path, format, config.ingest.max_line_bytes)?,
        ));
    }
    let mut store = discount_store::open(&config.store.url)
        .with_context(|| format!("opening the store {}", redact(&config.store.url)))?;
    let quarantine_dir = args
        .quarantine_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&config.ingest.quarantine_dir));
    let report = ingest_sources(
        store.as_mut(),
        &config.store.url,
        sources,
        &options,
        &quarantine_dir,
        json,
    )?;
    exit_status(&report)
}
