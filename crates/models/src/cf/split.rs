//! Seeded splits: k folds for cross-validation (the one assignment of `discount_eval::folds`) and a
//! holdout split.

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::error::ModelError;

pub use crate::propensity::folds::kfold_assignment;

/// Train and test row indices of fold `f`.
pub fn fold_rows(assignment: &[usize], f: usize) -> (Vec<usize>, Vec<usize>) {
    (0..assignment.len()).partition(|&r| assignment[r] != f)
}

/// Rows shuffled with `seed`, the first `test_fraction` of them as test: (train, test).
pub fn holdout_split(
    n: usize,
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), ModelError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(ModelError::InvalidHyper {
            name: "test_fraction",
            value: test_fraction.to_string(),
            reason: "must be strictly between 0 and 1".into(),
        });
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let n_test = (n as f64 * test_fraction).round() as usize;
    let mut test = order[..n_test].to_vec();
    let mut train = order[n_test..].to_vec();
    test.sort_unstable();
    train.sort_unstable();
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_partition_the_rows_evenly_and_reproducibly() {
        let a = kfold_assignment(103, 5, 1).unwrap();
        let mut sizes = [0; 5];
        for f in &a {
            sizes[*f] += 1;
        }
        assert_eq!(sizes, [21, 21, 21, 20, 20]);
        assert_eq!(a, kfold_assignment(103, 5, 1).unwrap());
        assert_ne!(a, kfold_assignment(103, 5, 2).unwrap());
        let (train, test) = fold_rows(&a, 0);
        assert_eq!((train.len(), test.len()), (82, 21));
        assert!(kfold_assignment(3, 5, 1).is_err());
        let (train, test) = holdout_split(10, 0.2, 3).unwrap();
        assert_eq!((train.len(), test.len()), (8, 2));
        assert!(holdout_split(10, 1.0, 3).is_err());
    }
}
