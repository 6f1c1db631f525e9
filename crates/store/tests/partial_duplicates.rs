//! A batch that mixes new events with ones already stored: only the new ones are stored, with
//! exactly their own order lines, on both backends (PostgreSQL merges them from staging tables).

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

/// An order event with one line per entry of `paid` (line totals, in cents).
fn order(id: &str, paid: &[i64]) -> Record {
    let lines: Vec<String> = paid
        .iter()
        .enumerate()
        .map(|(n, p)| {
            format!(r#"{{"item_id":"i{n}","quantity":1,"list_price":{p},"paid":{p},"retail_discount":0,"coupon_discount":0}}"#)
        })
        .collect();
    rec(&format!(
        r#"{{"type":"order","id":"{id}","user_id":"u1","time":"2024-03-01T10:00:00Z","order_id":"o-{id}","lines":[{}]}}"#,
        lines.join(",")
    ))
}

fn view(id: &str) -> Record {
    rec(&format!(
        r#"{{"type":"view","id":"{id}","user_id":"u2","time":"2024-03-02T10:00:00Z","item_id":"i0"}}"#
    ))
}

fn mixed_batches(store: &mut dyn Store) {
    use Outcome::*;
    let first = vec![order("e1", &[1000, 500]), order("e2", &[300]), view("v1")];
    let outcomes = store.write_batch(&first, UnknownItems::Register).unwrap();
    assert_eq!(outcomes, vec![Stored, Stored, Stored]);

    // e2 and v1 are stored already; e3 is new and repeated inside the batch.
    let second = vec![
        order("e2", &[300]),
        order("e3", &[200, 100]),
        view("v1"),
        order("e3", &[200, 100]),
        view("v2"),
    ];
    let outcomes = store.write_batch(&second, UnknownItems::Register).unwrap();
    assert_eq!(
        outcomes,
        vec![Duplicate, Stored, Duplicate, Duplicate, Stored]
    );

    let s = store.stats().unwrap();
    assert_eq!(s.events, 5);
    assert_eq!(s.money.len(), 1);
    // Lines of e1 (1000 + 500), e2 (300) and e3 (200 + 100), each once.
    assert_eq!((s.money[0].orders, s.money[0].revenue), (3, 2100));
    let orders = store.events_of_user("u1").unwrap();
    let ids: Vec<&str> = orders.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, vec!["e1", "e2", "e3"]);
}

#[test]
fn sqlite_stores_only_the_new_events_of_a_mixed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let mut store = discount_store::open(path.to_str().unwrap()).unwrap();
    mixed_batches(store.as_mut());
}

#[test]
fn postgres_stores_only_the_new_events_of_a_mixed_batch() {
    let Some(url) = discount_store::postgres::scratch_schema_url("partial_dups").unwrap() else {
        return;
    };
    let mut store = discount_store::open(&url).unwrap();
    mixed_batches(store.as_mut());
}
