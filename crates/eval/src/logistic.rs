//! Penalised, weighted logistic regression by Newton's method with a backtracking line search: the one
//! solver behind the propensity model (`discount-models`), the fraud score, Platt calibration
//! ([`crate::calibration::fit_platt`]) and the OPE reward model ([`crate::ope`]).
//!
//! The caller describes the design row by row (it standardises, adds an intercept column or an offset
//! as its model needs), so no copy of the data is made. Each step solves the dense Newton system with
//! [`crate::numerics::solve_spd`]; the feature counts here are small (a few dozen to a few hundred).
//! Zero entries of a row are skipped when the Hessian is accumulated, which makes one-hot designs cheap.

use crate::numerics::{sigmoid, softplus, solve_spd};

/// What one row of the design contributes besides its features.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogisticRow {
    /// The outcome, in [0, 1] (soft targets such as Platt's are allowed).
    pub target: f64,
    /// The row's weight in the log-likelihood.
    pub weight: f64,
    /// A fixed term added to the row's linear predictor.
    pub offset: f64,
}

impl LogisticRow {
    /// An unweighted row without offset.
    pub fn plain(target: f64) -> Self {
        Self {
            target,
            weight: 1.0,
            offset: 0.0,
        }
    }
}

/// When Newton's method stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewtonSettings {
    pub max_iterations: usize,
    /// Converged when no coefficient moves by more than this in a step.
    pub tolerance: f64,
}

/// A fitted coefficient vector.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticFit {
    pub coefficients: Vec<f64>,
    /// Newton steps taken.
    pub iterations: usize,
    /// Whether the last step was below the tolerance (otherwise the iteration limit stopped it).
    pub converged: bool,
}

/// Why a fit failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LogisticError {
    #[error("the Newton system is not positive definite at step {step} (raise the L2 penalty)")]
    Singular { step: usize },
    #[error("the coefficients diverged at step {step} (raise the L2 penalty)")]
    Diverged { step: usize },
    #[error("the penalty has {penalties} entries for {coefficients} coefficients")]
    Shape {
        penalties: usize,
        coefficients: usize,
    },
}

/// Minimises `Σ wᵢ [softplus(ηᵢ) − yᵢ ηᵢ] + ½ Σⱼ penaltyⱼ βⱼ²` with `ηᵢ = offsetᵢ + xᵢ · β`, starting from
/// `start`. `row(i, x)` writes row `i`'s features into `x` (length `start.len()`) and returns its target,
/// weight and offset; it is called once per row for every pass over the data.
pub fn fit_logistic<F>(
    n_rows: usize,
    start: Vec<f64>,
    penalty: &[f64],
    settings: NewtonSettings,
    mut row: F,
) -> Result<LogisticFit, LogisticError>
where
    F: FnMut(usize, &mut [f64]) -> LogisticRow,
{
    let d = start.len();
    if penalty.len() != d {
        return Err(LogisticError::Shape {
            penalties: penalty.len(),
            coefficients: d,
        });
    }
    let mut x = vec![0.0; d];
    let mut beta = start;
    let mut current = objective(n_rows, &beta, penalty, &mut x, &mut row);
    let mut gradient = vec![0.0; d];
    let mut hessian = vec![0.0; d * d];
    for step in 1..=settings.max_iterations {
        // Gradient and Hessian of the objective (lower triangle first), penalty included.
        for ((g, b), p) in gradient.iter_mut().zip(&beta).zip(penalty) {
            *g = p * b;
        }
        hessian.fill(0.0);
        for (j, p) in penalty.iter().enumerate() {
            hessian[j * d + j] = *p;
        }
        for i in 0..n_rows {
            let r = row(i, &mut x);
            let mu = sigmoid(r.offset + dot(&x, &beta));
            let residual = r.weight * (mu - r.target);
            let curvature = r.weight * (mu * (1.0 - mu)).max(1e-12);
            for j in 0..d {
                if x[j] == 0.0 {
                    continue;
                }
                gradient[j] += residual * x[j];
                let cj = curvature * x[j];
                for (h, xk) in hessian[j * d..j * d + j + 1].iter_mut().zip(&x[..=j]) {
                    *h += cj * xk;
                }
            }
        }
        for j in 0..d {
            for k in 0..j {
                hessian[k * d + j] = hessian[j * d + k];
            }
        }
        let direction = solve_spd(&hessian, &gradient).ok_or(LogisticError::Singular { step })?;
        // Backtracking (Armijo): near-separable classes and large log-odds make full steps overshoot.
        let slope = -dot(&gradient, &direction);
        let mut t = 1.0;
        let mut candidate = vec![0.0; d];
        loop {
            for ((c, b), s) in candidate.iter_mut().zip(&beta).zip(&direction) {
                *c = b - t * s;
            }
            let value = objective(n_rows, &candidate, penalty, &mut x, &mut row);
            if value <= current + 1e-4 * t * slope || t < 1e-8 {
                current = value;
                break;
            }
            t /= 2.0;
        }
        beta = candidate;
        if !beta.iter().all(|b| b.is_finite()) {
            return Err(LogisticError::Diverged { step });
        }
        let largest = direction.iter().fold(0.0f64, |m, s| m.max((t * s).abs()));
        if largest < settings.tolerance {
            return Ok(LogisticFit {
                coefficients: beta,
                iterations: step,
                converged: true,
            });
        }
    }
    Ok(LogisticFit {
        coefficients: beta,
        iterations: settings.max_iterations,
        converged: false,
    })
}

