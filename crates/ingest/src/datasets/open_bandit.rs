//! Open Bandit Dataset ('all' campaign, the 10,000-round samples): ZOZOTOWN showed one of 80
//! fashion items in each of 3 positions, chosen by a uniform random policy (`random/`) or by
//! Bernoulli Thompson sampling (`bts/`), and logged the choice's propensity and the click.
//!
//! Read in this order: `random/all/item_context.csv` (items `obd:item:<id>`), `random/all/all.csv`
//! and `bts/all/all.csv`. Each logged round becomes an `offer_shown` with decision id
//! `obd:<policy>:<index>` (`index` is the file's first, unnamed column) and, when clicked, a
//! `click` `obd:<policy>:<index>:click`. The log has no user id: a user is the combination of
//! the four hashed user features, named by a 64-bit FNV-1a hash of them (`obd:user:<hex>`).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::Path;

use discount_core::{Currency, Event, EventKind, Item, Offer, User};

use super::table::{existing, file_size, HeaderStyle, RawRow, Table};
use super::{Adapter, AdapterSource, DatasetError};
use crate::source::{Row, RowError};

pub(crate) const POLICIES: [&str; 2] = ["random", "bts"];
pub(crate) const ITEM_CONTEXT: &str = "random/all/item_context.csv";
pub(crate) const USER_FEATURES: [&str; 4] = [
    "user_feature_0",
    "user_feature_1",
    "user_feature_2",
    "user_feature_3",
];

/// What every logged round showed: an item recommendation. The item is the action; both policies
/// choose among the same actions, so the offer does not name the policy.
pub(crate) const RECOMMENDATION: &str = "recommendation";

pub(crate) fn log_file(policy: &str) -> String {
    format!("{policy}/all/all.csv")
}

pub(crate) fn item(id: u64) -> String {
    format!("obd:item:{id}")
}

/// The user id of a combination of user features: FNV-1a (64 bits) over the four values joined
/// by `|`, in hex. Stable across runs, platforms and versions of this program.
pub(crate) fn user_id(features: &[&str]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (i, feature) in features.iter().enumerate() {
        if i > 0 {
            hash = (hash ^ u64::from(b'|')).wrapping_mul(PRIME);
        }
        for byte in feature.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
        }
    }
    format!("obd:user:{hash:016x}")
}

pub(crate) fn open(dir: &Path) -> Result<AdapterSource<OpenBandit>, DatasetError> {
    let items_path = existing(dir, ITEM_CONTEXT)?;
    let items = Table::open(
        &items_path,
        b',',
        HeaderStyle::Plain,
        &["item_id", "item_feature_0", "item_feature_1"],
    )?;
    let mut total = file_size(&items_path);
    let mut logs = Vec::new();
    for policy in POLICIES {
        let path = existing(dir, &log_file(policy))?;
        total += file_size(&path);
        let required = [
            &[
                "index",
                "timestamp",
                "item_id",
                "position",
                "click",
                "propensity_score",
            ][..],
            &USER_FEATURES[..],
        ]
        .concat();
        logs.push((
            policy,
            Table::open(&path, b',', HeaderStyle::Plain, &required)?,
        ));
    }
    let adapter = OpenBandit {
        items,
        logs,
        current: 0,
        users: HashSet::new(),
    };
    Ok(AdapterSource::new(adapter, total))
}

pub(crate) struct OpenBandit {
    items: Table,
    logs: Vec<(&'static str, Table)>,
    /// 0: the item table; 1..: the policy logs.
    current: usize,
    /// Users already emitted (a few hundred feature combinations).
    users: HashSet<String>,
}

impl Adapter for OpenBandit {
    fn step(&mut self, out: &mut VecDeque<Row>) -> bool {
        loop {
            if self.current == 0 {
                match self.items.next_row() {
                    Some(Ok(row)) => {
                        match item_record(&row) {
                            Ok(item) => row.push_item(out, item),
                            Err(error) => out.push_back(Err(error)),
                        }
                        return true;
                    }
                    Some(Err(error)) => {
                        out.push_back(Err(error));
                        return true;
                    }
                    None => self.current = 1,
                }
            }
            let Some((policy, table)) = self.logs.get_mut(self.current - 1) else {
                return false;
            };
            match table.next_row() {
                Some(next) => {
                    match next.and_then(|row| Round::parse(&row).map(|r| (row, r))) {
                        Ok((row, round)) => round.emit(&row, policy, &mut self.users, out),
                        Err(error) => out.push_back(Err(error)),
                    }
                    return true;
                }
                None => self.current += 1,
            }
        }
    }

