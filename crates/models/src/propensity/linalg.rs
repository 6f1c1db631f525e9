//! The small symmetric positive-definite systems of Newton and ridge steps: assembled here,
//! solved by the shared Cholesky solve of `discount_eval::numerics`.

use crate::ModelError;

/// Solves `a · x = b` for a symmetric positive-definite `a` (row-major `n × n`) by Cholesky
/// decomposition ([`discount_eval::numerics::solve_spd`]).
pub(crate) fn solve_spd(a: &[f64], b: &[f64]) -> Result<Vec<f64>, ModelError> {
    discount_eval::numerics::solve_spd(a, b).ok_or_else(|| {
        ModelError::Data("the normal equations are singular; raise the L2 penalty".into())
    })
}

/// Adds `w · v vᵀ` to the lower triangle of the row-major `n × n` matrix `a`.
pub(crate) fn add_outer_lower(a: &mut [f64], v: &[f64], w: f64) {
    let n = v.len();
    for i in 0..n {
        let wi = w * v[i];
        let row = &mut a[i * n..i * n + i + 1];
        for (r, vj) in row.iter_mut().zip(&v[..=i]) {
            *r += wi * vj;
        }
    }
}

/// Copies the lower triangle to the upper one.
pub(crate) fn symmetrise(a: &mut [f64], n: usize) {
    for i in 0..n {
        for j in 0..i {
            a[j * n + i] = a[i * n + j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_known_system() {
        // [[4, 2], [2, 3]] x = [2, 1] -> x = [0.5, 0].
        let x = solve_spd(&[4.0, 2.0, 2.0, 3.0], &[2.0, 1.0]).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12);
    }

    #[test]
    fn rejects_a_singular_system() {
        assert!(solve_spd(&[1.0, 1.0, 1.0, 1.0], &[1.0, 1.0]).is_err());
    }
}
