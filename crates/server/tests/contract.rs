//! The API's contract through the real service, on SQLite and on PostgreSQL: list endpoints walk
//! page by page to every item exactly once, every time in a response is RFC 3339 in one format,
//! and bad input gets the JSON error with the field named in plain words.

mod common;

use std::collections::BTreeSet;

use common::{expect_error, TestServer};
use discount_server::auth::Role;
use discount_store::model_registry::{content_hash, ModelRow, ModelStatus};

/// Registers `n` policies (each with its own budget) and `n` models, straight through the API and
/// the store.
fn fill_registries(s: &TestServer, api: &mut common::Api, admin: &str, n: usize) {
    for i in 0..n {
        let mut engine = common::engine(10_000);
        engine.name = format!("extra-{i:02}");
        engine.budgets[0].campaign = format!("campaign-{i:02}");
        let r = api.post(
            "/v1/policies",
            admin,
            &serde_json::to_string(&engine).unwrap(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    for i in 0..n {
        let artifact = format!("{{\"n\":{i}}}");
        let row = ModelRow {
            id: format!("model-{i:02}"),
            kind: "propensity".into(),
            feature_spec: None,
            window_from: Some(1_767_225_600_000_000),
            window_to: Some(1_767_571_200_123_456),
            training_rows: 10,
            metrics: "{\"auc\":0.5}".into(),
            parent: None,
            // Two share a creation time: the id breaks the tie.
            created_at: 1_767_571_200_000_000 + (i as i64 / 2),
            status: ModelStatus::Candidate,
            activated_seq: None,
            content_hash: content_hash(&artifact),
            artifact,
        };
        assert!(s
            .state
            .pool
            .with(move |log| log.register_model(&row))
            .unwrap());
    }
}

/// Walks a list endpoint with `limit`, returning the value of `key` of every item in order.
fn walk(api: &mut common::Api, token: &str, path: &str, limit: usize, key: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1_000 {
        let url = match &cursor {
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
            None => format!("{path}?limit={limit}"),
        };
        let r = api.get(&url, token);
        assert_eq!(r.status, 200, "{url}: {}", r.text());
        let page = r.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit, "{page}");
        seen.extend(items.iter().map(|i| i[key].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => {
                assert!(!items.is_empty(), "a cursor after an empty page: {page}");
                cursor = Some(c.to_string());
            }
            None => return seen,
        }
    }
    panic!("{path} did not end");
}

fn lists_walk_to_every_item_once(backend: &str) {
    let Some(s) = TestServer::start(backend, "pages", 100_000) else {
        return;
    };
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    fill_registries(&s, &mut api, &admin, 7);
    for (path, key, total) in [
        ("/v1/policies", "version", 8),
        ("/v1/budgets", "id", 8),
        ("/v1/models", "id", 7),
    ] {
        let whole = api.get(path, &admin).json();
        assert!(whole["next_cursor"].is_null(), "{whole}");
        let all: Vec<String> = whole["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i[key].as_str().unwrap().to_string())
            .collect();
        assert_eq!(all.len(), total, "{path}: {whole}");
        for limit in [1, 2, 3, 7, 8, 1000] {
            let walked = walk(&mut api, &admin, path, limit, key);
            assert_eq!(walked, all, "{path} with limit {limit}");
            let unique: BTreeSet<&String> = walked.iter().collect();
            assert_eq!(unique.len(), total, "{path}: an item twice");
        }
    }
    // Models are ordered by creation time, then id.
    let models = walk(&mut api, &admin, "/v1/models", 3, "id");
    let expected: Vec<String> = (0..7).map(|i| format!("model-{i:02}")).collect();
    assert_eq!(models, expected);

    // A policy registered mid-walk shows once, on a later page (its key sorts after the cursor).
    let first = api.get("/v1/policies?limit=3", &admin).json();
    let mut engine = common::engine(10_000);
    engine.name = "late".into();
    assert_eq!(
        api.post(
            "/v1/policies",
            &admin,
            &serde_json::to_string(&engine).unwrap()
        )
        .status,
        200
    );
    let mut seen: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["version"].as_str().unwrap().to_string())
        .collect();
    let mut cursor = first["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let page = api
            .get(&format!("/v1/policies?limit=3&cursor={c}"), &admin)
            .json();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["version"].as_str().unwrap().to_string()),
        );
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 9, "{seen:?}");
    assert_eq!(seen.iter().filter(|v| *v == "late").count(), 1);

    // Bad limits and cursors: 400, the parameter named.
    let decide = s.key(Role::Decide);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=two", "limit"),
        ("limit=-1", "limit"),
        ("limit=", "limit"),
        ("cursor=zz", "cursor"),
        ("cursor=00", "cursor"),
        ("cursor=", "cursor"),
        ("page=2", "page"),
        ("limit=1&limit=2", "limit"),
    ] {
        for path in ["/v1/policies", "/v1/models"] {
            let e = expect_error(&api.get(&format!("{path}?{query}"), &admin), 400);
            assert_eq!(e["field"], field, "{path}?{query}: {e}");
            assert_eq!(e["code"], "invalid_query", "{e}");
            assert!(
                e["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("`{field}`")),
                "{e}"
            );
        }
        let e = expect_error(&api.get(&format!("/v1/budgets?{query}"), &decide), 400);
        assert_eq!(e["field"], field, "/v1/budgets?{query}: {e}");
    }
    // A cursor of one list is a valid position in another: it only says where to go on.
    let c = api.get("/v1/budgets?limit=1", &admin).json()["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        api.get(&format!("/v1/budgets?limit=1&cursor={c}"), &admin)
            .status,
        200
    );
}
on_both!(lists_walk_to_every_item_once);

/// `2026-01-05T00:00:00.000000Z`: RFC 3339, UTC, microseconds.
fn assert_api_time(where_: &str, value: &serde_json::Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{where_} is not a string: {value}"));
    let b = text.as_bytes();
    let shape_ok = b.len() == 27
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(
        shape_ok,
        "{where_} = {text} is not YYYY-MM-DDTHH:MM:SS.ffffffZ"
    );
    let t = discount_core::Timestamp::parse(where_, text)
        .unwrap_or_else(|e| panic!("{where_} = {text}: {e}"));
    assert_eq!(discount_server::clock::rfc3339(t), text, "{where_}");
}

/// Keys that hold times in this API's responses.
fn is_time_key(key: &str) -> bool {
    key == "at"
        || key == "as_of"
        || key.ends_with("_at")
        || key.starts_with("training_window_")
        || key.contains("created")
        || key.contains("time")
}

/// Checks every time-like field of `value`; returns how many it checked.
fn check_times(where_: &str, value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let here = format!("{where_}.{k}");
                if is_time_key(k) && !v.is_null() {
                    assert_api_time(&here, v);
                    1
                } else {
                    check_times(&here, v)
                }
            })
            .sum(),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| check_times(&format!("{where_}[{i}]"), v))
            .sum(),
        _ => 0,
    }
}

