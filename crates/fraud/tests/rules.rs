//! Every rule on hand-made accounts: it fires where it should, explains itself, and stays quiet
//! on the look-alike genuine case.

use std::collections::BTreeMap;

use discount_core::{
    Currency, Event, EventKind, OrderLine, Pseudonymiser, Record, Timestamp, User,
};
use discount_fraud::activity::Activity;
use discount_fraud::rules::{self, RulesConfig};
use discount_fraud::source::new_activity;

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

fn activity() -> Activity {
    let kinds: Vec<String> = ["device", "address", "payment"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    new_activity(&kinds, Pseudonymiser::new(b"rules-test-key-0123").unwrap())
}

fn user(a: &mut Activity, id: &str, signup: i64, attrs: &[(&str, &str)]) {
    let attributes: BTreeMap<String, String> = attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    a.add(&Record::User(User {
        id: id.into(),
        signup: Some(Timestamp(signup)),
        attributes,
    }));
}

fn event(a: &mut Activity, id: &str, user: &str, time: i64, kind: EventKind) {
    a.add(&Record::Event(Event {
        id: id.into(),
        user_id: user.into(),
        time: Timestamp(time),
        kind,
    }));
}

fn order(
    a: &mut Activity,
    id: &str,
    user: &str,
    time: i64,
    item: &str,
    quantity: u32,
    coupon: i64,
) {
    let list = 1000 * i64::from(quantity);
    event(
        a,
        id,
        user,
        time,
        EventKind::Order {
            order_id: format!("o{id}"),
            currency: Currency::parse("c", "USD").unwrap(),
            lines: vec![OrderLine {
                item_id: item.into(),
                quantity,
                list_price: 1000,
                paid: list - coupon,
                retail_discount: 0,
                coupon_discount: coupon,
            }],
        },
    );
    if coupon > 0 {
        event(
            a,
            &format!("r{id}"),
            user,
            time + 1,
            EventKind::CouponRedeemed {
                coupon_id: format!("c{id}"),
                order_id: Some(format!("o{id}")),
                currency: Currency::parse("c", "USD").unwrap(),
                amount: coupon,
            },
        );
    }
}

fn fired(a: &mut Activity, config: &RulesConfig) -> Vec<Vec<String>> {
    let rings = a.rings();
    let hits = rules::evaluate(config, a, &rings);
    hits.iter()
        .map(|h| {
            h.iter()
                .map(|x| format!("{}: {}", x.rule, x.detail))
                .collect()
        })
        .collect()
}

fn has(hits: &[Vec<String>], a: &Activity, id: &str, rule: &str) -> bool {
    let i = a.account(id).unwrap() as usize;
    hits[i].iter().any(|h| h.starts_with(rule))
}

#[test]
fn ring_new_customer_coupon_flags_the_second_and_later_ring_accounts() {
    let mut a = activity();
    let t0 = 100 * DAY;
    // Three new accounts on one device (spelt differently), each using a first-order coupon.
    for (i, dev) in ["DEV-1", "dev-1", " Dev-1 "].iter().enumerate() {
        user(
            &mut a,
            &format!("f{i}"),
            t0 + i as i64 * DAY,
            &[("device", dev)],
        );
        order(
            &mut a,
            &format!("f{i}"),
            &format!("f{i}"),
            t0 + i as i64 * DAY + HOUR,
            "x",
            1,
            100,
        );
    }
    // A lone new customer with a first-order coupon is fine.
    user(&mut a, "solo", t0, &[("device", "dev-2")]);
    order(&mut a, "s", "solo", t0 + HOUR, "x", 1, 100);
    let mut config = RulesConfig::default();
    config.coupon_velocity.enabled = false;
    let hits = fired(&mut a, &config);
    assert!(!has(&hits, &a, "f0", "ring_new_customer_coupon"));
    assert!(has(&hits, &a, "f1", "ring_new_customer_coupon"));
    assert!(has(&hits, &a, "f2", "ring_new_customer_coupon"));
    assert!(!has(&hits, &a, "solo", "ring_new_customer_coupon"));
    let f2 = &hits[a.account("f2").unwrap() as usize][0];
    assert!(
        f2.contains("#3") && f2.contains("device") && f2.contains("f0"),
        "{f2}"
    );
}

#[test]
fn order_brushing_is_orders_per_unique_buyer_in_a_sliding_hour() {
    let mut a = activity();
    let t0 = 100 * DAY;
    // Brusher: 3 orders of one item within 40 minutes. Regular: 3 orders of it over 3 hours.
    for k in 0..3 {
        order(
            &mut a,
            &format!("b{k}"),
            "brusher",
            t0 + k * 20 * 60_000_000,
            "cheap",
            1,
            0,
        );
        order(
            &mut a,
            &format!("g{k}"),
            "regular",
            t0 + 10 * HOUR + k * 90 * 60_000_000,
            "cheap",
            1,
            0,
        );
    }
    // Two brushing accounts linked by a payment id: 2 + 2 orders in an hour = 4 per unique buyer.
    user(&mut a, "p1", 0, &[("payment", "card-9")]);
    user(&mut a, "p2", 0, &[("payment", "CARD-9")]);
    for k in 0..2 {
        order(
            &mut a,
            &format!("p1{k}"),
            "p1",
            t0 + 30 * HOUR + k * 60_000_000,
            "cheap",
            1,
            0,
        );
        order(
            &mut a,
            &format!("p2{k}"),
            "p2",
            t0 + 30 * HOUR + (k + 5) * 60_000_000,
            "cheap",
            1,
            0,
        );
    }
    let hits = fired(&mut a, &RulesConfig::default());
    assert!(has(&hits, &a, "brusher", "order_brushing"));
    assert!(!has(&hits, &a, "regular", "order_brushing"));
    assert!(has(&hits, &a, "p1", "order_brushing") && has(&hits, &a, "p2", "order_brushing"));
    let mut strict = RulesConfig::default();
    strict.order_brushing.min_ratio = 5.0;
    let hits = fired(&mut activity_copy(), &strict);
    assert!(hits.iter().all(|h| h.is_empty()));
}

fn activity_copy() -> Activity {
    // The strict case on the brusher alone (3 orders < 5).
    let mut a = activity();
    for k in 0..3 {
        order(
            &mut a,
            &format!("b{k}"),
            "brusher",
            100 * DAY + k * 60_000_000,
            "cheap",
            1,
            0,
        );
    }
    a
}

#[test]
fn refund_rate_needs_enough_orders_and_a_high_rate() {
    let mut a = activity();
    for k in 0..4 {
        order(&mut a, &format!("r{k}"), "refunder", k * DAY, "x", 1, 0);
        order(&mut a, &format!("n{k}"), "normal", k * DAY, "x", 1, 0);
    }
    for k in 0..3 {
        event(
            &mut a,
            &format!("rf{k}"),
            "refunder",
            k * DAY + HOUR,
            EventKind::Refund {
                order_id: format!("or{k}"),
                currency: Currency::parse("c", "USD").unwrap(),
                amount: 1000,
                item_id: None,
            },
        );
    }
    event(
        &mut a,
        "nf",
        "normal",
        HOUR,
        EventKind::Refund {
            order_id: "on0".into(),
            currency: Currency::parse("c", "USD").unwrap(),
            amount: 1000,
            item_id: None,
        },
    );
    let hits = fired(&mut a, &RulesConfig::default());
    assert!(has(&hits, &a, "refunder", "refund_rate"));
    assert!(!has(&hits, &a, "normal", "refund_rate"));
    assert!(hits[a.account("refunder").unwrap() as usize][0].contains("3 refunds on 4 orders"));
}

#[test]
fn coupon_velocity_counts_a_rings_redemptions_in_a_sliding_day() {
    let mut a = activity();
    for i in 0..3 {
        user(&mut a, &format!("v{i}"), 0, &[("address", "1 Elm Rd.")]);
        order(
            &mut a,
            &format!("v{i}"),
            &format!("v{i}"),
            50 * DAY + i as i64 * 4 * HOUR,
            "x",
            1,
            200,
        );
    }
    // One account redeeming three coupons over three weeks is not fast.
    for k in 0..3 {
        order(&mut a, &format!("s{k}"), "slow", k * 7 * DAY, "x", 1, 200);
    }
    let mut config = RulesConfig::default();
    config.ring_new_customer_coupon.enabled = false;
    let hits = fired(&mut a, &config);
    for i in 0..3 {
        assert!(has(&hits, &a, &format!("v{i}"), "coupon_velocity"));
    }
    assert!(!has(&hits, &a, "slow", "coupon_velocity"));
}

#[test]
fn bulk_discount_basket_is_one_discounted_item_at_the_maximum_quantity() {
    let mut a = activity();
    order(&mut a, "bulk", "reseller", DAY, "x", 20, 5000);
    order(&mut a, "full", "family", DAY, "x", 20, 0);
    order(&mut a, "few", "shopper", DAY, "x", 2, 500);
    let hits = fired(&mut a, &RulesConfig::default());
    assert!(has(&hits, &a, "reseller", "bulk_discount_basket"));
    assert!(!has(&hits, &a, "family", "bulk_discount_basket"));
    assert!(!has(&hits, &a, "shopper", "bulk_discount_basket"));
    assert!(hits[a.account("reseller").unwrap() as usize][0].contains("20 units"));
}

#[test]
fn rule_settings_are_validated() {
    let mut c = RulesConfig::default();
    c.order_brushing.window_seconds = 0;
    assert!(c.validate().is_err());
    let mut c = RulesConfig::default();
    c.refund_rate.max_rate = 1.5;
    assert!(c.validate().is_err());
    let c: RulesConfig = toml::from_str("[order_brushing]\nmin_ratio = 4.0\n").unwrap();
    assert_eq!(c.order_brushing.min_ratio, 4.0);
    assert!(toml::from_str::<RulesConfig>("[order_brushing]\nmin_ratio_typo = 4.0\n").is_err());
}
