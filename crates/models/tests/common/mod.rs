//! The real data sets the tests read.

use std::path::PathBuf;

/// `relative` under `$DISCOUNT_DATA_DIR` (default /work/shared/data). `None` (the test skips, saying
/// why) when the file is missing, unless `CI` is set: then the test fails.
pub fn data_file(relative: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("DISCOUNT_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let path = dir.join(relative);
    if path.exists() {
        return Some(path);
    }
    let folder = relative.split('/').next().unwrap_or(relative);
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing and CI is set: run `discount datasets fetch {folder}`",
        path.display()
    );
    eprintln!(
        "skipping: {} not found (run `discount datasets fetch {folder}`, or set DISCOUNT_DATA_DIR)",
        path.display()
    );
    None
}
