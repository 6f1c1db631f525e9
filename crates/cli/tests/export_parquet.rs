//! `discount export events|decisions --format parquet` on SQLite and PostgreSQL stores with known
//! events and decisions: the files are read back with the parquet crate's own reader and every
//! row is rebuilt into the store's types and compared with what the store holds; the schema's
//! physical and logical types and nullability are those docs/export.md documents; small row
//! groups split the rows; asking for Parquet without a file is a clear error.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use discount_core::config::UnknownItems;
use discount_core::event::WireRecord;
use discount_core::{Currency, Event, EventKind, Offer, OrderLine, Record, Timestamp};
use discount_store::decision_log::{
    open_decision_log, DecisionRow, Holds, OutcomeRow, OutcomeSource,
};
use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_discount")
}

fn discount(url: &str, args: &[&str]) -> Output {
    Command::new(bin())
        .args(["--json", "--store", url])
        .args(args)
        .output()
        .unwrap()
}

fn ok(url: &str, args: &[&str]) -> serde_json::Value {
    let out = discount(url, args);
    assert!(
        out.status.success(),
        "discount {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every kind of event, with the optional fields both present and absent.
const EVENTS: &[&str] = &[
    r#"{"type":"item","id":"i1","category":"shoes","list_price":600,"unit_cost":300}"#,
    r#"{"type":"view","id":"e01","user_id":"u1","time":"2026-11-01T10:00:00Z","item_id":"i1"}"#,
    r#"{"type":"view","id":"e02","user_id":"u1","time":"2026-11-01T10:00:01.250Z"}"#,
    r#"{"type":"click","id":"e03","user_id":"u1","time":"2026-11-01T10:01:00Z","item_id":"i1","decision_id":"d1"}"#,
    r#"{"type":"add_to_cart","id":"e04","user_id":"u1","time":"2026-11-01T10:02:00Z","item_id":"i1","quantity":3}"#,
    r#"{"type":"order","id":"e05","user_id":"u1","time":"2026-11-01T10:05:00Z","order_id":"o1","currency":"EUR",
        "lines":[{"item_id":"i1","quantity":2,"list_price":600,"paid":1000,"retail_discount":100,"coupon_discount":100},
                 {"item_id":"i2","quantity":1,"list_price":250,"paid":250}]}"#,
    r#"{"type":"refund","id":"e06","user_id":"u1","time":"2026-11-03T09:00:00Z","order_id":"o1","currency":"EUR","amount":250,"item_id":"i2"}"#,
    r#"{"type":"review","id":"e07","user_id":"u2","time":"2026-11-04T12:00:00Z","item_id":"i1","rating":4,"text":"fits well, ünïcode"}"#,
    r#"{"type":"review","id":"e08","user_id":"u2","time":"2026-11-04T12:30:00Z","item_id":"i2","rating":2}"#,
    r#"{"type":"offer_shown","id":"e09","user_id":"u2","time":"2026-11-05T08:00:00Z","decision_id":"d2",
        "offer":{"kind":"percent_off","percent":15},"item_id":"i1","position":2,"propensity":0.25,"expires_at":"2026-11-12T00:00:00Z"}"#,
    r#"{"type":"offer_shown","id":"e10","user_id":"u2","time":"2026-11-05T08:00:00Z","decision_id":"d3","offer":{"kind":"no_offer"}}"#,
    r#"{"type":"coupon_issued","id":"e11","user_id":"u3","time":"2026-11-06T08:00:00Z","coupon_id":"c1","decision_id":"d4",
        "offer":{"kind":"amount_off","amount":500,"min_spend":3000},"expires_at":"2026-12-06T00:00:00Z"}"#,
    r#"{"type":"coupon_redeemed","id":"e12","user_id":"u3","time":"2026-11-07T08:00:00Z","coupon_id":"c1","order_id":"o2","amount":500}"#,
    r#"{"type":"coupon_redeemed","id":"e13","user_id":"u3","time":"2026-11-07T09:00:00Z","coupon_id":"c9","amount":300}"#,
    r#"{"type":"session","id":"e14","user_id":"u3","time":"2026-11-08T08:00:00Z","pages":7,"duration_seconds":312.5,"purchased":true,
        "attributes":{"channel":"email","device":"phone"}}"#,
    r#"{"type":"session","id":"e15","user_id":"u4","time":"2026-11-09T08:00:00Z","pages":1,"duration_seconds":0.0,"purchased":false}"#,
];

