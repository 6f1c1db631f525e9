//! Each kind of bad input gets a clear rejection naming file:line and field, and nothing else
//! is lost: the good rows around it are stored and the counts balance. Checked on both stores.

use std::io::Write;
use std::path::{Path, PathBuf};

use discount_core::config::UnknownItems;
use discount_ingest::quarantine::Quarantine;
use discount_ingest::{open_file, pipeline, Format, IngestOptions, InputReport};
use discount_store::Store;

const GOOD_BEFORE: &str =
    r#"{"type":"view","id":"good-1","user_id":"u1","time":"2024-03-01T10:00:00Z","item_id":"i1"}"#;
const GOOD_AFTER: &str =
    r#"{"type":"view","id":"good-2","user_id":"u2","time":"2024-03-01T10:05:00Z","item_id":"i1"}"#;

struct Run {
    report: InputReport,
    quarantine: Vec<serde_json::Value>,
    stored_events: i64,
}

fn options(strict: bool, unknown_items: UnknownItems) -> IngestOptions {
    IngestOptions {
        batch_size: 2,
        unknown_items,
        strict,
        customer_ids: discount_core::CustomerIds::raw(),
        defer_indexes: discount_ingest::pipeline::DeferIndexes::Never,
    }
}

fn ingest(store: &mut dyn Store, path: &Path, format: Format, opts: &IngestOptions) -> Run {
    let qdir = path
        .parent()
        .unwrap()
        .join(format!("q-{}", path.file_name().unwrap().to_string_lossy()));
    let mut source = open_file(path, format, 1 << 20).unwrap();
    let mut q = Quarantine::for_input(&qdir, &path.display().to_string());
    let report =
        pipeline::ingest("input", source.as_mut(), store, opts, &mut q, &mut |_| {}).unwrap();
    assert!(report.counts.balances(), "{:?}", report.counts);
    let quarantine = match q.path() {
        Some(p) => std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        None => vec![],
    };
    let stored_events = store.stats().unwrap().events;
    Run {
        report,
        quarantine,
        stored_events,
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

/// A JSONL file: a good row, the bad line, a good row.
fn sandwich(dir: &Path, name: &str, bad: &[u8]) -> PathBuf {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(GOOD_BEFORE.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(bad);
    bytes.push(b'\n');
    bytes.extend_from_slice(GOOD_AFTER.as_bytes());
    bytes.push(b'\n');
    write(dir, name, &bytes)
}

/// Ingests `bad` between two good rows into a fresh store; the bad row is rejected at line 2
/// with `field` and a reason containing `reason`, both good rows are stored.
fn check_rejected(
    new_store: &dyn Fn() -> Box<dyn Store>,
    bad: &[u8],
    field: Option<&str>,
    reason: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = sandwich(dir.path(), "in.jsonl", bad);
    let mut store = new_store();
    let run = ingest(
        store.as_mut(),
        &path,
        Format::Jsonl,
        &options(false, UnknownItems::Register),
    );
    let c = &run.report.counts;
    assert_eq!(
        (c.read, c.stored, c.duplicates, c.rejected),
        (3, 2, 0, 1),
        "{c:?}"
    );
    assert_eq!(run.stored_events, 2);
    assert_eq!(run.quarantine.len(), 1);
    let q = &run.quarantine[0];
    assert_eq!(q["line"], 2, "{q}");
    assert_eq!(q["field"].as_str(), field, "{q}");
    let message = &run.report.first_rejections[0];
    assert!(
        message.contains(":2:") && message.contains(reason),
        "message `{message}` lacks `{reason}`"
    );
    println!("{message}");
}

fn every_bad_input(new_store: &dyn Fn() -> Box<dyn Store>) {
    check_rejected(new_store, b"{\"type\":\"view\",", None, "malformed JSON");
    check_rejected(
        new_store,
        br#"{"type":"view","id":"x","time":"2024-03-01"}"#,
        Some("user_id"),
        "field `user_id` is required",
    );
    check_rejected(
        new_store,
        br#"{"type":"view","id":"x","user_id":42,"time":"2024-03-01"}"#,
        Some("user_id"),
        "invalid type: integer `42`, expected a string",
    );
    let order = |price: &str| {
        format!(
            r#"{{"type":"order","id":"o","user_id":"u","time":"2024-03-01","order_id":"o1","lines":[{{"item_id":"i1","quantity":1,"list_price":{price}}}]}}"#
        )
    };
    check_rejected(
        new_store,
        order("-100").as_bytes(),
        Some("lines[0].list_price"),
        "must not be negative",
    );
    check_rejected(
        new_store,
        order("\"12.99\"").as_bytes(),
        Some("lines[0].list_price"),
        "invalid type: string",
    );
    check_rejected(
        new_store,
        br#"{"type":"teleport","id":"x","user_id":"u","time":"2024-03-01"}"#,
        Some("type"),
        "unknown record type",
    );
    check_rejected(
        new_store,
        br#"{"type":"view","id":"x","user_id":"u","time":"next tuesday"}"#,
        Some("time"),
        "not a timestamp",
    );
    check_rejected(
        new_store,
        b"{\"type\":\"view\",\"id\":\"x\",\"user_id\":\"u\xff\xfe\",\"time\":1}",
        None,
        "not valid UTF-8",
    );
    let huge = format!(
        r#"{{"type":"view","id":"x","user_id":"u","time":1,"text":"{}"}}"#,
        "a".repeat(10 << 20)
    );
    check_rejected(
        new_store,
        huge.as_bytes(),
        None,
        "exceeds ingest.max_line_bytes",
    );
}

#[test]
fn timestamps_in_other_zones_and_formats_are_the_same_instant() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"type":"view","id":"a","user_id":"u","time":"2024-03-01T12:00:00+02:00"}"#,
        r#"{"type":"view","id":"b","user_id":"u","time":"2024-03-01 10:00:00"}"#,
        r#"{"type":"view","id":"c","user_id":"u","time":1709287200}"#,
        r#"{"type":"view","id":"d","user_id":"u","time":"Fri, 01 Mar 2024 05:00:00 -0500"}"#,
    ];
    let path = write(dir.path(), "t.jsonl", lines.join("\n").as_bytes());
    let mut store = discount_store::open(dir.path().join("t.sqlite").to_str().unwrap()).unwrap();
    let run = ingest(
        store.as_mut(),
        &path,
        Format::Jsonl,
        &options(false, UnknownItems::Register),
    );
    assert_eq!(run.report.counts.stored, 4);
    let s = store.stats().unwrap();
    assert_eq!(s.first_event, s.last_event);
    assert_eq!(s.first_event.as_deref(), Some("2024-03-01T10:00:00Z"));
}

