//! Analysis of a finished (or running) A/B test from a table of `customer,arm,outcome[,pre_period]` rows.
//!
//! Rows are taken in file order, which should be the order customers entered the experiment: the sequential
//! (always-valid) results are computed at evenly spaced looks over that order.

use std::path::Path;

use crate::ab::{
    always_valid, cuped, sample_ratio_mismatch, two_proportion_test, welch_test, CupedResult,
    DifferenceTest, Look, SampleSummary, SequentialPoint, SrmCheck,
};
use crate::error::{EvalError, Result};

/// One customer's row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Observation {
    pub customer: String,
    pub arm: String,
    pub outcome: f64,
    pub pre_period: Option<f64>,
}

/// Reads `customer,arm,outcome[,pre_period]` with a header row. Extra columns are ignored.
pub fn read_observations(path: &Path) -> Result<Vec<Observation>> {
    let (mut reader, headers) = crate::csv_file::open_with_headers(path)?;
    let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let missing = |name: &str| EvalError::MissingColumn {
        path: path.to_path_buf(),
        column: name.to_string(),
    };
    let customer_col = find("customer").ok_or_else(|| missing("customer"))?;
    let arm_col = find("arm").ok_or_else(|| missing("arm"))?;
    let outcome_col = find("outcome").ok_or_else(|| missing("outcome"))?;
    let pre_col = find("pre_period");
    let mut observations = Vec::new();
    for record in crate::csv_file::records(&mut reader, path) {
        let record = record?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let number = |col: usize, field: &str| -> Result<f64> {
            let raw = record.get(col).unwrap_or("");
            raw.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| EvalError::BadValue {
                    path: path.to_path_buf(),
                    line,
                    field: field.to_string(),
                    value: raw.to_string(),
                    message: "expected a finite number".into(),
                })
        };
        let outcome = number(outcome_col, "outcome")?;
        let pre_period = match pre_col {
            Some(col) if !record.get(col).unwrap_or("").is_empty() => {
                Some(number(col, "pre_period")?)
            }
            _ => None,
        };
        let arm = record.get(arm_col).unwrap_or("").to_string();
        if arm.is_empty() {
            return Err(EvalError::BadValue {
                path: path.to_path_buf(),
                line,
                field: "arm".into(),
                value: arm,
                message: "the arm must not be empty".into(),
            });
        }
        observations.push(Observation {
            customer: record.get(customer_col).unwrap_or("").to_string(),
            arm,
            outcome,
            pre_period,
        });
    }
    Ok(observations)
}

/// Settings of an analysis.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnalysisConfig {
    /// The control arm; when `None`, the first arm seen in the data.
    pub control: Option<String>,
    /// Planned shares per arm (same order as the arms in the result); equal when `None`.
    pub planned_shares: Option<Vec<(String, f64)>>,
    pub alpha: f64,
    /// p-value threshold of the sample-ratio-mismatch alarm.
    pub srm_threshold: f64,
    /// τ² of the mSPRT mixture; when `None`, the squared 10% of the control mean (a 10% lift as the effect
    /// size of interest), or the control variance / 100 when the mean is 0.
    pub mixing_variance: Option<f64>,
    /// Number of evenly spaced looks for the sequential results.
    pub n_looks: usize,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            control: None,
            planned_shares: None,
            alpha: 0.05,
            srm_threshold: 0.001,
            mixing_variance: None,
            n_looks: 20,
        }
    }
}

/// Per-arm summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArmSummary {
    pub arm: String,
    pub n: u64,
    pub mean: f64,
    pub variance: f64,
}

/// A treatment arm compared with the control.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Comparison {
    pub treatment: String,
    pub control: String,
    /// Welch's t on the outcome (e.g. revenue per customer).
    pub means: DifferenceTest,
    /// Two-proportion z test, when every outcome is 0 or 1.
    pub proportions: Option<DifferenceTest>,
    /// CUPED, when every row has a pre-period value.
    pub cuped: Option<CupedResult>,
    /// Always-valid results at evenly spaced looks.
    pub sequential: Vec<SequentialPoint>,
    pub mixing_variance: f64,
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExperimentAnalysis {
    pub arms: Vec<ArmSummary>,
    pub srm: SrmCheck,
    pub comparisons: Vec<Comparison>,
    pub alpha: f64,
}

