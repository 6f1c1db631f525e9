//! A customer's profile as of a time, and the builder that folds events into it one at a time.
//!
//! Windows are half-open on the left: the 7-day window as of `t` holds the events with time in
//! `(t - 7 days, t]`, so an event exactly 7 days old has left it and an event at `t` is in it.

use discount_core::{Currency, Event, Timestamp};
use serde::Serialize;

use crate::{Catalog, FeatureError, ProfileState};

/// The behaviour windows, in days.
pub const WINDOWS_DAYS: [u32; 3] = [7, 30, 90];

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

pub(crate) fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// Folds one customer's events, in any order, into a [`ProfileState`]; [`snapshot`] turns it
/// into a [`Profile`]. With a horizon, events after it are ignored (training at a cut-off).
/// Memory per customer is bounded by the 90-day window of event times plus the coupon ids and
/// category counts.
///
/// [`snapshot`]: ProfileBuilder::snapshot
#[derive(Clone, Debug)]
pub struct ProfileBuilder {
    horizon: Option<Timestamp>,
    state: ProfileState,
}

impl ProfileBuilder {
    pub fn new(user_id: impl Into<String>) -> Self {
        Self {
            horizon: None,
            state: ProfileState::new(user_id),
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
        self.state.user_id()
    }

    /// Folds one event. Returns whether it was used (`false` when after the horizon).
    pub fn fold(&mut self, event: &Event, catalog: &Catalog) -> Result<bool, FeatureError> {
        if event.user_id == self.state.user_id() && self.horizon.is_some_and(|h| event.time > h) {
            return Ok(false);
        }
        self.state.apply(event, catalog)?;
        Ok(true)
    }

    /// The profile as of `as_of`, which must not be before the latest folded event.
    pub fn snapshot(&self, as_of: Timestamp) -> Result<Profile, FeatureError> {
        self.state.snapshot(as_of)
    }

    /// The profile as of `as_of`, assuming no folded event is later.
    pub(crate) fn profile_at(&self, as_of: Timestamp) -> Profile {
        self.state.profile_at(as_of)
    }

    /// The state folded so far.
    pub fn into_state(self) -> ProfileState {
        self.state
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

/// A customer's profile and base feature vector ([`crate::FeatureSpec::base`]) as of `as_of`:
/// built from their events at or before `as_of` (any order). The one function behind the live
/// decision (which keeps the same value up to date in a [`ProfileState`]) and every training
/// row, so that a model sees at training exactly what it will see when it serves, and nothing
/// that happened after the moment it is asked about.
pub fn point_in_time(
    user_id: &str,
    events: &[Event],
    catalog: &Catalog,
    as_of: Timestamp,
) -> Result<(Profile, Vec<f64>), FeatureError> {
    let mut builder = ProfileBuilder::with_horizon(user_id, as_of);
    for e in events {
        builder.fold(e, catalog)?;
    }
    let profile = builder.snapshot(as_of)?;
    let vector = crate::FeatureSpec::base_ref().vector(&profile, &[])?;
    Ok((profile, vector))
}
