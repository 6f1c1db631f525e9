//! Ranking metrics for one list (average them over lists yourself, or use [`mean_at_k`]).
//!
//! Items are ranked by score, highest first; ties keep input order. With `rel_i` the relevance of the item at
//! rank i (1-based) and R the number of relevant items (relevance > 0):
//!
//! * precision@k = |relevant in top k| / k;
//! * recall@k = |relevant in top k| / R;
//! * NDCG@k = DCG@k / IDCG@k with DCG@k = Σ_{i ≤ k} rel_i / log2(i + 1) (linear gain, as `sklearn.metrics.ndcg_score`)
//!   and IDCG@k the DCG@k of the ideal order.

use crate::error::{EvalError, Result};

fn ranked(scores: &[f64], relevance: &[f64], k: usize) -> Result<Vec<f64>> {
    if scores.len() != relevance.len() {
        return Err(EvalError::shape("relevance", scores.len(), relevance.len()));
    }
    if k == 0 {
        return Err(EvalError::setting("k", "must be at least 1"));
    }
    if let Some(i) = scores.iter().position(|s| s.is_nan()) {
        return Err(EvalError::invalid("score", i, scores[i], "must not be NaN"));
    }
    if let Some(i) = relevance.iter().position(|r| !(*r >= 0.0 && r.is_finite())) {
        return Err(EvalError::invalid(
            "relevance",
            i,
            relevance[i],
            "must be finite and ≥ 0",
        ));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    Ok(order.into_iter().map(|i| relevance[i]).collect())
}

/// Fraction of the top `k` that is relevant (the denominator is `k` even if the list is shorter).
pub fn precision_at_k(scores: &[f64], relevance: &[f64], k: usize) -> Result<f64> {
    let ranked = ranked(scores, relevance, k)?;
    Ok(ranked.iter().take(k).filter(|r| **r > 0.0).count() as f64 / k as f64)
}

/// Fraction of the relevant items found in the top `k` (NaN when nothing is relevant).
pub fn recall_at_k(scores: &[f64], relevance: &[f64], k: usize) -> Result<f64> {
    let ranked = ranked(scores, relevance, k)?;
    let total = ranked.iter().filter(|r| **r > 0.0).count();
    if total == 0 {
        return Ok(f64::NAN);
    }
    Ok(ranked.iter().take(k).filter(|r| **r > 0.0).count() as f64 / total as f64)
}

fn dcg(relevance_in_order: &[f64], k: usize) -> f64 {
    relevance_in_order
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, r)| r / ((i + 2) as f64).log2())
        .sum()
}

/// Normalised discounted cumulative gain at `k` (0 when nothing is relevant, as scikit-learn).
pub fn ndcg_at_k(scores: &[f64], relevance: &[f64], k: usize) -> Result<f64> {
    let ranked = ranked(scores, relevance, k)?;
    let mut ideal = relevance.to_vec();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let ideal_dcg = dcg(&ideal, k);
    if ideal_dcg == 0.0 {
        return Ok(0.0);
    }
    Ok(dcg(&ranked, k) / ideal_dcg)
}

/// Mean of a metric over several lists, skipping NaN values (lists where the metric is undefined).
pub fn mean_at_k(
    lists: &[(Vec<f64>, Vec<f64>)],
    k: usize,
    metric: fn(&[f64], &[f64], usize) -> Result<f64>,
) -> Result<f64> {
    let mut total = 0.0;
    let mut count = 0;
    for (scores, relevance) in lists {
        let v = metric(scores, relevance, k)?;
        if !v.is_nan() {
            total += v;
            count += 1;
        }
    }
    Ok(if count == 0 {
        f64::NAN
    } else {
        total / count as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        // Ranked order by score: items 2 (rel 3), 0 (rel 0), 1 (rel 2), 3 (rel 0).
        let scores = [0.8, 0.3, 0.9, 0.1];
        let relevance = [0.0, 2.0, 3.0, 0.0];
        assert!((precision_at_k(&scores, &relevance, 2).unwrap() - 0.5).abs() < 1e-15);
        assert!((recall_at_k(&scores, &relevance, 2).unwrap() - 0.5).abs() < 1e-15);
        assert!((recall_at_k(&scores, &relevance, 3).unwrap() - 1.0).abs() < 1e-15);
        // DCG@3 = 3/log2(2) + 0 + 2/log2(4) = 3 + 1 = 4; IDCG@3 = 3 + 2/log2(3).
        let expected = 4.0 / (3.0 + 2.0 / 3f64.log2());
        assert!((ndcg_at_k(&scores, &relevance, 3).unwrap() - expected).abs() < 1e-15);
    }

    #[test]
    fn nothing_relevant() {
        assert_eq!(ndcg_at_k(&[1.0, 0.0], &[0.0, 0.0], 2).unwrap(), 0.0);
        assert!(recall_at_k(&[1.0, 0.0], &[0.0, 0.0], 2).unwrap().is_nan());
    }
}
