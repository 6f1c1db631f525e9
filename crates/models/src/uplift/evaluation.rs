//! Held-out evaluation of the meta-learners on a randomised multi-arm experiment.
//!
//! A seeded share of customers is held out, stratified by arm and outcome so every arm keeps its share and
//! its outcome rate on both sides (or the caller supplies the split). Each learner is fitted on the rest; on the held-out rows, for
//! every treated arm against control, it is scored with the scikit-uplift metrics of
//! [`discount_eval::uplift`] (Qini coefficient and normalised AUUC for binary outcomes, AUUC gain for
//! revenue, uplift@30%). The policy "best offer for each customer, to the top k%" is valued by IPS with the
//! design's assignment probability 1/arms, next to "everyone gets arm k" and random targeting.

use std::time::Instant;

use discount_eval::uplift::{
    auuc_gain, qini_auc_score, uplift_at_k, uplift_auc_score, TopK, UpliftAtKStrategy,
};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::hillstrom::Experiment;
use super::learners::{MetaLearner, UpliftModel};
use super::value::{best_offer_to_top, ips_value, offer_value_minor, OfferCost};
use crate::propensity::{
    GbdtConfig, GbdtObjective, GradientBoostedTrees, Learner, LogisticConfig, LogisticRegression,
    Model, RidgeConfig, RidgeRegression,
};
use crate::ModelError;

/// Which outcome the learners model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Website visit within two weeks (0/1); classifier outcome base.
    Visit,
    /// Purchase within two weeks (0/1); classifier outcome base.
    Conversion,
    /// Spend in minor units; regression outcome base.
    Spend,
}

impl Outcome {
    pub fn is_binary(self) -> bool {
        self != Outcome::Spend
    }

    /// The outcome of every customer of `experiment`.
    pub fn values(self, experiment: &Experiment) -> Vec<f64> {
        match self {
            Outcome::Visit => experiment.visit.clone(),
            Outcome::Conversion => experiment.conversion.clone(),
            Outcome::Spend => experiment.spend_cents.iter().map(|c| *c as f64).collect(),
        }
    }
}

/// The base model family of the T-, X- and DR-learners. The S-learner stays linear: its features are the
/// arm indicators and their products with x, built for a linear model, and trees can leave the arm unsplit
/// (an effect of zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseLearner {
    /// Logistic (binary outcomes) or ridge regression.
    Linear,
    /// Gradient-boosted trees: log-loss for binary outcomes, squared loss otherwise and for effects.
    Gbdt,
}

