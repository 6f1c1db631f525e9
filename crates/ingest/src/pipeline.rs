//! The ingestion loop: rows in, batched transactions out, every row accounted for.

use std::collections::BTreeMap;

use discount_core::config::UnknownItems;
use discount_core::{CustomerIds, Record};
use discount_store::{Outcome, Store};
use serde::Serialize;

use crate::quarantine::Quarantine;
use crate::source::{Location, RecordSource, RowError};
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

/// Ingests every row of `source` into `store`. `progress` is called with bytes read after each
/// batch. Store errors abort the input; batches already committed stay committed and are counted
/// in the error's report.
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
    let mut batch: Vec<Record> = Vec::with_capacity(batch_size);
    let mut locations: Vec<Location> = Vec::with_capacity(batch_size);

    while let Some(row) = source.next() {
        report.counts.read += 1;
        match row {
            Ok((location, mut record)) => {
                options.customer_ids.map_record(&mut record);
                batch.push(record);
                locations.push(location);
                if batch.len() >= batch_size {
                    let rejected = flush(
                        store,
                        options,
                        &mut batch,
                        &mut locations,
                        &mut report,
                        quarantine,
                    )?;
                    progress(source.bytes_read());
                    if rejected && options.strict {
                        report.stopped_early = true;
                        break;
                    }
                }
            }
            Err(e) => {
                record_rejection(&mut report, e, quarantine)?;
                if options.strict {
                    report.stopped_early = true;
                    break;
                }
            }
        }
    }
    if flush(
        store,
        options,
        &mut batch,
        &mut locations,
        &mut report,
        quarantine,
    )? && options.strict
    {
        report.stopped_early = true;
    }
    progress(source.bytes_read());
    quarantine.flush()?;
    report.quarantine = quarantine.path().map(|p| p.display().to_string());
    report.empty = report.counts.read == 0;
    debug_assert!(report.counts.balances());
    Ok(report)
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