/// Analyses the observations: arm summaries, SRM check, and for each non-control arm Welch, two-proportion
/// (binary outcomes), CUPED (pre-period present) and always-valid sequential results.
pub fn analyze(
    observations: &[Observation],
    config: &AnalysisConfig,
) -> Result<ExperimentAnalysis> {
    let mut arm_names: Vec<String> = Vec::new();
    for o in observations {
        if !arm_names.contains(&o.arm) {
            arm_names.push(o.arm.clone());
        }
    }
    if arm_names.len() < 2 {
        return Err(EvalError::Insufficient(format!(
            "an experiment needs at least two arms, found {:?}",
            arm_names
        )));
    }
    let control = match &config.control {
        Some(c) => {
            if !arm_names.contains(c) {
                return Err(EvalError::setting(
                    "control",
                    format!(
                        "arm `{c}` is not in the data (arms: {})",
                        arm_names.join(", ")
                    ),
                ));
            }
            c.clone()
        }
        None => arm_names[0].clone(),
    };
    let outcomes_of = |arm: &str| -> Vec<f64> {
        observations
            .iter()
            .filter(|o| o.arm == arm)
            .map(|o| o.outcome)
            .collect()
    };
    let arms: Vec<ArmSummary> = arm_names
        .iter()
        .map(|arm| {
            let s = SampleSummary::of(&outcomes_of(arm));
            ArmSummary {
                arm: arm.clone(),
                n: s.n,
                mean: s.mean,
                variance: s.variance,
            }
        })
        .collect();
    let shares: Vec<f64> = match &config.planned_shares {
        None => vec![1.0; arm_names.len()],
        Some(planned) => arm_names
            .iter()
            .map(|arm| {
                planned
                    .iter()
                    .find(|(name, _)| name == arm)
                    .map(|(_, share)| *share)
                    .ok_or_else(|| {
                        EvalError::setting("planned_shares", format!("no share for arm `{arm}`"))
                    })
            })
            .collect::<Result<_>>()?,
    };
    let counts: Vec<u64> = arms.iter().map(|a| a.n).collect();
    let srm = sample_ratio_mismatch(&counts, &shares, config.srm_threshold)?;
    let binary = observations
        .iter()
        .all(|o| o.outcome == 0.0 || o.outcome == 1.0);
    let has_pre = observations.iter().all(|o| o.pre_period.is_some());
    let control_y = outcomes_of(&control);
    let control_summary = SampleSummary::of(&control_y);
    let mut comparisons = Vec::new();
    for arm in arm_names.iter().filter(|a| **a != control) {
        let treatment_y = outcomes_of(arm);
        let treatment_summary = SampleSummary::of(&treatment_y);
        let means = welch_test(&control_summary, &treatment_summary, config.alpha)?;
        let proportions = if binary {
            let successes = |v: &[f64]| v.iter().filter(|y| **y == 1.0).count() as u64;
            Some(two_proportion_test(
                successes(&control_y),
                control_y.len() as u64,
                successes(&treatment_y),
                treatment_y.len() as u64,
                config.alpha,
            )?)
        } else {
            None
        };
        let cuped = if has_pre {
            let pre_of = |a: &str| -> Vec<f64> {
                observations
                    .iter()
                    .filter(|o| o.arm == a)
                    .map(|o| o.pre_period.unwrap_or(0.0))
                    .collect()
            };
            cuped(
                &control_y,
                &pre_of(&control),
                &treatment_y,
                &pre_of(arm),
                config.alpha,
            )
            .ok()
        } else {
            None
        };
        let mixing_variance = config.mixing_variance.unwrap_or_else(|| {
            let tenth = 0.1 * control_summary.mean;
            if tenth != 0.0 {
                tenth * tenth
            } else {
                control_summary.variance.max(1e-12) / 100.0
            }
        });
        let looks = cumulative_looks(observations, &control, arm, config.n_looks.max(1));
        let sequential = always_valid(&looks, mixing_variance, config.alpha)?;
        comparisons.push(Comparison {
            treatment: arm.clone(),
            control: control.clone(),
            means,
            proportions,
            cuped,
            sequential,
            mixing_variance,
        });
    }
    Ok(ExperimentAnalysis {
        arms,
        srm,
        comparisons,
        alpha: config.alpha,
    })
}

fn cumulative_looks(
    observations: &[Observation],
    control: &str,
    treatment: &str,
    n_looks: usize,
) -> Vec<Look> {
    let relevant: Vec<&Observation> = observations
        .iter()
        .filter(|o| o.arm == control || o.arm == treatment)
        .collect();
    let mut looks = Vec::with_capacity(n_looks);
    let mut c = crate::stats::Moments::default();
    let mut t = crate::stats::Moments::default();
    let mut next = 1;
    for (i, o) in relevant.iter().enumerate() {
        if o.arm == control {
            c.push(o.outcome);
        } else {
            t.push(o.outcome);
        }
        if (i + 1) * n_looks >= next * relevant.len() {
            looks.push(Look {
                control: SampleSummary {
                    n: c.count,
                    mean: c.mean,
                    variance: c.variance(),
                },
                treatment: SampleSummary {
                    n: t.count,
                    mean: t.mean,
                    variance: t.variance(),
                },
            });
            next += 1;
        }
    }
    looks
}
