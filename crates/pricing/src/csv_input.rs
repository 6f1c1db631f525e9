//! One place that opens CSV inputs, finds their columns and records rejected rows.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{PricingError, Result};

/// A row that was left out, with the line (1 = header), the field and value at fault, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    pub line: u64,
    pub field: String,
    pub value: String,
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, field `{}`: {} (value: {:?})",
            self.line, self.field, self.reason, self.value
        )
    }
}

/// Opens a CSV file with a header row.
pub(crate) fn open(path: &Path) -> Result<csv::Reader<Box<dyn Read>>> {
    let file = std::fs::File::open(path).map_err(|source| PricingError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(reader(Box::new(std::io::BufReader::new(file))))
}

/// A CSV reader over any byte source (tests read from memory).
pub(crate) fn reader(source: Box<dyn Read>) -> csv::Reader<Box<dyn Read>> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(source)
}

/// A CSV reader over text held in memory.
pub(crate) fn from_text(text: &str) -> csv::Reader<Box<dyn Read>> {
    reader(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())))
}

/// The header of a CSV file, with lookups by name.
pub(crate) struct Header {
    pub path: PathBuf,
    pub names: Vec<String>,
}

impl Header {
    pub fn read(path: &Path, reader: &mut csv::Reader<Box<dyn Read>>) -> Result<Self> {
        let names = reader
            .headers()
            .map_err(|source| PricingError::Csv {
                path: path.to_path_buf(),
                source,
            })?
            .iter()
            .map(str::to_string)
            .collect();
        Ok(Header {
            path: path.to_path_buf(),
            names,
        })
    }

    pub fn optional(&self, column: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(column))
    }

    pub fn required(&self, column: &str) -> Result<usize> {
        self.optional(column)
            .ok_or_else(|| PricingError::MissingColumn {
                path: self.path.clone(),
                column: column.to_string(),
            })
    }
}

/// Reads the next record; `None` at the end. The line is the record's line in the file.
pub(crate) fn next_record(
    path: &Path,
    reader: &mut csv::Reader<Box<dyn Read>>,
    record: &mut csv::StringRecord,
) -> Result<Option<u64>> {
    match reader.read_record(record) {
        Ok(true) => Ok(Some(record.position().map_or(0, |p| p.line()))),
        Ok(false) => Ok(None),
        Err(source) => Err(PricingError::Csv {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A finite number, or a rejection naming the field.
pub(crate) fn number(
    record: &csv::StringRecord,
    line: u64,
    index: usize,
    field: &str,
) -> std::result::Result<f64, Rejection> {
    let text = record.get(index).unwrap_or("");
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Rejection {
            line,
            field: field.to_string(),
            value: text.to_string(),
            reason: "not a finite number".into(),
        }),
    }
}

/// A non-empty text field, or a rejection.
pub(crate) fn text(
    record: &csv::StringRecord,
    line: u64,
    index: usize,
    field: &str,
) -> std::result::Result<String, Rejection> {
    let text = record.get(index).unwrap_or("");
    if text.is_empty() {
        Err(Rejection {
            line,
            field: field.to_string(),
            value: String::new(),
            reason: "empty".into(),
        })
    } else {
        Ok(text.to_string())
    }
}
