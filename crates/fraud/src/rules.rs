//! The named rules. Each is configurable, can be switched off, and says in words why it fired.
//!
//! | rule | fires when |
//! |---|---|
//! | `ring_new_customer_coupon` | an account used a new-customer coupon (a coupon on its first order) after `max_per_ring` other accounts of its ring already did |
//! | `order_brushing` | within a sliding window (1 h), orders of one item (or of the shop) per unique buyer reach `min_ratio` (the Shopee rule: >= 3), and the buyer itself placed at least `min_ratio` of them; accounts of one ring count as one buyer |
//! | `refund_rate` | refunds / orders >= `max_rate` over at least `min_orders` orders |
//! | `coupon_velocity` | a ring (or a lone account) redeemed coupons at `max_redemptions` separate checkouts within a sliding window (24 h) |
//! | `bulk_discount_basket` | an order made only of one discounted item at the maximum quantity (>= `max_quantity` units, >= `min_discount_percent` off) |

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::activity::{Activity, OrderPoint};
use crate::identity::Rings;
use crate::FraudError;

/// The rule names, in the order reports list them.
pub const RULE_NAMES: [&str; 5] = [
    "ring_new_customer_coupon",
    "order_brushing",
    "refund_rate",
    "coupon_velocity",
    "bulk_discount_basket",
];

/// Why one rule fired for one account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHit {
    pub rule: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RingCouponRule {
    pub enabled: bool,
    /// New-customer coupons a ring may use before further ones are flagged.
    pub max_per_ring: u32,
}

impl Default for RingCouponRule {
    fn default() -> Self {
        Self {
            enabled: true,
            max_per_ring: 1,
        }
    }
}

/// Whether order concentration is counted per item or over the whole shop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrushingScope {
    Item,
    Shop,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrushingRule {
    pub enabled: bool,
    pub window_seconds: i64,
    /// Orders per unique buyer in the window at which it fires.
    pub min_ratio: f64,
    pub scope: BrushingScope,
}

