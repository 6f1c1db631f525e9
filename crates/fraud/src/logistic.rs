//! L2-regularised logistic regression fitted by Newton's method on standardised features.
//! The feature count is small (a few dozen), so each Newton step solves a dense system directly
//! (the shared Cholesky solve of `discount_eval::numerics`).

// Dense linear algebra reads clearer with explicit indices.
#![allow(clippy::needless_range_loop)]

use discount_eval::numerics::{sigmoid, softplus, solve_spd};
use serde::{Deserialize, Serialize};

use crate::FraudError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticConfig {
    /// L2 penalty on the standardised weights (not the intercept), per row.
    pub l2: f64,
    pub max_iterations: usize,
}

impl Default for LogisticConfig {
    fn default() -> Self {
        Self {
            l2: 1e-3,
            max_iterations: 50,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    /// Intercept first, then one weight per standardised feature.
    pub weights: Vec<f64>,
}

impl Logistic {
    pub fn fit(
        rows: &[&[f64]],
        labels: &[bool],
        config: &LogisticConfig,
    ) -> Result<Self, FraudError> {
        if !(config.l2.is_finite() && config.l2 >= 0.0) {
            return Err(FraudError::config(
                "logistic.l2",
                config.l2,
                "must be a non-negative number",
            ));
        }
        if config.max_iterations == 0 {
            return Err(FraudError::config(
                "logistic.max_iterations",
                0,
                "must be at least 1",
            ));
        }
        if rows.len() != labels.len() || rows.is_empty() {
            return Err(FraudError::Fit {
                model: "logistic regression",
                reason: format!("{} rows for {} labels", rows.len(), labels.len()),
            });
        }
        let pos = labels.iter().filter(|l| **l).count();
        if pos == 0 || pos == labels.len() {
            return Err(FraudError::Fit {
                model: "logistic regression",
                reason: "the labels hold one class only".into(),
            });
        }
        let d = rows[0].len();
        let n = rows.len() as f64;
        let mut mean = vec![0.0; d];
        for r in rows {
            for (m, x) in mean.iter_mut().zip(r.iter()) {
                *m += x / n;
            }
        }
        let mut scale = vec![0.0; d];
        for r in rows {
            for j in 0..d {
                scale[j] += (r[j] - mean[j]).powi(2) / n;
            }
        }
        for s in &mut scale {
            *s = if *s > 1e-12 { s.sqrt() } else { 1.0 };
        }
        let mut model = Self {
            mean,
            scale,
            weights: vec![0.0; d + 1],
        };
        let prior = pos as f64 / n;
        model.weights[0] = (prior / (1.0 - prior)).ln();
        let lambda = config.l2 * n;
        let mut z = vec![0.0; d + 1];
        for _ in 0..config.max_iterations {
            let mut grad = vec![0.0; d + 1];
            let mut hess = vec![vec![0.0; d + 1]; d + 1];
            for (r, &l) in rows.iter().zip(labels) {
                z[0] = 1.0;
                for j in 0..d {
                    z[j + 1] = (r[j] - model.mean[j]) / model.scale[j];
                }
                let p = sigmoid(dot(&model.weights, &z));
                let w = (p * (1.0 - p)).max(1e-10);
                let e = p - f64::from(u8::from(l));
                for i in 0..=d {
                    grad[i] += e * z[i];
                    let wz = w * z[i];
                    for k in i..=d {
                        hess[i][k] += wz * z[k];
                    }
                }
            }
            for i in 0..=d {
                for k in 0..i {
                    hess[i][k] = hess[k][i];
                }
                if i > 0 {
                    grad[i] += lambda * model.weights[i];
                    hess[i][i] += lambda;
                }
                hess[i][i] += 1e-9;
            }
            let flat: Vec<f64> = hess.into_iter().flatten().collect();
            let Some(step) = solve_spd(&flat, &grad) else {
                break;
            };
            // Backtracking: near-separable classes make full Newton steps overshoot.
            let before = model.penalised_loss(rows, labels, lambda);
            let slope: f64 = -grad.iter().zip(&step).map(|(g, s)| g * s).sum::<f64>();
            let mut t = 1.0;
            let old = model.weights.clone();
            loop {
                for ((w, o), s) in model.weights.iter_mut().zip(&old).zip(&step) {
                    *w = o - t * s;
                }
                let after = model.penalised_loss(rows, labels, lambda);
                if after <= before + 1e-4 * t * slope || t < 1e-8 {
                    break;
                }
                t /= 2.0;
            }
            if !model.weights.iter().all(|w| w.is_finite()) {
                return Err(FraudError::Fit {
                    model: "logistic regression",
                    reason: "the weights diverged; raise logistic.l2".into(),
                });
            }
            let change: f64 = step.iter().map(|s| (t * s).abs()).sum();
            if change < 1e-8 {
                break;
            }
        }
        Ok(model)
    }

    /// Mean log loss plus the L2 penalty (times n), the objective of the fit.
    fn penalised_loss(&self, rows: &[&[f64]], labels: &[bool], lambda: f64) -> f64 {
        let mut total = 0.0;
        for (r, &l) in rows.iter().zip(labels) {
            let z = self.logit(r);
            total += softplus(z) - if l { z } else { 0.0 };
        }
        total + 0.5 * lambda * self.weights[1..].iter().map(|w| w * w).sum::<f64>()
    }

    /// The linear score (log-odds) of a row.
    pub fn logit(&self, row: &[f64]) -> f64 {
        let mut s = self.weights[0];
        for j in 0..self.mean.len() {
            s += self.weights[j + 1] * (row[j] - self.mean[j]) / self.scale[j];
        }
        s
    }

    /// Each feature's contribution to the log-odds relative to the average row.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        (0..self.mean.len())
            .map(|j| self.weights[j + 1] * (row[j] - self.mean[j]) / self.scale[j])
            .collect()
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn recovers_known_weights() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let xs: Vec<[f64; 2]> = (0..20_000)
            .map(|_| [rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)])
            .collect();
        let labels: Vec<bool> = xs
            .iter()
            .map(|x| rng.gen::<f64>() < sigmoid(2.0 * x[0] - 1.0 * x[1] - 0.5))
            .collect();
        let rows: Vec<&[f64]> = xs.iter().map(|x| x.as_slice()).collect();
        let m = Logistic::fit(
            &rows,
            &labels,
            &LogisticConfig {
                l2: 0.0,
                max_iterations: 50,
            },
        )
        .unwrap();
        // Back to the raw scale: weight / scale.
        let w0 = m.weights[1] / m.scale[0];
        let w1 = m.weights[2] / m.scale[1];
        assert!(
            (w0 - 2.0).abs() < 0.15 && (w1 + 1.0).abs() < 0.15,
            "{w0} {w1}"
        );
        assert!(Logistic::fit(&rows, &vec![true; rows.len()], &LogisticConfig::default()).is_err());
        assert!(Logistic::fit(
            &rows,
            &labels,
            &LogisticConfig {
                l2: -1.0,
                max_iterations: 5
            }
        )
        .is_err());
    }
}
