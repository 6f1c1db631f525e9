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
//! reads only the blocks on and above its diagonal, with its sums in registers (AVX-512 written
//! out, AVX2 with FMA by the compiler); dot products run in eight independent lanes so that the
//! compiler vectorises them. Thompson's choice probabilities drop the rungs that cannot be the
//! largest (8.3 standard deviations apart: below 1e-16) and compute the normal distribution
//! function without a branch (error below 1e-12), so that the quadrature vectorises. These are
//! exact up to rounding: no approximation beyond the quadrature's, no caching.

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
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("fma") {
                // SAFETY: the CPU has AVX-512F and FMA (checked on the line above).
                return unsafe { symmetric_form_avx512(&self.a_inv, x) };
            }
            if has!("avx2") && has!("fma") {
                // SAFETY: the CPU has AVX2 and FMA (checked on the line above).
                return unsafe { symmetric_form_avx2(&self.a_inv, x) };
            }
        }
        symmetric_form::<false>(&self.a_inv, x)
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

/// `x' A x` for a symmetric `A` (row-major, `x.len()` square), reading only the blocks on and
/// above the diagonal: for each block of 16 columns `B`, `w = sum_j x_j A[j, B]` over the rows
/// above the block and `u` the same over the block's own rows, then `x_B' (2 w + u)` (the
/// blocks below the diagonal are the transposes of those above). The sums of a block stay in
/// registers: a vectorised loop without a reduction inside.
#[inline(always)]
fn symmetric_form<const FUSED: bool>(a: &[f64], x: &[f64]) -> f64 {
    const BLOCK: usize = 16;
    let d = x.len();
    let mut total = 0.0;
    let mut start = 0;
    while start + BLOCK <= d {
        let above = weighted_rows::<BLOCK, FUSED>(a, d, x, 0..start, start);
        let within = weighted_rows::<BLOCK, FUSED>(a, d, x, start..start + BLOCK, start);
        for ((xi, w), u) in x[start..start + BLOCK].iter().zip(&above).zip(&within) {
            total += xi * (2.0 * w + u);
        }
        start += BLOCK;
    }
    // The last columns when `d` is not a multiple of the block.
    for i in start..d {
        let (mut above, mut within) = (0.0, 0.0);
        for (j, &xj) in x.iter().enumerate() {
            if j < start {
                above += xj * a[j * d + i];
            } else {
                within += xj * a[j * d + i];
            }
        }
        total += x[i] * (2.0 * above + within);
    }
    total.max(0.0)
}

/// `sum_{j in rows} x_j A[j, start..start + W]`, the sums in registers: two rows at a time into
/// two sets of sums, so that twice as many additions are in flight.
#[inline(always)]
fn weighted_rows<const W: usize, const FUSED: bool>(
    a: &[f64],
    d: usize,
    x: &[f64],
    rows: std::ops::Range<usize>,
    start: usize,
) -> [f64; W] {
    let mut even = [0.0; W];
    let mut odd = [0.0; W];
    let mut j = rows.start;
    while j + 1 < rows.end {
        let (x0, x1) = (x[j], x[j + 1]);
        let row0 = &a[j * d + start..][..W];
        let row1 = &a[(j + 1) * d + start..][..W];
        for i in 0..W {
            even[i] = multiply_add::<FUSED>(x0, row0[i], even[i]);
            odd[i] = multiply_add::<FUSED>(x1, row1[i], odd[i]);
        }
        j += 2;
    }
    if j < rows.end {
        let row = &a[j * d + start..][..W];
        for i in 0..W {
            even[i] = multiply_add::<FUSED>(x[j], row[i], even[i]);
        }
    }
    for (e, o) in even.iter_mut().zip(&odd) {
        *e += o;
    }
    even
}

