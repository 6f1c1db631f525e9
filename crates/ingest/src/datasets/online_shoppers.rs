//! UCI Online Shoppers Purchasing Intention: 12,330 sessions of an online retailer, each of a
//! different user, with page counts and durations per page type, Google Analytics rates and a
//! purchase label.
//!
//! Per data record n (1-based): a user `shoppers:<n>` and a `session` `shoppers:session:<n>`.
//! The data gives only the month, no year or day: see [`session_time`].

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use discount_core::public_columns::ONLINE_SHOPPERS;
use discount_core::{Event, EventKind, Timestamp, User};

use super::table::{existing, file_size, HeaderStyle, RawRow, Table};
use super::{Adapter, AdapterSource, DatasetError};
use crate::source::{Row, RowError};

pub(crate) const FILE: &str = "online_shoppers_intention.csv";

/// Page counts and the matching durations (seconds), per page type.
pub(crate) const PAGE_TYPES: [(&str, &str); 3] = [
    ("Administrative", "Administrative_Duration"),
    ("Informational", "Informational_Duration"),
    ("ProductRelated", "ProductRelated_Duration"),
];

/// Every column except `Revenue` (the last, which is `purchased`) goes into the session's
/// attributes.
const ATTRIBUTE_COLUMNS: &[&str] = ONLINE_SHOPPERS.split_at(ONLINE_SHOPPERS.len() - 1).0;

/// The data set does not say which year it covers; 2018 is used (a year before publication). The
/// session is dated the first of its month, plus n seconds so that the file's order is kept.
const YEAR: i32 = 2018;

/// -1 in a duration column marks a duration that was not measured (33 rows, where all three
/// durations are -1 and the session has one product page and at most one other page); it counts
/// as 0 seconds in `duration_seconds` and stays as -1 in the attributes.
const UNMEASURED_DURATION: f64 = -1.0;

pub(crate) fn open(dir: &Path) -> Result<AdapterSource<OnlineShoppers>, DatasetError> {
    let path = existing(dir, FILE)?;
    let table = Table::open(&path, b',', HeaderStyle::Plain, &ONLINE_SHOPPERS)?;
    Ok(AdapterSource::new(
        OnlineShoppers {
            table,
            record_number: 0,
        },
        file_size(&path),
    ))
}

pub(crate) struct OnlineShoppers {
    table: Table,
    /// Data records read so far, refused ones included, so ids follow the file's order.
    record_number: u64,
}

impl Adapter for OnlineShoppers {
    fn step(&mut self, out: &mut VecDeque<Row>) -> bool {
        let Some(next) = self.table.next_row() else {
            return false;
        };
        self.record_number += 1;
        let n = self.record_number;
        match next.and_then(|row| session(&row, n).map(|s| (row, s))) {
            Ok((row, (user, event))) => {
                row.push_user(out, user);
                row.push_event(out, event);
            }
            Err(error) => out.push_back(Err(error)),
        }
        true
    }

    fn bytes_read(&self) -> u64 {
        self.table.bytes_read()
    }
}

/// Month number from `Feb`, `June`, `sept`, ... (the file spells June out).
fn month_number(text: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let prefix = text.get(..3)?.to_ascii_lowercase();
    let position = MONTHS.iter().position(|m| *m == prefix)?;
    u32::try_from(position + 1).ok()
}

pub(crate) fn session_time(month: u32, n: u64) -> Option<Timestamp> {
    let first = Timestamp::from_date(YEAR, month, 1)?;
    let offset = i64::try_from(n).ok()?.checked_mul(1_000_000)?;
    Some(Timestamp(first.0.checked_add(offset)?))
}

fn session(row: &RawRow<'_>, n: u64) -> Result<(User, Event), RowError> {
    let mut pages: u32 = 0;
    let mut duration = 0.0;
    for (count_column, duration_column) in PAGE_TYPES {
        pages = pages
            .checked_add(row.count(count_column)?)
            .ok_or_else(|| row.error(count_column, "page count too large"))?;
        let seconds = row.number(duration_column)?;
        if seconds == UNMEASURED_DURATION {
            continue;
        }
        if seconds < 0.0 {
            return Err(row.error(duration_column, format!("negative duration {seconds}")));
        }
        duration += seconds;
    }
    // The rates are checked so that a garbled row is refused; they are kept as text.
    for rate in ["BounceRates", "ExitRates", "PageValues", "SpecialDay"] {
        row.number(rate)?;
    }
    let month_text = row.non_empty("Month")?;
    let month = month_number(month_text)
        .ok_or_else(|| row.error("Month", format!("`{month_text}` is not a month")))?;
    let time = session_time(month, n).ok_or_else(|| row.error("Month", "date out of range"))?;
    row.boolean("Weekend")?;
    let purchased = row.boolean("Revenue")?;
    let attributes: BTreeMap<String, String> = ATTRIBUTE_COLUMNS
        .iter()
        .map(|c| Ok((c.to_string(), row.text(c)?.to_string())))
        .collect::<Result<_, RowError>>()?;
    let user_id = format!("shoppers:{n}");
    let user = User {
        id: user_id.clone(),
        signup: None,
        attributes: BTreeMap::from([(
            "VisitorType".to_string(),
            row.non_empty("VisitorType")?.to_string(),
        )]),
    };
    let event = Event {
        id: format!("shoppers:session:{n}"),
        user_id,
        time,
        kind: EventKind::Session {
            pages,
            duration_seconds: duration,
            purchased,
            attributes,
        },
    };
    Ok((user, event))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_in_any_spelling() {
        assert_eq!(month_number("Feb"), Some(2));
        assert_eq!(month_number("June"), Some(6));
        assert_eq!(month_number("dec"), Some(12));
        assert_eq!(month_number("Mo"), None);
        assert_eq!(month_number("Foo"), None);
        let t = session_time(3, 5).unwrap();
        assert_eq!(t.to_rfc3339(), "2018-03-01T00:00:05Z");
    }
}