    fn bytes_read(&self) -> u64 {
        self.items.bytes_read() + self.logs.iter().map(|(_, t)| t.bytes_read()).sum::<u64>()
    }
}

fn item_record(row: &RawRow<'_>) -> Result<Item, RowError> {
    let id = row.whole("item_id")?;
    // item_feature_0 is a standardised price, not an amount: the real price is unknown.
    row.number("item_feature_0")?;
    let category = row.id_part("item_feature_1")?;
    Ok(Item {
        id: item(id),
        category: category.to_string(),
        list_price: 0,
        unit_cost: None,
        currency: Currency::USD,
        stock: None,
    })
}

/// One logged round.
struct Round {
    index: u64,
    time: discount_core::Timestamp,
    item: u64,
    position: u32,
    clicked: bool,
    propensity: f64,
    features: [String; 4],
}

impl Round {
    fn parse(row: &RawRow<'_>) -> Result<Self, RowError> {
        let mut features: [String; 4] = Default::default();
        for (slot, column) in features.iter_mut().zip(USER_FEATURES) {
            *slot = row.non_empty(column)?.to_string();
        }
        let propensity = row.number("propensity_score")?;
        if !(propensity > 0.0 && propensity <= 1.0) {
            return Err(row.error("propensity_score", format!("{propensity} is not in (0, 1]")));
        }
        Ok(Self {
            index: row.whole("index")?,
            time: row.timestamp("timestamp")?,
            item: row.whole("item_id")?,
            position: row.count("position")?,
            clicked: row.flag("click")?,
            propensity,
            features,
        })
    }

    fn emit(
        self,
        row: &RawRow<'_>,
        policy: &str,
        users: &mut HashSet<String>,
        out: &mut VecDeque<Row>,
    ) {
        let feature_refs: Vec<&str> = self.features.iter().map(String::as_str).collect();
        let user = user_id(&feature_refs);
        if users.insert(user.clone()) {
            let attributes: BTreeMap<String, String> = USER_FEATURES
                .iter()
                .map(|c| c.to_string())
                .zip(self.features)
                .collect();
            row.push_user(
                out,
                User {
                    id: user.clone(),
                    signup: None,
                    attributes,
                },
            );
        }
        let decision_id = format!("obd:{policy}:{}", self.index);
        let item_id = item(self.item);
        row.push_event(
            out,
            Event {
                id: decision_id.clone(),
                user_id: user.clone(),
                time: self.time,
                kind: EventKind::OfferShown {
                    decision_id: decision_id.clone(),
                    offer: Offer::Content {
                        name: RECOMMENDATION.into(),
                    },
                    item_id: Some(item_id.clone()),
                    position: Some(self.position),
                    propensity: Some(self.propensity),
                    expires_at: None,
                },
            },
        );
        if self.clicked {
            row.push_event(
                out,
                Event {
                    id: format!("{decision_id}:click"),
                    user_id: user,
                    time: self.time,
                    kind: EventKind::Click {
                        item_id: Some(item_id),
                        decision_id: Some(decision_id),
                    },
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_stable_and_distinct() {
        let a = user_id(&["a", "b", "c", "d"]);
        assert_eq!(a, user_id(&["a", "b", "c", "d"]));
        assert_ne!(a, user_id(&["ab", "", "c", "d"]));
        assert_eq!(a.len(), "obd:user:".len() + 16);
        // FNV-1a of the empty input is its offset basis.
        assert_eq!(user_id(&[]), "obd:user:cbf29ce484222325");
    }
}
