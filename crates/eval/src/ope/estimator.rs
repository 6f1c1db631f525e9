//! The estimators as one enum, so that callers can list them, parse them from text and run them together.

use super::dr::{shrunk_weight, switch_weight};
use super::inputs::OpeInputs;
use super::ips::clipped_weight;
use super::replay::match_indicator;
use crate::error::{EvalError, Result};

/// An off-policy estimator and its hyper-parameter. Definitions follow Open Bandit Pipeline
/// (`obp.ope.estimators`); see the module docs of [`super::ips`], [`super::dm`], [`super::dr`] and
/// [`super::replay`] for the formulas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Estimator {
    /// Replay method for deterministic evaluation policies.
    Replay,
    /// Inverse propensity scoring with weights clipped at `clip` (∞ = no clipping).
    Ips { clip: f64 },
    /// Self-normalised IPS.
    Snips,
    /// Direct method (needs a reward model).
    Dm,
    /// Doubly robust with weights clipped at `clip` (∞ = no clipping).
    Dr { clip: f64 },
    /// Self-normalised doubly robust.
    Sndr,
    /// Switch doubly robust: importance correction only where the weight is at most `tau`.
    SwitchDr { tau: f64 },
    /// Doubly robust with optimistic shrinkage `lambda`.
    DrOs { lambda: f64 },
}

impl Estimator {
    /// The standard set: Replay is left out because it only applies to deterministic policies.
    pub fn standard_set() -> Vec<Estimator> {
        vec![
            Estimator::Ips {
                clip: f64::INFINITY,
            },
            Estimator::Snips,
            Estimator::Dm,
            Estimator::Dr {
                clip: f64::INFINITY,
            },
            Estimator::Sndr,
            Estimator::SwitchDr { tau: 100.0 },
            Estimator::DrOs { lambda: 100.0 },
        ]
    }

    /// A short label, with the hyper-parameter when it is not the default: `ips`, `ips(λ=10)`, `switch-dr(τ=100)`.
    pub fn label(&self) -> String {
        match *self {
            Estimator::Replay => "replay".into(),
            Estimator::Ips { clip } if clip.is_infinite() => "ips".into(),
            Estimator::Ips { clip } => format!("ips(λ={clip})"),
            Estimator::Snips => "snips".into(),
            Estimator::Dm => "dm".into(),
            Estimator::Dr { clip } if clip.is_infinite() => "dr".into(),
            Estimator::Dr { clip } => format!("dr(λ={clip})"),
            Estimator::Sndr => "sndr".into(),
            Estimator::SwitchDr { tau } => format!("switch-dr(τ={tau})"),
            Estimator::DrOs { lambda } => format!("dr-os(λ={lambda})"),
        }
    }

    /// Whether the estimator reads the reward model's predictions.
    pub fn needs_reward_model(&self) -> bool {
        matches!(
            self,
            Estimator::Dm
                | Estimator::Dr { .. }
                | Estimator::Sndr
                | Estimator::SwitchDr { .. }
                | Estimator::DrOs { .. }
        )
    }

    /// Checks the hyper-parameter (clipping and shrinkage must be ≥ 0 and not NaN).
    pub fn validate(&self) -> Result<()> {
        let (name, value) = match *self {
            Estimator::Ips { clip } | Estimator::Dr { clip } => ("clip (λ)", clip),
            Estimator::SwitchDr { tau } => ("tau (τ)", tau),
            Estimator::DrOs { lambda } => ("lambda (λ)", lambda),
            _ => return Ok(()),
        };
        if value.is_nan() || value < 0.0 {
            return Err(EvalError::setting(
                name,
                format!("must be a number ≥ 0 (or inf), got {value}"),
            ));
        }
        Ok(())
    }