/// [`symmetric_form`] in AVX-512 (which the compiler vectorises only two lanes wide here): a
/// block's 16 sums are two registers per set of rows, two rows at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn symmetric_form_avx512(a: &[f64], x: &[f64]) -> f64 {
    use std::arch::x86_64::{
        __m512d, _mm512_add_pd, _mm512_fmadd_pd, _mm512_loadu_pd, _mm512_reduce_add_pd,
        _mm512_set1_pd, _mm512_setzero_pd,
    };
    const BLOCK: usize = 16;
    let d = x.len();
    if a.len() < d * d || !d.is_multiple_of(BLOCK) {
        return symmetric_form::<true>(a, x);
    }
    let base = a.as_ptr();
    // SAFETY (both closures): `j < d` and `start + BLOCK <= d`, so the 16 values read from
    // `j * d + start` lie within row j of `a`, which holds `d * d` values (checked above).
    let load =
        |j: usize, start: usize, half: usize| _mm512_loadu_pd(base.add(j * d + start + 8 * half));
    let rows_sum = |rows: std::ops::Range<usize>, start: usize| -> [__m512d; 2] {
        let zero = _mm512_setzero_pd();
        let (mut even, mut odd) = ([zero; 2], [zero; 2]);
        let mut j = rows.start;
        while j + 1 < rows.end {
            let (x0, x1) = (_mm512_set1_pd(x[j]), _mm512_set1_pd(x[j + 1]));
            for (h, (e, o)) in even.iter_mut().zip(odd.iter_mut()).enumerate() {
                *e = _mm512_fmadd_pd(x0, load(j, start, h), *e);
                *o = _mm512_fmadd_pd(x1, load(j + 1, start, h), *o);
            }
            j += 2;
        }
        if j < rows.end {
            let x0 = _mm512_set1_pd(x[j]);
            for (h, e) in even.iter_mut().enumerate() {
                *e = _mm512_fmadd_pd(x0, load(j, start, h), *e);
            }
        }
        [
            _mm512_add_pd(even[0], odd[0]),
            _mm512_add_pd(even[1], odd[1]),
        ]
    };
    let two = _mm512_set1_pd(2.0);
    let mut total = _mm512_setzero_pd();
    for start in (0..d).step_by(BLOCK) {
        let above = rows_sum(0..start, start);
        let within = rows_sum(start..start + BLOCK, start);
        for h in 0..2 {
            let xs = _mm512_loadu_pd(x.as_ptr().add(start + 8 * h));
            let combined = _mm512_fmadd_pd(two, above[h], within[h]);
            total = _mm512_fmadd_pd(xs, combined, total);
        }
    }
    _mm512_reduce_add_pd(total).max(0.0)
}

/// [`symmetric_form`] compiled for AVX2 with FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn symmetric_form_avx2(a: &[f64], x: &[f64]) -> f64 {
    symmetric_form::<true>(a, x)
}

