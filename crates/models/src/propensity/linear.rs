//! L2-penalised logistic regression fitted by Newton's method (IRLS), and ridge regression for revenue.
//!
//! Features are standardised inside the model so one penalty fits all columns; the intercept is not
//! penalised. Pairwise interactions are products of raw columns appended before standardising.

use serde::{Deserialize, Serialize};

use discount_eval::logistic::{fit_logistic, LogisticRow, NewtonSettings};

use super::linalg::{add_outer_lower, solve_spd, symmetrise};
use super::matrix::{check_training, fitted, sigmoid, Matrix, Standardiser};
use super::Learner;
use crate::ModelError;

/// Products of column pairs appended to the features.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interactions {
    pub pairs: Vec<(usize, usize)>,
}

impl Interactions {
    /// Every column with column `with` (e.g. discount depth with every customer feature).
    pub fn all_with(with: usize, cols: usize) -> Self {
        Interactions {
            pairs: (0..cols)
                .filter(|&j| j != with)
                .map(|j| (with, j))
                .collect(),
        }
    }

    fn check(&self, cols: usize) -> Result<(), ModelError> {
        if let Some(&(a, b)) = self.pairs.iter().find(|(a, b)| *a >= cols || *b >= cols) {
            return Err(ModelError::InvalidHyper {
                name: "interactions",
                value: format!("({a}, {b})"),
                reason: format!("the data has {cols} columns"),
            });
        }
        Ok(())
    }

    fn expand(&self, x: &Matrix) -> Result<Matrix, ModelError> {
        if self.pairs.is_empty() {
            return Ok(x.clone());
        }
        let mut extra = Vec::with_capacity(x.rows() * self.pairs.len());
        for i in 0..x.rows() {
            let row = x.row(i);
            extra.extend(self.pairs.iter().map(|&(a, b)| row[a] * row[b]));
        }
        x.hstack(&Matrix::new(x.rows(), self.pairs.len(), extra)?)
    }

    /// The expanded training features, standardised, with the standardiser fitted on them.
    fn fit_standardised(&self, x: &Matrix) -> Result<(Standardiser, Matrix), ModelError> {
        self.check(x.cols())?;
        let expanded = self.expand(x)?;
        let standardiser = Standardiser::fit(&expanded);
        let z = standardiser.transform(&expanded);
        Ok((standardiser, z))
    }

    /// `intercept + coefficientsᵀ z(x)` of each row of `x`, for a model fitted by
    /// [`Self::fit_standardised`]; `model` names it in the error when it was never fitted.
    fn linear_predictor(
        &self,
        standardiser: Option<&Standardiser>,
        model: &str,
        intercept: f64,
        coefficients: &[f64],
        x: &Matrix,
    ) -> Result<Vec<f64>, ModelError> {
        let standardiser = fitted(standardiser, model)?;
        self.check(x.cols())?;
        let expanded = self.expand(x)?;
        standardiser.check_width(&expanded)?;
        let mut z = vec![0.0; expanded.cols()];
        Ok((0..expanded.rows())
            .map(|i| {
                standardiser.transform_row(expanded.row(i), &mut z);
                intercept + coefficients.iter().zip(&z).map(|(b, x)| b * x).sum::<f64>()
            })
            .collect())
    }
}

/// Hyper-parameters of [`LogisticRegression`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticConfig {
    /// L2 penalty on the standardised coefficients (sum-of-losses scale, as scikit-learn's `1/C`).
    pub l2: f64,
    pub max_iter: usize,
    /// Stop when the largest Newton step on a coefficient is below this.
    pub tol: f64,
    pub interactions: Interactions,
}

impl Default for LogisticConfig {
    fn default() -> Self {
        LogisticConfig {
            l2: 1.0,
            max_iter: 50,
            tol: 1e-8,
            interactions: Interactions::default(),
        }
    }
}

