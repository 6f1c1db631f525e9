//! A customer's profile state: everything needed to answer their [`Profile`] at any time from
//! the latest event on, kept up to date one event at a time.
//!
//! The state is what [`crate::ProfileBuilder`] folds into, so a state updated as events arrive
//! and a state rebuilt from the stored history are the same value whatever the order the events
//! came in: every aggregate is order-independent (counts, sums in integers, minima and maxima,
//! sets), the mean discount depth included (summed in fixed point, not in floating point, whose
//! sums depend on their order).
//!
//! Windowed counts are answered at the snapshot time, not at the time of the last event: the
//! state keeps, per behaviour, the exact times of the events of the last 90 days before its
//! latest event (older ones are outside every window of every later snapshot), so that a 7-day
//! count at `now` counts exactly the events in `(now - 7 days, now]`.
//!
//! Item categories are resolved when an event is applied. An item the catalogue did not know
//! then (or knew only as the store's placeholder) is counted under `unknown` and remembered, so
//! that [`ProfileState::recategorise`] can move its interactions to the real category once the
//! catalogue has it, as a rebuild would count them.
//!
//! The state serialises compactly (short field names, empty fields left out, window times as
//! differences) for a cache shared between processes or kept across restarts.

use std::collections::{BTreeMap, BTreeSet};

use discount_core::time::MICROS_PER_DAY;
use discount_core::{Currency, Event, EventKind, Timestamp};
use serde::{Deserialize, Serialize};

use crate::catalog::UNKNOWN_CATEGORY;
use crate::error::rfc3339;
use crate::profile::{ratio, CategoryShare, Profile, WindowCounts, WINDOWS_DAYS};
use crate::{Catalog, FeatureError};

/// How many top categories the profile reports (and `top3_category_share` sums).
const TOP_CATEGORIES: usize = 3;

/// One unit of discount depth in the fixed-point sum: depths are rounded to multiples of
/// 2^-52, so a sum of a million depths is still exact in `u128`.
const DEPTH_ONE: f64 = (1u64 << 52) as f64;

/// The behaviours counted per window, in the order of [`ProfileState`]'s window times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    View = 0,
    Cart = 1,
    Order = 2,
    Refund = 3,
    Review = 4,
}

impl Behaviour {
    fn of(kind: &EventKind) -> Option<Self> {
        match kind {
            EventKind::View { .. } => Some(Self::View),
            EventKind::AddToCart { .. } => Some(Self::Cart),
            EventKind::Order { .. } => Some(Self::Order),
            EventKind::Refund { .. } => Some(Self::Refund),
            EventKind::Review { .. } => Some(Self::Review),
            _ => None,
        }
    }
}

/// Money of one currency: amount paid, orders, amount refunded (minor units).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct CurrencyMoney(i64, u64, i64);

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_wide(n: &u128) -> bool {
    *n == 0
}

/// What is kept of one customer's events. See the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileState {
    #[serde(rename = "u")]
    user_id: String,
    /// Events applied.
    #[serde(rename = "n", default)]
    events: u64,
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    first_event: Option<i64>,
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    latest_event: Option<i64>,
    #[serde(rename = "o", default, skip_serializing_if = "is_zero")]
    orders: u64,
    #[serde(rename = "fo", default, skip_serializing_if = "Option::is_none")]
    first_order: Option<i64>,
    #[serde(rename = "lo", default, skip_serializing_if = "Option::is_none")]
    last_order: Option<i64>,
    /// Time and currency of the earliest order (the earlier currency wins a tie of times, so
    /// that the choice does not depend on the order of arrival): the profile's currency.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    first_order_currency: Option<(i64, Currency)>,
    #[serde(rename = "m", default, skip_serializing_if = "BTreeMap::is_empty")]
    money: BTreeMap<Currency, CurrencyMoney>,
    #[serde(rename = "d", default, skip_serializing_if = "is_zero")]
    discounted_orders: u64,
    /// Sum of the discounted orders' depths in units of 2^-52.
    #[serde(rename = "ds", default, skip_serializing_if = "is_zero_wide")]
    depth_sum: u128,
    #[serde(rename = "ci", default, skip_serializing_if = "BTreeSet::is_empty")]
    issued: BTreeSet<String>,
    #[serde(rename = "cr", default, skip_serializing_if = "BTreeSet::is_empty")]
    redeemed: BTreeSet<String>,
    /// Item interactions per category.
    #[serde(rename = "k", default, skip_serializing_if = "BTreeMap::is_empty")]
    categories: BTreeMap<String, u64>,
    /// Interactions counted under the unknown category, per item.
    #[serde(rename = "ku", default, skip_serializing_if = "BTreeMap::is_empty")]
    unknown_items: BTreeMap<String, u64>,
    /// Per behaviour, the sorted times of the events young enough to be in some future window.
    #[serde(rename = "w", default, with = "window_times")]
    recent: [Vec<i64>; 5],
}

