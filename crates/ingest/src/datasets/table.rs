//! Reading raw data-set tables: a CSV (or TSV) file read record by record, fields looked up by
//! header name, and typed field parsers whose errors name the file, line and column.

use std::collections::VecDeque;
use std::fmt::Display;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use discount_core::ids::validate_id;
use discount_core::money::{non_negative, parse_decimal};
use discount_core::{CoreError, Currency, Event, Item, Record, Timestamp, User};

use super::DatasetError;
use crate::source::{Location, Row, RowError};

/// The header of a table: where each named column is, and how to show a raw row again.
pub(crate) struct Columns {
    pub(crate) file: String,
    /// Column names in file order; a linear search of a dozen names beats hashing here.
    names: Vec<String>,
    delimiter: u8,
}

impl Columns {
    /// Builds the lookup and checks that every `required` column is present.
    pub(crate) fn new(
        path: &Path,
        names: impl IntoIterator<Item = String>,
        delimiter: u8,
        required: &[&str],
    ) -> Result<Self, DatasetError> {
        let names: Vec<String> = names.into_iter().collect();
        if let Some(column) = required.iter().find(|c| !names.iter().any(|n| n == *c)) {
            return Err(DatasetError::MissingColumn {
                path: path.to_path_buf(),
                column: column.to_string(),
            });
        }
        Ok(Self {
            file: path.display().to_string(),
            names,
            delimiter,
        })
    }
}

/// How a table's header names its columns.
#[derive(Clone, Copy)]
pub(crate) enum HeaderStyle {
    /// Plain names. An unnamed first column (a pandas index) is called `index`.
    Plain,
    /// RecBole atomic files: `name:type`; the type is dropped.
    Typed,
}

/// A delimited file read one record at a time.
pub(crate) struct Table {
    columns: Columns,
    reader: csv::Reader<BufReader<File>>,
    record: csv::ByteRecord,
    finished: bool,
    /// Added to the CSV reader's line numbers; see [`crate::csv_source::crlf_line_offset`].
    line_offset: u64,
}

/// Checks that a data-set file exists, so that the error names it clearly.
pub(crate) fn existing(dir: &Path, name: &str) -> Result<PathBuf, DatasetError> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(DatasetError::MissingFile { path })
    }
}

/// The size of a file, for progress reporting (0 when it cannot be read; opening it reports why).
pub(crate) fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

impl Table {
    pub(crate) fn open(
        path: &Path,
        delimiter: u8,
        style: HeaderStyle,
        required: &[&str],
    ) -> Result<Self, DatasetError> {
        if !path.is_file() {
            return Err(DatasetError::MissingFile {
                path: path.to_path_buf(),
            });
        }
        let file = File::open(path).map_err(|source| DatasetError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut builder = csv::ReaderBuilder::new();
        builder
            .delimiter(delimiter)
            .flexible(false)
            .has_headers(true);
        if matches!(style, HeaderStyle::Typed) {
            // RecBole files are plain TSV: a quote character is data, not quoting.
            builder.quoting(false);
        }
        let mut reader = builder.from_reader(BufReader::new(file));
        let header = reader
            .byte_headers()
            .map_err(|source| DatasetError::Header {
                path: path.to_path_buf(),
                source,
            })?
            .clone();
        let names = header.iter().enumerate().map(|(i, raw)| {
            let name = String::from_utf8_lossy(raw).trim().to_string();
            match style {
                HeaderStyle::Plain if i == 0 && name.is_empty() => "index".to_string(),
                HeaderStyle::Plain => name,
                HeaderStyle::Typed => name.split(':').next().unwrap_or_default().to_string(),
            }
        });
        let columns = Columns::new(path, names, delimiter, required)?;
        Ok(Self {
            columns,
            reader,
            record: csv::ByteRecord::new(),
            finished: false,
            line_offset: crate::csv_source::crlf_line_offset(path),
        })
    }

    /// Bytes parsed so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    /// The next record, or a row error for a record the CSV reader refused (wrong number of
    /// fields, I/O error); `None` at the end of the file.
    pub(crate) fn next_row(&mut self) -> Option<Result<RawRow<'_>, RowError>> {
        if self.finished {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => {
                self.finished = true;
                None
            }
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.line()) + self.line_offset;
                Some(Ok(RawRow {
                    columns: &self.columns,
                    record: &self.record,
                    location: Location {
                        file: self.columns.file.clone(),
                        line,
                    },
                }))
            }
            Err(error) => {
                let line = error
                    .position()
                    .map_or_else(|| self.reader.position().line(), |p| p.line())
                    + self.line_offset;
                let location = Location {
                    file: self.columns.file.clone(),
                    line,
                };
                let raw = match error.kind() {
                    // The reader has stored the record it refused; keep it for the quarantine.
                    csv::ErrorKind::UnequalLengths { .. } => {
                        render(&self.record, self.columns.delimiter)
                    }
                    _ => String::new(),
                };
                if !matches!(
                    error.kind(),
                    csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
                ) {
                    // An I/O error cannot be skipped over: the rest of the file is unreadable.
                    self.finished = true;
                }
                let reason = match error.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("expected {expected_len} fields like the header, found {len}")
                    }
                    _ => error.to_string(),
                };
                Some(Err(RowError::new(location, None, reason, &raw)))
            }
        }
    }
}

