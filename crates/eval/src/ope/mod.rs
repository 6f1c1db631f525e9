//! Off-policy evaluation: "what would this policy have earned?" answered from a log of another policy.
//!
//! Steps: put the log in a [`BanditLog`], the evaluation policy in a [`RoundTensor`] (its probability of each
//! action at each position in each round), fit a reward model with [`cross_fit`], summarise everything once with
//! [`OpeInputs::prepare`], then run [`evaluate`] with the [`Estimator`]s you want. Definitions follow Open Bandit
//! Pipeline (`obp.ope.estimators`), including position-wise estimation: each round is scored with the evaluation
//! policy's distribution at the position where the logged action was shown.

pub mod bootstrap;
pub mod dm;
pub mod dr;
pub mod estimator;
pub mod inputs;
pub mod ips;
pub mod log;
pub mod policy_file;
pub mod replay;
pub mod reward_model;
pub mod slate;
pub mod synthetic;
pub mod tensor;

pub use bootstrap::{bootstrap_means, BootstrapConfig, BootstrapMethod, ConfidenceInterval};
pub use estimator::{parse_estimator_list, Estimator};
pub use inputs::OpeInputs;
pub use log::{BanditLog, Matrix};
pub use policy_file::read_action_dist_csv;
pub use reward_model::{
    cross_fit, EmpiricalMeanRewardModel, FittedRewardModel, LogisticRewardModel, RewardModel,
};
pub use slate::{estimate_slate_value, PlackettLuce, SlateEstimator, SlateRows};
pub use tensor::{RoundTensor, TensorLayout};

use crate::error::Result;

/// One estimator's answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EstimateResult {
    /// Estimator label, e.g. `ips`, `switch-dr(τ=100)`.
    pub estimator: String,
    /// Point estimate of the evaluation policy's value (mean reward per round).
    pub estimate: f64,
    /// Percentile bootstrap interval.
    pub interval: ConfidenceInterval,
    /// `(Σ ŵ)² / Σ ŵ²` of the weights the estimator applies; compare with `n_rounds`.
    pub effective_sample_size: f64,
    pub n_rounds: usize,
}

/// Runs each estimator on the same inputs: point estimate, bootstrap interval (all estimators resampled with the
/// same draws) and effective sample size.
pub fn evaluate(
    inputs: &OpeInputs,
    estimators: &[Estimator],
    bootstrap: &BootstrapConfig,
) -> Result<Vec<EstimateResult>> {
    let columns = estimators
        .iter()
        .map(|e| e.round_rewards(inputs))
        .collect::<Result<Vec<_>>>()?;
    let intervals = bootstrap_means(&columns, bootstrap)?;
    Ok(estimators
        .iter()
        .zip(columns.iter().zip(intervals))
        .map(|(estimator, (column, interval))| EstimateResult {
            estimator: estimator.label(),
            estimate: crate::stats::mean(column),
            interval,
            effective_sample_size: estimator.effective_sample_size(inputs),
            n_rounds: inputs.n_rounds(),
        })
        .collect())
}
