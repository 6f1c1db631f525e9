//! Calibration of predicted probabilities: Platt scaling and isotonic regression (pool-adjacent-violators).
//!
//! Both maps are non-decreasing in the raw score, so calibrating a model that is monotone in discount depth
//! keeps it monotone. Fit them on rows the model was not trained on.

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
    /// Platt scaling: logistic regression of the outcome on logit(score), fitted by Newton's method with
    /// Platt's smoothed targets (N₊+1)/(N₊+2) and 1/(N₋+2) against over-fitting.
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
        let (mut a, mut b) = (1.0, 0.0);
        for _ in 0..100 {
            let (mut g_a, mut g_b, mut h_aa, mut h_ab, mut h_bb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (z, y) in logits.iter().zip(outcomes) {
                let z = *z;
                let t = if *y == 1.0 { hi } else { lo };
                let p = 1.0 / (1.0 + (-(a * z + b)).exp());
                let r = t - p;
                let w = (p * (1.0 - p)).max(1e-12);
                g_a += r * z;
                g_b += r;
                h_aa += w * z * z;
                h_ab += w * z;
                h_bb += w;
            }
            h_aa += 1e-12;
            h_bb += 1e-12;
            let det = h_aa * h_bb - h_ab * h_ab;
            if det <= 0.0 {
                break;
            }
            let da = (h_bb * g_a - h_ab * g_b) / det;
            let db = (h_aa * g_b - h_ab * g_a) / det;
            a += da;
            b += db;
            if da.abs().max(db.abs()) < 1e-10 {
                break;
            }
        }
        if !(a.is_finite() && b.is_finite()) {
            return Err(ModelError::Data("Platt scaling did not converge".into()));
        }
        // A negative slope would reverse the ranking; the map must stay non-decreasing, and the best
        // non-decreasing map is then the constant rate.
        if a < 0.0 {
            return Ok(constant);
        }
        Ok(Calibrator::Platt { a, b })
    }

    /// Isotonic regression by pool-adjacent-violators: the non-decreasing step function of the score that is
    /// closest in squared error to the outcomes. Knots are the block means, so prediction interpolates.
    pub fn fit_isotonic(scores: &[f64], outcomes: &[f64]) -> Result<Self, ModelError> {
        check(scores, outcomes)?;
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
        // Blocks of (sum of scores, sum of outcomes, count); tied scores start in one block.
        let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
        let mut last_score = f64::NAN;
        for &i in &order {
            if scores[i] == last_score {
                if let Some(b) = blocks.last_mut() {
                    b.0 += scores[i];
                    b.1 += outcomes[i];
                    b.2 += 1.0;
                }
            } else {
                blocks.push((scores[i], outcomes[i], 1.0));
            }
            last_score = scores[i];
            while blocks.len() >= 2 {
                let n = blocks.len();
                let (prev, cur) = (blocks[n - 2], blocks[n - 1]);
                if prev.1 / prev.2 >= cur.1 / cur.2 {
                    blocks[n - 2] = (prev.0 + cur.0, prev.1 + cur.1, prev.2 + cur.2);
                    blocks.pop();
                } else {
                    break;
                }
            }
        }
        Ok(Calibrator::Isotonic {
            scores: blocks.iter().map(|b| b.0 / b.2).collect(),
            rates: blocks.iter().map(|b| b.1 / b.2).collect(),
        })
    }

    pub fn apply(&self, score: f64) -> f64 {
        match self {
            Calibrator::Platt { a, b } => 1.0 / (1.0 + (-(a * logit(score) + b)).exp()),
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