impl Default for BrushingRule {
    fn default() -> Self {
        Self {
            enabled: true,
            window_seconds: 3600,
            min_ratio: 3.0,
            scope: BrushingScope::Item,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RefundRule {
    pub enabled: bool,
    pub min_orders: u32,
    pub max_rate: f64,
}

impl Default for RefundRule {
    fn default() -> Self {
        Self {
            enabled: true,
            min_orders: 3,
            max_rate: 0.5,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VelocityRule {
    pub enabled: bool,
    pub window_seconds: i64,
    pub max_redemptions: u32,
}

impl Default for VelocityRule {
    fn default() -> Self {
        Self {
            enabled: true,
            window_seconds: 86_400,
            max_redemptions: 3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BulkBasketRule {
    pub enabled: bool,
    /// The shop's maximum quantity per line (or the quantity that counts as bulk).
    pub max_quantity: u32,
    pub min_discount_percent: f64,
}

impl Default for BulkBasketRule {
    fn default() -> Self {
        Self {
            enabled: true,
            max_quantity: 10,
            min_discount_percent: 10.0,
        }
    }
}

/// All rule settings; `discount fraud scan --rules FILE.toml` reads this shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    pub ring_new_customer_coupon: RingCouponRule,
    pub order_brushing: BrushingRule,
    pub refund_rate: RefundRule,
    pub coupon_velocity: VelocityRule,
    pub bulk_discount_basket: BulkBasketRule,
}

impl RulesConfig {
    pub fn validate(&self) -> Result<(), FraudError> {
        let b = &self.order_brushing;
        if b.window_seconds <= 0 {
            return Err(FraudError::config(
                "order_brushing.window_seconds",
                b.window_seconds,
                "must be positive",
            ));
        }
        if !(b.min_ratio.is_finite() && b.min_ratio >= 1.0) {
            return Err(FraudError::config(
                "order_brushing.min_ratio",
                b.min_ratio,
                "must be at least 1",
            ));
        }
        let r = &self.refund_rate;
        if !(r.max_rate > 0.0 && r.max_rate <= 1.0) {
            return Err(FraudError::config(
                "refund_rate.max_rate",
                r.max_rate,
                "must be in (0, 1]",
            ));
        }
        if r.min_orders == 0 {
            return Err(FraudError::config(
                "refund_rate.min_orders",
                0,
                "must be at least 1",
            ));
        }
        let v = &self.coupon_velocity;
        if v.window_seconds <= 0 {
            return Err(FraudError::config(
                "coupon_velocity.window_seconds",
                v.window_seconds,
                "must be positive",
            ));
        }
        if v.max_redemptions < 2 {
            return Err(FraudError::config(
                "coupon_velocity.max_redemptions",
                v.max_redemptions,
                "must be at least 2",
            ));
        }
        let q = &self.bulk_discount_basket;
        if q.max_quantity < 2 {
            return Err(FraudError::config(
                "bulk_discount_basket.max_quantity",
                q.max_quantity,
                "must be at least 2",
            ));
        }
        if !(0.0..=100.0).contains(&q.min_discount_percent) {
            return Err(FraudError::config(
                "bulk_discount_basket.min_discount_percent",
                q.min_discount_percent,
                "must be in [0, 100]",
            ));
        }
        Ok(())
    }
}

/// Per account, the rules that fired (index = account).
pub type RuleHits = Vec<Vec<RuleHit>>;

fn hit(hits: &mut RuleHits, account: u32, rule: &str, detail: String) {
    let list = &mut hits[account as usize];
    if !list.iter().any(|h| h.rule == rule) {
        list.push(RuleHit {
            rule: rule.to_string(),
            detail,
        });
    }
}

fn hours(seconds: i64) -> String {
    if seconds % 3600 == 0 {
        format!("{} h", seconds / 3600)
    } else {
        format!("{seconds} s")
    }
}

/// Runs every enabled rule over the activity and its rings.
pub fn evaluate(config: &RulesConfig, activity: &Activity, rings: &Rings) -> RuleHits {
    let mut hits: RuleHits = vec![Vec::new(); activity.len()];
    if config.ring_new_customer_coupon.enabled {
        ring_new_customer_coupon(&config.ring_new_customer_coupon, activity, rings, &mut hits);
    }
    if config.order_brushing.enabled {
        order_brushing(&config.order_brushing, &activity.orders, rings, &mut hits);
    }
    if config.refund_rate.enabled {
        let r = &config.refund_rate;
        for (a, s) in activity.accounts.iter().enumerate() {
            if s.orders >= r.min_orders {
                let rate = f64::from(s.refunds) / f64::from(s.orders);
                if rate >= r.max_rate {
                    let detail = format!(
                        "{} refunds on {} orders ({:.0}% >= {:.0}%)",
                        s.refunds,
                        s.orders,
                        rate * 100.0,
                        r.max_rate * 100.0
                    );
                    hit(&mut hits, a as u32, "refund_rate", detail);
                }
            }
        }
    }
    if config.coupon_velocity.enabled {
        coupon_velocity(
            &config.coupon_velocity,
            &activity.redemptions,
            rings,
            &mut hits,
        );
    }
    if config.bulk_discount_basket.enabled {
        let q = &config.bulk_discount_basket;
        let min_bp = (q.min_discount_percent * 100.0).round() as u32;
        for o in &activity.orders {
            if o.single_item && o.coupon && o.quantity >= q.max_quantity && o.discount_bp >= min_bp
            {
                let detail = format!(
                    "an order of {} units of one item only, {:.0}% off by coupon (bulk >= {} units)",
                    o.quantity,
                    f64::from(o.discount_bp) / 100.0,
                    q.max_quantity
                );
                hit(&mut hits, o.account, "bulk_discount_basket", detail);
            }
        }
    }
    hits
}

fn ring_new_customer_coupon(
    rule: &RingCouponRule,
    activity: &Activity,
    rings: &Rings,
    hits: &mut RuleHits,
) {
    let mut by_ring: HashMap<u32, Vec<(i64, u32)>> = HashMap::new();
    for (a, s) in activity.accounts.iter().enumerate() {
        if let Some((t, true)) = s.first_order {
            if rings.in_ring(a) {
                by_ring
                    .entry(rings.component[a])
                    .or_default()
                    .push((t, a as u32));
            }
        }
    }
    for users in by_ring.values_mut() {
        users.sort_unstable();
        for (n, &(_, a)) in users.iter().enumerate().skip(rule.max_per_ring as usize) {
            let first = users[0].1 as usize;
            let detail = format!(
                "new-customer coupon #{} in a ring of {} accounts linked by {}; the ring's first was used by {}",
                n + 1,
                rings.size[a as usize],
                rings.shared_kind_names(a as usize).join("+"),
                activity.account_ids[first]
            );
            hit(hits, a, "ring_new_customer_coupon", detail);
        }
    }
}

fn order_brushing(rule: &BrushingRule, orders: &[OrderPoint], rings: &Rings, hits: &mut RuleHits) {
    // Group by scope key, then sweep each group in time order with a sliding window.
    let key = |o: &OrderPoint| match rule.scope {
        BrushingScope::Item => o.item,
        BrushingScope::Shop => 0,
    };
    let mut sorted: Vec<&OrderPoint> = orders.iter().collect();
    sorted.sort_unstable_by_key(|o| (key(o), o.time, o.account));
    let window = rule.window_seconds * 1_000_000;
    let mut start = 0;
    while start < sorted.len() {
        let k = key(sorted[start]);
        let end = start + sorted[start..].iter().take_while(|o| key(o) == k).count();
        let group = &sorted[start..end];
        let mut per_buyer: HashMap<u32, u32> = HashMap::new();
        let mut left = 0;
        for right in 0..group.len() {
            let t = group[right].time;
            while group[left].time <= t - window {
                let b = rings.component[group[left].account as usize];
                if let Some(c) = per_buyer.get_mut(&b) {
                    *c -= 1;
                    if *c == 0 {
                        per_buyer.remove(&b);
                    }
                }
                left += 1;
            }
            let buyer = rings.component[group[right].account as usize];
            let own = {
                let c = per_buyer.entry(buyer).or_insert(0);
                *c += 1;
                *c
            };
            let n = right - left + 1;
            let ratio = n as f64 / per_buyer.len() as f64;
            if ratio >= rule.min_ratio && f64::from(own) >= rule.min_ratio {
                for o in &group[left..=right] {
                    if rings.component[o.account as usize] == buyer {
                        let detail = format!(
                            "{} orders from {} buyer(s) of one {} within {} (ratio {:.1} >= {:.1}); this buyer{} placed {}",
                            n,
                            per_buyer.len(),
                            match rule.scope {
                                BrushingScope::Item => "item",
                                BrushingScope::Shop => "shop",
                            },
                            hours(rule.window_seconds),
                            ratio,
                            rule.min_ratio,
                            if rings.in_ring(o.account as usize) { " (with its ring)" } else { "" },
                            own
                        );
                        hit(hits, o.account, "order_brushing", detail);
                    }
                }
            }
        }
        start = end;
    }
}

fn coupon_velocity(
    rule: &VelocityRule,
    redemptions: &[(i64, u32)],
    rings: &Rings,
    hits: &mut RuleHits,
) {
    let mut by_entity: HashMap<u32, Vec<(i64, u32)>> = HashMap::new();
    for &(t, a) in redemptions {
        by_entity
            .entry(rings.component[a as usize])
            .or_default()
            .push((t, a));
    }
    let window = rule.window_seconds * 1_000_000;
    let need = rule.max_redemptions as usize;
    for list in by_entity.values_mut() {
        if list.len() < need {
            continue;
        }
        list.sort_unstable();
        // Coupons redeemed at one checkout (same time stamp) count once: several coupons in one
        // grocery basket are normal, many checkouts in a day are not.
        list.dedup_by_key(|(t, _)| *t);
        if list.len() < need {
            continue;
        }
        let mut left = 0;
        for right in 0..list.len() {
            while list[left].0 <= list[right].0 - window {
                left += 1;
            }
            if right - left + 1 >= need {
                for &(_, a) in &list[left..=right] {
                    let detail = format!(
                        "{} coupon redemptions by {} within {} (>= {})",
                        right - left + 1,
                        if rings.in_ring(a as usize) {
                            "its ring"
                        } else {
                            "the account"
                        },
                        hours(rule.window_seconds),
                        need
                    );
                    hit(hits, a, "coupon_velocity", detail);
                }
            }
        }
    }
}