fn every_time_in_a_response_is_rfc3339(backend: &str) {
    let Some(s) = TestServer::start(backend, "times", 100_000) else {
        return;
    };
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    fill_registries(&s, &mut api, &admin, 2);
    // A clock with a fraction of a second, and one without: the format does not change.
    s.clock.set(discount_core::Timestamp(1_767_571_200_123_456));
    let events = r#"{"events":[{"type":"view","id":"v1","user_id":"c-t","time":"2026-01-04T10:00:00+02:00"},
        {"type":"order","id":"o1","user_id":"c-t","time":1767571200,"order_id":"o-1","lines":[{"item_id":"i","quantity":1,"list_price":100,"paid":100}]}]}"#;
    let stored = api.post("/v1/events", &admin, events);
    assert_eq!(stored.json()["stored"], 2, "{}", stored.text());
    let decided = api.decide(&admin, "c-t");
    s.clock.advance_days(1.0);
    let id = decided["decision_id"].as_str().unwrap().to_string();
    let reported = api.post(
        "/v1/outcomes",
        &admin,
        &format!(r#"{{"decision_id":"{id}","converted":true,"revenue":100}}"#),
    );
    let mut checked = 0;
    for (name, response) in [
        ("decision", decided),
        ("events", stored.json()),
        ("outcome", reported.json()),
        (
            "read",
            api.get(&format!("/v1/decisions/{id}"), &admin).json(),
        ),
        (
            "profile",
            api.get("/v1/customers/c-t/profile", &admin).json(),
        ),
        ("policies", api.get("/v1/policies", &admin).json()),
        ("models", api.get("/v1/models", &admin).json()),
        ("budgets", api.get("/v1/budgets", &admin).json()),
        ("settle", api.post("/v1/outcomes/settle", &admin, "").json()),
    ] {
        assert!(response.get("error").is_none(), "{name}: {response}");
        checked += check_times(name, &response);
    }
    // decided_at, attribution_ends_at (twice), at, recorded_at (twice), as_of, 3 policies'
    // created_at, 2 models' created_at and training windows.
    assert!(checked >= 18, "only {checked} times checked");
}
on_both!(every_time_in_a_response_is_rfc3339);

