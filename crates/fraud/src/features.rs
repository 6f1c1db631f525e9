//! Account and ring features: the inputs of the isolation forest and the supervised model.

use std::collections::HashMap;

use crate::activity::Activity;
use crate::identity::Rings;
use crate::rules::{RuleHits, RULE_NAMES};

/// Behaviour and ring features, then one 0/1 column per rule.
pub const BEHAVIOUR_FEATURES: [&str; 20] = [
    "ring_size_log",
    "shared_identifier_kinds",
    "ring_new_account_share",
    "ring_signup_spread_days",
    "account_age_days",
    "new_account",
    "orders_log",
    "coupon_order_share",
    "first_order_coupon",
    "ring_first_order_coupons_log",
    "redemptions_per_active_day",
    "max_same_item_orders_per_hour",
    "single_item_order_share",
    "max_line_quantity_log",
    "coupon_discount_depth",
    "refund_rate",
    "five_star_reviews_per_order",
    "views_log",
    "mean_order_value_log",
    "offers_shown_log",
];

pub const N_BEHAVIOUR: usize = BEHAVIOUR_FEATURES.len();
pub const N_FEATURES: usize = N_BEHAVIOUR + RULE_NAMES.len();

/// All feature names, behaviour first, then `rule:<name>`.
pub fn feature_names() -> Vec<String> {
    BEHAVIOUR_FEATURES
        .iter()
        .map(|s| s.to_string())
        .chain(RULE_NAMES.iter().map(|r| format!("rule:{r}")))
        .collect()
}

pub type FeatureRow = [f64; N_FEATURES];

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Per account, the largest number of orders of one item within one hour.
fn max_same_item_orders_per_hour(activity: &Activity) -> Vec<u32> {
    let mut points: Vec<(u32, u32, i64)> = activity
        .orders
        .iter()
        .map(|o| (o.account, o.item, o.time))
        .collect();
    points.sort_unstable();
    let mut best = vec![0u32; activity.len()];
    let hour = 3_600_000_000i64;
    let mut left = 0;
    for right in 0..points.len() {
        let (a, i, t) = points[right];
        while points[left].0 != a || points[left].1 != i || points[left].2 <= t - hour {
            left += 1;
        }
        let n = (right - left + 1) as u32;
        best[a as usize] = best[a as usize].max(n);
    }
    best
}

/// The feature matrix, one row per account (index = account).
pub fn build(activity: &Activity, rings: &Rings, hits: &RuleHits) -> Vec<FeatureRow> {
    let n = activity.len();
    #[derive(Default, Clone, Copy)]
    struct RingAgg {
        size: u32,
        new_accounts: u32,
        first_order_coupons: u32,
        min_signup: Option<i64>,
        max_signup: Option<i64>,
    }
    let mut agg: HashMap<u32, RingAgg> = HashMap::new();
    for a in 0..n {
        let s = &activity.accounts[a];
        let r = agg.entry(rings.component[a]).or_default();
        r.size += 1;
        r.new_accounts += u32::from(activity.signed_up_in_window(a));
        r.first_order_coupons += u32::from(matches!(s.first_order, Some((_, true))));
        if let Some(t) = s.signup.or(s.first_seen) {
            r.min_signup = Some(r.min_signup.map_or(t, |m| m.min(t)));
            r.max_signup = Some(r.max_signup.map_or(t, |m| m.max(t)));
        }
    }
    let same_item = max_same_item_orders_per_hour(activity);
    let mut rows = Vec::with_capacity(n);
    for a in 0..n {
        let s = &activity.accounts[a];
        let r = agg.get(&rings.component[a]).copied().unwrap_or_default();
        let orders = f64::from(s.orders);
        let active_days = match (s.first_seen, s.last_seen) {
            (Some(f), Some(l)) => ((l - f) as f64 / 86_400e6).max(1.0),
            _ => 1.0,
        };
        let spread = match (r.min_signup, r.max_signup) {
            (Some(lo), Some(hi)) if r.size > 1 => (hi - lo) as f64 / 86_400e6,
            _ => 0.0,
        };
        let mut row = [0.0; N_FEATURES];
        row[0] = f64::from(rings.size[a]).ln();
        row[1] = f64::from(rings.shared_kinds[a].count_ones());
        row[2] = ratio(f64::from(r.new_accounts), f64::from(r.size));
        row[3] = spread;
        row[4] = activity.age_days(a);
        row[5] = f64::from(u8::from(activity.signed_up_in_window(a)));
        row[6] = orders.ln_1p();
        row[7] = ratio(f64::from(s.coupon_orders), orders);
        row[8] = f64::from(u8::from(matches!(s.first_order, Some((_, true)))));
        row[9] = f64::from(if rings.in_ring(a) {
            r.first_order_coupons
        } else {
            0
        })
        .ln_1p();
        row[10] = f64::from(s.redemptions) / active_days;
        row[11] = f64::from(same_item[a]);
        row[12] = ratio(f64::from(s.single_item_orders), orders);
        row[13] = f64::from(s.max_line_quantity).ln_1p();
        row[14] = ratio(s.coupon_discount as f64, s.list_value as f64);
        row[15] = ratio(f64::from(s.refunds), orders);
        row[16] = ratio(f64::from(s.five_star_reviews), orders);
        row[17] = f64::from(s.views).ln_1p();
        row[18] = ratio(s.spend as f64, orders).max(0.0).ln_1p();
        row[19] = f64::from(s.offers_shown).ln_1p();
        for h in &hits[a] {
            if let Some(k) = RULE_NAMES.iter().position(|r| *r == h.rule) {
                row[N_BEHAVIOUR + k] = 1.0;
            }
        }
        rows.push(row);
    }
    rows
}
