//! The real data sets the tests read.

use std::path::PathBuf;

/// The data folder (`$DISCOUNT_DATA_DIR`, default /work/shared/data) when `relative` exists in it.
/// `None` (the test skips, saying why) when it is missing, unless `CI=true`: then the test fails.
#[allow(dead_code)] // not every test binary that includes this module reads the data sets
pub fn data_root_holding(relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("DISCOUNT_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if root.join(relative).exists() {
        return Some(root);
    }
    let folder = relative.split('/').next().unwrap_or(relative);
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{relative} missing in {} under CI: run `discount datasets fetch {folder}`",
        root.display()
    );
    eprintln!(
        "skipping: {relative} not found in {} (run `discount datasets fetch {folder}`, or set DISCOUNT_DATA_DIR)",
        root.display()
    );
    None
}

/// Fails the test with the command's stderr unless it exited successfully.
#[track_caller]
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The command's standard output as JSON (`Null` when it printed none), after checking that it
/// succeeded.
#[allow(dead_code)] // not every test binary that includes this module reads JSON output
#[track_caller]
pub fn success_json(out: &std::process::Output) -> serde_json::Value {
    assert_success(out);
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}
