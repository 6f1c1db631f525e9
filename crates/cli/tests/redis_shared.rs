//! Two real `discount serve` processes on one PostgreSQL store and one Redis: events written
//! through either process update the profile state the other decides with, every profile either
//! answers equals the rebuild from the whole history, and one key's rate limit holds across both.

use std::process::{Command, Stdio};
use std::time::Instant;

use discount_core::event::WireRecord;
use discount_core::{Event, Record, Timestamp};
use discount_features::{point_in_time, Catalog, FeatureSpec};
use discount_server::client::HttpClient;
use discount_store::decision_log::open_decision_log;

mod serve_process;
use serve_process::{admin_key, bin, serve_with, two_rung_engine};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Whether the test Redis answers; under `CI=true` it must.
fn redis_reachable() -> bool {
    let up = std::net::TcpStream::connect("127.0.0.1:6379").is_ok();
    if !up {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Redis at 127.0.0.1:6379 is not reachable (CI must start it)"
        );
        eprintln!("skipping: Redis at 127.0.0.1:6379 is not reachable");
    }
    up
}

fn record(json: &str) -> Record {
    serde_json::from_str::<WireRecord>(json)
        .unwrap()
        .into_record()
        .unwrap()
}

/// A key prefix no other run uses.
fn unique_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("test-redis-shared-{}-{nanos}:", std::process::id())
}

/// The events of round `round`: one to three of different kinds, on days before 2026-06-30.
fn events_of_round(customer: &str, round: usize) -> Vec<String> {
    let day = |d: usize| {
        format!(
            "2026-06-{:02}T{:02}:00:00Z",
            1 + (round * 7 + d) % 29,
            round % 24
        )
    };
    let mut out = vec![format!(
        r#"{{"type":"view","id":"v{round}","user_id":"{customer}","time":"{}","item_id":"{}"}}"#,
        day(0),
        ["shoe", "hat", "late"][round % 3]
    )];
    if round.is_multiple_of(2) {
        out.push(format!(
            r#"{{"type":"order","id":"o{round}","user_id":"{customer}","time":"{}","order_id":"o{round}",
                "lines":[{{"item_id":"{}","quantity":1,"list_price":{},"paid":{},"retail_discount":{}}}]}}"#,
            day(1),
            ["shoe", "late"][round % 4 / 2],
            1_000 + 100 * round,
            900 + 100 * round,
            100
        ));
    }
    if round % 3 == 1 {
        out.push(format!(
            r#"{{"type":"add_to_cart","id":"k{round}","user_id":"{customer}","time":"{}","item_id":"hat","quantity":1}}"#,
            day(2)
        ));
    }
    out
}

