//! `discount bench profiles`: what one customer's profile state costs. The states of the
//! synthetic shop's customers (the histories `bench serve` stores) are folded event by event, as
//! the service folds arriving events, and held in one map, as its cache holds them; the report
//! gives the memory a state takes there (the allocator's bytes in use, and resident memory), its
//! serialised size in Redis or the `profile_states` table, and the speed of folding an event and
//! of reading a profile and feature vector from a state (what a decision does), against a rebuild
//! from the history (what a decision did without the state).

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context;
use discount_core::{Event, Timestamp};
use discount_features::{profile_as_of, Catalog, FeatureSpec, ProfileState};
use serde::Serialize;

use super::synthetic_shop::{catalogue, Histories};
use crate::output::{count, print_json, Table};

/// `discount bench profiles` arguments.
#[derive(clap::Args, Debug)]
pub struct BenchProfilesArgs {
    /// Customers whose states are built and held.
    #[arg(long, default_value_t = 100_000)]
    pub customers: u64,
    /// Mean events per customer (uniform on 0 to twice this), as `bench serve --history-events`.
    #[arg(long, default_value_t = 20)]
    pub history_events: u32,
    /// Customers whose profiles are read (from their state and by a rebuild) for the speed figures.
    #[arg(long, default_value_t = 20_000)]
    pub reads: u64,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// What `discount bench profiles` measured.
#[derive(Debug, Serialize)]
pub struct ProfileStatesBench {
    pub customers: u64,
    pub events: u64,
    pub events_per_customer: f64,
    /// Events folded into their states per second (one thread).
    pub fold_events_per_second: f64,
    /// Heap bytes in use per state held in the map (glibc's allocator count: the state, its
    /// collections and strings, the map's entry and key, and the allocator's own overhead).
    pub heap_bytes_per_state: Option<f64>,
    /// Growth of resident memory per state held.
    pub rss_bytes_per_state: f64,
    /// The fixed part of a state (`size_of`), included in the figures above.
    pub inline_bytes: usize,
    /// The compact JSON of a state (what Redis and `profile_states` hold): mean and quantiles.
    pub serialised_bytes_mean: f64,
    pub serialised_bytes_p50: usize,
    pub serialised_bytes_p99: usize,
    pub serialised_bytes_max: usize,
    /// Profile and feature vector as of now, read from the state, per second (one thread).
    pub reads_from_state_per_second: f64,
    /// The same read by a rebuild from the customer's events (no state), per second.
    pub reads_by_rebuild_per_second: f64,
    /// Reads whose profile and feature vector equalled the rebuild's (of `reads`).
    pub reads_equal: u64,
    pub reads: u64,
}

/// Bytes the allocator has handed out and not had back (glibc), or `None` elsewhere.
fn heap_in_use() -> Option<f64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's counters.
        let info = unsafe { libc::mallinfo2() };
        Some((info.uordblks + info.hblkhd) as f64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

fn rss_bytes() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |pages| pages * 4096.0)
}

fn quantile(sorted: &[usize], q: f64) -> usize {
    sorted
        .get(((sorted.len().saturating_sub(1)) as f64 * q).round() as usize)
        .copied()
        .unwrap_or(0)
}