impl ProfileState {
    pub fn new(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            ..Self::default()
        }
    }

    /// A state of `events` (in any order), items resolved through `catalog`: the rebuild from
    /// history that an incrementally updated state must equal.
    pub fn rebuild(
        user_id: impl Into<String>,
        events: &[Event],
        catalog: &Catalog,
    ) -> Result<Self, FeatureError> {
        let mut state = Self::new(user_id);
        for e in events {
            state.apply(e, catalog)?;
        }
        Ok(state)
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// How many events were applied.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The time of the latest event applied: the earliest time a snapshot may be taken.
    pub fn latest_event(&self) -> Option<Timestamp> {
        self.latest_event.map(Timestamp)
    }

    /// Items whose interactions are counted under the unknown category, awaiting a catalogue
    /// that knows them (see [`ProfileState::recategorise`]).
    pub fn unknown_items(&self) -> impl Iterator<Item = &str> {
        self.unknown_items.keys().map(String::as_str)
    }

    /// Applies one event, resolving its items through `catalog`. Events of another customer are
    /// refused.
    pub fn apply(&mut self, event: &Event, catalog: &Catalog) -> Result<(), FeatureError> {
        if event.user_id != self.user_id {
            return Err(FeatureError::WrongUser {
                event_id: event.id.clone(),
                expected: self.user_id.clone(),
                found: event.user_id.clone(),
            });
        }
        let t = event.time.0;
        self.events += 1;
        self.first_event = Some(self.first_event.map_or(t, |f| f.min(t)));
        self.latest_event = Some(self.latest_event.map_or(t, |l| l.max(t)));
        match &event.kind {
            EventKind::View { item_id }
            | EventKind::Click { item_id, .. }
            | EventKind::Refund { item_id, .. } => {
                if let Some(item) = item_id {
                    self.interact(item, catalog);
                }
            }
            EventKind::AddToCart { item_id, .. } | EventKind::Review { item_id, .. } => {
                self.interact(item_id, catalog)
            }
            EventKind::Order { lines, .. } => {
                for line in lines {
                    self.interact(&line.item_id, catalog);
                }
            }
            _ => {}
        }
        match &event.kind {
            EventKind::Order {
                currency, lines, ..
            } => {
                self.orders += 1;
                self.first_order = Some(self.first_order.map_or(t, |f| f.min(t)));
                self.last_order = Some(self.last_order.map_or(t, |l| l.max(t)));
                if self
                    .first_order_currency
                    .is_none_or(|first| (t, *currency) < first)
                {
                    self.first_order_currency = Some((t, *currency));
                }
                let paid: i64 = lines.iter().map(|l| l.paid).sum();
                let money = self.money.entry(*currency).or_default();
                money.0 += paid;
                money.1 += 1;
                let discount: i64 = lines
                    .iter()
                    .map(|l| l.retail_discount + l.coupon_discount)
                    .sum();
                if discount > 0 {
                    self.discounted_orders += 1;
                    // Validated lines have paid and discounts >= 0, so the depth is in (0, 1].
                    let depth = (discount as f64 / (paid + discount) as f64).clamp(0.0, 1.0);
                    self.depth_sum += (depth * DEPTH_ONE).round() as u128;
                }
            }
            EventKind::Refund {
                currency, amount, ..
            } => {
                self.money.entry(*currency).or_default().2 += amount;
            }
            EventKind::CouponIssued { coupon_id, .. } => {
                self.issued.insert(coupon_id.clone());
            }
            EventKind::CouponRedeemed { coupon_id, .. } => {
                self.redeemed.insert(coupon_id.clone());
            }
            _ => {}
        }
        if let Some(b) = Behaviour::of(&event.kind) {
            let times = &mut self.recent[b as usize];
            let at = times.partition_point(|&x| x <= t);
            times.insert(at, t);
        }
        self.prune();
        Ok(())
    }

    fn interact(&mut self, item: &str, catalog: &Catalog) {
        let category = catalog.category(item);
        *self.categories.entry(category.to_string()).or_insert(0) += 1;
        if category == UNKNOWN_CATEGORY {
            *self.unknown_items.entry(item.to_string()).or_insert(0) += 1;
        }
    }

    /// Moves the interactions with items that were unknown when applied to the categories
    /// `catalog` now gives them; returns whether anything moved. The state then equals a
    /// rebuild of the same events through `catalog`.
    pub fn recategorise(&mut self, catalog: &Catalog) -> bool {
        let known: Vec<(String, String)> = self
            .unknown_items
            .keys()
            .filter(|item| catalog.category(item) != UNKNOWN_CATEGORY)
            .map(|item| (item.clone(), catalog.category(item).to_string()))
            .collect();
        for (item, category) in &known {
            let n = self.unknown_items.remove(item).unwrap_or(0);
            if let Some(unknown) = self.categories.get_mut(UNKNOWN_CATEGORY) {
                *unknown = unknown.saturating_sub(n);
                if *unknown == 0 {
                    self.categories.remove(UNKNOWN_CATEGORY);
                }
            }
            *self.categories.entry(category.clone()).or_insert(0) += n;
        }
        !known.is_empty()
    }

    /// Drops event times that no snapshot can count: snapshots are never before the latest
    /// event, so a time 90 days or more before it is outside every window.
    fn prune(&mut self) {
        let Some(latest) = self.latest_event else {
            return;
        };
        let oldest_kept = latest - i64::from(WINDOWS_DAYS[2]) * MICROS_PER_DAY;
        for times in &mut self.recent {
            let stale = times.partition_point(|&x| x <= oldest_kept);
            times.drain(..stale);
        }
    }

    /// The profile as of `as_of`, which must not be before the latest applied event.
    pub fn snapshot(&self, as_of: Timestamp) -> Result<Profile, FeatureError> {
        if let Some(latest) = self.latest_event.filter(|&l| l > as_of.0) {
            return Err(FeatureError::SnapshotBeforeEvents {
                user_id: self.user_id.clone(),
                as_of: rfc3339(as_of),
                latest: rfc3339(Timestamp(latest)),
            });
        }
        Ok(self.profile_at(as_of))
    }

    /// The profile and base feature vector ([`crate::FeatureSpec::base`]) as of `as_of`: what
    /// [`crate::point_in_time`] gives for the same events.
    pub fn point_in_time(&self, as_of: Timestamp) -> Result<(Profile, Vec<f64>), FeatureError> {
        let profile = self.snapshot(as_of)?;
        let vector = crate::FeatureSpec::base_ref().vector(&profile, &[])?;
        Ok((profile, vector))
    }

    /// The profile as of `as_of`, assuming no applied event is later.
    pub(crate) fn profile_at(&self, as_of: Timestamp) -> Profile {
        let count = |b: Behaviour| -> [u64; 3] {
            let times = &self.recent[b as usize];
            WINDOWS_DAYS.map(|days| {
                let start = as_of.0 - i64::from(days) * MICROS_PER_DAY;
                (times.len() - times.partition_point(|&x| x <= start)) as u64
            })
        };
        let interactions: u64 = self.categories.values().sum();
        let mut ranked: Vec<(&String, &u64)> = self.categories.iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let top_categories = ranked
            .iter()
            .take(TOP_CATEGORIES)
            .map(|(category, n)| CategoryShare {
                category: (*category).clone(),
                share: ratio(**n as f64, interactions as f64),
            })
            .collect();
        let currency = self.first_order_currency.map(|(_, c)| c);
        let CurrencyMoney(spend_total, orders_in_currency, refund_total) = currency
            .and_then(|c| self.money.get(&c).copied())
            .unwrap_or_default();
        let days = |from: i64, to: i64| (to - from) as f64 / MICROS_PER_DAY as f64;
        Profile {
            user_id: self.user_id.clone(),
            as_of,
            events: self.events,
            tenure_days: self.first_event.map_or(0.0, |f| days(f, as_of.0)),
            orders: self.orders,
            days_since_last_order: self.last_order.map(|l| days(l, as_of.0)),
            order_span_days: match (self.first_order, self.last_order) {
                (Some(f), Some(l)) => days(f, l),
                _ => 0.0,
            },
            currency,
            spend_total,
            refund_total,
            orders_in_currency,
            windows: WindowCounts {
                views: count(Behaviour::View),
                carts: count(Behaviour::Cart),
                orders: count(Behaviour::Order),
                refunds: count(Behaviour::Refund),
                reviews: count(Behaviour::Review),
            },
            discounted_orders: self.discounted_orders,
            mean_discount_depth: ratio(
                self.depth_sum as f64 / DEPTH_ONE,
                self.discounted_orders as f64,
            ),
            coupons_received: self.issued.len() as u64,
            coupons_redeemed: self.issued.intersection(&self.redeemed).count() as u64,
            distinct_categories: self.categories.len() as u64,
            top_categories,
        }
    }

    /// The state as compact JSON.
    pub fn to_json(&self) -> Result<String, FeatureError> {
        serde_json::to_string(self).map_err(FeatureError::StateEncoding)
    }

    /// A state written by [`ProfileState::to_json`].
    pub fn from_json(text: &str) -> Result<Self, FeatureError> {
        serde_json::from_str(text).map_err(FeatureError::StateEncoding)
    }
}

