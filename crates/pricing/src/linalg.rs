//! Least squares with heteroskedasticity-robust, cluster-robust and Newey-West covariances, and the normal
//! quantiles of intervals.

// Index loops over rows, columns and states read like the formulas they implement.
#![allow(clippy::needless_range_loop)]

use nalgebra::{DMatrix, DVector};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::error::{not_identified, Result};

/// A design matrix stored row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub names: Vec<String>,
    /// `rows * names.len()` values, row-major.
    pub values: Vec<f64>,
}

impl Design {
    pub fn new(names: Vec<String>) -> Self {
        Design {
            names,
            values: Vec::new(),
        }
    }
    pub fn columns(&self) -> usize {
        self.names.len()
    }
    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.columns()).unwrap_or(0)
    }
    pub fn row(&self, i: usize) -> &[f64] {
        let p = self.columns();
        &self.values[i * p..(i + 1) * p]
    }
    pub fn push_row(&mut self, row: &[f64]) {
        self.values.extend_from_slice(row);
    }
    /// Column `j` as a vector.
    pub fn column(&self, j: usize) -> Vec<f64> {
        (0..self.rows()).map(|i| self.row(i)[j]).collect()
    }
    /// Keeps only the listed columns.
    pub fn select(&self, keep: &[usize]) -> Design {
        let mut out = Design::new(keep.iter().map(|&j| self.names[j].clone()).collect());
        for i in 0..self.rows() {
            let row = self.row(i);
            for &j in keep {
                out.values.push(row[j]);
            }
        }
        out
    }
}

/// How the coefficient covariance is estimated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CovarianceKind<'a> {
    /// White's heteroskedasticity-robust estimator with the n / (n - k) correction (HC1).
    Hc1,
    /// Clustered by the given group of each row, with the G/(G-1) (n-1)/(n-k) correction (Stata, statsmodels).
    Cluster(&'a [usize]),
    /// Newey-West with Bartlett weights up to `lags`; rows must be in time order (one series).
    NeweyWest(usize),
}

/// A least-squares fit.
#[derive(Debug, Clone, PartialEq)]
pub struct OlsFit {
    pub beta: Vec<f64>,
    /// Coefficient covariance, row-major p x p.
    pub covariance: Vec<f64>,
    pub residuals: Vec<f64>,
    /// Residual sum of squares over total sum of squares around zero (the data are demeaned by the caller).
    pub r2: f64,
}

impl OlsFit {
    pub fn std_error(&self, j: usize) -> f64 {
        let p = self.beta.len();
        self.covariance[j * p + j].max(0.0).sqrt()
    }
}

fn cross_product(design: &Design) -> DMatrix<f64> {
    let p = design.columns();
    let mut xtx = DMatrix::<f64>::zeros(p, p);
    for i in 0..design.rows() {
        let row = design.row(i);
        for a in 0..p {
            let ra = row[a];
            if ra == 0.0 {
                continue;
            }
            for b in a..p {
                xtx[(a, b)] += ra * row[b];
            }
        }
    }
    for a in 0..p {
        for b in 0..a {
            xtx[(a, b)] = xtx[(b, a)];
        }
    }
    xtx
}

/// Ordinary least squares of `y` on `design` (no intercept added), with a robust covariance.
/// `absorbed` counts parameters removed before the call (fixed effects) for the degrees of freedom.
pub fn ols(
    model: &str,
    design: &Design,
    y: &[f64],
    kind: CovarianceKind<'_>,
    absorbed: usize,
) -> Result<OlsFit> {
    let n = design.rows();
    let p = design.columns();
    if n != y.len() {
        return Err(not_identified(
            model,
            format!("{n} design rows but {} outcomes", y.len()),
        ));
    }
    if n <= p + absorbed {
        return Err(not_identified(
            model,
            format!("{n} rows for {} parameters", p + absorbed),
        ));
    }
    let xtx = cross_product(design);
    let mut xty = DVector::<f64>::zeros(p);
    for i in 0..n {
        let row = design.row(i);
        for a in 0..p {
            xty[a] += row[a] * y[i];
        }
    }
    let inverse = xtx.clone().cholesky().map(|c| c.inverse()).ok_or_else(|| {
        not_identified(
            model,
            "the regressors are collinear (no price variation left?)",
        )
    })?;
    let beta = &inverse * xty;
    let mut residuals = Vec::with_capacity(n);
    for i in 0..n {
        let row = design.row(i);
        let fitted: f64 = row.iter().zip(beta.iter()).map(|(x, b)| x * b).sum();
        residuals.push(y[i] - fitted);
    }
    let k = (p + absorbed) as f64;
    let nf = n as f64;
    let mut meat = DMatrix::<f64>::zeros(p, p);
    let add_outer = |meat: &mut DMatrix<f64>, u: &[f64], v: &[f64], w: f64| {
        for a in 0..p {
            for b in 0..p {
                meat[(a, b)] += w * u[a] * v[b];
            }
        }
    };
    let scale = match kind {
        CovarianceKind::Hc1 => {
            let mut score = vec![0.0; p];
            for i in 0..n {
                for (s, x) in score.iter_mut().zip(design.row(i)) {
                    *s = x * residuals[i];
                }
                add_outer(&mut meat, &score, &score, 1.0);
            }
            nf / (nf - k)
        }
        CovarianceKind::Cluster(groups) => {
            let g = groups.iter().copied().max().map_or(0, |m| m + 1);
            let mut scores = vec![vec![0.0; p]; g];
            for i in 0..n {
                let s = &mut scores[groups[i]];
                for (a, x) in design.row(i).iter().enumerate() {
                    s[a] += x * residuals[i];
                }
            }
            let used = scores
                .iter()
                .filter(|s| s.iter().any(|v| *v != 0.0))
                .count();
            if used < 2 {
                return Err(not_identified(
                    model,
                    "cluster-robust errors need two clusters or more",
                ));
            }
            for s in &scores {
                add_outer(&mut meat, s, s, 1.0);
            }
            let gf = used as f64;
            gf / (gf - 1.0) * (nf - 1.0) / (nf - k)
        }
        CovarianceKind::NeweyWest(lags) => {
            let scores: Vec<Vec<f64>> = (0..n)
                .map(|i| design.row(i).iter().map(|x| x * residuals[i]).collect())
                .collect();
            for s in &scores {
                add_outer(&mut meat, s, s, 1.0);
            }
            for l in 1..=lags.min(n.saturating_sub(1)) {
                let w = 1.0 - l as f64 / (lags as f64 + 1.0);
                for t in l..n {
                    add_outer(&mut meat, &scores[t], &scores[t - l], w);
                    add_outer(&mut meat, &scores[t - l], &scores[t], w);
                }
            }
            nf / (nf - k)
        }
    };
    let covariance = (&inverse * meat * &inverse) * scale;
    let total: f64 = y.iter().map(|v| v * v).sum();
    let rss: f64 = residuals.iter().map(|e| e * e).sum();
    let mut cov = Vec::with_capacity(p * p);
    for a in 0..p {
        for b in 0..p {
            cov.push(covariance[(a, b)]);
        }
    }
    Ok(OlsFit {
        beta: beta.iter().copied().collect(),
        covariance: cov,
        residuals,
        r2: if total > 0.0 { 1.0 - rss / total } else { 0.0 },
    })
}

