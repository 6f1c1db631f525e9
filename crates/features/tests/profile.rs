//! Profiles of hand-made event sequences with known answers, window boundaries included.

use discount_core::event::WireRecord;
use discount_core::time::MICROS_PER_DAY;
use discount_core::{Event, Record, Timestamp};
use discount_features::{Catalog, FeatureError, FeatureSpec, ProfileBuilder};

const AS_OF: &str = "2024-06-30T00:00:00Z";

fn as_of() -> Timestamp {
    Timestamp::parse("as_of", AS_OF).unwrap()
}

/// `days` before the snapshot time, as RFC 3339.
fn ago(days: f64) -> String {
    Timestamp(as_of().0 - (days * MICROS_PER_DAY as f64) as i64).to_rfc3339()
}

fn event(json: &str) -> Event {
    match serde_json::from_str::<WireRecord>(json)
        .unwrap()
        .into_record()
        .unwrap()
    {
        Record::Event(e) => e,
        other => panic!("not an event: {other:?}"),
    }
}

fn view(id: &str, days: f64, item: &str) -> Event {
    event(&format!(
        r#"{{"type":"view","id":"{id}","user_id":"u1","time":"{}","item_id":"{item}"}}"#,
        ago(days)
    ))
}

fn order(id: &str, days: f64, item: &str, paid: i64, coupon_discount: i64) -> Event {
    event(&format!(
        r#"{{"type":"order","id":"{id}","user_id":"u1","time":"{}","order_id":"o{id}",
            "lines":[{{"item_id":"{item}","quantity":1,"list_price":{},"paid":{paid},"coupon_discount":{coupon_discount}}}]}}"#,
        ago(days),
        paid + coupon_discount
    ))
}

fn catalog() -> Catalog {
    [
        ("shoe", "shoes"),
        ("boot", "shoes"),
        ("hat", "hats"),
        ("cd", "music"),
    ]
    .into_iter()
    .collect()
}

fn fold_all(events: &[Event]) -> ProfileBuilder {
    let mut b = ProfileBuilder::new("u1");
    for e in events {
        assert!(b.fold(e, &catalog()).unwrap());
    }
    b
}

#[test]
fn window_boundaries_are_half_open() {
    // Exactly 7 days old: out of the 7-day window, in the 30-day one; likewise at 30 and 90.
    let events = [
        view("v0", 0.0, "shoe"),
        view("v1", 6.99, "shoe"),
        view("v2", 7.0, "shoe"),
        view("v3", 29.5, "hat"),
        view("v4", 30.0, "hat"),
        view("v5", 89.0, "hat"),
        view("v6", 90.0, "hat"),
        view("v7", 200.0, "hat"),
    ];
    let p = fold_all(&events).snapshot(as_of()).unwrap();
    assert_eq!(p.windows.views, [2, 4, 6]);
    assert_eq!(p.events, 8);
    assert_eq!(p.windows.orders, [0, 0, 0]);
    // Before any order, recency is the tenure.
    assert_eq!(p.orders, 0);
    assert!((p.tenure_days - 200.0).abs() < 1e-9);
    let spec = FeatureSpec::base();
    let named = spec.named_values(&p, &[]).unwrap();
    let value = |n: &str| named.iter().find(|(d, _)| d.name == n).unwrap().1;
    assert!((value("days_since_last_order") - 200.0).abs() < 1e-9);
    assert_eq!(value("views_7d"), 2.0);
    assert_eq!(value("views_30d"), 4.0);
    assert_eq!(value("views_90d"), 6.0);
    // 3 shoe views and 5 hat views.
    assert!((value("top1_category_share") - 5.0 / 8.0).abs() < 1e-12);
    assert!((value("top3_category_share") - 1.0).abs() < 1e-12);
    assert_eq!(value("distinct_categories"), 2.0);
}

