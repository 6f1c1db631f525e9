//! Implicit-feedback alternating least squares (Hu, Koren & Volinsky 2008).
//!
//! Every user-item pair has preference p_ui = 1 if the user interacted with the item, else 0, and
//! confidence c_ui = 1 + α·v_ui (v the interaction strength). Minimise
//! Σ_ui c_ui (p_ui - x_uᵀ y_i)² + λ (Σ|x_u|² + Σ|y_i|²) by solving, for each user in turn,
//! (YᵀY + Yᵀ(C_u - I)Y + λI) x_u = Yᵀ C_u p_u, then the same for items. YᵀY is shared, so each
//! solve costs O(|N(u)| k² + k³) (a Cholesky factorisation of a k×k matrix).

use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::data::Rating;
use super::ranking::Scorer;
use super::sparse::{dot, Csr};
use super::svd::init_factors;
use crate::error::ModelError;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlsParams {
    pub factors: usize,
    pub iterations: usize,
    /// λ, the L2 penalty.
    pub regularisation: f64,
    /// α of the confidence 1 + α·v.
    pub alpha: f64,
    pub seed: u64,
}

/// Defaults chosen on MovieLens 100K ratings >= 4 with a split seed (1) other than the reported
/// one (42); a strong penalty and mild confidence suit such small, dense data.
impl Default for AlsParams {
    fn default() -> Self {
        Self {
            factors: 32,
            iterations: 15,
            regularisation: 30.0,
            alpha: 5.0,
            seed: 7,
        }
    }
}

impl AlsParams {
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.factors == 0 || self.iterations == 0 {
            return Err(ModelError::InvalidHyper {
                name: if self.factors == 0 {
                    "factors"
                } else {
                    "iterations"
                },
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        for (name, v) in [
            ("regularisation", self.regularisation),
            ("alpha", self.alpha),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(ModelError::InvalidHyper {
                    name,
                    value: v.to_string(),
                    reason: "must be finite and > 0".into(),
                });
            }
        }
        Ok(())
    }
}

/// A fitted implicit ALS model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImplicitAls {
    pub params: AlsParams,
    pub user_factors: Vec<f64>,
    pub item_factors: Vec<f64>,
    pub items: usize,
}

impl ImplicitAls {
    /// Fit on interactions (value = strength, e.g. 1, a count or a rating; must be >= 0).
    pub fn fit(
        users: usize,
        items: usize,
        interactions: &[Rating],
        params: &AlsParams,
    ) -> Result<Self, ModelError> {
        params.validate()?;
        super::ranking::check_interactions(users, items, interactions)?;
        let k = params.factors;
        let mut rng = rand::rngs::StdRng::seed_from_u64(params.seed);
        let mut user_factors = init_factors(users, k, 0.01, &mut rng);
        let mut item_factors = init_factors(items, k, 0.01, &mut rng);
        let by_user = Csr::from_ratings(users, interactions, false);
        let by_item = Csr::from_ratings(items, interactions, true);
        for _ in 0..params.iterations {
            solve_side(&by_user, &item_factors, &mut user_factors, params)?;
            solve_side(&by_item, &user_factors, &mut item_factors, params)?;
        }
        Ok(Self {
            params: *params,
            user_factors,
            item_factors,
            items,
        })
    }
}

impl Scorer for ImplicitAls {
    fn score_items(&self, user: u32, out: &mut [f64]) {
        let k = self.params.factors;
        let u = user as usize;
        let Some(x) = self.user_factors.get(u * k..(u + 1) * k) else {
            out.iter_mut().for_each(|v| *v = 0.0);
            return;
        };
        for (i, o) in out.iter_mut().enumerate() {
            *o = dot(x, &self.item_factors[i * k..(i + 1) * k]);
        }
    }
}

/// Solve every row of `target` given the fixed factors of the other side.
fn solve_side(
    rows: &Csr,
    fixed: &[f64],
    target: &mut [f64],
    params: &AlsParams,
) -> Result<(), ModelError> {
    let k = params.factors;
    let columns = fixed.len() / k;
    // Gram matrix YᵀY of the fixed side.
    let mut gram = vec![0.0; k * k];
    for c in 0..columns {
        let y = &fixed[c * k..(c + 1) * k];
        for a in 0..k {
            let ya = y[a];
            for b in a..k {
                gram[a * k + b] += ya * y[b];
            }
        }
    }
    let mut a_matrix = vec![0.0; k * k];
    let mut rhs = vec![0.0; k];
    for r in 0..rows.rows() {
        let (cols, vals) = rows.row(r);
        let x = &mut target[r * k..(r + 1) * k];
        if cols.is_empty() {
            x.iter_mut().for_each(|v| *v = 0.0);
            continue;
        }
        a_matrix.copy_from_slice(&gram);
        rhs.iter_mut().for_each(|v| *v = 0.0);
        for (&c, &v) in cols.iter().zip(vals) {
            let confidence = 1.0 + params.alpha * v as f64;
            let y = &fixed[c as usize * k..(c as usize + 1) * k];
            for a in 0..k {
                let w = (confidence - 1.0) * y[a];
                for b in a..k {
                    a_matrix[a * k + b] += w * y[b];
                }
                rhs[a] += confidence * y[a];
            }
        }
        for a in 0..k {
            a_matrix[a * k + a] += params.regularisation;
        }
        cholesky_solve_upper(&mut a_matrix, &mut rhs, k)?;
        x.copy_from_slice(&rhs);
    }
    Ok(())
}

/// Solve A x = b in place for symmetric positive-definite A of which only the upper triangle
/// (row-major, a[i*k + j] with j >= i) is filled; `b` becomes x. The lower triangle is filled from
/// the upper one, then the shared Cholesky solve of `discount_eval::numerics` does the rest.
fn cholesky_solve_upper(a: &mut [f64], b: &mut [f64], k: usize) -> Result<(), ModelError> {
    for i in 0..k {
        for j in 0..i {
            a[i * k + j] = a[j * k + i];
        }
    }
    let x = discount_eval::numerics::solve_spd(a, b).ok_or_else(|| {
        ModelError::Data(
            "ALS normal equations are not positive definite (non-finite factors?)".into(),
        )
    })?;
    b.copy_from_slice(&x);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        // A = [[4, 2, 0], [2, 5, 1], [0, 1, 3]], x = [1, -1, 2] → b = [2, -1, 5].
        let mut a = vec![4.0, 2.0, 0.0, 0.0, 5.0, 1.0, 0.0, 0.0, 3.0];
        let mut b = vec![2.0, -1.0, 5.0];
        cholesky_solve_upper(&mut a, &mut b, 3).unwrap();
        for (x, e) in b.iter().zip([1.0, -1.0, 2.0]) {
            assert!((x - e).abs() < 1e-12, "{b:?}");
        }
        let mut singular = vec![0.0; 4];
        assert!(cholesky_solve_upper(&mut singular, &mut [1.0, 1.0], 2).is_err());
    }
}
