//! The online learner: one linear cost regression per action, solved exactly at every row by
//! recursive least squares (Sherman-Morrison on the inverse Gram matrix), with progressive
//! validation of the epsilon-greedy policy it implies.
//!
//! The three ways of turning a logged row into regression targets are Vowpal Wabbit's
//! `--cb_type`s:
//! - `mtr`: the logged action's regression learns its cost with importance weight
//!   `1 / probability`; the others learn nothing from the row.
//! - `ips`: every action learns a target, `cost / probability` for the logged one and 0 for the
//!   others (an unbiased estimate of each action's cost).
//! - `dr`: every action learns its own prediction plus, for the logged one,
//!   `(cost - prediction) / probability` (the doubly robust estimate).
//!
//! Under `ips` and `dr` every action learns from every row with weight 1, so all the actions
//! share one Gram matrix; a row then costs one `O(d^2)` update and `O(d)` per action. (An ADF
//! example that offers only some of the actions updates only those actions' coefficients.)

use serde::Serialize;

use super::parse::Label;
use super::Batch;
use crate::bandit::dot;

/// How a logged row becomes regression targets (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CbType {
    Ips,
    Dr,
    Mtr,
}

impl CbType {
    pub fn name(&self) -> &'static str {
        match self {
            CbType::Ips => "ips",
            CbType::Dr => "dr",
            CbType::Mtr => "mtr",
        }
    }
}

/// Rows of a matrix stored by columns are padded to a multiple of four: every column is then
/// whole vector registers, with no scalar tail.
#[inline(always)]
fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// `out = M x` for `M` stored by columns (`cols[j * stride + i]` is entry `(i, j)`, `x.len()`
/// columns, `stride` rows, a multiple of four): each `out[i]` is bit for bit [`dot`] of row `i`
/// and `x` (eight partial sums over the first multiple of eight columns, column `j` into sum
/// `j % 8`, combined as `dot` combines them, then the remaining columns one by one), but a
/// column at a time runs down four rows at once in vector registers, where a dot product per
/// row would end every row in a horizontal sum.
#[inline(always)]
fn columns_times(cols: &[f64], stride: usize, x: &[f64], out: &mut Vec<f64>) {
    let d = x.len();
    let main = d - d % 8;
    out.clear();
    out.resize(stride, 0.0);
    // Four rows at a time, their eight partial sums held in registers.
    for (b, o) in out.chunks_exact_mut(4).enumerate() {
        let at = |j: usize| -> [f64; 4] {
            let i = j * stride + 4 * b;
            match cols.get(i..i + 4) {
                Some(&[a0, a1, a2, a3]) => [a0, a1, a2, a3],
                _ => [0.0; 4],
            }
        };
        let mut acc = [[0.0f64; 4]; 8];
        for j8 in (0..main).step_by(8) {
            for (k, lane) in acc.iter_mut().enumerate() {
                let c = at(j8 + k);
                let xj = x[j8 + k];
                for t in 0..4 {
                    lane[t] += c[t] * xj;
                }
            }
        }
        let mut sum = [0.0f64; 4];
        for t in 0..4 {
            sum[t] = ((acc[0][t] + acc[4][t]) + (acc[1][t] + acc[5][t]))
                + ((acc[2][t] + acc[6][t]) + (acc[3][t] + acc[7][t]));
        }
        for (j, &xj) in x.iter().enumerate().skip(main) {
            let c = at(j);
            for t in 0..4 {
                sum[t] += c[t] * xj;
            }
        }
        o.copy_from_slice(&sum);
    }
}

/// A ridge regression's inverse Gram matrix `A^-1`, `A = ridge I + sum w x x'`, kept by
/// Sherman-Morrison. Stored by columns, rows padded ([`columns_times`]); the padding rows stay
/// zero.
#[derive(Clone, Debug)]
struct InverseGram {
    dim: usize,
    stride: usize,
    a_inv: Vec<f64>,
}

impl InverseGram {
    fn new(dim: usize, ridge: f64) -> Self {
        let mut g = Self {
            dim: 0,
            stride: 0,
            a_inv: Vec::new(),
        };
        g.grow(dim, ridge);
        g
    }

