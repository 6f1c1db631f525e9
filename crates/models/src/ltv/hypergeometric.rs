//! The Gaussian hypergeometric function 2F1(a, b; c; z) for real arguments and 0 ≤ z < 1.
//!
//! BG/NBD needs it with positive a, b, c and z = t / (α + T + t) in [0, 1), where every term of
//! the power series is positive, so direct summation is accurate and converges geometrically.

use crate::error::ModelError;

/// 2F1(a, b; c; z) = Σ_k (a)_k (b)_k / ((c)_k k!) z^k, summed until a term no longer changes the
/// sum in the 15th digit.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Result<f64, ModelError> {
    if !(0.0..1.0).contains(&z) {
        return Err(ModelError::Data(format!(
            "hyp2f1 needs 0 <= z < 1, got z = {z}"
        )));
    }
    if c <= 0.0 && c.fract() == 0.0 {
        return Err(ModelError::Data(format!(
            "hyp2f1 is undefined for c = {c} (a non-positive integer)"
        )));
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 0..1_000_000 {
        let k = k as f64;
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        sum += term;
        if term.abs() <= 1e-16 * sum.abs() {
            return Ok(sum);
        }
        if !sum.is_finite() {
            break;
        }
    }
    Err(ModelError::Data(format!(
        "hyp2f1({a}, {b}; {c}; {z}) did not converge"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z.
        for z in [0.1f64, 0.5, 0.9] {
            let expected = -(1.0f64 - z).ln() / z;
            assert!((hyp2f1(1.0, 1.0, 2.0, z).unwrap() - expected).abs() < 1e-12);
        }
        // 2F1(a, b; b; z) = (1 - z)^-a.
        let v = hyp2f1(0.7, 2.3, 2.3, 0.4).unwrap();
        assert!((v - 0.6f64.powf(-0.7)).abs() < 1e-12);
        // mpmath.hyp2f1(2.5, 3.1, 4.2, 0.6) = 5.08547321669640
        let v = hyp2f1(2.5, 3.1, 4.2, 0.6).unwrap();
        assert!((v - 5.085_473_216_696_4).abs() < 1e-12, "{v}");
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_err());
    }
}
