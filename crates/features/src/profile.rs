//! A customer's profile as of a time, and the builder that folds events into it one at a time.
//!
//! Windows are half-open on the left: the 7-day window as of `t` holds the events with time in
//! `(t - 7 days, t]`, so an event exactly 7 days old has left it and an event at `t` is in it.

use std::collections::{HashMap, HashSet, VecDeque};

use discount_core::time::MICROS_PER_DAY;
use discount_core::{Currency, Event, EventKind, Timestamp};
use serde::Serialize;

use crate::error::rfc3339;
use crate::{Catalog, FeatureError};

/// The behaviour windows, in days.
pub const WINDOWS_DAYS: [u32; 3] = [7, 30, 90];

/// How many top categories the profile reports (and `top3_category_share` sums).
const TOP_CATEGORIES: usize = 3;

/// The behaviours counted per window.
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

/// Event counts per window: index `i` is the window of [`WINDOWS_DAYS`]`[i]` days.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WindowCounts {
    pub views: [u64; 3],
    pub carts: [u64; 3],
    pub orders: [u64; 3],
    pub refunds: [u64; 3],
    pub reviews: [u64; 3],
}

/// One category's share of the customer's item interactions (views, clicks, carts, reviews and
/// order lines).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CategoryShare {
    pub category: String,
    pub share: f64,
}

/// What is known of one customer as of a time. Money is in minor units of `currency`, the
/// currency of the customer's first order; orders in other currencies count as orders but add
/// no money (their amounts are not comparable).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    pub user_id: String,
    pub as_of: Timestamp,
    /// Events folded (those at or before the horizon).
    pub events: u64,
    pub tenure_days: f64,
    pub orders: u64,
    /// Days since the last order; `None` before the first order.
    pub days_since_last_order: Option<f64>,
    /// Days from the first to the last order (0 with one order or none).
    pub order_span_days: f64,
    pub currency: Option<Currency>,
    pub spend_total: i64,
    pub refund_total: i64,
    /// Orders whose amounts are in `currency`.
    pub orders_in_currency: u64,
    pub windows: WindowCounts,
    /// Orders with any retail or coupon discount, over all orders.
    pub discounted_orders: u64,
    /// Mean of discount / (paid + discount) over the discounted orders.
    pub mean_discount_depth: f64,
    pub coupons_received: u64,
    /// Coupons received that were then redeemed.
    pub coupons_redeemed: u64,
    pub distinct_categories: u64,
    pub top_categories: Vec<CategoryShare>,
}

impl Profile {
    /// Mean paid amount per order in `currency` (0 without orders).
    pub fn spend_mean_order(&self) -> f64 {
        ratio(self.spend_total as f64, self.orders_in_currency as f64)
    }

    pub fn discounted_order_share(&self) -> f64 {
        ratio(self.discounted_orders as f64, self.orders as f64)
    }

    pub fn coupon_redemption_rate(&self) -> f64 {
        ratio(self.coupons_redeemed as f64, self.coupons_received as f64)
    }

    /// Share of interactions in the `n` most frequent categories.
    pub fn top_share(&self, n: usize) -> f64 {
        self.top_categories.iter().take(n).map(|c| c.share).sum()
    }
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

fn days_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.0 - from.0) as f64 / MICROS_PER_DAY as f64
}

/// Folds one customer's events, in any order, into running aggregates; [`snapshot`] turns them
/// into a [`Profile`]. Memory per customer is bounded by the 90-day window of event times plus
/// the coupon ids and category counts.
///
/// [`snapshot`]: ProfileBuilder::snapshot
#[derive(Clone, Debug)]
pub struct ProfileBuilder {
    user_id: String,
    horizon: Option<Timestamp>,
    events: u64,
    first_event: Option<Timestamp>,
    latest_event: Option<Timestamp>,
    orders: u64,
    first_order: Option<Timestamp>,
    last_order: Option<Timestamp>,
    /// Currency and time of the earliest order: the profile's currency.
    first_order_currency: Option<(Timestamp, Currency)>,
    /// Per currency: amount paid, orders, amount refunded.
    money: HashMap<Currency, (i64, u64, i64)>,
    discounted_orders: u64,
    depth_sum: f64,
    issued: HashSet<String>,
    redeemed: HashSet<String>,
    categories: HashMap<String, u64>,
    /// Per behaviour, the sorted times of the events young enough to be in some future window.
    recent: [VecDeque<i64>; 5],
}

