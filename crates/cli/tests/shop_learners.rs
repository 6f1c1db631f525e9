//! `discount train ltv | cf | sequence` on the shop's own store: a simulated shop ingested into a
//! temporary SQLite store, the lifetimes-style summary round trip, and the too-little-data
//! errors.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use common::{assert_success, data_root_holding, success_json as json};

fn discount(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_discount"))
        .current_dir(dir)
        .args(["--store", "shop.sqlite"])
        .args(args)
        .output()
        .unwrap()
}

fn finite_positive(v: &serde_json::Value, names: &[&str]) {
    for name in names {
        let x = v[name].as_f64().unwrap_or(f64::NAN);
        assert!(x.is_finite() && x > 0.0, "{name} = {x} in {v}");
    }
}

/// Simulates a small shop and ingests it into `dir/shop.sqlite`; returns the customers with an
/// order, read from the simulator's file.
fn simulated_shop(dir: &Path) -> BTreeSet<String> {
    let out = discount(
        dir,
        &[
            "simulate", "--users", "1500", "--days", "150", "--seed", "11", "--out", "sim",
        ],
    );
    assert_success(&out);
    assert_success(&discount(dir, &["ingest", "sim/events.jsonl"]));
    let log = std::fs::read_to_string(dir.join("sim/events.jsonl")).unwrap();
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "order")
        .filter_map(|v| v["user_id"].as_str().map(String::from))
        .collect()
}

#[test]
fn the_learners_run_on_a_simulated_shop() {
    let dir = tempfile::tempdir().unwrap();
    let buyers = simulated_shop(dir.path());

    // LTV: every customer with an order is either summarised or first ordered in the holdout.
    let ltv = json(&discount(
        dir.path(),
        &[
            "--json",
            "train",
            "ltv",
            "--unit",
            "days",
            "--write-summary",
            "summary.csv",
            "--predictions",
            "predictions.csv",
        ],
    ));
    let source = &ltv["source"]["store"];
    assert_eq!(
        source["customers_with_orders"].as_u64(),
        Some(buyers.len() as u64)
    );
    let customers = ltv["customers"].as_u64().unwrap();
    assert_eq!(
        customers
            + source["customers_first_ordered_after_calibration"]
                .as_u64()
                .unwrap(),
        buyers.len() as u64
    );
    assert_eq!(
        ltv["gamma_gamma_customers"].as_u64().unwrap()
            + ltv["gamma_gamma_skipped_no_repeat"].as_u64().unwrap()
            + ltv["gamma_gamma_skipped_zero_spend"].as_u64().unwrap(),
        customers
    );
    assert_eq!(
        ltv["repeat_customers"].as_u64().unwrap(),
        customers - ltv["gamma_gamma_skipped_no_repeat"].as_u64().unwrap()
    );
    finite_positive(&ltv["bgnbd"], &["r", "alpha", "a", "b"]);
    finite_positive(&ltv["gamma_gamma"], &["p", "q", "v"]);
    assert!(ltv["bgnbd_log_likelihood"].as_f64().unwrap() < 0.0);
    let holdout = &ltv["holdout"];
    assert_eq!(holdout["customers"].as_u64(), Some(customers));
    assert!(
        holdout["auc_buys_again"].as_f64().unwrap() > 0.5,
        "{holdout}"
    );

    // The predictions: one row per summarised customer, probabilities in [0, 1].
    let predictions = std::fs::read_to_string(dir.path().join("predictions.csv")).unwrap();
    let mut lines = predictions.lines();
    assert_eq!(
        lines.next(),
        Some(
            "customer,frequency,recency,T,monetary_value,expected_purchases,p_alive,expected_value"
        )
    );
    // After the customer: frequency, recency, T, monetary_value, expected_purchases, p_alive,
    // expected_value.
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').skip(1).map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len() as u64, customers);
    for r in &rows {
        assert!(r[3] >= 0.0 && r[4] >= 0.0 && r[6] >= 0.0, "{r:?}");
        assert!((0.0..=1.0).contains(&r[5]), "{r:?}");
    }

    // The written summary, read back, gives the same fit.
    let again = json(&discount(
        dir.path(),
        &[
            "--json",
            "train",
            "ltv",
            "--unit",
            "days",
            "--summary",
            "summary.csv",
        ],
    ));
    assert_eq!(again["customers"], ltv["customers"]);
    for p in ["r", "alpha", "a", "b"] {
        let (x, y) = (
            ltv["bgnbd"][p].as_f64().unwrap(),
            again["bgnbd"][p].as_f64().unwrap(),
        );
        assert!((x - y).abs() <= 1e-9 * x.abs(), "{p}: {x} vs {y}");
    }
    assert_eq!(again["gamma_gamma"], ltv["gamma_gamma"]);

    // CF: the test orders are accounted for, the figures are rates.
    let cf = json(&discount(
        dir.path(),
        &["--json", "train", "cf", "--model", "bpr"],
    ));
    assert_eq!(
        cf["test_interactions"].as_u64().unwrap()
            + cf["dropped_already_known"].as_u64().unwrap()
            + cf["dropped_cold"].as_u64().unwrap(),
        cf["ordered_pairs_after_cutoff"].as_u64().unwrap()
    );
    assert!(cf["train_interactions"].as_u64().unwrap() > 0);
    for report in [&cf["report"], &cf["popularity"]] {
        for m in ["precision", "ndcg"] {
            let v = report[m].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{m} = {v}");
        }
    }

    // Sequence: the three models, scored on the same customers.
    let seq = json(&discount(
        dir.path(),
        &["--json", "train", "sequence", "--epochs", "2"],
    ));
    let rows = seq["comparison"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let actual = rows[0]["actual_total"].as_f64().unwrap();
    for r in rows {
        assert_eq!(r["actual_total"].as_f64(), Some(actual));
        assert!(r["correlation"].as_f64().unwrap().is_finite(), "{r}");
    }
}

#[test]
fn zero_repeat_spend_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("customer,frequency,recency,T,monetary_value\n");
    for k in 0..12 {
        let frequency = k % 4;
        let recency = if frequency == 0 { 0 } else { 10 + k };
        csv += &format!("c{k},{frequency},{recency},40,{}\n", 10 + 3 * k);
    }
    // A customer whose two repeat purchases were free.
    csv += "free,2,20,40,0\n";
    std::fs::write(dir.path().join("s.csv"), csv).unwrap();
    let out = json(&discount(
        dir.path(),
        &["--json", "train", "ltv", "--summary", "s.csv"],
    ));
    assert_eq!(out["customers"], 13);
    assert_eq!(out["gamma_gamma_skipped_zero_spend"], 1);
    assert_eq!(out["gamma_gamma_skipped_no_repeat"], 3);
    assert_eq!(out["gamma_gamma_customers"], 9);
}

