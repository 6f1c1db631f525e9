//! Reading events back, checked on both backends: one user's history in time order, the
//! streaming scan grouped by user, and item categories.

use std::ops::ControlFlow;

use discount_core::config::UnknownItems;
use discount_core::event::WireRecord;
use discount_core::Record;
use discount_store::Store;

fn rec(json: &str) -> Record {
    serde_json::from_str::<WireRecord>(json)
        .unwrap()
        .into_record()
        .unwrap()
}

fn fill(store: &mut dyn Store) -> Vec<Record> {
    let batch = vec![
        rec(r#"{"type":"item","id":"i1","category":"shoes","list_price":600}"#),
        rec(r#"{"type":"view","id":"b2","user_id":"u2","time":"2024-03-02","item_id":"i1"}"#),
        rec(
            r#"{"type":"order","id":"a3","user_id":"u1","time":"2024-03-03T10:00:00Z","order_id":"o1",
                "lines":[{"item_id":"i1","quantity":2,"list_price":600,"paid":1000,"coupon_discount":200},
                         {"item_id":"i9","quantity":1,"list_price":50,"paid":50}]}"#,
        ),
        rec(r#"{"type":"view","id":"a1","user_id":"u1","time":"2024-03-01","item_id":"i1"}"#),
        // Same time as a1: ties come in id order.
        rec(r#"{"type":"view","id":"a0","user_id":"u1","time":"2024-03-01"}"#),
        rec(
            r#"{"type":"coupon_issued","id":"a2","user_id":"u1","time":"2024-03-02","coupon_id":"c1","offer":{"kind":"percent_off","percent":10}}"#,
        ),
    ];
    store.write_batch(&batch, UnknownItems::Register).unwrap();
    batch
}

fn event_of(batch: &[Record], id: &str) -> discount_core::Event {
    batch
        .iter()
        .find_map(|r| match r {
            Record::Event(e) if e.id == id => Some(e.clone()),
            _ => None,
        })
        .unwrap()
}

fn reads_back(store: &mut dyn Store) {
    let batch = fill(store);
    let u1 = store.events_of_user("u1").unwrap();
    let ids: Vec<_> = u1.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["a0", "a1", "a2", "a3"]);
    // Events come back exactly as written, order lines included.
    for e in &u1 {
        assert_eq!(*e, event_of(&batch, &e.id));
    }
    assert!(store.events_of_user("nobody").unwrap().is_empty());

    let mut seen = Vec::new();
    let n = store
        .scan_events(&mut |e| {
            seen.push(e.id);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(seen, ["a0", "a1", "a2", "a3", "b2"]);

    let mut first_two = Vec::new();
    let n = store
        .scan_events(&mut |e| {
            first_two.push(e.id);
            if first_two.len() == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!((n, first_two.len()), (2, 2));

    let mut cats = store
        .item_categories(&["i1".into(), "i9".into(), "ghost".into()])
        .unwrap();
    cats.sort();
    assert_eq!(
        cats,
        [
            ("i1".to_string(), "shoes".to_string()),
            ("i9".to_string(), "unknown".to_string())
        ]
    );
    assert!(store.item_categories(&[]).unwrap().is_empty());
}

#[test]
fn sqlite_reads_back_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    let mut store = discount_store::open(path.to_str().unwrap()).unwrap();
    reads_back(store.as_mut());
}

#[test]
fn postgres_reads_back_events() {
    let Some(url) = discount_store::postgres::scratch_schema_url("reads").unwrap() else {
        return;
    };
    let mut store = discount_store::open(&url).unwrap();
    reads_back(store.as_mut());
}
