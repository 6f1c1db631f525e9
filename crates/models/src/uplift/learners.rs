//! S-, T-, X- and DR-learners for several treatments against one control, over any base [`Learner`].
//!
//! Arm 0 is control; the effect of arm k is τ_k(x) = E[y | x, k] − E[y | x, 0].
//! * S: one outcome model on x, the arm indicators and their products with x; τ_k is the difference of its
//!   predictions with the arm switched.
//! * T: one outcome model per arm; τ_k = μ_k − μ_0.
//! * X (Künzel et al. 2019): T-learner outcome models, then imputed effects y − μ_0(x) on arm-k rows and
//!   μ_k(x) − y on control rows, each regressed on x; τ_k = g·τ_k⁰ + (1 − g)·τ_k¹ with g the arm-k share
//!   of the two groups.
//! * DR (Kennedy 2020): the doubly robust pseudo-outcome μ_k − μ_0 + 1[a=k](y − μ_k)/e_k − 1[a=0](y − μ_0)/e_0
//!   with outcome models cross-fitted on two halves, regressed on x. The assignment probabilities e are the
//!   arm shares (the data come from a randomised experiment).
//!
//! The outcome base may be a classifier (binary outcomes) or a regression (revenue); the effect base of the
//! X- and DR-learners must be a regression, since imputed effects are not 0/1.

use serde::{Deserialize, Serialize};

use crate::propensity::{Learner, Matrix};
use crate::ModelError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaLearner {
    S,
    T,
    X,
    Dr,
}

impl MetaLearner {
    pub const ALL: [MetaLearner; 4] = [
        MetaLearner::S,
        MetaLearner::T,
        MetaLearner::X,
        MetaLearner::Dr,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MetaLearner::S => "S-learner",
            MetaLearner::T => "T-learner",
            MetaLearner::X => "X-learner",
            MetaLearner::Dr => "DR-learner",
        }
    }
}

/// A fitted meta-learner; `L` is the base model type (e.g. [`crate::propensity::Model`], serialisable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpliftModel<L> {
    pub kind: MetaLearner,
    pub n_arms: usize,
    /// S: one model; T: one per arm; X, DR: unused at prediction (empty for DR).
    pub outcome_models: Vec<L>,
    /// X: two per treated arm (τ⁰, τ¹); DR: one per treated arm.
    pub effect_models: Vec<L>,
    /// Share of each arm in the training rows.
    pub arm_shares: Vec<f64>,
}

fn check(x: &Matrix, arms: &[usize], y: &[f64], n_arms: usize) -> Result<Vec<f64>, ModelError> {
    if n_arms < 2 {
        return Err(ModelError::InvalidHyper {
            name: "n_arms",
            value: n_arms.to_string(),
            reason: "needs a control and at least one treatment".into(),
        });
    }
    if arms.len() != x.rows() || y.len() != x.rows() {
        return Err(ModelError::Data(format!(
            "{} rows, {} arms, {} outcomes",
            x.rows(),
            arms.len(),
            y.len()
        )));
    }
    let mut counts = vec![0usize; n_arms];
    for (i, &a) in arms.iter().enumerate() {
        *counts.get_mut(a).ok_or_else(|| {
            ModelError::Data(format!("arm at row {i} is {a}; there are {n_arms} arms"))
        })? += 1;
    }
    if let Some(a) = counts.iter().position(|c| *c == 0) {
        return Err(ModelError::Data(format!("arm {a} has no training rows")));
    }
    Ok(counts.iter().map(|c| *c as f64 / x.rows() as f64).collect())
}

/// x, then the treated-arm indicators, then their products with x.
fn s_features(
    x: &Matrix,
    arm_of_row: &dyn Fn(usize) -> usize,
    n_arms: usize,
) -> Result<Matrix, ModelError> {
    let (n, p, k) = (x.rows(), x.cols(), n_arms - 1);
    let mut extra = vec![0.0; n * (k + k * p)];
    let width = k + k * p;
    for i in 0..n {
        let a = arm_of_row(i);
        if a > 0 {
            let row = &mut extra[i * width..(i + 1) * width];
            row[a - 1] = 1.0;
            row[k + (a - 1) * p..k + a * p].copy_from_slice(x.row(i));
        }
    }
    x.hstack(&Matrix::new(n, width, extra)?)
}

fn rows_of(arms: &[usize], arm: usize) -> Vec<usize> {
    (0..arms.len()).filter(|&i| arms[i] == arm).collect()
}

fn pick(values: &[f64], rows: &[usize]) -> Vec<f64> {
    rows.iter().map(|&i| values[i]).collect()
}

fn fit_copy<L: Learner + Clone>(proto: &L, x: &Matrix, y: &[f64]) -> Result<L, ModelError> {
    let mut model = proto.clone();
    model.fit(x, y, None)?;
    Ok(model)
}

/// Fits one outcome model per arm on the rows of `rows`.
fn fit_per_arm<L: Learner + Clone>(
    proto: &L,
    x: &Matrix,
    arms: &[usize],
    y: &[f64],
    n_arms: usize,
    rows: &[usize],
) -> Result<Vec<L>, ModelError> {
    (0..n_arms)
        .map(|a| {
            let mine: Vec<usize> = rows.iter().copied().filter(|&i| arms[i] == a).collect();
            if mine.is_empty() {
                return Err(ModelError::Data(format!(
                    "arm {a} has no rows in a cross-fitting half"
                )));
            }
            fit_copy(proto, &x.select_rows(&mine), &pick(y, &mine))
        })
        .collect()
}

