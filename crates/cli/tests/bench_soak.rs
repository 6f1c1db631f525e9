//! `discount bench soak`: its figures are the machine's, but its accounting is checked here: the
//! windows cover the run, the decisions add up, nothing fails, and the profile cache stays within
//! its bound while more customers than it holds are decided for.

mod common;

use std::process::Command;

#[test]
fn a_short_soak_reports_every_window_within_the_cache_bound() {
    let out = Command::new(env!("CARGO_BIN_EXE_discount"))
        .args([
            "--json",
            "bench",
            "soak",
            "--seconds",
            "3",
            "--window-seconds",
            "1",
            "--warmup-seconds",
            "0.5",
            "--peak-seconds",
            "1",
            "--share",
            "0.5",
            "--customers",
            "400",
            "--history-events",
            "4",
            "--profile-cache-entries",
            "50",
            "--connections",
            "2",
        ])
        .output()
        .expect("running discount");
    let report = common::success_json(&out);
    let windows = report["windows"].as_array().expect("windows");
    assert_eq!(windows.len(), 3, "{report}");
    let decisions: u64 = windows
        .iter()
        .map(|w| w["decisions"].as_u64().expect("decisions"))
        .sum();
    assert_eq!(report["decisions"].as_u64(), Some(decisions), "{report}");
    assert!(decisions > 0, "{report}");
    assert_eq!(report["errors"].as_u64(), Some(0), "{report}");
    let peak = report["peak_decisions_per_second"].as_f64().expect("peak");
    let target = report["target_decisions_per_second"]
        .as_f64()
        .expect("target");
    assert!((target - 0.5 * peak).abs() < 1e-6 * peak, "{report}");
    for w in windows {
        let cached = w["cached_profiles"].as_u64().expect("cached profiles");
        assert!(cached <= 50, "{report}");
        let (p50, p99) = (w["p50_ms"].as_f64(), w["p99_ms"].as_f64());
        assert!(p50 <= p99, "{report}");
    }
}

#[test]
fn a_soak_refuses_a_share_outside_zero_to_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_discount"))
        .args(["bench", "soak", "--share", "1.5"])
        .output()
        .expect("running discount");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--share 1.5"), "{err}");
}
