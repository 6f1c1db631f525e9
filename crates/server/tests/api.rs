//! The real service over HTTP, on SQLite and on PostgreSQL: every endpoint, auth, idempotency,
//! the outcome join across a multi-day window (manual clock), budgets, policies, bad input.

mod common;

use std::collections::HashSet;

use common::{expect_error, TestServer};
use discount_server::auth::Role;

fn start(backend: &str, label: &str, budget: i64) -> Option<TestServer> {
    TestServer::start(backend, label, budget)
}

fn health_metrics_openapi(backend: &str) {
    let Some(s) = start(backend, "health", 100_000) else {
        return;
    };
    let mut api = s.client();
    assert_eq!(api.call("GET", "/healthz", None, "").status, 200);
    let ready = api.call("GET", "/readyz", None, "");
    assert_eq!(ready.status, 200, "{}", ready.text());
    let served = api.call("GET", "/v1/openapi.json", None, "");
    assert!(
        served.text() == discount_server::openapi::COMMITTED,
        "the service serves the committed document"
    );
    let doc = served.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/decisions"]["post"].is_object());
    let token = s.key(Role::Decide);
    let d = api.decide(&token, "m1");
    let metrics = api.call("GET", "/metrics", None, "").text();
    for needle in [
        "discount_http_requests_total{route=\"/v1/decisions\",status=\"200\"} 1",
        "discount_http_request_duration_seconds_bucket{route=\"/v1/decisions\",status=\"200\"",
        &format!(
            "discount_decisions_total{{offer=\"{}\"}} 1",
            d["offer_id"].as_str().unwrap()
        ),
        "discount_budget_remaining{campaign=\"default\"}",
        "discount_budget_spent{campaign=\"default\"} 0",
        "discount_model_version{policy=\"test-v1\"} 0",
    ] {
        assert!(
            metrics.contains(needle),
            "metrics lack {needle}:\n{metrics}"
        );
    }
    let missing = api.call("GET", "/v1/nothing", None, "");
    expect_error(&missing, 404);
    // A method the path does not take: the JSON error, naming the method, with Allow.
    let wrong = api.call("DELETE", "/v1/decisions", Some(&token), "");
    let e = expect_error(&wrong, 405);
    assert_eq!(e["field"], "method", "{e}");
    assert_eq!(e["code"], "method_not_allowed", "{e}");
    assert_eq!(wrong.header("allow"), Some("POST"), "{:?}", wrong.headers);
    let wrong = api.call("PUT", "/v1/policies", Some(&token), "");
    assert_eq!(expect_error(&wrong, 405)["field"], "method");
    assert_eq!(
        wrong.header("allow"),
        Some("GET, POST"),
        "{:?}",
        wrong.headers
    );
}
on_both!(health_metrics_openapi);