/// serde's own wording names Rust types; callers get sentences that name the field.
fn errors_are_plain_sentences_naming_the_field(backend: &str) {
    let Some(s) = TestServer::start(backend, "plain", 100_000) else {
        return;
    };
    let mut api = s.client();
    let admin = s.key(Role::Admin);
    let cases: &[(&str, &str, u16, Option<&str>, &str)] = &[
        ("/v1/decisions", "{}", 422, Some("customer_id"), "`customer_id` is required"),
        (
            "/v1/decisions",
            r#"{"customer_id":{}}"#,
            422,
            Some("customer_id"),
            "`customer_id` must be a string, not an object",
        ),
        (
            "/v1/decisions",
            r#"{"customer_id":"x","colour":"red"}"#,
            422,
            Some("colour"),
            "`colour` is not a known field; the fields here are customer_id, context,",
        ),
        (
            "/v1/decisions",
            r#"{"customer_id":"x","context":{"basket":[{"item_id":"i","quantity":{},"unit_price":1}]}}"#,
            422,
            Some("context.basket[0].quantity"),
            "`context.basket[0].quantity` must be a whole number from 0 to 4294967295, not an object",
        ),
        (
            "/v1/decisions",
            r#"{"customer_id":"x","context":{"basket":[{"item_id":"i","quantity":-1,"unit_price":1}]}}"#,
            422,
            Some("context.basket[0].quantity"),
            "`context.basket[0].quantity` must be a whole number from 0 to 4294967295 (got the number -1)",
        ),
        (
            "/v1/decisions",
            r#"{"customer_id":"x","context":{"basket":[{"quantity":1,"unit_price":1}]}}"#,
            422,
            Some("context.basket[0].item_id"),
            "`context.basket[0].item_id` is required",
        ),
        (
            "/v1/decisions",
            r#"{"customer_id":"x","explain":null}"#,
            422,
            Some("explain"),
            "`explain` must be true or false, not null",
        ),
        (
            "/v1/decisions",
            r#"{"customer_id":"x","candidate_offers":"amt500"}"#,
            422,
            Some("candidate_offers"),
            "`candidate_offers` must be a list, not the text \"amt500\"",
        ),
        ("/v1/decisions", "5", 422, None, "the request body must be an object, not the number 5"),
        ("/v1/decisions", "", 400, None, "the request body is empty"),
        ("/v1/decisions", "{\"customer_id\":", 400, None, "not valid JSON"),
        (
            "/v1/events",
            r#"{"events":{}}"#,
            422,
            Some("events"),
            "`events` must be a list, not an object",
        ),
        (
            "/v1/outcomes",
            r#"{"decision_id":"d","converted":"yes"}"#,
            422,
            Some("converted"),
            "`converted` must be true or false, not the text \"yes\"",
        ),
        (
            "/v1/policies/test-v1/apprentice",
            r#"{"enabled":1}"#,
            422,
            Some("enabled"),
            "`enabled` must be true or false, not the number 1",
        ),
        (
            "/v1/policies",
            r#"{"name":"p","ladder":[{"id":"a","offer":{"kind":"gift"}}]}"#,
            422,
            Some("ladder[0].offer.kind"),
            "`ladder[0].offer.kind` does not take the value `gift`; it must be one of no_offer,",
        ),
        (
            "/v1/recommendations",
            r#"{"customer_id":"x","k":"ten"}"#,
            422,
            Some("k"),
            "`k` must be a whole number from 0 to 18446744073709551615, not the text \"ten\"",
        ),
    ];
    for (path, body, status, field, wording) in cases {
        let e = expect_error(&api.post(path, &admin, body), *status);
        assert_eq!(e["field"].as_str(), *field, "{path} {body}: {e}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(wording), "{path} {body}: {message}");
        for leak in [
            "invalid type",
            "expected",
            "struct ",
            "u32",
            "usize",
            " map",
            "sequence",
            "at line",
        ] {
            assert!(
                !message.contains(leak),
                "{path} {body}: `{leak}` in {message}"
            );
        }
    }
    // Query parameters of an endpoint without a list, and 405, are the JSON error too.
    let e = expect_error(&api.post("/v1/models/rollback?kinds=cf", &admin, ""), 400);
    assert_eq!(e["field"], "kinds", "{e}");
    let e = expect_error(
        &api.call("PATCH", "/v1/budgets/default", Some(&admin), ""),
        405,
    );
    assert_eq!(e["field"], "method", "{e}");
    // A path that is not UTF-8 once decoded.
    let e = expect_error(&api.get("/v1/budgets/%FF", &admin), 400);
    assert_eq!(e["code"], "bad_path", "{e}");
    let e = expect_error(&api.get("/v1/no-such-route", &admin), 404);
    assert_eq!(e["field"], "path", "{e}");
    // Every refusal of a key names the header it came in.
    let decide = s.key(Role::Decide);
    for (response, status) in [
        (api.call("GET", "/v1/budgets", None, ""), 401),
        (api.get("/v1/budgets", "dk_nope"), 401),
        (api.get("/v1/budgets", "dk_unknown_secret"), 401),
        (api.get("/v1/fraud/alerts", &decide), 403),
    ] {
        let e = expect_error(&response, status);
        assert_eq!(e["field"], "Authorization", "{e}");
    }
    // The dashboard's statistics read their query like every list endpoint.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("since=1", "since"),
    ] {
        for path in ["/v1/stats/recent", "/v1/fraud/alerts"] {
            let e = expect_error(&api.get(&format!("{path}?{query}"), &admin), 400);
            assert_eq!(e["field"], field, "{path}?{query}: {e}");
            assert_eq!(e["code"], "invalid_query", "{e}");
        }
    }
}
on_both!(errors_are_plain_sentences_naming_the_field);
