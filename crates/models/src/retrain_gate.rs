//! The retraining gate: a candidate response model replaces the incumbent only when the log says
//! it would earn more.
//!
//! Both models' greedy policies (each decision: the offer of most expected profit) are evaluated
//! off-policy on the most recent window of the joined decision log, which the candidate was not
//! fitted on, with self-normalised IPS and doubly robust estimates (the estimators of
//! `discount_eval::ope`, which match Open Bandit Pipeline) and percentile bootstrap intervals
//! drawn with one seed for both. The doubly robust reward model is fitted on the training window
//! with the default settings, whatever the candidate's, so a deliberately bad candidate cannot
//! also bend the yardstick. Without an incumbent model, the incumbent is the logging policy itself
//! (its value is the mean profit it earned).
//!
//! The rule: promote when the lower bound of the candidate's advantage over the incumbent
//! exceeds `margin` (minor units per decision). The advantage is the mean over the window of the
//! per-decision difference of the two DR values (the candidate's minus the incumbent's, or minus
//! the logged profit when there is no incumbent model), and its interval is a paired percentile
//! bootstrap: both policies are judged on the same resampled decisions, so the noise they share
//! (most decisions, where they agree) cancels, and a real improvement shows with far fewer
//! decisions than two separate intervals would need. A lower bound rather than a point estimate,
//! so that noise alone does not replace a model.

use discount_eval::ope::{
    bootstrap_means, evaluate, BootstrapConfig, EstimateResult, Estimator, OpeInputs,
};
use discount_policy::response::ResponseModel;
use serde::Serialize;

use crate::response::DecisionRow;
use crate::ModelError;

/// One policy's estimates.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyEstimate {
    pub policy: String,
    pub snips: EstimateResult,
    pub dr: EstimateResult,
    /// Decisions where the policy agrees with what was served.
    pub matches: usize,
}

/// The gate's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GateReport {
    pub rows: usize,
    pub candidate: PolicyEstimate,
    /// `None`: no model was active; the incumbent is the logging policy (`logged_value`).
    pub incumbent: Option<PolicyEstimate>,
    pub logged_value: f64,
    /// The incumbent's DR estimate (or the logged value).
    pub bar: f64,
    /// The candidate's advantage over the incumbent (or the logging policy), per decision, with
    /// its paired bootstrap interval: promoted when its lower bound exceeds the margin.
    pub advantage: Advantage,
    pub margin: f64,
    pub promote: bool,
    pub reason: String,
}

/// The mean per-decision difference of two policies' values, with its interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Advantage {
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
}

/// The greedy offer of `model` for each row (index into `model.offers`).
fn greedy(model: &ResponseModel, rows: &[DecisionRow]) -> Result<Vec<usize>, ModelError> {
    let mut z = Vec::new();
    rows.iter()
        .map(|r| {
            model
                .standardise(&r.x, &mut z)
                .map_err(|e| ModelError::Data(format!("gate: {e}")))?;
            Ok((0..model.offers.len())
                .max_by(|&a, &b| {
                    model
                        .respond(a, &z)
                        .profit
                        .total_cmp(&model.respond(b, &z).profit)
                })
                .unwrap_or(0))
        })
        .collect()
}

