//! Differential privacy for released aggregates: the Laplace and Gaussian mechanisms, the
//! contribution bounds that give a query its sensitivity, and noisy histograms of counts and sums.
//!
//! A release is (ε, δ)-differentially private with respect to one *customer* (every row of theirs
//! added or removed), which is why each customer's rows are bounded first: at most
//! `max_rows_per_customer` rows count and each value is clamped to `[0, value_cap]`. A histogram
//! where each row falls in one cell then has L1 sensitivity `L` for counts and `L × cap` for sums,
//! and, since a customer's `L` rows may all fall in the same cell, the same L2 sensitivity.
//!
//! * Laplace: noise of scale b = Δ₁ / ε, pure ε-DP (δ = 0).
//! * Gaussian: the *analytic* Gaussian mechanism (Balle & Wang, ICML 2018): the smallest σ with
//!   Φ(Δ₂/(2σ) − εσ/Δ₂) − e^ε Φ(−Δ₂/(2σ) − εσ/Δ₂) ≤ δ, found by bisection. It is exact for every
//!   ε (the textbook σ = Δ₂ √(2 ln(1.25/δ)) / ε holds only for ε < 1 and is larger).
//!
//! The noise is continuous and drawn with 64-bit floats; the known floating-point attack on
//! naive Laplace sampling (Mironov, CCS 2012) is why released values are rounded to the unit the
//! query is counted in (see [`round_release`]), which removes the low-order bits it reads.
//!
//! What is released is only the noisy figures; anything computed from them afterwards (rates,
//! differences, intervals) is post-processing and costs no further budget.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::stats::normal_cdf;
use crate::{EvalError, Result};

/// Which noise a release adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    Laplace,
    Gaussian,
}

impl Mechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Laplace => "laplace",
            Mechanism::Gaussian => "gaussian",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "laplace" => Ok(Mechanism::Laplace),
            "gaussian" => Ok(Mechanism::Gaussian),
            other => Err(EvalError::setting(
                "mechanism",
                format!("`{other}`: expected laplace or gaussian"),
            )),
        }
    }
}

/// The noise of one release: its mechanism and scale (Laplace's b or Gaussian's σ).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Noise {
    pub mechanism: Mechanism,
    /// b for Laplace, σ for Gaussian.
    pub scale: f64,
}

impl Noise {
    /// The noise for a query of the given sensitivities under (ε, δ); δ must be 0 for Laplace and
    /// in (0, 1) for Gaussian.
    pub fn calibrate(
        mechanism: Mechanism,
        epsilon: f64,
        delta: f64,
        l1_sensitivity: f64,
        l2_sensitivity: f64,
    ) -> Result<Self> {
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(EvalError::setting(
                "epsilon",
                format!("must be a positive number, got {epsilon}"),
            ));
        }
        let scale = match mechanism {
            Mechanism::Laplace => {
                if delta != 0.0 {
                    return Err(EvalError::setting(
                        "delta",
                        format!("the Laplace mechanism is pure ε-DP: delta must be 0, got {delta}"),
                    ));
                }
                positive("l1_sensitivity", l1_sensitivity)?;
                laplace_scale(l1_sensitivity, epsilon)
            }
            Mechanism::Gaussian => {
                if !(delta > 0.0 && delta < 1.0) {
                    return Err(EvalError::setting(
                        "delta",
                        format!("the Gaussian mechanism needs 0 < delta < 1, got {delta}"),
                    ));
                }
                positive("l2_sensitivity", l2_sensitivity)?;
                analytic_gaussian_sigma(l2_sensitivity, epsilon, delta)
            }
        };
        Ok(Noise { mechanism, scale })
    }

    /// The noise's standard deviation: b√2 for Laplace, σ for Gaussian.
    pub fn standard_deviation(&self) -> f64 {
        match self.mechanism {
            Mechanism::Laplace => self.scale * std::f64::consts::SQRT_2,
            Mechanism::Gaussian => self.scale,
        }
    }

    /// Half-width of the central `level` interval of the noise (e.g. 0.95), so that a released
    /// value ± this covers the true value with that probability.
    pub fn half_width(&self, level: f64) -> f64 {
        match self.mechanism {
            // P(|X| > t) = exp(-t / b).
            Mechanism::Laplace => -self.scale * (1.0 - level).ln(),
            Mechanism::Gaussian => self.scale * crate::stats::normal_quantile(0.5 + level / 2.0),
        }
    }

    /// One draw of the noise.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        match self.mechanism {
            Mechanism::Laplace => {
                // Inverse CDF on u in (-1/2, 1/2), never exactly ±1/2.
                let u: f64 = rng.gen_range(-0.5..0.5);
                let u = if u == -0.5 { 0.0 } else { u };
                -self.scale * u.signum() * (1.0 - 2.0 * u.abs()).ln()
            }
            Mechanism::Gaussian => {
                use rand_distr::{Distribution, StandardNormal};
                let z: f64 = StandardNormal.sample(rng);
                self.scale * z
            }
        }
    }
}

