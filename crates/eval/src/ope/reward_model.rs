//! Reward models for DM and the DR family, fitted by K-fold cross-fitting.
//!
//! A reward model predicts q̂(x, a, p) = E[r | x, a, p]. Cross-fitting (Chernozhukov et al., 2018; Open Bandit
//! Pipeline's `RegressionModel.fit_predict(n_folds=K)`) splits the rounds into K folds and predicts each fold
//! with a model fitted on the other folds, so that no round's prediction has seen its own reward; this is what
//! keeps DR's correction term unbiased.
//!
//! [`RewardModel`] is a trait so that better models (from the learning crate) can plug in; two simple, fast
//! models live here: [`EmpiricalMeanRewardModel`] (per action and position mean, shrunk towards the position's
//! mean by a Beta prior) and [`LogisticRewardModel`] (those means as offsets plus a logistic regression on the
//! context features).

use super::log::BanditLog;
use super::tensor::RoundTensor;
use crate::error::{EvalError, Result};
use crate::logistic::{fit_logistic, LogisticRow, NewtonSettings};
use crate::numerics::sigmoid;

/// A reward model that can be fitted on a subset of the rounds of a log.
pub trait RewardModel {
    /// A short description for reports, e.g. `empirical-mean(prior=10)`.
    fn name(&self) -> String;
    /// Fits on the rounds `train_rows` of `log`.
    fn fit(&self, log: &BanditLog, train_rows: &[usize]) -> Result<Box<dyn FittedRewardModel>>;
}

/// A fitted reward model.
pub trait FittedRewardModel {
    /// Writes q̂(x, a, position) for every action `a` into `out` (length `n_actions`), where `context` is the
    /// round's feature row (if the log has contexts).
    fn predict(&self, context: Option<&[f64]>, position: usize, out: &mut [f64]);
    /// When the predictions do not depend on the context: the `[action][position]` table, so the caller can
    /// store one table per fold instead of one per round.
    fn context_free_table(&self) -> Option<&[f64]> {
        None
    }
}

/// Splits `0..n` into `n_folds` shuffled folds of sizes differing by at most one (seeded; the one
/// assignment of [`crate::folds::kfold_assignment`]).
pub fn k_fold_assignment(n: usize, n_folds: usize, seed: u64) -> Result<Vec<u32>> {
    crate::folds::kfold_assignment(n, n_folds, seed)
        .map(|folds| folds.into_iter().map(|f| f as u32).collect())
        .ok_or_else(|| {
            EvalError::setting(
                "n_folds",
                format!("must be between 2 and the number of rounds ({n}), got {n_folds}"),
            )
        })
}

/// Predicts every round with a model fitted on the other folds. With `n_folds = 1` the model is fitted on all
/// rounds and predicts all of them (no cross-fitting, as in Open Bandit Pipeline with `n_folds=1`).
/// Returns a `n_rounds x n_actions x n_positions` tensor (stored per fold when the model is context-free).
pub fn cross_fit(
    model: &dyn RewardModel,
    log: &BanditLog,
    n_folds: usize,
    seed: u64,
) -> Result<RoundTensor> {
    let n = log.n_rounds();
    let (n_actions, n_positions) = (log.n_actions, log.n_positions);
    let fold = if n_folds == 1 {
        vec![0u32; n]
    } else {
        k_fold_assignment(n, n_folds, seed)?
    };
    let mut fitted = Vec::with_capacity(n_folds);
    for k in 0..n_folds as u32 {
        let train: Vec<usize> = if n_folds == 1 {
            (0..n).collect()
        } else {
            (0..n).filter(|&i| fold[i] != k).collect()
        };
        fitted.push(model.fit(log, &train)?);
    }
    let tables: Option<Vec<&[f64]>> = fitted.iter().map(|m| m.context_free_table()).collect();
    if let Some(tables) = tables {
        let mut values = Vec::with_capacity(n_folds * n_actions * n_positions);
        for table in tables {
            if table.len() != n_actions * n_positions {
                return Err(EvalError::shape(
                    "reward model table",
                    n_actions * n_positions,
                    table.len(),
                ));
            }
            values.extend_from_slice(table);
        }
        return RoundTensor::grouped(n_actions, n_positions, fold, values);
    }
    let mut values = vec![0.0; n * n_actions * n_positions];
    let mut row = vec![0.0; n_actions];
    for i in 0..n {
        let model = &fitted[fold[i] as usize];
        let base = i * n_actions * n_positions;
        for p in 0..n_positions {
            model.predict(log.context_row(i), p, &mut row);
            for (a, v) in row.iter().enumerate() {
                values[base + a * n_positions + p] = *v;
            }
        }
    }
    RoundTensor::per_round(n, n_actions, n_positions, values)
}