fn estimate(
    name: &str,
    model: &ResponseModel,
    reward_model: &ResponseModel,
    rows: &[DecisionRow],
    bootstrap: &BootstrapConfig,
) -> Result<(PolicyEstimate, Vec<f64>), ModelError> {
    let choice = greedy(model, rows)?;
    let mut z = Vec::new();
    let (mut target, mut hat_logged, mut hat_policy) = (Vec::new(), Vec::new(), Vec::new());
    let mut matches = 0;
    for (r, &c) in rows.iter().zip(&choice) {
        let chosen = &model.offers[c].offer_id;
        let agree = *chosen == r.offer_id;
        matches += usize::from(agree);
        target.push(f64::from(u8::from(agree)));
        reward_model
            .standardise(&r.x, &mut z)
            .map_err(|e| ModelError::Data(format!("gate: {e}")))?;
        let q = |id: &str| -> Result<f64, ModelError> {
            let k = reward_model
                .offers
                .iter()
                .position(|o| o.offer_id == id)
                .ok_or_else(|| {
                    ModelError::Data(format!("gate: the reward model has no offer `{id}`"))
                })?;
            Ok(reward_model.respond(k, &z).profit)
        };
        hat_logged.push(q(&r.offer_id)?);
        hat_policy.push(q(chosen)?);
    }
    // Each decision's doubly robust value (no clipping), for the paired comparison.
    let per_decision: Vec<f64> = rows
        .iter()
        .zip(&target)
        .zip(hat_logged.iter().zip(&hat_policy))
        .map(|((r, t), (logged, policy))| policy + t / r.propensity * (r.profit - logged))
        .collect();
    let inputs = OpeInputs::from_summaries(
        rows.iter().map(|r| r.profit).collect(),
        rows.iter().map(|r| r.propensity).collect(),
        target,
        Some(hat_logged),
        Some(hat_policy),
    )
    .map_err(|e| ModelError::Data(format!("gate: {e}")))?;
    let mut results = evaluate(
        &inputs,
        &[
            Estimator::Snips,
            Estimator::Dr {
                clip: f64::INFINITY,
            },
        ],
        bootstrap,
    )
    .map_err(|e| ModelError::Data(format!("gate: {e}")))?
    .into_iter();
    let (Some(snips), Some(dr)) = (results.next(), results.next()) else {
        return Err(ModelError::Data(
            "gate: the estimators gave no answer".into(),
        ));
    };
    Ok((
        PolicyEstimate {
            policy: name.to_string(),
            snips,
            dr,
            matches,
        },
        per_decision,
    ))
}

/// Judges `candidate` against `incumbent` on `rows` (a window neither was fitted on, ideally).
pub fn judge(
    candidate: (&str, &ResponseModel),
    incumbent: Option<(&str, &ResponseModel)>,
    reward_model: &ResponseModel,
    rows: &[DecisionRow],
    margin: f64,
    bootstrap: &BootstrapConfig,
) -> Result<GateReport, ModelError> {
    if rows.is_empty() {
        return Err(ModelError::Data(
            "gate: no held-out decisions to judge the candidate on (lower --validation-share's \
             floor: the log needs decisions after the cut-off)"
                .into(),
        ));
    }
    let (cand, cand_values) = estimate(candidate.0, candidate.1, reward_model, rows, bootstrap)?;
    let inc = incumbent
        .map(|(name, m)| estimate(name, m, reward_model, rows, bootstrap))
        .transpose()?;
    let logged_value = rows.iter().map(|r| r.profit).sum::<f64>() / rows.len() as f64;
    let (bar, against, base_values) = match &inc {
        Some((i, values)) => (
            i.dr.estimate,
            format!("incumbent {}", i.policy),
            values.clone(),
        ),
        None => (
            logged_value,
            "the logging policy".to_string(),
            rows.iter().map(|r| r.profit).collect(),
        ),
    };
    let diff: Vec<f64> = cand_values
        .iter()
        .zip(&base_values)
        .map(|(c, b)| c - b)
        .collect();
    let interval = bootstrap_means(std::slice::from_ref(&diff), bootstrap)
        .map_err(|e| ModelError::Data(format!("gate: {e}")))?;
    let interval = interval
        .first()
        .ok_or_else(|| ModelError::Data("gate: the bootstrap gave no interval".into()))?;
    let advantage = Advantage {
        estimate: diff.iter().sum::<f64>() / diff.len() as f64,
        lower: interval.lower,
        upper: interval.upper,
    };
    let lower = advantage.lower;
    let promote = lower > margin;
    let reason = if promote {
        format!(
            "promoted: the lower bound of the candidate's advantage over {against} is {lower:.2} \
             per decision (estimate {:.2}), above the margin {margin:.2}",
            advantage.estimate
        )
    } else {
        format!(
            "kept the incumbent: the lower bound of the candidate's advantage over {against} is \
             {lower:.2} per decision (estimate {:.2}), not above the margin {margin:.2}",
            advantage.estimate
        )
    };
    let inc = inc.map(|(i, _)| i);
    Ok(GateReport {
        rows: rows.len(),
        candidate: cand,
        incumbent: inc,
        logged_value,
        bar,
        advantage,
        margin,
        promote,
        reason,
    })
}

