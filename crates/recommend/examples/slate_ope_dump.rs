//! Reads a slate log exported by `benchmarks/obp/compare_slate_obp.py`, computes the Plackett-Luce
//! propensities of both policies and the three slate estimates, and prints them as JSON.
//!
//! Usage: cargo run -p discount-recommend --example slate_ope_dump -- DIR
//!
//! DIR holds `shape.txt` ("n_slates n_items len_list"), and one value a line: `action.txt`,
//! `reward.txt` (n_slates × len_list, slate after slate, top slot first), `behaviour_logit.txt` and
//! `evaluation_logit.txt` (n_slates × n_items).

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use discount_eval::ope::slate::{
    estimate_slate_value, PlackettLuce, SlateEstimator, SlatePropensities, SlateRows,
};

fn read_column(dir: &Path, name: &str) -> anyhow::Result<Vec<f64>> {
    let path = dir.join(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(k, l)| {
            l.trim()
                .parse::<f64>()
                .with_context(|| format!("{}:{}: {l:?} is not a number", path.display(), k + 1))
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .context("usage: slate_ope_dump DIR")?;
    let dir = Path::new(&dir);
    let shape_text = std::fs::read_to_string(dir.join("shape.txt")).context("reading shape.txt")?;
    let shape: Vec<usize> = shape_text
        .split_whitespace()
        .map(|s| s.parse().with_context(|| format!("shape.txt: {s:?}")))
        .collect::<anyhow::Result<_>>()?;
    let [n_slates, n_items, len_list] = shape[..] else {
        bail!("shape.txt must hold three numbers, found {shape:?}");
    };
    let action = read_column(dir, "action.txt")?;
    let reward = read_column(dir, "reward.txt")?;
    let behaviour_logit = read_column(dir, "behaviour_logit.txt")?;
    let evaluation_logit = read_column(dir, "evaluation_logit.txt")?;
    if action.len() != n_slates * len_list || behaviour_logit.len() != n_slates * n_items {
        bail!("column lengths do not match shape.txt");
    }
    let start = Instant::now();
    let mut behaviour = SlatePropensities {
        joint: Vec::new(),
        item_position: Vec::new(),
        cascade: Vec::new(),
        ranking: f64::NAN,
    };
    let mut evaluation = behaviour.clone();
    for s in 0..n_slates {
        let ranking: Vec<usize> = action[s * len_list..(s + 1) * len_list]
            .iter()
            .map(|a| *a as usize)
            .collect();
        for (logits, out) in [
            (&behaviour_logit, &mut behaviour),
            (&evaluation_logit, &mut evaluation),
        ] {
            let p = PlackettLuce::new(&logits[s * n_items..(s + 1) * n_items])?
                .propensities(&ranking)?;
            out.joint.extend(p.joint);
            out.item_position.extend(p.item_position);
            out.cascade.extend(p.cascade);
        }
    }
    let propensity_seconds = start.elapsed().as_secs_f64();
    let rows = SlateRows::new(
        (0..n_slates)
            .flat_map(|s| std::iter::repeat_n(s, len_list))
            .collect(),
        (0..n_slates).flat_map(|_| 0..len_list).collect(),
        reward,
    )?;
    let start = Instant::now();
    let mut estimates = serde_json::Map::new();
    for estimator in SlateEstimator::ALL {
        let v = estimate_slate_value(
            estimator,
            &rows,
            estimator.pick(&behaviour),
            estimator.pick(&evaluation),
        )?;
        estimates.insert(estimator.label().into(), v.into());
    }
    let estimate_seconds = start.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "estimates": estimates,
        "behaviour": behaviour,
        "evaluation": evaluation,
        "propensity_seconds": propensity_seconds,
        "estimate_seconds": estimate_seconds,
    });
    println!("{out}");
    Ok(())
}