#[test]
fn too_little_data_is_a_clear_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = [
        r#"{"type":"order","id":"o1","user_id":"ann","time":"2024-03-01T10:00:00Z","order_id":"o1","lines":[{"item_id":"hat","quantity":1,"list_price":2000,"paid":2000}]}"#,
        r#"{"type":"order","id":"o2","user_id":"ann","time":"2024-03-20T10:00:00Z","order_id":"o2","lines":[{"item_id":"shoe","quantity":1,"list_price":5000,"paid":5000}]}"#,
        r#"{"type":"order","id":"o3","user_id":"bob","time":"2024-03-05T10:00:00Z","order_id":"o3","lines":[{"item_id":"hat","quantity":1,"list_price":2000,"paid":2000}]}"#,
        r#"{"type":"view","id":"v1","user_id":"bob","time":"2024-03-25T10:00:00Z","item_id":"shoe"}"#,
    ];
    std::fs::write(dir.path().join("log.jsonl"), log.join("\n")).unwrap();
    assert_success(&discount(dir.path(), &["ingest", "log.jsonl"]));

    for (args, needs) in [
        (
            vec![
                "train",
                "ltv",
                "--predictions",
                "p.csv",
                "--write-summary",
                "s.csv",
            ],
            "BG/NBD needs at least 10",
        ),
        (vec!["train", "cf"], "training pairs"),
        (vec!["train", "sequence"], "at least 10"),
    ] {
        let out = discount(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr.contains("too little data") && stderr.contains("table `events`"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains(needs), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("p.csv").exists());
    assert!(!dir.path().join("s.csv").exists());

    // A summary file with too few rows names the file and the counts.
    std::fs::write(
        dir.path().join("small.csv"),
        "customer,frequency,recency,T,monetary_value\na,1,2,5,3.5\nb,0,0,5,0\n",
    )
    .unwrap();
    let out = discount(dir.path(), &["train", "ltv", "--summary", "small.csv"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("small.csv has 2 customer rows"), "{stderr}");
}

#[test]
fn the_cdnow_summary_matches_the_papers_and_refits_the_same() {
    let Some(root) = data_root_holding("cdnow/cdnow_customers_summary.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = root.to_str().unwrap();
    let fitted = json(&discount(
        dir.path(),
        &[
            "--json",
            "train",
            "ltv",
            "--dataset",
            "cdnow",
            "--data-dir",
            data,
            "--write-summary",
            "cdnow.csv",
        ],
    ));
    // The written summary is the paper's (recency and T there are rounded to 2 decimals).
    let ours = std::fs::read_to_string(dir.path().join("cdnow.csv")).unwrap();
    let published =
        std::fs::read_to_string(root.join("cdnow/cdnow_customers_summary.csv")).unwrap();
    let rows = |text: &str| -> Vec<Vec<f64>> {
        text.lines()
            .skip(1)
            .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
            .collect()
    };
    let (ours, published) = (rows(&ours), rows(&published));
    assert_eq!(ours.len(), published.len());
    for (a, b) in ours.iter().zip(&published) {
        assert_eq!((a[0], a[1]), (b[0], b[1]));
        assert!(
            (a[2] - b[2]).abs() < 0.006 && (a[3] - b[3]).abs() < 0.006,
            "{a:?} {b:?}"
        );
    }
    // Fitting the written file gives the CDNOW fit again.
    let refit = json(&discount(
        dir.path(),
        &["--json", "train", "ltv", "--summary", "cdnow.csv"],
    ));
    assert_eq!(refit["customers"], fitted["customers"]);
    assert_eq!(refit["gamma_gamma_customers"], fitted["repeat_customers"]);
    for p in ["r", "alpha", "a", "b"] {
        let (x, y) = (
            fitted["bgnbd"][p].as_f64().unwrap(),
            refit["bgnbd"][p].as_f64().unwrap(),
        );
        assert!((x - y).abs() <= 1e-9 * x, "{p}: {x} vs {y}");
    }
}