impl LogisticConfig {
    fn validate(&self) -> Result<(), ModelError> {
        if !(self.l2.is_finite() && self.l2 > 0.0) {
            return Err(ModelError::InvalidHyper {
                name: "l2",
                value: self.l2.to_string(),
                reason: "must be finite and positive".into(),
            });
        }
        if self.max_iter == 0 {
            return Err(ModelError::InvalidHyper {
                name: "max_iter",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(ModelError::InvalidHyper {
                name: "tol",
                value: self.tol.to_string(),
                reason: "must be finite and positive".into(),
            });
        }
        Ok(())
    }
}

/// P(y = 1 | x) = σ(b + wᵀ z(x)) with z the standardised (and interaction-expanded) features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    pub config: LogisticConfig,
    pub standardiser: Option<Standardiser>,
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    /// Newton iterations the last fit took.
    pub iterations: usize,
}

impl LogisticRegression {
    pub fn new(config: LogisticConfig) -> Result<Self, ModelError> {
        config.validate()?;
        Ok(LogisticRegression {
            config,
            standardiser: None,
            intercept: 0.0,
            coefficients: Vec::new(),
            iterations: 0,
        })
    }
}

/// The penalised weighted log-likelihood maximised by the shared Newton solver
/// ([`discount_eval::logistic::fit_logistic`]); `z` is standardised and gets a leading 1 column here.
fn newton_logistic(
    z: &Matrix,
    y: &[f64],
    w: Option<&[f64]>,
    l2: f64,
    max_iter: usize,
    tol: f64,
) -> Result<(Vec<f64>, usize), ModelError> {
    let p = z.cols() + 1;
    // Start the intercept at the base rate so the first step is already sensible.
    let total_w: f64 = w.map_or(y.len() as f64, |w| w.iter().sum());
    let pos_w: f64 = match w {
        Some(w) => y.iter().zip(w).map(|(y, w)| y * w).sum(),
        None => y.iter().sum(),
    };
    let rate = (pos_w / total_w).clamp(1e-6, 1.0 - 1e-6);
    let mut start = vec![0.0; p];
    start[0] = (rate / (1.0 - rate)).ln();
    let mut penalty = vec![l2; p];
    penalty[0] = 1e-9;
    let settings = NewtonSettings {
        max_iterations: max_iter,
        tolerance: tol,
    };
    let fit = fit_logistic(z.rows(), start, &penalty, settings, |i, v| {
        v[0] = 1.0;
        v[1..].copy_from_slice(z.row(i));
        LogisticRow {
            weight: w.map_or(1.0, |w| w[i]),
            ..LogisticRow::plain(y[i])
        }
    })
    .map_err(|e| ModelError::Data(format!("logistic regression: {e}")))?;
    Ok((fit.coefficients, fit.iterations))
}

impl Learner for LogisticRegression {
    fn fit(&mut self, x: &Matrix, y: &[f64], weights: Option<&[f64]>) -> Result<(), ModelError> {
        check_training(x, y, weights, true)?;
        let (standardiser, z) = self.config.interactions.fit_standardised(x)?;
        let (beta, iterations) = newton_logistic(
            &z,
            y,
            weights,
            self.config.l2,
            self.config.max_iter,
            self.config.tol,
        )?;
        self.intercept = beta[0];
        self.coefficients = beta[1..].to_vec();
        self.standardiser = Some(standardiser);
        self.iterations = iterations;
        Ok(())
    }

    fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        let eta = self.config.interactions.linear_predictor(
            self.standardiser.as_ref(),
            "logistic regression",
            self.intercept,
            &self.coefficients,
            x,
        )?;
        Ok(eta.into_iter().map(sigmoid).collect())
    }

    fn name(&self) -> &'static str {
        "logistic"
    }
}

/// Hyper-parameters of [`RidgeRegression`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RidgeConfig {
    /// L2 penalty on the standardised coefficients (sum-of-squares scale, as scikit-learn's `alpha`).
    pub l2: f64,
    pub interactions: Interactions,
}

