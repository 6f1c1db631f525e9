//! Opening the CSV inputs of the evaluators, with errors that name the file and the column.

use std::fs::File;
use std::path::Path;

use crate::error::{EvalError, Result};

/// Opens `path` as a CSV file with a header row (fields trimmed) and returns the reader with the
/// header.
pub(crate) fn open_with_headers(path: &Path) -> Result<(csv::Reader<File>, csv::StringRecord)> {
    let file = File::open(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let headers = reader
        .headers()
        .map_err(|source| EvalError::Csv {
            path: path.to_path_buf(),
            source,
        })?
        .clone();
    Ok((reader, headers))
}

/// The index of the column named exactly `name`.
pub(crate) fn column(headers: &csv::StringRecord, path: &Path, name: &str) -> Result<usize> {
    headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| EvalError::MissingColumn {
            path: path.to_path_buf(),
            column: name.to_string(),
        })
}

/// The data rows of `reader`; a malformed row's error names `path`.
pub(crate) fn records<'r>(
    reader: &'r mut csv::Reader<File>,
    path: &'r Path,
) -> impl Iterator<Item = Result<csv::StringRecord>> + 'r {
    reader.records().map(move |r| {
        r.map_err(|source| EvalError::Csv {
            path: path.to_path_buf(),
            source,
        })
    })
}
