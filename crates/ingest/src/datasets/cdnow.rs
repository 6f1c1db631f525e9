//! CDNOW (1997-1998): every purchase of the 23,570 customers who first bought in Q1 1997, as
//! whitespace-separated lines `customer_id date number_of_cds dollar_value`.
//!
//! Per line (file line L): an `order` `cdnow:order:<L>` of one line of `number_of_cds` units of
//! the item `cdnow:cd`; per customer, a user `cdnow:<customer number>` emitted with the
//! customer's first line, signed up at that line's date.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use discount_core::{Currency, Event, EventKind, Item, OrderLine, Timestamp, User};

use super::table::{divide_rounded, existing, file_size, Columns, RawRow};
use super::{Adapter, AdapterSource, DatasetError};
use crate::source::{Location, Row, RowError};

pub(crate) const FILE: &str = "CDNOW_master.txt";
pub(crate) const CD: &str = "cdnow:cd";
const COLUMNS: [&str; 4] = ["customer_id", "date", "number_of_cds", "dollar_value"];

pub(crate) fn open(dir: &Path) -> Result<AdapterSource<Cdnow>, DatasetError> {
    let path = existing(dir, FILE)?;
    let file = File::open(&path).map_err(|source| DatasetError::Open {
        path: path.clone(),
        source,
    })?;
    let columns = Columns::new(&path, COLUMNS.map(String::from), b' ', &COLUMNS)?;
    let adapter = Cdnow {
        columns,
        reader: BufReader::new(file),
        buffer: Vec::new(),
        line: 0,
        bytes_read: 0,
        finished: false,
        customers: HashSet::new(),
        item_emitted: false,
    };
    Ok(AdapterSource::new(adapter, file_size(&path)))
}

pub(crate) struct Cdnow {
    columns: Columns,
    reader: BufReader<File>,
    buffer: Vec<u8>,
    line: u64,
    bytes_read: u64,
    finished: bool,
    /// Customers whose user record has been emitted (23,570 numbers in the full file).
    customers: HashSet<u64>,
    item_emitted: bool,
}

impl Adapter for Cdnow {
    fn step(&mut self, out: &mut VecDeque<Row>) -> bool {
        loop {
            if self.finished {
                return false;
            }
            self.buffer.clear();
            let read = match self.reader.read_until(b'\n', &mut self.buffer) {
                Ok(n) => n,
                Err(e) => {
                    self.finished = true;
                    out.push_back(Err(RowError::new(
                        self.location(self.line + 1),
                        None,
                        format!("reading failed: {e}"),
                        "",
                    )));
                    return true;
                }
            };
            if read == 0 {
                self.finished = true;
                return false;
            }
            self.line += 1;
            self.bytes_read += read as u64;
            let fields: Vec<&[u8]> = self
                .buffer
                .split(|b| b.is_ascii_whitespace())
                .filter(|f| !f.is_empty())
                .collect();
            if fields.is_empty() {
                continue; // a blank line, e.g. at the end of the file
            }
            // The file opens with a header line of column names.
            if self.line == 1 && !fields[0].iter().all(u8::is_ascii_digit) {
                continue;
            }
            let location = self.location(self.line);
            if fields.len() != COLUMNS.len() {
                out.push_back(Err(RowError::new(
                    location,
                    None,
                    format!(
                        "expected {} whitespace-separated fields ({}), found {}",
                        COLUMNS.len(),
                        COLUMNS.join(" "),
                        fields.len()
                    ),
                    String::from_utf8_lossy(&self.buffer).trim_end(),
                )));
                return true;
            }
            let record = csv::ByteRecord::from(fields);
            let row = RawRow {
                columns: &self.columns,
                record: &record,
                location,
            };
            match Purchase::parse(&row) {
                Ok(purchase) => {
                    if !self.item_emitted {
                        self.item_emitted = true;
                        row.push_item(
                            out,
                            Item {
                                id: CD.into(),
                                category: "music".into(),
                                list_price: 0,
                                unit_cost: None,
                                currency: Currency::USD,
                                stock: None,
                            },
                        );
                    }
                    let user_id = format!("cdnow:{}", purchase.customer);
                    if self.customers.insert(purchase.customer) {
                        row.push_user(
                            out,
                            User {
                                id: user_id.clone(),
                                signup: Some(purchase.date),
                                attributes: Default::default(),
                            },
                        );
                    }
                    let order_id = format!("cdnow:order:{}", self.line);
                    row.push_event(
                        out,
                        Event {
                            id: order_id.clone(),
                            user_id,
                            time: purchase.date,
                            kind: EventKind::Order {
                                order_id,
                                currency: Currency::USD,
                                lines: vec![OrderLine {
                                    item_id: CD.into(),
                                    quantity: purchase.cds,
                                    list_price: divide_rounded(purchase.cents, purchase.cds),
                                    paid: purchase.cents,
                                    retail_discount: 0,
                                    coupon_discount: 0,
                                }],
                            },
                        },
                    );
                }
                Err(error) => out.push_back(Err(error)),
            }
            return true;
        }
    }

    fn bytes_read(&self) -> u64 {
        self.bytes_read
    }
}

impl Cdnow {
    fn location(&self, line: u64) -> Location {
        Location {
            file: self.columns.file.clone(),
            line,
        }
    }
}

struct Purchase {
    customer: u64,
    date: Timestamp,
    cds: u32,
    cents: i64,
}

impl Purchase {
    fn parse(row: &RawRow<'_>) -> Result<Self, RowError> {
        Ok(Self {
            // Ids are written zero-padded (`00001`); the number is the identity.
            customer: row.whole("customer_id")?,
            date: row.date("date")?,
            cds: row.count("number_of_cds")?,
            cents: row.dollars("dollar_value")?,
        })
    }
}