/// `discount bench profiles`.
pub fn bench(args: &BenchProfilesArgs, json: bool) -> anyhow::Result<()> {
    let mut catalog = Catalog::new();
    for item in catalogue() {
        catalog.insert(item.id, item.category);
    }
    let now = chrono::Utc::now().timestamp_micros();
    let heap_before = heap_in_use();
    let rss_before = rss_bytes();
    let mut states: HashMap<String, ProfileState> = HashMap::new();
    let (mut events, mut fold_seconds) = (0u64, 0.0f64);
    for history in Histories::new(args.customers, args.history_events, now, args.seed) {
        let Some(first) = history.first() else {
            continue;
        };
        let start = Instant::now();
        let mut state = ProfileState::new(first.user_id.clone());
        for e in &history {
            state.apply(e, &catalog).context("folding an event")?;
        }
        fold_seconds += start.elapsed().as_secs_f64();
        events += history.len() as u64;
        states.insert(first.user_id.clone(), state);
    }
    let held = states.len().max(1) as f64;
    let heap_bytes_per_state = heap_in_use()
        .zip(heap_before)
        .map(|(after, before)| (after - before).max(0.0) / held);
    let rss_bytes_per_state = (rss_bytes() - rss_before).max(0.0) / held;

    let mut sizes: Vec<usize> = Vec::with_capacity(states.len());
    for state in states.values() {
        sizes.push(state.to_json().context("serialising a state")?.len());
    }
    sizes.sort_unstable();
    let serialised_bytes_mean = sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64;

    // The same seed gives the same histories again: the first `reads` customers' are read back.
    let kept_histories: Vec<Vec<Event>> =
        Histories::new(args.customers, args.history_events, now, args.seed)
            .take(args.reads as usize)
            .collect();
    let as_of = Timestamp(now);
    let spec = FeatureSpec::base_ref();
    let start = Instant::now();
    let mut from_state = Vec::with_capacity(kept_histories.len());
    for history in &kept_histories {
        let Some(state) = history.first().and_then(|e| states.get(&e.user_id)) else {
            continue;
        };
        from_state.push(state.point_in_time(as_of).context("reading a state")?);
    }
    let state_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut rebuilt = Vec::with_capacity(kept_histories.len());
    for history in &kept_histories {
        let Some(first) = history.first() else {
            continue;
        };
        let (profile, _) = profile_as_of(&first.user_id, history, &catalog, as_of)
            .context("rebuilding a profile")?;
        let vector = spec.vector(&profile, &[]).context("a feature vector")?;
        rebuilt.push((profile, vector));
    }
    let rebuild_seconds = start.elapsed().as_secs_f64();
    let reads_equal = from_state
        .iter()
        .zip(&rebuilt)
        .filter(|(a, b)| a == b)
        .count() as u64;

    let report = ProfileStatesBench {
        customers: args.customers,
        events,
        events_per_customer: events as f64 / args.customers.max(1) as f64,
        fold_events_per_second: events as f64 / fold_seconds.max(1e-9),
        heap_bytes_per_state,
        rss_bytes_per_state,
        inline_bytes: std::mem::size_of::<ProfileState>(),
        serialised_bytes_mean,
        serialised_bytes_p50: quantile(&sizes, 0.5),
        serialised_bytes_p99: quantile(&sizes, 0.99),
        serialised_bytes_max: sizes.last().copied().unwrap_or(0),
        reads_from_state_per_second: from_state.len() as f64 / state_seconds.max(1e-9),
        reads_by_rebuild_per_second: rebuilt.len() as f64 / rebuild_seconds.max(1e-9),
        reads_equal,
        reads: from_state.len() as u64,
    };
    if json {
        return print_json(&report);
    }
    let mut table = Table::new(&["measure", "value"]);
    let mut row = |name: &str, value: String| table.row(vec![name.to_string(), value]);
    row("customers", count(report.customers));
    row("events", count(report.events));
    row(
        "events folded per second",
        count(report.fold_events_per_second as u64),
    );
    if let Some(heap) = report.heap_bytes_per_state {
        row("heap bytes per state held", format!("{heap:.0}"));
    }
    row(
        "resident bytes per state held",
        format!("{:.0}", report.rss_bytes_per_state),
    );
    row(
        "serialised bytes per state: mean / p50 / p99 / max",
        format!(
            "{:.0} / {} / {} / {}",
            report.serialised_bytes_mean,
            report.serialised_bytes_p50,
            report.serialised_bytes_p99,
            report.serialised_bytes_max
        ),
    );
    row(
        "profile + features per second: from the state / by rebuild",
        format!(
            "{} / {}",
            count(report.reads_from_state_per_second as u64),
            count(report.reads_by_rebuild_per_second as u64)
        ),
    );
    row(
        "reads equal to the rebuild",
        format!("{} of {}", report.reads_equal, report.reads),
    );
    print!("{}", table.render());
    Ok(())
}
