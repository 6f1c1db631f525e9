//! A customer's offer history (`offers_of`) on both backends: the offer ids of their latest
//! decisions, newest first, from the offer id column; and a log written before that column
//! existed gets it filled from each decision's logged request when the store migrates.

use discount_store::decision_log::{open_decision_log, DecisionLog, DecisionRow, Holds};

/// A decision of `customer` at `at` that served `offer_id` (`None`: logged without one).
fn decision(id: &str, customer: &str, at: i64, offer_id: Option<&str>) -> DecisionRow {
    let request = match offer_id {
        Some(o) => serde_json::json!({ "policy": "p", "offer_id": o, "features": [1.0] }),
        None => serde_json::json!({ "policy": "p", "features": [1.0] }),
    };
    DecisionRow {
        id: id.into(),
        idempotency_key: None,
        customer_id: customer.into(),
        at,
        attribution_deadline: at + 10,
        policy_version: "p".into(),
        offer: r#"{"kind":"no_offer"}"#.into(),
        propensity: 0.5,
        explored: false,
        expected_profit: 0,
        currency: "USD".into(),
        budget_id: None,
        reserved: 0,
        request: request.to_string(),
        response: "{}".into(),
        joined: false,
        offer_id: offer_id.map(str::to_string),
    }
}

fn record(log: &mut dyn DecisionLog) {
    let rows = [
        decision("d1", "c", 1, Some("pct10")),
        decision("d2", "c", 2, Some("none")),
        decision("d3", "c", 3, None),
        decision("d4", "c", 4, Some("amt500")),
        decision("d5", "other", 5, Some("pct20")),
    ];
    log.record_decisions(&rows, Holds::Apply).unwrap();
}

fn check(log: &mut dyn DecisionLog) {
    assert_eq!(
        log.offers_of("c", 0, 10).unwrap(),
        [
            ("amt500".to_string(), 4),
            ("none".to_string(), 2),
            ("pct10".to_string(), 1)
        ]
    );
    // Only decisions at or after `since`.
    assert_eq!(
        log.offers_of("c", 2, 10).unwrap(),
        [("amt500".to_string(), 4), ("none".to_string(), 2)]
    );
    // The limit counts decisions, the one logged without an offer id among them.
    assert_eq!(
        log.offers_of("c", 0, 2).unwrap(),
        [("amt500".to_string(), 4)]
    );
    assert!(log.offers_of("nobody", 0, 10).unwrap().is_empty());
}

/// Takes the schema back to before the offer id column (version 8), as a store written by an
/// earlier release has it.
const BEFORE_THE_COLUMN: [&str; 4] = [
    "DROP INDEX decisions_customer_offers",
    "ALTER TABLE decisions DROP COLUMN offer_id",
    "CREATE INDEX decisions_customer_at ON decisions (customer_id, at)",
    "DELETE FROM schema_migrations WHERE version = 9",
];

#[test]
fn sqlite_reads_the_offer_history_and_fills_an_older_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let url = path.to_str().unwrap();
    let mut log = open_decision_log(url).unwrap();
    record(log.as_mut());
    check(log.as_mut());
    drop(log);

    let conn = rusqlite::Connection::open(&path).unwrap();
    for sql in BEFORE_THE_COLUMN {
        conn.execute(sql, []).unwrap();
    }
    drop(conn);
    let mut log = open_decision_log(url).unwrap();
    check(log.as_mut());
}

#[test]
fn postgres_reads_the_offer_history_and_fills_an_older_log() {
    let Some(url) = discount_store::postgres::scratch_schema_url("offer_history").unwrap() else {
        return;
    };
    let mut log = open_decision_log(&url).unwrap();
    record(log.as_mut());
    check(log.as_mut());
    drop(log);

    let mut client = discount_store::pg_connect::connect(&url).unwrap();
    for sql in BEFORE_THE_COLUMN {
        client.batch_execute(sql).unwrap();
    }
    drop(client);
    let mut log = open_decision_log(&url).unwrap();
    check(log.as_mut());
}
