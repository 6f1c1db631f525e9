//! Reading an event history into an [`Activity`]: JSONL/CSV files, a simulator output folder,
//! or a public data set through its ingest adapter.

use std::path::{Path, PathBuf};

use discount_core::Pseudonymiser;
use discount_ingest::datasets::{self, Dataset};
use discount_ingest::{open_file, Format, RecordSource};

use crate::activity::Activity;
use crate::identity::LinkGraph;
use crate::FraudError;

/// Longest input line accepted.
const MAX_LINE_BYTES: usize = 1 << 20;

/// How a read went.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReadSummary {
    pub records: u64,
    /// Rows that could not be read (only when skipping is allowed), and the first such error.
    pub skipped: u64,
    pub first_error: Option<String>,
}

/// The files to read: a file itself, or in a folder `events.jsonl` if present, else every
/// `.jsonl` and `.csv` file in name order.
pub fn event_files(path: &Path) -> Result<Vec<PathBuf>, FraudError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(FraudError::Input(format!(
            "{}: no such file or folder",
            path.display()
        )));
    }
    let events = path.join("events.jsonl");
    if events.is_file() {
        return Ok(vec![events]);
    }
    let entries = std::fs::read_dir(path).map_err(|source| FraudError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("jsonl" | "ndjson" | "csv")
            )
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(FraudError::Input(format!(
            "{}: no .jsonl or .csv files in the folder",
            path.display()
        )));
    }
    Ok(files)
}

/// A fresh activity whose link graph pseudonymises identifiers with `pseudonymiser`.
pub fn new_activity(link_attributes: &[String], pseudonymiser: Pseudonymiser) -> Activity {
    Activity::new(LinkGraph::new(link_attributes, pseudonymiser))
}

/// Feeds every row of `source` into `activity`. A bad row is an error naming file:line and
/// field, unless `skip_bad_rows`, when it is counted instead.
pub fn read_source(
    source: &mut dyn RecordSource,
    activity: &mut Activity,
    skip_bad_rows: bool,
    summary: &mut ReadSummary,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(), FraudError> {
    let mut n = 0u64;
    while let Some(row) = source.next() {
        n += 1;
        match row {
            Ok((_, record)) => {
                activity.add(&record);
                summary.records += 1;
            }
            Err(e) if skip_bad_rows => {
                summary.skipped += 1;
                summary.first_error.get_or_insert_with(|| e.to_string());
            }
            Err(e) => return Err(FraudError::Input(e.to_string())),
        }
        if n.is_multiple_of(65_536) {
            progress(source.bytes_read(), source.total_bytes());
        }
    }
    progress(source.bytes_read(), source.total_bytes());
    Ok(())
}

/// Reads event files (see [`event_files`]).
pub fn read_events(
    path: &Path,
    activity: &mut Activity,
    skip_bad_rows: bool,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<ReadSummary, FraudError> {
    let mut summary = ReadSummary::default();
    for file in event_files(path)? {
        let mut source = open_file(&file, Format::detect(&file)?, MAX_LINE_BYTES)?;
        read_source(
            source.as_mut(),
            activity,
            skip_bad_rows,
            &mut summary,
            progress,
        )?;
    }
    Ok(summary)
}

/// Reads a public data set from `data_dir` (its folder inside the data directory).
pub fn read_dataset(
    dataset: Dataset,
    data_dir: &Path,
    activity: &mut Activity,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<ReadSummary, FraudError> {
    let mut source = datasets::open(dataset, &data_dir.join(dataset.folder()))?;
    let mut summary = ReadSummary::default();
    // A public data set's odd rows are counted, as ingestion quarantines them.
    read_source(source.as_mut(), activity, true, &mut summary, progress)?;
    Ok(summary)
}
