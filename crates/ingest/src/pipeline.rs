//! The ingestion loop: rows in, batched transactions out, every row accounted for.

use std::collections::BTreeMap;
use std::sync::mpsc;

use discount_core::config::UnknownItems;
use discount_core::{CustomerIds, Record};
use discount_store::{Outcome, Store};
use serde::Serialize;

use crate::quarantine::Quarantine;
use crate::source::{Location, RecordSource, Row, RowError};
use crate::IngestError;

/// How to ingest.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    pub batch_size: usize,
    pub unknown_items: UnknownItems,
    /// Stop at the first rejected row (after storing the valid rows read before it).
    pub strict: bool,
    /// How customer ids are stored (pseudonymised at the edge when a key is configured).
    pub customer_ids: CustomerIds,
    /// Whether a run drops the secondary indexes and builds them once at the end.
    pub defer_indexes: DeferIndexes,
}

/// When a run defers index maintenance ([`Store::begin_bulk_load`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeferIndexes {
    /// On a first load into a store with no events, where nothing reads by customer yet.
    #[default]
    Auto,
    /// Always: for large loads while no server reads the store.
    Always,
    /// Never: readers keep their indexes throughout.
    Never,
}

impl DeferIndexes {
    /// Starts the bulk load this setting asks for; returns whether indexes were dropped (then
    /// [`Store::end_bulk_load`] must follow, whatever happens to the load).
    pub fn begin(self, store: &mut dyn Store) -> Result<bool, discount_store::StoreError> {
        match self {
            DeferIndexes::Auto => store.begin_bulk_load(true),
            DeferIndexes::Always => store.begin_bulk_load(false),
            DeferIndexes::Never => Ok(false),
        }
    }
}

/// The balance of one input: `read = stored + duplicates + rejected`, always.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub read: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// Stored records by type (`user`, `item`, `order`, ...).
    pub stored_by_type: BTreeMap<String, u64>,
}

impl Counts {
    pub fn balances(&self) -> bool {
        self.read == self.stored + self.duplicates + self.rejected
    }

    pub fn add(&mut self, other: &Counts) {
        self.read += other.read;
        self.stored += other.stored;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
        for (k, v) in &other.stored_by_type {
            *self.stored_by_type.entry(k.clone()).or_default() += v;
        }
    }
}

/// What ingesting one input did.
#[derive(Clone, Debug, Serialize)]
pub struct InputReport {
    pub input: String,
    pub counts: Counts,
    /// Where rejected rows were written, if any were.
    pub quarantine: Option<String>,
    /// The first few rejections, for the terminal.
    pub first_rejections: Vec<String>,
    /// True when `strict` stopped the input at a rejection.
    pub stopped_early: bool,
    pub empty: bool,
}

const REJECTIONS_SHOWN: usize = 5;

/// Rows parsed ahead of the writer, in input order.
struct Chunk {
    rows: Vec<Row>,
    /// Bytes of input the source had consumed after the last of these rows.
    bytes_read: u64,
}

/// Chunks the parser may run ahead of the store: enough to keep both threads busy, few enough
/// that memory stays flat in the file size.
const CHUNKS_AHEAD: usize = 2;

/// Ingests every row of `source` into `store`. `progress` is called with bytes read after each
/// batch. Store errors abort the input; batches already committed stay committed and are counted
/// in the error's report.
///
/// Parsing (and pseudonymising) runs on its own thread, a couple of batches ahead of the thread
/// that writes to the store, so the two overlap; rows still reach the store and the report in
/// input order.
pub fn ingest(
    input: &str,
    source: &mut dyn RecordSource,
    store: &mut dyn Store,
    options: &IngestOptions,
    quarantine: &mut Quarantine,
    progress: &mut dyn FnMut(u64),
) -> Result<InputReport, IngestError> {
    let mut report = InputReport {
        input: input.to_string(),
        counts: Counts::default(),
        quarantine: None,
        first_rejections: Vec::new(),
        stopped_early: false,
        empty: false,
    };
    let batch_size = options.batch_size.max(1);
    let (chunks_out, chunks_in) = mpsc::sync_channel(CHUNKS_AHEAD);
    std::thread::scope(|scope| {
        let customer_ids = &options.customer_ids;
        scope.spawn(move || parse_ahead(source, customer_ids, batch_size, chunks_out));
        // The receiver is dropped when writing ends, early or not, which stops the parser.
        write_chunks(chunks_in, store, options, quarantine, progress, &mut report)
    })?;
    quarantine.flush()?;
    report.quarantine = quarantine.path().map(|p| p.display().to_string());
    report.empty = report.counts.read == 0;
    debug_assert!(report.counts.balances());
    Ok(report)
}

