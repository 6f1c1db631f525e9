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

/// A ridge regression's inverse Gram matrix `A^-1`, `A = ridge I + sum w x x'`, kept by
/// Sherman-Morrison.
#[derive(Clone, Debug)]
struct InverseGram {
    dim: usize,
    a_inv: Vec<f64>,
}

impl InverseGram {
    fn new(dim: usize, ridge: f64) -> Self {
        let mut g = Self {
            dim: 0,
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
        let old = self.dim;
        let mut a = vec![0.0; dim * dim];
        for i in 0..old {
            a[i * dim..i * dim + old].copy_from_slice(&self.a_inv[i * old..(i + 1) * old]);
        }
        for i in old..dim {
            a[i * dim + i] = 1.0 / ridge;
        }
        self.dim = dim;
        self.a_inv = a;
    }

    /// Folds in `x` with weight `w`: writes `u = A^-1 x` (before the update) and returns
    /// `1 / w + x' A^-1 x`, the denominator of every coefficient update; `None` when that is not
    /// positive (numerically singular), in which case nothing changes.
    fn update(&mut self, x: &[f64], w: f64, u: &mut Vec<f64>) -> Option<f64> {
        let d = self.dim;
        u.clear();
        u.extend((0..d).map(|i| dot(&self.a_inv[i * d..(i + 1) * d], x)));
        let denom = 1.0 / w + dot(x, u);
        if !(denom > 0.0 && denom.is_finite()) {
            return None;
        }
        let inv = 1.0 / denom;
        for i in 0..d {
            let ui = u[i] * inv;
            let row = &mut self.a_inv[i * d..(i + 1) * d];
            for (a, uj) in row.iter_mut().zip(u.iter()) {
                *a -= ui * uj;
            }
        }
        Some(denom)
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
    theta: Vec<Vec<f64>>,
    /// `mtr`: one matrix per action.
    per_action: Vec<InverseGram>,
    /// `ips`, `dr`: one matrix for all.
    shared: InverseGram,
    action_names: Vec<String>,
    u: Vec<f64>,
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
            theta: Vec::new(),
            per_action: Vec::new(),
            shared: InverseGram::new(1, ridge),
            action_names: Vec::new(),
            u: Vec::new(),
            scores: Vec::new(),
            loss_sum: 0.0,
            labelled: 0,
        }
    }

    /// Makes room for actions `0..k`.
    pub fn ensure_actions(&mut self, k: usize) {
        while self.theta.len() < k {
            self.theta.push(vec![0.0; self.dim]);
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
        for t in &mut self.theta {
            t.resize(dim, 0.0);
        }
        for g in &mut self.per_action {
            g.grow(dim, self.ridge);
        }
        self.shared.grow(dim, self.ridge);
        self.dim = dim;
    }

    /// The probability the epsilon-greedy policy gives each of the offered actions: `1 -
    /// epsilon` shared by the actions of least predicted cost, `epsilon` spread over all.
    /// `scores` must hold the predicted costs.
    fn probability_of(&self, scores: &[f64], position: usize) -> f64 {
        let n = scores.len() as f64;
        let best = scores.iter().copied().fold(f64::INFINITY, f64::min);
        let tied = scores.iter().filter(|&&s| s == best).count() as f64;
        let greedy = if scores[position] == best {
            (1.0 - self.epsilon) / tied
        } else {
            0.0
        };
        self.epsilon / n + greedy
    }

    /// One row: predicts the offered `actions` on `x`, scores the policy on the label, then
    /// learns from it. `label.action` is a position in `actions`.
    pub fn step(&mut self, x: &[f64], actions: &[usize], label: Option<Label>) {
        self.grow(x.len());
        self.scores.clear();
        for &a in actions {
            self.scores.push(dot(&self.theta[a], x));
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
                if let Some(denom) =
                    self.per_action[logged].update(x, 1.0 / l.probability, &mut self.u)
                {
                    let step = (l.cost - self.scores[l.action]) / denom;
                    axpy(step, &self.u, &mut self.theta[logged]);
                }
            }
            CbType::Ips => {
                if let Some(denom) = self.shared.update(x, 1.0, &mut self.u) {
                    for (j, &a) in actions.iter().enumerate() {
                        let target = if j == l.action {
                            l.cost / l.probability
                        } else {
                            0.0
                        };
                        let step = (target - self.scores[j]) / denom;
                        axpy(step, &self.u, &mut self.theta[a]);
                    }
                }
            }
            CbType::Dr => {
                if let Some(denom) = self.shared.update(x, 1.0, &mut self.u) {
                    // The other actions' targets are their own predictions: no change.
                    let residual = (l.cost - self.scores[l.action]) / l.probability;
                    axpy(residual / denom, &self.u, &mut self.theta[logged]);
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
            coefficients: self
                .theta
                .iter()
                .map(|t| {
                    let mut t = t.clone();
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

#[inline]
fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}
