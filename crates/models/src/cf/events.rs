//! Implicit feedback from a shop's events, split in time: what customers viewed, carted and
//! ordered before a cut-off trains the model; what they ordered after it is what the model should
//! have recommended.
//!
//! Interaction strength of a (customer, item) pair before the cut-off is the sum over its events
//! of [`ImplicitWeights`]: a product view 1, each unit added to the cart 3, each unit ordered 5
//! (an order says more about taste than a look). Other events (clicks, reviews, refunds, offers)
//! are not counted. The test set is the pairs ordered after the cut-off, minus the pairs already
//! in training (a model is not asked to recommend what the customer already has) and minus the
//! pairs whose customer or item has no training interaction (no factorisation model can score
//! those); the split says how many of each it dropped.

use std::collections::{BTreeMap, HashMap, HashSet};

use discount_core::{Event, EventKind, Timestamp};
use serde::{Deserialize, Serialize};

use super::data::{Rating, Ratings};

/// Strength of each kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImplicitWeights {
    /// Per product view.
    pub view: f32,
    /// Per unit added to the cart.
    pub add_to_cart: f32,
    /// Per unit ordered.
    pub order: f32,
}

impl Default for ImplicitWeights {
    fn default() -> Self {
        Self {
            view: 1.0,
            add_to_cart: 3.0,
            order: 5.0,
        }
    }
}

/// One event's contribution to a pair.
#[derive(Debug, Clone, Copy)]
struct Touch {
    user: u32,
    item: u32,
    time: Timestamp,
    strength: f32,
    /// `view`, `add_to_cart` or `order_line`.
    kind: &'static str,
}

/// Views, carts and order lines collected from events.
#[derive(Debug, Default)]
pub struct ShopInteractions {
    weights: ImplicitWeights,
    users: Vec<String>,
    user_index: HashMap<String, u32>,
    items: Vec<String>,
    item_index: HashMap<String, u32>,
    touches: Vec<Touch>,
}

fn intern(ids: &mut Vec<String>, index: &mut HashMap<String, u32>, id: &str) -> u32 {
    if let Some(&i) = index.get(id) {
        return i;
    }
    let i = ids.len() as u32;
    ids.push(id.to_string());
    index.insert(id.to_string(), i);
    i
}

/// The training and test interactions of a time split.
#[derive(Debug, Clone)]
pub struct TimeSplit {
    /// Dense ids of the customers and items with a training interaction (`entries` is empty:
    /// the interactions are `train` and `test`).
    pub ids: Ratings,
    /// Strength of each (customer, item) pair before the cut-off.
    pub train: Vec<Rating>,
    /// Pairs ordered after the cut-off (value 1), scoreable and new to the customer.
    pub test: Vec<Rating>,
    /// Counts of the events used, by kind, before and after the cut-off.
    pub events_before: BTreeMap<&'static str, usize>,
    pub ordered_pairs_after: usize,
    /// Ordered after the cut-off but already in the customer's training interactions.
    pub dropped_already_known: usize,
    /// Ordered after the cut-off by a customer, or of an item, with no training interaction.
    pub dropped_cold: usize,
}

impl ShopInteractions {
    pub fn new(weights: ImplicitWeights) -> Self {
        Self {
            weights,
            ..Self::default()
        }
    }

