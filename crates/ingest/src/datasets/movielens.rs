//! MovieLens 100K in RecBole's atomic-file format (tab-separated, typed header `name:type`):
//! `ml-100k.user` (users `ml100k:user:<id>`), `ml-100k.item` (items `ml100k:item:<id>`) and
//! `ml-100k.inter` (one `review` `ml100k:rating:<user>:<item>` per rating; MovieLens has at most
//! one rating per user and movie).
//!
//! The files are read from the data directory only; GroupLens' terms forbid redistributing them.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use discount_core::{Currency, Event, EventKind, Item, Timestamp, User};

use super::table::{existing, file_size, HeaderStyle, RawRow, Table};
use super::{Adapter, AdapterSource, DatasetError};
use crate::source::{Row, RowError};

pub(crate) const USERS: &str = "ml-100k.user";
pub(crate) const ITEMS: &str = "ml-100k.item";
pub(crate) const RATINGS: &str = "ml-100k.inter";

const USER_ATTRIBUTES: [&str; 4] = ["age", "gender", "occupation", "zip_code"];

pub(crate) fn open(dir: &Path) -> Result<AdapterSource<MovieLens>, DatasetError> {
    let users = existing(dir, USERS)?;
    let items = existing(dir, ITEMS)?;
    let ratings = existing(dir, RATINGS)?;
    let total = file_size(&users) + file_size(&items) + file_size(&ratings);
    let typed = HeaderStyle::Typed;
    let tables = [
        Table::open(
            &users,
            b'\t',
            typed,
            &[["user_id"].as_slice(), &USER_ATTRIBUTES].concat(),
        )?,
        Table::open(&items, b'\t', typed, &["item_id", "class"])?,
        Table::open(
            &ratings,
            b'\t',
            typed,
            &["user_id", "item_id", "rating", "timestamp"],
        )?,
    ];
    Ok(AdapterSource::new(MovieLens { tables, current: 0 }, total))
}

pub(crate) struct MovieLens {
    /// Users, items, ratings, read in that order.
    tables: [Table; 3],
    current: usize,
}

impl Adapter for MovieLens {
    fn step(&mut self, out: &mut VecDeque<Row>) -> bool {
        loop {
            let stage = self.current;
            let Some(table) = self.tables.get_mut(stage) else {
                return false;
            };
            let Some(next) = table.next_row() else {
                self.current += 1;
                continue;
            };
            match next {
                Ok(row) => match stage {
                    0 => match user(&row) {
                        Ok(user) => row.push_user(out, user),
                        Err(error) => out.push_back(Err(error)),
                    },
                    1 => match item(&row) {
                        Ok(item) => row.push_item(out, item),
                        Err(error) => out.push_back(Err(error)),
                    },
                    _ => match review(&row) {
                        Ok(event) => row.push_event(out, event),
                        Err(error) => out.push_back(Err(error)),
                    },
                },
                Err(error) => out.push_back(Err(error)),
            }
            return true;
        }
    }

    fn bytes_read(&self) -> u64 {
        self.tables.iter().map(Table::bytes_read).sum()
    }
}

fn user(row: &RawRow<'_>) -> Result<User, RowError> {
    let id = row.id_part("user_id")?;
    let attributes: BTreeMap<String, String> = USER_ATTRIBUTES
        .iter()
        .map(|c| Ok((c.to_string(), row.text(c)?.to_string())))
        .collect::<Result<_, RowError>>()?;
    Ok(User {
        id: format!("ml100k:user:{id}"),
        signup: None,
        attributes,
    })
}

fn item(row: &RawRow<'_>) -> Result<Item, RowError> {
    let id = row.id_part("item_id")?;
    // `class` lists the genres separated by spaces; the first one is the item's category.
    let genre = row
        .text("class")?
        .split_whitespace()
        .next()
        .unwrap_or("unknown");
    Ok(Item {
        id: format!("ml100k:item:{id}"),
        category: genre.to_string(),
        // Movies have no price here.
        list_price: 0,
        unit_cost: None,
        currency: Currency::USD,
        stock: None,
    })
}

fn review(row: &RawRow<'_>) -> Result<Event, RowError> {
    let user = row.id_part("user_id")?;
    let item = row.id_part("item_id")?;
    let rating = row.whole_in("rating", 1..=5)?;
    let seconds = row.whole("timestamp")?;
    let time = i64::try_from(seconds)
        .map_err(|_| row.error("timestamp", "out of range"))
        .and_then(|s| {
            Timestamp::from_epoch_number("timestamp", s).map_err(|e| row.core_error(e))
        })?;
    Ok(Event {
        id: format!("ml100k:rating:{user}:{item}"),
        user_id: format!("ml100k:user:{user}"),
        time,
        kind: EventKind::Review {
            item_id: format!("ml100k:item:{item}"),
            rating: u8::try_from(rating).unwrap_or(0),
            text: None,
        },
    })
}
