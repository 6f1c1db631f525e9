//! `discount simulate --stop-after/--save-state/--resume`: a market saved mid-way and resumed in
//! another process writes exactly the records of one uninterrupted run.

use std::process::Command;

// The shared test helpers; this file needs only `assert_success`.
#[allow(dead_code)]
mod common;

fn discount(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_discount"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    common::assert_success(&out);
    out
}

#[test]
fn a_resumed_market_writes_the_uninterrupted_records() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let common = [
        "simulate", "--users", "1500", "--days", "16", "--policy", "random", "--budget", "100000",
    ];
    discount(d, &[&common[..], &["--out", "whole"]].concat());
    discount(
        d,
        &[
            &common[..],
            &[
                "--stop-after",
                "6",
                "--save-state",
                "state.json",
                "--out",
                "first",
            ],
        ]
        .concat(),
    );
    let resumed = discount(
        d,
        &[
            "simulate",
            "--resume",
            "state.json",
            "--out",
            "rest",
            "--json",
        ],
    );
    let read = |p: &str| std::fs::read_to_string(d.join(p)).unwrap();
    let whole = read("whole/events.jsonl");
    let parts = read("first/events.jsonl") + &read("rest/events.jsonl");
    assert!(whole.lines().count() > 1000);
    assert!(parts == whole, "the resumed run's records differ");
    let v: serde_json::Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(v["days"], 10);
    // Asking past the market's length says how far it can go.
    let out = Command::new(env!("CARGO_BIN_EXE_discount"))
        .current_dir(d)
        .args(["simulate", "--resume", "state.json", "--stop-after", "11"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("day 6 of 16") && err.contains("1 to 10"),
        "{err}"
    );
}