/// The penalised negative log-likelihood at `beta`.
fn objective<F>(n_rows: usize, beta: &[f64], penalty: &[f64], x: &mut [f64], row: &mut F) -> f64
where
    F: FnMut(usize, &mut [f64]) -> LogisticRow,
{
    let mut total = 0.0;
    for i in 0..n_rows {
        let r = row(i, x);
        let eta = r.offset + dot(x, beta);
        total += r.weight * (softplus(eta) - r.target * eta);
    }
    total
        + 0.5
            * beta
                .iter()
                .zip(penalty)
                .map(|(b, p)| p * b * b)
                .sum::<f64>()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> NewtonSettings {
        NewtonSettings {
            max_iterations: 100,
            tolerance: 1e-10,
        }
    }

    #[test]
    fn the_gradient_vanishes_at_the_fit() {
        // Rows (1, x) with overlapping classes; at the optimum Σ (μ − y) x = −λ β.
        let xs = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0];
        let ys = [0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
        let penalty = [0.0, 0.5];
        let fit = fit_logistic(8, vec![0.0, 0.0], &penalty, settings(), |i, x| {
            x[0] = 1.0;
            x[1] = xs[i];
            LogisticRow::plain(ys[i])
        })
        .unwrap();
        assert!(fit.converged);
        let b = &fit.coefficients;
        let mut g = [0.0, penalty[1] * b[1]];
        for i in 0..8 {
            let e = sigmoid(b[0] + b[1] * xs[i]) - ys[i];
            g[0] += e;
            g[1] += e * xs[i];
        }
        assert!(g[0].abs() < 1e-9 && g[1].abs() < 1e-9, "{g:?}");
        assert!(b[1] > 0.0);
    }

    #[test]
    fn weights_count_as_repeated_rows_and_offsets_shift_the_intercept() {
        let xs = [0.0, 1.0, 2.0];
        let ys = [0.0, 1.0, 1.0];
        let weighted = fit_logistic(3, vec![0.0; 2], &[0.0, 0.1], settings(), |i, x| {
            x[0] = 1.0;
            x[1] = xs[i];
            LogisticRow {
                target: ys[i],
                weight: [2.0, 1.0, 3.0][i],
                offset: 0.0,
            }
        })
        .unwrap();
        let rows = [0usize, 0, 1, 2, 2, 2];
        let repeated = fit_logistic(6, vec![0.0; 2], &[0.0, 0.1], settings(), |i, x| {
            x[0] = 1.0;
            x[1] = xs[rows[i]];
            LogisticRow::plain(ys[rows[i]])
        })
        .unwrap();
        for (a, b) in weighted.coefficients.iter().zip(&repeated.coefficients) {
            assert!((a - b).abs() < 1e-8);
        }
        let shifted = fit_logistic(6, vec![0.0; 2], &[0.0, 0.1], settings(), |i, x| {
            x[0] = 1.0;
            x[1] = xs[rows[i]];
            LogisticRow {
                offset: 0.7,
                ..LogisticRow::plain(ys[rows[i]])
            }
        })
        .unwrap();
        assert!((shifted.coefficients[0] + 0.7 - repeated.coefficients[0]).abs() < 1e-8);
        assert!((shifted.coefficients[1] - repeated.coefficients[1]).abs() < 1e-8);
    }

    #[test]
    fn separable_data_stays_finite_under_a_penalty_and_a_wrong_penalty_is_refused() {
        let fit = fit_logistic(4, vec![0.0; 2], &[1e-9, 1e-3], settings(), |i, x| {
            x[0] = 1.0;
            x[1] = i as f64;
            LogisticRow::plain(if i >= 2 { 1.0 } else { 0.0 })
        })
        .unwrap();
        assert!(fit.coefficients.iter().all(|b| b.is_finite()));
        assert!(fit.coefficients[1] > 1.0);
        let wrong = fit_logistic(4, vec![0.0; 2], &[1.0], settings(), |_, _| {
            LogisticRow::plain(0.0)
        });
        assert!(matches!(wrong, Err(LogisticError::Shape { .. })));
    }
}
