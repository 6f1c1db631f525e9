//! Backend-independent preparation of a batch: flattening events into columns, finding repeats
//! inside the batch, and listing the items that events refer to.

use std::collections::HashSet;

use discount_core::{Currency, Event, EventKind, Record};

use crate::{Outcome, StoreError};

/// An event flattened into the columns of the `events` table.
pub struct EventColumns<'a> {
    pub id: &'a str,
    pub kind: &'static str,
    pub user_id: &'a str,
    pub at: i64,
    pub item_id: Option<&'a str>,
    pub order_id: Option<&'a str>,
    pub coupon_id: Option<&'a str>,
    pub decision_id: Option<&'a str>,
    pub amount: Option<i64>,
    pub currency: Option<&'a str>,
    pub offer: Option<String>,
    pub payload: String,
}

impl<'a> EventColumns<'a> {
    pub fn of(e: &'a Event) -> Result<Self, StoreError> {
        let mut c = EventColumns {
            id: &e.id,
            kind: e.kind.name(),
            user_id: &e.user_id,
            at: e.time.0,
            item_id: e.kind.item_id(),
            order_id: None,
            coupon_id: None,
            decision_id: None,
            amount: None,
            currency: None,
            offer: None,
            payload: serde_json::to_string(&e.kind)?,
        };
        match &e.kind {
            EventKind::Click { decision_id, .. } => c.decision_id = decision_id.as_deref(),
            EventKind::Order {
                order_id, currency, ..
            } => {
                c.order_id = Some(order_id);
                c.amount = Some(e.order_total());
                c.currency = Some(currency.as_str());
            }
            EventKind::Refund {
                order_id,
                currency,
                amount,
                ..
            } => {
                c.order_id = Some(order_id);
                c.amount = Some(*amount);
                c.currency = Some(currency.as_str());
            }
            EventKind::OfferShown {
                decision_id, offer, ..
            } => {
                c.decision_id = Some(decision_id);
                c.offer = Some(offer.label());
            }
            EventKind::CouponIssued {
                coupon_id,
                decision_id,
                offer,
                ..
            } => {
                c.coupon_id = Some(coupon_id);
                c.decision_id = decision_id.as_deref();
                c.offer = Some(offer.label());
            }
            EventKind::CouponRedeemed {
                coupon_id,
                order_id,
                currency,
                amount,
            } => {
                c.coupon_id = Some(coupon_id);
                c.order_id = order_id.as_deref();
                c.amount = Some(*amount);
                c.currency = Some(currency.as_str());
            }
            _ => {}
        }
        Ok(c)
    }
}

/// Marks every record whose key already appeared earlier in the batch as a duplicate.
pub fn repeats_within(records: &[Record]) -> Vec<Option<Outcome>> {
    let mut seen = HashSet::with_capacity(records.len());
    records
        .iter()
        .map(|r| (!seen.insert(r.key())).then_some(Outcome::Duplicate))
        .collect()
}

/// An item an event refers to, with what the event tells about it.
pub struct ItemReference<'a> {
    pub id: &'a str,
    pub list_price: i64,
    pub currency: Currency,
}

/// The items `event` refers to: the lines of an order, or the item of a view, review, ...
pub fn referenced_items(event: &Event) -> Vec<ItemReference<'_>> {
    match &event.kind {
        EventKind::Order {
            lines, currency, ..
        } => lines
            .iter()
            .map(|l| ItemReference {
                id: &l.item_id,
                list_price: l.list_price,
                currency: *currency,
            })
            .collect(),
        kind => kind
            .item_id()
            .map(|id| ItemReference {
                id,
                list_price: 0,
                currency: Currency::USD,
            })
            .into_iter()
            .collect(),
    }
}

pub fn unknown_item(id: &str) -> Outcome {
    Outcome::Rejected {
        field: "item_id".into(),
        reason: format!(
            "unknown item `{id}` (ingest the item first, or set ingest.unknown_items = \"register\")"
        ),
    }
}