#[test]
fn the_window_moves_with_the_snapshot_time() {
    let b = fold_all(&[view("v0", 10.0, "shoe")]);
    let at = |days_later: f64| Timestamp(as_of().0 + (days_later * MICROS_PER_DAY as f64) as i64);
    assert_eq!(b.snapshot(as_of()).unwrap().windows.views, [0, 1, 1]);
    assert_eq!(b.snapshot(at(-3.0)).unwrap().windows.views, [0, 1, 1]);
    assert_eq!(
        b.snapshot(at(-3.0 - 1e-6)).unwrap().windows.views,
        [1, 1, 1]
    );
    assert_eq!(
        b.snapshot(at(20.0 - 1e-6)).unwrap().windows.views,
        [0, 1, 1]
    );
    assert_eq!(b.snapshot(at(20.0)).unwrap().windows.views, [0, 0, 1]);
    assert_eq!(
        b.snapshot(at(80.0 - 1e-6)).unwrap().windows.views,
        [0, 0, 1]
    );
    assert_eq!(b.snapshot(at(80.0)).unwrap().windows.views, [0, 0, 0]);
    // Before the event: refused, not silently wrong.
    let e = b.snapshot(at(-11.0)).unwrap_err();
    assert!(
        matches!(e, FeatureError::SnapshotBeforeEvents { .. }),
        "{e}"
    );
}

#[test]
fn rfm_and_discount_habits() {
    let events = [
        order("a", 100.0, "shoe", 10_000, 0),
        order("b", 40.0, "boot", 7_500, 2_500),
        order("c", 5.0, "cd", 1_000, 1_000),
        event(&format!(
            r#"{{"type":"coupon_issued","id":"c1","user_id":"u1","time":"{}","coupon_id":"k1","offer":{{"kind":"percent_off","percent":25}}}}"#,
            ago(45.0)
        )),
        event(&format!(
            r#"{{"type":"coupon_issued","id":"c2","user_id":"u1","time":"{}","coupon_id":"k2","offer":{{"kind":"percent_off","percent":50}}}}"#,
            ago(10.0)
        )),
        event(&format!(
            r#"{{"type":"coupon_redeemed","id":"c3","user_id":"u1","time":"{}","coupon_id":"k1","order_id":"ob","amount":2500}}"#,
            ago(40.0)
        )),
        // A redemption of a coupon never issued to this customer does not count.
        event(&format!(
            r#"{{"type":"coupon_redeemed","id":"c4","user_id":"u1","time":"{}","coupon_id":"k9","amount":100}}"#,
            ago(5.0)
        )),
        event(&format!(
            r#"{{"type":"refund","id":"r1","user_id":"u1","time":"{}","order_id":"oa","amount":3000}}"#,
            ago(30.0)
        )),
        event(&format!(
            r#"{{"type":"review","id":"w1","user_id":"u1","time":"{}","item_id":"cd","rating":4}}"#,
            ago(1.0)
        )),
        event(&format!(
            r#"{{"type":"add_to_cart","id":"k","user_id":"u1","time":"{}","item_id":"hat"}}"#,
            ago(90.0)
        )),
    ];
    // Order of folding does not matter.
    let mut reversed = events.clone();
    reversed.reverse();
    let p = fold_all(&events).snapshot(as_of()).unwrap();
    assert_eq!(p, fold_all(&reversed).snapshot(as_of()).unwrap());

    assert_eq!(p.orders, 3);
    assert_eq!(p.spend_total, 18_500);
    assert!((p.spend_mean_order() - 18_500.0 / 3.0).abs() < 1e-9);
    assert!((p.days_since_last_order.unwrap() - 5.0).abs() < 1e-9);
    assert!((p.order_span_days - 95.0).abs() < 1e-9);
    assert_eq!(p.windows.orders, [1, 1, 2]);
    assert_eq!(p.windows.refunds, [0, 0, 1]);
    assert_eq!(p.windows.reviews, [1, 1, 1]);
    // The cart event exactly 90 days old has left every window.
    assert_eq!(p.windows.carts, [0, 0, 0]);
    assert_eq!(p.refund_total, 3_000);
    assert_eq!(p.discounted_orders, 2);
    assert!((p.discounted_order_share() - 2.0 / 3.0).abs() < 1e-12);
    // Depths 2500/10000 and 1000/2000.
    assert!((p.mean_discount_depth - 0.375).abs() < 1e-12);
    assert_eq!((p.coupons_received, p.coupons_redeemed), (2, 1));
    assert!((p.coupon_redemption_rate() - 0.5).abs() < 1e-12);
    // shoe, boot (shoes) + cd order, cd review (music) + hat cart; ties rank by name.
    let ranked: Vec<_> = p
        .top_categories
        .iter()
        .map(|c| c.category.as_str())
        .collect();
    assert_eq!(ranked, ["music", "shoes", "hats"]);
    assert!((p.top_share(1) - 0.4).abs() < 1e-12);
    assert_eq!(p.distinct_categories, 3);
}

