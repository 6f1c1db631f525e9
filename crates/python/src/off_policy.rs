//! Off-policy estimates from arrays laid out as Open Bandit Pipeline lays them out: `reward`, `action`,
//! `position` and `pscore` one value per round, `action_dist` and `estimated_rewards_by_reg_model` as
//! `n_rounds x n_actions x len_list` arrays in C order. The estimators are [`discount_eval::ope`]'s; this module
//! checks the arrays as Open Bandit Pipeline's `check_ope_inputs` does and reduces them, without copying the
//! tensors, to the per-round quantities the estimators read ([`OpeInputs`]).

use discount_eval::ope::{
    self, BanditLog, BootstrapConfig, ConfidenceInterval, Estimator, OpeInputs,
};

use crate::error::{BindingError, Result};

/// `action_dist`'s probabilities must sum to 1 at every (round, position) within NumPy's `allclose` tolerance
/// (`1e-8 + 1e-5 · 1`), as Open Bandit Pipeline checks them.
const DISTRIBUTION_TOLERANCE: f64 = 1e-8 + 1e-5;

/// A borrowed `n_rounds x n_actions x len_list` array in C order.
#[derive(Debug, Clone, Copy)]
pub struct Tensor3<'a> {
    pub values: &'a [f64],
    pub n_rounds: usize,
    pub n_actions: usize,
    pub len_list: usize,
}

impl<'a> Tensor3<'a> {
    /// Checks that `values` holds exactly `shape[0] * shape[1] * shape[2]` numbers.
    pub fn new(argument: &str, values: &'a [f64], shape: [usize; 3]) -> Result<Self> {
        let [n_rounds, n_actions, len_list] = shape;
        if n_rounds == 0 || n_actions == 0 || len_list == 0 {
            return Err(BindingError::argument(
                argument,
                format!("every dimension must be at least 1, got shape {shape:?}"),
            ));
        }
        if values.len() != n_rounds * n_actions * len_list {
            return Err(BindingError::argument(
                argument,
                format!(
                    "shape {shape:?} needs {} values, got {}",
                    n_rounds * n_actions * len_list,
                    values.len()
                ),
            ));
        }
        Ok(Tensor3 {
            values,
            n_rounds,
            n_actions,
            len_list,
        })
    }

    fn shape(&self) -> [usize; 3] {
        [self.n_rounds, self.n_actions, self.len_list]
    }

    /// The `[action][position]` table of one round.
    #[inline]
    fn table(&self, round: usize) -> &'a [f64] {
        let len = self.n_actions * self.len_list;
        &self.values[round * len..(round + 1) * len]
    }

    /// Value at `(round, action, position)`.
    #[inline]
    fn get(&self, round: usize, action: usize, position: usize) -> f64 {
        self.table(round)[action * self.len_list + position]
    }
}

/// The logged feedback, each field one value per round. Which fields an estimator needs follows Open Bandit
/// Pipeline: DM reads none but `position`; Replay reads no `pscore`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggedFeedback<'a> {
    pub reward: Option<&'a [f64]>,
    pub action: Option<&'a [i64]>,
    pub pscore: Option<&'a [f64]>,
    pub position: Option<&'a [i64]>,
}

/// An estimate with its bootstrap interval and effective sample size.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalEstimate {
    pub estimate: f64,
    pub interval: ConfidenceInterval,
    pub effective_sample_size: f64,
}

/// Parses an estimator as `name[:parameter]` (e.g. `ipw:inf`, `switch-dr:10`), see [`Estimator`]'s `FromStr`.
pub fn parse_estimator(spec: &str) -> Result<Estimator> {
    Ok(spec.parse::<Estimator>()?)
}

/// The point estimate `estimate_policy_value` of Open Bandit Pipeline's estimator of the same name.
pub fn estimate_policy_value(
    estimator: Estimator,
    log: LoggedFeedback<'_>,
    action_dist: Tensor3<'_>,
    estimated_rewards_by_reg_model: Option<Tensor3<'_>>,
) -> Result<f64> {
    let inputs = prepare(estimator, log, action_dist, estimated_rewards_by_reg_model)?;
    Ok(estimator.estimate(&inputs)?)
}

