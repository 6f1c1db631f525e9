//! The shop's own decision log, exported and evaluated: decisions and outcomes made through a
//! real `discount serve`, `discount export decisions` in JSON Lines and CSV, and `discount ope
//! --decisions` whose IPS estimate of "always no offer" is checked against the sum computed here
//! from the exported rows, and the same from the store directly.

use std::process::Command;

use discount_server::client::HttpClient;

mod serve_process;
use serve_process::{admin_key, bin, run_in as run, serve, two_rung_engine};

#[test]
fn exported_decisions_round_trip_into_ope() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shop.sqlite").display());
    let engine = dir.path().join("engine.toml");
    std::fs::write(
        &engine,
        two_rung_engine("export-v1", 1_000_000, r#"["bias", "orders_total"]"#),
    )
    .unwrap();
    let token = admin_key(&url);
    let auth = format!("Bearer {token}");
    {
        let server = serve(&url, &engine, &[]);
        let mut c = HttpClient::new(server.addr);
        for i in 0..120 {
            let body = format!(r#"{{"customer_id":"c{i}"}}"#);
            let r = c
                .request(
                    "POST",
                    "/v1/decisions",
                    &[("authorization", &auth)],
                    body.as_bytes(),
                )
                .unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            let d = r.json();
            // Every third customer buys; a coupon, when given, is used.
            let converted = i % 3 == 0;
            let discount = if converted {
                d["reserved"].as_i64().unwrap()
            } else {
                0
            };
            let outcome = format!(
                r#"{{"decision_id":"{}","converted":{converted},"revenue":{},"discount":{discount},"profit":{}}}"#,
                d["decision_id"].as_str().unwrap(),
                if converted { 4000 } else { 0 },
                if converted { 1500 - discount } else { 0 },
            );
            let r = c
                .request(
                    "POST",
                    "/v1/outcomes",
                    &[("authorization", &auth)],
                    outcome.as_bytes(),
                )
                .unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
        }
    }
    run(
        dir.path(),
        &url,
        &["export", "decisions", "--out", "d.jsonl"],
    );
    run(dir.path(), &url, &["export", "decisions", "--out", "d.csv"]);
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("d.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 120);
    assert!(rows
        .iter()
        .all(|r| r["joined"] == true && r["features"].as_array().unwrap().len() == 2));
    // IPS of "always none": mean over rounds of 1{action = none} * profit / propensity.
    let expected: f64 = rows
        .iter()
        .filter(|r| r["action"] == "none")
        .map(|r| r["profit"].as_f64().unwrap() / r["propensity"].as_f64().unwrap())
        .sum::<f64>()
        / rows.len() as f64;
    for file in ["d.jsonl", "d.csv"] {
        let out = run(
            dir.path(),
            &url,
            &[
                "--json",
                "ope",
                "--decisions",
                file,
                "--policy",
                "offer:none",
                "--estimators",
                "ips,snips,dr",
                "--bootstrap",
                "50",
            ],
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["n_rounds"], 120, "{report}");
        let ips = report["estimates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["estimator"] == "ips")
            .unwrap()["estimate"]
            .as_f64()
            .unwrap();
        assert!(
            (ips - expected).abs() < 1e-6,
            "{file}: ips {ips} vs {expected}"
        );
    }
    // Without a file, `discount ope` reads the store's own log: the same estimate.
    let out = run(
        dir.path(),
        &url,
        &[
            "--json",
            "ope",
            "--policy",
            "offer:none",
            "--estimators",
            "ips",
            "--bootstrap",
            "50",
        ],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["n_rounds"], 120, "{report}");
    let ips = report["estimates"][0]["estimate"].as_f64().unwrap();
    assert!(
        (ips - expected).abs() < 1e-6,
        "store: ips {ips} vs {expected}"
    );
    // The monitor reads the same log: every decision joined, the offer share as exported.
    let out = run(
        dir.path(),
        &url,
        &["--json", "monitor", "--days", "3", "--recent", "1"],
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Summed over days: the run may straddle midnight.
    let days = m["days"].as_array().unwrap();
    let total = |key: &str| days.iter().map(|d| d[key].as_f64().unwrap()).sum::<f64>();
    let weighted = |key: &str| {
        days.iter()
            .map(|d| d[key].as_f64().unwrap() * d["decisions"].as_f64().unwrap())
            .sum::<f64>()
    };
    assert_eq!(total("decisions"), 120.0, "{m}");
    assert_eq!(total("joined"), 120.0, "{m}");
    let offered = rows
        .iter()
        .filter(|r| r["reserved"].as_i64().unwrap() > 0)
        .count();
    assert!(
        (weighted("offer_share") - offered as f64).abs() < 1e-9,
        "{m}"
    );
    let profit: f64 = rows.iter().map(|r| r["profit"].as_f64().unwrap()).sum();
    assert!(
        (weighted("profit_per_decision") - profit).abs() < 1e-6,
        "{m}"
    );
    assert_eq!(m["budgets"][0]["id"], "default");

    // An offer nobody received is a clear error.
    let bad = Command::new(bin())
        .current_dir(dir.path())
        .args(["ope", "--decisions", "d.jsonl", "--policy", "offer:pct90"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("pct90"));
}
