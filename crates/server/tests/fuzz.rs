//! Property tests of the request parsers over HTTP: whatever the body, the answer is a success
//! or a 4xx with a JSON error, never a 5xx, a panic or a dropped connection. Run longer with
//! `PROPTEST_CASES=20000 cargo test -p discount-server --test fuzz`.

mod common;

use std::sync::OnceLock;

use common::{Api, TestServer};
use discount_server::auth::Role;
use proptest::prelude::*;
use serde_json::{json, Value};

struct Fixture {
    server: TestServer,
    token: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let server = TestServer::start("sqlite", "fuzz", 1_000_000).unwrap();
        let token = server.key(Role::Admin);
        Fixture { server, token }
    })
}

fn check(api: &mut Api, path: &str, token: &str, body: &[u8]) -> Result<(), TestCaseError> {
    let auth = format!("Bearer {token}");
    let r = api
        .0
        .request("POST", path, &[("authorization", &auth)], body)
        .map_err(|e| TestCaseError::fail(format!("connection failed: {e}")))?;
    prop_assert!(r.status < 500, "{} {path}: {}", r.status, r.text());
    if r.status >= 400 {
        let v = r.json();
        prop_assert!(
            v["error"]["message"].is_string(),
            "not a JSON error: {}",
            r.text()
        );
    }
    Ok(())
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z0-9_ -]{0,12}".prop_map(Value::String),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn valid_decision() -> Value {
    json!({
        "customer_id": "f1",
        "context": {"placement": "checkout", "device": "web",
                    "basket": [{"item_id": "i1", "category": "c", "quantity": 2, "unit_price": 1500, "unit_cost": 700}]},
        "candidate_offers": ["amt500"],
        "campaign": "default",
        "explain": true
    })
}

fn valid_event() -> Value {
    json!({"type": "order", "id": "e1", "user_id": "f1", "time": "2026-01-01T00:00:00Z", "order_id": "o1",
           "lines": [{"item_id": "i1", "quantity": 1, "list_price": 1500, "paid": 1400, "coupon_discount": 100}]})
}

/// Replaces the value at a path of object keys/array indices chosen by `picks`.
fn mutate(mut v: Value, picks: &[usize], replacement: Value) -> Value {
    fn go(v: &mut Value, picks: &[usize], replacement: Value) {
        match (v, picks.split_first()) {
            (Value::Object(m), Some((p, rest))) if !m.is_empty() => {
                let key = m.keys().nth(p % m.len()).cloned().unwrap_or_default();
                if let Some(child) = m.get_mut(&key) {
                    if rest.is_empty() || !(child.is_object() || child.is_array()) {
                        *child = replacement;
                    } else {
                        go(child, rest, replacement);
                    }
                }
            }
            (Value::Array(a), Some((p, rest))) if !a.is_empty() => {
                let n = a.len();
                go(&mut a[p % n], rest, replacement);
            }
            (slot, _) => *slot = replacement,
        }
    }
    go(&mut v, picks, replacement);
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_5xx(body in prop::collection::vec(any::<u8>(), 0..300)) {
        let f = fixture();
        let mut api = f.server.client();
        check(&mut api, "/v1/decisions", &f.token, &body)?;
        check(&mut api, "/v1/events", &f.token, &body)?;
        check(&mut api, "/v1/outcomes", &f.token, &body)?;
    }

    #[test]
    fn random_json_never_5xx(v in any_json()) {
        let f = fixture();
        let mut api = f.server.client();
        let body = serde_json::to_vec(&v).unwrap();
        check(&mut api, "/v1/decisions", &f.token, &body)?;
        check(&mut api, "/v1/events", &f.token, &serde_json::to_vec(&json!({"events": [v]})).unwrap())?;
    }

    #[test]
    fn mutated_requests_never_5xx(picks in prop::collection::vec(0usize..8, 1..4), replacement in any_json()) {
        let f = fixture();
        let mut api = f.server.client();
        let d = mutate(valid_decision(), &picks, replacement.clone());
        check(&mut api, "/v1/decisions", &f.token, &serde_json::to_vec(&d).unwrap())?;
        let e = mutate(valid_event(), &picks, replacement);
        check(&mut api, "/v1/events", &f.token, &serde_json::to_vec(&json!({"events": [e]})).unwrap())?;
    }
}
