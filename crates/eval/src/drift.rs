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
    if current.is_empty() {
        return Err(EvalError::Insufficient(format!(
            "PSI needs values in both windows (reference {}, current 0)",
            reference.len()
        )));
    }
    if current.iter().any(|v| !v.is_finite()) {
        return Err(EvalError::setting("values", "must be finite numbers"));
    }
    let reference = DriftReference::fit(reference, bins)?;
    let mut counts = vec![0u64; reference.bins()];
    for &v in current {
        counts[reference.bin_of(v)] += 1;
    }
    Ok(reference.psi_of_counts(&counts))
}

/// A feature's reference distribution, kept as the bins it cuts and each bin's share, so that a
/// current window can be compared with it from bin counts alone (what a server keeps live).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DriftReference {
    /// Upper edges of all bins but the last (which is open above), increasing.
    edges: Vec<f64>,
    /// Share of the reference sample in each bin, floored at [`MIN_SHARE`].
    shares: Vec<f64>,
}

impl DriftReference {
    /// Bins cut at `reference`'s quantiles (at most `bins`, distinct edges).
    pub fn fit(reference: &[f64], bins: usize) -> Result<Self> {
        if reference.is_empty() {
            return Err(EvalError::Insufficient(
                "PSI needs values in both windows (reference 0)".into(),
            ));
        }
        if bins < 2 {
            return Err(EvalError::setting(
                "bins",
                format!("must be at least 2, got {bins}"),
            ));
        }
        if reference.iter().any(|v| !v.is_finite()) {
            return Err(EvalError::setting("values", "must be finite numbers"));
        }
        let mut sorted = reference.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut edges: Vec<f64> = (1..bins)
            .map(|k| sorted[(k * sorted.len() / bins).min(sorted.len() - 1)])
            .collect();
        edges.dedup();
        let mut reference = DriftReference {
            shares: vec![0.0; edges.len() + 1],
            edges,
        };
        let mut counts = vec![0u64; reference.bins()];
        for &v in &sorted {
            counts[reference.bin_of(v)] += 1;
        }
        reference.shares = shares(&counts);
        Ok(reference)
    }

    pub fn bins(&self) -> usize {
        self.shares.len()
    }

    /// The bin a value falls in (a value that is not a number falls in the last).
    pub fn bin_of(&self, value: f64) -> usize {
        self.edges.partition_point(|&e| e < value)
    }

    /// PSI of a current window given as counts per bin; 0 for an empty window.
    pub fn psi_of_counts(&self, counts: &[u64]) -> f64 {
        if counts.iter().sum::<u64>() == 0 {
            return 0.0;
        }
        let current = shares(counts);
        self.shares
            .iter()
            .zip(&current)
            .map(|(r, c)| (c - r) * (c / r).ln())
            .sum()
    }
}

fn shares(counts: &[u64]) -> Vec<f64> {
    let total = counts.iter().sum::<u64>().max(1) as f64;
    counts
        .iter()
        .map(|&c| (c as f64 / total).max(MIN_SHARE))
        .collect()
}

/// The last `capacity` values of a feature, kept as bin counts against a reference: pushing is
/// O(1) and the PSI of the window is O(bins), whatever the traffic.
#[derive(Clone, Debug)]
pub struct RollingDrift {
    reference: DriftReference,
    window: std::collections::VecDeque<u16>,
    counts: Vec<u64>,
    capacity: usize,
}

impl RollingDrift {
    pub fn new(reference: DriftReference, capacity: usize) -> Self {
        let bins = reference.bins();
        RollingDrift {
            reference,
            window: std::collections::VecDeque::with_capacity(capacity.min(1 << 16)),
            counts: vec![0; bins],
            capacity: capacity.max(1),
        }
    }

    pub fn push(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        let bin = self.reference.bin_of(value);
        if self.window.len() == self.capacity {
            if let Some(old) = self.window.pop_front() {
                self.counts[usize::from(old)] -= 1;
            }
        }
        // Bins come from at most `bins` quantiles, far below u16::MAX.
        self.window.push_back(bin as u16);
        self.counts[bin] += 1;
    }

    /// Values in the window.
    pub fn len(&self) -> usize {
        self.window.len()
    }

    pub fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    pub fn psi(&self) -> f64 {
        self.reference.psi_of_counts(&self.counts)
    }
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
    fn a_rolling_window_forgets_what_left_it() {
        let reference: Vec<f64> = (0..1000).map(|i| f64::from(i) / 1000.0).collect();
        let fitted = DriftReference::fit(&reference, 10).unwrap();
        let mut rolling = RollingDrift::new(fitted, 500);
        for v in &reference[..500] {
            rolling.push(*v + 0.5);
        }
        let shifted: Vec<f64> = reference[..500].iter().map(|v| v + 0.5).collect();
        assert!((rolling.psi() - psi(&reference, &shifted, 10).unwrap()).abs() < 1e-12);
        assert!(rolling.psi() > 0.25);
        // A full window of values like the reference's pushes the shifted ones out.
        for v in reference.iter().step_by(2) {
            rolling.push(*v);
        }
        assert_eq!(rolling.len(), 500);
        assert!(rolling.psi() < 0.01, "{}", rolling.psi());
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(psi(&[], &[1.0], 10).is_err());
        assert!(psi(&[1.0], &[1.0], 1).is_err());
        assert!(psi(&[f64::NAN], &[1.0], 10).is_err());
    }
}