/// `sum a_i b_i` over the shorter of the two, in eight independent lanes (a vectorised loop,
/// and a shorter dependency chain than one running sum). The logged-bandit learner's printed
/// losses depend on this order of the additions: change it and they move in their last digits.
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
/// A normal more than 8.3 of its and another's standard deviations below that other can be the
/// largest with probability below 1e-16: it gets 0 and leaves the others' products (where its
/// factor is 1 to the same precision). A single rung left gets 1.
///
/// Speed: for each live rung the 40 nodes' products are arrays, multiplied by each other rung's
/// distribution function at once. [`normal_cdf_ratio`] has no branch and no table, so the loop
/// over the nodes vectorises (AVX-512 or AVX2 with FMA when the CPU has them), and it gives `Φ`
/// as a fraction whose numerators and denominators are multiplied apart: one division per node
/// instead of one per node and rung.
pub fn max_probabilities(mean: &[f64], sd: &[f64], scale: f64, out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("fma") {
            // SAFETY: the CPU has AVX-512F and FMA (checked on the line above).
            return unsafe { max_probabilities_avx512(mean, sd, scale, out) };
        }
        if has!("avx2") && has!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked on the line above).
            return unsafe { max_probabilities_avx2(mean, sd, scale, out) };
        }
    }
    max_probabilities_with::<false>(mean, sd, scale, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn max_probabilities_avx512(mean: &[f64], sd: &[f64], scale: f64, out: &mut [f64]) {
    max_probabilities_with::<true>(mean, sd, scale, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn max_probabilities_avx2(mean: &[f64], sd: &[f64], scale: f64, out: &mut [f64]) {
    max_probabilities_with::<true>(mean, sd, scale, out)
}

/// `a * b + c`, fused where the CPU has FMA (`FUSED`); a separate multiply and add otherwise,
/// where `mul_add` would be a slow library call.
#[inline(always)]
fn multiply_add<const FUSED: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FUSED {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[inline(always)]
fn max_probabilities_with<const FUSED: bool>(
    mean: &[f64],
    sd: &[f64],
    scale: f64,
    out: &mut [f64],
) {
    const SEPARATED: f64 = 8.3;
    // The product of this many denominators (each below 1e6) stays far from overflow.
    const FRACTIONS_AT_ONCE: usize = 32;
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
    let mut total = 0.0;
    for &k in live {
        let mut numerators = nodes.weight;
        let mut denominators = [1.0; QUADRATURE_NODES];
        for (count, &j) in live.iter().filter(|&&j| j != k).enumerate() {
            // The node `mean[k] + s[k] z` standardised for rung j.
            let offset = (mean[k] - mean[j]) / s[j];
            let slope = s[k] / s[j];
            let span = slope * QUADRATURE_SPAN;
            if offset - span >= NORMAL_TAIL {
                // Rung j is below every node: its factor is exactly 1.
                continue;
            }
            if offset + span <= -NORMAL_TAIL {
                // Rung j is above every node: rung k's products are all exactly 0.
                numerators = [0.0; QUADRATURE_NODES];
                break;
            }
            if count > 0 && count % FRACTIONS_AT_ONCE == 0 {
                for (p, q) in numerators.iter_mut().zip(denominators.iter_mut()) {
                    *p /= *q;
                    *q = 1.0;
                }
            }
            for ((p, q), z) in numerators
                .iter_mut()
                .zip(denominators.iter_mut())
                .zip(&nodes.z)
            {
                let (numerator, denominator) =
                    normal_cdf_ratio::<FUSED>(multiply_add::<FUSED>(slope, *z, offset));
                *p *= numerator;
                *q *= denominator;
            }
        }
        let p: f64 = numerators
            .iter()
            .zip(&denominators)
            .map(|(p, q)| p / q)
            .sum();
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
struct QuadratureNodes {
    z: [f64; QUADRATURE_NODES],
    weight: [f64; QUADRATURE_NODES],
}

fn quadrature_nodes() -> &'static QuadratureNodes {
    static NODES: std::sync::OnceLock<QuadratureNodes> = std::sync::OnceLock::new();
    NODES.get_or_init(|| {
        let step = 2.0 * QUADRATURE_SPAN / QUADRATURE_NODES as f64;
        let z: [f64; QUADRATURE_NODES] =
            std::array::from_fn(|q| -QUADRATURE_SPAN + (q as f64 + 0.5) * step);
        QuadratureNodes {
            z,
            weight: z.map(|z| (-0.5 * z * z).exp()),
        }
    })
}

/// Beyond this many standard deviations `Φ` is taken as 0 or 1 (the tail is below 8e-13).
const NORMAL_TAIL: f64 = 7.071_067_811_865_47;

/// `Φ(x)` as a fraction `(numerator, denominator)`, the denominator between 440 and 1e6, without
/// a branch or a table, so that a loop of it vectorises: West's (2005) double-precision form of
/// Hart's rational approximation (1968) for `|x| < 7.07`, 0 or 1 beyond. Absolute error against
/// libm's `erfc` below 1e-14 within, and below 8e-13 (the tail) beyond (tested). NaN gives 0.
#[inline(always)]
fn normal_cdf_ratio<const FUSED: bool>(x: f64) -> (f64, f64) {
    let a = x.abs().min(NORMAL_TAIL);
    let horner = |coefficients: &[f64]| {
        coefficients[1..]
            .iter()
            .fold(coefficients[0], |acc, &c| multiply_add::<FUSED>(acc, a, c))
    };
    let numerator = horner(&[
        0.035_262_496_599_891_1,
        0.700_383_064_443_688,
        6.373_962_203_531_65,
        33.912_866_078_383,
        112.079_291_497_871,
        221.213_596_169_931,
        220.206_867_912_376,
    ]);
    let denominator = horner(&[
        0.088_388_347_648_318_4,
        1.755_667_163_182_64,
        16.064_177_579_207,
        86.780_732_202_946_1,
        296.564_248_779_674,
        637.333_633_378_831,
        793.826_512_519_948,
        440.413_735_824_752,
    ]);
    let tail = exp_nonpositive::<FUSED>(-0.5 * a * a) * numerator;
    let lower = if x.abs() < NORMAL_TAIL { tail } else { 0.0 };
    let upper = if x > 0.0 { denominator - lower } else { lower };
    (upper, denominator)
}

/// `Φ(x)` (see [`normal_cdf_ratio`]).
#[cfg(test)]
fn normal_cdf_branchless(x: f64) -> f64 {
    let (numerator, denominator) = normal_cdf_ratio::<false>(x);
    numerator / denominator
}

/// `e^y` for `-700 <= y <= 0` without a branch or a call: `y = k ln 2 + r` with `|r| <= ln 2 /
/// 2`, `e^r` by its Taylor series to `r^11` (truncation below 1e-14), `2^k` written into the
/// exponent bits. Relative error below 1e-14 (tested).
#[inline(always)]
fn exp_nonpositive<const FUSED: bool>(y: f64) -> f64 {
    // Adding 1.5 * 2^52 rounds to an integer, which the low bits of the sum then hold.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let shifted = y * std::f64::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = (y - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.0 / 39_916_800.0;
    for factorial in [
        3_628_800.0,
        362_880.0,
        40_320.0,
        5_040.0,
        720.0,
        120.0,
        24.0,
        6.0,
        2.0,
        1.0,
        1.0,
    ] {
        p = multiply_add::<FUSED>(p, r, 1.0 / factorial);
    }
    let exponent = shifted
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(1023)
        << 52;
    p * f64::from_bits(exponent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use discount_eval::stats::normal_cdf;

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
    fn branchless_normal_cdf_is_accurate() {
        let (mut within, mut beyond): (f64, f64) = (0.0, 0.0);
        for i in 0..=400_000 {
            let x = -20.0 + i as f64 * 1e-4;
            let error = (normal_cdf_branchless(x) - normal_cdf(x)).abs();
            if x.abs() < NORMAL_TAIL {
                within = within.max(error);
            } else {
                beyond = beyond.max(error);
            }
        }
        assert!(within < 1e-14, "{within}");
        assert!(beyond < 8e-13, "{beyond}");
        for y in [-700.0, -100.0, -25.0, -3.3, -0.5, -1e-9, 0.0] {
            let (fast, exact) = (exp_nonpositive::<false>(y), f64::exp(y));
            assert!((fast - exact).abs() <= 1e-14 * exact, "{y}: {fast} {exact}");
        }
        assert_eq!(normal_cdf_branchless(f64::NAN), 0.0);
    }

    #[test]
    fn every_instruction_set_gives_the_same_numbers() {
        // Dimensions with and without a partial last block; a matrix trained like an arm's.
        for d in [3, 16, 21, 64] {
            let mut r = Ridge::new(d, 1.0);
            let mut s = 9u64;
            let mut uni = || {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            };
            for _ in 0..300 {
                let x: Vec<f64> = (0..d).map(|_| uni()).collect();
                r.update(&x, &[uni(), 0.0, 0.0], 1.0);
            }
            let x: Vec<f64> = (0..d).map(|_| uni() - 0.3).collect();
            let portable = symmetric_form::<false>(&r.a_inv, &x);
            let dispatched = r.uncertainty(&x);
            assert!((portable - dispatched).abs() <= 1e-12 * portable, "{d}");
            let full: f64 = (0..d)
                .map(|i| x[i] * (0..d).map(|j| r.a_inv[i * d + j] * x[j]).sum::<f64>())
                .sum();
            assert!((portable - full).abs() <= 1e-12 * full, "{d}");
        }
        let (mean, sd) = ([0.3, 0.0, 0.5, -0.2, 0.25], [1.0, 0.7, 2.0, 0.4, 1.1]);
        let (mut portable, mut dispatched) = ([0.0; 5], [0.0; 5]);
        max_probabilities_with::<false>(&mean, &sd, 1.0, &mut portable);
        max_probabilities(&mean, &sd, 1.0, &mut dispatched);
        for (a, b) in portable.iter().zip(&dispatched) {
            assert!((a - b).abs() < 1e-13, "{portable:?} {dispatched:?}");
        }
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