fn sqlite_factory(dir: &Path) -> impl Fn() -> Box<dyn Store> + '_ {
    let counter = std::cell::Cell::new(0);
    move || {
        counter.set(counter.get() + 1);
        discount_store::open(
            dir.join(format!("s{}.sqlite", counter.get()))
                .to_str()
                .unwrap(),
        )
        .unwrap()
    }
}

#[test]
fn every_bad_input_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    every_bad_input(&sqlite_factory(dir.path()));
}

#[test]
fn every_bad_input_on_postgres() {
    let factory = || -> Option<Box<dyn Store>> {
        let url = discount_store::postgres::scratch_schema_url("bad").unwrap()?;
        Some(discount_store::open(&url).unwrap())
    };
    if factory().is_none() {
        return;
    }
    every_bad_input(&|| factory().unwrap());
}

#[test]
fn an_empty_file_reads_nothing_and_is_reported_empty() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = sqlite_factory(dir.path())();
    for (name, format) in [("e.jsonl", Format::Jsonl), ("e.csv", Format::Csv)] {
        let path = write(dir.path(), name, b"");
        let run = ingest(
            store.as_mut(),
            &path,
            format,
            &options(false, UnknownItems::Register),
        );
        assert!(run.report.empty);
        assert_eq!(run.report.counts.read, 0);
    }
}

#[test]
fn a_file_ending_mid_line_keeps_the_complete_record_and_rejects_the_cut_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = sqlite_factory(dir.path())();
    // A complete last record without a newline is fine.
    let path = write(dir.path(), "whole.jsonl", GOOD_BEFORE.as_bytes());
    let run = ingest(
        store.as_mut(),
        &path,
        Format::Jsonl,
        &options(false, UnknownItems::Register),
    );
    assert_eq!(run.report.counts.stored, 1);
    // A cut one is rejected with a hint.
    let cut = format!("{GOOD_AFTER}\n{}", &GOOD_AFTER[..40]);
    let path = write(dir.path(), "cut.jsonl", cut.as_bytes());
    let run = ingest(
        store.as_mut(),
        &path,
        Format::Jsonl,
        &options(false, UnknownItems::Register),
    );
    let c = &run.report.counts;
    assert_eq!((c.read, c.stored, c.rejected), (2, 1, 1));
    assert!(
        run.report.first_rejections[0].contains("ends mid-line"),
        "{:?}",
        run.report.first_rejections
    );
}