    /// Adds columns for new features. Exact: no row so far had them, so `A` is block diagonal
    /// in the old and the new columns.
    fn grow(&mut self, dim: usize, ridge: f64) {
        if dim <= self.dim {
            return;
        }
        let (old, old_stride) = (self.dim, self.stride);
        let stride = padded(dim);
        let mut a = vec![0.0; dim * stride];
        for j in 0..old {
            a[j * stride..j * stride + old]
                .copy_from_slice(&self.a_inv[j * old_stride..j * old_stride + old]);
        }
        for i in old..dim {
            a[i * stride + i] = 1.0 / ridge;
        }
        self.dim = dim;
        self.stride = stride;
        self.a_inv = a;
    }

    /// Folds in `x` with weight `w`: writes `u = A^-1 x` (before the update; padded with zeros)
    /// and returns `1 / w + x' A^-1 x`, the denominator of every coefficient update; `None`
    /// when that is not positive (numerically singular), in which case nothing changes.
    /// `lanes` is scratch.
    #[inline(always)]
    fn update(&mut self, x: &[f64], w: f64, u: &mut Vec<f64>, lanes: &mut Vec<f64>) -> Option<f64> {
        let (d, stride) = (self.dim, self.stride);
        let x = &x[..d];
        columns_times(&self.a_inv, stride, x, u);
        let denom = 1.0 / w + dot(x, u);
        if !(denom > 0.0 && denom.is_finite()) {
            return None;
        }
        let inv = 1.0 / denom;
        // Entry (i, j) less (u_i / denom) u_j, a column at a time.
        lanes.clear();
        lanes.extend(u.iter().map(|&ui| ui * inv));
        // A column length known to the compiler becomes straight vector code; a length known
        // only at run time gets a vector loop of 16 and a scalar tail (8 of 24 rows).
        match stride {
            4 => rank_one::<4>(&mut self.a_inv, lanes, u),
            8 => rank_one::<8>(&mut self.a_inv, lanes, u),
            12 => rank_one::<12>(&mut self.a_inv, lanes, u),
            16 => rank_one::<16>(&mut self.a_inv, lanes, u),
            20 => rank_one::<20>(&mut self.a_inv, lanes, u),
            24 => rank_one::<24>(&mut self.a_inv, lanes, u),
            28 => rank_one::<28>(&mut self.a_inv, lanes, u),
            32 => rank_one::<32>(&mut self.a_inv, lanes, u),
            _ => {
                for (col, &uj) in self.a_inv.chunks_exact_mut(stride).zip(u.iter()) {
                    for (a, &v) in col.iter_mut().zip(lanes.iter()) {
                        *a -= v * uj;
                    }
                }
            }
        }
        Some(denom)
    }
}

/// Entry `(i, j)` of the columns of `S` rows less `v_i u_j`.
#[inline(always)]
fn rank_one<const S: usize>(a_inv: &mut [f64], v: &[f64], u: &[f64]) {
    let Some(v) = v.get(..S).and_then(|v| <&[f64; S]>::try_from(v).ok()) else {
        return;
    };
    for (col, &uj) in a_inv.chunks_exact_mut(S).zip(u) {
        if let Ok(col) = <&mut [f64; S]>::try_from(col) {
            for k in 0..S {
                col[k] -= v[k] * uj;
            }
        }
    }
}

/// The actions' coefficients, stored by columns (`cols[j * stride + a]` is action `a`'s
/// coefficient of feature `j`, the actions padded): the predictions of all the actions are one
/// [`columns_times`].
#[derive(Clone, Debug, Default)]
struct Coefficients {
    actions: usize,
    dim: usize,
    stride: usize,
    cols: Vec<f64>,
}

impl Coefficients {
    /// Room for `actions` actions over `dim` features (new ones zero).
    fn resize(&mut self, actions: usize, dim: usize) {
        if actions <= self.actions && dim <= self.dim {
            return;
        }
        let actions = actions.max(self.actions);
        let dim = dim.max(self.dim);
        let stride = padded(actions);
        let mut cols = vec![0.0; dim * stride];
        for j in 0..self.dim {
            cols[j * stride..j * stride + self.actions]
                .copy_from_slice(&self.cols[j * self.stride..j * self.stride + self.actions]);
        }
        *self = Self {
            actions,
            dim,
            stride,
            cols,
        };
    }

