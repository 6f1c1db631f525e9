//! Bulk loads drop the secondary indexes and build them again: on request, only on a first
//! load when asked so, and on the next open when a load died half way. On both backends.

use discount_core::config::UnknownItems;
use discount_core::event::WireRecord;
use discount_core::Record;
use discount_store::Store;

fn view(id: &str) -> Record {
    serde_json::from_str::<WireRecord>(&format!(
        r#"{{"type":"view","id":"{id}","user_id":"u1","time":"2024-03-01T10:00:00Z","item_id":"i1"}}"#
    ))
    .unwrap()
    .into_record()
    .unwrap()
}

/// Runs the whole story on one backend; `has_index` looks in the database itself, and `reopen`
/// opens the store again as a new process would.
fn story(
    mut store: Box<dyn Store>,
    has_index: &mut dyn FnMut() -> bool,
    reopen: &dyn Fn() -> Box<dyn Store>,
) {
    assert!(has_index(), "a new store has its indexes");
    // A first load into an empty store defers them; the load's rows are all there after.
    assert!(store.begin_bulk_load(true).unwrap());
    assert!(!has_index());
    store
        .write_batch(&[view("e1"), view("e2")], UnknownItems::Register)
        .unwrap();
    store.end_bulk_load().unwrap();
    assert!(has_index());
    assert_eq!(store.events_of_user("u1").unwrap().len(), 2);
    // Not on a store that holds events, unless asked to.
    assert!(!store.begin_bulk_load(true).unwrap());
    assert!(has_index());
    assert!(store.begin_bulk_load(false).unwrap());
    assert!(!has_index());
    // The load dies before it ends: the next open builds the index.
    store
        .write_batch(&[view("e3")], UnknownItems::Register)
        .unwrap();
    drop(store);
    assert!(!has_index());
    let mut store = reopen();
    assert!(has_index());
    assert_eq!(store.events_of_user("u1").unwrap().len(), 3);
    // Ending twice is harmless.
    store.end_bulk_load().unwrap();
    store.end_bulk_load().unwrap();
    assert!(has_index());
}

#[test]
fn sqlite_bulk_loads_defer_and_rebuild_the_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulk.sqlite");
    let path = path.to_str().unwrap().to_string();
    let store = discount_store::open(&path).unwrap();
    let look = rusqlite::Connection::open(&path).unwrap();
    let mut has_index = || {
        look.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'events_user_at'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    };
    story(store, &mut has_index, &|| {
        discount_store::open(&path).unwrap()
    });
}

#[test]
fn postgres_bulk_loads_defer_and_rebuild_the_indexes() {
    let Some(url) = discount_store::postgres::scratch_schema_url("bulk_load").unwrap() else {
        return;
    };
    let store = discount_store::open(&url).unwrap();
    let mut look = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut has_index = || {
        look.query_one(
            "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'events_user_at'",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
            == 1
    };
    story(store, &mut has_index, &|| {
        discount_store::open(&url).unwrap()
    });
}