/// The point estimate, its percentile bootstrap interval (Open Bandit Pipeline's `estimate_interval`) and the
/// effective sample size of the weights the estimator applies.
pub fn estimate_interval(
    estimator: Estimator,
    log: LoggedFeedback<'_>,
    action_dist: Tensor3<'_>,
    estimated_rewards_by_reg_model: Option<Tensor3<'_>>,
    bootstrap: &BootstrapConfig,
) -> Result<IntervalEstimate> {
    if !(bootstrap.alpha > 0.0 && bootstrap.alpha < 1.0) {
        return Err(BindingError::argument(
            "alpha",
            format!("must be in (0, 1), got {}", bootstrap.alpha),
        ));
    }
    if bootstrap.n_resamples == 0 {
        return Err(BindingError::argument(
            "n_bootstrap_samples",
            "must be at least 1",
        ));
    }
    let inputs = prepare(estimator, log, action_dist, estimated_rewards_by_reg_model)?;
    let mut results = ope::evaluate(&inputs, &[estimator], bootstrap)?;
    let result = results
        .pop()
        .ok_or_else(|| BindingError::argument("estimator", "no result"))?;
    Ok(IntervalEstimate {
        estimate: result.estimate,
        interval: result.interval,
        effective_sample_size: result.effective_sample_size,
    })
}

/// Checks the arrays and reduces them to the per-round quantities of [`OpeInputs`].
fn prepare(
    estimator: Estimator,
    log: LoggedFeedback<'_>,
    action_dist: Tensor3<'_>,
    estimated_rewards: Option<Tensor3<'_>>,
) -> Result<OpeInputs> {
    estimator.validate()?;
    let n = action_dist.n_rounds;
    if log.position.is_none() && action_dist.len_list > 1 {
        return Err(BindingError::argument(
            "position",
            format!(
                "must be given when action_dist has len_list = {} > 1 positions",
                action_dist.len_list
            ),
        ));
    }
    let position = indices(
        "position",
        log.position,
        n,
        action_dist.len_list,
        "len_list",
    )?;
    let reads_log = !matches!(estimator, Estimator::Dm);
    let (action, reward, pscore) = if reads_log {
        let action = indices(
            "action",
            Some(required("action", log.action, estimator)?),
            n,
            action_dist.n_actions,
            "n_actions",
        )?;
        let reward = required("reward", log.reward, estimator)?;
        check_len("reward", reward.len(), n)?;
        let pscore = match (estimator, log.pscore) {
            // Replay weighs nothing: it needs no propensities.
            (Estimator::Replay, None) => vec![1.0; n],
            (_, pscore) => {
                let pscore = required("pscore", pscore, estimator)?;
                check_len("pscore", pscore.len(), n)?;
                pscore.to_vec()
            }
        };
        (action, reward.to_vec(), pscore)
    } else {
        // DM averages the reward model under the evaluation policy at the logged positions; it reads no
        // action, reward or propensity, so the log carries neutral placeholders it never looks at.
        (vec![0; n], vec![0.0; n], vec![1.0; n])
    };
    let model = if estimator.needs_reward_model() {
        let q = estimated_rewards.ok_or_else(|| {
            BindingError::argument(
                "estimated_rewards_by_reg_model",
                format!(
                    "estimator `{}` needs the reward model's predictions",
                    estimator.label()
                ),
            )
        })?;
        if q.shape() != action_dist.shape() {
            return Err(BindingError::argument(
                "estimated_rewards_by_reg_model",
                format!(
                    "shape {:?} differs from action_dist's {:?}",
                    q.shape(),
                    action_dist.shape()
                ),
            ));
        }
        Some(q)
    } else {
        None
    };
    check_distribution(&action_dist)?;
    // The log validates actions, positions, rewards and propensities as every log is validated.
    let log = BanditLog::new(
        action_dist.n_actions,
        action_dist.len_list,
        action,
        Some(position),
        reward,
        pscore,
        None,
    )?;
    let logged_cell = |i: usize| (log.action[i] as usize, log.position[i] as usize);
    let target_prob: Vec<f64> = (0..n)
        .map(|i| {
            let (a, p) = logged_cell(i);
            action_dist.get(i, a, p)
        })
        .collect();
    let (reward_hat_logged, reward_hat_policy) = match model {
        None => (None, None),
        Some(q) => {
            let mut logged = Vec::with_capacity(n);
            let mut policy = Vec::with_capacity(n);
            for i in 0..n {
                let (a, p) = logged_cell(i);
                let value = q.get(i, a, p);
                if !value.is_finite() {
                    return Err(BindingError::value(
                        "estimated_rewards_by_reg_model",
                        i,
                        value,
                        format!("must be finite (action {a}, position {p})"),
                    ));
                }
                logged.push(value);
                policy.push(expected_reward_at_position(&action_dist, &q, i, p)?);
            }
            (Some(logged), Some(policy))
        }
    };
    Ok(OpeInputs::from_summaries(
        log.reward,
        log.pscore,
        target_prob,
        reward_hat_logged,
        reward_hat_policy,
    )?)
}

