//! `discount bench profiles`: the figures are the machine's, but what they rest on is checked
//! here: every profile read from a folded state equals the rebuild from the customer's events, and
//! the counts and sizes add up.

mod common;

use std::process::Command;

#[test]
fn profile_states_read_what_a_rebuild_reads() {
    let out = Command::new(env!("CARGO_BIN_EXE_discount"))
        .args([
            "--json",
            "bench",
            "profiles",
            "--customers",
            "300",
            "--history-events",
            "30",
            "--reads",
            "300",
        ])
        .output()
        .expect("running discount");
    let report = common::success_json(&out);
    let reads = report["reads"].as_u64().expect("reads");
    // Customers drawn with no events have no state to read.
    assert!(reads > 250 && reads <= 300, "{report}");
    assert_eq!(report["reads_equal"], reads, "{report}");
    let events = report["events"].as_u64().expect("events");
    // Uniform on 0 to 60 events: a mean of 30.
    assert!((20 * 300..40 * 300).contains(&events), "{report}");
    let (p50, p99, max) = (
        report["serialised_bytes_p50"].as_u64().expect("p50"),
        report["serialised_bytes_p99"].as_u64().expect("p99"),
        report["serialised_bytes_max"].as_u64().expect("max"),
    );
    assert!(0 < p50 && p50 <= p99 && p99 <= max, "{report}");
    assert!(
        report["inline_bytes"].as_u64().expect("inline") > 0,
        "{report}"
    );
}
