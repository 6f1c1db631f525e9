//! Seeded k-fold cross-validation of a propensity model: AUC, log-loss, and calibration before and after
//! Platt and isotonic maps.
//!
//! Per fold the model is fitted on the other folds and scored on this one (AUC, log-loss, ECE). For the
//! calibration figures a second copy is fitted on 80% of the training folds; the calibrators are fitted on
//! its predictions for the remaining 20% and judged on the test fold against that copy's raw ECE, so no
//! calibrator sees the rows it is judged on.

use std::time::Instant;

use discount_eval::calibration::calibration;
use serde::{Deserialize, Serialize};

use super::matrix::Matrix;
use super::metrics::{log_loss, roc_auc};
use super::Learner;
use crate::calibration::Calibrator;
use crate::ModelError;

/// Bins of the reliability diagrams and the ECE.
pub const CALIBRATION_BINS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldResult {
    pub fold: usize,
    pub train_rows: usize,
    pub test_rows: usize,
    pub auc: f64,
    pub log_loss: f64,
    /// ECE of the model fitted on all training folds.
    pub ece: f64,
    /// ECE of the 80% copy before calibration, and after each calibrator.
    pub ece_uncalibrated: f64,
    pub ece_platt: f64,
    pub ece_isotonic: f64,
    pub log_loss_isotonic: f64,
    pub fit_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    pub model: String,
    pub folds: Vec<FoldResult>,
    pub mean_auc: f64,
    pub mean_log_loss: f64,
    pub mean_ece: f64,
    pub mean_ece_uncalibrated: f64,
    pub mean_ece_platt: f64,
    pub mean_ece_isotonic: f64,
    /// Seconds spent fitting the main model, all folds.
    pub fit_seconds: f64,
    /// Out-of-fold predictions of the main model (row order of the data), for reliability diagrams and
    /// for fitting the calibrator of a model refitted on all rows.
    #[serde(skip_serializing, default)]
    pub out_of_fold: Vec<f64>,
    /// Out-of-fold predictions of the 80% copies after isotonic calibration.
    #[serde(skip_serializing, default)]
    pub out_of_fold_isotonic: Vec<f64>,
    /// Rows that were in a tested fold, in row order: all rows in cross-validation, the test rows of a
    /// split. Only these have out-of-fold predictions.
    #[serde(skip_serializing, default)]
    pub tested_rows: Vec<usize>,
}

impl CvReport {
    /// `values` (one per data row) at the tested rows.
    pub fn at_tested<T: Copy>(&self, values: &[T]) -> Vec<T> {
        self.tested_rows.iter().map(|&i| values[i]).collect()
    }
}

fn ece(predicted: &[f64], observed: &[f64]) -> Result<f64, ModelError> {
    calibration(predicted, observed, CALIBRATION_BINS)
        .map(|r| r.expected_calibration_error)
        .map_err(|e| ModelError::Data(e.to_string()))
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n.max(1) as f64
}

/// Cross-validates the models `build` makes; `on_fold` is called after each fold (for progress bars).
pub fn cross_validate(
    x: &Matrix,
    y: &[f64],
    folds: &[usize],
    build: &dyn Fn() -> Result<Box<dyn Learner>, ModelError>,
    on_fold: &mut dyn FnMut(usize),
) -> Result<CvReport, ModelError> {
    let k = folds.iter().max().map_or(0, |m| m + 1);
    let all: Vec<usize> = (0..k).collect();
    validate_folds(x, y, folds, &all, build, on_fold)
}

