//! Turning a raw score into a probability: Platt scaling (a logistic fit on the score) and
//! isotonic regression (pool-adjacent-violators), both fitted on labelled scores.

use discount_eval::calibration::{fit_platt, pool_adjacent_violators};
use discount_eval::numerics::sigmoid;
use serde::{Deserialize, Serialize};

use crate::FraudError;

/// `p = 1 / (1 + exp(-(a * s + b)))`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

impl Platt {
    /// Fits `a, b` on the labels with Platt's smoothed targets ((n+ + 1) / (n+ + 2) and
    /// 1 / (n- + 2)), so that separable data gives finite parameters
    /// ([`discount_eval::calibration::fit_platt`]).
    pub fn fit(scores: &[f64], labels: &[bool]) -> Result<Self, FraudError> {
        check(scores, labels, "Platt calibration")?;
        let (a, b) = fit_platt(scores, labels).map_err(|e| FraudError::Fit {
            model: "Platt calibration",
            reason: e.to_string(),
        })?;
        Ok(Self { a, b })
    }

    pub fn probability(&self, score: f64) -> f64 {
        sigmoid(self.a * score + self.b)
    }
}

/// A non-decreasing step function from score to probability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Isotonic {
    /// Upper score of each block, ascending.
    pub thresholds: Vec<f64>,
    pub values: Vec<f64>,
}

impl Isotonic {
    /// Pool-adjacent-violators on the labels
    /// ([`discount_eval::calibration::pool_adjacent_violators`]); each block's upper score is its threshold.
    pub fn fit(scores: &[f64], labels: &[bool]) -> Result<Self, FraudError> {
        check(scores, labels, "isotonic calibration")?;
        let outcomes: Vec<f64> = labels.iter().map(|l| f64::from(u8::from(*l))).collect();
        let blocks = pool_adjacent_violators(scores, &outcomes);
        Ok(Self {
            thresholds: blocks.iter().map(|b| b.max_score).collect(),
            values: blocks.iter().map(|b| b.rate).collect(),
        })
    }

    pub fn probability(&self, score: f64) -> f64 {
        let k = self.thresholds.partition_point(|&t| t < score);
        self.values[k.min(self.values.len() - 1)]
    }
}

fn check(scores: &[f64], labels: &[bool], model: &'static str) -> Result<(), FraudError> {
    if scores.len() != labels.len() || scores.is_empty() {
        return Err(FraudError::Fit {
            model,
            reason: format!("{} scores for {} labels", scores.len(), labels.len()),
        });
    }
    if let Some(s) = scores.iter().find(|s| !s.is_finite()) {
        return Err(FraudError::Fit {
            model,
            reason: format!("score {s} is not finite"),
        });
    }
    Ok(())
}

/// Which calibration maps the model's score to a probability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Calibration {
    Platt(Platt),
    Isotonic(Isotonic),
}

impl Calibration {
    pub fn probability(&self, score: f64) -> f64 {
        match self {
            Calibration::Platt(p) => p.probability(score),
            Calibration::Isotonic(i) => i.probability(score),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Scores whose true probability is sigmoid(3 s - 1); the raw score is badly calibrated.
    fn data() -> (Vec<f64>, Vec<bool>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let scores: Vec<f64> = (0..20_000).map(|_| rng.gen_range(-2.0..2.0)).collect();
        let labels = scores
            .iter()
            .map(|&s| rng.gen::<f64>() < sigmoid(3.0 * s - 1.0))
            .collect();
        (scores, labels)
    }

    #[test]
    fn platt_recovers_the_true_curve() {
        let (s, l) = data();
        let p = Platt::fit(&s, &l).unwrap();
        assert!((p.a - 3.0).abs() < 0.2, "{p:?}");
        assert!((p.b + 1.0).abs() < 0.15, "{p:?}");
    }

    #[test]
    fn isotonic_is_monotone_and_matches_bin_rates() {
        let (s, l) = data();
        let iso = Isotonic::fit(&s, &l).unwrap();
        assert!(iso.values.windows(2).all(|w| w[0] <= w[1]));
        for x in [-1.5, 0.0, 1.0] {
            let truth = sigmoid(3.0 * x - 1.0);
            assert!(
                (iso.probability(x) - truth).abs() < 0.1,
                "{x}: {} vs {truth}",
                iso.probability(x)
            );
        }
    }

    #[test]
    fn calibration_refuses_bad_input() {
        assert!(Platt::fit(&[0.1, f64::NAN], &[true, false]).is_err());
        assert!(Isotonic::fit(&[0.1], &[true, false]).is_err());
    }
}
