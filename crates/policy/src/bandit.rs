//! Per-offer linear models and the exploration rules that choose among offers with a known
//! probability.
//!
//! Each rung has a ridge regression (the disjoint model) of three targets on the feature vector:
//! the profit of the decision (paid revenue minus cost of goods), the discount spent, and whether
//! the customer ordered. Its inverse Gram matrix is kept up to date by Sherman-Morrison, so a joined
//! outcome updates a model in `O(d^2)` and the uncertainty `x' A^-1 x` that LinUCB and Thompson
//! sampling need is exact. The shared model is the same regression over `[x, depth * x, one-hot]`
//! (depth = the rung's discount share), which pools what every rung teaches about the others.
//!
//! Speed (`discount bench bandit`): the coefficients `A^-1 b` follow each update in `O(d)` per
//! target (`theta += A^-1 x (y - x' theta) / (1/w + x' A^-1 x)`, algebraically the same as
//! solving again); the Sherman-Morrison step keeps `A^-1` exactly symmetric, so the uncertainty
//! reads only its upper triangle (half the work); dot products run in eight independent lanes
//! so that the compiler vectorises them. Thompson's choice probabilities drop the rungs that
//! cannot be the largest (8.3 standard deviations apart: below 1e-16) and use a tabulated normal
//! distribution function (cubic Hermite interpolation, error below 1e-9) instead of `erfc`.

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
        let x = &x[..self.dim];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked on the line above), all the function needs.
            return unsafe { symmetric_form_avx2(&self.a_inv, x) };
        }
        symmetric_form(&self.a_inv, x)
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
        let residual: [f64; TARGETS] = std::array::from_fn(|t| y[t] - self.predict(t, x));
        self.sq_residual += residual[PROFIT] * residual[PROFIT];
        const STACK: usize = 256;
        let mut on_stack = [0.0; STACK];
        let mut on_heap;
        let u: &mut [f64] = if d <= STACK {
            &mut on_stack[..d]
        } else {
            on_heap = vec![0.0; d];
            &mut on_heap
        };
        for (i, ui) in u.iter_mut().enumerate() {
            *ui = dot(&self.a_inv[i * d..(i + 1) * d], x);
        }
        let denom = 1.0 / w + dot(x, u);
        for (t, yt) in y.iter().enumerate() {
            for (b, xi) in self.b[t].iter_mut().zip(x) {
                *b += w * yt * xi;
            }
        }
        if denom > 0.0 && denom.is_finite() {
            let inv = 1.0 / denom;
            // `inv * (u_i * u_j)` is the same number for (i, j) and (j, i): A^-1 stays exactly
            // symmetric, which `uncertainty` relies on.
            for i in 0..d {
                let ui = u[i];
                let row = &mut self.a_inv[i * d..(i + 1) * d];
                for (a, uj) in row.iter_mut().zip(u.iter()) {
                    *a -= inv * (ui * uj);
                }
            }
            for (t, r) in residual.iter().enumerate() {
                let step = r * inv;
                for (th, ui) in self.theta[t].iter_mut().zip(u.iter()) {
                    *th += step * ui;
                }
            }
        } else {
            // A numerically singular step leaves A^-1 as it was: solve again from b.
            for t in 0..TARGETS {
                for i in 0..d {
                    self.theta[t][i] = dot(&self.a_inv[i * d..(i + 1) * d], &self.b[t]);
                }
            }
        }
        self.n += 1;
    }
}

/// `x' A x` for a symmetric `A` (row-major, `x.len()` square): `v = sum_j x_j A[j, ..]` (rows
/// are columns, by symmetry), then `x' v`. Adding whole rows into `v` has no reduction inside
/// the loop, so it vectorises fully; zero features are skipped.
#[inline(always)]
fn symmetric_form(a: &[f64], x: &[f64]) -> f64 {
    let d = x.len();
    const STACK: usize = 256;
    let mut on_stack = [0.0; STACK];
    let mut on_heap;
    let v: &mut [f64] = if d <= STACK {
        &mut on_stack[..d]
    } else {
        on_heap = vec![0.0; d];
        &mut on_heap
    };
    for (j, &xj) in x.iter().enumerate() {
        if xj == 0.0 {
            continue;
        }
        for (vi, aji) in v.iter_mut().zip(&a[j * d..(j + 1) * d]) {
            *vi += xj * aji;
        }
    }
    dot(x, v).max(0.0)
}

