//! CSV with a header row naming the fields of the JSONL format (flat: one order line per row;
//! consecutive rows with the same order `id` form one order).

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use discount_core::event::{WireLine, WireRecord};

use crate::source::{Location, RecordSource, Row, RowError};
use crate::IngestError;

pub struct CsvSource {
    file: String,
    reader: csv::Reader<BufReader<File>>,
    headers: Option<csv::ByteRecord>,
    record: csv::ByteRecord,
    total: Option<u64>,
    max_line_bytes: usize,
    /// An order being assembled from consecutive rows: its first row's location, raw text and wire.
    pending: Option<(Location, String, WireRecord)>,
    /// Added to the reader's line numbers; see [`crlf_line_offset`].
    line_offset: u64,
    /// Rows finished and waiting to be returned, in file order.
    ready: VecDeque<Row>,
    finished: bool,
}

impl CsvSource {
    pub fn open(path: &Path, max_line_bytes: usize) -> Result<Self, IngestError> {
        let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
        let total = file.metadata().ok().map(|m| m.len());
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(BufReader::with_capacity(1 << 16, file));
        Ok(Self {
            file: path.display().to_string(),
            reader,
            headers: None,
            record: csv::ByteRecord::new(),
            total,
            max_line_bytes,
            pending: None,
            line_offset: crlf_line_offset(path),
            ready: VecDeque::new(),
            finished: false,
        })
    }

    fn location(&self, line: u64) -> Location {
        Location {
            file: self.file.clone(),
            line: line + self.line_offset,
        }
    }

    /// Reads one physical CSV row into a wire record, or says why it cannot.
    fn next_wire(&mut self) -> Option<Result<(Location, String, WireRecord), RowError>> {
        loop {
            let line = self.reader.position().line().max(1);
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(line, |p| p.line());
                    if let csv::ErrorKind::Io(_) = e.kind() {
                        self.finished = true;
                    }
                    return Some(Err(RowError::new(
                        self.location(line),
                        None,
                        format!("CSV: {e}"),
                        "",
                    )));
                }
            }
            let line = self.record.position().map_or(line, |p| p.line());
            let location = self.location(line);
            let raw = String::from_utf8_lossy(self.record.as_slice()).into_owned();
            if self.record.as_slice().len() > self.max_line_bytes {
                return Some(Err(RowError::new(
                    location,
                    None,
                    format!(
                        "row of {} bytes exceeds ingest.max_line_bytes = {}",
                        self.record.as_slice().len(),
                        self.max_line_bytes
                    ),
                    "",
                )));
            }
            if let Some(i) = self
                .record
                .iter()
                .position(|f| std::str::from_utf8(f).is_err())
            {
                let field = self
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(i))
                    .map(|h| String::from_utf8_lossy(h).into_owned());
                return Some(Err(RowError::new(location, field, "not valid UTF-8", &raw)));
            }
            let Some(headers) = &self.headers else {
                self.headers = Some(self.record.clone());
                continue;
            };
            if self.record.len() == 1 && self.record.as_slice().trim_ascii().is_empty() {
                continue;
            }
            if self.record.len() != headers.len() {
                return Some(Err(RowError::new(
                    location,
                    None,
                    format!(
                        "row has {} fields, the header has {}",
                        self.record.len(),
                        headers.len()
                    ),
                    &raw,
                )));
            }
            let wire = match self.record.deserialize::<WireRecord>(Some(headers)) {
                Ok(w) => w,
                Err(e) => {
                    let field = match e.kind() {
                        csv::ErrorKind::Deserialize { err, .. } => err
                            .field()
                            .and_then(|i| headers.get(i as usize))
                            .map(|h| String::from_utf8_lossy(h).into_owned()),
                        _ => None,
                    };
                    let reason = match e.kind() {
                        csv::ErrorKind::Deserialize { err, .. } => err.kind().to_string(),
                        _ => e.to_string(),
                    };
                    return Some(Err(RowError::new(location, field, reason, &raw)));
                }
            };
            return Some(Ok((location, raw, wire)));
        }
    }
}

/// The CSV reader dates a record from where the previous one ended. With CRLF line ends it
/// stops after the `\r`, so the `\n` is only counted once the next record has been dated, and
/// every record would be reported one line early. The header's line end tells which kind the
/// file uses; this is what to add to the reader's line numbers.
pub(crate) fn crlf_line_offset(path: &Path) -> u64 {
    use std::io::{BufRead, Read};
    let Ok(file) = File::open(path) else { return 0 };
    let mut first_line = Vec::new();
    let read = BufReader::new(file)
        .take(1 << 20)
        .read_until(b'\n', &mut first_line);
    match read {
        Ok(_) if first_line.ends_with(b"\r\n") => 1,
        _ => 0,
    }
}

fn is_order(w: &WireRecord) -> bool {
    w.record_type.as_deref() == Some("order")
}

fn line_of(w: &WireRecord) -> WireLine {
    WireLine {
        item_id: w.item_id.clone(),
        quantity: w.quantity,
        list_price: w.list_price,
        paid: w.paid,
        retail_discount: w.retail_discount,
        coupon_discount: w.coupon_discount,
    }
}

fn finish((location, raw, wire): (Location, String, WireRecord)) -> Row {
    match wire.into_record() {
        Ok(r) => Ok((location, r)),
        Err(e) => Err(RowError::from_core(location, e, &raw)),
    }
}

impl Iterator for CsvSource {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        loop {
            if let Some(row) = self.ready.pop_front() {
                return Some(row);
            }
            if self.finished {
                return self.pending.take().map(finish);
            }
            match self.next_wire() {
                None => self.finished = true,
                Some(Err(e)) => {
                    // A bad row ends any order being assembled.
                    if let Some(p) = self.pending.take() {
                        self.ready.push_back(finish(p));
                    }
                    self.ready.push_back(Err(e));
                }
                Some(Ok(next)) if is_order(&next.2) => {
                    if let Some((_, _, p)) = &mut self.pending {
                        if p.id.is_some() && p.id == next.2.id {
                            p.lines.get_or_insert_with(Vec::new).push(line_of(&next.2));
                            continue;
                        }
                    }
                    let mut start = next;
                    start.2.lines = Some(vec![line_of(&start.2)]);
                    if let Some(done) = self.pending.replace(start) {
                        self.ready.push_back(finish(done));
                    }
                }
                Some(Ok(next)) => {
                    if let Some(p) = self.pending.take() {
                        self.ready.push_back(finish(p));
                    }
                    self.ready.push_back(finish(next));
                }
            }
        }
    }
}

impl RecordSource for CsvSource {
    fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }
    fn total_bytes(&self) -> Option<u64> {
        self.total
    }
}
