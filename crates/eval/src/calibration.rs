//! Calibration of predicted probabilities: reliability bins, expected calibration error and Brier score.
//!
//! Predictions are grouped into `n_bins` equal-width bins on [0, 1] (a prediction of exactly 1 goes into the last
//! bin). For each bin: the mean prediction (confidence) and the observed frequency of the outcome. The expected
//! calibration error is ECE = Σ_b (n_b / n) |observed_b − predicted_b|; a perfectly calibrated model has ECE 0
//! and its reliability curve lies on the diagonal.

use crate::error::{EvalError, Result};

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
