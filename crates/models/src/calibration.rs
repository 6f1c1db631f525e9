//! Calibration of predicted probabilities: Platt scaling and isotonic regression (pool-adjacent-violators).
//!
//! Both maps are non-decreasing in the raw score, so calibrating a model that is monotone in discount depth
//! keeps it monotone. Fit them on rows the model was not trained on.

use discount_eval::calibration::{fit_platt, pool_adjacent_violators};
use discount_eval::numerics::sigmoid;
use serde::{Deserialize, Serialize};

use crate::propensity::metrics;
use crate::ModelError;

/// A fitted map from a raw probability to a calibrated one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Calibrator {
    /// p' = σ(a · logit(p) + b).
    Platt { a: f64, b: f64 },
    /// Piecewise-linear through (score, rate) knots, clamped outside them.
    Isotonic { scores: Vec<f64>, rates: Vec<f64> },
}

fn check(scores: &[f64], outcomes: &[f64]) -> Result<(), ModelError> {
    // Reuse the metric checks: equal lengths, binary outcomes, no NaN.
    metrics::log_loss(scores, outcomes).map(|_| ())?;
    if let Some(i) = scores.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(ModelError::Data(format!(
            "score at row {i} is {} (a probability must be in [0, 1])",
            scores[i]
        )));
    }
    Ok(())
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

impl Calibrator {
    /// Platt scaling: logistic regression of the outcome on logit(score) with Platt's smoothed targets
    /// (N₊+1)/(N₊+2) and 1/(N₋+2) against over-fitting ([`discount_eval::calibration::fit_platt`]).
    pub fn fit_platt(scores: &[f64], outcomes: &[f64]) -> Result<Self, ModelError> {
        check(scores, outcomes)?;
        let positives = outcomes.iter().sum::<f64>();
        let negatives = outcomes.len() as f64 - positives;
        let hi = (positives + 1.0) / (positives + 2.0);
        let lo = 1.0 / (negatives + 2.0);
        let n = scores.len() as f64;
        let mean_target = (positives * hi + negatives * lo) / n;
        let constant = Calibrator::Platt {
            a: 0.0,
            b: logit(mean_target),
        };
        let logits: Vec<f64> = scores.iter().map(|s| logit(*s)).collect();
        let mean_logit = logits.iter().sum::<f64>() / n;
        if logits.iter().all(|z| (z - mean_logit).abs() < 1e-9) {
            // One distinct score: only the rate can be learned.
            return Ok(constant);
        }
        let positive: Vec<bool> = outcomes.iter().map(|y| *y == 1.0).collect();
        let (a, b) = fit_platt(&logits, &positive)
            .map_err(|e| ModelError::Data(format!("Platt scaling: {e}")))?;
        // A negative slope would reverse the ranking; the map must stay non-decreasing, and the best
        // non-decreasing map is then the constant rate.
        if a < 0.0 {
            return Ok(constant);
        }
        Ok(Calibrator::Platt { a, b })
    }

    /// Isotonic regression by pool-adjacent-violators ([`discount_eval::calibration::pool_adjacent_violators`]):
    /// the non-decreasing step function of the score that is closest in squared error to the outcomes. Knots
    /// are the block means, so prediction interpolates.
    pub fn fit_isotonic(scores: &[f64], outcomes: &[f64]) -> Result<Self, ModelError> {
        check(scores, outcomes)?;
        let blocks = pool_adjacent_violators(scores, outcomes);
        Ok(Calibrator::Isotonic {
            scores: blocks.iter().map(|b| b.mean_score).collect(),
            rates: blocks.iter().map(|b| b.rate).collect(),
        })
    }

    pub fn apply(&self, score: f64) -> f64 {
        match self {
            Calibrator::Platt { a, b } => sigmoid(a * logit(score) + b),
            Calibrator::Isotonic { scores, rates } => {
                if scores.is_empty() || scores.len() != rates.len() {
                    // Not produced by `fit_isotonic`; leave the score as it is rather than panic.
                    return score;
                }
                let k = scores.partition_point(|s| *s < score);
                if k == 0 {
                    rates[0]
                } else if k == scores.len() {
                    rates[k - 1]
                } else {
                    let t = (score - scores[k - 1]) / (scores[k] - scores[k - 1]);
                    rates[k - 1] + t * (rates[k] - rates[k - 1])
                }
            }
        }
    }

    pub fn apply_all(&self, scores: &[f64]) -> Vec<f64> {
        scores.iter().map(|s| self.apply(*s)).collect()
    }

    pub fn name(&self) -> &'static str {
        match self {
            Calibrator::Platt { .. } => "platt",
            Calibrator::Isotonic { .. } => "isotonic",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pav_by_hand() {
        // Outcomes by score: 0 1 0 1 1 -> blocks {0}, {1,0} pooled to 0.5, {1,1} (equal rates pool too).
        let c = Calibrator::fit_isotonic(&[0.1, 0.2, 0.3, 0.4, 0.5], &[0.0, 1.0, 0.0, 1.0, 1.0])
            .unwrap();
        let Calibrator::Isotonic { scores, rates } = &c else {
            panic!("isotonic expected")
        };
        assert_eq!(rates, &vec![0.0, 0.5, 1.0]);
        assert!((scores[1] - 0.25).abs() < 1e-12);
        assert!((c.apply(0.25) - 0.5).abs() < 1e-12);
        assert_eq!(c.apply(0.0), 0.0);
        assert_eq!(c.apply(0.9), 1.0);
    }

    #[test]
    fn platt_fixes_overconfident_scores() {
        // True probabilities 0.1, 0.3, 0.5 reported as σ(2·logit(p)): Platt must find a = 0.5, b = 0.
        let truth = [0.1, 0.3, 0.5];
        let (mut scores, mut outcomes) = (Vec::new(), Vec::new());
        for p in truth {
            let reported = 1.0 / (1.0 + (-2.0 * logit(p)).exp());
            for i in 0..1000 {
                scores.push(reported);
                outcomes.push(f64::from((i as f64) < p * 1000.0));
            }
        }
        let c = Calibrator::fit_platt(&scores, &outcomes).unwrap();
        for p in truth {
            let reported = 1.0 / (1.0 + (-2.0 * logit(p)).exp());
            assert!(
                (c.apply(reported) - p).abs() < 0.01,
                "{p}: {}",
                c.apply(reported)
            );
        }
        // One constant score: the calibrated value is the observed rate.
        let thirty_percent: Vec<f64> = (0..100).map(|i| f64::from(i % 10 < 3)).collect();
        let flat = Calibrator::fit_platt(&[0.9; 100], &thirty_percent).unwrap();
        assert!((flat.apply(0.9) - 0.3).abs() < 0.02, "{}", flat.apply(0.9));
        assert!(Calibrator::fit_platt(&[0.5], &[2.0]).is_err());
    }
}
