//! The same behaviour, checked on both backends against real databases.

use discount_core::config::UnknownItems;
use discount_core::event::WireRecord;
use discount_core::Record;
use discount_store::{Outcome, Store};

fn rec(json: &str) -> Record {
    serde_json::from_str::<WireRecord>(json)
        .unwrap()
        .into_record()
        .unwrap()
}

fn order(id: &str, item: &str, paid: i64) -> Record {
    rec(&format!(
        r#"{{"type":"order","id":"{id}","user_id":"u1","time":"2024-03-01T10:00:00Z","order_id":"o-{id}",
            "lines":[{{"item_id":"{item}","quantity":2,"list_price":600,"paid":{paid},"retail_discount":100,"coupon_discount":100}}]}}"#
    ))
}

fn sqlite() -> (tempfile::TempDir, Box<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = discount_store::open(path.to_str().unwrap()).unwrap();
    (dir, store)
}

fn postgres(label: &str) -> Option<Box<dyn Store>> {
    let url = discount_store::postgres::scratch_schema_url(label).unwrap()?;
    Some(discount_store::open(&url).unwrap())
}

fn idempotent_and_counted(store: &mut dyn Store) {
    let batch = vec![
        rec(r#"{"type":"user","id":"u1","signup":"2024-01-01"}"#),
        rec(r#"{"type":"item","id":"i1","category":"shoes","list_price":600,"unit_cost":300}"#),
        order("e1", "i1", 1000),
        order("e1", "i1", 1000),
        rec(
            r#"{"type":"coupon_issued","id":"e2","user_id":"u1","time":"2024-02-28","coupon_id":"c1","offer":{"kind":"percent_off","percent":10}}"#,
        ),
        rec(
            r#"{"type":"coupon_redeemed","id":"e3","user_id":"u1","time":"2024-03-01","coupon_id":"c1","order_id":"o-e1","amount":100}"#,
        ),
        rec(
            r#"{"type":"refund","id":"e4","user_id":"u1","time":"2024-03-05","order_id":"o-e1","amount":250}"#,
        ),
    ];
    let outcomes = store.write_batch(&batch, UnknownItems::Register).unwrap();
    use Outcome::*;
    assert_eq!(
        outcomes,
        vec![Stored, Stored, Stored, Duplicate, Stored, Stored, Stored]
    );
    // The same batch again stores nothing.
    let again = store.write_batch(&batch, UnknownItems::Register).unwrap();
    assert!(again.iter().all(|o| *o == Duplicate), "{again:?}");

    let s = store.stats().unwrap();
    assert_eq!((s.users, s.items, s.events), (1, 1, 4));
    assert_eq!(s.money.len(), 1);
    let usd = &s.money[0];
    assert_eq!(
        (
            usd.orders,
            usd.revenue,
            usd.retail_discount,
            usd.coupon_discount,
            usd.refunds
        ),
        (1, 1000, 100, 100, 250)
    );
    assert_eq!(
        (
            s.coupons_issued,
            s.coupons_redeemed,
            s.issued_coupons_redeemed
        ),
        (1, 1, 1)
    );
    assert_eq!(s.first_event.as_deref(), Some("2024-02-28T00:00:00Z"));
}

fn unknown_items(store: &mut dyn Store) {
    // Rejected under "reject"; an item earlier in the same batch counts as known.
    let batch = vec![
        order("r1", "ghost", 500),
        rec(r#"{"type":"item","id":"real","list_price":600}"#),
        order("r2", "real", 500),
    ];
    let o = store.write_batch(&batch, UnknownItems::Reject).unwrap();
    assert!(
        matches!(&o[0], Outcome::Rejected { field, reason } if field == "item_id" && reason.contains("ghost")),
        "{o:?}"
    );
    assert_eq!(&o[1..], &[Outcome::Stored, Outcome::Stored]);

    // Registered as a placeholder under "register", then replaced by the real record.
    let o = store
        .write_batch(&[order("r3", "later", 500)], UnknownItems::Register)
        .unwrap();
    assert_eq!(o, vec![Outcome::Stored]);
    let s = store.stats().unwrap();
    assert_eq!((s.items, s.auto_registered_items), (2, 1));
    let o = store
        .write_batch(
            &[rec(
                r#"{"type":"item","id":"later","category":"hats","list_price":700}"#,
            )],
            UnknownItems::Register,
        )
        .unwrap();
    assert_eq!(o, vec![Outcome::Stored]);
    let s = store.stats().unwrap();
    assert_eq!((s.items, s.auto_registered_items, s.events), (2, 0, 2));
}

#[test]
fn sqlite_is_idempotent_and_counts_balance() {
    let (_dir, mut s) = sqlite();
    idempotent_and_counted(s.as_mut());
}

#[test]
fn sqlite_unknown_items() {
    let (_dir, mut s) = sqlite();
    unknown_items(s.as_mut());
}

#[test]
fn postgres_is_idempotent_and_counts_balance() {
    if let Some(mut s) = postgres("idem") {
        idempotent_and_counted(s.as_mut());
    }
}

#[test]
fn postgres_unknown_items() {
    if let Some(mut s) = postgres("unknown") {
        unknown_items(s.as_mut());
    }
}

#[test]
fn reopening_keeps_data_and_does_not_migrate_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    let url = format!("sqlite://{}", path.display());
    discount_store::open(&url)
        .unwrap()
        .write_batch(&[order("x", "i", 10)], UnknownItems::Register)
        .unwrap();
    let s = discount_store::open(&url).unwrap().stats().unwrap();
    assert_eq!(s.events, 1);
    assert!(discount_store::open("mysql://nope").is_err());
}
