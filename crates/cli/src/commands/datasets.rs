//! `discount datasets`: the public data sets the engine is tested on, fetched from their origins
//! and imported in one command each.

mod fetch;
mod rdata;
pub mod registry;

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use discount_core::Config;
use discount_ingest::datasets::{self, Dataset};

use super::ingest::{exit_status, ingest_sources, options, redact, UnknownItemsArg};
use crate::output::{print_json, Table};

/// Import the public data sets (Hillstrom, Complete Journey, CDNOW, Open Bandit,
/// MovieLens 100K, UCI online shoppers) into the store, mapped onto the event model
/// as docs/datasets.md describes.
///
/// Examples:
///   discount datasets list
///   discount datasets fetch all
///   discount datasets fetch hillstrom --into /data/discount
///   discount datasets import hillstrom
///   discount datasets import complete-journey --from /data/dunnhumby-completejourney
///   discount datasets import orange-juice --out oj.csv   (scanner panels: pricing CSVs, not the store)
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum DatasetsCommand {
    /// List the data sets this program can import.
    List,
    /// Download data sets from their origins (docs/datasets.md), check every file's SHA-256 and
    /// unpack them where the tests and `import` look. Files already there and verified are kept.
    Fetch {
        /// A data set's name or folder (see `discount datasets list`), or `all`.
        name: String,
        /// The data directory to fill. Default: $DISCOUNT_DATA_DIR, else ../shared/data.
        #[arg(long)]
        into: Option<PathBuf>,
        /// Fetch `https://HOST/PATH` from `URL/HOST/PATH` instead: a mirror, or a local folder laid
        /// out like the origins and served over HTTP.
        #[arg(long, value_name = "URL", env = "DISCOUNT_DATASETS_SOURCE_BASE")]
        source_base: Option<String>,
    },
    /// Import one data set into the store (idempotent: importing twice stores nothing new).
    Import {
        /// complete-journey, cdnow, hillstrom, open-bandit, movielens-100k or online-shoppers; or a
        /// scanner panel with --out: orange-juice, tuna or margarine.
        name: String,
        /// The data set's folder. Default: $DISCOUNT_DATA_DIR/<folder>, else ../shared/data/<folder>.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Records per transaction (default: ingest.batch_size).
        #[arg(long)]
        batch_size: Option<usize>,
        /// For the scanner panels (orange-juice, tuna, margarine): the CSV to write them to, as
        /// weekly sales or choice occasions (docs/pricing.md), instead of importing into the store.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The folder holding all data sets: `DISCOUNT_DATA_DIR`, else `../shared/data`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("DISCOUNT_DATA_DIR")
        .map_or_else(|| PathBuf::from("../shared/data"), PathBuf::from)
}

pub fn run(config: &Config, cmd: &DatasetsCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        DatasetsCommand::List => {
            if json {
                let mut list: Vec<_> = Dataset::all()
                    .iter()
                    .map(|d| serde_json::json!({"name": d.name(), "folder": d.folder(), "description": d.describe()}))
                    .collect();
                list.extend(super::price::PANELS.iter().map(|(name, what)| {
                    serde_json::json!({"name": name, "folder": "bayesm-scanner-panels", "description": what})
                }));
                return print_json(&list);
            }
            let mut t = Table::new(&["name", "folder", "what it is"]);
            for d in Dataset::all() {
                t.row(vec![
                    d.name().into(),
                    d.folder().into(),
                    d.describe().into(),
                ]);
            }
            for (name, what) in super::price::PANELS {
                t.row(vec![
                    name.into(),
                    "bayesm-scanner-panels".into(),
                    format!("{what} (--out FILE)"),
                ]);
            }
            print!("{}", t.render());
            Ok(())
        }
        DatasetsCommand::Fetch {
            name,
            into,
            source_base,
        } => fetch_command(name, into.clone(), source_base.clone(), json),
        DatasetsCommand::Import {
            name,
            from,
            batch_size,
            out,
        } => {
            if super::price::PANELS.iter().any(|(panel, _)| panel == name) {
                let Some(out) = out else {
                    anyhow::bail!("{name} converts into a pricing CSV: give --out FILE");
                };
                return super::price::import_panel(name, from.as_deref(), out, json);
            }
            if out.is_some() {
                anyhow::bail!(
                    "--out is for the scanner panels (orange-juice, tuna, margarine); {name} is imported into the store"
                );
            }
            let dataset: Dataset = name.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let dir = from
                .clone()
                .unwrap_or_else(|| data_dir().join(dataset.folder()));
            let source = datasets::open(dataset, &dir)
                .with_context(|| format!("opening {} at {}", dataset.name(), dir.display()))?;
            let opts = options(config, *batch_size, Some(UnknownItemsArg::Register), false)?;
            let mut store = discount_store::open(&config.store.url)
                .with_context(|| format!("opening the store {}", redact(&config.store.url)))?;
            let report = ingest_sources(
                store.as_mut(),
                &config.store.url,
                vec![(dataset.name().to_string(), source)],
                &opts,
                config.ingest.quarantine_dir.as_ref(),
                json,
            )?;
            exit_status(&report)
        }
    }
}

fn fetch_command(
    name: &str,
    into: Option<PathBuf>,
    source_base: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let sources = fetch::select(name)?;
    let options = fetch::FetchOptions {
        into: into.unwrap_or_else(data_dir),
        source_base,
        progress: !json && std::io::stderr().is_terminal(),
    };
    let mut reports = Vec::new();
    for source in &sources {
        let report = fetch::fetch(source, &options)
            .with_context(|| format!("fetching the data set {}", source.name))?;
        reports.push(report);
    }
    if json {
        print_json(&reports)?;
    } else {
        let mut t = Table::new(&["data set", "status", "files", "bytes", "folder"]);
        for r in &reports {
            t.row(vec![
                r.name.into(),
                r.status.into(),
                r.files.to_string(),
                r.bytes.to_string(),
                r.folder.display().to_string(),
            ]);
        }
        print!("{}", t.render());
        // Using a data set means honouring its terms: say them with every fetch.
        for r in &reports {
            println!(
                "\n{}: {}\n  licence: {}\n  cite: {}",
                r.name, r.title, r.licence, r.citation
            );
        }
    }
    Ok(())
}