impl ProfileBuilder {
    pub fn new(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            horizon: None,
            events: 0,
            first_event: None,
            latest_event: None,
            orders: 0,
            first_order: None,
            last_order: None,
            first_order_currency: None,
            money: HashMap::new(),
            discounted_orders: 0,
            depth_sum: 0.0,
            issued: HashSet::new(),
            redeemed: HashSet::new(),
            categories: HashMap::new(),
            recent: Default::default(),
        }
    }

    /// A builder that ignores events after `horizon`: training folds a whole history and
    /// snapshots at the cut-off, seeing exactly what live scoring would have seen then.
    pub fn with_horizon(user_id: impl Into<String>, horizon: Timestamp) -> Self {
        Self {
            horizon: Some(horizon),
            ..Self::new(user_id)
        }
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Folds one event. Returns whether it was used (`false` when after the horizon).
    pub fn fold(&mut self, event: &Event, catalog: &Catalog) -> Result<bool, FeatureError> {
        if event.user_id != self.user_id {
            return Err(FeatureError::WrongUser {
                event_id: event.id.clone(),
                expected: self.user_id.clone(),
                found: event.user_id.clone(),
            });
        }
        let t = event.time;
        if self.horizon.is_some_and(|h| t > h) {
            return Ok(false);
        }
        self.events += 1;
        self.first_event = Some(self.first_event.map_or(t, |f| f.min(t)));
        self.latest_event = Some(self.latest_event.map_or(t, |l| l.max(t)));
        let mut interact = |item: Option<&str>| {
            if let Some(item) = item {
                *self
                    .categories
                    .entry(catalog.category(item).to_string())
                    .or_insert(0) += 1;
            }
        };
        match &event.kind {
            EventKind::View { item_id }
            | EventKind::Click { item_id, .. }
            | EventKind::Refund { item_id, .. } => interact(item_id.as_deref()),
            EventKind::AddToCart { item_id, .. } | EventKind::Review { item_id, .. } => {
                interact(Some(item_id))
            }
            EventKind::Order { lines, .. } => {
                for line in lines {
                    interact(Some(&line.item_id));
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
                let paid: i64 = lines.iter().map(|l| l.paid).sum();
                if self.first_order_currency.is_none_or(|(f, _)| t < f) {
                    self.first_order_currency = Some((t, *currency));
                }
                let money = self.money.entry(*currency).or_default();
                money.0 += paid;
                money.1 += 1;
                let discount: i64 = lines
                    .iter()
                    .map(|l| l.retail_discount + l.coupon_discount)
                    .sum();
                if discount > 0 {
                    self.discounted_orders += 1;
                    self.depth_sum += discount as f64 / (paid + discount) as f64;
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
            let at = times.partition_point(|&x| x <= t.0);
            times.insert(at, t.0);
        }
        self.prune();
        Ok(true)
    }

    /// Drops event times that no snapshot can count: snapshots are never before the latest
    /// event, so a time 90 days or more before it is outside every window.
    fn prune(&mut self) {
        let Some(latest) = self.latest_event else {
            return;
        };
        let oldest_kept = latest.0 - i64::from(WINDOWS_DAYS[2]) * MICROS_PER_DAY;
        for times in &mut self.recent {
            while times.front().is_some_and(|&x| x <= oldest_kept) {
                times.pop_front();
            }
        }
    }

    /// The profile as of `as_of`, which must not be before the latest folded event.
    pub fn snapshot(&self, as_of: Timestamp) -> Result<Profile, FeatureError> {
        if let Some(latest) = self.latest_event.filter(|&l| l > as_of) {
            return Err(FeatureError::SnapshotBeforeEvents {
                user_id: self.user_id.clone(),
                as_of: rfc3339(as_of),
                latest: rfc3339(latest),
            });
        }
        Ok(self.profile_at(as_of))
    }

    /// The profile as of `as_of`, assuming no folded event is later.
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
        let (spend_total, orders_in_currency, refund_total) = currency
            .and_then(|c| self.money.get(&c).copied())
            .unwrap_or_default();
        Profile {
            user_id: self.user_id.clone(),
            as_of,
            events: self.events,
            tenure_days: self.first_event.map_or(0.0, |f| days_between(f, as_of)),
            orders: self.orders,
            days_since_last_order: self.last_order.map(|l| days_between(l, as_of)),
            order_span_days: match (self.first_order, self.last_order) {
                (Some(f), Some(l)) => days_between(f, l),
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
            mean_discount_depth: ratio(self.depth_sum, self.discounted_orders as f64),
            coupons_received: self.issued.len() as u64,
            coupons_redeemed: self.issued.intersection(&self.redeemed).count() as u64,
            distinct_categories: self.categories.len() as u64,
            top_categories,
        }
    }
}

/// The items a history names (order lines and single-item events), sorted, each once: what to
/// look up in the catalogue before folding the history.
pub fn items_named(events: &[Event]) -> Vec<String> {
    let mut items: Vec<String> = events
        .iter()
        .flat_map(|e| match &e.kind {
            discount_core::EventKind::Order { lines, .. } => {
                lines.iter().map(|l| l.item_id.clone()).collect::<Vec<_>>()
            }
            kind => kind.item_id().map(str::to_string).into_iter().collect(),
        })
        .collect();
    items.sort();
    items.dedup();
    items
}

/// A customer's profile as of `as_of` from their events (any order; later ones are ignored) and
/// the catalogue: the one function behind `discount profile`, the service's live profile and the
/// training rows, so that all three see the same values. Returns the profile and how many events
/// it used.
pub fn profile_as_of(
    user_id: &str,
    events: &[Event],
    catalog: &Catalog,
    as_of: Timestamp,
) -> Result<(Profile, u64), FeatureError> {
    let mut builder = ProfileBuilder::with_horizon(user_id, as_of);
    let mut used = 0;
    for e in events {
        used += u64::from(builder.fold(e, catalog)?);
    }
    Ok((builder.snapshot(as_of)?, used))
}

/// How many of a customer's most recent events a live profile is built from: the service reads
/// no more per decision, so training rows use no more either.
pub const PROFILE_EVENTS: usize = 1_000;

/// A customer's profile and base feature vector ([`crate::FeatureSpec::base`]) as of `as_of`:
/// built from their events at or before `as_of` (events in time order, oldest first), the last
/// [`PROFILE_EVENTS`] of them. The one function behind the live decision and every training
/// row, so that a model sees at training exactly what it will see when it serves, and nothing
/// that happened after the moment it is asked about.
pub fn point_in_time(
    user_id: &str,
    events: &[Event],
    catalog: &Catalog,
    as_of: Timestamp,
) -> Result<(Profile, Vec<f64>), FeatureError> {
    let known: Vec<&Event> = events.iter().filter(|e| e.time <= as_of).collect();
    let recent = &known[known.len().saturating_sub(PROFILE_EVENTS)..];
    let mut builder = ProfileBuilder::with_horizon(user_id, as_of);
    for e in recent {
        builder.fold(e, catalog)?;
    }
    let profile = builder.snapshot(as_of)?;
    let vector = crate::FeatureSpec::base().vector(&profile, &[])?;
    Ok((profile, vector))
}