/// Window times written as the first time then the differences between neighbours (sorted, so
/// never negative), which are short numbers where the absolute times are sixteen digits.
mod window_times {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(times: &[Vec<i64>; 5], s: S) -> Result<S::Ok, S::Error> {
        let deltas: Vec<Vec<i64>> = times
            .iter()
            .map(|t| {
                let mut previous = 0;
                t.iter()
                    .map(|&x| {
                        let d = x - previous;
                        previous = x;
                        d
                    })
                    .collect()
            })
            .collect();
        deltas.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[Vec<i64>; 5], D::Error> {
        let deltas: Vec<Vec<i64>> = Vec::deserialize(d)?;
        if deltas.len() != 5 {
            return Err(serde::de::Error::invalid_length(
                deltas.len(),
                &"the window times of 5 behaviours",
            ));
        }
        let mut out: [Vec<i64>; 5] = Default::default();
        for (slot, d) in out.iter_mut().zip(deltas) {
            let mut at = 0i64;
            for delta in d {
                if delta < 0 && !slot.is_empty() {
                    return Err(serde::de::Error::custom(
                        "window times are not in order (a negative difference)",
                    ));
                }
                at = at
                    .checked_add(delta)
                    .ok_or_else(|| serde::de::Error::custom("a window time overflows 64 bits"))?;
                slot.push(at);
            }
        }
        Ok(out)
    }
}