    /// Adds an event (product views, carts and orders; others are ignored). Returns whether it
    /// counted.
    pub fn push(&mut self, event: &Event) -> bool {
        let w = self.weights;
        let add = |this: &mut Self, item: &str, strength: f32, kind: &'static str| {
            let user = intern(&mut this.users, &mut this.user_index, &event.user_id);
            let item = intern(&mut this.items, &mut this.item_index, item);
            this.touches.push(Touch {
                user,
                item,
                time: event.time,
                strength,
                kind,
            });
        };
        match &event.kind {
            EventKind::View {
                item_id: Some(item),
            } => add(self, item, w.view, "view"),
            EventKind::AddToCart { item_id, quantity } => add(
                self,
                item_id,
                w.add_to_cart * *quantity as f32,
                "add_to_cart",
            ),
            EventKind::Order { lines, .. } => {
                for l in lines {
                    add(self, &l.item_id, w.order * l.quantity as f32, "order_line");
                }
            }
            _ => return false,
        }
        true
    }

    /// Interactions collected (a view, a cart, an order line each).
    pub fn len(&self) -> usize {
        self.touches.len()
    }

    pub fn is_empty(&self) -> bool {
        self.touches.is_empty()
    }

    /// Time of the first and the last interaction.
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        let first = self.touches.iter().map(|t| t.time).min()?;
        let last = self.touches.iter().map(|t| t.time).max()?;
        Some((first, last))
    }

    /// The cut-off that leaves the last `test_share` of the span after it.
    pub fn default_cutoff(&self, test_share: f64) -> Option<Timestamp> {
        let (first, last) = self.span()?;
        let span = (last.0 - first.0) as f64;
        Some(Timestamp(last.0 - (span * test_share).round() as i64))
    }

    /// Splits at `cutoff`: interactions at or before it train, orders after it test.
    pub fn split(&self, cutoff: Timestamp) -> TimeSplit {
        let mut strength: BTreeMap<(u32, u32), f32> = BTreeMap::new();
        let mut events_before: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut ordered_after: HashSet<(u32, u32)> = HashSet::new();
        for t in &self.touches {
            if t.time <= cutoff {
                *strength.entry((t.user, t.item)).or_insert(0.0) += t.strength;
                *events_before.entry(t.kind).or_insert(0) += 1;
            } else if t.kind == "order_line" {
                ordered_after.insert((t.user, t.item));
            }
        }
        // Dense indices over the training pairs only: a model can score nothing else.
        let (mut user_ids, mut user_index) = (Vec::new(), HashMap::new());
        let (mut item_ids, mut item_index) = (Vec::new(), HashMap::new());
        let mut train = Vec::with_capacity(strength.len());
        for (&(u, i), &value) in &strength {
            train.push(Rating {
                user: intern(&mut user_ids, &mut user_index, &self.users[u as usize]),
                item: intern(&mut item_ids, &mut item_index, &self.items[i as usize]),
                value,
            });
        }
        let mut after: Vec<(u32, u32)> = ordered_after.into_iter().collect();
        after.sort_unstable();
        let (mut known, mut cold) = (0, 0);
        let mut test = Vec::new();
        for &(u, i) in &after {
            if strength.contains_key(&(u, i)) {
                known += 1;
                continue;
            }
            let user = user_index.get(&self.users[u as usize]);
            let item = item_index.get(&self.items[i as usize]);
            match (user, item) {
                (Some(&user), Some(&item)) => test.push(Rating {
                    user,
                    item,
                    value: 1.0,
                }),
                _ => cold += 1,
            }
        }
        TimeSplit {
            ids: Ratings {
                entries: Vec::new(),
                user_ids,
                item_ids,
            },
            train,
            test,
            events_before,
            ordered_pairs_after: after.len(),
            dropped_already_known: known,
            dropped_cold: cold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use discount_core::{Currency, OrderLine};

    fn at(day: u32) -> Timestamp {
        Timestamp::from_date(2024, 5, day).unwrap()
    }

    fn event(user: &str, day: u32, kind: EventKind) -> Event {
        Event {
            id: format!("{user}-{day}-{}", kind.name()),
            user_id: user.into(),
            time: at(day),
            kind,
        }
    }

    fn order(items: &[(&str, u32)]) -> EventKind {
        EventKind::Order {
            order_id: "o".into(),
            currency: Currency::USD,
            lines: items
                .iter()
                .map(|(i, q)| OrderLine {
                    item_id: (*i).into(),
                    quantity: *q,
                    list_price: 100,
                    paid: 100 * i64::from(*q),
                    retail_discount: 0,
                    coupon_discount: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn weights_add_up_and_the_split_keeps_new_scoreable_orders() {
        let view = |i: &str| EventKind::View {
            item_id: Some(i.into()),
        };
        let events = [
            event("ann", 1, view("a")),
            event(
                "ann",
                2,
                EventKind::AddToCart {
                    item_id: "a".into(),
                    quantity: 2,
                },
            ),
            event("ann", 3, order(&[("a", 1), ("b", 2)])),
            event("bob", 4, view("c")),
            event("bob", 5, EventKind::View { item_id: None }),
            // After the cut-off (day 10): ann orders a (known), c (new); bob orders a (new), d
            // (an item nobody touched before: cold); cy is a new customer (cold).
            event("ann", 11, order(&[("a", 1), ("c", 1)])),
            event("bob", 12, order(&[("a", 1), ("d", 1)])),
            event("cy", 12, order(&[("a", 1)])),
            event("bob", 13, view("b")),
        ];
        let mut s = ShopInteractions::new(ImplicitWeights::default());
        let counted = events.iter().filter(|e| s.push(e)).count();
        assert_eq!(counted, 8, "the visit without an item does not count");
        let split = s.split(at(10));
        let strength = |u: &str, i: &str| {
            let u = split.ids.user_ids.iter().position(|x| x == u).unwrap() as u32;
            let i = split.ids.item_ids.iter().position(|x| x == i).unwrap() as u32;
            split
                .train
                .iter()
                .find(|r| r.user == u && r.item == i)
                .unwrap()
                .value
        };
        // ann/a: a view (1) + 2 units carted (6) + 1 unit ordered (5).
        assert_eq!(strength("ann", "a"), 12.0);
        assert_eq!(strength("ann", "b"), 10.0);
        assert_eq!(strength("bob", "c"), 1.0);
        assert_eq!(split.train.len(), 3);
        assert_eq!(split.ordered_pairs_after, 5);
        assert_eq!(split.dropped_already_known, 1);
        assert_eq!(split.dropped_cold, 2);
        assert_eq!(split.test.len(), 2);
        assert_eq!(split.events_before.get("order_line"), Some(&2));
        assert_eq!(
            s.default_cutoff(0.2),
            Some(Timestamp(at(13).0 - (at(13).0 - at(1).0) / 5))
        );
    }
}
