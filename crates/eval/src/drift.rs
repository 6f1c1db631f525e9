//! Drift between a reference window and a current one, for monitoring what a model is fed.
//!
//! The population stability index (PSI) of a feature is
//! `Σ_b (c_b − r_b) · ln(c_b / r_b)` over bins `b` cut at the reference sample's quantiles, where
//! `r_b` and `c_b` are the shares of the reference and current samples in bin `b` (each floored at
//! a small share so that an empty bin does not make it infinite). The usual reading: below 0.1
//! stable, 0.1 to 0.25 a moderate shift, above 0.25 a shift worth acting on. Written here because
//! it is a few lines over the bin counts; the definition is the one credit-risk monitoring uses.

use crate::{EvalError, Result};

/// Smallest share a bin is given, so that an empty bin contributes a large but finite term.
const MIN_SHARE: f64 = 1e-4;

/// PSI of `current` against `reference` over `bins` quantile bins of the reference (fewer when the
/// reference has fewer distinct values: a binary feature gets two bins).
pub fn psi(reference: &[f64], current: &[f64], bins: usize) -> Result<f64> {
    if reference.is_empty() || current.is_empty() {
        return Err(EvalError::Insufficient(format!(
            "PSI needs values in both windows (reference {}, current {})",
            reference.len(),
            current.len()
        )));
    }
    if bins < 2 {
        return Err(EvalError::setting(
            "bins",
            format!("must be at least 2, got {bins}"),
        ));
    }
    if reference.iter().chain(current).any(|v| !v.is_finite()) {
        return Err(EvalError::setting("values", "must be finite numbers"));
    }
    let mut sorted = reference.to_vec();
    sorted.sort_by(f64::total_cmp);
    // Upper edges at the reference's quantiles, distinct; the last bin is open above.
    let mut edges: Vec<f64> = (1..bins)
        .map(|k| sorted[(k * sorted.len() / bins).min(sorted.len() - 1)])
        .collect();
    edges.dedup();
    let bin_of = |v: f64| edges.partition_point(|&e| e < v);
    let shares = |values: &[f64]| {
        let mut counts = vec![0usize; edges.len() + 1];
        for &v in values {
            counts[bin_of(v)] += 1;
        }
        counts
            .into_iter()
            .map(|c| (c as f64 / values.len() as f64).max(MIN_SHARE))
            .collect::<Vec<f64>>()
    };
    let (r, c) = (shares(reference), shares(current));
    Ok(r.iter().zip(&c).map(|(r, c)| (c - r) * (c / r).ln()).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_sample_is_stable_and_a_shift_is_not() {
        let reference: Vec<f64> = (0..1000).map(|i| f64::from(i) / 1000.0).collect();
        assert!(psi(&reference, &reference, 10).unwrap().abs() < 1e-12);
        let shifted: Vec<f64> = reference.iter().map(|v| v + 0.5).collect();
        assert!(psi(&reference, &shifted, 10).unwrap() > 0.25);
        let slight: Vec<f64> = reference.iter().map(|v| v + 0.02).collect();
        assert!(psi(&reference, &slight, 10).unwrap() < 0.1);
    }

    #[test]
    fn a_binary_feature_by_hand() {
        // Reference 50/50, current 80/20: (0.8-0.5)ln(0.8/0.5) + (0.2-0.5)ln(0.2/0.5).
        let reference = [0.0, 1.0, 0.0, 1.0];
        let current = [1.0, 1.0, 1.0, 1.0, 0.0];
        let expected = 0.3 * (0.8f64 / 0.5).ln() + (-0.3) * (0.2f64 / 0.5).ln();
        assert!((psi(&reference, &current, 10).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(psi(&[], &[1.0], 10).is_err());
        assert!(psi(&[1.0], &[1.0], 1).is_err());
        assert!(psi(&[f64::NAN], &[1.0], 10).is_err());
    }
}
