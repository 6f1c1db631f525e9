//! The `discount` binary as a user runs it: exit codes, JSON output, config overrides.

use std::process::Command;

fn discount(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_discount"));
    c.current_dir(dir)
        .env_remove("DISCOUNT_STORE__URL")
        .env_remove("DISCOUNT_CONFIG");
    c
}

#[test]
fn ingest_reports_balanced_json_and_exits_2_on_rejections() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("e.jsonl"),
        "{\"type\":\"view\",\"id\":\"a\",\"user_id\":\"u\",\"time\":1700000000}\n{\"type\":\"view\"}\n",
    )
    .unwrap();
    let out = discount(dir.path())
        .args(["--json", "ingest", "e.jsonl"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total = &report["total"];
    assert_eq!(
        (
            total["read"].as_u64(),
            total["stored"].as_u64(),
            total["rejected"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 row(s) rejected"));
    let quarantine = report["inputs"][0]["quarantine"].as_str().unwrap();
    assert!(dir.path().join(quarantine).exists());
    // A first load into an empty store builds its indexes once, at the end.
    assert_eq!(report["deferred_indexes"].as_bool(), Some(true));

    // The same file again: all duplicates or rejected, nothing new.
    let out = discount(dir.path())
        .args(["--json", "ingest", "e.jsonl"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["total"]["duplicates"].as_u64(), Some(1));
    // The store holds events now: its indexes stay, unless asked otherwise.
    assert_eq!(report["deferred_indexes"].as_bool(), Some(false));
    let out = discount(dir.path())
        .args(["--json", "ingest", "--defer-indexes", "always", "e.jsonl"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["deferred_indexes"].as_bool(), Some(true));
    assert_eq!(report["total"]["duplicates"].as_u64(), Some(1));

    let out = discount(dir.path())
        .args(["--json", "stats"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["events"].as_i64(), Some(1));
}

#[test]
fn the_store_follows_config_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("discount.toml"),
        "[store]\nurl = \"sqlite://from-file.sqlite\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("e.jsonl"),
        "{\"type\":\"view\",\"id\":\"a\",\"user_id\":\"u\",\"time\":1}\n",
    )
    .unwrap();
    assert!(discount(dir.path())
        .args(["ingest", "e.jsonl"])
        .status()
        .unwrap()
        .success());
    assert!(dir.path().join("from-file.sqlite").exists());
    let status = discount(dir.path())
        .env("DISCOUNT_STORE__URL", "sqlite://from-env.sqlite")
        .args(["ingest", "e.jsonl"])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(dir.path().join("from-env.sqlite").exists());

    std::fs::write(dir.path().join("discount.toml"), "[store]\nulr = 1\n").unwrap();
    let out = discount(dir.path()).args(["stats"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ulr"));
}

#[test]
fn missing_files_and_bad_urls_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = discount(dir.path())
        .args(["ingest", "nope.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.jsonl"));
    let out = discount(dir.path())
        .args(["--store", "mysql://x", "stats"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected sqlite://"));
}

#[test]
fn pseudonymisation_hides_customer_ids() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("e.jsonl"),
        "{\"type\":\"view\",\"id\":\"a\",\"user_id\":\"alice@example.com\",\"time\":1}\n",
    )
    .unwrap();
    let status = discount(dir.path())
        .env("DISCOUNT_PRIVACY__PSEUDONYMISE_KEY", "0123456789abcdef0123")
        .args(["ingest", "e.jsonl"])
        .status()
        .unwrap();
    assert!(status.success());
    let db = std::fs::read(dir.path().join("discount.sqlite")).unwrap();
    let wal = std::fs::read(dir.path().join("discount.sqlite-wal")).unwrap_or_default();
    let needle = b"alice@example.com";
    let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(&db) && !contains(&wal));
}

#[test]
fn report_writes_one_html_file_with_plots() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("customer,arm,outcome\n");
    for i in 0..2000 {
        let arm = if i % 2 == 0 { "A" } else { "B" };
        let bought = (i * 7919 % 100) < if arm == "A" { 10 } else { 13 };
        csv.push_str(&format!("c{i},{arm},{}\n", u8::from(bought)));
    }
    std::fs::write(dir.path().join("ab.csv"), csv).unwrap();
    let out = discount(dir.path())
        .args([
            "report",
            "--no-obd",
            "--experiment",
            "ab.csv",
            "--control",
            "A",
            "--out",
            "r.html",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("</html>"));
    let out = discount(dir.path())
        .args(["report", "--no-obd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to report"));
}