/// Per (action, position) mean reward with a Beta prior centred on the position's mean reward:
/// q̂(a, p) = (Σ r + s · m_p) / (count + s), where `s` = `prior_strength` pseudo-rounds and m_p is the mean
/// reward at position p in the training rows. With binary rewards this is the posterior mean under
/// Beta(s · m_p, s · (1 − m_p)). Context-free.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EmpiricalMeanRewardModel {
    pub prior_strength: f64,
}

impl Default for EmpiricalMeanRewardModel {
    fn default() -> Self {
        EmpiricalMeanRewardModel {
            prior_strength: 10.0,
        }
    }
}

impl EmpiricalMeanRewardModel {
    /// A model with `prior_strength ≥ 0` pseudo-rounds of prior.
    pub fn new(prior_strength: f64) -> Result<Self> {
        if !(prior_strength >= 0.0 && prior_strength.is_finite()) {
            return Err(EvalError::setting(
                "prior_strength",
                format!("must be a finite number ≥ 0, got {prior_strength}"),
            ));
        }
        Ok(EmpiricalMeanRewardModel { prior_strength })
    }

    fn fit_table(&self, log: &BanditLog, train_rows: &[usize]) -> Result<Vec<f64>> {
        if train_rows.is_empty() {
            return Err(EvalError::Insufficient(
                "no training rounds for the reward model".into(),
            ));
        }
        let (n_actions, n_positions) = (log.n_actions, log.n_positions);
        let mut sums = vec![0.0; n_actions * n_positions];
        let mut counts = vec![0.0; n_actions * n_positions];
        let mut position_sums = vec![0.0; n_positions];
        let mut position_counts = vec![0.0; n_positions];
        for &i in train_rows {
            let (a, p) = (log.action[i] as usize, log.position[i] as usize);
            sums[a * n_positions + p] += log.reward[i];
            counts[a * n_positions + p] += 1.0;
            position_sums[p] += log.reward[i];
            position_counts[p] += 1.0;
        }
        let overall = position_sums.iter().sum::<f64>() / position_counts.iter().sum::<f64>();
        let position_mean: Vec<f64> = position_sums
            .iter()
            .zip(&position_counts)
            .map(|(s, c)| if *c > 0.0 { s / c } else { overall })
            .collect();
        let s = self.prior_strength;
        Ok((0..n_actions * n_positions)
            .map(|cell| {
                let m = position_mean[cell % n_positions];
                if counts[cell] + s > 0.0 {
                    (sums[cell] + s * m) / (counts[cell] + s)
                } else {
                    m
                }
            })
            .collect())
    }
}

struct TableModel {
    n_positions: usize,
    table: Vec<f64>,
}

impl FittedRewardModel for TableModel {
    fn predict(&self, _context: Option<&[f64]>, position: usize, out: &mut [f64]) {
        for (a, v) in out.iter_mut().enumerate() {
            *v = self.table[a * self.n_positions + position];
        }
    }
    fn context_free_table(&self) -> Option<&[f64]> {
        Some(&self.table)
    }
}

impl RewardModel for EmpiricalMeanRewardModel {
    fn name(&self) -> String {
        format!("empirical-mean(prior={})", self.prior_strength)
    }

