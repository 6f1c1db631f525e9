//! Discrimination and fit of predicted probabilities: ROC AUC and log-loss.

use crate::ModelError;

fn check(predicted: &[f64], observed: &[f64]) -> Result<(), ModelError> {
    if predicted.len() != observed.len() || predicted.is_empty() {
        return Err(ModelError::Data(format!(
            "{} predictions for {} outcomes",
            predicted.len(),
            observed.len()
        )));
    }
    if let Some(i) = observed.iter().position(|y| *y != 0.0 && *y != 1.0) {
        return Err(ModelError::Data(format!(
            "outcome at row {i} is {} (must be 0 or 1)",
            observed[i]
        )));
    }
    if let Some(i) = predicted.iter().position(|p| p.is_nan()) {
        return Err(ModelError::Data(format!("prediction at row {i} is NaN")));
    }
    Ok(())
}

/// Area under the ROC curve: the probability that a random positive scores above a random negative,
/// ties counting one half (the Mann–Whitney statistic with mid-ranks, as `sklearn.metrics.roc_auc_score`).
pub fn roc_auc(predicted: &[f64], observed: &[f64]) -> Result<f64, ModelError> {
    check(predicted, observed)?;
    let positive: Vec<bool> = observed.iter().map(|y| *y == 1.0).collect();
    discount_eval::numerics::roc_auc(predicted, &positive)
        .ok_or_else(|| ModelError::Data("AUC needs both positive and negative outcomes".into()))
}

/// Mean negative log-likelihood, probabilities clipped to [1e-15, 1 − 1e-15] (as scikit-learn).
pub fn log_loss(predicted: &[f64], observed: &[f64]) -> Result<f64, ModelError> {
    check(predicted, observed)?;
    let total: f64 = predicted
        .iter()
        .zip(observed)
        .map(|(p, y)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    Ok(total / predicted.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand_with_ties() {
        // Pairs (pos, neg): (0.8 vs 0.1) win, (0.8 vs 0.4) win, (0.4 vs 0.1) win, (0.4 vs 0.4) tie -> 3.5 / 4.
        let auc = roc_auc(&[0.1, 0.4, 0.4, 0.8], &[0.0, 0.0, 1.0, 1.0]).unwrap();
        assert!((auc - 0.875).abs() < 1e-12);
    }

    #[test]
    fn log_loss_by_hand() {
        let l = log_loss(&[0.5, 0.9], &[1.0, 0.0]).unwrap();
        assert!((l - (-(0.5f64.ln()) - (0.1f64.ln())) / 2.0).abs() < 1e-12);
    }
}