/// Ridge regression with an unpenalised intercept; returns (intercept, coefficients).
pub fn ridge(design: &Design, y: &[f64], lambda: f64) -> Result<(f64, Vec<f64>)> {
    let n = design.rows();
    let p = design.columns();
    if n == 0 {
        return Err(not_identified("ridge", "no rows"));
    }
    let mean_x: Vec<f64> = (0..p)
        .map(|j| (0..n).map(|i| design.row(i)[j]).sum::<f64>() / n as f64)
        .collect();
    let mean_y = y.iter().sum::<f64>() / n as f64;
    let mut centred = Design::new(design.names.clone());
    for i in 0..n {
        let row: Vec<f64> = design
            .row(i)
            .iter()
            .zip(&mean_x)
            .map(|(x, m)| x - m)
            .collect();
        centred.push_row(&row);
    }
    let mut xtx = cross_product(&centred);
    for a in 0..p {
        xtx[(a, a)] += lambda;
    }
    let mut xty = DVector::<f64>::zeros(p);
    for i in 0..n {
        for (a, x) in centred.row(i).iter().enumerate() {
            xty[a] += x * (y[i] - mean_y);
        }
    }
    let beta = xtx
        .cholesky()
        .map(|c| c.solve(&xty))
        .ok_or_else(|| not_identified("ridge", "singular system"))?;
    let intercept = mean_y - beta.iter().zip(&mean_x).map(|(b, m)| b * m).sum::<f64>();
    Ok((intercept, beta.iter().copied().collect()))
}

/// The standard normal quantile for a two-sided interval at `level` (0.95 -> 1.96).
pub fn z_for_level(level: f64) -> f64 {
    match Normal::new(0.0, 1.0) {
        Ok(normal) => normal.inverse_cdf(0.5 + level / 2.0),
        Err(_) => 1.959_963_984_540_054,
    }
}

/// The standard normal quantile at `p`.
pub fn normal_quantile(p: f64) -> f64 {
    match Normal::new(0.0, 1.0) {
        Ok(normal) => normal.inverse_cdf(p),
        Err(_) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ols_recovers_an_exact_line_and_hc1_matches_a_hand_computation() {
        let mut design = Design::new(vec!["one".into(), "x".into()]);
        let xs = [1.0, 2.0, 3.0, 4.0];
        let y = [3.1, 4.9, 7.2, 8.8];
        for x in xs {
            design.push_row(&[1.0, x]);
        }
        let fit = ols("test", &design, &y, CovarianceKind::Hc1, 0).unwrap();
        // Slope by hand: Sxy / Sxx = 9.7 / 5 = 1.94; intercept 6 - 1.94 * 2.5 = 1.15.
        assert!((fit.beta[1] - 1.94).abs() < 1e-12);
        assert!((fit.beta[0] - 1.15).abs() < 1e-12);
        assert!(fit.std_error(1) > 0.0);
        assert!((z_for_level(0.95) - 1.959964).abs() < 1e-5);
    }

    #[test]
    fn collinear_regressors_are_an_error_not_a_panic() {
        let mut design = Design::new(vec!["a".into(), "b".into()]);
        for x in [1.0, 2.0, 3.0, 4.0] {
            design.push_row(&[x, 2.0 * x]);
        }
        assert!(ols(
            "test",
            &design,
            &[1.0, 2.0, 3.0, 4.0],
            CovarianceKind::Hc1,
            0
        )
        .is_err());
    }
}
