//! Per-round summaries that every estimator needs, computed once from the log, the evaluation policy and the
//! reward model. After this step each estimator is a single pass over a few `f64` slices.

use super::log::BanditLog;
use super::tensor::{RoundTensor, TensorLayout};
use crate::error::{EvalError, Result};

/// The per-round quantities the estimators read, one vector each (struct-of-arrays):
///
/// * `reward[i]` = r_i and `pscore[i]` = π_b(a_i | x_i) from the log;
/// * `target_prob[i]` = π_e(a_i | x_i, p_i): the evaluation policy's probability of the logged action at the
///   logged position;
/// * `reward_hat_logged[i]` = q̂(x_i, a_i, p_i): the reward model's prediction for the logged action;
/// * `reward_hat_policy[i]` = Σ_a π_e(a | x_i, p_i) q̂(x_i, a, p_i) / Σ_a π_e(a | x_i, p_i): the model's expected
///   reward under the evaluation policy (exactly NumPy's `np.average(q, weights=pi)` as in Open Bandit Pipeline).
///
/// The two model vectors are `None` when no reward model was given; DM and the DR family then refuse to run.
#[derive(Debug, Clone, PartialEq)]
pub struct OpeInputs {
    pub reward: Vec<f64>,
    pub pscore: Vec<f64>,
    pub target_prob: Vec<f64>,
    pub reward_hat_logged: Option<Vec<f64>>,
    pub reward_hat_policy: Option<Vec<f64>>,
}

impl OpeInputs {
    /// Summarises a log under an evaluation policy `action_dist` and optional reward-model predictions
    /// `estimated_rewards` (both `n_rounds x n_actions x n_positions`).
    pub fn prepare(
        log: &BanditLog,
        action_dist: &RoundTensor,
        estimated_rewards: Option<&RoundTensor>,
    ) -> Result<Self> {
        let n = log.n_rounds();
        check_tensor_shape("action_dist", action_dist, log)?;
        if let Some(q) = estimated_rewards {
            check_tensor_shape("estimated_rewards", q, log)?;
        }
        let n_positions = log.n_positions;
        let mut target_prob = Vec::with_capacity(n);
        for i in 0..n {
            let p = action_dist.get(i, log.action[i] as usize, log.position[i] as usize);
            if !(0.0..=1.0).contains(&p) {
                return Err(EvalError::invalid(
                    "action_dist",
                    i,
                    p,
                    "a probability must be in [0, 1]",
                ));
            }
            target_prob.push(p);
        }
        let (reward_hat_logged, reward_hat_policy) = match estimated_rewards {
            None => (None, None),
            Some(q) => {
                let mut logged = Vec::with_capacity(n);
                let mut policy = Vec::with_capacity(n);
                // With table layouts (shared or per fold/context type) few (policy table, model table, position)
                // combinations exist: compute each expected reward once. NaN marks "not computed yet".
                let combinations = action_dist.n_tables() * q.n_tables() * n_positions;
                let mut cache = if !matches!(action_dist.layout(), TensorLayout::PerRound)
                    && !matches!(q.layout(), TensorLayout::PerRound)
                    && combinations <= 1 << 20
                {
                    Some(vec![f64::NAN; combinations])
                } else {
                    None
                };
                for i in 0..n {
                    let a_i = log.action[i] as usize;
                    let p_i = log.position[i] as usize;
                    logged.push(q.get(i, a_i, p_i));
                    let key = (action_dist.table_index(i) * q.n_tables() + q.table_index(i))
                        * n_positions
                        + p_i;
                    if let Some(cached) = cache.as_ref().map(|c| c[key]).filter(|v| !v.is_nan()) {
                        policy.push(cached);
                        continue;
                    }
                    let value = expected_reward_at_position(action_dist.table(i), q.table(i), n_positions, p_i)
                        .ok_or_else(|| {
                            EvalError::invalid(
                                "action_dist",
                                i,
                                0.0,
                                format!("the evaluation policy puts no mass on position {p_i} in this round"),
                            )
                        })?;
                    if let Some(cache) = cache.as_mut() {
                        cache[key] = value;
                    }
                    policy.push(value);
                }
                (Some(logged), Some(policy))
            }
        };
        Ok(OpeInputs {
            reward: log.reward.clone(),
            pscore: log.pscore.clone(),
            target_prob,
            reward_hat_logged,
            reward_hat_policy,
        })
    }