    /// Action `a`'s coefficients plus `step * u`.
    #[inline(always)]
    fn add_scaled(&mut self, a: usize, step: f64, u: &[f64]) {
        for (c, &ui) in self.cols[a..].iter_mut().step_by(self.stride).zip(u) {
            *c += step * ui;
        }
    }

    /// Every action's predicted cost for `x` (`x.len()` is the dimension); padded.
    #[inline(always)]
    fn predict_all(&self, x: &[f64], out: &mut Vec<f64>) {
        columns_times(&self.cols, self.stride, &x[..self.dim], out);
    }

    fn action(&self, a: usize) -> Vec<f64> {
        self.cols[a..]
            .iter()
            .step_by(self.stride)
            .take(self.dim)
            .copied()
            .collect()
    }
}

/// The learnt policy: each action's cost coefficients over the named features.
#[derive(Clone, Debug, Serialize)]
pub struct CbModel {
    pub cb_type: CbType,
    pub epsilon: f64,
    pub features: Vec<String>,
    pub actions: Vec<String>,
    /// `coefficients[action][feature]`, predicting the cost (lower is better).
    pub coefficients: Vec<Vec<f64>>,
}

/// Online learner with progressive validation.
pub struct CbLearner {
    cb_type: CbType,
    epsilon: f64,
    ridge: f64,
    dim: usize,
    theta: Coefficients,
    /// `mtr`: one matrix per action.
    per_action: Vec<InverseGram>,
    /// `ips`, `dr`: one matrix for all.
    shared: InverseGram,
    action_names: Vec<String>,
    u: Vec<f64>,
    lanes: Vec<f64>,
    /// Every action's prediction for the row, padded.
    predicted: Vec<f64>,
    scores: Vec<f64>,
    loss_sum: f64,
    labelled: u64,
}

impl CbLearner {
    pub fn new(cb_type: CbType, epsilon: f64, ridge: f64) -> Self {
        Self {
            cb_type,
            epsilon,
            ridge,
            dim: 1,
            theta: Coefficients::default(),
            per_action: Vec::new(),
            shared: InverseGram::new(1, ridge),
            action_names: Vec::new(),
            u: Vec::new(),
            lanes: Vec::new(),
            predicted: Vec::new(),
            scores: Vec::new(),
            loss_sum: 0.0,
            labelled: 0,
        }
    }

    /// Makes room for actions `0..k`.
    pub fn ensure_actions(&mut self, k: usize) {
        if self.theta.actions >= k {
            return;
        }
        self.theta.resize(k, self.dim);
        while self.action_names.len() < k {
            if self.cb_type == CbType::Mtr {
                self.per_action.push(InverseGram::new(self.dim, self.ridge));
            }
            self.action_names
                .push(format!("{}", self.action_names.len() + 1));
        }
    }

    /// Names the actions (ADF: each action line's features).
    pub fn name_actions(&mut self, names: Vec<String>) {
        for (slot, name) in self.action_names.iter_mut().zip(names) {
            *slot = name;
        }
    }

    fn grow(&mut self, dim: usize) {
        if dim <= self.dim {
            return;
        }
        self.theta.resize(0, dim);
        for g in &mut self.per_action {
            g.grow(dim, self.ridge);
        }
        self.shared.grow(dim, self.ridge);
        self.dim = dim;
    }

    /// The probability the epsilon-greedy policy gives each of the offered actions: `1 -
    /// epsilon` shared by the actions of least predicted cost, `epsilon` spread over all.
    /// `scores` must hold the predicted costs.
    #[inline(always)]
    fn probability_of(&self, scores: &[f64], position: usize) -> f64 {
        let n = scores.len() as f64;
        // The least in two interleaved running minima: half the dependency chain of one. The
        // minimum is the same in any order (`f64::min` skips NaN; the sign of a zero minimum
        // does not matter, it is only compared with `==`).
        let mut low = [f64::INFINITY; 2];
        for pair in scores.chunks(2) {
            for (m, &s) in low.iter_mut().zip(pair) {
                *m = m.min(s);
            }
        }
        let best = low[0].min(low[1]);
        let tied = scores.iter().filter(|&&s| s == best).count() as f64;
        let greedy = if scores[position] == best {
            (1.0 - self.epsilon) / tied
        } else {
            0.0
        };
        self.epsilon / n + greedy
    }

