//! The holes an outside test of the service found, each shown closed through the real server on
//! SQLite and on PostgreSQL: ids mapped once at the edge under pseudonymisation, one serving
//! process per SQLite file, idempotency keys bound to their body, ids with NUL, money overflow,
//! the charged figure, live profiles with the catalogue, offer history in eligibility, expiring
//! holds, timeouts and the reason an order was not attributed.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{engine, expect_error, store_url, TestServer, TEST_ENGINE};
use discount_policy::EngineConfig;
use discount_server::auth::Role;

const KEY: &str = "0123456789abcdef-a-test-key";

fn start(
    backend: &str,
    label: &str,
    engine: EngineConfig,
    configure: impl FnOnce(&mut discount_core::Config),
) -> Option<TestServer> {
    let (url, dir) = store_url(backend, label)?;
    match TestServer::start_with(&url, dir, engine, configure) {
        Ok(s) => Some(s),
        Err(e) => panic!("the service did not start: {e}"),
    }
}

fn events_body(events: &[String]) -> String {
    format!(r#"{{"events":[{}]}}"#, events.join(","))
}

/// A service with pseudonymised ids and a budget it will not run out of.
fn start_pseudonymised(backend: &str, label: &str) -> Option<TestServer> {
    start(backend, label, engine(1_000_000), |c| {
        c.privacy.pseudonymise_key = Some(KEY.into());
    })
}

fn pseudonymised_ids_meet_everywhere(backend: &str) {
    let Some(s) = start_pseudonymised(backend, "pseudo") else {
        return;
    };
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    let history = events_body(&[
        r#"{"type":"item","id":"sku-1","category":"shoes","list_price":6000,"unit_cost":3000}"#
            .into(),
        r#"{"type":"user","id":"alice","signup":"2025-11-01"}"#.into(),
        r#"{"type":"order","id":"o-1","user_id":"alice","time":"2025-12-20T10:00:00Z","order_id":"o1","lines":[{"item_id":"sku-1","quantity":1,"list_price":6000,"paid":6000}]}"#.into(),
    ]);
    let r = api.post("/v1/events", &admin, &history);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["stored"], 3, "{}", r.text());

    // The decision sees the history stored under the pseudonym.
    let d = api.decide(&admin, "alice");
    let stored_id = d["customer_id"].as_str().unwrap().to_string();
    assert!(stored_id.starts_with("p_"), "{d}");
    let profile = api.get("/v1/customers/alice/profile", &admin);
    assert_eq!(profile.status, 200, "{}", profile.text());
    let p = profile.json();
    assert_eq!(p["known"], true, "{p}");
    assert_eq!(p["features"]["orders_total"], 1.0, "{p}");

    // The raw id is nowhere in the decision log.
    let id = d["decision_id"].as_str().unwrap().to_string();
    let row = s
        .state
        .pool
        .with(move |log| log.decision(&id))
        .unwrap()
        .unwrap();
    assert_eq!(row.customer_id, stored_id);
    for text in [&row.request, &row.response, &row.customer_id] {
        assert!(!text.contains("alice"), "raw id logged: {text}");
    }

    // The next order under the raw id joins the decision.
    let order = events_body(&[r#"{"type":"order","id":"o-2","user_id":"alice","time":"2026-01-05T00:00:00Z","order_id":"o2","lines":[{"item_id":"sku-1","quantity":1,"list_price":6000,"paid":6000}]}"#.into()]);
    let r = api.post("/v1/events", &admin, &order).json();
    assert_eq!(
        r["results"][0]["attributed_to"], d["decision_id"],
        "the order was not joined: {r}"
    );
}
on_both!(pseudonymised_ids_meet_everywhere);

#[test]
fn a_short_pseudonymisation_key_stops_the_start() {
    let (url, dir) = store_url("sqlite", "short-key").unwrap();
    let e = match TestServer::start_with(&url, dir, engine(1000), |c| {
        c.privacy.pseudonymise_key = Some("short".into());
    }) {
        Ok(_) => panic!("a service started with a 5-byte key"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("pseudonymise_key") && e.contains("16"), "{e}");
}

#[test]
fn a_second_service_on_one_sqlite_file_is_refused() {
    let (url, dir) = store_url("sqlite", "two").unwrap();
    let first = TestServer::start_with(&url, dir, engine(1000), |_| {}).unwrap();
    let e = match TestServer::start_with(&url, None, engine(1000), |_| {}) {
        Ok(_) => panic!("two services serve one SQLite file"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("already serving") && e.contains("PostgreSQL"),
        "{e}"
    );
    // Once the first is gone, the file can be served again.
    let dir = first.stop();
    std::thread::sleep(Duration::from_millis(200));
    let again = TestServer::start_with(&url, dir, engine(1000), |_| {});
    assert!(again.is_ok(), "the lock outlived its process");
}

fn idempotency_key_reused_with_another_body(backend: &str) {
    let Some(s) = start(backend, "idem", engine(1_000_000), |_| {}) else {
        return;
    };
    let mut api = s.client();
    let token = s.key(Role::Decide);
    let auth = format!("Bearer {token}");
    let headers = [
        ("authorization", auth.as_str()),
        ("idempotency-key", "order-77"),
    ];
    let first = api.call_with("POST", "/v1/decisions", &headers, r#"{"customer_id":"c1"}"#);
    assert_eq!(first.status, 200, "{}", first.text());
    let retry = api.call_with("POST", "/v1/decisions", &headers, r#"{"customer_id":"c1"}"#);
    assert_eq!(retry.status, 200);
    assert_eq!(retry.header("idempotent-replay"), Some("true"));
    assert_eq!(retry.json(), first.json());
    let other = api.call_with("POST", "/v1/decisions", &headers, r#"{"customer_id":"c2"}"#);
    let e = expect_error(&other, 422);
    assert_eq!(e["field"], "Idempotency-Key");
    assert!(e["message"].as_str().unwrap().contains("order-77"), "{e}");
}
on_both!(idempotency_key_reused_with_another_body);

fn control_characters_and_overflow_are_4xx(backend: &str) {
    let Some(s) = start(backend, "nul", engine(1_000_000), |_| {}) else {
        return;
    };
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    let e = expect_error(
        &api.post("/v1/decisions", &admin, r#"{"customer_id":"a\u0000b"}"#),
        422,
    );
    assert_eq!(e["field"], "customer_id");
    let e = expect_error(
        &api.post(
            "/v1/outcomes",
            &admin,
            r#"{"decision_id":"d\u0000","converted":true}"#,
        ),
        422,
    );
    assert_eq!(e["field"], "decision_id");
    expect_error(&api.get("/v1/customers/a%00b/profile", &admin), 422);
    expect_error(&api.get("/v1/decisions/a%00b", &admin), 422);
    let r = api
        .post(
            "/v1/events",
            &admin,
            &events_body(&[
                r#"{"type":"view","id":"v1","user_id":"u\u0000","time":"2026-01-01T00:00:00Z"}"#
                    .into(),
            ]),
        )
        .json();
    assert_eq!(r["rejected"], 1, "{r}");
    assert_eq!(r["results"][0]["field"], "events[0].user_id", "{r}");

    // Two lines near 2^62 would wrap to a negative total.
    let big = 1i64 << 62;
    let order = format!(
        r#"{{"type":"order","id":"o","user_id":"u","time":"2026-01-01T00:00:00Z","order_id":"o","lines":[{{"item_id":"a","quantity":1,"list_price":{big},"paid":{big}}},{{"item_id":"b","quantity":1,"list_price":{big},"paid":{big}}}]}}"#
    );
    let r = api
        .post("/v1/events", &admin, &events_body(&[order]))
        .json();
    assert_eq!(r["rejected"], 1, "{r}");
    assert!(
        r["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("64-bit"),
        "{r}"
    );
    let basket = format!(
        r#"{{"customer_id":"u","context":{{"basket":[{{"item_id":"a","quantity":3,"unit_price":{big}}}]}}}}"#
    );
    let e = expect_error(&api.post("/v1/decisions", &admin, &basket), 422);
    assert_eq!(e["field"], "context.basket[0].unit_price");
    // Nothing above was a 5xx, and the service still answers.
    assert_eq!(api.decide(&admin, "fine")["customer_id"], "fine");
}
on_both!(control_characters_and_overflow_are_4xx);

fn charged_is_what_the_ledger_charged(backend: &str) {
    let Some(s) = start(backend, "charged", engine(1_000_000), |_| {}) else {
        return;
    };
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    // Decide until one decision holds budget (an offer was given).
    let held = (0..200)
        .map(|i| api.decide(&admin, &format!("h{i}")))
        .find(|d| d["reserved"].as_i64().unwrap_or(0) > 0)
        .expect("no offer in 200 decisions with epsilon 0.9");
    let reserved = held["reserved"].as_i64().unwrap();
    let before = api.get("/v1/budgets/default", &admin).json();
    let body = format!(
        r#"{{"decision_id":"{}","converted":true,"revenue":9000,"discount":{},"profit":3000}}"#,
        held["decision_id"].as_str().unwrap(),
        reserved * 10
    );
    let r = api.post("/v1/outcomes", &admin, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["charged"], reserved, "{}", r.text());
    let after = api.get("/v1/budgets/default", &admin).json();
    assert_eq!(
        after["spent"].as_i64().unwrap() - before["spent"].as_i64().unwrap(),
        reserved,
        "{after}"
    );
    let d = api
        .get(
            &format!("/v1/decisions/{}", held["decision_id"].as_str().unwrap()),
            &admin,
        )
        .json();
    assert_eq!(d["outcome"]["charged"], reserved, "{d}");
}
on_both!(charged_is_what_the_ledger_charged);

fn live_profiles_use_the_catalogue(backend: &str) {
    let Some(s) = start(backend, "catalogue", engine(1_000_000), |_| {}) else {
        return;
    };
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    let body = events_body(&[
        r#"{"type":"item","id":"sku-9","category":"garden","list_price":2500}"#.into(),
        r#"{"type":"order","id":"o-9","user_id":"bob","time":"2026-01-02T10:00:00Z","order_id":"o9","lines":[{"item_id":"sku-9","quantity":2,"list_price":2500,"paid":5000}]}"#.into(),
    ]);
    assert_eq!(api.post("/v1/events", &admin, &body).status, 200);
    let p = api.get("/v1/customers/bob/profile", &admin).json();
    let categories = p["profile"]["top_categories"].to_string();
    assert!(
        categories.contains("garden") && !categories.contains("unknown"),
        "{p}"
    );
}
on_both!(live_profiles_use_the_catalogue);

fn once_per_days_holds_in_serve(backend: &str) {
    let text = TEST_ENGINE.replace(
            "offer = { kind = \"amount_off\", amount = 500, min_spend = 0 }",
            "offer = { kind = \"amount_off\", amount = 500, min_spend = 0 }\neligibility = { once_per_days = 30 }",
        );
    let e = EngineConfig::from_toml_str(&text, "once per 30 days").unwrap();
    let Some(s) = start(backend, "fatigue", e, |_| {}) else {
        return;
    };
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    let ask_for = |c: &str| {
        format!(r#"{{"customer_id":"{c}","candidate_offers":["amt500"],"explain":true}}"#)
    };
    // The first customer the engine gives the rung to (it explores 90% of the time).
    let customer = (0..100)
        .map(|i| format!("carol{i}"))
        .find(|c| api.post("/v1/decisions", &admin, &ask_for(c)).json()["offer_id"] == "amt500")
        .expect("the rung was never given");
    let ask = ask_for(&customer);
    let ask = ask.as_str();
    for _ in 0..5 {
        let again = api.post("/v1/decisions", &admin, ask).json();
        assert_eq!(
            again["offer_id"], "none",
            "offered again within 30 days: {again}"
        );
    }
    s.clock.advance_days(31.0);
    let given_again =
        (0..30).any(|_| api.post("/v1/decisions", &admin, ask).json()["offer_id"] == "amt500");
    assert!(given_again, "the rung stayed barred after 31 days");
}
on_both!(once_per_days_holds_in_serve);

fn an_unattributed_order_says_why(backend: &str) {
    let Some(s) = start(backend, "why", engine(1_000_000), |_| {}) else {
        return;
    };
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    api.decide(&admin, "dave");
    // An order from before the decision (a late feed) is stored, not attributed, and says why.
    let order = events_body(&[r#"{"type":"order","id":"o-old","user_id":"dave","time":"2025-12-01T00:00:00Z","order_id":"old","lines":[{"item_id":"i1","quantity":1,"list_price":100,"paid":100}]}"#.into()]);
    let r = api.post("/v1/events", &admin, &order).json();
    assert_eq!(r["stored"], 1, "{r}");
    assert!(r["results"][0]["attributed_to"].is_null(), "{r}");
    let why = r["results"][0]["not_attributed"].as_str().unwrap();
    assert!(
        why.contains("2025-12-01") && why.contains("attribution_window_days"),
        "{why}"
    );
}
on_both!(an_unattributed_order_says_why);

#[test]
fn holds_of_a_process_killed_mid_decision_expire() {
    let Some(s) = start("postgres", "holds", engine(100_000), |c| {
        c.server.hold_expiry_seconds = 1.0;
    }) else {
        return;
    };
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    // Another process took 700 of the budget and died before logging its decision: its holds
    // were last heard of long ago.
    let taken = s
        .state
        .pool
        .with(|log| log.reserve("killed-process", "default", 700, 0))
        .unwrap();
    // The hold was taken (the sweep may give it back before the next line reads the budget).
    assert!(taken.is_some());
    let row = |api: &mut common::Api| api.get("/v1/budgets/default", &admin).json();
    let mut released = false;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        if row(&mut api)["reserved"] == 0 {
            released = true;
            break;
        }
    }
    assert!(
        released,
        "the dead process's hold stayed: {}",
        row(&mut api)
    );
    // This process's own decisions keep their holds (its heartbeat is fresh).
    let d = (0..100)
        .map(|i| api.decide(&admin, &format!("k{i}")))
        .find(|d| d["reserved"].as_i64().unwrap_or(0) > 0);
    if let Some(d) = d {
        std::thread::sleep(Duration::from_millis(2500));
        assert!(row(&mut api)["reserved"].as_i64().unwrap() >= d["reserved"].as_i64().unwrap());
    }
}

#[test]
fn half_sent_requests_are_cut_off() {
    let Some(s) = start("sqlite", "slow", engine(1000), |c| {
        c.server.header_timeout_seconds = 0.5;
        c.server.request_timeout_seconds = 1.0;
    }) else {
        return;
    };
    // Headers that never end: the connection is closed after the header timeout.
    let mut stalled = std::net::TcpStream::connect(s.addr).unwrap();
    stalled
        .write_all(b"POST /v1/decisions HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = Vec::new();
    let read = stalled.read_to_end(&mut buf);
    assert!(
        read.is_ok(),
        "the server kept a half-sent request open: {read:?}"
    );
    // A body that never arrives in full: 408 after the request timeout.
    let token = s.key(Role::Decide);
    let mut slow = std::net::TcpStream::connect(s.addr).unwrap();
    write!(
        slow,
        "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"cust"
    )
    .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = vec![0u8; 4096];
    let n = slow.read(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");
    // The service still answers everyone else.
    let mut api = s.client();
    assert_eq!(api.decide(&token, "after")["customer_id"], "after");
}

fn erasure_removes_the_customer_and_keeps_the_aggregates(backend: &str) {
    let Some(s) = start_pseudonymised(backend, "erase") else {
        return;
    };
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    let history = events_body(&[
        r#"{"type":"user","id":"erin","signup":"2025-11-01"}"#.into(),
        r#"{"type":"view","id":"v-e1","user_id":"erin","time":"2025-12-20T10:00:00Z"}"#.into(),
        r#"{"type":"order","id":"o-e1","user_id":"erin","time":"2025-12-21T10:00:00Z","order_id":"oe1","lines":[{"item_id":"sku-1","quantity":1,"list_price":6000,"paid":6000}]}"#.into(),
        r#"{"type":"view","id":"v-f1","user_id":"frank","time":"2025-12-20T10:00:00Z"}"#.into(),
    ]);
    assert_eq!(api.post("/v1/events", &admin, &history).status, 200);
    let d = api.decide(&admin, "erin");
    let pseudonym = d["customer_id"].as_str().unwrap().to_string();
    let budget_before = api.get("/v1/budgets/default", &admin).json();

    let r = api.call("DELETE", "/v1/customers/erin", Some(&admin), "");
    assert_eq!(r.status, 200, "{}", r.text());
    let e = r.json();
    assert_eq!(
        (
            e["events"].as_i64(),
            e["users"].as_i64(),
            e["decisions"].as_i64()
        ),
        (Some(2), Some(1), Some(1)),
        "{e}"
    );

    // Nothing of erin is left under her id, her decision remains for budgets and evaluation.
    let p = api.get("/v1/customers/erin/profile", &admin).json();
    assert_eq!(p["known"], false, "{p}");
    let id = d["decision_id"].as_str().unwrap().to_string();
    let row = s
        .state
        .pool
        .with(move |log| log.decision(&id))
        .unwrap()
        .unwrap();
    assert!(row.customer_id.starts_with("erased-"), "{row:?}");
    for text in [&row.customer_id, &row.request, &row.response] {
        assert!(
            !text.contains(&pseudonym) && !text.contains("erin"),
            "{text}"
        );
    }
    assert!(!row.request.contains("features"), "{}", row.request);
    assert_eq!(api.get("/v1/budgets/default", &admin).json(), budget_before);
    // Another customer is untouched.
    assert_eq!(
        api.get("/v1/customers/frank/profile", &admin).json()["known"],
        true
    );
}
on_both!(erasure_removes_the_customer_and_keeps_the_aggregates);
