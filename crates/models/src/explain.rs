//! Global explanations of the response model: permutation importance on a validation window.
//!
//! For each input, its column is shuffled across the window's decisions (which breaks its link
//! with the outcome and keeps its distribution), and the model is judged again exactly as
//! [`validate_response_model`] judges it: the drop in AUC, the rise in log-loss of the order
//! model on the offers served, and the drop in the self-normalised IPS value of the model's
//! greedy choice. Each shuffle is repeated with its own seeded generator; the figures are the
//! mean over repeats with a Student-t interval. An input the model ignores moves nothing; the
//! input the outcome hangs on moves the most.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

use discount_policy::response::ResponseModel;

use crate::response::{validate_response_model, DecisionRow, ResponseValidation};
use crate::ModelError;

/// How the importance is measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExplainConfig {
    /// Shuffles per input, >= 2 (for an interval).
    pub repeats: usize,
    pub seed: u64,
}

impl Default for ExplainConfig {
    fn default() -> Self {
        Self {
            repeats: 5,
            seed: 7,
        }
    }
}

/// A figure's mean over repeats and its 95% interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Repeated {
    pub mean: f64,
    pub lower: f64,
    pub upper: f64,
}

/// Student-t 97.5% quantiles for 1..=30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

impl Repeated {
    /// Mean and t interval of `xs` (no interval from fewer than two values).
    pub fn of(xs: &[f64]) -> Self {
        let n = xs.len();
        let mean = xs.iter().sum::<f64>() / n.max(1) as f64;
        if n < 2 {
            return Self {
                mean,
                lower: mean,
                upper: mean,
            };
        }
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let t = T975.get(n - 2).copied().unwrap_or(1.96);
        let half = t * (var / n as f64).sqrt();
        Self {
            mean,
            lower: mean - half,
            upper: mean + half,
        }
    }
}

/// One input's importance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureImportance {
    pub feature: String,
    /// `auc - auc permuted`.
    pub auc_drop: Option<Repeated>,
    /// `log_loss permuted - log_loss`.
    pub log_loss_rise: Option<Repeated>,
    /// `value - value permuted` of the model's greedy choice (SNIPS, minor units per decision).
    pub value_drop: Option<Repeated>,
}

/// The model's importance table on one window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GlobalExplanation {
    pub rows: usize,
    pub repeats: usize,
    pub seed: u64,
    /// The model judged on the window as it is.
    pub baseline: ResponseValidation,
    /// Most important first (by AUC drop, then value drop).
    pub features: Vec<FeatureImportance>,
}

/// Permutation importance of every input of `model` on `rows` (a window the model was not
/// fitted on).
pub fn permutation_importance(
    model: &ResponseModel,
    rows: &[DecisionRow],
    config: &ExplainConfig,
) -> Result<GlobalExplanation, ModelError> {
    if config.repeats < 2 {
        return Err(ModelError::Data(format!(
            "--repeats must be at least 2 for an interval, got {}",
            config.repeats
        )));
    }
    if rows.is_empty() {
        return Err(ModelError::Data(
            "no joined decision in the validation window to explain the model on".into(),
        ));
    }
    let d = model.features.len();
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.x.len() != d) {
        return Err(ModelError::Data(format!(
            "decision row {i} has {} features, the model reads {d}",
            r.x.len()
        )));
    }
    let baseline = validate_response_model(model, rows)?;
    let mut permuted = rows.to_vec();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut features = Vec::with_capacity(d);
    for (j, name) in model.features.iter().enumerate() {
        let (mut auc, mut loss, mut value) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..config.repeats {
            let mut rng = rand::rngs::StdRng::seed_from_u64(
                config
                    .seed
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .wrapping_add((j * config.repeats + r) as u64),
            );
            order.shuffle(&mut rng);
            for (row, &from) in permuted.iter_mut().zip(&order) {
                row.x[j] = rows[from].x[j];
            }
            let v = validate_response_model(model, &permuted)?;
            if let (Some(a), Some(b)) = (baseline.auc, v.auc) {
                auc.push(a - b);
            }
            if let (Some(a), Some(b)) = (baseline.log_loss, v.log_loss) {
                loss.push(b - a);
            }
            if let (Some(a), Some(b)) = (baseline.greedy_value_snips, v.greedy_value_snips) {
                value.push(a - b);
            }
        }
        for (row, original) in permuted.iter_mut().zip(rows) {
            row.x[j] = original.x[j];
        }
        let summary = |xs: &[f64]| (xs.len() == config.repeats).then(|| Repeated::of(xs));
        features.push(FeatureImportance {
            feature: name.clone(),
            auc_drop: summary(&auc),
            log_loss_rise: summary(&loss),
            value_drop: summary(&value),
        });
    }
    let key = |f: &FeatureImportance| {
        (
            f.auc_drop.map_or(f64::NEG_INFINITY, |r| r.mean),
            f.value_drop.map_or(f64::NEG_INFINITY, |r| r.mean),
        )
    };
    features.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        kb.0.total_cmp(&ka.0).then(kb.1.total_cmp(&ka.1))
    });
    Ok(GlobalExplanation {
        rows: rows.len(),
        repeats: config.repeats,
        seed: config.seed,
        baseline,
        features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{fit_response_model, ResponseFitConfig};
    use rand::Rng;

    /// `signal` decides who orders (and only with the offer), `noise` nothing.
    fn planted(n: usize, seed: u64) -> Vec<DecisionRow> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                let signal: f64 = rng.gen_range(-2.0..2.0);
                let noise: f64 = rng.gen_range(-2.0..2.0);
                let offer = rng.gen::<bool>();
                let logit = if offer { 2.5 * signal } else { -1.0 };
                let ordered = rng.gen::<f64>() < 1.0 / (1.0 + (-logit).exp());
                DecisionRow {
                    offer_id: if offer { "pct10" } else { "none" }.into(),
                    at: i as i64,
                    x: vec![noise, signal],
                    propensity: 0.5,
                    ordered,
                    profit: if ordered { 1_000.0 } else { 0.0 },
                    discount: if ordered && offer { 100.0 } else { 0.0 },
                }
            })
            .collect()
    }

    #[test]
    fn the_planted_feature_ranks_first() {
        let train = planted(3_000, 1);
        let valid = planted(1_500, 2);
        let model = fit_response_model(
            &train,
            &["none".into(), "pct10".into()],
            &["noise".into(), "signal".into()],
            "spec",
            &ResponseFitConfig::default(),
        )
        .unwrap();
        let e = permutation_importance(&model, &valid, &ExplainConfig::default()).unwrap();
        assert_eq!(e.features[0].feature, "signal");
        let signal = e.features[0].auc_drop.unwrap();
        let noise = e.features[1].auc_drop.unwrap();
        assert!(signal.lower > 0.1, "{signal:?}");
        assert!(noise.lower < 0.01 && noise.upper > -0.01, "{noise:?}");
        assert!(e.features[0].log_loss_rise.unwrap().mean > 0.05);
        assert!(e.features[0].value_drop.unwrap().mean > 0.0);
        // Seeded: the same again.
        let again = permutation_importance(&model, &valid, &ExplainConfig::default()).unwrap();
        assert_eq!(e, again);
        assert!(permutation_importance(
            &model,
            &valid,
            &ExplainConfig {
                repeats: 1,
                seed: 1
            }
        )
        .is_err());
    }

    #[test]
    fn t_interval() {
        let r = Repeated::of(&[1.0, 2.0, 3.0]);
        assert_eq!(r.mean, 2.0);
        assert!((r.upper - (2.0 + 4.303 / 3f64.sqrt())).abs() < 1e-9);
    }
}
