//! ALS settings on a MovieLens implicit split: precision@10 (both definitions) and NDCG@10 of the workspace's
//! implicit ALS for every combination of factors, regularisation, confidence α and iterations, one JSON line
//! each. `benchmarks/cf/als_grid_implicit.py` runs implicit 0.7.3 over the same grid on the same file, so that
//! both libraries can be tuned on a validation split and compared on the reported one.
//!
//! Usage: cargo run --release -p discount-recommend --features train --example als_grid -- SPLIT.csv
//!        [FACTORS,.. REGULARISATIONS,.. ALPHAS,.. ITERATIONS,..]

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{bail, Context};
use discount_models::cf::{evaluate_top_k, AlsParams, ImplicitAls, Rating};

const K: usize = 10;

/// (users, items, train, test) from a `user_raw,item_raw,set` file, ids indexed in order of appearance.
fn read_split(path: &str) -> anyhow::Result<(usize, usize, Vec<Rating>, Vec<Rating>)> {
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("opening {path}"))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| format!("{path}:1: no column `{name}`"))
    };
    let (cu, ci, cs) = (column("user_raw")?, column("item_raw")?, column("set")?);
    let (mut users, mut items) = (HashMap::new(), HashMap::new());
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (k, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{path}:{}: malformed row", k + 2))?;
        let field = |c: usize| record.get(c).unwrap_or("").trim().to_string();
        let n = users.len() as u32;
        let user = *users.entry(field(cu)).or_insert(n);
        let n = items.len() as u32;
        let item = *items.entry(field(ci)).or_insert(n);
        let r = Rating {
            user,
            item,
            value: 1.0,
        };
        match field(cs).as_str() {
            "train" => train.push(r),
            "test" => test.push(r),
            other => bail!("{path}:{}: set = {other:?}: must be train or test", k + 2),
        }
    }
    Ok((users.len(), items.len(), train, test))
}

fn list<T>(arg: Option<&String>, default: &[T]) -> anyhow::Result<Vec<T>>
where
    T: std::str::FromStr + Clone,
    T::Err: std::fmt::Display,
{
    match arg {
        None => Ok(default.to_vec()),
        Some(text) => text
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<T>()
                    .map_err(|e| anyhow::anyhow!("{v:?}: {e}"))
            })
            .collect(),
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        bail!("usage: als_grid SPLIT.csv [FACTORS REGULARISATIONS ALPHAS ITERATIONS]");
    };
    let (users, items, train, test) = read_split(path)?;
    let factors: Vec<usize> = list(args.get(1), &[32])?;
    let regs: Vec<f64> = list(args.get(2), &[30.0])?;
    let alphas: Vec<f64> = list(args.get(3), &[5.0])?;
    let iterations: Vec<usize> = list(args.get(4), &[15])?;
    let mut per_user = vec![0usize; users];
    for r in &test {
        per_user[r.user as usize] += 1;
    }
    let ideal: usize = per_user.iter().map(|&n| n.min(K)).sum();
    for &f in &factors {
        for &regularisation in &regs {
            for &alpha in &alphas {
                for &its in &iterations {
                    let params = AlsParams {
                        factors: f,
                        iterations: its,
                        regularisation,
                        alpha,
                        seed: 7,
                    };
                    let start = Instant::now();
                    let model = ImplicitAls::fit(users, items, &train, &params)?;
                    let fit_seconds = start.elapsed().as_secs_f64();
                    let report = evaluate_top_k(&model, users, items, &train, &test, K)?;
                    let hits = (report.precision * (K * report.users) as f64).round();
                    println!(
                        "{}",
                        serde_json::json!({
                            "factors": f,
                            "regularisation": regularisation,
                            "alpha": alpha,
                            "iterations": its,
                            "precision_at_10": report.precision,
                            "precision_at_10_implicit": hits / ideal as f64,
                            "ndcg_at_10": report.ndcg,
                            "fit_seconds": fit_seconds,
                        })
                    );
                }
            }
        }
    }
    Ok(())
}
