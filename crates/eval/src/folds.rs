//! The one seeded k-fold assignment, used by cross-fitted reward models here, by the propensity, rating and
//! uplift learners of `discount-models` and by the CLI's `--folds K` (whose `--write-folds` file lets
//! other tools use the same folds).

use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Fold of each of `n` rows: the rows shuffled with `seed`, then dealt round-robin into `k` folds, so fold
/// sizes differ by at most one (the first `n % k` folds get one more, as in scikit-learn's `KFold`).
/// `None` unless `2 <= k <= n`.
pub fn kfold_assignment(n: usize, k: usize, seed: u64) -> Option<Vec<usize>> {
    if k < 2 || k > n {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let mut folds = vec![0; n];
    for (position, &row) in order.iter().enumerate() {
        folds[row] = position % k;
    }
    Some(folds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_balanced_seeded_and_bounded() {
        let a = kfold_assignment(103, 5, 7).unwrap();
        assert_eq!(a, kfold_assignment(103, 5, 7).unwrap());
        assert_ne!(a, kfold_assignment(103, 5, 8).unwrap());
        let mut sizes = [0; 5];
        for f in &a {
            sizes[*f] += 1;
        }
        assert_eq!(sizes, [21, 21, 21, 20, 20]);
        assert!(kfold_assignment(3, 5, 1).is_none());
        assert!(kfold_assignment(3, 1, 1).is_none());
    }
}
