//! L2-regularised logistic regression fitted by Newton's method on standardised features.
//! The fit is the shared solver of `discount_eval::logistic`; this module standardises the rows
//! and keeps the model.

// Dense linear algebra reads clearer with explicit indices.
#![allow(clippy::needless_range_loop)]

use discount_eval::logistic::{fit_logistic, LogisticRow, NewtonSettings};
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
        let prior = pos as f64 / n;
        let mut start = vec![0.0; d + 1];
        start[0] = (prior / (1.0 - prior)).ln();
        // The L2 penalty is per row, on the standardised weights only; a tiny ridge keeps the
        // intercept's system solvable.
        let lambda = config.l2 * n;
        let mut penalty = vec![lambda + 1e-9; d + 1];
        penalty[0] = 1e-9;
        let settings = NewtonSettings {
            max_iterations: config.max_iterations,
            tolerance: 1e-8,
        };
        let fit = fit_logistic(rows.len(), start, &penalty, settings, |i, z| {
            z[0] = 1.0;
            for j in 0..d {
                z[j + 1] = (rows[i][j] - mean[j]) / scale[j];
            }
            LogisticRow::plain(f64::from(u8::from(labels[i])))
        })
        .map_err(|e| FraudError::Fit {
            model: "logistic regression",
            reason: e.to_string(),
        })?;
        Ok(Self {
            mean,
            scale,
            weights: fit.coefficients,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use discount_eval::numerics::sigmoid;
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
