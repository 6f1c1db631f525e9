//! How well a forecast of purchases matches what customers did in a holdout period.

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// Forecast against actual purchases, one value per customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutReport {
    pub customers: usize,
    pub predicted_total: f64,
    pub actual_total: f64,
    /// Pearson correlation of predicted and actual purchases per customer.
    pub correlation: f64,
    /// Mean absolute error per customer.
    pub mae: f64,
    /// Root mean squared error per customer.
    pub rmse: f64,
    /// ROC AUC of the forecast as a score for "buys at least once in the holdout".
    pub auc_buys_again: f64,
}

/// Compare a forecast with the actual holdout purchases.
pub fn evaluate(predicted: &[f64], actual: &[f64]) -> Result<HoldoutReport, ModelError> {
    if predicted.len() != actual.len() || predicted.is_empty() {
        return Err(ModelError::Data(format!(
            "holdout evaluation needs as many forecasts as actuals, and at least one; got {} and {}",
            predicted.len(),
            actual.len()
        )));
    }
    if predicted.iter().chain(actual).any(|v| !v.is_finite()) {
        return Err(ModelError::Data(
            "holdout evaluation needs finite values".into(),
        ));
    }
    let n = predicted.len() as f64;
    let errors = predicted.iter().zip(actual).map(|(p, a)| p - a);
    let mae = errors.clone().map(f64::abs).sum::<f64>() / n;
    let rmse = (errors.map(|e| e * e).sum::<f64>() / n).sqrt();
    let labels: Vec<bool> = actual.iter().map(|a| *a > 0.0).collect();
    Ok(HoldoutReport {
        customers: predicted.len(),
        predicted_total: predicted.iter().sum(),
        actual_total: actual.iter().sum(),
        correlation: pearson(predicted, actual),
        mae,
        rmse,
        auc_buys_again: roc_auc(predicted, &labels)?,
    })
}

/// Pearson correlation (NaN when either side is constant).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// ROC AUC by the Mann-Whitney rank statistic, ties counted as half
/// ([`discount_eval::numerics::roc_auc`]).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Result<f64, ModelError> {
    discount_eval::numerics::roc_auc(scores, labels).ok_or_else(|| {
        ModelError::Data(format!(
            "AUC needs both positive and negative examples and one label per score ({} scores, {} labels)",
            scores.len(),
            labels.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand() {
        let scores = [0.1, 0.4, 0.35, 0.8];
        let labels = [false, false, true, true];
        // sklearn.metrics.roc_auc_score gives 0.75.
        assert!((roc_auc(&scores, &labels).unwrap() - 0.75).abs() < 1e-12);
        let tied = [0.5, 0.5, 0.5, 0.5];
        assert!((roc_auc(&tied, &labels).unwrap() - 0.5).abs() < 1e-12);
        assert!(roc_auc(&scores, &[true; 4]).is_err());
    }

    #[test]
    fn errors_by_hand() {
        let r = evaluate(&[1.0, 2.0, 0.0], &[0.0, 2.0, 1.0]).unwrap();
        assert!((r.mae - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.rmse - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((r.predicted_total - 3.0).abs() < 1e-12);
        assert!(evaluate(&[1.0], &[]).is_err());
    }
}