/// The record as a line of the file again: fields holding the delimiter or a quote are quoted.
fn render(record: &csv::ByteRecord, delimiter: u8) -> String {
    let parts: Vec<String> = record
        .iter()
        .map(|field| {
            let text = String::from_utf8_lossy(field);
            if field.iter().any(|b| *b == delimiter || *b == b'"') {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text.into_owned()
            }
        })
        .collect();
    parts.join(&char::from(delimiter).to_string())
}

/// One raw record with typed access to its fields by column name.
pub(crate) struct RawRow<'a> {
    pub(crate) columns: &'a Columns,
    pub(crate) record: &'a csv::ByteRecord,
    pub(crate) location: Location,
}

impl<'a> RawRow<'a> {
    /// The raw record as text, for error reports.
    pub(crate) fn raw(&self) -> String {
        render(self.record, self.columns.delimiter)
    }

    /// A row error about `field`.
    pub(crate) fn error(&self, field: &str, reason: impl Display) -> RowError {
        RowError::new(
            self.location.clone(),
            Some(field.to_string()),
            reason.to_string(),
            &self.raw(),
        )
    }

    /// A row error from a domain validation error (which names its field).
    pub(crate) fn core_error(&self, error: CoreError) -> RowError {
        RowError::from_core(self.location.clone(), error, &self.raw())
    }

    /// A row error about a field's value.
    fn invalid(&self, field: &str, value: &str, reason: &str) -> RowError {
        self.core_error(CoreError::invalid(field, value, reason))
    }

