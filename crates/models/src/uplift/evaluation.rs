//! Held-out evaluation of the meta-learners on a randomised multi-arm experiment.
//!
//! A seeded share of customers is held out. Each learner is fitted on the rest; on the held-out rows, for
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
    Learner, LogisticConfig, LogisticRegression, Model, RidgeConfig, RidgeRegression,
};
use crate::ModelError;

/// Which outcome the learners model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Purchase within two weeks (0/1); logistic outcome base.
    Conversion,
    /// Spend in minor units; ridge outcome base.
    Spend,
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

/// `true` for held-out rows: a seeded shuffle, the first `share` of it held out.
pub fn holdout_split(n: usize, share: f64, seed: u64) -> Vec<bool> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let held = (share * n as f64).round() as usize;
    let mut holdout = vec![false; n];
    for &i in order.iter().take(held) {
        holdout[i] = true;
    }
    holdout
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmMetrics {
    pub arm: String,
    /// Qini coefficient (binary outcomes).
    pub qini: Option<f64>,
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

/// Logistic outcome base for conversion, ridge for spend; ridge for the effect stage.
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
    let base = match outcome {
        Outcome::Conversion => Model::Logistic(LogisticRegression::new(LogisticConfig {
            l2: outcome_l2,
            ..Default::default()
        })?),
        Outcome::Spend => ridge(outcome_l2)?,
    };
    Ok((base, ridge(effect_l2)?))
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
    let outcome_of = |e: &Experiment| -> Vec<f64> {
        match config.outcome {
            Outcome::Conversion => e.conversion.clone(),
            Outcome::Spend => e.spend_cents.iter().map(|c| *c as f64).collect(),
        }
    };
    let (y_train, y_test) = (outcome_of(&train), outcome_of(&test));
    // Reward of the logged action: the outcome, net of margin and the realised cost of a send.
    let reward: Vec<f64> = (0..test.arms.len())
        .map(|i| match config.outcome {
            Outcome::Conversion => y_test[i],
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

    let (outcome_base, effect_base) =
        default_bases(config.outcome, config.outcome_l2, config.effect_l2)?;
    let mut results = Vec::with_capacity(learners.len());
    for &kind in learners {
        let started = Instant::now();
        let model = UpliftModel::fit(
            kind,
            &outcome_base,
            &effect_base,
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
            let (qini, auuc) = match config.outcome {
                Outcome::Conversion => (
                    Some(qini_auc_score(&y, &score, &treated, true).map_err(metric)?),
                    uplift_auc_score(&y, &score, &treated).map_err(metric)?,
                ),
                Outcome::Spend => (None, auuc_gain(&y, &score, &treated).map_err(metric)?),
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
                qini,
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
            Outcome::Conversion => effects.clone(),
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