    fn fit(&self, log: &BanditLog, train_rows: &[usize]) -> Result<Box<dyn FittedRewardModel>> {
        Ok(Box::new(TableModel {
            n_positions: log.n_positions,
            table: self.fit_table(log, train_rows)?,
        }))
    }
}

/// Logistic regression for rewards in `[0, 1]`: logit q̂(x, a, p) = logit(q̄(a, p)) + β·x, where q̄ is the
/// [`EmpiricalMeanRewardModel`] table (used as a fixed offset, so each action and position keeps its own base
/// rate), plus an intercept, and β is fitted by Newton's method with an L2 penalty `l2` on the context features x.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogisticRewardModel {
    pub base: EmpiricalMeanRewardModel,
    pub l2: f64,
    pub max_iterations: usize,
}

impl Default for LogisticRewardModel {
    fn default() -> Self {
        LogisticRewardModel {
            base: EmpiricalMeanRewardModel::default(),
            l2: 1.0,
            max_iterations: 25,
        }
    }
}

impl LogisticRewardModel {
    /// Validated constructor: `l2 > 0` (keeps Newton's system solvable), `max_iterations ≥ 1`.
    pub fn new(base: EmpiricalMeanRewardModel, l2: f64, max_iterations: usize) -> Result<Self> {
        if !(l2 > 0.0 && l2.is_finite()) {
            return Err(EvalError::setting(
                "l2",
                format!("must be a finite number > 0, got {l2}"),
            ));
        }
        if max_iterations == 0 {
            return Err(EvalError::setting("max_iterations", "must be at least 1"));
        }
        Ok(LogisticRewardModel {
            base,
            l2,
            max_iterations,
        })
    }
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

struct FittedLogistic {
    n_positions: usize,
    offset: Vec<f64>,
    coefficients: Vec<f64>,
}

impl FittedRewardModel for FittedLogistic {
    fn predict(&self, context: Option<&[f64]>, position: usize, out: &mut [f64]) {
        let intercept = self.coefficients.first().copied().unwrap_or(0.0);
        let shift: f64 = match context {
            Some(x) => x
                .iter()
                .zip(&self.coefficients[1..])
                .map(|(x, b)| x * b)
                .sum(),
            None => 0.0,
        };
        for (a, v) in out.iter_mut().enumerate() {
            *v = sigmoid(self.offset[a * self.n_positions + position] + intercept + shift);
        }
    }
}

impl RewardModel for LogisticRewardModel {
    fn name(&self) -> String {
        format!(
            "logistic(l2={}, prior={})",
            self.l2, self.base.prior_strength
        )
    }

