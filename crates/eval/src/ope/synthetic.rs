//! Synthetic logged bandit feedback with a known true policy value, for tests and benchmarks.
//!
//! Contexts are one of `n_context_types` types (uniform). In a round of type k, a position p is drawn uniformly,
//! the logging policy draws action a from softmax(β_b · s_b(k, a)), and the reward is Bernoulli(q(k, a, p)) with
//! q(k, a, p) = sigmoid(θ(k, a) − 0.3 p). The evaluation policy is softmax(β_e · s_e(k, a)) with scores correlated
//! with θ (a "better" policy). Because contexts are discrete, the true value
//! V(π_e) = E_k E_p Σ_a π_e(a | k, p) q(k, a, p) is computed exactly.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use super::log::{BanditLog, Matrix};
use super::tensor::RoundTensor;
use crate::error::{EvalError, Result};

/// Settings of a synthetic log.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SyntheticConfig {
    pub n_rounds: usize,
    pub n_actions: usize,
    pub n_positions: usize,
    pub n_context_types: usize,
    /// Inverse temperature of the logging policy (0 = uniform).
    pub behavior_sharpness: f64,
    /// Inverse temperature of the evaluation policy.
    pub target_sharpness: f64,
    /// Seed of the problem (rewards, policies) — fixed across repetitions to keep the same truth.
    pub problem_seed: u64,
    /// Seed of the sampled rounds.
    pub sample_seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            n_rounds: 10_000,
            n_actions: 10,
            n_positions: 3,
            n_context_types: 8,
            behavior_sharpness: 0.5,
            target_sharpness: 1.5,
            problem_seed: 1,
            sample_seed: 2,
        }
    }
}

/// A synthetic log together with the evaluation policy, the true expected rewards and the true value.
#[derive(Debug, Clone)]
pub struct SyntheticLog {
    pub log: BanditLog,
    /// Evaluation policy π_e(a | round, p) (one table per context type).
    pub action_dist: RoundTensor,
    /// Logging policy π_b(a | round, p).
    pub behavior_dist: RoundTensor,
    /// True expected reward q(round, a, p).
    pub expected_reward: RoundTensor,
    /// True value of the evaluation policy.
    pub true_value: f64,
    /// Context type of each round.
    pub context_type: Vec<u32>,
}

fn softmax_table(scores: &[f64], sharpness: f64, n_actions: usize, n_positions: usize) -> Vec<f64> {
    let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = scores
        .iter()
        .map(|s| (sharpness * (s - max)).exp())
        .collect();
    let total: f64 = exp.iter().sum();
    let mut table = vec![0.0; n_actions * n_positions];
    for a in 0..n_actions {
        for p in 0..n_positions {
            table[a * n_positions + p] = exp[a] / total;
        }
    }
    table
}

/// Generates a synthetic log. Contexts are stored as one-hot rows of the context type.
pub fn generate(config: &SyntheticConfig) -> Result<SyntheticLog> {
    let SyntheticConfig {
        n_rounds,
        n_actions,
        n_positions,
        n_context_types,
        ..
    } = *config;
    if n_rounds == 0 || n_actions == 0 || n_positions == 0 || n_context_types == 0 {
        return Err(EvalError::setting(
            "synthetic config",
            "rounds, actions, positions and context types must all be at least 1",
        ));
    }
    let mut problem_rng = StdRng::seed_from_u64(config.problem_seed);
    let standard =
        Normal::new(0.0, 1.0).map_err(|e| EvalError::setting("normal", e.to_string()))?;
    let table_len = n_actions * n_positions;
    let mut behavior = Vec::with_capacity(n_context_types * table_len);
    let mut target = Vec::with_capacity(n_context_types * table_len);
    let mut expected = Vec::with_capacity(n_context_types * table_len);
    let mut true_value = 0.0;
    for _ in 0..n_context_types {
        let theta: Vec<f64> = (0..n_actions)
            .map(|_| -2.0 + 0.8 * standard.sample(&mut problem_rng))
            .collect();
        let behavior_scores: Vec<f64> = (0..n_actions)
            .map(|_| standard.sample(&mut problem_rng))
            .collect();
        let target_scores: Vec<f64> = theta
            .iter()
            .map(|t| t + 0.5 * standard.sample(&mut problem_rng))
            .collect();
        let b = softmax_table(
            &behavior_scores,
            config.behavior_sharpness,
            n_actions,
            n_positions,
        );
        let e = softmax_table(
            &target_scores,
            config.target_sharpness,
            n_actions,
            n_positions,
        );
        let mut q = vec![0.0; table_len];
        for a in 0..n_actions {
            for p in 0..n_positions {
                q[a * n_positions + p] = 1.0 / (1.0 + (-(theta[a] - 0.3 * p as f64)).exp());
                true_value += e[a * n_positions + p] * q[a * n_positions + p]
                    / (n_context_types * n_positions) as f64;
            }
        }
        behavior.extend(b);
        target.extend(e);
        expected.extend(q);
    }
    let mut rng = StdRng::seed_from_u64(config.sample_seed);
    let mut context_type = Vec::with_capacity(n_rounds);
    let mut action = Vec::with_capacity(n_rounds);
    let mut position = Vec::with_capacity(n_rounds);
    let mut reward = Vec::with_capacity(n_rounds);
    let mut pscore = Vec::with_capacity(n_rounds);
    for _ in 0..n_rounds {
        let k = rng.gen_range(0..n_context_types);
        let p = rng.gen_range(0..n_positions);
        let table = &behavior[k * table_len..(k + 1) * table_len];
        let u: f64 = rng.gen();
        let mut cumulative = 0.0;
        let mut chosen = n_actions - 1;
        for a in 0..n_actions {
            cumulative += table[a * n_positions + p];
            if u < cumulative {
                chosen = a;
                break;
            }
        }
        let q = expected[k * table_len + chosen * n_positions + p];
        context_type.push(k as u32);
        action.push(chosen as u32);
        position.push(p as u32);
        reward.push(if rng.gen::<f64>() < q { 1.0 } else { 0.0 });
        pscore.push(table[chosen * n_positions + p]);
    }
    let context = if n_rounds.saturating_mul(n_context_types) <= 50_000_000 {
        let mut values = vec![0.0; n_rounds * n_context_types];
        for (i, k) in context_type.iter().enumerate() {
            values[i * n_context_types + *k as usize] = 1.0;
        }
        Some(Matrix::new(n_rounds, n_context_types, values)?)
    } else {
        None
    };
    let log = BanditLog::new(
        n_actions,
        n_positions,
        action,
        Some(position),
        reward,
        pscore,
        context,
    )?;
    Ok(SyntheticLog {
        log,
        action_dist: RoundTensor::grouped(n_actions, n_positions, context_type.clone(), target)?,
        behavior_dist: RoundTensor::grouped(
            n_actions,
            n_positions,
            context_type.clone(),
            behavior,
        )?,
        expected_reward: RoundTensor::grouped(
            n_actions,
            n_positions,
            context_type.clone(),
            expected,
        )?,
        true_value,
        context_type,
    })
}