fn positive(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(EvalError::setting(
            name,
            format!("must be a positive number, got {value}"),
        ))
    }
}

/// Laplace's scale b = Δ₁ / ε.
pub fn laplace_scale(l1_sensitivity: f64, epsilon: f64) -> f64 {
    l1_sensitivity / epsilon
}

/// The textbook Gaussian σ = Δ₂ √(2 ln(1.25/δ)) / ε (Dwork & Roth, Theorem A.1; valid for ε < 1).
pub fn classic_gaussian_sigma(l2_sensitivity: f64, epsilon: f64, delta: f64) -> f64 {
    l2_sensitivity * (2.0 * (1.25 / delta).ln()).sqrt() / epsilon
}

/// The δ that Gaussian noise of `sigma` gives a query of L2 sensitivity `l2` at ε (Balle & Wang's
/// Theorem 8): Φ(Δ/(2σ) − εσ/Δ) − e^ε Φ(−Δ/(2σ) − εσ/Δ).
pub fn gaussian_delta(l2_sensitivity: f64, epsilon: f64, sigma: f64) -> f64 {
    let a = l2_sensitivity / (2.0 * sigma);
    let b = epsilon * sigma / l2_sensitivity;
    // e^ε Φ(x) for very negative x, through logs so that neither factor over- or underflows.
    let tail = normal_cdf(-a - b);
    let second = if tail > 0.0 {
        (epsilon + tail.ln()).exp()
    } else {
        0.0
    };
    (normal_cdf(a - b) - second).max(0.0)
}

/// The smallest σ whose Gaussian noise makes a query of L2 sensitivity `l2` (ε, δ)-DP.
pub fn analytic_gaussian_sigma(l2_sensitivity: f64, epsilon: f64, delta: f64) -> f64 {
    // δ(σ) falls as σ grows; bracket, then bisect on a log scale.
    let mut high = l2_sensitivity;
    while gaussian_delta(l2_sensitivity, epsilon, high) > delta {
        high *= 2.0;
    }
    let mut low = high / 2.0;
    while low > 1e-12 * l2_sensitivity && gaussian_delta(l2_sensitivity, epsilon, low) <= delta {
        low /= 2.0;
    }
    for _ in 0..200 {
        let mid = (low * high).sqrt();
        if gaussian_delta(l2_sensitivity, epsilon, mid) <= delta {
            high = mid;
        } else {
            low = mid;
        }
        if high / low < 1.0 + 1e-12 {
            break;
        }
    }
    high
}

/// How much one customer may contribute to a release.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContributionBound {
    /// At most this many of a customer's rows count (the earliest ones).
    pub max_rows_per_customer: usize,
    /// Each summed value is clamped to `[0, value_cap]`.
    pub value_cap: f64,
}

impl ContributionBound {
    pub fn validate(&self) -> Result<()> {
        if self.max_rows_per_customer == 0 {
            return Err(EvalError::setting(
                "max_rows_per_customer",
                "must be at least 1",
            ));
        }
        positive("value_cap", self.value_cap)
    }

