//! Turning a customer's events into the steps the sequence model reads.
//!
//! Each event is one step: its type, its category, its amount and the time since the previous
//! step. A final `end` step carries the time from the last event to the cut-off, so that the
//! model sees how long the customer has been silent.

use std::collections::HashMap;

use discount_core::time::MICROS_PER_DAY;
use discount_core::{Event, EventKind, Timestamp};
use serde::{Deserialize, Serialize};

/// One step of a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Index in [`EventKind::NAMES`], or [`END_KIND`] for the closing step.
    pub kind: u32,
    /// Index in the [`CategoryVocab`]; 0 for none or unknown.
    pub category: u32,
    /// Amount in major units (orders: paid total; refunds, redemptions: their amount).
    pub amount: f32,
    /// Days since the previous step (0 for the first).
    pub gap_days: f32,
    /// Days from this step to the cut-off (0 for the closing step).
    pub age_days: f32,
}

/// The kind of the closing step, after the event kinds.
pub const END_KIND: u32 = EventKind::NAMES.len() as u32;

/// Number of step kinds: the event kinds and the closing step.
pub const KINDS: usize = EventKind::NAMES.len() + 1;

/// Category names to indices, grown while encoding training data and frozen for scoring
/// (unseen categories then map to 0).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoryVocab {
    index: HashMap<String, u32>,
    frozen: bool,
}

impl CategoryVocab {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops adding categories: what the model was trained on is all it knows.
    pub fn freeze(&mut self) {
        self.frozen = true;
    }

    /// Index of `category`, adding it unless frozen; 0 for `None` or an unknown category.
    pub fn index(&mut self, category: Option<&str>) -> u32 {
        let Some(c) = category else { return 0 };
        if let Some(&i) = self.index.get(c) {
            return i;
        }
        if self.frozen {
            return 0;
        }
        let i = self.index.len() as u32 + 1;
        self.index.insert(c.to_string(), i);
        i
    }

    /// Size of the embedding table: the categories and the 0 slot.
    pub fn size(&self) -> usize {
        self.index.len() + 1
    }
}

fn amount_major(event: &Event) -> f32 {
    let minor = match &event.kind {
        EventKind::Order { .. } => event.order_total(),
        EventKind::Refund { amount, .. } | EventKind::CouponRedeemed { amount, .. } => *amount,
        _ => 0,
    };
    minor as f32 / 100.0
}

/// The steps of `events` up to and including `as_of` (sorted by time here), closed by the `end`
/// step. `category_of` names the category of an item.
pub fn steps_of_events(
    events: &[Event],
    as_of: Timestamp,
    vocab: &mut CategoryVocab,
    category_of: &dyn Fn(&str) -> Option<String>,
) -> Vec<Step> {
    let mut seen: Vec<&Event> = events.iter().filter(|e| e.time <= as_of).collect();
    seen.sort_by_key(|e| (e.time, e.id.as_str()));
    let days = |from: Timestamp, to: Timestamp| (to.0 - from.0) as f32 / MICROS_PER_DAY as f32;
    let mut steps = Vec::with_capacity(seen.len() + 1);
    let mut previous: Option<Timestamp> = None;
    for e in seen {
        let item = match &e.kind {
            EventKind::Order { lines, .. } => lines.first().map(|l| l.item_id.as_str()),
            kind => kind.item_id(),
        };
        let category = item.and_then(category_of);
        let kind = EventKind::NAMES
            .iter()
            .position(|n| *n == e.kind.name())
            .unwrap_or(0) as u32;
        steps.push(Step {
            kind,
            category: vocab.index(category.as_deref()),
            amount: amount_major(e),
            gap_days: previous.map_or(0.0, |p| days(p, e.time)),
            age_days: days(e.time, as_of),
        });
        previous = Some(e.time);
    }
    steps.push(Step {
        kind: END_KIND,
        category: 0,
        amount: 0.0,
        gap_days: previous.map_or(0.0, |p| days(p, as_of)),
        age_days: 0.0,
    });
    steps
}