    /// The field's text, trimmed of surrounding ASCII white space.
    pub(crate) fn text(&self, field: &str) -> Result<&'a str, RowError> {
        let index = self
            .columns
            .names
            .iter()
            .position(|n| n == field)
            .ok_or_else(|| self.error(field, "no such column in this file"))?;
        let bytes = self
            .record
            .get(index)
            .ok_or_else(|| self.error(field, "missing field"))?;
        std::str::from_utf8(bytes.trim_ascii()).map_err(|_| self.error(field, "not valid UTF-8"))
    }

    /// The field's text, which must not be empty.
    pub(crate) fn non_empty(&self, field: &str) -> Result<&'a str, RowError> {
        let text = self.text(field)?;
        if text.is_empty() {
            return Err(self.error(field, "missing value (empty)"));
        }
        Ok(text)
    }

    /// A field that becomes part of an identifier: non-empty, short, no control characters.
    pub(crate) fn id_part(&self, field: &str) -> Result<&'a str, RowError> {
        let text = self.non_empty(field)?;
        validate_id(field, text).map_err(|e| self.core_error(e))?;
        Ok(text)
    }

    /// A non-negative whole number; `3.0` is accepted because several sources store counts as
    /// floating-point numbers, but `3.5` is not.
    pub(crate) fn whole(&self, field: &str) -> Result<u64, RowError> {
        let text = self.non_empty(field)?;
        let digits = match text.split_once('.') {
            Some((whole, frac)) if frac.bytes().all(|b| b == b'0') => whole,
            Some(_) => return Err(self.invalid(field, text, "must be a whole number")),
            None => text,
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.invalid(field, text, "must be a whole number >= 0"));
        }
        digits
            .parse()
            .map_err(|_| self.invalid(field, text, "number too large"))
    }

    /// A whole number that fits a `u32` (quantities, positions, page counts).
    pub(crate) fn count(&self, field: &str) -> Result<u32, RowError> {
        let value = self.whole(field)?;
        u32::try_from(value)
            .map_err(|_| self.invalid(field, &value.to_string(), "number too large"))
    }

    /// A whole number in `range`.
    pub(crate) fn whole_in(
        &self,
        field: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, RowError> {
        let value = self.whole(field)?;
        if !range.contains(&value) {
            let reason = format!("must be {} to {}", range.start(), range.end());
            return Err(self.invalid(field, &value.to_string(), &reason));
        }
        Ok(value)
    }

    /// A 0/1 flag.
    pub(crate) fn flag(&self, field: &str) -> Result<bool, RowError> {
        match self.non_empty(field)? {
            "0" => Ok(false),
            "1" => Ok(true),
            other => Err(self.invalid(field, other, "must be 0 or 1")),
        }
    }

    /// A TRUE/FALSE flag (case-insensitive).
    pub(crate) fn boolean(&self, field: &str) -> Result<bool, RowError> {
        let text = self.non_empty(field)?;
        if text.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if text.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(self.invalid(field, text, "must be TRUE or FALSE"))
        }
    }

    /// A finite floating-point number.
    pub(crate) fn number(&self, field: &str) -> Result<f64, RowError> {
        let text = self.non_empty(field)?;
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(self.invalid(field, text, "not a number")),
        }
    }

    /// A non-negative decimal amount of US dollars, in cents, parsed exactly.
    pub(crate) fn dollars(&self, field: &str) -> Result<i64, RowError> {
        let text = self.non_empty(field)?;
        parse_decimal(field, text, Currency::USD)
            .and_then(|cents| non_negative(field, cents))
            .map_err(|e| self.core_error(e))
    }

    /// Like [`RawRow::dollars`], but a value written in scientific notation whose magnitude is
    /// below 0.001 (floating-point residue such as `4.440892e-16`, left by arithmetic in the
    /// tool that exported the file) is taken as zero. Any other scientific notation is refused.
    pub(crate) fn dollars_or_residue(&self, field: &str) -> Result<i64, RowError> {
        let text = self.non_empty(field)?;
        match text.split_once(['e', 'E']) {
            Some((mantissa, exponent)) => {
                let exponent: i32 = exponent
                    .parse()
                    .map_err(|_| self.invalid(field, text, "not a decimal number"))?;
                // Normalised scientific notation: one digit before the point.
                let (whole, frac) = mantissa
                    .trim_start_matches('-')
                    .split_once('.')
                    .unwrap_or((mantissa.trim_start_matches('-'), ""));
                let normalised = whole.len() == 1
                    && whole.bytes().all(|b| b.is_ascii_digit())
                    && frac.bytes().all(|b| b.is_ascii_digit());
                if normalised && exponent <= -4 {
                    Ok(0)
                } else {
                    Err(self.invalid(
                        field,
                        text,
                        "scientific notation is only accepted for residues below 0.001",
                    ))
                }
            }
            None => self.dollars(field),
        }
    }

    /// A timestamp in any format [`Timestamp::parse`] accepts.
    pub(crate) fn timestamp(&self, field: &str) -> Result<Timestamp, RowError> {
        let text = self.non_empty(field)?;
        Timestamp::parse(field, text).map_err(|e| self.core_error(e))
    }

    /// A plain date `YYYY-MM-DD` or `YYYYMMDD`, as midnight UTC.
    pub(crate) fn date(&self, field: &str) -> Result<Timestamp, RowError> {
        let text = self.non_empty(field)?;
        let digits: String = text.chars().filter(|c| *c != '-').collect();
        let parsed = (digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| {
                let year = digits.get(0..4)?.parse().ok()?;
                let month = digits.get(4..6)?.parse().ok()?;
                let day = digits.get(6..8)?.parse().ok()?;
                Timestamp::from_date(year, month, day)
            })
            .flatten();
        parsed.ok_or_else(|| self.invalid(field, text, "not a date (YYYY-MM-DD or YYYYMMDD)"))
    }

    /// Appends an event after checking its domain rules; a violation becomes a row error.
    pub(crate) fn push_event(&self, out: &mut VecDeque<Row>, event: Event) {
        out.push_back(match event.validate() {
            Ok(()) => Ok((self.location.clone(), Record::Event(event))),
            Err(e) => Err(self.core_error(e)),
        });
    }

    /// Appends a user after checking its id.
    pub(crate) fn push_user(&self, out: &mut VecDeque<Row>, user: User) {
        out.push_back(match validate_id("id", &user.id) {
            Ok(()) => Ok((self.location.clone(), Record::User(user))),
            Err(e) => Err(self.core_error(e)),
        });
    }

    /// Appends an item after checking its id and price.
    pub(crate) fn push_item(&self, out: &mut VecDeque<Row>, item: Item) {
        let checked = validate_id("id", &item.id)
            .and_then(|_| non_negative("list_price", item.list_price).map(|_| ()));
        out.push_back(match checked {
            Ok(()) => Ok((self.location.clone(), Record::Item(item))),
            Err(e) => Err(self.core_error(e)),
        });
    }
}

