//! Small shared numerics, each written once: the logistic function, symmetric positive-definite
//! solves (Cholesky) and ROC AUC.
//!
//! They live here because this is the lowest crate that needs them: the reward models of
//! [`crate::ope`] fit logistic regressions, `discount-models` (which depends on this crate) solves
//! Newton and ALS normal equations and scores classifiers, `discount-fraud` fits its logistic score,
//! and the policy's Thompson sampling uses [`crate::stats::normal_cdf`]. None of them carries a
//! domain meaning, so callers turn a `None` into their own error with context.

/// The logistic function `1 / (1 + e^-z)`, written so that neither tail overflows.
#[inline]
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^z)` without overflow (the log loss of a logit).
#[inline]
pub fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Solves `a · x = b` for a symmetric positive-definite `a` (row-major `n × n`, `n = b.len()`) by
/// Cholesky decomposition. `None` when `a` is not positive definite (or not finite) or the sizes
/// disagree.
pub fn solve_spd(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    if a.len() != n * n {
        return None;
    }
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = a[i * n + j];
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if !(sum > 0.0 && sum.is_finite()) {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut sum = b[i];
        for k in 0..i {
            sum -= l[i * n + k] * y[k];
        }
        y[i] = sum / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut sum = y[i];
        for k in i + 1..n {
            sum -= l[k * n + i] * x[k];
        }
        x[i] = sum / l[i * n + i];
    }
    Some(x)
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (the Mann–Whitney statistic with mid-ranks, as
/// `sklearn.metrics.roc_auc_score`). `None` unless both classes are present and the lengths agree.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    if scores.len() != positive.len() {
        return None;
    }
    let positives = positive.iter().filter(|p| **p).count();
    let negatives = positive.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && scores[order[end + 1]] == scores[order[start]] {
            end += 1;
        }
        let mid_rank = (start + end) as f64 / 2.0 + 1.0;
        rank_sum += mid_rank * order[start..=end].iter().filter(|&&i| positive[i]).count() as f64;
        start = end + 1;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_known_system_and_refuses_a_singular_one() {
        // [[4, 2], [2, 3]] x = [2, 1] -> x = [0.5, 0].
        let x = solve_spd(&[4.0, 2.0, 2.0, 3.0], &[2.0, 1.0]).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12);
        assert!(solve_spd(&[1.0, 1.0, 1.0, 1.0], &[1.0, 1.0]).is_none());
        assert!(solve_spd(&[f64::NAN, 0.0, 0.0, 1.0], &[1.0, 1.0]).is_none());
        assert!(solve_spd(&[1.0], &[1.0, 1.0]).is_none());
    }

    #[test]
    fn auc_by_hand_with_ties() {
        // Pairs (pos, neg): (0.8 vs 0.1) win, (0.8 vs 0.4) win, (0.4 vs 0.1) win, (0.4 vs 0.4) tie.
        let auc = roc_auc(&[0.1, 0.4, 0.4, 0.8], &[false, false, true, true]).unwrap();
        assert!((auc - 0.875).abs() < 1e-12);
        assert!(roc_auc(&[0.1, 0.2], &[true, true]).is_none());
    }

    #[test]
    fn logistic_pieces_by_hand() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-15);
        assert!((softplus(800.0) - 800.0).abs() < 1e-12);
        assert!(softplus(-800.0) >= 0.0 && softplus(-800.0) < 1e-300);
    }
}
