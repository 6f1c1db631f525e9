//! Privacy through the binary: a key of only digits from the environment, the same pseudonym in
//! `ingest`, `profile` and `customers erase`, erasure and retention; and `serve` warning a
//! newcomer who started it without a policy.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const DIGIT_KEY: &str = "00123456789012345678";

fn discount(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_discount"))
        .current_dir(dir)
        .env_remove("DISCOUNT_STORE__URL")
        .env_remove("DISCOUNT_CONFIG")
        .env("DISCOUNT_PRIVACY__PSEUDONYMISE_KEY", DIGIT_KEY)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

#[test]
fn one_pseudonym_from_ingest_to_erasure() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("events.jsonl"),
        [
            r#"{"type":"user","id":"alice","signup":"2024-01-01"}"#,
            r#"{"type":"view","id":"e1","user_id":"alice","time":"2024-02-01T00:00:00Z"}"#,
            r#"{"type":"order","id":"e2","user_id":"alice","time":"2024-02-02T00:00:00Z","order_id":"o1","lines":[{"item_id":"i1","quantity":1,"list_price":500,"paid":500}]}"#,
            r#"{"type":"view","id":"e3","user_id":"bob","time":"2020-01-01T00:00:00Z"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    ok(&discount(dir.path(), &["--json", "ingest", "events.jsonl"]));
    let profile = ok(&discount(
        dir.path(),
        &["--json", "profile", "alice", "--at", "2024-03-01T00:00:00Z"],
    ));
    let stored = profile["user_id"].as_str().unwrap();
    assert!(
        stored.starts_with("p_") && profile["events_used"] == 2,
        "{profile}"
    );

    let erased = ok(&discount(
        dir.path(),
        &["--json", "customers", "erase", "alice"],
    ));
    assert_eq!(erased["events"], 2, "{erased}");
    assert_eq!(erased["users"], 1, "{erased}");
    let gone = discount(dir.path(), &["profile", "alice"]);
    assert!(!gone.status.success());

    // Retention: bob's 2020 view is older than any sensible period.
    let kept = ok(&discount(
        dir.path(),
        &["--json", "customers", "retain", "--days", "365"],
    ));
    assert_eq!(kept["events"], 1, "{kept}");
    let bad = discount(dir.path(), &["customers", "retain", "--days", "0"]);
    assert!(!bad.status.success());
}

#[test]
fn serve_without_a_policy_warns_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_discount"))
        .current_dir(dir.path())
        .env_remove("DISCOUNT_STORE__URL")
        .env_remove("DISCOUNT_CONFIG")
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.contains("no policy is active") && line.contains("--example-engine"),
        "{line}"
    );
    let example = Command::new(env!("CARGO_BIN_EXE_discount"))
        .args(["serve", "--example-engine"])
        .output()
        .unwrap();
    let text = String::from_utf8(example.stdout).unwrap();
    assert!(discount_policy_engine_parses(&text), "{text}");
}

fn discount_policy_engine_parses(text: &str) -> bool {
    text.contains("[[ladder]]") && text.contains("[[budgets]]")
}
