//! What each account did, gathered from the event stream in one pass: orders, coupons, refunds,
//! reviews, visits, and the identifiers that link it to other accounts.

use std::collections::HashMap;

use discount_core::{EventKind, Record};

use crate::identity::{LinkGraph, Rings};

/// Per-account counters. Times are microseconds since the Unix epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountStats {
    pub signup: Option<i64>,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub orders: u32,
    /// Orders with a coupon discount on some line.
    pub coupon_orders: u32,
    /// Orders of one distinct item.
    pub single_item_orders: u32,
    /// Largest quantity on one order line.
    pub max_line_quantity: u32,
    pub units: u64,
    /// Paid total of all orders (minor units).
    pub spend: i64,
    /// Coupon discount received on orders (minor units).
    pub coupon_discount: i64,
    /// List value of the orders (minor units), the base of the discount depth.
    pub list_value: i64,
    pub redemptions: u32,
    pub refunds: u32,
    pub refund_amount: i64,
    pub reviews: u32,
    pub five_star_reviews: u32,
    pub views: u32,
    pub offers_shown: u32,
    pub coupons_issued: u32,
    /// Time of the earliest order and whether it carried a coupon discount.
    pub first_order: Option<(i64, bool)>,
}

/// One order line, kept for the sliding-window rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderPoint {
    pub time: i64,
    pub account: u32,
    pub item: u32,
    pub quantity: u32,
    /// The order had this one distinct item only.
    pub single_item: bool,
    /// This line carried a coupon discount.
    pub coupon: bool,
    /// Coupon discount on the line, in basis points of its list value.
    pub discount_bp: u32,
}

/// Everything the scan keeps from the stream.
#[derive(Debug)]
pub struct Activity {
    pub account_ids: Vec<String>,
    pub accounts: Vec<AccountStats>,
    pub orders: Vec<OrderPoint>,
    /// (time, account) of each coupon redemption.
    pub redemptions: Vec<(i64, u32)>,
    pub items: usize,
    /// Latest event time seen: the "now" of the scan.
    pub end: i64,
    pub start: i64,
    /// Earliest event time (signups before it are pre-existing accounts).
    pub first_event: i64,
    links: Option<LinkGraph>,
    index: HashMap<String, u32>,
    item_index: HashMap<String, u32>,
}

impl Activity {
    pub fn new(links: LinkGraph) -> Self {
        Self {
            account_ids: Vec::new(),
            accounts: Vec::new(),
            orders: Vec::new(),
            redemptions: Vec::new(),
            items: 0,
            end: i64::MIN,
            start: i64::MAX,
            first_event: i64::MAX,
            links: Some(links),
            index: HashMap::new(),
            item_index: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// The index of the account with this id, if it was seen.
    pub fn account(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    fn account_index(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.accounts.len() as u32;
        self.index.insert(id.to_string(), i);
        self.account_ids.push(id.to_string());
        self.accounts.push(AccountStats::default());
        i
    }

    fn item_index(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.item_index.get(id) {
            return i;
        }
        let i = self.items as u32;
        self.item_index.insert(id.to_string(), i);
        self.items += 1;
        i
    }

    /// Adds one record of the stream (any order).
    pub fn add(&mut self, record: &Record) {
        match record {
            Record::Item(_) => {}
            Record::User(user) => {
                let a = self.account_index(&user.id);
                let stats = &mut self.accounts[a as usize];
                if let Some(s) = user.signup {
                    stats.signup = Some(s.0);
                    self.start = self.start.min(s.0);
                }
                if let Some(links) = self.links.as_mut() {
                    for (kind, value) in &user.attributes {
                        links.add(a, kind, value);
                    }
                }
            }
            Record::Event(event) => {
                let a = self.account_index(&event.user_id);
                let t = event.time.0;
                self.end = self.end.max(t);
                self.start = self.start.min(t);
                self.first_event = self.first_event.min(t);
                let stats = &mut self.accounts[a as usize];
                stats.first_seen = Some(stats.first_seen.map_or(t, |f| f.min(t)));
                stats.last_seen = Some(stats.last_seen.map_or(t, |l| l.max(t)));
                match &event.kind {
                    EventKind::View { .. } => stats.views += 1,
                    EventKind::OfferShown { .. } => stats.offers_shown += 1,
                    EventKind::CouponIssued { .. } => stats.coupons_issued += 1,
                    EventKind::CouponRedeemed { .. } => {
                        stats.redemptions += 1;
                        self.redemptions.push((t, a));
                    }
                    EventKind::Refund { amount, .. } => {
                        stats.refunds += 1;
                        stats.refund_amount += amount;
                    }
                    EventKind::Review { rating, .. } => {
                        stats.reviews += 1;
                        stats.five_star_reviews += u32::from(*rating == 5);
                    }
                    EventKind::Order { lines, .. } => {
                        let mut distinct: Vec<&str> =
                            lines.iter().map(|l| l.item_id.as_str()).collect();
                        distinct.sort_unstable();
                        distinct.dedup();
                        let single_item = distinct.len() == 1;
                        let coupon = lines.iter().any(|l| l.coupon_discount > 0);
                        let stats = &mut self.accounts[a as usize];
                        stats.orders += 1;
                        stats.coupon_orders += u32::from(coupon);
                        stats.single_item_orders += u32::from(single_item);
                        for l in lines {
                            stats.max_line_quantity = stats.max_line_quantity.max(l.quantity);
                            stats.units += u64::from(l.quantity);
                            stats.spend += l.paid;
                            stats.coupon_discount += l.coupon_discount;
                            stats.list_value += l.list_price.saturating_mul(i64::from(l.quantity));
                        }
                        if stats.first_order.is_none_or(|(ft, _)| t < ft) {
                            stats.first_order = Some((t, coupon));
                        }
                        for l in lines {
                            let item = self.item_index(&l.item_id);
                            let list = l.list_price.saturating_mul(i64::from(l.quantity));
                            let discount_bp = if list > 0 {
                                ((l.coupon_discount.max(0) as f64 / list as f64) * 10_000.0)
                                    .round()
                                    .min(10_000.0) as u32
                            } else {
                                0
                            };
                            self.orders.push(OrderPoint {
                                time: t,
                                account: a,
                                item,
                                quantity: l.quantity,
                                single_item,
                                coupon: l.coupon_discount > 0,
                                discount_bp,
                            });
                        }
                    }
                    EventKind::Click { .. }
                    | EventKind::AddToCart { .. }
                    | EventKind::Session { .. } => {}
                }
            }
        }
    }

    /// The account rings; the link graph is consumed (call once, after the last record).
    pub fn rings(&mut self) -> Rings {
        match self.links.take() {
            Some(links) => links.rings(self.len()),
            None => Rings {
                component: (0..self.len() as u32).collect(),
                size: vec![1; self.len()],
                shared_kinds: vec![0; self.len()],
                kinds: Vec::new(),
            },
        }
    }

    /// Days between the account's signup (or first event) and the end of the data.
    pub fn age_days(&self, account: usize) -> f64 {
        let s = &self.accounts[account];
        match s.signup.or(s.first_seen) {
            Some(t) if self.end > i64::MIN => ((self.end - t) as f64 / 86_400e6).max(0.0),
            _ => 0.0,
        }
    }

    /// Whether the account signed up inside the observed window (a new account).
    pub fn signed_up_in_window(&self, account: usize) -> bool {
        matches!(self.accounts[account].signup, Some(s) if s >= self.first_event)
    }
}
