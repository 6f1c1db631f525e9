//! Reads OPE inputs exported by `benchmarks/obp/compare_obp.py` and prints our estimates as JSON, so the script
//! can compare them with Open Bandit Pipeline's on identical inputs.
//!
//! `cargo run --release -p discount-eval --example ope_dump -- DIR`
//!
//! DIR holds `shape.txt` (`n_rounds n_actions n_positions`), `estimators.txt` (lines `key spec`, e.g.
//! `switch-dr switch-dr:100`), and one number per line in `action.txt`, `position.txt`, `reward.txt`,
//! `pscore.txt`, `action_dist.txt` and `estimated_rewards.txt` (the last two flattened in
//! `[round][action][position]` order).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use discount_eval::ope::{BanditLog, Estimator, OpeInputs, RoundTensor};

fn numbers(dir: &Path, name: &str) -> anyhow::Result<Vec<f64>> {
    let text =
        std::fs::read_to_string(dir.join(name)).with_context(|| format!("reading {name}"))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            l.trim()
                .parse::<f64>()
                .with_context(|| format!("{name}, line {}", i + 1))
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).context("usage: ope_dump DIR")?;
    let dir = Path::new(&dir);
    let shape: Vec<usize> = std::fs::read_to_string(dir.join("shape.txt"))?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let [n_rounds, n_actions, n_positions] = shape[..] else {
        anyhow::bail!("shape.txt must hold three numbers");
    };
    let as_u32 = |v: Vec<f64>| v.into_iter().map(|x| x as u32).collect::<Vec<u32>>();
    let log = BanditLog::new(
        n_actions,
        n_positions,
        as_u32(numbers(dir, "action.txt")?),
        Some(as_u32(numbers(dir, "position.txt")?)),
        numbers(dir, "reward.txt")?,
        numbers(dir, "pscore.txt")?,
        None,
    )?;
    let action_dist = RoundTensor::per_round(
        n_rounds,
        n_actions,
        n_positions,
        numbers(dir, "action_dist.txt")?,
    )?;
    let rewards = RoundTensor::per_round(
        n_rounds,
        n_actions,
        n_positions,
        numbers(dir, "estimated_rewards.txt")?,
    )?;
    let start = Instant::now();
    let inputs = OpeInputs::prepare(&log, &action_dist, Some(&rewards))?;
    let prepare_seconds = start.elapsed().as_secs_f64();
    let mut estimates = BTreeMap::new();
    let mut seconds = BTreeMap::new();
    for line in std::fs::read_to_string(dir.join("estimators.txt"))?.lines() {
        let Some((key, spec)) = line.split_once(' ') else {
            continue;
        };
        let estimator: Estimator = spec.parse()?;
        let start = Instant::now();
        let value = estimator.estimate(&inputs)?;
        seconds.insert(key.to_string(), start.elapsed().as_secs_f64());
        estimates.insert(key.to_string(), value);
    }
    println!(
        "{}",
        serde_json::json!({ "estimates": estimates, "seconds": seconds, "prepare_seconds": prepare_seconds })
    );
    Ok(())
}
