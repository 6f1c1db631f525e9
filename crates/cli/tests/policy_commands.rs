//! `discount plan`, `discount decide` and their errors, end to end on small simulated shops.

use std::io::Write;
use std::process::{Command, Stdio};

use discount_server::client::HttpClient;

mod serve_process;

fn discount(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_discount"));
    c.current_dir(dir);
    c
}

#[test]
fn plan_stays_within_budget_and_reports_the_exact_gap() {
    let dir = tempfile::tempdir().unwrap();
    let out = discount(dir.path())
        .args([
            "plan",
            "--budget",
            "20000",
            "--users",
            "2000",
            "--exact-checks",
            "3",
            "--out",
            "plan.csv",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["expected_cost"].as_f64().unwrap() <= 20000.0 + 1e-6);
    assert_eq!(v["exact_checks"].as_array().unwrap().len(), 6);
    assert!(v["worst_relative_gap_medium"].as_f64().unwrap() < 0.05);
    let csv = std::fs::read_to_string(dir.path().join("plan.csv")).unwrap();
    assert!(csv.starts_with("customer_id,offer_id"));
    // A negative budget is refused with a clear message.
    let bad = discount(dir.path())
        .args(["plan", "--budget=-5"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--budget"));
}

/// The simulated shop's engine as `decide --print-config` prints it, also written to
/// `dir/engine.toml`.
fn simulated_shop_config(dir: &std::path::Path) -> String {
    let cfg = discount(dir)
        .args(["decide", "--print-config", "--users", "1000"])
        .output()
        .unwrap();
    assert!(
        cfg.status.success(),
        "{}",
        String::from_utf8_lossy(&cfg.stderr)
    );
    let toml_text = String::from_utf8(cfg.stdout).unwrap();
    std::fs::write(dir.join("engine.toml"), &toml_text).unwrap();
    toml_text
}

#[test]
fn decide_answers_each_request_with_a_propensity() {
    let dir = tempfile::tempdir().unwrap();
    let toml_text = simulated_shop_config(dir.path());
    assert!(toml_text.contains("[[ladder]]"));
    let dim = toml_text
        .lines()
        .find(|l| l.starts_with("features = ["))
        .map(|l| l.matches(',').count() + 1)
        .unwrap();
    let mut features = vec![0.0; dim];
    features[0] = 1.0;
    let line = serde_json::json!({
        "request": {"customer_id": "u1", "explain": true, "context": {"placement": "cart",
            "basket": [{"item_id": "i1", "category": "books", "quantity": 1,
                        "unit_price": 2500, "unit_cost": 1400}]}},
        "customer": {"features": features, "orders": 1}
    });
    let mut child = discount(dir.path())
        .args(["decide", "--engine", "engine.toml"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        writeln!(stdin, "{line}").unwrap();
        writeln!(stdin, "{{\"request\": {{\"customer_id\": 5}}}}").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    // The third line is malformed: the command fails naming the line.
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stdin:3"), "{err}");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for d in &lines {
        let p = d["propensity"].as_f64().unwrap();
        assert!(p > 0.0 && p <= 1.0);
        let total: f64 = d["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["probability"].as_f64().unwrap())
            .sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert!(d["explanation"]["reason"].as_str().is_some());
    }
}

/// The simulated shop's engine speaks the serving vocabulary: the configuration `--print-config`
/// prints decides from a store's events (no facts in the request) in `decide`, and `serve` runs it
/// unchanged, both scoring the same features.
#[test]
fn the_simulated_shops_config_decides_from_a_store_and_serves_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let toml_text = simulated_shop_config(dir.path());
    assert!(toml_text.contains("\"log1p(orders_total)\""), "{toml_text}");
    let engine = dir.path().join("engine.toml");

    let url = format!("sqlite://{}", dir.path().join("s.sqlite").display());
    serve_process::run_in(
        dir.path(),
        &url,
        &[
            "simulate", "--users", "300", "--days", "20", "--seed", "5", "--out", "sim",
        ],
    );
    serve_process::run_in(dir.path(), &url, &["ingest", "sim/events.jsonl"]);
    let events = std::fs::read_to_string(dir.path().join("sim/events.jsonl")).unwrap();
    let customer = events
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["type"] == "order")
        .and_then(|v| v["user_id"].as_str().map(str::to_string))
        .expect("the simulated shop has an order");

    let mut child = discount(dir.path())
        .args(["--store", &url, "decide", "--engine", "engine.toml"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(
        child.stdin.as_mut().unwrap(),
        "{}",
        serde_json::json!({"request": {"customer_id": customer, "explain": true}})
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decided: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = decided["propensity"].as_f64().unwrap();
    assert!(p > 0.0 && p <= 1.0, "{decided}");

    let token = serve_process::admin_key(&url);
    let server = serve_process::serve(&url, &engine, &["--workers", "1"]);
    let mut client = HttpClient::new(server.addr);
    let body = serde_json::json!({"customer_id": customer, "explain": true});
    let r = client
        .request(
            "POST",
            "/v1/decisions",
            &[("authorization", &format!("Bearer {token}"))],
            body.to_string().as_bytes(),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let served: serde_json::Value = r.json();
    assert_eq!(
        served["policy_version"], decided["policy_version"],
        "{served} {decided}"
    );
    assert!(served["propensity"].as_f64().unwrap() > 0.0, "{served}");
}