fn decision(i: usize, features: &[f64], budget: Option<&str>) -> DecisionRow {
    let at = Timestamp::parse("at", "2026-11-10T00:00:00Z").unwrap().0 + i as i64 * 1_000_000;
    DecisionRow {
        id: format!("d{i}"),
        idempotency_key: None,
        customer_id: format!("u{}", i % 3),
        at,
        attribution_deadline: at + 7 * 86_400 * 1_000_000,
        policy_version: "v1".into(),
        offer: serde_json::to_string(&Offer::AmountOff {
            amount: 500,
            min_spend: 0,
        })
        .unwrap(),
        propensity: 0.1 * (i as f64 + 1.0),
        explored: i.is_multiple_of(2),
        expected_profit: 120 - 10 * i as i64,
        currency: "USD".into(),
        budget_id: budget.map(str::to_string),
        reserved: if budget.is_some() { 500 } else { 0 },
        request: serde_json::json!({"policy": "shop-v1", "offer_id": format!("rung{}", i % 2), "features": features})
            .to_string(),
        response: "{}".into(),
        joined: false,
        offer_id: Some(format!("rung{}", i % 2)),
    }
}

fn outcome(d: &DecisionRow, source: OutcomeSource, converted: bool) -> OutcomeRow {
    OutcomeRow {
        decision_id: d.id.clone(),
        at: d.at + 3_600_000_000,
        source,
        event_id: (source == OutcomeSource::Order).then(|| "e05".to_string()),
        converted,
        revenue: if converted { 4_000 } else { 0 },
        discount: if converted { 500 } else { 0 },
        profit: if converted { 1_000 } else { 0 },
        charged: if converted { 500 } else { 0 },
        recorded_at: d.at + 7_200_000_000,
    }
}

/// Writes the known events, and six decisions of which three have outcomes.
fn seed(url: &str) {
    let records: Vec<Record> = EVENTS
        .iter()
        .map(|j| {
            serde_json::from_str::<WireRecord>(j)
                .unwrap()
                .into_record()
                .unwrap()
        })
        .collect();
    let mut store = discount_store::open(url).unwrap();
    store.write_batch(&records, UnknownItems::Register).unwrap();
    let mut log = open_decision_log(url).unwrap();
    log.set_budget("b1", "USD", 100_000).unwrap();
    let decisions = vec![
        decision(0, &[1.0, 0.5], Some("b1")),
        decision(1, &[], None),
        decision(2, &[2.0, -1.25, 1e-9], Some("b1")),
        decision(3, &[0.0], None),
        decision(4, &[3.0, 4.0], Some("b1")),
        decision(5, &[5.0, 6.0], None),
    ];
    log.record_decisions(&decisions, Holds::Apply).unwrap();
    for (d, source, converted) in [
        (&decisions[0], OutcomeSource::Order, true),
        (&decisions[2], OutcomeSource::Default, false),
        (&decisions[5], OutcomeSource::Reported, true),
    ] {
        assert!(log.record_outcome(&outcome(d, source, converted)).unwrap());
    }
}

fn read_rows(path: &Path) -> (SerializedFileReader<std::fs::File>, Vec<Row>) {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let rows = reader
        .get_row_iter(None)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (reader, rows)
}

/// A row's fields by column name.
fn fields(row: &Row) -> BTreeMap<String, Field> {
    row.get_column_iter()
        .map(|(name, field)| (name.clone(), field.clone()))
        .collect()
}

