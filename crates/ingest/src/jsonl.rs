//! JSON Lines: one record object per line (see `docs/ingest.md` for the fields).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use discount_core::event::WireRecord;

use crate::line_reader::{read_bounded_line, LineRead};
use crate::source::{Location, RecordSource, Row, RowError};
use crate::IngestError;

pub struct JsonlSource {
    file: String,
    reader: BufReader<File>,
    buf: Vec<u8>,
    line: u64,
    bytes: u64,
    total: Option<u64>,
    max_line_bytes: usize,
    /// Set after a read error: the rest of the file cannot be trusted.
    failed: bool,
}

impl JsonlSource {
    pub fn open(path: &Path, max_line_bytes: usize) -> Result<Self, IngestError> {
        let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
        let total = file.metadata().ok().map(|m| m.len());
        Ok(Self {
            file: path.display().to_string(),
            reader: BufReader::with_capacity(1 << 16, file),
            buf: Vec::new(),
            line: 0,
            bytes: 0,
            total,
            max_line_bytes,
            failed: false,
        })
    }

    fn location(&self) -> Location {
        Location {
            file: self.file.clone(),
            line: self.line,
        }
    }
}

/// Parses one JSON line into a record, naming the field at fault.
pub fn parse_line(text: &str, location: Location) -> Row {
    let mut de = serde_json::Deserializer::from_str(text);
    let wire: WireRecord = match serde_path_to_error::deserialize(&mut de) {
        Ok(w) => w,
        Err(e) => {
            let path = e.path().to_string();
            let field = (path != "." && path != "?").then_some(path);
            let inner = e.into_inner();
            let reason = if inner.is_syntax() || inner.is_eof() {
                format!("malformed JSON: {inner}")
            } else {
                inner.to_string()
            };
            return Err(RowError::new(location, field, reason, text));
        }
    };
    if let Err(e) = de.end() {
        return Err(RowError::new(
            location,
            None,
            format!("malformed JSON: {e}"),
            text,
        ));
    }
    match wire.into_record() {
        Ok(r) => Ok((location, r)),
        Err(e) => Err(RowError::from_core(location, e, text)),
    }
}

impl Iterator for JsonlSource {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        if self.failed {
            return None;
        }
        loop {
            self.line += 1;
            let read = match read_bounded_line(&mut self.reader, &mut self.buf, self.max_line_bytes)
            {
                Ok(r) => r,
                Err(e) => {
                    let row = RowError::new(self.location(), None, format!("read error: {e}"), "");
                    self.failed = true;
                    return Some(Err(row));
                }
            };
            let (terminated, bytes) = match read {
                LineRead::Eof => return None,
                LineRead::TooLong { length, .. } => {
                    self.bytes += length;
                    return Some(Err(RowError::new(
                        self.location(),
                        None,
                        format!(
                            "line of {length} bytes exceeds ingest.max_line_bytes = {}",
                            self.max_line_bytes
                        ),
                        "",
                    )));
                }
                LineRead::Line { terminated, bytes } => (terminated, bytes),
            };
            self.bytes += bytes;
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) => t.trim_end_matches('\r'),
                Err(e) => {
                    let raw = String::from_utf8_lossy(&self.buf).into_owned();
                    return Some(Err(RowError::new(
                        self.location(),
                        None,
                        format!(
                            "not valid UTF-8 (invalid byte at offset {} of the line)",
                            e.valid_up_to()
                        ),
                        &raw,
                    )));
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            let mut row = parse_line(text, self.location());
            if let Err(e) = &mut row {
                if !terminated {
                    e.reason
                        .push_str(" (the file ends mid-line: the last record looks truncated)");
                }
            }
            return Some(row);
        }
    }
}

impl RecordSource for JsonlSource {
    fn bytes_read(&self) -> u64 {
        self.bytes
    }
    fn total_bytes(&self) -> Option<u64> {
        self.total
    }
}