fn auth_roles_and_rate_limits(backend: &str) {
    let Some(s) = start(backend, "auth", 100_000) else {
        return;
    };
    let mut api = s.client();
    let body = r#"{"customer_id":"a1"}"#;
    let e = expect_error(&api.call("POST", "/v1/decisions", None, body), 401);
    assert!(e["message"].as_str().unwrap().contains("Authorization"));
    expect_error(&api.call("POST", "/v1/decisions", Some("junk"), body), 401);
    expect_error(
        &api.call_with(
            "POST",
            "/v1/decisions",
            &[("authorization", "Basic abc")],
            body,
        ),
        401,
    );
    let decide = s.key(Role::Decide);
    let (id, _) = discount_server::auth::parse_token(&decide).unwrap();
    let forged = format!("dk_{id}_00000000000000000000000000000000");
    let e = expect_error(&api.post("/v1/decisions", &forged, body), 401);
    assert_eq!(e["message"], "unknown API key");
    let ingest = s.key(Role::Ingest);
    let e = expect_error(&api.post("/v1/decisions", &ingest, body), 403);
    assert!(e["message"].as_str().unwrap().contains("`decide`"), "{e}");
    expect_error(&api.post("/v1/events", &decide, r#"{"events":[]}"#), 403);
    expect_error(&api.get("/v1/policies", &decide), 403);
    expect_error(&api.post("/v1/outcomes/settle", &decide, ""), 403);
    let admin = s.key(Role::Admin);
    assert_eq!(api.get("/v1/policies", &admin).status, 200);
    assert_eq!(
        api.post("/v1/events", &admin, r#"{"events":[]}"#).status,
        200
    );
    assert_eq!(api.post("/v1/decisions", &decide, body).status, 200);
    // Revocation reaches the server within the key cache's second.
    let id = id.to_string();
    assert!(s
        .state
        .pool
        .with(move |log| log.revoke_key(&id, 1))
        .unwrap());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let e = expect_error(&api.post("/v1/decisions", &decide, body), 401);
    assert!(e["message"].as_str().unwrap().contains("revoked"));
    // A key limited to 2 requests per second: the third at once is refused.
    let slow = s.key_with_rate(Role::Decide, Some(2));
    let statuses: Vec<u16> = (0..3)
        .map(|_| api.post("/v1/decisions", &slow, body).status)
        .collect();
    assert_eq!(statuses, vec![200, 200, 429]);
    let limited = api.post("/v1/decisions", &slow, body);
    expect_error(&limited, 429);
    // The answer says when to come back: a whole number of seconds, at least one.
    let wait: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After in {:?}", limited.headers));
    assert!((1..=2).contains(&wait), "{wait}");
}
on_both!(auth_roles_and_rate_limits);

fn decisions_idempotency_and_read(backend: &str) {
    let Some(s) = start(backend, "idem", 100_000) else {
        return;
    };
    let mut api = s.client();
    let token = s.key(Role::Decide);
    let body = r#"{"customer_id":"c1","context":{"placement":"checkout","device":"ios","basket":[{"item_id":"i1","category":"shoes","quantity":2,"unit_price":2500,"unit_cost":1000}]},"explain":true}"#;
    let r = api.post("/v1/decisions", &token, body);
    assert_eq!(r.status, 200, "{}", r.text());
    let d = r.json();
    for field in [
        "decision_id",
        "offer_id",
        "offer",
        "propensity",
        "explored",
        "expected_profit",
        "policy_version",
        "explanation",
        "decided_at",
        "attribution_ends_at",
        "reserved",
    ] {
        assert!(!d[field].is_null(), "missing {field}: {d}");
    }
    let p = d["propensity"].as_f64().unwrap();
    assert!(p > 0.0 && p <= 1.0);
    assert!(d["policy_version"]
        .as_str()
        .unwrap()
        .starts_with("test-v1/"));
    assert!(r.header("idempotent-replay").is_none());
    // Same key (header): same decision, flagged as a replay; nothing new is logged.
    let count = || s.state.pool.with(|log| log.log_counts()).unwrap().0;
    let before = count();
    let h = [
        ("authorization", format!("Bearer {token}")),
        ("idempotency-key", "k-1".to_string()),
    ];
    let h: Vec<(&str, &str)> = h.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let first = api.call_with("POST", "/v1/decisions", &h, body);
    let again = api.call_with("POST", "/v1/decisions", &h, body);
    assert_eq!(first.status, 200);
    assert_eq!(again.json(), first.json());
    assert_eq!(again.header("idempotent-replay"), Some("true"));
    assert_eq!(count(), before + 1);
    // In the body too.
    let b = r#"{"customer_id":"c2","idempotency_key":"k-2"}"#;
    let x = api.post("/v1/decisions", &token, b).json();
    let y = api.post("/v1/decisions", &token, b).json();
    assert_eq!(x["decision_id"], y["decision_id"]);
    // Keys are scoped by API key: another client's k-2 is another decision.
    let other = s.key(Role::Decide);
    let z = api.post("/v1/decisions", &other, b).json();
    assert_ne!(z["decision_id"], x["decision_id"]);
    // Concurrent retries of one key: one decision.
    let before = count();
    let ids: HashSet<String> = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let token = token.clone();
                let addr = s.addr;
                scope.spawn(move || {
                    let mut c = discount_server::client::HttpClient::new(addr);
                    let auth = format!("Bearer {token}");
                    let r = c
                        .request(
                            "POST",
                            "/v1/decisions",
                            &[("authorization", &auth), ("idempotency-key", "race")],
                            br#"{"customer_id":"c3"}"#,
                        )
                        .unwrap();
                    assert_eq!(r.status, 200, "{}", r.text());
                    r.json()["decision_id"].as_str().unwrap().to_string()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(count(), before + 1);
    // Read back.
    let id = d["decision_id"].as_str().unwrap();
    let got = api.get(&format!("/v1/decisions/{id}"), &token).json();
    assert_eq!(got["decision"], d);
    assert_eq!(got["status"], "open");
    assert!(got["outcome"].is_null());
    expect_error(&api.get("/v1/decisions/nope", &token), 404);
}
on_both!(decisions_idempotency_and_read);

fn at(days: f64) -> String {
    let t = discount_core::Timestamp::parse("t", common::START).unwrap();
    t.plus_days(days).to_rfc3339()
}

fn order(id: &str, customer: &str, days: f64) -> String {
    format!(
        r#"{{"type":"order","id":"{id}","user_id":"{customer}","time":"{}","order_id":"o-{id}","lines":[{{"item_id":"i-join","quantity":2,"list_price":2500,"paid":4500,"coupon_discount":500}}]}}"#,
        at(days)
    )
}

fn outcome_join_across_days(backend: &str) {
    let Some(s) = start(backend, "join", 100_000) else {
        return;
    };
    let mut api = s.client();
    let token = s.key(Role::Admin);
    let item =
        r#"{"type":"item","id":"i-join","category":"shoes","list_price":2500,"unit_cost":1500}"#;
    let r = api.post("/v1/events", &token, &format!(r#"{{"events":[{item}]}}"#));
    assert_eq!(r.json()["stored"], 1, "{}", r.text());
    // Day 0: decisions for three customers.
    let buyer = api.decide(&token, "c-buyer");
    let quiet = api.decide(&token, "c-quiet");
    let late = api.decide(&token, "c-late");
    let side = api.decide(&token, "c-side");
    let id = |d: &serde_json::Value| d["decision_id"].as_str().unwrap().to_string();
    // Day 2: the buyer orders; the order is attributed at once.
    s.clock.advance_days(2.0);
    let r = api.post(
        "/v1/events",
        &token,
        &format!(r#"{{"events":[{}]}}"#, order("e-buy", "c-buyer", 2.0)),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["results"][0]["attributed_to"],
        id(&buyer),
        "{}",
        r.text()
    );
    let got = api
        .get(&format!("/v1/decisions/{}", id(&buyer)), &token)
        .json();
    assert_eq!(got["status"], "joined");
    let o = &got["outcome"];
    assert_eq!(o["source"], "order");
    assert_eq!(o["converted"], true);
    assert_eq!(o["revenue"], 4500);
    assert_eq!(o["discount"], 500);
    assert_eq!(o["profit"], 4500 - 2 * 1500);
    let offered = buyer["reserved"].as_i64().unwrap() > 0;
    assert_eq!(o["charged"], if offered { 500 } else { 0 });
    // An order of c-side written past the API (as `discount ingest` would) on day 3.
    let record =
        serde_json::from_str::<discount_core::event::WireRecord>(&order("e-side", "c-side", 3.0))
            .unwrap()
            .into_record()
            .unwrap();
    s.state
        .events
        .lock()
        .unwrap()
        .write_batch(&[record], discount_core::config::UnknownItems::Register)
        .unwrap();
    // Day 6: nothing is due yet.
    s.clock.advance_days(4.0);
    assert_eq!(
        api.post("/v1/outcomes/settle", &token, "").json()["settled"],
        0
    );
    // Day 7.5: c-late orders after its window (7 days) closed.
    s.clock.advance_days(1.5);
    let r = api.post(
        "/v1/events",
        &token,
        &format!(r#"{{"events":[{}]}}"#, order("e-late", "c-late", 7.5)),
    );
    assert!(
        r.json()["results"][0]["attributed_to"].is_null(),
        "{}",
        r.text()
    );
    // Day 8: the windows close; quiet and late get the default reward, side its order.
    s.clock.advance_days(0.5);
    let r = api.post("/v1/outcomes/settle", &token, "").json();
    assert_eq!(r["settled"], 3, "{r}");
    for d in [&quiet, &late] {
        let got = api.get(&format!("/v1/decisions/{}", id(d)), &token).json();
        assert_eq!(got["outcome"]["source"], "default", "{got}");
        assert_eq!(got["outcome"]["converted"], false);
        assert_eq!(got["outcome"]["profit"], 0);
    }
    let got = api
        .get(&format!("/v1/decisions/{}", id(&side)), &token)
        .json();
    assert_eq!(got["outcome"]["source"], "order", "{got}");
    assert_eq!(got["outcome"]["event_id"], "e-side");
    // Every hold is settled: nothing stays reserved.
    let b = api.get("/v1/budgets/default", &token).json();
    assert_eq!(b["reserved"], 0, "{b}");
    let charged: i64 = [&buyer, &side]
        .iter()
        .filter(|d| d["reserved"].as_i64().unwrap() > 0)
        .count() as i64
        * 500;
    assert_eq!(b["spent"], charged, "{b}");
    // The policy learned from the four outcomes.
    let m = api.call("GET", "/metrics", None, "").text();
    assert!(
        m.contains("discount_model_version{policy=\"test-v1\"} 4"),
        "{m}"
    );
    assert!(
        m.contains("discount_join_lag_seconds_count{source=\"default\"} 2"),
        "{m}"
    );
}
on_both!(outcome_join_across_days);

fn reported_outcomes(backend: &str) {
    let Some(s) = start(backend, "report", 100_000) else {
        return;
    };
    let mut api = s.client();
    let token = s.key(Role::Decide);
    let d = api.decide(&token, "r1");
    let id = d["decision_id"].as_str().unwrap();
    let body = format!(
        r#"{{"decision_id":"{id}","converted":true,"revenue":3000,"discount":500,"profit":900}}"#
    );
    let r = api.post("/v1/outcomes", &token, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["source"], "reported");
    expect_error(&api.post("/v1/outcomes", &token, &body), 409);
    let e = expect_error(
        &api.post(
            "/v1/outcomes",
            &token,
            r#"{"decision_id":"nope","converted":false}"#,
        ),
        404,
    );
    assert_eq!(e["field"], "decision_id");
    let e = expect_error(
        &api.post(
            "/v1/outcomes",
            &token,
            &format!(r#"{{"decision_id":"{id}","converted":true,"revenue":-1}}"#),
        ),
        422,
    );
    assert_eq!(e["field"], "revenue");
    let got = api.get(&format!("/v1/decisions/{id}"), &token).json();
    assert_eq!(got["outcome"]["profit"], 900);
}
on_both!(reported_outcomes);

fn budget_is_never_overspent(backend: &str) {
    let Some(s) = start(backend, "budget", 2_000) else {
        return;
    };
    let mut api = s.client();
    let token = s.key(Role::Decide);
    let decisions: Vec<serde_json::Value> = (0..40)
        .map(|i| api.decide(&token, &format!("b{i}")))
        .collect();
    let held: i64 = decisions
        .iter()
        .map(|d| d["reserved"].as_i64().unwrap())
        .sum();
    let offers = decisions
        .iter()
        .filter(|d| d["offer_id"] == "amt500")
        .count();
    assert_eq!(held, 500 * offers as i64);
    assert!(held <= 2_000, "held {held}");
    assert_eq!(
        offers, 4,
        "40 draws at 45% each fill a budget of four offers"
    );
    let b = api.get("/v1/budgets/default", &token).json();
    assert_eq!(b["reserved"], held);
    assert_eq!(b["remaining"], 2_000 - held);
    let all = api.get("/v1/budgets", &token).json();
    assert_eq!(all["items"][0]["id"], "default");
    assert!(all["next_cursor"].is_null(), "{all}");
    // One redeemed offer: spent moves from reserved.
    let offered = decisions
        .iter()
        .find(|d| d["offer_id"] == "amt500")
        .unwrap();
    let id = offered["decision_id"].as_str().unwrap();
    let r = api.post(
        "/v1/outcomes",
        &token,
        &format!(r#"{{"decision_id":"{id}","converted":true,"revenue":4000,"discount":500,"profit":1500}}"#),
    );
    assert_eq!(r.status, 200);
    let b = api.get("/v1/budgets/default", &token).json();
    assert_eq!(b["spent"], 500);
    assert_eq!(b["reserved"], held - 500);
    expect_error(&api.get("/v1/budgets/none", &token), 404);
}
on_both!(budget_is_never_overspent);

fn policies_activate_roll_back_apprentice(backend: &str) {
    let Some(s) = start(backend, "policies", 100_000) else {
        return;
    };
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    let list = api.get("/v1/policies", &admin).json();
    assert_eq!(list["items"][0]["version"], "test-v1");
    assert_eq!(list["items"][0]["active"], true);
    let mut v2 = common::engine(100_000);
    v2.name = "test-v2".into();
    let v2 = serde_json::to_string(&v2).unwrap();
    let r = api.post("/v1/policies", &admin, &v2);
    assert_eq!(r.status, 200, "{}", r.text());
    expect_error(&api.post("/v1/policies", &admin, &v2), 409);
    let bad = v2
        .replace("\"ridge\":1.0", "\"ridge\":-1.0")
        .replace("test-v2", "test-v3");
    expect_error(&api.post("/v1/policies", &admin, &bad), 422);
    assert_eq!(
        api.post("/v1/policies/test-v2/activate", &admin, "").status,
        200
    );
    expect_error(&api.post("/v1/policies/nope/activate", &admin, ""), 404);
    let d = api.decide(&admin, "p1");
    assert!(
        d["policy_version"]
            .as_str()
            .unwrap()
            .starts_with("test-v2/"),
        "{d}"
    );
    let r = api.post("/v1/policies/rollback", &admin, "").json();
    assert_eq!(r["active"], "test-v1");
    let d = api.decide(&admin, "p2");
    assert!(
        d["policy_version"]
            .as_str()
            .unwrap()
            .starts_with("test-v1/"),
        "{d}"
    );
    expect_error(&api.post("/v1/policies/rollback", &admin, ""), 409);
    // Apprentice: the control arm is served, the policy's choice is logged.
    let r = api.post(
        "/v1/policies/test-v1/apprentice",
        &admin,
        r#"{"enabled":true}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let served: Vec<serde_json::Value> = (0..10)
        .map(|i| api.decide(&admin, &format!("ap{i}")))
        .collect();
    assert!(served
        .iter()
        .all(|d| d["offer_id"] == "none" && d["reserved"] == 0));
    assert!(served.iter().all(|d| d["apprentice_choice"].is_string()));
    assert!(served.iter().any(|d| d["apprentice_choice"] == "amt500"));
    let b = api.get("/v1/budgets/default", &admin).json();
    let before_off = b["reserved"].clone();
    api.post(
        "/v1/policies/test-v1/apprentice",
        &admin,
        r#"{"enabled":false}"#,
    );
    let d = api.decide(&admin, "p3");
    assert!(d["apprentice_choice"].is_null());
    assert!(
        before_off.as_i64().unwrap() <= 1_000,
        "apprentice decisions hold nothing: {b}"
    );
    expect_error(
        &api.post(
            "/v1/policies/test-v1/apprentice",
            &admin,
            r#"{"enabled":"yes"}"#,
        ),
        422,
    );
}
on_both!(policies_activate_roll_back_apprentice);

fn profiles(backend: &str) {
    let Some(s) = start(backend, "profile", 100_000) else {
        return;
    };
    let mut api = s.client();
    let token = s.key(Role::Admin);
    let events = format!(
        r#"{{"events":[{{"type":"view","id":"v1","user_id":"c-prof","time":"{}"}},{}]}}"#,
        at(-3.0),
        order("o-prof", "c-prof", -1.0)
    );
    assert_eq!(api.post("/v1/events", &token, &events).json()["stored"], 2);
    let p = api.get("/v1/customers/c-prof/profile", &token).json();
    assert_eq!(p["known"], true, "{p}");
    assert_eq!(p["features"]["orders_total"], 1.0, "{p}");
    assert_eq!(p["profile"]["orders"], 1);
    let cold = api.get("/v1/customers/never-seen/profile", &token).json();
    assert_eq!(cold["known"], false);
    assert_eq!(cold["features"]["orders_total"], 0.0);
    // Cold start is normal: a decision all the same.
    api.decide(&token, "never-seen");
}
on_both!(profiles);

fn bad_input_is_a_4xx_naming_the_field(backend: &str) {
    let Some(s) = start(backend, "bad", 100_000) else {
        return;
    };
    let mut api = s.client();
    let token = s.key(Role::Admin);
    let cases: &[(&str, u16, Option<&str>)] = &[
        (r#"{"customer_id":"#, 400, None),
        ("not json", 400, None),
        (r#"{"customer_id":"x"} trailing"#, 400, None),
        (r#"{"customer_id":5}"#, 422, Some("customer_id")),
        (r#"{}"#, 422, None),
        (r#"{"customer_id":""}"#, 422, Some("customer_id")),
        (r#"{"customer_id":"x","colour":"red"}"#, 422, None),
        (
            r#"{"customer_id":"x","context":{"basket":[{"item_id":"i","quantity":"two","unit_price":1}]}}"#,
            422,
            Some("context.basket[0].quantity"),
        ),
        (
            r#"{"customer_id":"x","context":{"basket":[{"item_id":"i","quantity":0,"unit_price":1}]}}"#,
            422,
            Some("context.basket[0].quantity"),
        ),
        (
            r#"{"customer_id":"x","context":{"basket":[{"item_id":"i","quantity":1,"unit_price":-5}]}}"#,
            422,
            Some("context.basket[0].unit_price"),
        ),
        (
            r#"{"customer_id":"x","context":{"basket":[{"item_id":"i","quantity":-1,"unit_price":5}]}}"#,
            422,
            Some("context.basket[0].quantity"),
        ),
        (
            r#"{"customer_id":"x","candidate_offers":["gold"]}"#,
            422,
            Some("candidate_offers"),
        ),
        (
            r#"{"customer_id":"x","campaign":"winter"}"#,
            422,
            Some("campaign"),
        ),
        (
            r#"{"customer_id":"x","explain":"yes"}"#,
            422,
            Some("explain"),
        ),
    ];
    for (body, status, field) in cases {
        let e = expect_error(&api.post("/v1/decisions", &token, body), *status);
        if let Some(f) = field {
            assert_eq!(e["field"], *f, "{body}: {e}");
        }
    }
    let big = format!(r#"{{"customer_id":"{}"}}"#, "x".repeat(70 * 1024));
    let e = expect_error(&api.post("/v1/decisions", &token, &big), 413);
    assert_eq!(e["code"], "body_too_large");
    expect_error(&api.post("/v1/events", &token, r#"{"events":{}}"#), 422);
    expect_error(&api.post("/v1/events", &token, r#"[1,2]"#), 422);
    let r = api.post("/v1/events", &token, r#"{"events":[{"type":"order","id":"e","user_id":"u","time":"yesterday","order_id":"o","lines":[]}, 7]}"#);
    assert_eq!(r.status, 200);
    let results = &r.json()["results"];
    assert_eq!(results[0]["status"], "rejected");
    assert_eq!(results[0]["field"], "events[0].time", "{results}");
    assert_eq!(results[1]["status"], "rejected");
    expect_error(
        &api.post("/v1/outcomes", &token, r#"{"decision_id":1}"#),
        422,
    );
}
on_both!(bad_input_is_a_4xx_naming_the_field);

/// Shutdown lets requests in flight finish: every decision a client saw answered is stored.
#[test]
fn graceful_shutdown_keeps_every_answered_decision() {
    let Some(s) = start("sqlite", "drain", 100_000) else {
        return;
    };
    let token = s.key(Role::Decide);
    let addr = s.addr;
    let url = s.url.clone();
    let (answered, _dir): (Vec<String>, _) = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..4)
            .map(|t| {
                let token = token.clone();
                scope.spawn(move || {
                    let mut c = discount_server::client::HttpClient::new(addr);
                    let auth = format!("Bearer {token}");
                    let mut ids = Vec::new();
                    for i in 0..10_000 {
                        let body = format!(r#"{{"customer_id":"g{t}-{i}"}}"#);
                        match c.request(
                            "POST",
                            "/v1/decisions",
                            &[("authorization", &auth)],
                            body.as_bytes(),
                        ) {
                            Ok(r) if r.status == 200 => {
                                ids.push(r.json()["decision_id"].as_str().unwrap().to_string())
                            }
                            _ => break,
                        }
                    }
                    ids
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let dir = s.stop();
        let ids = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
        (ids, dir)
    });
    assert!(!answered.is_empty());
    let mut log = discount_store::decision_log::open_decision_log(&url).unwrap();
    for id in &answered {
        assert!(
            log.decision(id).unwrap().is_some(),
            "answered decision {id} is not stored"
        );
    }
}

/// Pacing moves the shadow price in the running service: spend ahead of the even curve raises
/// it, spend behind lowers it; `/v1/budgets` and `/metrics` show it.
fn pacing_steers_the_shadow_price(backend: &str) {
    let Some((url, dir)) = common::store_url(backend, "pacing") else {
        return;
    };
    let mut engine = common::engine(100_000);
    engine.budgets[0].period_start = Some(common::START.into());
    engine.budgets[0].period_days = Some(10.0);
    let s = TestServer::start_with(&url, dir, engine, |c| {
        c.server.pacing_interval_seconds = 0.05;
    })
    .unwrap();
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    let price = |api: &mut common::Api| {
        api.get("/v1/budgets/default", &admin).json()["shadow_price"]
            .as_f64()
            .unwrap()
    };
    // Day 1 of 10: the even curve has 10,000 of 100,000 spent; 30,000 is held.
    s.clock.advance_days(1.0);
    let ledger = s.state.policies.ledger_of("default").unwrap();
    assert!(ledger.reserve(30_000));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let first = price(&mut api);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let rising = price(&mut api);
    assert!(first > 0.0 && rising > first, "{first} -> {rising}");
    // Day 9: the curve is at 90,000 and spend lags far behind: the price falls.
    s.clock.advance_days(8.0);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let later = price(&mut api);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let falling = price(&mut api);
    assert!(
        falling < later && later < rising,
        "{rising} -> {later} -> {falling}"
    );
    let metrics = api.call("GET", "/metrics", None, "").text();
    assert!(
        metrics.contains("discount_budget_shadow_price{campaign=\"default\"}"),
        "{metrics}"
    );
    ledger.release(30_000);
}
on_both!(pacing_steers_the_shadow_price);