    /// Sensitivity of a histogram of counts (both L1 and L2: all of a customer's rows may fall in
    /// one cell).
    pub fn count_sensitivity(&self) -> f64 {
        self.max_rows_per_customer as f64
    }

    /// Sensitivity of a histogram of clamped sums.
    pub fn sum_sensitivity(&self) -> f64 {
        self.max_rows_per_customer as f64 * self.value_cap
    }
}

/// One row of the data a release is computed from: whose it is, which cell it falls in (an index
/// into a public list of cells), and the value it adds to that cell's sum.
#[derive(Clone, Debug, PartialEq)]
pub struct ContributedRow {
    pub customer: String,
    pub cell: usize,
    pub value: f64,
}

/// The true (noiseless) counts and clamped sums per cell after bounding each customer's
/// contribution; rows past a customer's bound are dropped and counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoundedHistogram {
    pub counts: Vec<f64>,
    pub sums: Vec<f64>,
    /// Rows left out because their customer had already contributed the maximum.
    pub rows_dropped: usize,
    /// Values lowered to the cap (or raised to 0).
    pub values_clamped: usize,
}

/// Counts and clamped sums per cell, with each customer's rows bounded. Rows are taken in the
/// order given (pass them oldest first). A row whose cell is out of range is an error: the cells
/// must be a public list fixed before the data is seen, or the list itself would leak.
pub fn bounded_histogram(
    rows: &[ContributedRow],
    cells: usize,
    bound: &ContributionBound,
) -> Result<BoundedHistogram> {
    bound.validate()?;
    let mut taken: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut out = BoundedHistogram {
        counts: vec![0.0; cells],
        sums: vec![0.0; cells],
        rows_dropped: 0,
        values_clamped: 0,
    };
    for (index, row) in rows.iter().enumerate() {
        if row.cell >= cells {
            return Err(EvalError::InvalidInput {
                field: "cell".into(),
                index,
                value: row.cell as f64,
                message: format!("there are only {cells} cells"),
            });
        }
        if !row.value.is_finite() {
            return Err(EvalError::InvalidInput {
                field: "value".into(),
                index,
                value: row.value,
                message: "must be a finite number".into(),
            });
        }
        let n = taken.entry(row.customer.as_str()).or_insert(0);
        if *n >= bound.max_rows_per_customer {
            out.rows_dropped += 1;
            continue;
        }
        *n += 1;
        let clamped = row.value.clamp(0.0, bound.value_cap);
        if clamped != row.value {
            out.values_clamped += 1;
        }
        out.counts[row.cell] += 1.0;
        out.sums[row.cell] += clamped;
    }
    Ok(out)
}

/// Adds independent noise to each value and rounds to `unit`.
pub fn release(values: &[f64], noise: &Noise, unit: f64, rng: &mut impl Rng) -> Vec<f64> {
    values
        .iter()
        .map(|v| round_release(v + noise.sample(rng), unit))
        .collect()
}