    fn fit(&self, log: &BanditLog, train_rows: &[usize]) -> Result<Box<dyn FittedRewardModel>> {
        let context = log.context.as_ref().ok_or_else(|| {
            EvalError::setting(
                "reward model",
                "the logistic reward model needs context features",
            )
        })?;
        if let Some(&i) = train_rows
            .iter()
            .find(|&&i| !(0.0..=1.0).contains(&log.reward[i]))
        {
            return Err(EvalError::invalid(
                "reward",
                i,
                log.reward[i],
                "the logistic reward model needs rewards in [0, 1]",
            ));
        }
        let table = self.base.fit_table(log, train_rows)?;
        let offset: Vec<f64> = table.iter().map(|&p| logit(p)).collect();
        // Coefficient 0 is an intercept (the offsets are base rates of the average context, the intercept
        // re-centres them when features are not centred); it is barely penalised.
        let d = context.n_cols + 1;
        let n_positions = log.n_positions;
        let mut penalty = vec![self.l2; d];
        penalty[0] = 1e-9;
        let settings = NewtonSettings {
            max_iterations: self.max_iterations,
            tolerance: 1e-8,
        };
        let fit = fit_logistic(
            train_rows.len(),
            vec![0.0; d],
            &penalty,
            settings,
            |k, x| {
                let i = train_rows[k];
                x[0] = 1.0;
                x[1..].copy_from_slice(context.row(i));
                let cell = log.action[i] as usize * n_positions + log.position[i] as usize;
                LogisticRow {
                    offset: offset[cell],
                    ..LogisticRow::plain(log.reward[i])
                }
            },
        )
        .map_err(|e| EvalError::Insufficient(format!("logistic reward model: {e}")))?;
        let beta = fit.coefficients;
        Ok(Box::new(FittedLogistic {
            n_positions,
            offset,
            coefficients: beta,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn tiny_log() -> BanditLog {
        // 2 actions, 1 position; action 0: rewards 1, 0, 1; action 1: rewards 0.
        BanditLog::new(
            2,
            1,
            vec![0, 0, 0, 1],
            None,
            vec![1.0, 0.0, 1.0, 0.0],
            vec![0.5; 4],
            None,
        )
        .unwrap()
    }

    #[test]
    fn empirical_mean_shrinks_towards_position_mean() {
        let log = tiny_log();
        let model = EmpiricalMeanRewardModel::new(2.0).unwrap();
        let fitted = model.fit(&log, &[0, 1, 2, 3]).unwrap();
        let mut out = [0.0; 2];
        fitted.predict(None, 0, &mut out);
        // Position mean m = 2/4 = 0.5. Action 0: (2 + 2*0.5)/(3 + 2) = 0.6. Action 1: (0 + 1)/(1 + 2) = 1/3.
        assert!((out[0] - 0.6).abs() < 1e-15);
        assert!((out[1] - 1.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn folds_are_balanced_and_seeded() {
        let a = k_fold_assignment(10, 3, 7).unwrap();
        let b = k_fold_assignment(10, 3, 7).unwrap();
        assert_eq!(a, b);
        let mut sizes = [0; 3];
        a.iter().for_each(|&f| sizes[f as usize] += 1);
        sizes.sort();
        assert_eq!(sizes, [3, 3, 4]);
        assert!(k_fold_assignment(3, 4, 0).is_err());
    }

    #[test]
    fn cross_fit_never_uses_a_rounds_own_reward() {
        // With prior strength 0 and 4 folds of one round each, each prediction for the logged action comes
        // from the other rounds only.
        let log = tiny_log();
        let model = EmpiricalMeanRewardModel::new(0.0).unwrap();
        let q = cross_fit(&model, &log, 4, 1).unwrap();
        // Round 0 (action 0, reward 1): the others with action 0 are rounds 1 and 2 -> mean 0.5.
        assert!((q.get(0, 0, 0) - 0.5).abs() < 1e-15);
        // Round 1 (action 0, reward 0): rounds 0 and 2 -> 1.0.
        assert!((q.get(1, 0, 0) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn logistic_model_learns_a_context_effect() {
        use rand::Rng;
        let mut rng = StdRng::seed_from_u64(3);
        let n = 4000;
        let mut context = Vec::with_capacity(n);
        let mut reward = Vec::with_capacity(n);
        for _ in 0..n {
            let x: f64 = if rng.gen::<bool>() { 1.0 } else { 0.0 };
            let p = if x == 1.0 { 0.6 } else { 0.2 };
            context.push(x);
            reward.push(if rng.gen::<f64>() < p { 1.0 } else { 0.0 });
        }
        let log = BanditLog::new(
            1,
            1,
            vec![0; n],
            None,
            reward,
            vec![1.0; n],
            Some(super::super::log::Matrix::new(n, 1, context).unwrap()),
        )
        .unwrap();
        let model = LogisticRewardModel::new(EmpiricalMeanRewardModel::new(0.0).unwrap(), 1e-3, 50)
            .unwrap();
        let rows: Vec<usize> = (0..n).collect();
        let fitted = model.fit(&log, &rows).unwrap();
        let mut out = [0.0];
        fitted.predict(Some(&[1.0]), 0, &mut out);
        assert!((out[0] - 0.6).abs() < 0.04, "{}", out[0]);
        fitted.predict(Some(&[0.0]), 0, &mut out);
        assert!((out[0] - 0.2).abs() < 0.04, "{}", out[0]);
    }
}