/// Reads and parses rows, sending them on in chunks of `batch_size`, until the input ends or the
/// writer stops listening.
fn parse_ahead(
    source: &mut dyn RecordSource,
    customer_ids: &CustomerIds,
    batch_size: usize,
    chunks: mpsc::SyncSender<Chunk>,
) {
    loop {
        let mut rows = Vec::with_capacity(batch_size);
        for mut row in (&mut *source).take(batch_size) {
            if let Ok((_, record)) = &mut row {
                customer_ids.map_record(record);
            }
            rows.push(row);
        }
        let last = rows.len() < batch_size;
        let chunk = Chunk {
            rows,
            bytes_read: source.bytes_read(),
        };
        if chunks.send(chunk).is_err() || last {
            return;
        }
    }
}

/// Accounts for every row in order and writes the records in batches.
fn write_chunks(
    chunks: mpsc::Receiver<Chunk>,
    store: &mut dyn Store,
    options: &IngestOptions,
    quarantine: &mut Quarantine,
    progress: &mut dyn FnMut(u64),
    report: &mut InputReport,
) -> Result<(), IngestError> {
    let batch_size = options.batch_size.max(1);
    let mut batch: Vec<Record> = Vec::with_capacity(batch_size);
    let mut locations: Vec<Location> = Vec::with_capacity(batch_size);
    let mut bytes_read = 0;
    'input: for chunk in chunks {
        bytes_read = chunk.bytes_read;
        for row in chunk.rows {
            report.counts.read += 1;
            match row {
                Ok((location, record)) => {
                    batch.push(record);
                    locations.push(location);
                    if batch.len() >= batch_size {
                        let rejected = flush(
                            store,
                            options,
                            &mut batch,
                            &mut locations,
                            report,
                            quarantine,
                        )?;
                        progress(bytes_read);
                        if rejected && options.strict {
                            report.stopped_early = true;
                            break 'input;
                        }
                    }
                }
                Err(e) => {
                    record_rejection(report, e, quarantine)?;
                    if options.strict {
                        report.stopped_early = true;
                        break 'input;
                    }
                }
            }
        }
    }
    if flush(
        store,
        options,
        &mut batch,
        &mut locations,
        report,
        quarantine,
    )? && options.strict
    {
        report.stopped_early = true;
    }
    progress(bytes_read);
    Ok(())
}

fn record_rejection(
    report: &mut InputReport,
    e: RowError,
    q: &mut Quarantine,
) -> Result<(), IngestError> {
    report.counts.rejected += 1;
    if report.first_rejections.len() < REJECTIONS_SHOWN {
        report.first_rejections.push(e.to_string());
    }
    q.write(&e)
}

/// Writes the batch in one transaction and accounts for each record. True if the store
/// rejected any.
fn flush(
    store: &mut dyn Store,
    options: &IngestOptions,
    batch: &mut Vec<Record>,
    locations: &mut Vec<Location>,
    report: &mut InputReport,
    q: &mut Quarantine,
) -> Result<bool, IngestError> {
    if batch.is_empty() {
        return Ok(false);
    }
    let outcomes = store
        .write_batch(batch, options.unknown_items)
        .map_err(|source| IngestError::Store {
            input: report.input.clone(),
            committed: Box::new(report.counts.clone()),
            source,
        })?;
    let mut rejected_any = false;
    for ((record, location), outcome) in batch.iter().zip(locations.iter()).zip(outcomes) {
        match outcome {
            Outcome::Stored => {
                report.counts.stored += 1;
                *report
                    .counts
                    .stored_by_type
                    .entry(record.type_name().to_string())
                    .or_default() += 1;
            }
            Outcome::Duplicate => report.counts.duplicates += 1,
            Outcome::Rejected { field, reason } => {
                rejected_any = true;
                let raw = record.to_json();
                record_rejection(
                    report,
                    RowError::new(location.clone(), Some(field), reason, &raw),
                    q,
                )?;
            }
        }
    }
    batch.clear();
    locations.clear();
    Ok(rejected_any)
}
