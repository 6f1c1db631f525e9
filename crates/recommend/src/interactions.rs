//! Implicit feedback from the shop's own events: views, carts and orders, weighted by kind and decayed with age.
//!
//! The strength of a customer-item pair is Σ weight(kind) × quantity × 0.5^(age / half-life) over the events up
//! to `as_of` (later events are ignored, so a model trained "as of" a date never sees the future). Orders also
//! record when each item was last bought, which the ranking uses to leave out what was just bought.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use discount_core::time::MICROS_PER_DAY;
use discount_core::{Event, EventKind, Timestamp};
#[cfg(feature = "train")]
use discount_models::cf::Rating;
use serde::{Deserialize, Serialize};

use crate::error::{RecommendError, Result};

/// How much each kind of event says about a customer's preference for an item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventWeights {
    /// Per product view.
    pub view: f64,
    /// Per unit added to the cart.
    pub add_to_cart: f64,
    /// Per unit ordered.
    pub order: f64,
    /// Age in days at which an event counts half.
    pub half_life_days: f64,
}

/// A view is a weak hint, a cart a stronger one, an order the strongest; a quarter-year half-life keeps last
/// season's tastes without letting them dominate.
impl Default for EventWeights {
    fn default() -> Self {
        EventWeights {
            view: 1.0,
            add_to_cart: 3.0,
            order: 5.0,
            half_life_days: 90.0,
        }
    }
}

impl EventWeights {
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("view", self.view),
            ("add_to_cart", self.add_to_cart),
            ("order", self.order),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(RecommendError::Setting {
                    name,
                    value: v.to_string(),
                    rule: "must be finite and >= 0",
                });
            }
        }
        if !(self.half_life_days > 0.0 && self.half_life_days.is_finite()) {
            return Err(RecommendError::Setting {
                name: "half_life_days",
                value: self.half_life_days.to_string(),
                rule: "must be finite and > 0",
            });
        }
        Ok(())
    }
}

/// Customer-item strengths with dense indices (in order of first appearance), and each pair's last purchase.
#[derive(Debug, Clone)]
pub struct Interactions {
    weights: EventWeights,
    as_of: Timestamp,
    user_ids: Vec<String>,
    user_index: HashMap<String, u32>,
    item_ids: Vec<String>,
    item_index: HashMap<String, u32>,
    strength: BTreeMap<(u32, u32), f64>,
    last_order: HashMap<(u32, u32), Timestamp>,
    events_used: u64,
}

impl Interactions {
    /// Empty; events after `as_of` will be ignored.
    pub fn new(weights: EventWeights, as_of: Timestamp) -> Result<Self> {
        weights.validate()?;
        Ok(Interactions {
            weights,
            as_of,
            user_ids: Vec::new(),
            user_index: HashMap::new(),
            item_ids: Vec::new(),
            item_index: HashMap::new(),
            strength: BTreeMap::new(),
            last_order: HashMap::new(),
            events_used: 0,
        })
    }