    /// The per-round values whose mean is the estimate (Open Bandit Pipeline's `_estimate_round_rewards`);
    /// the bootstrap resamples these.
    pub fn round_rewards(&self, inputs: &OpeInputs) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(inputs.n_rounds());
        self.for_each_round_value(inputs, |v| out.push(v))?;
        Ok(out)
    }

    /// The point estimate: the mean of [`Self::round_rewards`], computed without allocating.
    pub fn estimate(&self, inputs: &OpeInputs) -> Result<f64> {
        let mut sum = 0.0;
        self.for_each_round_value(inputs, |v| sum += v)?;
        Ok(sum / inputs.n_rounds() as f64)
    }

    /// Effective sample size `(Σ ŵ)² / Σ ŵ²` of the weights this estimator actually applies (clipped, switched
    /// or shrunk; match indicators for Replay). DM applies no weights, so its effective sample size is `n`.
    /// A small value relative to `n` means a few rounds dominate the estimate.
    pub fn effective_sample_size(&self, inputs: &OpeInputs) -> f64 {
        let n = inputs.n_rounds();
        let weight_of = |i: usize| -> f64 {
            let w = inputs.weight(i);
            match *self {
                Estimator::Replay => match_indicator(inputs.target_prob[i]),
                Estimator::Ips { clip } | Estimator::Dr { clip } => clipped_weight(w, clip),
                Estimator::Snips | Estimator::Sndr => w,
                Estimator::Dm => 1.0,
                Estimator::SwitchDr { tau } => switch_weight(w, tau),
                Estimator::DrOs { lambda } => shrunk_weight(w, lambda),
            }
        };
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        for i in 0..n {
            let w = weight_of(i);
            sum += w;
            sum_sq += w * w;
        }
        if sum_sq == 0.0 {
            0.0
        } else {
            sum * sum / sum_sq
        }
    }

    /// Calls `sink` with each round's value. The `match` is outside the loops so each loop is a tight pass over
    /// plain slices.
    fn for_each_round_value(&self, inputs: &OpeInputs, mut sink: impl FnMut(f64)) -> Result<()> {
        self.validate()?;
        let reward = &inputs.reward[..];
        let pscore = &inputs.pscore[..];
        let target = &inputs.target_prob[..];
        let n = reward.len();
        let model = || -> Result<(&[f64], &[f64])> {
            match (&inputs.reward_hat_logged, &inputs.reward_hat_policy) {
                (Some(logged), Some(policy)) => Ok((&logged[..], &policy[..])),
                _ => Err(EvalError::setting(
                    "reward model",
                    format!(
                        "estimator `{}` needs reward-model predictions",
                        self.label()
                    ),
                )),
            }
        };
        match *self {
            Estimator::Replay => {
                let matches: f64 = target.iter().map(|&p| match_indicator(p)).sum();
                if matches == 0.0 {
                    // Open Bandit Pipeline returns zeros when no round matches.
                    (0..n).for_each(|_| sink(0.0));
                } else {
                    let match_rate = matches / n as f64;
                    for i in 0..n {
                        sink(match_indicator(target[i]) * reward[i] / match_rate);
                    }
                }
            }
            Estimator::Ips { clip } => {
                for i in 0..n {
                    sink(reward[i] * clipped_weight(target[i] / pscore[i], clip));
                }
            }
            Estimator::Snips => {
                let mean_weight = mean_weight(target, pscore)?;
                for i in 0..n {
                    sink(reward[i] * (target[i] / pscore[i]) / mean_weight);
                }
            }
            Estimator::Dm => {
                let (_, policy) = model()?;
                policy.iter().for_each(|&v| sink(v));
            }
            Estimator::Dr { clip } => {
                let (logged, policy) = model()?;
                for i in 0..n {
                    let w = clipped_weight(target[i] / pscore[i], clip);
                    sink(policy[i] + w * (reward[i] - logged[i]));
                }
            }
            Estimator::Sndr => {
                let (logged, policy) = model()?;
                let mean_weight = mean_weight(target, pscore)?;
                for i in 0..n {
                    let w = target[i] / pscore[i];
                    sink(policy[i] + w * (reward[i] - logged[i]) / mean_weight);
                }
            }
            Estimator::SwitchDr { tau } => {
                let (logged, policy) = model()?;
                for i in 0..n {
                    let w = switch_weight(target[i] / pscore[i], tau);
                    sink(policy[i] + w * (reward[i] - logged[i]));
                }
            }
            Estimator::DrOs { lambda } => {
                let (logged, policy) = model()?;
                for i in 0..n {
                    let w = shrunk_weight(target[i] / pscore[i], lambda);
                    sink(policy[i] + w * (reward[i] - logged[i]));
                }
            }
        }
        Ok(())
    }
}

fn mean_weight(target: &[f64], pscore: &[f64]) -> Result<f64> {
    let total: f64 = target.iter().zip(pscore).map(|(t, p)| t / p).sum();
    if total <= 0.0 {
        return Err(EvalError::Insufficient(
            "self-normalisation impossible: the evaluation policy gives probability 0 to every logged action"
                .into(),
        ));
    }
    Ok(total / target.len() as f64)
}

impl std::fmt::Display for Estimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl std::str::FromStr for Estimator {
    type Err = EvalError;

    /// Parses `replay`, `ips`, `ips:10` (clip 10), `snips`, `dm`, `dr`, `dr:10`, `sndr`, `switch-dr:100`,
    /// `dr-os:100` (also `dros`). Case-insensitive.
    fn from_str(text: &str) -> Result<Self> {
        let lower = text.trim().to_ascii_lowercase();
        let (name, parameter) = match lower.split_once(':') {
            Some((name, value)) => {
                let value: f64 = value.trim().parse().map_err(|_| {
                    EvalError::setting(
                        "estimator",
                        format!("`{text}`: the part after ':' must be a number (or inf)"),
                    )
                })?;
                (name.trim().to_string(), Some(value))
            }
            None => (lower.clone(), None),
        };
        let no_parameter = |estimator: Estimator| -> Result<Estimator> {
            match parameter {
                None => Ok(estimator),
                Some(_) => Err(EvalError::setting(
                    "estimator",
                    format!("`{text}` takes no parameter"),
                )),
            }
        };
        let estimator = match name.as_str() {
            "replay" | "rm" => no_parameter(Estimator::Replay)?,
            "ips" | "ipw" => Estimator::Ips {
                clip: parameter.unwrap_or(f64::INFINITY),
            },
            "snips" | "snipw" => no_parameter(Estimator::Snips)?,
            "dm" => no_parameter(Estimator::Dm)?,
            "dr" => Estimator::Dr {
                clip: parameter.unwrap_or(f64::INFINITY),
            },
            "sndr" => no_parameter(Estimator::Sndr)?,
            "switch-dr" | "switchdr" | "switch" => Estimator::SwitchDr {
                tau: parameter.unwrap_or(100.0),
            },
            "dr-os" | "dros" => Estimator::DrOs {
                lambda: parameter.unwrap_or(100.0),
            },
            _ => {
                return Err(EvalError::setting(
                    "estimator",
                    format!(
                        "unknown estimator `{text}`; known: replay, ips[:clip], snips, dm, dr[:clip], sndr, switch-dr[:tau], dr-os[:lambda]"
                    ),
                ))
            }
        };
        estimator.validate()?;
        Ok(estimator)
    }
}

/// Parses a comma-separated list such as `ips,snips,dm,dr,switch-dr:50`.
pub fn parse_estimator_list(text: &str) -> Result<Vec<Estimator>> {
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(str::parse)
        .collect()
}
