//! Timing of the off-policy estimators on a large synthetic log (`discount bench ope`).
//!
//! Speed is measured here and reported, never asserted in tests.

use std::time::Instant;

use crate::error::Result;
use crate::ope::synthetic::{generate, SyntheticConfig};
use crate::ope::{
    bootstrap_means, cross_fit, BootstrapConfig, EmpiricalMeanRewardModel, Estimator, OpeInputs,
};

/// Time and result of one estimator's point estimate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EstimatorTiming {
    pub estimator: String,
    pub seconds: f64,
    pub estimate: f64,
}

/// What [`bench_ope`] measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BenchReport {
    pub n_rounds: usize,
    pub n_actions: usize,
    pub n_positions: usize,
    pub n_bootstrap: usize,
    pub threads: usize,
    /// Generating the synthetic log (not part of evaluation).
    pub generate_seconds: f64,
    /// 3-fold cross-fitting of the empirical-mean reward model.
    pub cross_fit_seconds: f64,
    /// Summarising log, policy and model per round ([`OpeInputs::prepare`]).
    pub prepare_seconds: f64,
    pub estimators: Vec<EstimatorTiming>,
    /// Sum of the estimators' point-estimate times.
    pub point_estimates_seconds: f64,
    /// Bootstrap of all estimators together (`n_bootstrap` resamples).
    pub bootstrap_seconds: f64,
    pub true_value: f64,
}

/// Generates a synthetic log of `n_rounds` rounds (10 actions, 3 positions, 8 context types), cross-fits a reward
/// model, and times each estimator's point estimate and the joint bootstrap of all of them.
pub fn bench_ope(n_rounds: usize, n_bootstrap: usize, seed: u64) -> Result<BenchReport> {
    let config = SyntheticConfig {
        n_rounds,
        n_actions: 10,
        n_positions: 3,
        n_context_types: 8,
        problem_seed: seed,
        sample_seed: seed.wrapping_add(1),
        ..SyntheticConfig::default()
    };
    let start = Instant::now();
    let synthetic = generate(&config)?;
    let generate_seconds = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let model = EmpiricalMeanRewardModel::default();
    let estimated_rewards = cross_fit(&model, &synthetic.log, 3, seed)?;
    let cross_fit_seconds = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let inputs = OpeInputs::prepare(
        &synthetic.log,
        &synthetic.action_dist,
        Some(&estimated_rewards),
    )?;
    let prepare_seconds = start.elapsed().as_secs_f64();

    let mut estimators = vec![Estimator::Replay];
    estimators.extend(Estimator::standard_set());
    let mut timings = Vec::new();
    for estimator in &estimators {
        let start = Instant::now();
        let estimate = estimator.estimate(&inputs)?;
        timings.push(EstimatorTiming {
            estimator: estimator.label(),
            seconds: start.elapsed().as_secs_f64(),
            estimate,
        });
    }
    let point_estimates_seconds = timings.iter().map(|t| t.seconds).sum();

    let bootstrap_seconds = if n_bootstrap > 0 {
        let start = Instant::now();
        let columns = estimators
            .iter()
            .map(|e| e.round_rewards(&inputs))
            .collect::<Result<Vec<_>>>()?;
        bootstrap_means(&columns, &BootstrapConfig::new(n_bootstrap, 0.05, seed))?;
        start.elapsed().as_secs_f64()
    } else {
        0.0
    };
    Ok(BenchReport {
        n_rounds,
        n_actions: config.n_actions,
        n_positions: config.n_positions,
        n_bootstrap,
        threads: std::thread::available_parallelism()
            .map(|t| t.get())
            .unwrap_or(1),
        generate_seconds,
        cross_fit_seconds,
        prepare_seconds,
        estimators: timings,
        point_estimates_seconds,
        bootstrap_seconds,
        true_value: synthetic.true_value,
    })
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "OPE benchmark: {} rounds, {} actions, {} positions, {} threads",
            self.n_rounds, self.n_actions, self.n_positions, self.threads
        )?;
        writeln!(
            f,
            "  generate synthetic log   {:>9.3} s (not evaluation)",
            self.generate_seconds
        )?;
        writeln!(
            f,
            "  reward model cross-fit   {:>9.3} s",
            self.cross_fit_seconds
        )?;
        writeln!(
            f,
            "  prepare per-round inputs {:>9.3} s",
            self.prepare_seconds
        )?;
        for t in &self.estimators {
            writeln!(
                f,
                "  {:<24} {:>9.3} s   estimate {:.6}",
                t.estimator, t.seconds, t.estimate
            )?;
        }
        writeln!(
            f,
            "  all point estimates      {:>9.3} s",
            self.point_estimates_seconds
        )?;
        writeln!(
            f,
            "  bootstrap ({} resamples) {:>9.3} s",
            self.n_bootstrap, self.bootstrap_seconds
        )?;
        write!(f, "  true value               {:.6}", self.true_value)
    }
}
