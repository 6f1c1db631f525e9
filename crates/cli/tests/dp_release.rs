//! Differentially private releases through the binary: no budget, no release; each customer's
//! contribution bounded; the noise scale the budget asks for; the ledger refusing an overspend
//! with nothing released.

mod common;

use std::path::Path;
use std::process::Command;

use common::success_json as ok;

fn discount(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_discount"))
        .current_dir(dir)
        .env_remove("DISCOUNT_STORE__URL")
        .env_remove("DISCOUNT_CONFIG")
        .env_remove("DISCOUNT_PRIVACY__PSEUDONYMISE_KEY")
        .args(args)
        .output()
        .unwrap()
}

fn order(n: usize, user: &str, day: u32, paid: i64) -> String {
    format!(
        r#"{{"type":"order","id":"e{n}","user_id":"{user}","time":"2026-03-{day:02}T10:{:02}:00Z","order_id":"o{n}","lines":[{{"item_id":"i1","quantity":1,"list_price":{paid},"paid":{paid}}}]}}"#,
        n % 60
    )
}

/// Three days of orders; `heavy` orders five times on day 1 (only two may count).
fn shop(dir: &Path) {
    let mut lines = Vec::new();
    let mut n = 0;
    let mut add = |user: &str, day: u32, paid: i64| {
        n += 1;
        lines.push(order(n, user, day, paid));
    };
    for c in 0..6 {
        add(&format!("c{c}"), 1, 1_000);
    }
    for _ in 0..5 {
        add("heavy", 1, 1_000);
    }
    for c in 0..4 {
        add(&format!("c{c}"), 2, 2_500);
    }
    // Above the value cap: clamped to 5,000.
    add("big", 3, 90_000);
    std::fs::write(dir.join("events.jsonl"), lines.join("\n")).unwrap();
    ok(&discount(dir, &["--json", "ingest", "events.jsonl"]));
}

fn release(dir: &Path, epsilon: &str, seed: &str) -> std::process::Output {
    discount(
        dir,
        &[
            "--json",
            "privacy",
            "release",
            "orders",
            "--since",
            "2026-03-01",
            "--until",
            "2026-03-04",
            "--epsilon",
            epsilon,
            "--max-rows-per-customer",
            "2",
            "--value-cap",
            "5000",
            "--seed",
            seed,
        ],
    )
}

fn value(released: &serde_json::Value, cell: &str, measure: &str) -> (f64, f64) {
    let v = released["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["cell"] == cell && v["measure"] == measure)
        .unwrap_or_else(|| panic!("no {cell}/{measure} in {released}"));
    (
        v["value"].as_f64().unwrap(),
        v["noise_half_width_95"].as_f64().unwrap(),
    )
}

#[test]
fn releases_spend_the_budget_and_an_overspend_releases_nothing() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());

    let refused = release(dir.path(), "1", "7");
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("no privacy budget") && err.contains("privacy budget set"),
        "{err}"
    );

    ok(&discount(
        dir.path(),
        &[
            "privacy",
            "budget",
            "set",
            "--dataset",
            "events",
            "--epsilon",
            "1000",
        ],
    ));
    // ε 900 over two measures: Laplace b = 2 / 450 for counts, 2 × 5000 / 450 for sums.
    let released = ok(&release(dir.path(), "900", "7"));
    let (orders_day1, half_width) = value(&released, "2026-03-01", "orders");
    // Six customers once, `heavy` bounded to two of five.
    assert_eq!(orders_day1, 8.0, "{released}");
    let b = 2.0 / 450.0;
    assert!(
        (half_width - (-b * 0.05f64.ln())).abs() < 1e-9,
        "{half_width}"
    );
    assert_eq!(value(&released, "2026-03-02", "orders").0, 4.0);
    assert_eq!(value(&released, "2026-03-03", "orders").0, 1.0);
    // Day 1's revenue: eight counted orders of 1,000; day 3's order is clamped to 5,000.
    let sum_noise = 2.0 * 5_000.0 / 450.0 * 20.0;
    for (day, truth) in [
        ("2026-03-01", 8_000.0),
        ("2026-03-02", 10_000.0),
        ("2026-03-03", 5_000.0),
    ] {
        let (v, _) = value(&released, day, "revenue");
        assert!((v - truth).abs() < sum_noise, "{day}: {v} vs {truth}");
    }
    assert!((released["budget"]["spent_epsilon"].as_f64().unwrap() - 900.0).abs() < 1e-9);

    // 200 more does not fit in the 100 left: refused, nothing on standard output.
    let over = release(dir.path(), "200", "7");
    assert!(!over.status.success());
    assert!(
        over.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&over.stdout)
    );
    assert!(String::from_utf8_lossy(&over.stderr).contains("refused"));

    let shown = ok(&discount(
        dir.path(),
        &["--json", "privacy", "budget", "show", "--dataset", "events"],
    ));
    assert_eq!(shown["releases"], 1, "{shown}");
    assert!((shown["remaining_epsilon"].as_f64().unwrap() - 100.0).abs() < 1e-9);
    assert_eq!(shown["history"][0]["mechanism"], "laplace");
}

#[test]
fn small_epsilon_gives_noise_of_the_promised_scale() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    ok(&discount(
        dir.path(),
        &[
            "privacy",
            "budget",
            "set",
            "--dataset",
            "events",
            "--epsilon",
            "100",
        ],
    ));
    // Many releases at ε 0.5 each: the day-1 count's errors have the Laplace spread
    // b = 2 / 0.25 = 8, so their mean absolute error is near 8 (not 0, not 80).
    let mut errors = Vec::new();
    for seed in 0..40 {
        let out = release(dir.path(), "0.5", &seed.to_string());
        let released = ok(&out);
        errors.push((value(&released, "2026-03-01", "orders").0 - 8.0).abs());
    }
    let mean_abs = errors.iter().sum::<f64>() / errors.len() as f64;
    assert!((4.0..14.0).contains(&mean_abs), "mean |error| {mean_abs}");
}
