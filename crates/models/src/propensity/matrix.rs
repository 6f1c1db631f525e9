//! A dense row-major matrix of features and the column standardiser the models share.

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// Dense row-major features: `rows × cols`, row `i` is `data[i*cols..(i+1)*cols]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// A matrix from row-major values; fails when `data.len() != rows * cols` or a value is not finite.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self, ModelError> {
        if data.len() != rows * cols {
            return Err(ModelError::Data(format!(
                "a {rows}x{cols} matrix needs {} values, got {}",
                rows * cols,
                data.len()
            )));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::Data(format!(
                "feature value at row {}, column {} is {} (must be finite)",
                i / cols.max(1),
                i % cols.max(1),
                data[i]
            )));
        }
        Ok(Matrix { rows, cols, data })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    pub fn set(&mut self, i: usize, j: usize, value: f64) {
        self.data[i * self.cols + j] = value;
    }

    /// The rows at `indices`, in that order.
    pub fn select_rows(&self, indices: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Matrix {
            rows: indices.len(),
            cols: self.cols,
            data,
        }
    }

    /// This matrix with extra columns appended to every row (`extra` is row-major with `extra_cols`).
    pub fn hstack(&self, extra: &Matrix) -> Result<Matrix, ModelError> {
        if extra.rows != self.rows {
            return Err(ModelError::Data(format!(
                "cannot join {} rows with {} rows",
                self.rows, extra.rows
            )));
        }
        let cols = self.cols + extra.cols;
        let mut data = Vec::with_capacity(self.rows * cols);
        for i in 0..self.rows {
            data.extend_from_slice(self.row(i));
            data.extend_from_slice(extra.row(i));
        }
        Ok(Matrix {
            rows: self.rows,
            cols,
            data,
        })
    }
}

/// Checks that `x`, `y` and optional weights agree in length and hold usable values.
pub(crate) fn check_training(
    x: &Matrix,
    y: &[f64],
    weights: Option<&[f64]>,
    binary: bool,
) -> Result<(), ModelError> {
    if x.rows() == 0 {
        return Err(ModelError::Data("no training rows".into()));
    }
    if y.len() != x.rows() {
        return Err(ModelError::Data(format!(
            "{} feature rows but {} outcomes",
            x.rows(),
            y.len()
        )));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::Data(format!(
            "outcome at row {i} is {} (must be finite)",
            y[i]
        )));
    }
    if binary {
        if let Some(i) = y.iter().position(|v| *v != 0.0 && *v != 1.0) {
            return Err(ModelError::Data(format!(
                "outcome at row {i} is {} (a binary model needs 0 or 1)",
                y[i]
            )));
        }
    }
    if let Some(w) = weights {
        if w.len() != x.rows() {
            return Err(ModelError::Data(format!(
                "{} feature rows but {} weights",
                x.rows(),
                w.len()
            )));
        }
        if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(ModelError::Data(format!(
                "weight at row {i} is {} (must be finite and non-negative)",
                w[i]
            )));
        }
        if w.iter().sum::<f64>() <= 0.0 {
            return Err(ModelError::Data("all weights are zero".into()));
        }
    }
    Ok(())
}

/// Per-column mean and standard deviation, so that penalties and learning rates treat every feature alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardiser {
    pub means: Vec<f64>,
    pub scales: Vec<f64>,
}

impl Standardiser {
    /// Fits on `x`; a constant column keeps scale 1 so it maps to 0 rather than dividing by zero.
    pub fn fit(x: &Matrix) -> Self {
        let n = x.rows().max(1) as f64;
        let mut means = vec![0.0; x.cols()];
        for i in 0..x.rows() {
            for (m, v) in means.iter_mut().zip(x.row(i)) {
                *m += v;
            }
        }
        means.iter_mut().for_each(|m| *m /= n);
        let mut vars = vec![0.0; x.cols()];
        for i in 0..x.rows() {
            for ((s, v), m) in vars.iter_mut().zip(x.row(i)).zip(&means) {
                *s += (v - m) * (v - m);
            }
        }
        let scales = vars
            .iter()
            .map(|s| {
                let sd = (s / n).sqrt();
                if sd > 1e-12 {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        Standardiser { means, scales }
    }

    /// Standardises one row into `out`.
    pub fn transform_row(&self, row: &[f64], out: &mut [f64]) {
        for (((o, v), m), s) in out.iter_mut().zip(row).zip(&self.means).zip(&self.scales) {
            *o = (v - m) / s;
        }
    }

    pub fn transform(&self, x: &Matrix) -> Matrix {
        let mut data = vec![0.0; x.rows() * x.cols()];
        for i in 0..x.rows() {
            self.transform_row(x.row(i), &mut data[i * x.cols()..(i + 1) * x.cols()]);
        }
        Matrix {
            rows: x.rows(),
            cols: x.cols(),
            data,
        }
    }

    pub(crate) fn check_width(&self, x: &Matrix) -> Result<(), ModelError> {
        if x.cols() != self.means.len() {
            return Err(ModelError::Data(format!(
                "the model was fitted on {} features, got {}",
                self.means.len(),
                x.cols()
            )));
        }
        Ok(())
    }
}

/// The standardiser of a fitted model; `model` names the model in the error when it was never fitted.
pub(crate) fn fitted<'a>(
    standardiser: Option<&'a Standardiser>,
    model: &str,
) -> Result<&'a Standardiser, ModelError> {
    standardiser.ok_or_else(|| ModelError::Data(format!("{model} used before fitting")))
}

pub(crate) use discount_eval::numerics::sigmoid;