/// Rounds a released value to a multiple of `unit` (1 for counts, a minor unit for money).
pub fn round_release(value: f64, unit: f64) -> f64 {
    if unit > 0.0 {
        (value / unit).round() * unit
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn laplace_noise_has_the_scale_its_epsilon_asks_for() {
        let noise = Noise::calibrate(Mechanism::Laplace, 0.5, 0.0, 2.0, 2.0).unwrap();
        assert!((noise.scale - 4.0).abs() < 1e-12);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let n = 200_000;
        let draws: Vec<f64> = (0..n).map(|_| noise.sample(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let mean_abs = draws.iter().map(|d| d.abs()).sum::<f64>() / n as f64;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n as f64;
        // E|X| = b and Var X = 2b² for Laplace(0, b).
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((mean_abs - 4.0).abs() < 0.05, "E|X| {mean_abs}");
        assert!((var.sqrt() - noise.standard_deviation()).abs() < 0.06);
        // The 95% half-width covers 95% of draws.
        let w = noise.half_width(0.95);
        let inside = draws.iter().filter(|d| d.abs() <= w).count() as f64 / n as f64;
        assert!((inside - 0.95).abs() < 0.003, "{inside}");
    }

    #[test]
    fn the_analytic_gaussian_meets_delta_exactly_and_beats_the_textbook_sigma() {
        for &(eps, delta) in &[
            (0.1, 1e-5),
            (0.5, 1e-6),
            (0.9, 1e-5),
            (2.0, 1e-6),
            (8.0, 1e-9),
        ] {
            let sigma = analytic_gaussian_sigma(1.0, eps, delta);
            let achieved = gaussian_delta(1.0, eps, sigma);
            assert!(
                achieved <= delta * (1.0 + 1e-6),
                "{eps} {delta}: {achieved}"
            );
            // A slightly smaller σ breaks δ: it is the smallest.
            assert!(gaussian_delta(1.0, eps, sigma * 0.999) > delta);
            if eps < 1.0 {
                assert!(sigma < classic_gaussian_sigma(1.0, eps, delta));
            }
        }
        // Sensitivity scales σ linearly.
        let s1 = analytic_gaussian_sigma(1.0, 0.5, 1e-6);
        let s3 = analytic_gaussian_sigma(3.0, 0.5, 1e-6);
        assert!((s3 / s1 - 3.0).abs() < 1e-6);
    }

    #[test]
    fn gaussian_draws_have_sigma() {
        let noise = Noise::calibrate(Mechanism::Gaussian, 1.0, 1e-6, 1.0, 5.0).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let n = 100_000;
        let draws: Vec<f64> = (0..n).map(|_| noise.sample(&mut rng)).collect();
        let sd = (draws.iter().map(|d| d * d).sum::<f64>() / n as f64).sqrt();
        assert!(
            (sd / noise.scale - 1.0).abs() < 0.01,
            "{sd} vs {}",
            noise.scale
        );
    }

    #[test]
    fn bad_settings_are_refused_with_their_name() {
        let err = Noise::calibrate(Mechanism::Laplace, 0.0, 0.0, 1.0, 1.0).unwrap_err();
        assert!(err.to_string().contains("epsilon"), "{err}");
        let err = Noise::calibrate(Mechanism::Laplace, 1.0, 1e-6, 1.0, 1.0).unwrap_err();
        assert!(err.to_string().contains("delta"), "{err}");
        let err = Noise::calibrate(Mechanism::Gaussian, 1.0, 0.0, 1.0, 1.0).unwrap_err();
        assert!(err.to_string().contains("delta"), "{err}");
        assert!(Mechanism::parse("exponential").is_err());
    }

    #[test]
    fn each_customer_counts_at_most_its_bound() {
        let row = |c: &str, cell, value| ContributedRow {
            customer: c.into(),
            cell,
            value,
        };
        let rows = vec![
            row("a", 0, 10.0),
            row("a", 1, 500.0),
            row("a", 0, 3.0),
            row("b", 1, -4.0),
            row("c", 1, 7.0),
        ];
        let bound = ContributionBound {
            max_rows_per_customer: 2,
            value_cap: 100.0,
        };
        let h = bounded_histogram(&rows, 2, &bound).unwrap();
        assert_eq!(h.counts, vec![1.0, 3.0]);
        assert_eq!(h.sums, vec![10.0, 100.0 + 0.0 + 7.0]);
        assert_eq!(h.rows_dropped, 1);
        assert_eq!(h.values_clamped, 2);
        assert_eq!(bound.count_sensitivity(), 2.0);
        assert_eq!(bound.sum_sensitivity(), 200.0);
        let err = bounded_histogram(&[row("a", 2, 1.0)], 2, &bound).unwrap_err();
        assert!(err.to_string().contains("cell"), "{err}");
    }

    #[test]
    fn released_values_are_rounded_to_their_unit() {
        let noise = Noise::calibrate(Mechanism::Laplace, 1.0, 0.0, 1.0, 1.0).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for v in release(&[10.0, 20.0, 30.0], &noise, 1.0, &mut rng) {
            assert_eq!(v, v.round());
        }
    }
}