/// Fits on the other folds and scores each fold in `tested` only: a test/train split is the two folds of
/// [`super::folds::split_as_folds`] with fold 0 tested.
pub fn validate_folds(
    x: &Matrix,
    y: &[f64],
    folds: &[usize],
    tested: &[usize],
    build: &dyn Fn() -> Result<Box<dyn Learner>, ModelError>,
    on_fold: &mut dyn FnMut(usize),
) -> Result<CvReport, ModelError> {
    if folds.len() != x.rows() || y.len() != x.rows() {
        return Err(ModelError::Data(format!(
            "{} rows, {} outcomes, {} fold labels",
            x.rows(),
            y.len(),
            folds.len()
        )));
    }
    let k = folds.iter().max().map_or(0, |m| m + 1);
    if k < 2 {
        return Err(ModelError::Data(
            "cross-validation needs at least 2 folds".into(),
        ));
    }
    if let Some(fold) = tested.iter().find(|f| **f >= k) {
        return Err(ModelError::Data(format!(
            "fold {fold} is not among the {k} folds"
        )));
    }
    let mut results = Vec::with_capacity(tested.len());
    let mut out_of_fold = vec![0.0; x.rows()];
    let mut out_of_fold_isotonic = vec![0.0; x.rows()];
    let mut name = String::new();
    for &fold in tested {
        let test: Vec<usize> = (0..x.rows()).filter(|&i| folds[i] == fold).collect();
        let train: Vec<usize> = (0..x.rows()).filter(|&i| folds[i] != fold).collect();
        if test.is_empty() {
            return Err(ModelError::Data(format!("fold {fold} is empty")));
        }
        let pick = |rows: &[usize]| rows.iter().map(|&i| y[i]).collect::<Vec<_>>();
        let (x_test, y_test) = (x.select_rows(&test), pick(&test));

        let mut model = build()?;
        name = model.name().to_string();
        let started = Instant::now();
        model.fit(&x.select_rows(&train), &pick(&train), None)?;
        let fit_seconds = started.elapsed().as_secs_f64();
        let predicted = model.predict(&x_test)?;
        for (&i, p) in test.iter().zip(&predicted) {
            out_of_fold[i] = *p;
        }

        // Every fifth training row (by position) calibrates; the rest fit the copy.
        let (calib, fit_rows): (Vec<usize>, Vec<usize>) =
            train
                .iter()
                .enumerate()
                .fold((Vec::new(), Vec::new()), |(mut c, mut f), (pos, &i)| {
                    if pos % 5 == 0 {
                        c.push(i)
                    } else {
                        f.push(i)
                    }
                    (c, f)
                });
        let mut copy = build()?;
        copy.fit(&x.select_rows(&fit_rows), &pick(&fit_rows), None)?;
        let calib_scores = copy.predict(&x.select_rows(&calib))?;
        let platt = Calibrator::fit_platt(&calib_scores, &pick(&calib))?;
        let isotonic = Calibrator::fit_isotonic(&calib_scores, &pick(&calib))?;
        let copy_test = copy.predict(&x_test)?;
        let isotonic_test = isotonic.apply_all(&copy_test);
        for (&i, p) in test.iter().zip(&isotonic_test) {
            out_of_fold_isotonic[i] = *p;
        }

        results.push(FoldResult {
            fold,
            train_rows: train.len(),
            test_rows: test.len(),
            auc: roc_auc(&predicted, &y_test)?,
            log_loss: log_loss(&predicted, &y_test)?,
            ece: ece(&predicted, &y_test)?,
            ece_uncalibrated: ece(&copy_test, &y_test)?,
            ece_platt: ece(&platt.apply_all(&copy_test), &y_test)?,
            ece_isotonic: ece(&isotonic_test, &y_test)?,
            log_loss_isotonic: log_loss(&isotonic_test, &y_test)?,
            fit_seconds,
        });
        on_fold(fold);
    }
    Ok(CvReport {
        model: name,
        mean_auc: mean(results.iter().map(|r| r.auc)),
        mean_log_loss: mean(results.iter().map(|r| r.log_loss)),
        mean_ece: mean(results.iter().map(|r| r.ece)),
        mean_ece_uncalibrated: mean(results.iter().map(|r| r.ece_uncalibrated)),
        mean_ece_platt: mean(results.iter().map(|r| r.ece_platt)),
        mean_ece_isotonic: mean(results.iter().map(|r| r.ece_isotonic)),
        fit_seconds: results.iter().map(|r| r.fit_seconds).sum(),
        folds: results,
        out_of_fold,
        out_of_fold_isotonic,
        tested_rows: (0..x.rows())
            .filter(|&i| tested.contains(&folds[i]))
            .collect(),
    })
}