fn text(f: &BTreeMap<String, Field>, name: &str) -> Option<String> {
    match &f[name] {
        Field::Null => None,
        Field::Str(s) => Some(s.clone()),
        other => panic!("{name}: expected text, found {other:?}"),
    }
}

fn long(f: &BTreeMap<String, Field>, name: &str) -> Option<i64> {
    match &f[name] {
        Field::Null => None,
        Field::Long(v) => Some(*v),
        other => panic!("{name}: expected INT64, found {other:?}"),
    }
}

fn time(f: &BTreeMap<String, Field>, name: &str) -> Option<i64> {
    match &f[name] {
        Field::Null => None,
        Field::TimestampMicros(v) => Some(*v),
        other => panic!("{name}: expected a microsecond timestamp, found {other:?}"),
    }
}

fn double(f: &BTreeMap<String, Field>, name: &str) -> Option<f64> {
    match &f[name] {
        Field::Null => None,
        Field::Double(v) => Some(*v),
        other => panic!("{name}: expected DOUBLE, found {other:?}"),
    }
}

fn boolean(f: &BTreeMap<String, Field>, name: &str) -> Option<bool> {
    match &f[name] {
        Field::Null => None,
        Field::Bool(v) => Some(*v),
        other => panic!("{name}: expected BOOLEAN, found {other:?}"),
    }
}

fn list(f: &BTreeMap<String, Field>, name: &str) -> Option<Vec<Field>> {
    match &f[name] {
        Field::Null => None,
        Field::ListInternal(l) => Some(l.elements().to_vec()),
        other => panic!("{name}: expected a list, found {other:?}"),
    }
}

/// Rebuilds the event a row of events.parquet describes.
fn event_of(row: &Row) -> Event {
    let f = fields(row);
    let s = |name: &str| text(&f, name);
    let currency = || Currency::parse("currency", &s("currency").unwrap()).unwrap();
    let offer = || serde_json::from_str::<Offer>(&s("offer").unwrap()).unwrap();
    let count = |name: &str| long(&f, name).map(|v| u32::try_from(v).unwrap());
    let kind = match s("type").unwrap().as_str() {
        "view" => EventKind::View {
            item_id: s("item_id"),
        },
        "click" => EventKind::Click {
            item_id: s("item_id"),
            decision_id: s("decision_id"),
        },
        "add_to_cart" => EventKind::AddToCart {
            item_id: s("item_id").unwrap(),
            quantity: count("quantity").unwrap(),
        },
        "order" => {
            let lines: Vec<OrderLine> = list(&f, "lines")
                .unwrap()
                .iter()
                .map(|line| {
                    let Field::Group(line) = line else {
                        panic!("an order line is a struct: {line:?}")
                    };
                    let l = fields(line);
                    OrderLine {
                        item_id: text(&l, "item_id").unwrap(),
                        quantity: u32::try_from(long(&l, "quantity").unwrap()).unwrap(),
                        list_price: long(&l, "list_price").unwrap(),
                        paid: long(&l, "paid").unwrap(),
                        retail_discount: long(&l, "retail_discount").unwrap(),
                        coupon_discount: long(&l, "coupon_discount").unwrap(),
                    }
                })
                .collect();
            // The order's totals are the sums over its lines.
            assert_eq!(long(&f, "amount"), Some(lines.iter().map(|l| l.paid).sum()));
            assert_eq!(
                long(&f, "quantity"),
                Some(lines.iter().map(|l| i64::from(l.quantity)).sum())
            );
            EventKind::Order {
                order_id: s("order_id").unwrap(),
                currency: currency(),
                lines,
            }
        }
        "refund" => EventKind::Refund {
            order_id: s("order_id").unwrap(),
            currency: currency(),
            amount: long(&f, "amount").unwrap(),
            item_id: s("item_id"),
        },
        "review" => EventKind::Review {
            item_id: s("item_id").unwrap(),
            rating: match &f["rating"] {
                Field::Int(r) => u8::try_from(*r).unwrap(),
                other => panic!("rating: {other:?}"),
            },
            text: s("text"),
        },
        "offer_shown" => EventKind::OfferShown {
            decision_id: s("decision_id").unwrap(),
            offer: offer(),
            item_id: s("item_id"),
            position: count("position"),
            propensity: double(&f, "propensity"),
            expires_at: time(&f, "expires_at").map(Timestamp),
        },
        "coupon_issued" => EventKind::CouponIssued {
            coupon_id: s("coupon_id").unwrap(),
            decision_id: s("decision_id"),
            offer: offer(),
            expires_at: time(&f, "expires_at").map(Timestamp),
        },
        "coupon_redeemed" => EventKind::CouponRedeemed {
            coupon_id: s("coupon_id").unwrap(),
            order_id: s("order_id"),
            currency: currency(),
            amount: long(&f, "amount").unwrap(),
        },
        "session" => EventKind::Session {
            pages: count("pages").unwrap(),
            duration_seconds: double(&f, "duration_seconds").unwrap(),
            purchased: boolean(&f, "purchased").unwrap(),
            attributes: serde_json::from_str(&s("attributes").unwrap()).unwrap(),
        },
        other => panic!("unknown type {other}"),
    };
    // Columns a kind does not have are null.
    if !matches!(kind, EventKind::Order { .. }) {
        assert!(matches!(f["lines"], Field::Null), "{f:?}");
    }
    if !matches!(kind, EventKind::Session { .. }) {
        assert!(matches!(f["pages"], Field::Null), "{f:?}");
    }
    Event {
        id: s("event_id").unwrap(),
        user_id: s("user_id").unwrap(),
        time: Timestamp(time(&f, "at").unwrap()),
        kind,
    }
}

