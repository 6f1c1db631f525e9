//! What every reader and data-set adapter produces: a stream of rows, each a valid record or an
//! error that says where and why.

use std::fmt;

use discount_core::{CoreError, Record};

/// Where a row came from: a file and a 1-based line (or CSV record) number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A row that could not become a record.
#[derive(Clone, Debug, PartialEq)]
pub struct RowError {
    pub location: Location,
    /// The offending field, when one can be named (`lines[0].paid`, `time`, ...).
    pub field: Option<String>,
    pub reason: String,
    /// The raw row, cut to a readable length, for the quarantine file.
    pub raw: String,
}

impl RowError {
    pub fn new(
        location: Location,
        field: Option<String>,
        reason: impl Into<String>,
        raw: &str,
    ) -> Self {
        const RAW_KEPT: usize = 4096;
        let mut raw = raw.to_string();
        if raw.len() > RAW_KEPT {
            let cut = (0..=RAW_KEPT)
                .rev()
                .find(|i| raw.is_char_boundary(*i))
                .unwrap_or(0);
            raw.truncate(cut);
            raw.push_str("…[truncated]");
        }
        Self {
            location,
            field,
            reason: reason.into(),
            raw,
        }
    }

    /// A row error from a domain validation error, naming its field.
    pub fn from_core(location: Location, error: CoreError, raw: &str) -> Self {
        let field = match &error {
            CoreError::InvalidField { field, .. } | CoreError::MissingField { field, .. } => {
                Some(field.clone())
            }
            _ => None,
        };
        Self::new(location, field, error.to_string(), raw)
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) if !self.reason.contains(&format!("`{field}`")) => {
                write!(f, "{}: field `{}`: {}", self.location, field, self.reason)
            }
            _ => write!(f, "{}: {}", self.location, self.reason),
        }
    }
}

/// One row of input: a record with its location, or why it was rejected.
pub type Row = Result<(Location, Record), RowError>;

/// A stream of rows with progress information. Sources are `Send` so that parsing can run on
/// its own thread while the store writes the previous batch.
pub trait RecordSource: Iterator<Item = Row> + Send {
    /// Bytes consumed so far, for progress bars.
    fn bytes_read(&self) -> u64;
    /// Total bytes expected, when known.
    fn total_bytes(&self) -> Option<u64>;
}
