//! Cross-validated RMSE of the rating models and the holdout split of the implicit models.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::data::{Rating, Ratings};
use super::split::{fold_rows, holdout_split, kfold_assignment};
use super::svd::{BiasedMf, SgdParams};
use super::svdpp::SvdPlusPlus;
use crate::error::ModelError;

/// Which rating model to cross-validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RatingModel {
    BiasedMf,
    SvdPlusPlus,
}

/// Error of a model on one test fold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FoldScore {
    pub fold: usize,
    pub train: usize,
    pub test: usize,
    pub rmse: f64,
    pub mae: f64,
    /// Wall-clock seconds to fit the fold (informative; measured, never asserted).
    pub fit_seconds: f64,
}

/// RMSE and MAE of `predict` on `test`.
pub fn rating_errors(test: &[Rating], predict: impl Fn(u32, u32) -> f64) -> (f64, f64) {
    let (mut se, mut ae) = (0.0, 0.0);
    for r in test {
        let e = predict(r.user, r.item) - r.value as f64;
        se += e * e;
        ae += e.abs();
    }
    let n = test.len().max(1) as f64;
    ((se / n).sqrt(), ae / n)
}

/// k-fold cross-validation with folds dealt by `fold_seed` (see [`kfold_assignment`]).
/// `on_fold` is called after each fold (for progress reporting).
pub fn cross_validate(
    ratings: &Ratings,
    folds: usize,
    fold_seed: u64,
    model: RatingModel,
    params: &SgdParams,
    on_fold: impl FnMut(&FoldScore),
) -> Result<Vec<FoldScore>, ModelError> {
    let assignment = kfold_assignment(ratings.entries.len(), folds, fold_seed)?;
    cross_validate_assigned(ratings, &assignment, model, params, on_fold)
}

/// [`cross_validate`] on given folds: `assignment[i]` is the fold of rating `i` (folds 0..k, each
/// non-empty), e.g. read from a file so that another library scores the same folds.
pub fn cross_validate_assigned(
    ratings: &Ratings,
    assignment: &[usize],
    model: RatingModel,
    params: &SgdParams,
    mut on_fold: impl FnMut(&FoldScore),
) -> Result<Vec<FoldScore>, ModelError> {
    if assignment.len() != ratings.entries.len() {
        return Err(ModelError::Data(format!(
            "{} fold assignments for {} ratings",
            assignment.len(),
            ratings.entries.len()
        )));
    }
    let folds = assignment.iter().max().map_or(0, |m| m + 1);
    let mut out = Vec::with_capacity(folds);
    for f in 0..folds {
        let (train_rows, test_rows) = fold_rows(assignment, f);
        let train = ratings.subset(&train_rows);
        let test = ratings.subset(&test_rows);
        let start = Instant::now();
        let (users, items) = (ratings.users(), ratings.items());
        let (rmse, mae, fit_seconds) = match model {
            RatingModel::BiasedMf => {
                let m = BiasedMf::fit(users, items, &train, params)?;
                let s = start.elapsed().as_secs_f64();
                let (rmse, mae) = rating_errors(&test, |u, i| m.predict(u, i));
                (rmse, mae, s)
            }
            RatingModel::SvdPlusPlus => {
                let m = SvdPlusPlus::fit(users, items, &train, params)?;
                let s = start.elapsed().as_secs_f64();
                let (rmse, mae) = rating_errors(&test, |u, i| m.predict(u, i));
                (rmse, mae, s)
            }
        };
        let score = FoldScore {
            fold: f,
            train: train.len(),
            test: test.len(),
            rmse,
            mae,
            fit_seconds,
        };
        on_fold(&score);
        out.push(score);
    }
    Ok(out)
}

/// Implicit feedback from ratings: the ratings of at least `threshold` become interactions of
/// value 1, split at random (seeded) into train and `test_fraction` test.
pub fn implicit_split(
    ratings: &Ratings,
    threshold: f32,
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<Rating>, Vec<Rating>), ModelError> {
    let positives: Vec<Rating> = ratings
        .entries
        .iter()
        .filter(|r| r.value >= threshold)
        .map(|r| Rating { value: 1.0, ..*r })
        .collect();
    let (train_rows, test_rows) = holdout_split(positives.len(), test_fraction, seed)?;
    let pick = |rows: &[usize]| rows.iter().map(|&k| positives[k]).collect::<Vec<_>>();
    Ok((pick(&train_rows), pick(&test_rows)))
}