impl BaseLearner {
    pub fn as_str(self) -> &'static str {
        match self {
            BaseLearner::Linear => "linear",
            BaseLearner::Gbdt => "gbdt",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationConfig {
    pub outcome: Outcome,
    pub holdout_share: f64,
    pub seed: u64,
    /// Shares of customers targeted by the best-offer policy.
    pub top_shares: Vec<f64>,
    /// Margin on revenue (spend outcome).
    pub margin: f64,
    /// Cost of each treated arm's offer (spend outcome).
    pub cost: OfferCost,
    /// L2 penalty of the outcome base (logistic or ridge) and of the ridge effect base.
    pub outcome_l2: f64,
    pub effect_l2: f64,
    /// Base model family of the T-, X- and DR-learners.
    pub base: BaseLearner,
    /// Trees of the outcome models (the objective follows the outcome) and of the effect models.
    pub outcome_trees: GbdtConfig,
    pub effect_trees: GbdtConfig,
}

impl EvaluationConfig {
    pub fn new(outcome: Outcome) -> Self {
        EvaluationConfig {
            outcome,
            holdout_share: 0.3,
            seed: 2026,
            top_shares: vec![0.1, 0.2, 0.3, 0.5, 1.0],
            margin: 1.0,
            cost: OfferCost::default(),
            outcome_l2: 1.0,
            effect_l2: 1.0,
            base: BaseLearner::Linear,
            // Many shallow trees with large leaves: the outcomes are rare (conversion about 1%) and the
            // effects are small against their noise, so the trees must not chase single customers. Chosen
            // on four seeded splits of Hillstrom (docs/models.md).
            outcome_trees: GbdtConfig {
                trees: 200,
                learning_rate: 0.03,
                max_depth: 2,
                min_leaf_weight: 5.0,
                ..GbdtConfig::default()
            },
            effect_trees: GbdtConfig {
                trees: 200,
                learning_rate: 0.03,
                max_depth: 2,
                min_leaf_weight: 1000.0,
                ..GbdtConfig::regression()
            },
        }
    }

    fn validate(&self) -> Result<(), ModelError> {
        if !(self.holdout_share > 0.0 && self.holdout_share < 1.0) {
            return Err(ModelError::InvalidHyper {
                name: "holdout_share",
                value: self.holdout_share.to_string(),
                reason: "must be in (0, 1)".into(),
            });
        }
        if !(self.margin.is_finite() && self.margin >= 0.0) {
            return Err(ModelError::InvalidHyper {
                name: "margin",
                value: self.margin.to_string(),
                reason: "must be finite and non-negative".into(),
            });
        }
        self.outcome_trees.validate()?;
        self.effect_trees.validate()?;
        if let Some(s) = self.top_shares.iter().find(|s| !(**s > 0.0 && **s <= 1.0)) {
            return Err(ModelError::InvalidHyper {
                name: "top_shares",
                value: s.to_string(),
                reason: "each share must be in (0, 1]".into(),
            });
        }
        Ok(())
    }
}

/// `true` for held-out rows, stratified by arm and outcome (for spend: whether the customer spent). Within
/// each stratum a seeded shuffle is cut at its quota; quotas are `share` of the stratum rounded down, the
/// rows left over going to the strata with the largest remainders, so `round(share · n)` rows are held out.
pub fn stratified_holdout_split(
    arms: &[usize],
    outcome: &[f64],
    share: f64,
    seed: u64,
) -> Result<Vec<bool>, ModelError> {
    if !(share > 0.0 && share < 1.0) {
        return Err(ModelError::InvalidHyper {
            name: "holdout_share",
            value: share.to_string(),
            reason: "must be in (0, 1)".into(),
        });
    }
    if arms.len() != outcome.len() {
        return Err(ModelError::Data(format!(
            "{} arms for {} outcomes",
            arms.len(),
            outcome.len()
        )));
    }
    let n_arms = arms.iter().max().map_or(0, |a| a + 1);
    let mut strata: Vec<Vec<usize>> = vec![Vec::new(); 2 * n_arms];
    for (i, (&a, &y)) in arms.iter().zip(outcome).enumerate() {
        strata[2 * a + usize::from(y > 0.0)].push(i);
    }
    let target = (share * arms.len() as f64).round() as usize;
    let ideal: Vec<f64> = strata.iter().map(|s| share * s.len() as f64).collect();
    let mut quota: Vec<usize> = ideal.iter().map(|q| q.floor() as usize).collect();
    let mut by_remainder: Vec<usize> = (0..strata.len()).collect();
    by_remainder
        .sort_by(|&a, &b| (ideal[b] - ideal[b].floor()).total_cmp(&(ideal[a] - ideal[a].floor())));
    let short = target.saturating_sub(quota.iter().sum());
    for &s in by_remainder.iter().take(short) {
        quota[s] += 1;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut holdout = vec![false; arms.len()];
    for (rows, q) in strata.iter_mut().zip(quota) {
        rows.shuffle(&mut rng);
        for &i in rows.iter().take(q) {
            holdout[i] = true;
        }
    }
    Ok(holdout)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmMetrics {
    pub arm: String,
    /// Qini coefficient, normalised (binary outcomes).
    pub qini_auc: Option<f64>,
    /// Normalised AUUC (binary) or AUUC gain per customer (revenue, minor units).
    pub auuc: f64,
    /// Treated minus control mean outcome among the top 30% by predicted effect.
    pub uplift_at_30: f64,
    /// Treated minus control mean outcome among all held-out customers of the two arms (random targeting).
    pub average_effect: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetingValue {
    pub share: f64,
    /// IPS value per customer of the policy (conversions, or net margin in minor units).
    pub value: f64,
    /// Expected value per customer of sending a random e-mail to the same share.
    pub random_value: f64,
    /// Share of customers the policy sends an offer to (it sends only where the value is positive).
    pub sent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnerResult {
    pub learner: String,
    /// Base model family it was fitted with.
    pub base: BaseLearner,
    pub arms: Vec<ArmMetrics>,
    pub targeting: Vec<TargetingValue>,
    pub fit_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpliftReport {
    pub outcome: Outcome,
    pub train_rows: usize,
    pub test_rows: usize,
    pub learners: Vec<LearnerResult>,
    /// IPS value per customer of "everyone gets arm k", by arm (arm 0 = nobody).
    pub everyone: Vec<(String, f64)>,
}

/// Logistic outcome base for binary outcomes, ridge for spend; ridge for the effect stage.
pub fn default_bases(
    outcome: Outcome,
    outcome_l2: f64,
    effect_l2: f64,
) -> Result<(Model, Model), ModelError> {
    let ridge = |l2| -> Result<Model, ModelError> {
        Ok(Model::Ridge(RidgeRegression::new(RidgeConfig {
            l2,
            ..Default::default()
        })?))
    };
    let base = if outcome.is_binary() {
        Model::Logistic(LogisticRegression::new(LogisticConfig {
            l2: outcome_l2,
            ..Default::default()
        })?)
    } else {
        ridge(outcome_l2)?
    };
    Ok((base, ridge(effect_l2)?))
}

/// The outcome and effect bases of `config.base`: gradient-boosted trees with the configured settings (the
/// outcome objective follows the outcome), or [`default_bases`].
pub fn bases(config: &EvaluationConfig) -> Result<(Model, Model), ModelError> {
    match config.base {
        BaseLearner::Linear => default_bases(config.outcome, config.outcome_l2, config.effect_l2),
        BaseLearner::Gbdt => {
            let outcome = GbdtConfig {
                objective: if config.outcome.is_binary() {
                    GbdtObjective::LogLoss
                } else {
                    GbdtObjective::SquaredLoss
                },
                ..config.outcome_trees.clone()
            };
            let effect = GbdtConfig {
                objective: GbdtObjective::SquaredLoss,
                ..config.effect_trees.clone()
            };
            Ok((
                Model::Gbdt(GradientBoostedTrees::new(outcome)?),
                Model::Gbdt(GradientBoostedTrees::new(effect)?),
            ))
        }
    }
}

fn metric(e: discount_eval::EvalError) -> ModelError {
    ModelError::Data(e.to_string())
}

/// Fits and scores every learner in `learners`; `on_learner` is called after each (progress bars).
pub fn evaluate(
    experiment: &Experiment,
    holdout: &[bool],
    config: &EvaluationConfig,
    learners: &[MetaLearner],
    on_learner: &mut dyn FnMut(MetaLearner),
) -> Result<UpliftReport, ModelError> {
    config.validate()?;
    if holdout.len() != experiment.arms.len() {
        return Err(ModelError::Data(format!(
            "{} split flags for {} customers",
            holdout.len(),
            experiment.arms.len()
        )));
    }
    let train_rows: Vec<usize> = (0..holdout.len()).filter(|&i| !holdout[i]).collect();
    let test_rows: Vec<usize> = (0..holdout.len()).filter(|&i| holdout[i]).collect();
    let (train, test) = (
        experiment.select(&train_rows),
        experiment.select(&test_rows),
    );
    let n_arms = experiment.n_arms();
    let (y_train, y_test) = (config.outcome.values(&train), config.outcome.values(&test));
    // Reward of the logged action: the outcome, net of margin and the realised cost of a send.
    let reward: Vec<f64> = (0..test.arms.len())
        .map(|i| match config.outcome {
            Outcome::Visit | Outcome::Conversion => y_test[i],
            Outcome::Spend => {
                let cost = if test.arms[i] > 0 {
                    config.cost.realised_minor(test.conversion[i] == 1.0) as f64
                } else {
                    0.0
                };
                config.margin * y_test[i] - cost
            }
        })
        .collect();
    let propensity = vec![1.0 / n_arms as f64; test.arms.len()];
    let everyone: Vec<(String, f64)> = (0..n_arms)
        .map(|a| {
            Ok((
                experiment.arm_names[a].clone(),
                ips_value(&vec![a; test.arms.len()], &test.arms, &reward, &propensity)?,
            ))
        })
        .collect::<Result<_, ModelError>>()?;
    let treated_mean = everyone[1..].iter().map(|e| e.1).sum::<f64>() / (n_arms - 1) as f64;

    // Redemption probabilities for the expected offer cost (spend outcome): a conversion model per arm.
    let redemption = match config.outcome {
        Outcome::Spend if config.cost.per_redemption_minor != 0 => {
            let (logistic, ridge) =
                default_bases(Outcome::Conversion, config.outcome_l2, config.effect_l2)?;
            let t = UpliftModel::fit(
                MetaLearner::T,
                &logistic,
                &ridge,
                &train.x,
                &train.arms,
                &train.conversion,
                n_arms,
            )?;
            Some(
                t.outcome_models
                    .iter()
                    .map(|m| m.predict(&test.x))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        }
        _ => None,
    };

    let (linear_outcome, linear_effect) =
        default_bases(config.outcome, config.outcome_l2, config.effect_l2)?;
    let (outcome_base, effect_base) = bases(config)?;
    let mut results = Vec::with_capacity(learners.len());
    for &kind in learners {
        let base = if kind == MetaLearner::S {
            BaseLearner::Linear
        } else {
            config.base
        };
        let (outcome_model, effect_model) = match base {
            BaseLearner::Linear => (&linear_outcome, &linear_effect),
            BaseLearner::Gbdt => (&outcome_base, &effect_base),
        };
        let started = Instant::now();
        let model = UpliftModel::fit(
            kind,
            outcome_model,
            effect_model,
            &train.x,
            &train.arms,
            &y_train,
            n_arms,
        )?;
        let fit_seconds = started.elapsed().as_secs_f64();
        let effects = model.predict(&test.x)?;
        let mut arms = Vec::with_capacity(n_arms - 1);
        for a in 1..n_arms {
            let rows: Vec<usize> = (0..test.arms.len())
                .filter(|&i| test.arms[i] == 0 || test.arms[i] == a)
                .collect();
            let y: Vec<f64> = rows.iter().map(|&i| y_test[i]).collect();
            let score: Vec<f64> = rows.iter().map(|&i| effects[a - 1][i]).collect();
            let treated: Vec<u8> = rows.iter().map(|&i| u8::from(test.arms[i] == a)).collect();
            let (qini_auc, auuc) = if config.outcome.is_binary() {
                (
                    Some(qini_auc_score(&y, &score, &treated, true).map_err(metric)?),
                    uplift_auc_score(&y, &score, &treated).map_err(metric)?,
                )
            } else {
                (None, auuc_gain(&y, &score, &treated).map_err(metric)?)
            };
            let mean_of = |flag: u8| {
                let v: Vec<f64> = y
                    .iter()
                    .zip(&treated)
                    .filter(|(_, t)| **t == flag)
                    .map(|(y, _)| *y)
                    .collect();
                v.iter().sum::<f64>() / v.len().max(1) as f64
            };
            arms.push(ArmMetrics {
                arm: experiment.arm_names[a].clone(),
                qini_auc,
                auuc,
                uplift_at_30: uplift_at_k(
                    &y,
                    &score,
                    &treated,
                    UpliftAtKStrategy::Overall,
                    TopK::Fraction(0.3),
                )
                .map_err(metric)?,
                average_effect: mean_of(1) - mean_of(0),
            });
        }
        let values: Vec<Vec<f64>> = match config.outcome {
            Outcome::Visit | Outcome::Conversion => effects.clone(),
            Outcome::Spend => effects
                .iter()
                .enumerate()
                .map(|(k, e)| {
                    e.iter()
                        .enumerate()
                        .map(|(i, delta)| {
                            let p_redeem = redemption.as_ref().map_or(0.0, |r| r[k + 1][i]);
                            offer_value_minor(*delta, config.margin, p_redeem, &config.cost)
                        })
                        .collect()
                })
                .collect(),
        };
        let targeting = config
            .top_shares
            .iter()
            .map(|&share| {
                let policy = best_offer_to_top(&values, share)?;
                Ok(TargetingValue {
                    share,
                    value: ips_value(&policy, &test.arms, &reward, &propensity)?,
                    random_value: (1.0 - share) * everyone[0].1 + share * treated_mean,
                    sent: policy.iter().filter(|a| **a > 0).count() as f64 / policy.len() as f64,
                })
            })
            .collect::<Result<_, ModelError>>()?;
        results.push(LearnerResult {
            learner: kind.as_str().to_string(),
            base,
            arms,
            targeting,
            fit_seconds,
        });
        on_learner(kind);
    }
    Ok(UpliftReport {
        outcome: config.outcome,
        train_rows: train_rows.len(),
        test_rows: test_rows.len(),
        learners: results,
        everyone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdout_keeps_every_arms_share_and_outcome_rate() {
        // 3 arms, 1,000 customers, outcomes rarer in arm 0.
        let arms: Vec<usize> = (0..1_000).map(|i| (i * 7) % 3).collect();
        let outcome: Vec<f64> = (0..1_000)
            .map(|i| f64::from(i % (11 + 6 * usize::from(arms[i] == 0)) == 0))
            .collect();
        let holdout = stratified_holdout_split(&arms, &outcome, 0.3, 9).unwrap();
        assert_eq!(
            holdout,
            stratified_holdout_split(&arms, &outcome, 0.3, 9).unwrap()
        );
        assert_ne!(
            holdout,
            stratified_holdout_split(&arms, &outcome, 0.3, 10).unwrap()
        );
        assert_eq!(holdout.iter().filter(|h| **h).count(), 300);
        for a in 0..3 {
            for y in [0.0, 1.0] {
                let stratum: Vec<usize> = (0..1_000)
                    .filter(|&i| arms[i] == a && outcome[i] == y)
                    .collect();
                let held = stratum.iter().filter(|&&i| holdout[i]).count() as f64;
                assert!(
                    (held - 0.3 * stratum.len() as f64).abs() < 1.0,
                    "arm {a}, outcome {y}: {held} of {}",
                    stratum.len()
                );
            }
        }
        assert!(stratified_holdout_split(&arms, &outcome, 1.0, 9).is_err());
    }
}
