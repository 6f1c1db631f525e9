//! Sanity check on real receipts without labels: the rules must not flag most of a real shop.

use std::path::PathBuf;

use discount_core::Pseudonymiser;
use discount_fraud::scan;
use discount_fraud::scan::ScanConfig;
use discount_fraud::source::{new_activity, read_dataset};
use discount_ingest::datasets::Dataset;

fn data_dir() -> PathBuf {
    std::env::var_os("DISCOUNT_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

#[test]
fn rules_flag_few_complete_journey_households() -> anyhow::Result<()> {
    let dir = data_dir();
    if !dir.join(Dataset::CompleteJourney.folder()).is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "Complete Journey data missing under {}",
            dir.display()
        );
        println!("skipped: no Complete Journey data under {}", dir.display());
        return Ok(());
    }
    let config = ScanConfig::default();
    let mut activity = new_activity(
        &config.link_attributes,
        Pseudonymiser::new(b"cj-test-key-0123456")?,
    );
    let read = read_dataset(
        Dataset::CompleteJourney,
        &dir,
        &mut activity,
        &mut |_, _| {},
    )?;
    let result = scan(activity, None, &config)?;
    let r = &result.report;
    println!(
        "{} records, {} skipped; {} accounts; rules {:?}; flagged {}",
        read.records, read.skipped, r.accounts, r.rule_counts, r.flagged_by_rules
    );
    assert!(r.accounts > 2000, "{} households", r.accounts);
    assert!(r.evaluation.is_none());
    assert_eq!(r.score, "population_rank");
    let share = r.flagged_by_rules as f64 / r.accounts as f64;
    assert!(
        share < 0.05,
        "rules flag {:.1}% of households",
        share * 100.0
    );
    // Without labels the threshold is the population quantile of the budget.
    assert!(r.above_threshold as f64 <= config.false_positive_budget * r.accounts as f64 + 1.0);
    Ok(())
}
