//! `discount bench fraud`: scan time and peak memory on a simulated shop, and the gate's lookup
//! latency through the engine's gate reading the precomputed score table.

use std::time::Instant;

use discount_core::Pseudonymiser;
use discount_sim::{policy_from_spec, simulate, SimConfig};
use serde::Serialize;

use discount_fraud::scan::ScanConfig;
use discount_fraud::source::new_activity;
use discount_fraud::{scan, Labels};
use discount_policy::gate::{GateAction, GateConfig, RiskGate};

use crate::error::LabError;

#[derive(Clone, Debug, Serialize)]
pub struct FraudBench {
    pub customers: usize,
    pub records: u64,
    pub simulate_and_collect_seconds: f64,
    pub scan_seconds: f64,
    pub peak_rss_mib: Option<f64>,
    pub lookups: usize,
    pub gate_lookup_ns: f64,
    pub precision: f64,
    pub recall: f64,
}

/// Peak resident memory of this process (Linux), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn run(users: usize, days: u32, seed: u64) -> Result<FraudBench, LabError> {
    let sim = SimConfig {
        users,
        days,
        seed,
        ..SimConfig::default()
    };
    let config = ScanConfig::default();
    let key = seed.to_le_bytes().repeat(4);
    let mut activity = new_activity(&config.link_attributes, Pseudonymiser::new(&key)?);
    let mut records = 0u64;
    let started = Instant::now();
    let mut policy = policy_from_spec("random", seed)?;
    let out = {
        let mut sink = |r: discount_core::Record| {
            records += 1;
            activity.add(&r);
        };
        simulate(&sim, policy.as_mut(), &mut sink)?
    };
    let collected = started.elapsed().as_secs_f64();
    let labels = Labels::from_labels(out.truth.fraud);
    let started = Instant::now();
    let result = scan(activity, Some(&labels), &config)?;
    let table = result.score_table();
    let scan_seconds = started.elapsed().as_secs_f64();
    // The engine's gate, withholding at the scan's threshold.
    let gate = RiskGate::new(GateConfig {
        withhold_above: result.threshold,
        cap_above: result.threshold,
        ..GateConfig::default()
    })?
    .with_scores(std::sync::Arc::new(table));
    let ids: Vec<&String> = result.account_ids.iter().step_by(7).take(200_000).collect();
    let started = Instant::now();
    let mut withheld = 0usize;
    for id in &ids {
        withheld += usize::from(gate.check(id).action == GateAction::Withhold);
    }
    let lookup = started.elapsed().as_secs_f64();
    std::hint::black_box(withheld);
    let e = result.report.evaluation.as_ref();
    Ok(FraudBench {
        customers: result.account_ids.len(),
        records,
        simulate_and_collect_seconds: collected,
        scan_seconds,
        peak_rss_mib: peak_rss_mib(),
        lookups: ids.len(),
        gate_lookup_ns: lookup * 1e9 / ids.len().max(1) as f64,
        precision: e.map_or(0.0, |e| e.precision),
        recall: e.map_or(0.0, |e| e.recall),
    })
}