fn post_events(client: &mut HttpClient, auth: &str, records: &[String]) {
    let body = format!(r#"{{"events":[{}]}}"#, records.join(","));
    let r = client
        .request(
            "POST",
            "/v1/events",
            &[("authorization", auth)],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["rejected"], 0, "{}", r.text());
}

/// The profile's `as_of`, written as microseconds or as RFC 3339.
fn as_of(profile: &serde_json::Value) -> Timestamp {
    match &profile["as_of"] {
        serde_json::Value::Number(n) => Timestamp(n.as_i64().unwrap()),
        serde_json::Value::String(s) => Timestamp::parse("as_of", s).unwrap(),
        other => panic!("as_of {other}"),
    }
}

/// Equal up to the last bits that a float's trip through JSON text may change.
fn assert_close(name: &str, served: f64, rebuilt: f64, context: &str) {
    let tolerance = 1e-12 * rebuilt.abs().max(1.0);
    assert!(
        (served - rebuilt).abs() <= tolerance,
        "{name}: served {served}, rebuilt {rebuilt} ({context})"
    );
}

/// `discount_profile_cache_lookups_total{result="hit"}` of one process.
fn profile_hits(client: &mut HttpClient) -> u64 {
    let r = client.request("GET", "/metrics", &[], b"").unwrap();
    r.text()
        .lines()
        .find(|l| l.starts_with("discount_profile_cache_lookups_total{result=\"hit\"}"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn profiles_and_rate_limits_are_shared_across_processes() {
    let Some(url) = discount_store::postgres::scratch_schema_url("redis_shared").unwrap() else {
        return;
    };
    if !redis_reachable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = FeatureSpec::base()
        .features
        .iter()
        .map(|f| format!("\"{}\"", f.name))
        .collect();
    let engine = dir.path().join("engine.toml");
    std::fs::write(
        &engine,
        two_rung_engine("redis-v1", 1_000_000, &format!("[{}]", names.join(","))),
    )
    .unwrap();
    let token = admin_key(&url);
    let auth = format!("Bearer {token}");
    let prefix = unique_prefix();
    let env = [
        ("DISCOUNT_SERVER__REDIS_URL", REDIS_URL),
        ("DISCOUNT_SERVER__REDIS_PREFIX", prefix.as_str()),
    ];
    let a = serve_with(&url, &engine, &["--workers", "2"], &env, Stdio::inherit());
    let b = serve_with(&url, &engine, &["--workers", "2"], &env, Stdio::inherit());
    let mut clients = [HttpClient::new(a.addr), HttpClient::new(b.addr)];

    // `late` is only a placeholder (category `unknown`) until its item record arrives mid-way.
    post_events(
        &mut clients[0],
        &auth,
        &[
            r#"{"type":"item","id":"shoe","category":"shoes","list_price":1000}"#.into(),
            r#"{"type":"item","id":"hat","category":"hats","list_price":500}"#.into(),
        ],
    );
    let mut catalog: Catalog = [("shoe", "shoes"), ("hat", "hats")].into_iter().collect();
    let customer = "shared-customer";
    let mut history: Vec<Event> = Vec::new();
    let mut decisions = Vec::new();
    let rounds: usize = 12;
    for round in 0..rounds {
        // Events to one process, the profile and a decision from the other.
        let (writer, reader) = if round.is_multiple_of(2) {
            (0, 1)
        } else {
            (1, 0)
        };
        let mut records = events_of_round(customer, round);
        if round == 6 {
            records
                .push(r#"{"type":"item","id":"late","category":"garden","list_price":700}"#.into());
            catalog.insert("late", "garden");
        }
        post_events(&mut clients[writer], &auth, &records);
        for r in &records {
            if let Record::Event(e) = record(r) {
                history.push(e);
            }
        }
        let r = clients[reader]
            .request(
                "GET",
                &format!("/v1/customers/{customer}/profile"),
                &[("authorization", &auth)],
                b"",
            )
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let served = r.json();
        let now = as_of(&served["profile"]);
        let (profile, vector) = point_in_time(customer, &history, &catalog, now).unwrap();
        assert_eq!(served["profile"]["events"], history.len(), "round {round}");
        assert_eq!(served["profile"]["orders"], profile.orders, "round {round}");
        let spec = FeatureSpec::base();
        for (def, rebuilt) in spec.features.iter().zip(&vector) {
            let value = served["features"][&def.name]
                .as_f64()
                .unwrap_or_else(|| panic!("no feature {} in {served}", def.name));
            assert_close(
                &def.name,
                value,
                *rebuilt,
                &format!("round {round}, process {reader}"),
            );
        }
        let r = clients[reader]
            .request(
                "POST",
                "/v1/decisions",
                &[("authorization", &auth)],
                format!(r#"{{"customer_id":"{customer}"}}"#).as_bytes(),
            )
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        decisions.push((
            r.json()["decision_id"].as_str().unwrap().to_string(),
            history.clone(),
            catalog.clone(),
        ));
    }
    // The features each decision was made with (all the base features, as the engine names
    // them) are the rebuild's at the decision's time.
    let mut log = open_decision_log(&url).unwrap();
    for (id, history, catalog) in &decisions {
        let row = log.decision(id).unwrap().unwrap();
        let logged: serde_json::Value = serde_json::from_str(&row.request).unwrap();
        let (_, vector) = point_in_time(customer, history, catalog, Timestamp(row.at)).unwrap();
        let features = logged["features"].as_array().unwrap();
        assert_eq!(features.len(), vector.len());
        for (i, (served, rebuilt)) in features.iter().zip(&vector).enumerate() {
            assert_close(
                &format!("feature {i}"),
                served.as_f64().unwrap(),
                *rebuilt,
                id,
            );
        }
    }
    // The states came from Redis, written by the other process: after the first lookup of
    // each process, profiles and decisions are answered from the shared state.
    let hits: u64 = clients.iter_mut().map(profile_hits).sum();
    assert!(
        hits >= 2 * rounds as u64 - 4,
        "{hits} profile lookups hit the shared state of {} lookups",
        2 * rounds
    );

    // One key limited to N requests a second, 2N requests over both processes as fast as they
    // come: about N are let through (the bucket's N plus what it refills meanwhile), the rest
    // are 429 with Retry-After.
    let n = 10;
    let out = Command::new(bin())
        .args([
            "--json",
            "--store",
            &url,
            "keys",
            "create",
            "--name",
            "limited",
            "--role",
            "decide",
            "--rate",
            &n.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let limited: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let limited_auth = format!("Bearer {}", limited["token"].as_str().unwrap());
    let start = Instant::now();
    let mut accepted = 0;
    for i in 0..2 * n {
        let r = clients[i % 2]
            .request(
                "GET",
                &format!("/v1/customers/{customer}/profile"),
                &[("authorization", &limited_auth)],
                b"",
            )
            .unwrap();
        match r.status {
            200 => accepted += 1,
            429 => {
                let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
                assert!(wait >= 1, "Retry-After {wait}");
            }
            other => panic!("{other}: {}", r.text()),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let refilled = (n as f64 * elapsed).ceil() as usize;
    assert!(
        accepted >= n && accepted <= n + refilled,
        "{accepted} of {} requests accepted in {elapsed:.3} s at {n}/s over two processes",
        2 * n
    );
    drop((a, b));
}