/// Rounds `numerator / denominator` half up, for non-negative amounts (average unit prices).
pub(crate) fn divide_rounded(numerator: i64, denominator: u32) -> i64 {
    if denominator == 0 {
        return numerator;
    }
    let d = i64::from(denominator);
    (numerator + d / 2) / d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_row<T>(header: &[&str], values: &[&str], f: impl FnOnce(&RawRow<'_>) -> T) -> T {
        let columns = Columns::new(
            Path::new("t.csv"),
            header.iter().map(|s| s.to_string()),
            b',',
            &[],
        )
        .unwrap();
        let record = csv::ByteRecord::from(values.to_vec());
        let row = RawRow {
            columns: &columns,
            record: &record,
            location: Location {
                file: "t.csv".into(),
                line: 7,
            },
        };
        f(&row)
    }

    #[test]
    fn typed_fields_parse_and_errors_name_the_field() {
        with_row(
            &["q", "p", "f", "d", "s"],
            &["3.0", "12.30", "1", "2017-03-01", "4.440892e-16"],
            |row| {
                assert_eq!(row.count("q").unwrap(), 3);
                assert_eq!(row.dollars("p").unwrap(), 1230);
                assert!(row.flag("f").unwrap());
                assert_eq!(
                    row.date("d").unwrap(),
                    Timestamp::from_date(2017, 3, 1).unwrap()
                );
                assert_eq!(row.dollars_or_residue("s").unwrap(), 0);
                assert_eq!(row.dollars_or_residue("p").unwrap(), 1230);
            },
        );
        with_row(&["q", "p", "s"], &["3.5", "-1", "5e3"], |row| {
            let e = row.count("q").unwrap_err();
            assert_eq!(e.field.as_deref(), Some("q"));
            assert_eq!(e.location.to_string(), "t.csv:7");
            assert_eq!(e.raw, "3.5,-1,5e3");
            assert!(row.dollars("p").is_err());
            assert!(row.dollars_or_residue("s").is_err());
            assert!(row.text("nope").is_err());
        });
    }

    #[test]
    fn unit_prices_round_half_up() {
        assert_eq!(divide_rounded(1000, 3), 333);
        assert_eq!(divide_rounded(1001, 2), 501);
        assert_eq!(divide_rounded(450, 0), 450);
    }
}