impl<L: Learner + Clone> UpliftModel<L> {
    /// Fits `kind` with `outcome` as the outcome base and `effect` as the regression base.
    pub fn fit(
        kind: MetaLearner,
        outcome: &L,
        effect: &L,
        x: &Matrix,
        arms: &[usize],
        y: &[f64],
        n_arms: usize,
    ) -> Result<Self, ModelError> {
        let arm_shares = check(x, arms, y, n_arms)?;
        let all: Vec<usize> = (0..x.rows()).collect();
        let (outcome_models, effect_models) = match kind {
            MetaLearner::S => {
                let features = s_features(x, &|i| arms[i], n_arms)?;
                (vec![fit_copy(outcome, &features, y)?], Vec::new())
            }
            MetaLearner::T => (fit_per_arm(outcome, x, arms, y, n_arms, &all)?, Vec::new()),
            MetaLearner::X => {
                let mu = fit_per_arm(outcome, x, arms, y, n_arms, &all)?;
                let control = rows_of(arms, 0);
                let x_control = x.select_rows(&control);
                let mu0_treated_rows = |rows: &[usize]| mu[0].predict(&x.select_rows(rows));
                let mut effects = Vec::with_capacity(2 * (n_arms - 1));
                for (a, mu_a) in mu.iter().enumerate().skip(1) {
                    let treated = rows_of(arms, a);
                    // On control rows: what arm a would have added.
                    let imputed_control: Vec<f64> = mu_a
                        .predict(&x_control)?
                        .iter()
                        .zip(&control)
                        .map(|(m, &i)| m - y[i])
                        .collect();
                    let imputed_treated: Vec<f64> = mu0_treated_rows(&treated)?
                        .iter()
                        .zip(&treated)
                        .map(|(m, &i)| y[i] - m)
                        .collect();
                    effects.push(fit_copy(effect, &x_control, &imputed_control)?);
                    effects.push(fit_copy(
                        effect,
                        &x.select_rows(&treated),
                        &imputed_treated,
                    )?);
                }
                (mu, effects)
            }
            MetaLearner::Dr => {
                // Two halves by position; each half's outcomes come from models fitted on the other.
                let halves: [Vec<usize>; 2] = [
                    all.iter().copied().filter(|i| i % 2 == 0).collect(),
                    all.iter().copied().filter(|i| i % 2 == 1).collect(),
                ];
                let mut mu_hat = vec![vec![0.0; x.rows()]; n_arms];
                for h in 0..2 {
                    let models = fit_per_arm(outcome, x, arms, y, n_arms, &halves[1 - h])?;
                    let x_half = x.select_rows(&halves[h]);
                    for (a, model) in models.iter().enumerate() {
                        for (p, &i) in model.predict(&x_half)?.iter().zip(&halves[h]) {
                            mu_hat[a][i] = *p;
                        }
                    }
                }
                let mut effects = Vec::with_capacity(n_arms - 1);
                for a in 1..n_arms {
                    let pseudo: Vec<f64> = (0..x.rows())
                        .map(|i| {
                            let mut psi = mu_hat[a][i] - mu_hat[0][i];
                            if arms[i] == a {
                                psi += (y[i] - mu_hat[a][i]) / arm_shares[a];
                            } else if arms[i] == 0 {
                                psi -= (y[i] - mu_hat[0][i]) / arm_shares[0];
                            }
                            psi
                        })
                        .collect();
                    effects.push(fit_copy(effect, x, &pseudo)?);
                }
                (Vec::new(), effects)
            }
        };
        Ok(UpliftModel {
            kind,
            n_arms,
            outcome_models,
            effect_models,
            arm_shares,
        })
    }

    /// Predicted effect of each treated arm: `effects[k - 1][row]` for arm k.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<Vec<f64>>, ModelError> {
        let missing = || ModelError::Data("uplift model has no fitted parts".into());
        match self.kind {
            MetaLearner::S => {
                let model = self.outcome_models.first().ok_or_else(missing)?;
                let control = model.predict(&s_features(x, &|_| 0, self.n_arms)?)?;
                (1..self.n_arms)
                    .map(|a| {
                        let treated = model.predict(&s_features(x, &|_| a, self.n_arms)?)?;
                        Ok(treated.iter().zip(&control).map(|(t, c)| t - c).collect())
                    })
                    .collect()
            }
            MetaLearner::T => {
                let control = self
                    .outcome_models
                    .first()
                    .ok_or_else(missing)?
                    .predict(x)?;
                self.outcome_models[1..]
                    .iter()
                    .map(|m| {
                        Ok(m.predict(x)?
                            .iter()
                            .zip(&control)
                            .map(|(t, c)| t - c)
                            .collect())
                    })
                    .collect()
            }
            MetaLearner::X => (1..self.n_arms)
                .map(|a| {
                    let from_control = self
                        .effect_models
                        .get(2 * (a - 1))
                        .ok_or_else(missing)?
                        .predict(x)?;
                    let from_treated = self
                        .effect_models
                        .get(2 * (a - 1) + 1)
                        .ok_or_else(missing)?
                        .predict(x)?;
                    let g = self.arm_shares[a] / (self.arm_shares[a] + self.arm_shares[0]);
                    Ok(from_control
                        .iter()
                        .zip(&from_treated)
                        .map(|(t0, t1)| g * t0 + (1.0 - g) * t1)
                        .collect())
                })
                .collect(),
            MetaLearner::Dr => self.effect_models.iter().map(|m| m.predict(x)).collect(),
        }
    }
}
