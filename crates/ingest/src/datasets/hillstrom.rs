//! Kevin Hillstrom's MineThatData e-mail experiment (2008): 64,000 customers randomised into a
//! Mens e-mail, a Womens e-mail and no e-mail, with visits, conversions and spend over the two
//! following weeks.
//!
//! Per customer (the n-th data record, 1-based): a user `hillstrom:<n>`, an `offer_shown`
//! (`hillstrom:offer:<n>`), a `view` when it visited (`hillstrom:visit:<n>`) and an `order` when
//! it converted (`hillstrom:order:<n>`). The data has no dates: see the constants below.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use discount_core::{Currency, Event, EventKind, Item, Offer, OrderLine, Timestamp, User};

use super::table::{existing, file_size, HeaderStyle, RawRow, Table};
use super::{Adapter, AdapterSource, DatasetError};
use crate::source::{Row, RowError};
use discount_core::public_columns::HILLSTROM as COLUMNS;

pub(crate) const FILE: &str =
    "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv";

/// The single item that stands for "merchandise bought" (the data has only the spend).
pub(crate) const MERCHANDISE: &str = "hillstrom:merchandise";

/// Columns copied into the user's attributes, as written in the file: the customer's eight.
const USER_ATTRIBUTES: &[&str] = COLUMNS.split_at(8).0;

/// The e-mails went out in March 2008 (the challenge was published on 2008-03-20); the data has
/// no dates, so every offer is dated 2008-03-01 00:00 UTC.
fn campaign_start() -> Timestamp {
    Timestamp::from_date(2008, 3, 1).unwrap_or(Timestamp(0))
}

/// Responses were tracked for two weeks; their moment is unknown, so a visit is dated at the
/// middle of that window (7 days after the e-mail) and a purchase one hour after the visit.
const VISIT_AFTER_DAYS: f64 = 7.0;
const ORDER_AFTER_VISIT_DAYS: f64 = 1.0 / 24.0;

/// Each customer had a one-in-three chance of each arm.
const ARM_PROPENSITY: f64 = 1.0 / 3.0;

pub(crate) fn open(dir: &Path) -> Result<AdapterSource<Hillstrom>, DatasetError> {
    let path = existing(dir, FILE)?;
    let table = Table::open(&path, b',', HeaderStyle::Plain, &COLUMNS)?;
    let adapter = Hillstrom {
        table,
        record_number: 0,
        item_emitted: false,
    };
    Ok(AdapterSource::new(adapter, file_size(&path)))
}

pub(crate) struct Hillstrom {
    table: Table,
    /// Data records read so far, refused ones included, so ids follow the file's order.
    record_number: u64,
    item_emitted: bool,
}

impl Adapter for Hillstrom {
    fn step(&mut self, out: &mut VecDeque<Row>) -> bool {
        let Some(next) = self.table.next_row() else {
            return false;
        };
        self.record_number += 1;
        match next.and_then(|row| Customer::parse(&row).map(|c| (row, c))) {
            Ok((row, customer)) => {
                if !self.item_emitted {
                    self.item_emitted = true;
                    row.push_item(
                        out,
                        Item {
                            id: MERCHANDISE.into(),
                            category: "merchandise".into(),
                            list_price: 0,
                            unit_cost: None,
                            currency: Currency::USD,
                            stock: None,
                        },
                    );
                }
                customer.emit(&row, self.record_number, out);
            }
            Err(error) => out.push_back(Err(error)),
        }
        true
    }

    fn bytes_read(&self) -> u64 {
        self.table.bytes_read()
    }
}

/// One parsed data row.
struct Customer {
    attributes: BTreeMap<String, String>,
    offer: Offer,
    visit: bool,
    /// Spend in cents when the customer converted.
    order: Option<i64>,
}

impl Customer {
    fn parse(row: &RawRow<'_>) -> Result<Self, RowError> {
        // Check the attribute columns' types so that a garbled row is refused, not half-read.
        row.whole_in("recency", 1..=12)?;
        row.dollars("history")?;
        for flag in ["mens", "womens", "newbie"] {
            row.flag(flag)?;
        }
        for text in ["history_segment", "zip_code", "channel"] {
            row.non_empty(text)?;
        }
        let attributes = USER_ATTRIBUTES
            .iter()
            .map(|c| Ok((c.to_string(), row.text(c)?.to_string())))
            .collect::<Result<_, RowError>>()?;
        let offer = match row.non_empty("segment")? {
            "Mens E-Mail" => Offer::Content {
                name: "Mens E-Mail".into(),
            },
            "Womens E-Mail" => Offer::Content {
                name: "Womens E-Mail".into(),
            },
            "No E-Mail" => Offer::NoOffer,
            other => {
                return Err(row.error(
                    "segment",
                    format!(
                        "unknown arm `{other}`; expected Mens E-Mail, Womens E-Mail or No E-Mail"
                    ),
                ))
            }
        };
        let visit = row.flag("visit")?;
        let conversion = row.flag("conversion")?;
        let spend = row.dollars("spend")?;
        // A spend without a conversion contradicts the data's own definition; refuse the row
        // rather than guess which of the two is wrong. (It never happens in the published file.)
        if !conversion && spend > 0 {
            return Err(row.error("spend", "spend is positive but conversion is 0"));
        }
        Ok(Self {
            attributes,
            offer,
            visit,
            order: conversion.then_some(spend),
        })
    }

    fn emit(self, row: &RawRow<'_>, n: u64, out: &mut VecDeque<Row>) {
        let user_id = format!("hillstrom:{n}");
        let shown = campaign_start();
        row.push_user(
            out,
            User {
                id: user_id.clone(),
                signup: None,
                attributes: self.attributes,
            },
        );
        row.push_event(
            out,
            Event {
                id: format!("hillstrom:offer:{n}"),
                user_id: user_id.clone(),
                time: shown,
                kind: EventKind::OfferShown {
                    decision_id: format!("hillstrom:{n}"),
                    offer: self.offer,
                    item_id: None,
                    position: None,
                    propensity: Some(ARM_PROPENSITY),
                    expires_at: None,
                },
            },
        );
        let visited = shown.plus_days(VISIT_AFTER_DAYS);
        if self.visit {
            row.push_event(
                out,
                Event {
                    id: format!("hillstrom:visit:{n}"),
                    user_id: user_id.clone(),
                    time: visited,
                    kind: EventKind::View { item_id: None },
                },
            );
        }
        if let Some(spend) = self.order {
            let order_id = format!("hillstrom:order:{n}");
            row.push_event(
                out,
                Event {
                    id: order_id.clone(),
                    user_id,
                    time: visited.plus_days(ORDER_AFTER_VISIT_DAYS),
                    kind: EventKind::Order {
                        order_id,
                        currency: Currency::USD,
                        lines: vec![OrderLine {
                            item_id: MERCHANDISE.into(),
                            quantity: 1,
                            list_price: spend,
                            paid: spend,
                            retail_discount: 0,
                            coupon_discount: 0,
                        }],
                    },
                },
            );
        }
    }
}
