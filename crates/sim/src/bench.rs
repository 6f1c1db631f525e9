//! Throughput measurement for `discount bench sim`.

use std::time::Instant;

use discount_core::Record;
use serde::{Deserialize, Serialize};

use crate::policy::UniformPolicy;
use crate::world::{simulate_with, RunOptions};
use crate::{SimConfig, SimError};

/// What a benchmark run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub users: usize,
    pub days: u32,
    pub seed: u64,
    pub customer_days: u64,
    pub visits: u64,
    pub orders: u64,
    /// Records produced (each serialised to JSON, as a file sink would).
    pub records: u64,
    pub json_bytes: u64,
    pub seconds: f64,
    pub customer_days_per_sec: f64,
    pub records_per_sec: f64,
    /// Peak resident memory of the process (Linux only), bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// Simulates `users` customers for `days` days with the default configuration and a uniform 10%
/// policy, serialising every record to JSON (and discarding it), and reports the throughput.
pub fn bench(users: usize, days: u32, seed: u64) -> Result<BenchReport, SimError> {
    let config = SimConfig {
        users,
        days,
        seed,
        ..SimConfig::default()
    };
    let mut records = 0u64;
    let mut bytes = 0u64;
    let mut sink = |r: Record| {
        records += 1;
        bytes += r.to_json().len() as u64 + 1;
    };
    let started = Instant::now();
    let out = simulate_with(
        &config,
        &mut UniformPolicy { percent: 10.0 },
        &mut sink,
        RunOptions {
            customer_truth: false,
            decision_truth: false,
        },
    )?;
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    let s = out.summary;
    Ok(BenchReport {
        users,
        days,
        seed,
        customer_days: s.customer_days,
        visits: s.visits,
        orders: s.orders,
        records,
        json_bytes: bytes,
        seconds,
        customer_days_per_sec: s.customer_days as f64 / seconds,
        records_per_sec: records as f64 / seconds,
        peak_rss_bytes: peak_rss(),
    })
}

/// Peak resident set size from `/proc/self/status` (`VmHWM`), where available.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
