//! Logged bandit feedback, stored as one array per field so that estimators stream over plain `f64` slices.

use crate::error::{EvalError, Result};

/// A dense row-major matrix of `f64` (rows are rounds, columns are features).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Matrix {
    pub n_rows: usize,
    pub n_cols: usize,
    pub values: Vec<f64>,
}

impl Matrix {
    /// A matrix from row-major values; fails when `values.len() != n_rows * n_cols`.
    pub fn new(n_rows: usize, n_cols: usize, values: Vec<f64>) -> Result<Self> {
        if values.len() != n_rows * n_cols {
            return Err(EvalError::shape(
                "matrix values",
                n_rows * n_cols,
                values.len(),
            ));
        }
        Ok(Matrix {
            n_rows,
            n_cols,
            values,
        })
    }

    /// Row `i` as a slice.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.n_cols..(i + 1) * self.n_cols]
    }
}

/// Logged bandit feedback: for each round, the action the logging (behaviour) policy chose, the position it
/// was shown at (0 when the interface shows one action), the reward observed, and the probability with which the
/// logging policy chose that action at that position (the propensity score). Context features are optional and
/// only used by context-aware reward models.
///
/// The layout is struct-of-arrays: every field is one contiguous vector indexed by round.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BanditLog {
    pub n_actions: usize,
    pub n_positions: usize,
    pub action: Vec<u32>,
    pub position: Vec<u32>,
    pub reward: Vec<f64>,
    pub pscore: Vec<f64>,
    pub context: Option<Matrix>,
}

impl BanditLog {
    /// Validates and builds a log. `position` may be `None` for single-slot interfaces (all rounds at
    /// position 0). Every propensity must be in `(0, 1]`, every action below `n_actions`, every position below
    /// `n_positions`, every reward finite.
    pub fn new(
        n_actions: usize,
        n_positions: usize,
        action: Vec<u32>,
        position: Option<Vec<u32>>,
        reward: Vec<f64>,
        pscore: Vec<f64>,
        context: Option<Matrix>,
    ) -> Result<Self> {
        let n = action.len();
        if n == 0 {
            return Err(EvalError::Insufficient("the log has no rounds".into()));
        }
        if n_actions == 0 || n_positions == 0 {
            return Err(EvalError::setting(
                "n_actions/n_positions",
                "both must be at least 1",
            ));
        }
        let position = position.unwrap_or_else(|| vec![0; n]);
        for (what, len) in [
            ("position", position.len()),
            ("reward", reward.len()),
            ("pscore", pscore.len()),
        ] {
            if len != n {
                return Err(EvalError::shape(what, n, len));
            }
        }
        if let Some(context) = &context {
            if context.n_rows != n {
                return Err(EvalError::shape("context rows", n, context.n_rows));
            }
        }
        for i in 0..n {
            if action[i] as usize >= n_actions {
                return Err(EvalError::invalid(
                    "action",
                    i,
                    action[i] as f64,
                    format!("must be below n_actions = {n_actions}"),
                ));
            }
            if position[i] as usize >= n_positions {
                return Err(EvalError::invalid(
                    "position",
                    i,
                    position[i] as f64,
                    format!("must be below n_positions = {n_positions}"),
                ));
            }
            if !reward[i].is_finite() {
                return Err(EvalError::invalid("reward", i, reward[i], "must be finite"));
            }
            if !(pscore[i] > 0.0 && pscore[i] <= 1.0) {
                return Err(EvalError::invalid(
                    "pscore",
                    i,
                    pscore[i],
                    "a propensity must be in (0, 1]",
                ));
            }
        }
        Ok(BanditLog {
            n_actions,
            n_positions,
            action,
            position,
            reward,
            pscore,
            context,
        })
    }

    /// Number of rounds.
    pub fn n_rounds(&self) -> usize {
        self.action.len()
    }

    /// Mean observed reward: the on-policy value of the logging policy.
    pub fn mean_reward(&self) -> f64 {
        crate::stats::mean(&self.reward)
    }

    /// Context row of round `i`, if the log has contexts.
    pub fn context_row(&self, i: usize) -> Option<&[f64]> {
        self.context.as_ref().map(|c| c.row(i))
    }
}