/// [`symmetric_form`] compiled for AVX2: the same arithmetic in the same order (so the same
/// result), four lanes to a register instead of two.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn symmetric_form_avx2(a: &[f64], x: &[f64]) -> f64 {
    symmetric_form(a, x)
}

/// `sum a_i b_i` over the shorter of the two, in eight independent lanes (a vectorised loop,
/// and a shorter dependency chain than one running sum).
#[inline(always)]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            lanes[j] += x[j] * y[j];
        }
    }
    let mut s = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
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
/// midpoint quadrature over each one's density (40 nodes over +-6 sd); normalised to sum to 1.
///
/// A node whose running product falls below 1e-18 adds 0 (the sum of the weights is about 8).
/// A normal more than 8.3 of its and another's standard deviations below that other can be the
/// largest with probability below 1e-16: it gets 0 and leaves the others' products (where its
/// factor is 1 to the same precision). A single rung left gets 1.
pub fn max_probabilities(mean: &[f64], sd: &[f64], scale: f64, out: &mut [f64]) {
    const SEPARATED: f64 = 8.3;
    let n = mean.len();
    if n == 0 {
        return;
    }
    let nodes = quadrature_nodes();
    const STACK: usize = 16;
    let (mut s_stack, mut live_stack) = ([0.0; STACK], [0usize; STACK]);
    let (mut s_heap, mut live_heap);
    let (s, live): (&mut [f64], &mut [usize]) = if n <= STACK {
        (&mut s_stack[..n], &mut live_stack[..n])
    } else {
        s_heap = vec![0.0; n];
        live_heap = vec![0usize; n];
        (&mut s_heap, &mut live_heap)
    };
    let mut floor = f64::NEG_INFINITY;
    for k in 0..n {
        s[k] = (sd[k] * scale).max(1e-12);
        floor = floor.max(mean[k] - SEPARATED * s[k]);
    }
    let mut m = 0;
    for k in 0..n {
        out[k] = 0.0;
        if mean[k] + SEPARATED * s[k] >= floor {
            live[m] = k;
            m += 1;
        }
    }
    let live = &live[..m];
    if m == 1 {
        out[live[0]] = 1.0;
        return;
    }
    let table = normal_table();
    let mut total = 0.0;
    let mut inv_stack = [0.0; STACK];
    let mut inv_heap;
    let inv_s: &mut [f64] = if n <= STACK {
        &mut inv_stack[..n]
    } else {
        inv_heap = vec![0.0; n];
        &mut inv_heap
    };
    for &j in live {
        inv_s[j] = 1.0 / s[j];
    }
    for &k in live {
        let mut p = 0.0;
        for &(z, w) in nodes {
            let t = mean[k] + s[k] * z;
            let mut prod = w;
            for &j in live {
                if j != k {
                    prod *= table.cdf((t - mean[j]) * inv_s[j]);
                    // Below this a node adds nothing a 1e-16 relative precision would see.
                    if prod < 1e-18 {
                        prod = 0.0;
                        break;
                    }
                }
            }
            p += prod;
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

const QUADRATURE_NODES: usize = 40;
const QUADRATURE_SPAN: f64 = 6.0;

/// The midpoint nodes `z` over `[-QUADRATURE_SPAN, QUADRATURE_SPAN]` and their weights
/// `exp(-z^2 / 2)`.
fn quadrature_nodes() -> &'static [(f64, f64); QUADRATURE_NODES] {
    static NODES: std::sync::OnceLock<[(f64, f64); QUADRATURE_NODES]> = std::sync::OnceLock::new();
    NODES.get_or_init(|| {
        std::array::from_fn(|q| {
            let step = 2.0 * QUADRATURE_SPAN / QUADRATURE_NODES as f64;
            let z = -QUADRATURE_SPAN + (q as f64 + 0.5) * step;
            (z, (-0.5 * z * z).exp())
        })
    })
}

/// The standard normal distribution function tabulated on `[-LIMIT, LIMIT]` with its density,
/// read by cubic Hermite interpolation (error below 1e-9; 0 and 1 beyond, where the tail is
/// below 1e-17).
struct NormalTable {
    cdf: Vec<f64>,
    pdf: Vec<f64>,
}

impl NormalTable {
    const LIMIT: f64 = 8.5;
    /// Points per unit.
    const DENSITY: f64 = 64.0;

    fn build() -> Self {
        let points = (2.0 * Self::LIMIT * Self::DENSITY) as usize + 1;
        let at = |i: usize| -Self::LIMIT + i as f64 / Self::DENSITY;
        Self {
            cdf: (0..points).map(|i| normal_cdf(at(i))).collect(),
            pdf: (0..points)
                .map(|i| (-0.5 * at(i) * at(i)).exp() / (2.0 * std::f64::consts::PI).sqrt())
                .collect(),
        }
    }

    #[inline]
    fn cdf(&self, x: f64) -> f64 {
        let pos = (x + Self::LIMIT) * Self::DENSITY;
        if pos.is_nan() {
            return f64::NAN;
        }
        if pos <= 0.0 {
            return 0.0;
        }
        let i = pos as usize;
        if i + 1 >= self.cdf.len() {
            return 1.0;
        }
        let t = pos - i as f64;
        let h = 1.0 / Self::DENSITY;
        let (y0, y1) = (self.cdf[i], self.cdf[i + 1]);
        let (m0, m1) = (self.pdf[i] * h, self.pdf[i + 1] * h);
        let t2 = t * t;
        let t3 = t2 * t;
        (2.0 * t3 - 3.0 * t2 + 1.0) * y0
            + (t3 - 2.0 * t2 + t) * m0
            + (-2.0 * t3 + 3.0 * t2) * y1
            + (t3 - t2) * m1
    }
}

fn normal_table() -> &'static NormalTable {
    static TABLE: std::sync::OnceLock<NormalTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(NormalTable::build)
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
    /// The ridge regression the plain way: `A` and `b` kept, `theta = A^-1 b` and
    /// `x' A^-1 x` by solving `A v = .` (Cholesky) at every use.
    struct DirectRidge {
        d: usize,
        a: Vec<f64>,
        b: Vec<f64>,
    }

    impl DirectRidge {
        fn new(d: usize, ridge: f64) -> Self {
            let mut a = vec![0.0; d * d];
            for i in 0..d {
                a[i * d + i] = ridge;
            }
            Self {
                d,
                a,
                b: vec![0.0; d],
            }
        }
        fn update(&mut self, x: &[f64], y: f64) {
            for i in 0..self.d {
                for j in 0..self.d {
                    self.a[i * self.d + j] += x[i] * x[j];
                }
                self.b[i] += y * x[i];
            }
        }
        /// Solves `A v = r` by Cholesky.
        fn solve(&self, r: &[f64]) -> Vec<f64> {
            let d = self.d;
            let mut l = vec![0.0; d * d];
            for i in 0..d {
                for j in 0..=i {
                    let mut s = self.a[i * d + j];
                    for k in 0..j {
                        s -= l[i * d + k] * l[j * d + k];
                    }
                    l[i * d + j] = if i == j { s.sqrt() } else { s / l[j * d + j] };
                }
            }
            let mut z = r.to_vec();
            for i in 0..d {
                for k in 0..i {
                    z[i] -= l[i * d + k] * z[k];
                }
                z[i] /= l[i * d + i];
            }
            for i in (0..d).rev() {
                for k in i + 1..d {
                    z[i] -= l[k * d + i] * z[k];
                }
                z[i] /= l[i * d + i];
            }
            z
        }
        fn ucb(&self, x: &[f64], alpha: f64) -> f64 {
            let theta = self.solve(&self.b);
            let v = self.solve(x);
            dot(&theta, x) + alpha * dot(x, &v).max(0.0).sqrt()
        }
    }

    #[test]
    fn fast_linucb_picks_the_same_arms_as_a_direct_solve() {
        let (d, arms, alpha) = (12, 6, 0.5);
        let mut fast: Vec<Ridge> = (0..arms).map(|_| Ridge::new(d, 1.0)).collect();
        let mut direct: Vec<DirectRidge> = (0..arms).map(|_| DirectRidge::new(d, 1.0)).collect();
        let mut s = 42u64;
        let mut uni = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let truth: Vec<Vec<f64>> = (0..arms)
            .map(|_| (0..d).map(|_| uni() - 0.5).collect())
            .collect();
        let mut differences = 0;
        for _ in 0..3_000 {
            let mut x: Vec<f64> = (0..d).map(|_| uni()).collect();
            x[0] = 1.0;
            let pick = |score: &dyn Fn(usize) -> f64| {
                (0..arms)
                    .map(|k| (k, score(k)))
                    .fold((0, f64::NEG_INFINITY), |b, c| if c.1 > b.1 { c } else { b })
            };
            let (k_fast, v_fast) =
                pick(&|k| fast[k].predict(PROFIT, &x) + alpha * fast[k].uncertainty(&x).sqrt());
            let (k_direct, v_direct) = pick(&|k| direct[k].ucb(&x, alpha));
            assert!((v_fast - v_direct).abs() < 1e-9 * (1.0 + v_direct.abs()));
            differences += usize::from(k_fast != k_direct);
            let y = dot(&truth[k_direct], &x) + (uni() - 0.5);
            fast[k_direct].update(&x, &[y, 0.0, 0.0], 1.0);
            direct[k_direct].update(&x, y);
        }
        assert_eq!(differences, 0);
        for k in 0..arms {
            let theta = direct[k].solve(&direct[k].b);
            for (a, b) in fast[k].theta[PROFIT].iter().zip(&theta) {
                assert!((a - b).abs() < 1e-9, "arm {k}: {a} vs {b}");
            }
            // A^-1 is exactly symmetric after thousands of updates.
            for i in 0..d {
                for j in 0..d {
                    assert_eq!(fast[k].a_inv[i * d + j], fast[k].a_inv[j * d + i]);
                }
            }
        }
    }

    #[test]
    fn tabulated_normal_cdf_is_accurate() {
        let table = normal_table();
        let mut worst: f64 = 0.0;
        for i in 0..=200_000 {
            let x = -10.0 + i as f64 * 1e-4;
            worst = worst.max((table.cdf(x) - normal_cdf(x)).abs());
        }
        assert!(worst < 1e-9, "{worst}");
    }

    #[test]
    fn separated_rungs_are_dropped_exactly() {
        let mut p = [0.0; 3];
        max_probabilities(&[0.0, 100.0, 1.0], &[1.0, 1.0, 1.0], 1.0, &mut p);
        assert_eq!(p, [0.0, 1.0, 0.0]);
        // Close rungs keep their share; a far one is dropped without changing the others.
        let mut near = [0.0; 2];
        max_probabilities(&[0.0, 0.5], &[1.0, 1.0], 1.0, &mut near);
        let mut with_far = [0.0; 3];
        max_probabilities(&[0.0, 0.5, -50.0], &[1.0, 1.0, 1.0], 1.0, &mut with_far);
        assert_eq!(with_far[2], 0.0);
        assert!((with_far[0] - near[0]).abs() < 1e-15 && (with_far[1] - near[1]).abs() < 1e-15);
        // P(N(0,1) > N(0.5,1)) = Phi(-0.5 / sqrt 2).
        assert!(
            (near[0] - normal_cdf(-0.5 / 2f64.sqrt())).abs() < 1e-4,
            "{near:?}"
        );
    }
}
