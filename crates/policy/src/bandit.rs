//! Per-offer linear models and the exploration rules that choose among offers with a known
//! probability.
//!
//! Each rung has a ridge regression (the disjoint model) of three targets on the feature vector:
//! the profit of the decision (paid revenue minus cost of goods), the discount spent, and whether
//! the customer ordered. Its inverse Gram matrix is kept up to date by Sherman-Morrison, so a joined
//! outcome updates a model in `O(d^2)` and the uncertainty `x' A^-1 x` that LinUCB and Thompson
//! sampling need is exact. The shared model is the same regression over `[x, depth * x, one-hot]`
//! (depth = the rung's discount share), which pools what every rung teaches about the others.

use discount_eval::stats::normal_cdf;
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;

/// Targets of each regression.
pub const PROFIT: usize = 0;
pub const SPEND: usize = 1;
pub const CONVERSION: usize = 2;
pub const TARGETS: usize = 3;

/// A ridge regression of [`TARGETS`] targets on `d` features, updated one row at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ridge {
    pub dim: usize,
    /// Row-major `A^-1`, `A = ridge * I + sum x x'`.
    pub a_inv: Vec<f64>,
    /// `sum y_t x` per target.
    pub b: Vec<Vec<f64>>,
    /// `A^-1 b` per target.
    pub theta: Vec<Vec<f64>>,
    /// Rows seen.
    pub n: u64,
    /// Running sum of squared profit residuals (before the update), for the noise scale.
    pub sq_residual: f64,
}

impl Ridge {
    pub fn new(dim: usize, ridge: f64) -> Self {
        let mut a_inv = vec![0.0; dim * dim];
        for i in 0..dim {
            a_inv[i * dim + i] = 1.0 / ridge;
        }
        Self {
            dim,
            a_inv,
            b: vec![vec![0.0; dim]; TARGETS],
            theta: vec![vec![0.0; dim]; TARGETS],
            n: 0,
            sq_residual: 0.0,
        }
    }

    /// Prediction of target `t`.
    #[inline]
    pub fn predict(&self, t: usize, x: &[f64]) -> f64 {
        dot(&self.theta[t], x)
    }

    /// `x' A^-1 x`.
    pub fn uncertainty(&self, x: &[f64]) -> f64 {
        let d = self.dim;
        let mut s = 0.0;
        for i in 0..d {
            let row = &self.a_inv[i * d..(i + 1) * d];
            s += x[i] * dot(row, x);
        }
        s.max(0.0)
    }

    /// Residual standard deviation of the profit target (1 before any data).
    pub fn noise(&self) -> f64 {
        if self.n < 10 {
            1.0
        } else {
            (self.sq_residual / self.n as f64).sqrt().max(1e-9)
        }
    }

    /// Adds one row with targets `y` and weight `w` (weights > 1 count the row several times).
    pub fn update(&mut self, x: &[f64], y: &[f64; TARGETS], w: f64) {
        let d = self.dim;
        let r = y[PROFIT] - self.predict(PROFIT, x);
        self.sq_residual += r * r;
        let mut u = vec![0.0; d];
        for (i, ui) in u.iter_mut().enumerate() {
            *ui = dot(&self.a_inv[i * d..(i + 1) * d], x);
        }
        let denom = 1.0 / w + dot(x, &u);
        if denom > 0.0 {
            for i in 0..d {
                let ui = u[i] / denom;
                let row = &mut self.a_inv[i * d..(i + 1) * d];
                for (a, uj) in row.iter_mut().zip(&u) {
                    *a -= ui * uj;
                }
            }
        }
        for (t, yt) in y.iter().enumerate() {
            for (b, xi) in self.b[t].iter_mut().zip(x) {
                *b += w * yt * xi;
            }
        }
        for t in 0..TARGETS {
            for i in 0..d {
                self.theta[t][i] = dot(&self.a_inv[i * d..(i + 1) * d], &self.b[t]);
            }
        }
        self.n += 1;
    }
}

#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// How offers are explored.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Exploration {
    /// The best rung with probability `1 - epsilon`, a uniformly random eligible rung otherwise.
    EpsilonGreedy { epsilon: f64 },
    /// The rung with the highest upper confidence bound `value + alpha * sd`; `epsilon` of
    /// uniform exploration on top keeps every propensity positive.
    LinUcb { alpha: f64, epsilon: f64 },
    /// Each rung with the probability that its sampled value (normal, sd scaled by `scale`) is
    /// the highest, computed exactly by quadrature and then drawn; `epsilon` as above.
    LinTs { scale: f64, epsilon: f64 },
}

impl Default for Exploration {
    fn default() -> Self {
        Exploration::EpsilonGreedy { epsilon: 0.05 }
    }
}

impl Exploration {
    pub fn validate(&self) -> Result<(), PolicyError> {
        let (eps, other) = match *self {
            Exploration::EpsilonGreedy { epsilon } => (epsilon, None),
            Exploration::LinUcb { alpha, epsilon } => (epsilon, Some(("alpha", alpha))),
            Exploration::LinTs { scale, epsilon } => (epsilon, Some(("scale", scale))),
        };
        if !(0.0..1.0).contains(&eps) {
            return Err(PolicyError::Hyper {
                name: "exploration.epsilon",
                value: eps,
                rule: "must be in [0, 1)",
            });
        }
        if let Some((name, v)) = other {
            if !(v.is_finite() && v >= 0.0) {
                return Err(PolicyError::Hyper {
                    name: if name == "alpha" {
                        "exploration.alpha"
                    } else {
                        "exploration.scale"
                    },
                    value: v,
                    rule: "must be a finite number >= 0",
                });
            }
        }
        Ok(())
    }