impl Default for RidgeConfig {
    fn default() -> Self {
        RidgeConfig {
            l2: 1.0,
            interactions: Interactions::default(),
        }
    }
}

/// E[y | x] = b + wᵀ z(x), least squares with an L2 penalty: the regression base for revenue outcomes
/// and for the second stage of the X- and DR-learners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RidgeRegression {
    pub config: RidgeConfig,
    pub standardiser: Option<Standardiser>,
    pub intercept: f64,
    pub coefficients: Vec<f64>,
}

impl RidgeRegression {
    pub fn new(config: RidgeConfig) -> Result<Self, ModelError> {
        if !(config.l2.is_finite() && config.l2 >= 0.0) {
            return Err(ModelError::InvalidHyper {
                name: "l2",
                value: config.l2.to_string(),
                reason: "must be finite and non-negative".into(),
            });
        }
        Ok(RidgeRegression {
            config,
            standardiser: None,
            intercept: 0.0,
            coefficients: Vec::new(),
        })
    }
}

impl Learner for RidgeRegression {
    fn fit(&mut self, x: &Matrix, y: &[f64], weights: Option<&[f64]>) -> Result<(), ModelError> {
        check_training(x, y, weights, false)?;
        let (standardiser, z) = self.config.interactions.fit_standardised(x)?;
        let p = z.cols() + 1;
        let mut gram = vec![0.0; p * p];
        let mut rhs = vec![0.0; p];
        let mut v = vec![0.0; p];
        for i in 0..z.rows() {
            v[0] = 1.0;
            v[1..].copy_from_slice(z.row(i));
            let wi = weights.map_or(1.0, |w| w[i]);
            add_outer_lower(&mut gram, &v, wi);
            for (r, x) in rhs.iter_mut().zip(&v) {
                *r += wi * y[i] * x;
            }
        }
        for j in 1..p {
            gram[j * p + j] += self.config.l2.max(1e-9);
        }
        gram[0] += 1e-9;
        symmetrise(&mut gram, p);
        let beta = solve_spd(&gram, &rhs)?;
        self.intercept = beta[0];
        self.coefficients = beta[1..].to_vec();
        self.standardiser = Some(standardiser);
        Ok(())
    }

    fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        self.config.interactions.linear_predictor(
            self.standardiser.as_ref(),
            "ridge regression",
            self.intercept,
            &self.coefficients,
            x,
        )
    }

    fn name(&self) -> &'static str {
        "ridge"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ridge_recovers_a_line() {
        let xs: Vec<f64> = (0..50).map(|i| i as f64 / 10.0).collect();
        let y: Vec<f64> = xs.iter().map(|x| 3.0 + 2.0 * x).collect();
        let x = Matrix::new(50, 1, xs).unwrap();
        let mut model = RidgeRegression::new(RidgeConfig {
            l2: 0.0,
            ..Default::default()
        })
        .unwrap();
        model.fit(&x, &y, None).unwrap();
        let p = model
            .predict(&Matrix::new(1, 1, vec![10.0]).unwrap())
            .unwrap();
        assert!((p[0] - 23.0).abs() < 1e-6, "{}", p[0]);
    }

    #[test]
    fn logistic_learns_the_sign_and_rejects_bad_penalty() {
        let xs: Vec<f64> = (0..200).map(|i| (i % 20) as f64).collect();
        let y: Vec<f64> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| f64::from(*x + (i % 3) as f64 > 10.0))
            .collect();
        let x = Matrix::new(200, 1, xs).unwrap();
        let mut model = LogisticRegression::new(LogisticConfig::default()).unwrap();
        model.fit(&x, &y, None).unwrap();
        let p = model
            .predict(&Matrix::new(2, 1, vec![2.0, 18.0]).unwrap())
            .unwrap();
        assert!(p[0] < 0.1 && p[1] > 0.9, "{p:?}");
        assert!(LogisticRegression::new(LogisticConfig {
            l2: -1.0,
            ..Default::default()
        })
        .is_err());
    }
}
