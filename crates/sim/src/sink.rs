//! Where simulated records go: any `FnMut(Record)`, a JSONL writer, a counter, or nowhere.

use std::io::Write;

use discount_core::Record;

use crate::SimError;

/// Receives the simulated records in time order.
pub trait Sink {
    fn record(&mut self, record: Record) -> Result<(), SimError>;

    /// `false` lets the simulator skip building records (for counterfactual runs).
    fn wants_records(&self) -> bool {
        true
    }
}

impl<F: FnMut(Record)> Sink for F {
    fn record(&mut self, record: Record) -> Result<(), SimError> {
        self(record);
        Ok(())
    }
}

/// Discards everything; the simulator then does not even build records.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullSink;

impl Sink for NullSink {
    fn record(&mut self, _record: Record) -> Result<(), SimError> {
        Ok(())
    }

    fn wants_records(&self) -> bool {
        false
    }
}

/// Writes one JSON object per line ([`Record::to_json`]), the ingest format.
#[derive(Debug)]
pub struct JsonlSink<W: Write> {
    writer: W,
    /// Records written so far.
    pub written: u64,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(writer: W) -> Self {
        Self { writer, written: 0 }
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> Result<W, SimError> {
        self.writer
            .flush()
            .map_err(|e| SimError::Sink(e.to_string()))?;
        Ok(self.writer)
    }
}

impl<W: Write> Sink for JsonlSink<W> {
    fn record(&mut self, record: Record) -> Result<(), SimError> {
        let line = record.to_json();
        self.writer
            .write_all(line.as_bytes())
            .and_then(|_| self.writer.write_all(b"\n"))
            .map_err(|e| SimError::Sink(e.to_string()))?;
        self.written += 1;
        Ok(())
    }
}
