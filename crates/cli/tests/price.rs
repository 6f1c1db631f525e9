//! `discount price ...` through the binary: JSON shapes, rejected rows, HTML reports.

mod common;

use std::process::Command;

use common::{assert_success, data_root_holding};

fn discount() -> Command {
    Command::new(env!("CARGO_BIN_EXE_discount"))
}

#[test]
fn choice_on_margarine_prints_each_models_hold_out_figures() {
    let Some(root) = data_root_holding("bayesm-scanner-panels/margarine_choicePrice.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("choice.html");
    let out = discount()
        .args([
            "--json",
            "price",
            "choice",
            "--dataset",
            "margarine",
            "--data-dir",
        ])
        .arg(root.join("bayesm-scanner-panels"))
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let models = json["models"].as_array().unwrap();
    let names: Vec<&str> = models
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "shares",
            "logit without loyalty",
            "logit",
            "latent classes (3)"
        ]
    );
    for m in models {
        let ll = m["test_log_likelihood_per_occasion"].as_f64().unwrap();
        let hit = m["test_hit_rate"].as_f64().unwrap();
        assert!(ll < 0.0 && ll > -10f64.ln() - 1.0, "{m}");
        assert!(hit > 0.0 && hit < 1.0, "{m}");
    }
    assert_eq!(json["households"], 516);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.contains("Hold-out fit"));
}

#[test]
fn a_choice_file_with_bad_occasions_fits_on_the_rest_and_says_how_many_were_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("occasions.csv");
    let mut text = String::from("occasion,household,alternative,chosen,price\n");
    // Ten households, eight good occasions each; household h0's third occasion has no chosen row and
    // h1's fourth a price of zero.
    for h in 0..10 {
        for k in 0..8 {
            let id = format!("{h}-{k}");
            let cheap = (h + k) % 3;
            for a in 0..3 {
                let price = if h == 1 && k == 3 && a == 0 {
                    0.0
                } else {
                    1.0 + 0.2 * a as f64
                };
                let chosen = u8::from(a == cheap && !(h == 0 && k == 2));
                text += &format!("{id},h{h},alt{a},{chosen},{price}\n");
            }
        }
    }
    std::fs::write(&file, text).unwrap();
    let out = discount()
        .args(["--json", "price", "choice", "--classes", "2", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 of 80 occasions rejected"), "{stderr}");
    assert!(
        stderr.contains("line 8") && stderr.contains("no chosen alternative"),
        "{stderr}"
    );
    assert!(stderr.contains("price must be above zero"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["occasions_kept"], 78);
    assert_eq!(json["summary"]["rows_rejected"], 6);
}

#[test]
fn elasticity_reports_rejected_rows_and_recovers_a_synthetic_curve() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sales.csv");
    let mut text = String::from("series,market,date,units,price,promo\n");
    // units = 1000 price^-2 exactly, with prices moving over weeks in 5 stores; one bad row.
    for s in 0..5 {
        for w in 0..20 {
            let price = 1.0 + 0.05 * ((w * 7 + s * 3) % 11) as f64;
            let units = 1000.0 * (1.0 + 0.1 * s as f64) * price.powf(-2.0);
            let date = chrono_date(w);
            text += &format!("s{s},s{s},{date},{units:.6},{price},0\n");
        }
    }
    text += "s0,s0,2024-13-01,5,1.0,0\n";
    std::fs::write(&file, text).unwrap();
    let report = dir.path().join("elasticity.html");
    let out = discount()
        .args(["--json", "price", "elasticity", "--file"])
        .arg(&file)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 of 101 rows rejected") && stderr.contains("line 102"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let own = json["fixed_effects"]["pooled"]["own_price"]["estimate"]
        .as_f64()
        .unwrap();
    assert!((own + 2.0).abs() < 1e-6, "{own}");
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("Demand curves"));
}

fn chrono_date(week: usize) -> String {
    // 2024-01-04 plus whole weeks, without a date library.
    let days = 4 + 7 * week;
    let months = [31, 29, 31, 30, 31, 30];
    let (mut month, mut day) = (0, days);
    while day > months[month] {
        day -= months[month];
        month += 1;
    }
    format!("2024-{:02}-{:02}", month + 1, day)
}

#[test]
fn markdown_json_has_the_optimum_above_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("markdown.html");
    let out = discount()
        .args([
            "--json", "price", "markdown", "--stock", "40", "--weeks", "6", "--runs", "200",
            "--report",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let policies = json["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 6);
    let best = policies[0]["expected_revenue_minor"].as_f64().unwrap();
    for p in &policies[1..] {
        assert!(
            p["expected_revenue_minor"].as_f64().unwrap() <= best + 1e-6,
            "{p}"
        );
    }
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("Markdown paths"));
}

#[test]
fn bandit_and_help_texts_teach_with_examples() {
    let out = discount()
        .args(["--json", "price", "bandit", "--runs", "20", "--weeks", "26"])
        .output()
        .unwrap();
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["policies"].as_array().unwrap().len(), 3);
    for command in [
        "import",
        "elasticity",
        "choice",
        "forecast",
        "optimize",
        "markdown",
        "bandit",
    ] {
        let out = discount()
            .args(["price", command, "--help"])
            .output()
            .unwrap();
        assert_success(&out);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("discount price"), "{command}: {help}");
    }
}

#[test]
fn a_missing_column_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, "series,date,price\na,2024-01-04,1.0\n").unwrap();
    let out = discount()
        .args(["price", "forecast", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing column `units`"));
}
