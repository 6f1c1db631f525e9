//! Ingestion: readers for JSONL and CSV files and adapters for public data sets, all producing
//! [`source::Row`]s that the [`pipeline`] validates, de-duplicates and writes to a store in
//! batched transactions, with rejected rows sent to a [`quarantine`] file.
//!
//! ```no_run
//! use discount_ingest::{open_file, pipeline, quarantine::Quarantine, Format};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut store = discount_store::open("sqlite://discount.sqlite")?;
//! let path = std::path::Path::new("events.jsonl");
//! let mut source = open_file(path, Format::detect(path)?, 1 << 20)?;
//! let options = pipeline::IngestOptions {
//!     batch_size: 5000,
//!     unknown_items: discount_core::config::UnknownItems::Register,
//!     strict: false,
//!     customer_ids: discount_core::CustomerIds::raw(),
//!     defer_indexes: pipeline::DeferIndexes::Auto,
//! };
//! let mut quarantine = Quarantine::for_input("quarantine".as_ref(), "events.jsonl");
//! let report = pipeline::ingest("events.jsonl", source.as_mut(), store.as_mut(), &options, &mut quarantine, &mut |_| {})?;
//! assert!(report.counts.balances());
//! # Ok(()) }
//! ```

pub mod csv_source;
pub mod datasets;
pub mod jsonl;
mod line_reader;
pub mod pipeline;
pub mod quarantine;
pub mod source;

use std::path::Path;

use thiserror::Error;

pub use pipeline::{Counts, IngestOptions, InputReport};
pub use source::{Location, RecordSource, Row, RowError};

#[derive(Debug, Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Format(String),
    #[error("storing records from {input} failed ({} rows already committed): {source}", committed.stored + committed.duplicates)]
    Store {
        input: String,
        committed: Box<Counts>,
        source: discount_store::StoreError,
    },
    #[error(transparent)]
    Dataset(#[from] datasets::DatasetError),
}

impl IngestError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        IngestError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// The file formats `discount ingest` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
}

impl Format {
    /// From the extension: `.jsonl`, `.ndjson`, `.json` are JSON Lines; `.csv` is CSV.
    pub fn detect(path: &Path) -> Result<Self, IngestError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("jsonl" | "ndjson" | "json") => Ok(Format::Jsonl),
            Some("csv") => Ok(Format::Csv),
            _ => Err(IngestError::Format(format!(
                "{}: cannot tell the format from the extension; use .jsonl or .csv, or pass --format",
                path.display()
            ))),
        }
    }
}

/// Opens a file as a record source.
pub fn open_file(
    path: &Path,
    format: Format,
    max_line_bytes: usize,
) -> Result<Box<dyn RecordSource>, IngestError> {
    Ok(match format {
        Format::Jsonl => Box::new(jsonl::JsonlSource::open(path, max_line_bytes)?),
        Format::Csv => Box::new(csv_source::CsvSource::open(path, max_line_bytes)?),
    })
}