    /// Reads every event of the store, one at a time.
    pub fn from_store(
        store: &mut dyn discount_store::Store,
        weights: EventWeights,
        as_of: Timestamp,
    ) -> Result<Self> {
        let mut out = Interactions::new(weights, as_of)?;
        store.scan_events(&mut |e| {
            out.push(&e);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    fn user(&mut self, id: &str) -> u32 {
        if let Some(&u) = self.user_index.get(id) {
            return u;
        }
        let u = self.user_ids.len() as u32;
        self.user_ids.push(id.to_string());
        self.user_index.insert(id.to_string(), u);
        u
    }

    fn item(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.item_index.get(id) {
            return i;
        }
        let i = self.item_ids.len() as u32;
        self.item_ids.push(id.to_string());
        self.item_index.insert(id.to_string(), i);
        i
    }

    /// The weight of an event of age `at`: 0.5^(age / half-life); events in the future of `as_of` weigh 0.
    fn decay(&self, at: Timestamp) -> f64 {
        if at > self.as_of {
            return 0.0;
        }
        let age_days = (self.as_of.0 - at.0) as f64 / MICROS_PER_DAY as f64;
        0.5f64.powf(age_days / self.weights.half_life_days)
    }

    fn add(&mut self, user: &str, item: &str, amount: f64) {
        if amount <= 0.0 {
            return;
        }
        let (u, i) = (self.user(user), self.item(item));
        *self.strength.entry((u, i)).or_insert(0.0) += amount;
    }

    /// Adds one event (views of items, carts and orders; everything else, and events after `as_of`, is
    /// ignored). Returns whether it counted.
    pub fn push(&mut self, event: &Event) -> bool {
        if event.time > self.as_of {
            return false;
        }
        let decay = self.decay(event.time);
        let w = self.weights;
        match &event.kind {
            EventKind::View {
                item_id: Some(item),
            } => self.add(&event.user_id, item, w.view * decay),
            EventKind::AddToCart { item_id, quantity } => self.add(
                &event.user_id,
                item_id,
                w.add_to_cart * f64::from(*quantity) * decay,
            ),
            EventKind::Order { lines, .. } => {
                for line in lines {
                    self.add(
                        &event.user_id,
                        &line.item_id,
                        w.order * f64::from(line.quantity.max(1)) * decay,
                    );
                    let key = (self.user(&event.user_id), self.item(&line.item_id));
                    let last = self.last_order.entry(key).or_insert(event.time);
                    *last = (*last).max(event.time);
                }
            }
            _ => return false,
        }
        self.events_used += 1;
        true
    }

    pub fn as_of(&self) -> Timestamp {
        self.as_of
    }

    pub fn weights(&self) -> EventWeights {
        self.weights
    }

    pub fn user_ids(&self) -> &[String] {
        &self.user_ids
    }

    pub fn item_ids(&self) -> &[String] {
        &self.item_ids
    }

    pub fn user_index(&self, id: &str) -> Option<u32> {
        self.user_index.get(id).copied()
    }

    pub fn item_index(&self, id: &str) -> Option<u32> {
        self.item_index.get(id).copied()
    }

    /// Events that counted.
    pub fn events_used(&self) -> u64 {
        self.events_used
    }

    /// Number of customer-item pairs.
    pub fn len(&self) -> usize {
        self.strength.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strength.is_empty()
    }

    /// Every pair with its strength, in (user, item) order.
    pub fn pairs(&self) -> impl Iterator<Item = (u32, u32, f64)> + '_ {
        self.strength.iter().map(|(&(u, i), &s)| (u, i, s))
    }

    /// The strength of each pair, in (user, item) order, as the CF learners read it.
    #[cfg(feature = "train")]
    pub fn ratings(&self) -> Vec<Rating> {
        self.strength
            .iter()
            .map(|(&(user, item), &s)| Rating {
                user,
                item,
                value: s as f32,
            })
            .collect()
    }

    /// Strength of one pair (0 when the customer never touched the item).
    pub fn strength(&self, user: u32, item: u32) -> f64 {
        self.strength.get(&(user, item)).copied().unwrap_or(0.0)
    }

    /// The items of a customer's pairs with their strengths.
    pub fn items_of(&self, user: u32) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.strength
            .range((user, 0)..=(user, u32::MAX))
            .map(|(&(_, i), &s)| (i, s))
    }

    /// When the customer last ordered the item, by ids.
    pub fn last_purchase(&self, user_id: &str, item_id: &str) -> Option<Timestamp> {
        let key = (self.user_index(user_id)?, self.item_index(item_id)?);
        self.last_order.get(&key).copied()
    }

    /// Ids of the items the customer ordered at `since` or later.
    pub fn bought_since(&self, user_id: &str, since: Timestamp) -> Vec<&str> {
        let Some(u) = self.user_index(user_id) else {
            return Vec::new();
        };
        self.items_of(u)
            .filter(|(i, _)| self.last_order.get(&(u, *i)).is_some_and(|t| *t >= since))
            .map(|(i, _)| self.item_ids[i as usize].as_str())
            .collect()
    }

    /// Total decayed strength of each item (the popularity baseline), over the customers `include` accepts.
    pub fn item_totals(&self, include: impl Fn(&str) -> bool) -> Vec<f64> {
        let mut totals = vec![0.0; self.item_ids.len()];
        for (&(u, i), &s) in &self.strength {
            if include(&self.user_ids[u as usize]) {
                totals[i as usize] += s;
            }
        }
        totals
    }

    /// Checks that there is something to learn from.
    pub fn require_data(&self) -> Result<()> {
        if self.strength.is_empty() {
            return Err(RecommendError::Empty(format!(
                "no view, cart or order events up to {}: nothing to train on",
                self.as_of.to_rfc3339()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use discount_core::{Currency, OrderLine};

    fn event(user: &str, day: u32, kind: EventKind) -> Event {
        Event {
            id: format!("{user}-{day}-{}", kind.name()),
            user_id: user.into(),
            time: Timestamp::from_date(2024, 1, day).unwrap(),
            kind,
        }
    }

    #[test]
    fn strengths_are_weighted_and_halve_every_half_life() {
        let weights = EventWeights {
            view: 1.0,
            add_to_cart: 2.0,
            order: 4.0,
            half_life_days: 10.0,
        };
        let as_of = Timestamp::from_date(2024, 1, 21).unwrap();
        let mut x = Interactions::new(weights, as_of).unwrap();
        // A view 20 days old counts 1/4; a cart of 3 units 10 days old counts 2 × 3 / 2 = 3; an order of 2 units
        // today counts 4 × 2 = 8.
        assert!(x.push(&event(
            "u",
            1,
            EventKind::View {
                item_id: Some("a".into())
            }
        )));
        x.push(&event(
            "u",
            11,
            EventKind::AddToCart {
                item_id: "a".into(),
                quantity: 3,
            },
        ));
        x.push(&event(
            "u",
            21,
            EventKind::Order {
                order_id: "o".into(),
                currency: Currency::USD,
                lines: vec![OrderLine {
                    item_id: "a".into(),
                    quantity: 2,
                    list_price: 100,
                    paid: 200,
                    retail_discount: 0,
                    coupon_discount: 0,
                }],
            },
        ));
        // After as_of: ignored.
        assert!(!x.push(&event(
            "u",
            25,
            EventKind::View {
                item_id: Some("a".into())
            }
        )));
        let r: Vec<(u32, u32, f64)> = x.pairs().collect();
        assert_eq!(r.len(), 1);
        assert!((r[0].2 - (0.25 + 3.0 + 8.0)).abs() < 1e-9, "{r:?}");
        assert_eq!(x.last_purchase("u", "a"), Some(as_of));
        assert_eq!(x.events_used(), 3);
        assert!(Interactions::new(
            EventWeights {
                half_life_days: 0.0,
                ..weights
            },
            as_of
        )
        .is_err());
    }
}
