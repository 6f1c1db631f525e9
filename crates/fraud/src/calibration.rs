//! Turning a raw score into a probability: Platt scaling (a logistic fit on the score) and
//! isotonic regression (pool-adjacent-violators), both fitted on labelled scores.

use discount_eval::numerics::{sigmoid, softplus};
use serde::{Deserialize, Serialize};

use crate::FraudError;

/// `p = 1 / (1 + exp(-(a * s + b)))`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

impl Platt {
    /// Fits `a, b` by Newton's method on the log loss, with Platt's smoothed targets
    /// ((n+ + 1) / (n+ + 2) and 1 / (n- + 2)) so that separable data gives finite parameters.
    pub fn fit(scores: &[f64], labels: &[bool]) -> Result<Self, FraudError> {
        check(scores, labels, "Platt calibration")?;
        let pos = labels.iter().filter(|l| **l).count() as f64;
        let neg = labels.len() as f64 - pos;
        let hi = (pos + 1.0) / (pos + 2.0);
        let lo = 1.0 / (neg + 2.0);
        // Platt's start and Newton steps with backtracking (Lin, Lin & Weng 2007), which stays
        // stable when the scores are large log-odds.
        let (mut a, mut b) = (0.0, ((pos + 1.0) / (neg + 1.0)).ln());
        let loss = |a: f64, b: f64| -> f64 {
            scores
                .iter()
                .zip(labels)
                .map(|(&s, &l)| {
                    let t = if l { hi } else { lo };
                    let z = a * s + b;
                    softplus(z) - t * z
                })
                .sum()
        };
        let mut current = loss(a, b);
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-12, 0.0, 1e-12);
            for (&s, &l) in scores.iter().zip(labels) {
                let t = if l { hi } else { lo };
                let p = sigmoid(a * s + b);
                let w = (p * (1.0 - p)).max(1e-12);
                ga += (p - t) * s;
                gb += p - t;
                haa += w * s * s;
                hab += w * s;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-300 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            let mut step = 1.0;
            let mut improved = false;
            while step > 1e-10 {
                let (na, nb) = (a - step * da, b - step * db);
                let l = loss(na, nb);
                if l <= current + 1e-4 * step * (ga * -da + gb * -db) {
                    a = na;
                    b = nb;
                    current = l;
                    improved = true;
                    break;
                }
                step /= 2.0;
            }
            if !improved || (da.abs() + db.abs()) * step < 1e-10 {
                break;
            }
        }
        if !(a.is_finite() && b.is_finite()) {
            return Err(FraudError::Fit {
                model: "Platt calibration",
                reason: "did not converge".into(),
            });
        }
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
    pub fn fit(scores: &[f64], labels: &[bool]) -> Result<Self, FraudError> {
        check(scores, labels, "isotonic calibration")?;
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&i, &j| scores[i].total_cmp(&scores[j]));
        // Blocks of (sum of labels, count, max score); merge while a block is below its left one.
        let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
        for i in order {
            blocks.push((f64::from(u8::from(labels[i])), 1.0, scores[i]));
            while blocks.len() >= 2 {
                let (s2, n2, m2) = blocks[blocks.len() - 1];
                let (s1, n1, _) = blocks[blocks.len() - 2];
                if s1 / n1 < s2 / n2 {
                    break;
                }
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (s1 + s2, n1 + n2, m2);
            }
        }
        Ok(Self {
            thresholds: blocks.iter().map(|b| b.2).collect(),
            values: blocks.iter().map(|b| b.0 / b.1).collect(),
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
