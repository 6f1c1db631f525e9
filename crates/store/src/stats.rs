//! What a store holds, as `discount stats` reports it.

use serde::Serialize;

/// Money totals of one currency, minor units.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CurrencyTotals {
    pub currency: String,
    pub orders: i64,
    pub revenue: i64,
    pub retail_discount: i64,
    pub coupon_discount: i64,
    pub refunds: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    pub backend: String,
    pub users: i64,
    /// Distinct user ids that appear on events (registered or not).
    pub active_users: i64,
    pub items: i64,
    pub auto_registered_items: i64,
    pub events: i64,
    /// `(event type, count)`, every type listed, zero included.
    pub events_by_type: Vec<(String, i64)>,
    /// Earliest and latest event time, RFC 3339.
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    pub money: Vec<CurrencyTotals>,
    pub coupons_issued: i64,
    pub coupons_redeemed: i64,
    /// Redemptions of coupons that the store saw issued.
    pub issued_coupons_redeemed: i64,
    /// `(offer label, times shown)`.
    pub offers_shown: Vec<(String, i64)>,
}

/// The queries behind [`Stats`], written once for both backends.
pub mod queries {
    pub const USERS: &str = "SELECT COUNT(*) FROM users";
    pub const ACTIVE_USERS: &str = "SELECT COUNT(DISTINCT user_id) FROM events";
    pub const ITEMS: &str = "SELECT COUNT(*), COALESCE(SUM(auto_registered), 0) FROM items";
    pub const EVENTS_BY_TYPE: &str = "SELECT kind, COUNT(*) FROM events GROUP BY kind";
    pub const SPAN: &str = "SELECT MIN(at), MAX(at) FROM events";
    pub const LINES_BY_CURRENCY: &str = "SELECT currency, COUNT(DISTINCT event_id), \
        COALESCE(SUM(paid), 0), COALESCE(SUM(retail_discount), 0), COALESCE(SUM(coupon_discount), 0) \
        FROM order_lines GROUP BY currency ORDER BY currency";
    pub const REFUNDS_BY_CURRENCY: &str = "SELECT currency, COALESCE(SUM(amount), 0) FROM events \
        WHERE kind = 'refund' GROUP BY currency ORDER BY currency";
    pub const ISSUED_REDEEMED: &str = "SELECT COUNT(*) FROM events r WHERE r.kind = 'coupon_redeemed' \
        AND EXISTS (SELECT 1 FROM events i WHERE i.kind = 'coupon_issued' AND i.coupon_id = r.coupon_id)";
    pub const OFFERS_SHOWN: &str = "SELECT offer, COUNT(*) FROM events WHERE kind = 'offer_shown' \
        GROUP BY offer ORDER BY offer";
}

impl Stats {
    /// Fills the derived fields from the raw query results.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assemble(
        backend: &str,
        users: i64,
        active_users: i64,
        items: (i64, i64),
        by_type: Vec<(String, i64)>,
        span: (Option<i64>, Option<i64>),
        lines: Vec<(String, i64, i64, i64, i64)>,
        refunds: Vec<(String, i64)>,
        issued_coupons_redeemed: i64,
        offers_shown: Vec<(String, i64)>,
    ) -> Stats {
        let count_of = |name: &str| {
            by_type
                .iter()
                .find(|(k, _)| k == name)
                .map_or(0, |(_, n)| *n)
        };
        let mut events_by_type: Vec<(String, i64)> = discount_core::EventKind::NAMES
            .iter()
            .map(|n| (n.to_string(), count_of(n)))
            .collect();
        for (k, n) in &by_type {
            if !events_by_type.iter().any(|(name, _)| name == k) {
                events_by_type.push((k.clone(), *n));
            }
        }
        let mut money: Vec<CurrencyTotals> = lines
            .into_iter()
            .map(
                |(currency, orders, revenue, retail, coupon)| CurrencyTotals {
                    currency,
                    orders,
                    revenue,
                    retail_discount: retail,
                    coupon_discount: coupon,
                    refunds: 0,
                },
            )
            .collect();
        for (currency, amount) in refunds {
            match money.iter_mut().find(|m| m.currency == currency) {
                Some(m) => m.refunds = amount,
                None => money.push(CurrencyTotals {
                    currency,
                    refunds: amount,
                    ..Default::default()
                }),
            }
        }
        let time = |t: Option<i64>| t.map(|t| discount_core::Timestamp(t).to_rfc3339());
        Stats {
            backend: backend.to_string(),
            users,
            active_users,
            items: items.0,
            auto_registered_items: items.1,
            events: by_type.iter().map(|(_, n)| n).sum(),
            first_event: time(span.0),
            last_event: time(span.1),
            coupons_issued: count_of("coupon_issued"),
            coupons_redeemed: count_of("coupon_redeemed"),
            events_by_type,
            money,
            issued_coupons_redeemed,
            offers_shown,
        }
    }
}
