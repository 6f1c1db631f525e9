//! Calibration of predicted probabilities: reliability bins, expected calibration error and Brier score.
//!
//! Predictions are grouped into `n_bins` equal-width bins on [0, 1] (a prediction of exactly 1 goes into the last
//! bin). For each bin: the mean prediction (confidence) and the observed frequency of the outcome. The expected
//! calibration error is ECE = Σ_b (n_b / n) |observed_b − predicted_b|; a perfectly calibrated model has ECE 0
//! and its reliability curve lies on the diagonal.
//!
//! And the two ways to fix a score, fitted here once for the propensity models and the fraud score: Platt
//! scaling ([`fit_platt`], a logistic fit on the score) and isotonic regression ([`pool_adjacent_violators`]).

use crate::error::{EvalError, Result};
use crate::logistic::{fit_logistic, LogisticError, LogisticRow, NewtonSettings};

/// Platt scaling: the `(a, b)` of `p = σ(a · s + b)` that maximise the likelihood of the labels, with
/// Platt's smoothed targets `(N₊ + 1) / (N₊ + 2)` and `1 / (N₋ + 2)` so that separable scores still give
/// finite parameters. `inputs` is whatever the caller maps (a raw score, or the logit of a probability).
pub fn fit_platt(inputs: &[f64], positive: &[bool]) -> Result<(f64, f64), LogisticError> {
    let positives = positive.iter().filter(|p| **p).count() as f64;
    let negatives = positive.len() as f64 - positives;
    let (hi, lo) = (
        (positives + 1.0) / (positives + 2.0),
        1.0 / (negatives + 2.0),
    );
    // Platt's start: slope 0 and the smoothed base rate.
    let start = vec![0.0, ((positives + 1.0) / (negatives + 1.0)).ln()];
    let settings = NewtonSettings {
        max_iterations: 100,
        tolerance: 1e-10,
    };
    let n = inputs.len().min(positive.len());
    let fit = fit_logistic(n, start, &[1e-12, 1e-12], settings, |i, x| {
        x[0] = inputs[i];
        x[1] = 1.0;
        LogisticRow::plain(if positive[i] { hi } else { lo })
    })?;
    Ok((fit.coefficients[0], fit.coefficients[1]))
}

/// One block of the isotonic fit: rows pooled because their order of scores contradicted their rates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsotonicBlock {
    pub mean_score: f64,
    pub max_score: f64,
    /// Mean outcome of the block: the fitted value.
    pub rate: f64,
    pub count: f64,
}

/// Isotonic regression by pool-adjacent-violators: the non-decreasing step function of the score that is
/// closest in squared error to the outcomes, as blocks in ascending score. Tied scores start in one block,
/// so the fit does not depend on the order of rows with equal scores.
pub fn pool_adjacent_violators(scores: &[f64], outcomes: &[f64]) -> Vec<IsotonicBlock> {
    let n = scores.len().min(outcomes.len());
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // (sum of scores, sum of outcomes, count, max score)
    let mut blocks: Vec<(f64, f64, f64, f64)> = Vec::new();
    let mut last_score = f64::NAN;
    for &i in &order {
        match blocks.last_mut() {
            Some(b) if scores[i] == last_score => {
                b.0 += scores[i];
                b.1 += outcomes[i];
                b.2 += 1.0;
            }
            _ => blocks.push((scores[i], outcomes[i], 1.0, scores[i])),
        }
        last_score = scores[i];
        while blocks.len() >= 2 {
            let k = blocks.len();
            let (prev, cur) = (blocks[k - 2], blocks[k - 1]);
            if prev.1 / prev.2 < cur.1 / cur.2 {
                break;
            }
            blocks[k - 2] = (prev.0 + cur.0, prev.1 + cur.1, prev.2 + cur.2, cur.3);
            blocks.pop();
        }
    }
    blocks
        .into_iter()
        .map(
            |(sum_scores, sum_outcomes, count, max_score)| IsotonicBlock {
                mean_score: sum_scores / count,
                max_score,
                rate: sum_outcomes / count,
                count,
            },
        )
        .collect()
}

/// One reliability bin.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub count: u64,
    /// Mean prediction in the bin (NaN when empty).
    pub mean_predicted: f64,
    /// Mean outcome in the bin (NaN when empty).
    pub mean_observed: f64,
}

/// Reliability diagram, ECE and Brier score.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CalibrationReport {
    pub bins: Vec<ReliabilityBin>,
    pub expected_calibration_error: f64,
    /// Mean squared error of the probabilities.
    pub brier_score: f64,
    pub n: u64,
}

