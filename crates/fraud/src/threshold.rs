//! Thresholds for the offer gate: the scores above which the share of good customers affected
//! stays within a budget. The gate itself is the decision engine's (`discount_policy::gate`,
//! configured by `rules.gate.withhold_above` and `cap_above`), the one that decisions use.

use crate::FraudError;

/// The lowest threshold at which at most `budget` of `scores` are at or above it: on good
/// customers' scores, the false-positive budget; on a whole unlabelled population, the share of
/// customers the gate may touch.
pub fn threshold_for_budget(scores: &[f64], budget: f64) -> Result<f64, FraudError> {
    if !(0.0..1.0).contains(&budget) {
        return Err(FraudError::config(
            "false_positive_budget",
            budget,
            "must be in [0, 1)",
        ));
    }
    if let Some(s) = scores.iter().find(|s| !s.is_finite()) {
        return Err(FraudError::config("score", s, "must be finite"));
    }
    if scores.is_empty() {
        return Ok(1.0);
    }
    let mut sorted = scores.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let allowed = (budget * sorted.len() as f64).floor() as usize;
    // Everything strictly above the (allowed+1)-th highest score: ties stay below the line.
    let t = sorted[allowed.min(sorted.len() - 1)].next_up();
    Ok(if allowed >= sorted.len() {
        0.0
    } else {
        t.min(1.0)
    })
}

/// On labelled scores: among the thresholds that affect at most `budget` of the good customers,
/// the one with the best F1 on fraud (ties go to the higher threshold). The budget is a ceiling,
/// not a quota: when fraud and good customers separate, fewer good customers are touched.
pub fn threshold_for_labels(
    scores: &[f64],
    is_fraud: &[bool],
    budget: f64,
) -> Result<f64, FraudError> {
    let floor = threshold_for_budget(
        &scores
            .iter()
            .zip(is_fraud)
            .filter(|(_, &f)| !f)
            .map(|(&s, _)| s)
            .collect::<Vec<_>>(),
        budget,
    )?;
    let positives = is_fraud.iter().filter(|&&f| f).count();
    let mut order: Vec<usize> = (0..scores.len()).filter(|&i| scores[i] >= floor).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp) = (0usize, 0usize);
    let (mut best, mut best_f1) = (
        floor.max(order.first().map_or(1.0, |&i| scores[i].next_up())),
        0.0,
    );
    let mut i = 0;
    while i < order.len() {
        let s = scores[order[i]];
        while i < order.len() && scores[order[i]] == s {
            if is_fraud[order[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let f1 = 2.0 * tp as f64 / (2 * tp + fp + positives - tp) as f64;
        if f1 > best_f1 {
            best_f1 = f1;
            best = s;
        }
    }
    Ok(best.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_thresholds_touch_at_most_the_budget() {
        let scores: Vec<f64> = (0..1000).map(|i| i as f64 / 1000.0).collect();
        let t = threshold_for_budget(&scores, 0.005).unwrap();
        let above = scores.iter().filter(|&&s| s >= t).count();
        assert_eq!(above, 5);
        // Ties: five equal top scores with a budget of three admit none of them.
        let tied = [0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1];
        let t = threshold_for_budget(&tied, 3.0 / 7.0).unwrap();
        assert_eq!(tied.iter().filter(|&&s| s >= t).count(), 0);
        assert!(threshold_for_budget(&scores, 1.5).is_err());
        assert_eq!(threshold_for_budget(&[], 0.1).unwrap(), 1.0);
    }

    #[test]
    fn labelled_thresholds_stay_in_budget_and_skip_needless_false_positives() {
        // Ten fraud at 0.9+, a gap, then 1000 good customers, five of them at 0.5.
        let mut scores: Vec<f64> = (0..10).map(|i| 0.9 + i as f64 / 1000.0).collect();
        let mut fraud = vec![true; 10];
        scores.extend((0..1000).map(|i| if i < 5 { 0.5 } else { 0.01 }));
        fraud.extend(vec![false; 1000]);
        let t = threshold_for_labels(&scores, &fraud, 0.005).unwrap();
        assert!(t > 0.5 && t <= 0.9, "{t}");
        // With a zero budget no good customer may be affected.
        let t0 = threshold_for_labels(&scores, &fraud, 0.0).unwrap();
        assert!(scores.iter().zip(&fraud).all(|(&s, &f)| f || s < t0));
    }
}