/// Σ_a π(a, p) q̂(a, p) / Σ_a π(a, p) in round `i`: NumPy's `np.average(q, weights=pi)`, as Open Bandit
/// Pipeline computes the model's value under the evaluation policy.
fn expected_reward_at_position(
    pi: &Tensor3<'_>,
    q: &Tensor3<'_>,
    i: usize,
    p: usize,
) -> Result<f64> {
    let (pi_table, q_table) = (pi.table(i), q.table(i));
    let (mut weighted, mut total) = (0.0, 0.0);
    for a in 0..pi.n_actions {
        let cell = a * pi.len_list + p;
        weighted += pi_table[cell] * q_table[cell];
        total += pi_table[cell];
    }
    if !weighted.is_finite() {
        return Err(BindingError::value(
            "estimated_rewards_by_reg_model",
            i,
            weighted,
            format!("must be finite at position {p}"),
        ));
    }
    Ok(weighted / total)
}

/// Every value in [0, 1] and every (round, position) summing to 1.
fn check_distribution(dist: &Tensor3<'_>) -> Result<()> {
    let mut sums = vec![0.0; dist.len_list];
    for i in 0..dist.n_rounds {
        let table = dist.table(i);
        if let Some(cell) = table.iter().position(|v| !(0.0..=1.0).contains(v)) {
            let (a, p) = (cell / dist.len_list, cell % dist.len_list);
            return Err(BindingError::value(
                "action_dist",
                i,
                table[cell],
                format!("action {a}, position {p}: a probability must be in [0, 1]"),
            ));
        }
        sums.iter_mut().for_each(|s| *s = 0.0);
        for row in table.chunks_exact(dist.len_list) {
            for (sum, &v) in sums.iter_mut().zip(row) {
                *sum += v;
            }
        }
        if let Some(p) = sums
            .iter()
            .position(|s| (s - 1.0).abs() > DISTRIBUTION_TOLERANCE)
        {
            return Err(BindingError::value(
                "action_dist",
                i,
                sums[p],
                format!("position {p}: the probabilities over actions must sum to 1"),
            ));
        }
    }
    Ok(())
}

fn required<'a, T>(
    argument: &str,
    value: Option<&'a [T]>,
    estimator: Estimator,
) -> Result<&'a [T]> {
    value.ok_or_else(|| {
        BindingError::argument(
            argument,
            format!("estimator `{}` needs it", estimator.label()),
        )
    })
}

fn check_len(argument: &str, len: usize, n_rounds: usize) -> Result<()> {
    if len != n_rounds {
        return Err(BindingError::argument(
            argument,
            format!("has {len} values but action_dist has {n_rounds} rounds"),
        ));
    }
    Ok(())
}

