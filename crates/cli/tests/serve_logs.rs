//! `discount serve`'s logs: one JSON access line per request with its id, route, status, latency
//! and key id (never the secret); the id echoed in `X-Request-Id`, the caller's when it sent one;
//! a bad log setting refused at start.

mod serve_process;

use std::process::{Command, Stdio};

use discount_server::client::HttpClient;
use serve_process::{admin_key, bin, serve_with, two_rung_engine};

#[test]
fn every_request_has_an_id_and_an_access_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.sqlite").display());
    let engine = dir.path().join("engine.toml");
    std::fs::write(&engine, two_rung_engine("logs-v1", 100_000, r#"["bias"]"#)).unwrap();
    let token = admin_key(&url);
    let mut served = serve_with(
        &url,
        &engine,
        &[],
        &[
            ("DISCOUNT_SERVER__LOG_FORMAT", "json"),
            ("DISCOUNT_SERVER__LOG_LEVEL", "info"),
        ],
        Stdio::piped(),
    );
    let mut client = HttpClient::new(served.addr);
    let auth = format!("Bearer {token}");
    let body = br#"{"customer_id":"c1","context":{"placement":"checkout","basket":[{"item_id":"i1","quantity":1,"unit_price":4000}]}}"#;
    let mine = client
        .request(
            "POST",
            "/v1/decisions",
            &[
                ("authorization", &auth),
                ("x-request-id", "order-42.retry-1"),
            ],
            body,
        )
        .unwrap();
    assert_eq!(mine.status, 200, "{}", mine.text());
    assert_eq!(mine.header("x-request-id"), Some("order-42.retry-1"));
    let generated = client.request("GET", "/healthz", &[], b"").unwrap();
    let id = generated.header("x-request-id").unwrap().to_string();
    assert_eq!(id.len(), 16, "{id}");
    // A header that is not a sane token is replaced, not echoed.
    let replaced = client
        .request("GET", "/healthz", &[("x-request-id", "a b\"c")], b"")
        .unwrap();
    assert_ne!(replaced.header("x-request-id"), Some("a b\"c"));
    let missing = client.request("GET", "/v1/nothing", &[], b"").unwrap();
    assert_eq!(missing.status, 404);
    let _ = served.child.kill();
    let _ = served.child.wait();

    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut served.child.stderr.take().unwrap(), &mut stderr).unwrap();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let access = |request_id: &str| -> serde_json::Value {
        lines
            .iter()
            .find(|l| l["target"] == "discount::access" && l["span"]["request_id"] == request_id)
            .unwrap_or_else(|| panic!("no access line for {request_id} in\n{stderr}"))
            .clone()
    };
    let decision = access("order-42.retry-1");
    assert_eq!(decision["route"], "/v1/decisions", "{decision}");
    assert_eq!(decision["method"], "POST", "{decision}");
    assert_eq!(decision["status"], 200, "{decision}");
    assert_eq!(decision["level"], "INFO", "{decision}");
    assert!(decision["latency_ms"].as_f64().unwrap() >= 0.0);
    let key_id = token
        .strip_prefix("dk_")
        .unwrap()
        .split('_')
        .next()
        .unwrap();
    assert_eq!(decision["key_id"], key_id, "{decision}");
    assert_eq!(access(&id)["route"], "/healthz");
    assert_eq!(access(&id)["key_id"], "-");
    let secret = token.rsplit('_').next().unwrap();
    assert!(!stderr.contains(secret), "the secret was logged");
    assert!(
        lines
            .iter()
            .any(|l| l["status"] == 404 && l["route"] == "unmatched"),
        "{stderr}"
    );
}

#[test]
fn a_bad_log_setting_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.sqlite").display());
    let out = Command::new(bin())
        .args(["--store", &url, "serve", "--bind", "127.0.0.1:0"])
        .env("DISCOUNT_SERVER__LOG_FORMAT", "yaml")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server.log_format") && err.contains("yaml"),
        "{err}"
    );
}