    pub fn epsilon(&self) -> f64 {
        match *self {
            Exploration::EpsilonGreedy { epsilon }
            | Exploration::LinUcb { epsilon, .. }
            | Exploration::LinTs { epsilon, .. } => epsilon,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Exploration::EpsilonGreedy { .. } => "epsilon_greedy",
            Exploration::LinUcb { .. } => "lin_ucb",
            Exploration::LinTs { .. } => "lin_ts",
        }
    }

    /// Fills `probs` with the probability of each rung given `value` (mean) and `sd` (standard
    /// deviation of the value) of the `n` eligible rungs; returns the index of the greedy rung.
    pub fn probabilities(&self, value: &[f64], sd: &[f64], probs: &mut [f64]) -> usize {
        let n = value.len();
        let argmax = |v: &dyn Fn(usize) -> f64| {
            let mut best = 0;
            for i in 1..n {
                if v(i) > v(best) {
                    best = i;
                }
            }
            best
        };
        let eps = self.epsilon();
        let greedy = argmax(&|i| value[i]);
        match *self {
            Exploration::EpsilonGreedy { .. } => {
                probs.iter_mut().for_each(|p| *p = eps / n as f64);
                probs[greedy] += 1.0 - eps;
            }
            Exploration::LinUcb { alpha, .. } => {
                let top = argmax(&|i| value[i] + alpha * sd[i]);
                probs.iter_mut().for_each(|p| *p = eps / n as f64);
                probs[top] += 1.0 - eps;
            }
            Exploration::LinTs { scale, .. } => {
                max_probabilities(value, sd, scale, probs);
                for p in probs.iter_mut() {
                    *p = (1.0 - eps) * *p + eps / n as f64;
                }
            }
        }
        greedy
    }
}

/// Probability that each independent normal `N(mean[i], (scale * sd[i])^2)` is the largest, by
/// midpoint quadrature over each one's density; normalised to sum to 1.
pub fn max_probabilities(mean: &[f64], sd: &[f64], scale: f64, out: &mut [f64]) {
    const NODES: usize = 40;
    const SPAN: f64 = 6.0;
    let n = mean.len();
    let s: Vec<f64> = sd.iter().map(|v| (v * scale).max(1e-12)).collect();
    let mut total = 0.0;
    for k in 0..n {
        let mut p = 0.0;
        for q in 0..NODES {
            let z = -SPAN + (q as f64 + 0.5) * (2.0 * SPAN / NODES as f64);
            let w = (-0.5 * z * z).exp();
            let t = mean[k] + s[k] * z;
            let mut prod = 1.0;
            for j in 0..n {
                if j != k {
                    prod *= normal_cdf((t - mean[j]) / s[j]);
                }
            }
            p += w * prod;
        }
        out[k] = p;
        total += p;
    }
    if total > 0.0 {
        out.iter_mut().for_each(|p| *p /= total);
    } else {
        out.iter_mut().for_each(|p| *p = 1.0 / n as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ridge_recovers_a_linear_function() {
        let mut r = Ridge::new(3, 1.0);
        let mut s = 1u64;
        for _ in 0..2000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let a = (s >> 11) as f64 / (1u64 << 53) as f64;
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let b = (s >> 11) as f64 / (1u64 << 53) as f64;
            let x = [1.0, a, b];
            let y = [2.0 + 3.0 * a - b, a, 0.5];
            r.update(&x, &y, 1.0);
        }
        assert!((r.theta[PROFIT][0] - 2.0).abs() < 0.05, "{:?}", r.theta);
        assert!((r.theta[PROFIT][1] - 3.0).abs() < 0.05);
        assert!((r.theta[PROFIT][2] + 1.0).abs() < 0.05);
        assert!(r.uncertainty(&[1.0, 0.5, 0.5]) < 0.01);
    }

    #[test]
    fn probabilities_sum_to_one() {
        let value = [1.0, 2.0, 1.5, -1.0];
        let sd = [0.5, 1.0, 0.2, 3.0];
        for e in [
            Exploration::EpsilonGreedy { epsilon: 0.1 },
            Exploration::LinUcb {
                alpha: 1.0,
                epsilon: 0.1,
            },
            Exploration::LinTs {
                scale: 1.0,
                epsilon: 0.1,
            },
        ] {
            let mut p = [0.0; 4];
            e.probabilities(&value, &sd, &mut p);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{e:?} {p:?}");
            assert!(p.iter().all(|&x| x >= 0.1 / 4.0 - 1e-12));
        }
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
    }

    #[test]
    fn thompson_probabilities_match_sampling() {
        // Monte Carlo check of the quadrature with a simple LCG Box-Muller.
        let mean = [0.0, 0.5, 0.2];
        let sd = [1.0, 0.5, 2.0];
        let mut p = [0.0; 3];
        max_probabilities(&mean, &sd, 1.0, &mut p);
        let mut counts = [0usize; 3];
        let mut s = 7u64;
        let mut uni = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let n = 200_000;
        for _ in 0..n {
            let mut best = 0;
            let mut best_v = f64::NEG_INFINITY;
            for k in 0..3 {
                let z = (-2.0 * uni().ln()).sqrt() * (std::f64::consts::TAU * uni()).cos();
                let v = mean[k] + sd[k] * z;
                if v > best_v {
                    best_v = v;
                    best = k;
                }
            }
            counts[best] += 1;
        }
        for k in 0..3 {
            let f = counts[k] as f64 / n as f64;
            assert!((f - p[k]).abs() < 0.01, "{k}: {f} vs {}", p[k]);
        }
    }
}
