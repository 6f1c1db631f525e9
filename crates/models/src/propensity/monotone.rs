//! Forcing purchase probability to be non-decreasing in discount depth, for any base model.
//!
//! For a customer the model is evaluated at every depth of a fixed increasing grid; the running maximum
//! over the grid is non-decreasing by construction, and the probability at any depth is the linear
//! interpolation of that running maximum (clamped at the ends). Where the model is already monotone this
//! changes nothing; where it dips (noise, too few rows at a depth) the dip is flattened.

use serde::{Deserialize, Serialize};

use super::matrix::Matrix;
use super::{Learner, Model};
use crate::ModelError;

/// Which feature column is the discount depth, and the grid the envelope is taken over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonotoneInDepth {
    pub depth_column: usize,
    /// Strictly increasing depths (e.g. 0, 0.05, …, 0.5).
    pub grid: Vec<f64>,
}

impl MonotoneInDepth {
    pub fn new(depth_column: usize, grid: Vec<f64>) -> Result<Self, ModelError> {
        if grid.len() < 2 {
            return Err(ModelError::InvalidHyper {
                name: "grid",
                value: format!("{grid:?}"),
                reason: "needs at least two depths".into(),
            });
        }
        if grid.windows(2).any(|w| w[0] >= w[1] || w[0].is_nan())
            || grid.iter().any(|g| !g.is_finite())
        {
            return Err(ModelError::InvalidHyper {
                name: "grid",
                value: format!("{grid:?}"),
                reason: "depths must be finite and strictly increasing".into(),
            });
        }
        Ok(MonotoneInDepth { depth_column, grid })
    }

    /// Monotone predictions of `model` for the rows of `x`, each at its own depth.
    pub fn predict(&self, model: &dyn Learner, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        // The fields are public and may come from a file: re-check what `new` checks.
        Self::new(self.depth_column, self.grid.clone())?;
        if self.depth_column >= x.cols() {
            return Err(ModelError::Data(format!(
                "depth column {} is outside the {} features",
                self.depth_column,
                x.cols()
            )));
        }
        let envelope = self.envelope(model, x)?;
        let g = self.grid.len();
        Ok((0..x.rows())
            .map(|i| {
                interpolate(
                    &self.grid,
                    &envelope[i * g..(i + 1) * g],
                    x.get(i, self.depth_column),
                )
            })
            .collect())
    }

    /// The running maximum of the model's predictions along the grid, `rows × grid` row-major.
    pub fn envelope(&self, model: &dyn Learner, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        let g = self.grid.len();
        let mut at_grid = Vec::with_capacity(x.rows() * g * x.cols());
        for i in 0..x.rows() {
            for depth in &self.grid {
                let start = at_grid.len();
                at_grid.extend_from_slice(x.row(i));
                at_grid[start + self.depth_column] = *depth;
            }
        }
        let mut predictions = model.predict(&Matrix::new(x.rows() * g, x.cols(), at_grid)?)?;
        for row in predictions.chunks_mut(g) {
            for k in 1..g {
                row[k] = row[k].max(row[k - 1]);
            }
        }
        Ok(predictions)
    }
}

fn interpolate(grid: &[f64], values: &[f64], depth: f64) -> f64 {
    if depth <= grid[0] {
        return values[0];
    }
    for k in 1..grid.len() {
        if depth <= grid[k] {
            let t = (depth - grid[k - 1]) / (grid[k] - grid[k - 1]);
            return values[k - 1] + t * (values[k] - values[k - 1]);
        }
    }
    values[values.len() - 1]
}

/// A base model with the monotone-in-depth constraint applied to every prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonotoneModel {
    pub model: Model,
    pub monotone: MonotoneInDepth,
}

impl Learner for MonotoneModel {
    fn fit(&mut self, x: &Matrix, y: &[f64], weights: Option<&[f64]>) -> Result<(), ModelError> {
        self.model.fit(x, y, weights)
    }

    fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        self.monotone.predict(&self.model, x)
    }

    fn name(&self) -> &'static str {
        self.model.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model whose prediction dips in the middle of the depth range.
    struct Dipping;
    impl Learner for Dipping {
        fn fit(&mut self, _: &Matrix, _: &[f64], _: Option<&[f64]>) -> Result<(), ModelError> {
            Ok(())
        }
        fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
            Ok((0..x.rows())
                .map(|i| 0.5 - (x.get(i, 0) - 0.5).abs() * 0.2 + x.get(i, 0) * 0.1)
                .collect())
        }
        fn name(&self) -> &'static str {
            "dipping"
        }
    }

    #[test]
    fn envelope_is_monotone_and_keeps_monotone_parts() {
        let grid: Vec<f64> = (0..11).map(|k| k as f64 / 10.0).collect();
        let m = MonotoneInDepth::new(0, grid).unwrap();
        let depths: Vec<f64> = (0..101).map(|k| k as f64 / 100.0).collect();
        let x = Matrix::new(101, 1, depths).unwrap();
        let p = m.predict(&Dipping, &x).unwrap();
        assert!(p.windows(2).all(|w| w[1] >= w[0] - 1e-15));
        // Below 0.5 the model rises (slope 0.3), so nothing changes there.
        assert!((p[30] - (0.5 - 0.04 + 0.03)).abs() < 1e-12);
        assert!(MonotoneInDepth::new(0, vec![0.0, 0.0]).is_err());
    }
}