    /// Builds inputs from already computed per-round summaries (used by benchmarks and by callers whose
    /// policies are not stored as tensors). All vectors must have the same length; propensities in `(0, 1]`.
    pub fn from_summaries(
        reward: Vec<f64>,
        pscore: Vec<f64>,
        target_prob: Vec<f64>,
        reward_hat_logged: Option<Vec<f64>>,
        reward_hat_policy: Option<Vec<f64>>,
    ) -> Result<Self> {
        let n = reward.len();
        if n == 0 {
            return Err(EvalError::Insufficient("no rounds to evaluate".into()));
        }
        for (what, len) in [("pscore", pscore.len()), ("target_prob", target_prob.len())] {
            if len != n {
                return Err(EvalError::shape(what, n, len));
            }
        }
        if reward_hat_logged.is_some() != reward_hat_policy.is_some() {
            return Err(EvalError::setting(
                "reward_hat",
                "give both the logged-action and the policy predictions, or neither",
            ));
        }
        for (what, v) in [
            ("reward_hat_logged", &reward_hat_logged),
            ("reward_hat_policy", &reward_hat_policy),
        ] {
            if let Some(v) = v {
                if v.len() != n {
                    return Err(EvalError::shape(what, n, v.len()));
                }
            }
        }
        if let Some(i) = pscore.iter().position(|p| !(*p > 0.0 && *p <= 1.0)) {
            return Err(EvalError::invalid(
                "pscore",
                i,
                pscore[i],
                "a propensity must be in (0, 1]",
            ));
        }
        Ok(OpeInputs {
            reward,
            pscore,
            target_prob,
            reward_hat_logged,
            reward_hat_policy,
        })
    }

    /// Number of rounds.
    pub fn n_rounds(&self) -> usize {
        self.reward.len()
    }

    /// Importance weight of round `i`: π_e(a_i | x_i, p_i) / π_b(a_i | x_i).
    #[inline]
    pub fn weight(&self, i: usize) -> f64 {
        self.target_prob[i] / self.pscore[i]
    }
}

/// Σ_a π(a, p) q(a, p) / Σ_a π(a, p) for one round's `[action][position]` tables; `None` when Σ_a π(a, p) = 0.
fn expected_reward_at_position(
    pi_table: &[f64],
    q_table: &[f64],
    n_positions: usize,
    p: usize,
) -> Option<f64> {
    let mut weighted = 0.0;
    let mut total = 0.0;
    for (pi_row, q_row) in pi_table
        .chunks_exact(n_positions)
        .zip(q_table.chunks_exact(n_positions))
    {
        weighted += pi_row[p] * q_row[p];
        total += pi_row[p];
    }
    if total > 0.0 {
        Some(weighted / total)
    } else {
        None
    }
}

fn check_tensor_shape(what: &str, tensor: &RoundTensor, log: &BanditLog) -> Result<()> {
    if tensor.n_rounds() != log.n_rounds() {
        return Err(EvalError::shape(
            &format!("{what} rounds"),
            log.n_rounds(),
            tensor.n_rounds(),
        ));
    }
    if tensor.n_actions() != log.n_actions {
        return Err(EvalError::shape(
            &format!("{what} actions"),
            log.n_actions,
            tensor.n_actions(),
        ));
    }
    if tensor.n_positions() != log.n_positions {
        return Err(EvalError::shape(
            &format!("{what} positions"),
            log.n_positions,
            tensor.n_positions(),
        ));
    }
    Ok(())
}