/// The store's events in the order the export writes them.
fn stored_events(url: &str) -> Vec<Event> {
    let mut store = discount_store::open(url).unwrap();
    let mut events = Vec::new();
    store
        .scan_events(&mut |e| {
            events.push(e);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    events
}

/// Checks each leaf column's physical type, logical type and nullability.
fn assert_schema(
    reader: &SerializedFileReader<std::fs::File>,
    expected: &[(&str, Physical, Option<LogicalType>, bool)],
) {
    let schema = reader.metadata().file_metadata().schema_descr();
    let columns: BTreeMap<String, _> = schema
        .columns()
        .iter()
        .map(|c| (c.path().string(), c.clone()))
        .collect();
    for (path, physical, logical, nullable) in expected {
        let c = columns
            .get(*path)
            .unwrap_or_else(|| panic!("no column {path}"));
        assert_eq!(c.physical_type(), *physical, "{path}");
        assert_eq!(c.logical_type_ref(), logical.as_ref(), "{path}");
        let repetition = c.self_type().get_basic_info().repetition();
        assert_eq!(repetition == Repetition::OPTIONAL, *nullable, "{path}");
    }
}

fn micros_utc() -> Option<LogicalType> {
    Some(LogicalType::Timestamp {
        is_adjusted_to_u_t_c: true,
        unit: TimeUnit::MICROS,
    })
}

fn check_events(url: &str, dir: &Path) {
    let out = dir.join("events.parquet");
    let report = ok(
        url,
        &[
            "export",
            "events",
            "--out",
            out.to_str().unwrap(),
            "--row-group-rows",
            "4",
        ],
    );
    let stored = stored_events(url);
    assert_eq!(stored.len(), EVENTS.len() - 1);
    assert_eq!(report["events"], stored.len());
    assert_eq!(report["format"], "parquet");
    // 15 rows in groups of at most 4.
    assert_eq!(report["row_groups"], 4);
    let (reader, rows) = read_rows(&out);
    assert_eq!(reader.metadata().num_row_groups(), 4);
    assert_eq!(rows.len(), stored.len());
    let read: Vec<Event> = rows.iter().map(event_of).collect();
    assert_eq!(read, stored);
    let utf8 = Some(LogicalType::String);
    assert_schema(
        &reader,
        &[
            ("event_id", Physical::BYTE_ARRAY, utf8.clone(), false),
            ("user_id", Physical::BYTE_ARRAY, utf8.clone(), false),
            ("at", Physical::INT64, micros_utc(), false),
            ("type", Physical::BYTE_ARRAY, utf8.clone(), false),
            ("item_id", Physical::BYTE_ARRAY, utf8.clone(), true),
            ("currency", Physical::BYTE_ARRAY, utf8.clone(), true),
            ("amount", Physical::INT64, None, true),
            ("quantity", Physical::INT64, None, true),
            ("rating", Physical::INT32, None, true),
            ("propensity", Physical::DOUBLE, None, true),
            ("expires_at", Physical::INT64, micros_utc(), true),
            ("purchased", Physical::BOOLEAN, None, true),
            (
                "lines.list.element.item_id",
                Physical::BYTE_ARRAY,
                utf8.clone(),
                false,
            ),
            ("lines.list.element.paid", Physical::INT64, None, false),
        ],
    );
    // --since and --until keep the events of that span.
    let part = dir.join("part.parquet");
    let report = ok(
        url,
        &[
            "export",
            "events",
            "--out",
            part.to_str().unwrap(),
            "--since",
            "2026-11-04",
            "--until",
            "2026-11-07T08:30:00Z",
        ],
    );
    let (_, rows) = read_rows(&part);
    let mut ids: Vec<String> = rows.iter().map(|r| event_of(r).id).collect();
    ids.sort();
    assert_eq!(ids, ["e07", "e08", "e09", "e10", "e11", "e12"]);
    assert_eq!(report["events"], 6);
}

fn check_decisions(url: &str, dir: &Path) {
    let out = dir.join("decisions.parquet");
    let report = ok(
        url,
        &[
            "export",
            "decisions",
            "--out",
            out.to_str().unwrap(),
            "--row-group-rows",
            "5",
        ],
    );
    assert_eq!(report["decisions"], 6);
    assert_eq!(report["joined"], 3);
    assert_eq!(report["row_groups"], 2);
    let stored = open_decision_log(url)
        .unwrap()
        .joined_decisions(i64::MIN, i64::MAX)
        .unwrap();
    let (reader, rows) = read_rows(&out);
    assert_eq!(rows.len(), stored.len());
    for (row, (d, o)) in rows.iter().zip(&stored) {
        let f = fields(row);
        let request: serde_json::Value = serde_json::from_str(&d.request).unwrap();
        assert_eq!(text(&f, "decision_id").as_deref(), Some(d.id.as_str()));
        assert_eq!(time(&f, "at"), Some(d.at));
        assert_eq!(text(&f, "customer_id"), Some(d.customer_id.clone()));
        assert_eq!(text(&f, "policy").as_deref(), request["policy"].as_str());
        assert_eq!(text(&f, "policy_version"), Some(d.policy_version.clone()));
        assert_eq!(text(&f, "action").as_deref(), request["offer_id"].as_str());
        assert_eq!(text(&f, "offer"), Some(d.offer.clone()));
        assert_eq!(double(&f, "propensity"), Some(d.propensity));
        assert_eq!(boolean(&f, "explored"), Some(d.explored));
        assert_eq!(text(&f, "currency"), Some(d.currency.clone()));
        assert_eq!(long(&f, "expected_profit"), Some(d.expected_profit));
        assert_eq!(text(&f, "budget_id"), d.budget_id);
        assert_eq!(long(&f, "reserved"), Some(d.reserved));
        assert_eq!(
            time(&f, "attribution_deadline"),
            Some(d.attribution_deadline)
        );
        assert_eq!(boolean(&f, "joined"), Some(o.is_some()));
        assert_eq!(time(&f, "outcome_at"), o.as_ref().map(|o| o.at));
        assert_eq!(
            text(&f, "outcome_source").as_deref(),
            o.as_ref().map(|o| o.source.as_str())
        );
        assert_eq!(
            text(&f, "outcome_event_id"),
            o.as_ref().and_then(|o| o.event_id.clone())
        );
        assert_eq!(boolean(&f, "converted"), o.as_ref().map(|o| o.converted));
        assert_eq!(long(&f, "revenue"), o.as_ref().map(|o| o.revenue));
        assert_eq!(long(&f, "discount"), o.as_ref().map(|o| o.discount));
        assert_eq!(long(&f, "profit"), o.as_ref().map(|o| o.profit));
        assert_eq!(long(&f, "charged"), o.as_ref().map(|o| o.charged));
        let features: Vec<f64> = list(&f, "features")
            .unwrap()
            .iter()
            .map(|v| match v {
                Field::Double(x) => *x,
                other => panic!("feature {other:?}"),
            })
            .collect();
        assert_eq!(features, d.logged_features());
    }
    // The fixture's own values, so that the comparison above cannot pass on two empty sides.
    let first = fields(&rows[0]);
    assert_eq!(long(&first, "revenue"), Some(4_000));
    assert_eq!(text(&first, "outcome_event_id").as_deref(), Some("e05"));
    assert_eq!(
        list(&fields(&rows[1]), "features").map(|l| l.len()),
        Some(0)
    );
    assert_eq!(long(&fields(&rows[1]), "revenue"), None);
    let utf8 = Some(LogicalType::String);
    assert_schema(
        &reader,
        &[
            ("decision_id", Physical::BYTE_ARRAY, utf8.clone(), false),
            ("at", Physical::INT64, micros_utc(), false),
            ("propensity", Physical::DOUBLE, None, false),
            ("explored", Physical::BOOLEAN, None, false),
            ("reserved", Physical::INT64, None, false),
            ("budget_id", Physical::BYTE_ARRAY, utf8.clone(), true),
            ("attribution_deadline", Physical::INT64, micros_utc(), false),
            ("outcome_at", Physical::INT64, micros_utc(), true),
            ("converted", Physical::BOOLEAN, None, true),
            ("revenue", Physical::INT64, None, true),
            ("profit", Physical::INT64, None, true),
            ("features.list.element", Physical::DOUBLE, None, false),
        ],
    );
}

#[test]
fn sqlite_store_exports_to_parquet_that_reads_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shop.sqlite").display());
    seed(&url);
    check_events(&url, dir.path());
    check_decisions(&url, dir.path());
}

#[test]
fn postgres_store_exports_to_parquet_that_reads_back_equal() {
    let Some(url) = discount_store::postgres::scratch_schema_url("export_parquet").unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    seed(&url);
    check_events(&url, dir.path());
    check_decisions(&url, dir.path());
}

#[test]
fn parquet_needs_a_file_and_a_failed_export_leaves_none() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shop.sqlite").display());
    seed(&url);
    let out = discount(&url, &["export", "events", "--format", "parquet"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--out"), "{err}");
    // A folder that does not exist: the error names the file, and nothing is left behind.
    let missing = dir.path().join("no-such-folder").join("d.parquet");
    let out = discount(
        &url,
        &["export", "decisions", "--out", missing.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("d.parquet"), "{err}");
    assert!(!missing.exists());
    // An empty store gives a valid file of no rows.
    let empty = format!("sqlite://{}", dir.path().join("empty.sqlite").display());
    let file = dir.path().join("none.parquet");
    let report = ok(
        &empty,
        &["export", "decisions", "--out", file.to_str().unwrap()],
    );
    assert_eq!(report["decisions"], 0);
    let (reader, rows) = read_rows(&file);
    assert!(rows.is_empty());
    assert_eq!(reader.metadata().num_row_groups(), 0);
}