#[test]
fn reingesting_stores_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = sqlite_factory(dir.path())();
    let path = sandwich(dir.path(), "in.jsonl", GOOD_BEFORE.as_bytes());
    let first = ingest(
        store.as_mut(),
        &path,
        Format::Jsonl,
        &options(false, UnknownItems::Register),
    );
    assert_eq!(
        (first.report.counts.stored, first.report.counts.duplicates),
        (2, 1)
    );
    let second = ingest(
        store.as_mut(),
        &path,
        Format::Jsonl,
        &options(false, UnknownItems::Register),
    );
    assert_eq!(
        (second.report.counts.stored, second.report.counts.duplicates),
        (0, 3)
    );
    assert_eq!(second.stored_events, 2);
}

#[test]
fn unknown_items_are_registered_or_rejected_as_configured() {
    let dir = tempfile::tempdir().unwrap();
    let path = sandwich(
        dir.path(),
        "in.jsonl",
        br#"{"type":"review","id":"r","user_id":"u","time":1,"item_id":"ghost","rating":4}"#,
    );
    let new_store = sqlite_factory(dir.path());
    let mut store = new_store();
    let run = ingest(
        store.as_mut(),
        &path,
        Format::Jsonl,
        &options(false, UnknownItems::Reject),
    );
    let c = &run.report.counts;
    // The views name item i1 which is unknown too: everything is rejected, nothing stored.
    assert_eq!((c.read, c.stored, c.rejected), (3, 0, 3));
    assert!(
        run.report.first_rejections[1].contains(":2: field `item_id`: unknown item `ghost`"),
        "{:?}",
        run.report.first_rejections
    );
    let mut store = new_store();
    let run = ingest(
        store.as_mut(),
        &path,
        Format::Jsonl,
        &options(false, UnknownItems::Register),
    );
    assert_eq!(run.report.counts.stored, 3);
    assert_eq!(store.stats().unwrap().auto_registered_items, 2);
}

#[test]
fn strict_mode_stops_at_the_first_rejection_and_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = sqlite_factory(dir.path())();
    let path = sandwich(dir.path(), "in.jsonl", b"not json");
    let run = ingest(
        store.as_mut(),
        &path,
        Format::Jsonl,
        &options(true, UnknownItems::Register),
    );
    let c = &run.report.counts;
    assert!(run.report.stopped_early);
    assert_eq!((c.read, c.stored, c.rejected), (2, 1, 1));
}

#[test]
fn csv_orders_span_rows_and_bad_rows_name_their_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = sqlite_factory(dir.path())();
    let csv = "type,id,user_id,time,order_id,item_id,quantity,list_price,paid,coupon_discount\n\
               order,e1,u1,2024-03-01T10:00:00Z,o1,i1,1,1000,900,100\n\
               order,e1,u1,2024-03-01T10:00:00Z,o1,i2,2,500,1000,0\n\
               order,e2,u1,2024-03-02T10:00:00Z,o2,i1,1,abc,900,0\n\
               order,e3,u1,2024-03-02T10:00:00Z,o3,i1,1,1000\n\
               view,e4,u2,2024-03-03,,i1,,,,\n";
    let path = write(dir.path(), "o.csv", csv.as_bytes());
    let run = ingest(
        store.as_mut(),
        &path,
        Format::Csv,
        &options(false, UnknownItems::Register),
    );
    let c = &run.report.counts;
    assert_eq!(
        (c.read, c.stored, c.rejected),
        (4, 2, 2),
        "{:?}",
        run.report.first_rejections
    );
    assert!(
        run.report.first_rejections[0].contains(":4: field `list_price`"),
        "{:?}",
        run.report.first_rejections
    );
    assert!(
        run.report.first_rejections[1].contains(":5:")
            && run.report.first_rejections[1].contains("fields")
    );
    let s = store.stats().unwrap();
    assert_eq!(s.money[0].revenue, 1900);
    assert_eq!(s.money[0].orders, 1);
}

#[test]
fn csv_line_numbers_are_right_with_crlf_line_ends() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = sqlite_factory(dir.path())();
    let csv = "type,id,user_id,time\r\nview,a,u,2024-03-01\r\nview,b,u,someday\r\nview,c,u,2024-03-02\r\n";
    let path = write(dir.path(), "crlf.csv", csv.as_bytes());
    let run = ingest(
        store.as_mut(),
        &path,
        Format::Csv,
        &options(false, UnknownItems::Register),
    );
    assert_eq!(run.report.counts.stored, 2);
    assert!(
        run.report.first_rejections[0].contains("crlf.csv:3:"),
        "{:?}",
        run.report.first_rejections
    );
}