#[test]
fn a_horizon_ignores_later_events() {
    let cut = Timestamp(as_of().0 - 20 * MICROS_PER_DAY);
    let mut b = ProfileBuilder::with_horizon("u1", cut);
    assert!(b
        .fold(&order("a", 100.0, "shoe", 500, 0), &catalog())
        .unwrap());
    assert!(!b
        .fold(&order("b", 10.0, "shoe", 700, 0), &catalog())
        .unwrap());
    let p = b.snapshot(cut).unwrap();
    assert_eq!((p.orders, p.spend_total), (1, 500));
    assert!((p.days_since_last_order.unwrap() - 80.0).abs() < 1e-9);
}

#[test]
fn events_of_another_user_are_refused() {
    let mut b = ProfileBuilder::new("u2");
    let e = b.fold(&view("v", 1.0, "shoe"), &catalog()).unwrap_err();
    assert!(
        e.to_string().contains("u1") && e.to_string().contains("u2"),
        "{e}"
    );
}

#[test]
fn the_spec_is_versioned_and_embeddings_append() {
    let base = FeatureSpec::base();
    assert_eq!(base.len(), 30);
    assert_eq!(base.id(), FeatureSpec::base().id());
    let names: Vec<_> = base.features.iter().map(|f| f.name.clone()).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "feature names are unique");

    let with = base.clone().with_embedding("cf", 2).unwrap();
    assert_ne!(with.hash, base.hash);
    assert!(with.ensure_same(&base).is_err());
    assert_eq!(with.len(), 33);
    let p = fold_all(&[view("v", 1.0, "shoe")])
        .snapshot(as_of())
        .unwrap();
    let v = with.vector(&p, &[("cf", &[0.5, -1.0])]).unwrap();
    assert_eq!(&v[30..], &[0.5, -1.0, 1.0]);
    let missing = with.vector(&p, &[]).unwrap();
    assert_eq!(&missing[30..], &[0.0, 0.0, 0.0]);
    assert!(matches!(
        with.vector(&p, &[("cf", &[1.0])]),
        Err(FeatureError::EmbeddingSize { .. })
    ));
    assert!(matches!(
        with.vector(&p, &[("seq", &[1.0])]),
        Err(FeatureError::UnknownEmbedding(_))
    ));
    assert!(with.with_embedding("cf", 3).is_err());
}

/// A training row at a decision's time sees exactly what the service saw then: an order placed
/// after the decision (here, a day after) changes nothing in the row, while it does change the
/// profile of a later moment.
#[test]
fn a_future_event_cannot_leak_into_an_earlier_row() {
    use discount_features::point_in_time;
    let decision_time = Timestamp(as_of().0 - 2 * MICROS_PER_DAY);
    let past = vec![view("e1", 10.0, "shoe"), order("e2", 5.0, "shoe", 3_000, 0)];
    let mut with_future = past.clone();
    with_future.push(order("e3", 1.0, "hat", 9_000, 500));
    let (_, row) = point_in_time("u1", &with_future, &catalog(), decision_time).unwrap();
    let (_, served) = point_in_time("u1", &past, &catalog(), decision_time).unwrap();
    assert_eq!(row, served, "the later order leaked into the row");
    let (later_profile, later) = point_in_time("u1", &with_future, &catalog(), as_of()).unwrap();
    assert_ne!(row, later, "the order counts once its time has come");
    assert_eq!(later_profile.orders, 2);
    // The same vector as the spec computes from a profile folded by hand.
    let mut b = ProfileBuilder::with_horizon("u1", decision_time);
    for e in &with_future {
        b.fold(e, &catalog()).unwrap();
    }
    let by_hand = FeatureSpec::base()
        .vector(&b.snapshot(decision_time).unwrap(), &[])
        .unwrap();
    assert_eq!(row, by_hand);
}