/// Converts integer indices (actions, positions) to `u32`, each in `0..bound`; absent positions are all 0.
fn indices(
    argument: &str,
    values: Option<&[i64]>,
    n_rounds: usize,
    bound: usize,
    bound_name: &str,
) -> Result<Vec<u32>> {
    let Some(values) = values else {
        return Ok(vec![0; n_rounds]);
    };
    check_len(argument, values.len(), n_rounds)?;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v >= 0 && (v as u64) < bound as u64 {
                Ok(v as u32)
            } else {
                Err(BindingError::value(
                    argument,
                    i,
                    v,
                    format!("must be in 0..{bound} ({bound_name} = {bound})"),
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four rounds, two actions, one position; logged uniformly at random.
    fn log<'a>(reward: &'a [f64], action: &'a [i64], pscore: &'a [f64]) -> LoggedFeedback<'a> {
        LoggedFeedback {
            reward: Some(reward),
            action: Some(action),
            pscore: Some(pscore),
            position: None,
        }
    }

    const REWARD: [f64; 4] = [1.0, 0.0, 1.0, 0.0];
    const ACTION: [i64; 4] = [0, 1, 1, 0];
    const PSCORE: [f64; 4] = [0.5; 4];
    /// π_e(0) = 0.8 in every round.
    const DIST: [f64; 8] = [0.8, 0.2, 0.8, 0.2, 0.8, 0.2, 0.8, 0.2];
    /// q̂(a=0) = 0.6, q̂(a=1) = 0.3.
    const Q: [f64; 8] = [0.6, 0.3, 0.6, 0.3, 0.6, 0.3, 0.6, 0.3];

    fn dist() -> Tensor3<'static> {
        Tensor3::new("action_dist", &DIST, [4, 2, 1]).unwrap()
    }

    fn q() -> Tensor3<'static> {
        Tensor3::new("q", &Q, [4, 2, 1]).unwrap()
    }

    #[test]
    fn ipw_snipw_dm_dr_match_hand_computed_values() {
        let log = log(&REWARD, &ACTION, &PSCORE);
        // Weights: 1.6, 0.4, 0.4, 1.6. IPW = (1.6 + 0.4) / 4 = 0.5.
        let ipw =
            estimate_policy_value(parse_estimator("ipw").unwrap(), log, dist(), None).unwrap();
        assert!((ipw - 0.5).abs() < 1e-12);
        // SNIPW: Σ w r / Σ w = 2.0 / 4.0.
        let snipw = estimate_policy_value(Estimator::Snips, log, dist(), None).unwrap();
        assert!((snipw - 0.5).abs() < 1e-12);
        // DM: 0.8 · 0.6 + 0.2 · 0.3 = 0.54 in every round.
        let dm = estimate_policy_value(Estimator::Dm, LoggedFeedback::default(), dist(), Some(q()))
            .unwrap();
        assert!((dm - 0.54).abs() < 1e-12);
        // DR: 0.54 + mean(1.6·0.4, 0.4·(−0.3), 0.4·0.7, 1.6·(−0.6)) = 0.54 + (0.64 − 0.12 + 0.28 − 0.96)/4.
        let dr = estimate_policy_value(
            Estimator::Dr {
                clip: f64::INFINITY,
            },
            log,
            dist(),
            Some(q()),
        )
        .unwrap();
        assert!((dr - (0.54 - 0.04)).abs() < 1e-12);
        // IPW clipped at 1: weights 1, 0.4, 0.4, 1 → (1 + 0.4) / 4.
        let clipped =
            estimate_policy_value(parse_estimator("ipw:1").unwrap(), log, dist(), None).unwrap();
        assert!((clipped - 0.35).abs() < 1e-12);
    }

    #[test]
    fn interval_brackets_the_estimate_and_is_seeded() {
        let log = log(&REWARD, &ACTION, &PSCORE);
        let config = BootstrapConfig::new(500, 0.05, 7);
        let a = estimate_interval(Estimator::Snips, log, dist(), None, &config).unwrap();
        let b = estimate_interval(Estimator::Snips, log, dist(), None, &config).unwrap();
        assert_eq!(a, b);
        assert!(a.interval.lower <= a.estimate && a.estimate <= a.interval.upper);
        assert!(a.interval.lower < a.interval.upper);
    }

    #[test]
    fn bad_arrays_are_named() {
        let bad_action = [0, 2, 1, 0];
        let err = estimate_policy_value(
            Estimator::Snips,
            log(&REWARD, &bad_action, &PSCORE),
            dist(),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`action`, index 1") && err.contains("n_actions = 2"),
            "{err}"
        );
        let zero_pscore = [0.5, 0.0, 0.5, 0.5];
        let err = estimate_policy_value(
            Estimator::Snips,
            log(&REWARD, &ACTION, &zero_pscore),
            dist(),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("pscore") && err.contains("index 1"), "{err}");
        let err = estimate_policy_value(Estimator::Dm, LoggedFeedback::default(), dist(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("estimated_rewards_by_reg_model"), "{err}");
        let not_a_distribution = [0.8, 0.8, 0.8, 0.2, 0.8, 0.2, 0.8, 0.2];
        let d = Tensor3::new("action_dist", &not_a_distribution, [4, 2, 1]).unwrap();
        let err = estimate_policy_value(Estimator::Snips, log(&REWARD, &ACTION, &PSCORE), d, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sum to 1"), "{err}");
        assert!(Tensor3::new("action_dist", &DIST, [4, 2, 2]).is_err());
        let short_reward = [1.0, 0.0];
        let err = estimate_policy_value(
            Estimator::Snips,
            log(&short_reward, &ACTION, &PSCORE),
            dist(),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`reward`") && err.contains("2 values"),
            "{err}"
        );
    }

    #[test]
    fn positions_are_required_with_several_slots() {
        let two_slots = [0.5; 16];
        let d = Tensor3::new("action_dist", &two_slots, [4, 2, 2]).unwrap();
        let err = estimate_policy_value(Estimator::Snips, log(&REWARD, &ACTION, &PSCORE), d, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`position`") && err.contains("len_list = 2"),
            "{err}"
        );
        let position = [0, 1, 1, 0];
        let with_position = LoggedFeedback {
            position: Some(&position),
            ..log(&REWARD, &ACTION, &PSCORE)
        };
        // Uniform over two actions at both slots: every weight is 1, IPW = mean reward.
        let ipw = estimate_policy_value(
            Estimator::Ips {
                clip: f64::INFINITY,
            },
            with_position,
            d,
            None,
        )
        .unwrap();
        assert!((ipw - 0.5).abs() < 1e-12);
    }

    #[test]
    fn replay_needs_no_pscore() {
        // Deterministic policy "always action 1": rounds 1 and 2 match, rewards 0 and 1.
        let always_one = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0];
        let d = Tensor3::new("action_dist", &always_one, [4, 2, 1]).unwrap();
        let feedback = LoggedFeedback {
            reward: Some(&REWARD),
            action: Some(&ACTION),
            pscore: None,
            position: None,
        };
        let value = estimate_policy_value(Estimator::Replay, feedback, d, None).unwrap();
        assert!((value - 0.5).abs() < 1e-12);
    }
}