/// Computes the reliability bins, ECE and Brier score. Predictions must be in [0, 1], outcomes in [0, 1]
/// (usually 0/1).
pub fn calibration(
    predicted: &[f64],
    observed: &[f64],
    n_bins: usize,
) -> Result<CalibrationReport> {
    if predicted.len() != observed.len() {
        return Err(EvalError::shape(
            "observed outcomes",
            predicted.len(),
            observed.len(),
        ));
    }
    if predicted.is_empty() {
        return Err(EvalError::Insufficient(
            "no predictions to calibrate".into(),
        ));
    }
    if n_bins == 0 {
        return Err(EvalError::setting("n_bins", "must be at least 1"));
    }
    let mut sums = vec![(0u64, 0.0, 0.0); n_bins];
    let mut brier = 0.0;
    for (i, (&p, &y)) in predicted.iter().zip(observed).enumerate() {
        if !(0.0..=1.0).contains(&p) {
            return Err(EvalError::invalid(
                "predicted",
                i,
                p,
                "a probability must be in [0, 1]",
            ));
        }
        if !(0.0..=1.0).contains(&y) {
            return Err(EvalError::invalid(
                "observed",
                i,
                y,
                "an outcome must be in [0, 1]",
            ));
        }
        let bin = ((p * n_bins as f64) as usize).min(n_bins - 1);
        sums[bin].0 += 1;
        sums[bin].1 += p;
        sums[bin].2 += y;
        brier += (p - y) * (p - y);
    }
    let n = predicted.len() as f64;
    let mut ece = 0.0;
    let bins = sums
        .iter()
        .enumerate()
        .map(|(b, &(count, sum_p, sum_y))| {
            let (mean_predicted, mean_observed) = if count > 0 {
                (sum_p / count as f64, sum_y / count as f64)
            } else {
                (f64::NAN, f64::NAN)
            };
            if count > 0 {
                ece += count as f64 / n * (mean_observed - mean_predicted).abs();
            }
            ReliabilityBin {
                lower: b as f64 / n_bins as f64,
                upper: (b + 1) as f64 / n_bins as f64,
                count,
                mean_predicted,
                mean_observed,
            }
        })
        .collect();
    Ok(CalibrationReport {
        bins,
        expected_calibration_error: ece,
        brier_score: brier / n,
        n: predicted.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pav_pools_violators_and_ties_whatever_their_row_order() {
        // 1 at score 1, then the tie at 2 (1 and 0) falls below it and pools (2/3), then 0 at 3 pools
        // too (2/4); the 1 at score 4 stands alone.
        let blocks =
            pool_adjacent_violators(&[1.0, 2.0, 2.0, 3.0, 4.0], &[1.0, 1.0, 0.0, 0.0, 1.0]);
        let rates: Vec<f64> = blocks.iter().map(|b| b.rate).collect();
        assert_eq!(rates, vec![0.5, 1.0]);
        assert_eq!(blocks[0].count, 4.0);
        assert_eq!(blocks[0].max_score, 3.0);
        assert!((blocks[0].mean_score - 2.0).abs() < 1e-12);
        // The order of the tied rows does not matter.
        let swapped =
            pool_adjacent_violators(&[1.0, 2.0, 2.0, 3.0, 4.0], &[1.0, 0.0, 1.0, 0.0, 1.0]);
        assert_eq!(blocks, swapped);
    }

    #[test]
    fn platt_recovers_a_known_curve_and_stays_finite_on_separable_scores() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let scores: Vec<f64> = (0..20_000).map(|_| rng.gen_range(-2.0..2.0)).collect();
        let labels: Vec<bool> = scores
            .iter()
            .map(|s| rng.gen::<f64>() < crate::numerics::sigmoid(1.5 * s - 0.5))
            .collect();
        let (a, b) = fit_platt(&scores, &labels).unwrap();
        assert!((a - 1.5).abs() < 0.1 && (b + 0.5).abs() < 0.1, "{a} {b}");
        let (a, b) = fit_platt(&[0.0, 1.0, 2.0, 3.0], &[false, false, true, true]).unwrap();
        assert!(a.is_finite() && b.is_finite() && a > 0.0);
    }

    #[test]
    fn ece_by_hand() {
        // Two bins. Bin 0: predictions 0.2, 0.4 (mean 0.3), outcomes 0, 1 (mean 0.5) -> gap 0.2.
        // Bin 1: predictions 0.8, 1.0 (mean 0.9), outcomes 1, 1 -> gap 0.1. ECE = 0.5*0.2 + 0.5*0.1 = 0.15.
        let r = calibration(&[0.2, 0.4, 0.8, 1.0], &[0.0, 1.0, 1.0, 1.0], 2).unwrap();
        assert!((r.expected_calibration_error - 0.15).abs() < 1e-15);
        assert_eq!(r.bins[1].count, 2);
        // Brier = (0.04 + 0.36 + 0.04 + 0) / 4 = 0.11.
        assert!((r.brier_score - 0.11).abs() < 1e-15);
    }
}
