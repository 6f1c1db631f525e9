//! End to end on a simulated shop with injected fraud: the labels stay apart from the events,
//! and the scan must meet the targets at a 0.5% false-positive budget; the engine's gate
//! then withholds exactly the accounts at or above the scan's threshold.

use discount_core::Pseudonymiser;
use discount_fraud::scan::ScanConfig;
use discount_fraud::source::new_activity;
use discount_fraud::{scan, Labels};
use discount_policy::gate::{GateAction, GateConfig, RiskGate};
use discount_sim::{policy_from_spec, simulate, SimConfig};

fn simulated(
    users: usize,
    seed: u64,
) -> anyhow::Result<(discount_fraud::activity::Activity, Labels)> {
    let config = SimConfig {
        users,
        days: 30,
        seed,
        ..SimConfig::default()
    };
    let scan_config = ScanConfig::default();
    let mut activity = new_activity(
        &scan_config.link_attributes,
        Pseudonymiser::new(b"test-key-0123456789")?,
    );
    let mut policy = policy_from_spec("random", seed)?;
    let mut sink = |r: discount_core::Record| activity.add(&r);
    let out = simulate(&config, policy.as_mut(), &mut sink)?;
    Ok((activity, Labels::from_labels(out.truth.fraud)))
}

#[test]
fn meets_the_targets_on_a_simulated_shop() -> anyhow::Result<()> {
    let (activity, labels) = simulated(40_000, 11)?;
    let config = ScanConfig::default();
    let result = scan(activity, Some(&labels), &config)?;
    let e = result
        .report
        .evaluation
        .as_ref()
        .expect("labels were given");
    println!("{}", serde_json::to_string_pretty(e)?);
    assert!(e.good_affected_share <= config.false_positive_budget + 1e-12);
    for k in &e.by_kind {
        if k.kind == "coupon_farmer" || k.kind == "order_brusher" {
            assert!(k.precision >= 0.9, "{}: precision {}", k.kind, k.precision);
            assert!(k.recall >= 0.8, "{}: recall {}", k.kind, k.recall);
        }
    }
    // The table and the gate: every account at or above the threshold is withheld, with why.
    let table = result.score_table();
    // The engine's gate, withholding at the scan's threshold.
    let gate = RiskGate::new(GateConfig {
        withhold_above: result.threshold,
        cap_above: result.threshold,
        ..GateConfig::default()
    })?
    .with_scores(std::sync::Arc::new(table));
    let mut withheld = 0;
    for (id, &risk) in result.account_ids.iter().zip(&result.risk) {
        let record = gate.check(id);
        let withhold = record.action == GateAction::Withhold;
        assert_eq!(withhold, risk >= result.threshold, "{id}: {record:?}");
        if withhold {
            withheld += 1;
            assert!(
                record
                    .reasons
                    .iter()
                    .any(|r| r.contains("withhold threshold")),
                "{record:?}"
            );
        }
    }
    assert_eq!(withheld, result.report.above_threshold);
    Ok(())
}