/// One retraining round on a time-ordered joined log: the candidate fitted on `train` with
/// `config`, and the gate's verdict on `held_out` against `incumbent` (the DR reward model fitted
/// on `train` with the default settings). What `discount retrain` and the simulated shop's closed
/// loop both run.
pub struct Retrained {
    pub candidate: ResponseModel,
    pub gate: GateReport,
}

/// Fits a candidate on `train` and judges it on `held_out` (see [`Retrained`]).
#[allow(clippy::too_many_arguments)]
pub fn retrain(
    train: &[DecisionRow],
    held_out: &[DecisionRow],
    offers: &[String],
    features: &[String],
    feature_spec: &str,
    config: &crate::response::ResponseFitConfig,
    incumbent: Option<(&str, &ResponseModel)>,
    margin: f64,
    bootstrap: &BootstrapConfig,
) -> Result<Retrained, ModelError> {
    let candidate =
        crate::response::fit_response_model(train, offers, features, feature_spec, config)?;
    let gate = judge_fitted(
        train,
        held_out,
        offers,
        features,
        feature_spec,
        &candidate,
        incumbent,
        margin,
        bootstrap,
    )?;
    Ok(Retrained { candidate, gate })
}

/// Judges an already fitted candidate (see [`Retrained`]).
#[allow(clippy::too_many_arguments)]
pub fn judge_fitted(
    train: &[DecisionRow],
    held_out: &[DecisionRow],
    offers: &[String],
    features: &[String],
    feature_spec: &str,
    candidate: &ResponseModel,
    incumbent: Option<(&str, &ResponseModel)>,
    margin: f64,
    bootstrap: &BootstrapConfig,
) -> Result<GateReport, ModelError> {
    let reward_model = crate::response::fit_response_model(
        train,
        offers,
        features,
        feature_spec,
        &crate::response::ResponseFitConfig::default(),
    )
    .map_err(|e| {
        ModelError::Data(format!(
            "fitting the gate's reward model on the training window: {e}"
        ))
    })?;
    judge(
        ("candidate", candidate),
        incumbent,
        &reward_model,
        held_out,
        margin,
        bootstrap,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::tests::{rows, two_offers};
    use crate::response::{fit_response_model, ResponseFitConfig};

    #[test]
    fn a_worse_candidate_is_not_promoted_and_a_better_one_is() {
        let (offers, names) = two_offers();
        let train = rows(3_000, 1);
        let held_out = rows(3_000, 2);
        let good = fit_response_model(&train, &offers, &names, "s", &ResponseFitConfig::default())
            .unwrap();
        // Made worse on purpose: it learns the offer backwards.
        let mut worse = good.clone();
        worse.offers.swap(0, 1);
        worse.offers[0].offer_id = "none".into();
        worse.offers[1].offer_id = "pct10".into();
        let boot = BootstrapConfig::new(200, 0.05, 7);
        let verdict = |candidate: (&str, &ResponseModel), incumbent| {
            judge(candidate, incumbent, &good, &held_out, 0.0, &boot).unwrap()
        };
        let r = verdict(("worse", &worse), Some(("good", &good)));
        assert!(!r.promote, "{r:?}");
        assert!(r.reason.starts_with("kept the incumbent"), "{}", r.reason);
        let r = verdict(("good", &good), Some(("worse", &worse)));
        assert!(r.promote, "{r:?}");
        assert!(r.advantage.lower > 0.0 && r.advantage.estimate > r.advantage.lower);
        // A copy of the incumbent has no advantage at all (paired: exactly zero), so it stays out.
        let r = verdict(("copy", &good), Some(("good", &good)));
        assert!(!r.promote, "{r:?}");
        assert_eq!((r.advantage.estimate, r.advantage.lower), (0.0, 0.0));
        // Against the logging policy (random offers) the good model wins too.
        let r = verdict(("good", &good), None);
        assert!(r.promote && r.incumbent.is_none(), "{r:?}");
    }
}