    /// Learns from the rows of `batch` in order; `all` are the actions of the formats without
    /// per-row actions.
    pub(crate) fn learn_batch(&mut self, batch: &Batch, all: &[usize]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked on the line above), all the function needs.
            return unsafe { self.learn_batch_avx2(batch, all) };
        }
        self.learn_batch_portable(batch, all);
    }

    /// [`Self::learn_batch_portable`] compiled for AVX2: the same operations in the same order
    /// (no fused multiply-add), so the same results to the last bit, four lanes to a register
    /// instead of two.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn learn_batch_avx2(&mut self, batch: &Batch, all: &[usize]) {
        self.learn_batch_portable(batch, all);
    }

    #[inline(always)]
    fn learn_batch_portable(&mut self, batch: &Batch, all: &[usize]) {
        for r in batch.rows() {
            let actions = r.actions.unwrap_or(all);
            if let Some(max) = r.actions.and_then(|a| a.iter().max()) {
                self.ensure_actions(max + 1);
            }
            self.step_inline(r.x, actions, r.label);
        }
    }

    /// One row: predicts the offered `actions` on `x`, scores the policy on the label, then
    /// learns from it. `label.action` is a position in `actions`.
    pub fn step(&mut self, x: &[f64], actions: &[usize], label: Option<Label>) {
        self.step_inline(x, actions, label);
    }

    #[inline(always)]
    fn step_inline(&mut self, x: &[f64], actions: &[usize], label: Option<Label>) {
        self.grow(x.len());
        self.scores.clear();
        self.theta.predict_all(x, &mut self.predicted);
        for &a in actions {
            self.scores.push(self.predicted[a]);
        }
        let Some(l) = label else {
            return;
        };
        let p_policy = self.probability_of(&self.scores, l.action);
        self.loss_sum += p_policy * l.cost / l.probability;
        self.labelled += 1;
        let logged = actions[l.action];
        match self.cb_type {
            CbType::Mtr => {
                if let Some(denom) = self.per_action[logged].update(
                    x,
                    1.0 / l.probability,
                    &mut self.u,
                    &mut self.lanes,
                ) {
                    let step = (l.cost - self.scores[l.action]) / denom;
                    self.theta.add_scaled(logged, step, &self.u);
                }
            }
            CbType::Ips => {
                if let Some(denom) = self.shared.update(x, 1.0, &mut self.u, &mut self.lanes) {
                    for (j, &a) in actions.iter().enumerate() {
                        let target = if j == l.action {
                            l.cost / l.probability
                        } else {
                            0.0
                        };
                        let step = (target - self.scores[j]) / denom;
                        self.theta.add_scaled(a, step, &self.u);
                    }
                }
            }
            CbType::Dr => {
                if let Some(denom) = self.shared.update(x, 1.0, &mut self.u, &mut self.lanes) {
                    // The other actions' targets are their own predictions: no change.
                    let residual = (l.cost - self.scores[l.action]) / l.probability;
                    self.theta.add_scaled(logged, residual / denom, &self.u);
                }
            }
        }
    }

    /// Progressive validation loss so far.
    pub fn average_loss(&self) -> f64 {
        if self.labelled == 0 {
            0.0
        } else {
            self.loss_sum / self.labelled as f64
        }
    }

    pub fn model(&self, features: Vec<String>) -> CbModel {
        let d = features.len();
        CbModel {
            cb_type: self.cb_type,
            epsilon: self.epsilon,
            features,
            actions: self.action_names.clone(),
            coefficients: (0..self.theta.actions)
                .map(|a| {
                    let mut t = self.theta.action(a);
                    t.resize(d, 0.0);
                    t
                })
                .collect(),
        }
    }
}

impl CbModel {
    /// The action of least predicted cost for features `x` (intercept first).
    pub fn best_action(&self, x: &[f64]) -> usize {
        let mut best = 0;
        let mut best_cost = f64::INFINITY;
        for (a, t) in self.coefficients.iter().enumerate() {
            let c = dot(t, x);
            if c < best_cost {
                best_cost = c;
                best = a;
            }
        }
        best
    }
}
