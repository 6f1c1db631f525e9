//! A/B testing: assignment, health checks and the statistics to read a result.
//!
//! * [`Allocation::assign`]: deterministic assignment by hashing `salt` and the customer id with SHA-256 (stable
//!   across platforms and versions; the same customer always gets the same arm of the same experiment, and
//!   different salts give independent splits).
//! * [`sample_ratio_mismatch`]: chi-square goodness-of-fit test of the arm counts against the planned shares;
//!   a tiny p-value means the assignment or the logging is broken and the result should not be trusted.
//! * [`welch_test`]: difference in means with Welch's t interval (unequal variances, Satterthwaite df), for
//!   revenue per customer.
//! * [`two_proportion_test`]: difference in conversion rates; z test with the pooled standard error, Wald
//!   interval with the unpooled one.
//! * [`cuped`]: CUPED variance reduction with a pre-period covariate X: Y' = Y − θ (X − mean X) with
//!   θ = cov(Y, X) / var(X) on the pooled sample; the treatment effect on Y' is the same, its variance smaller.
//! * [`always_valid`]: mSPRT with a normal mixture (Johari, Pekelis, Walsh 2017): always-valid p-values and
//!   confidence sequences, so looking at the result every day does not inflate false positives.
//! * [`sample_size_proportions`], [`sample_size_means`] and the matching power functions.

use sha2::{Digest, Sha256};

use crate::error::{EvalError, Result};
use crate::stats::{
    self, normal_cdf, normal_quantile, normal_sf, student_t_quantile, student_t_sf, Moments,
};

/// Arms and their planned traffic shares.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Allocation {
    pub arms: Vec<String>,
    /// Shares, summing to 1.
    pub shares: Vec<f64>,
}

impl Allocation {
    /// Validates arms and shares: at least one arm, unique names, positive shares. Shares are normalised to
    /// sum to 1 (so `[1, 1]` and `[0.5, 0.5]` mean the same).
    pub fn new(arms: Vec<String>, shares: Vec<f64>) -> Result<Self> {
        if arms.is_empty() || arms.len() != shares.len() {
            return Err(EvalError::setting(
                "allocation",
                format!(
                    "need one share per arm (got {} arms, {} shares)",
                    arms.len(),
                    shares.len()
                ),
            ));
        }
        for (i, name) in arms.iter().enumerate() {
            if arms[..i].contains(name) {
                return Err(EvalError::setting(
                    "allocation",
                    format!("arm `{name}` is listed twice"),
                ));
            }
        }
        if let Some(bad) = shares.iter().find(|s| !(**s > 0.0 && s.is_finite())) {
            return Err(EvalError::setting(
                "allocation",
                format!("shares must be positive, got {bad}"),
            ));
        }
        let total: f64 = shares.iter().sum();
        Ok(Allocation {
            arms,
            shares: shares.iter().map(|s| s / total).collect(),
        })
    }

    /// Equal shares.
    pub fn even(arms: Vec<String>) -> Result<Self> {
        let n = arms.len();
        Allocation::new(arms, vec![1.0; n])
    }

    /// Position of the customer in `[0, 1)`: the first 53 bits of SHA-256(`salt` ‖ 0x1F ‖ `customer_id`).
    pub fn hash_unit(salt: &str, customer_id: &str) -> f64 {
        let mut hasher = Sha256::new();
        hasher.update(salt.as_bytes());
        hasher.update([0x1F]); // unit separator: ("ab", "c") and ("a", "bc") hash differently
        hasher.update(customer_id.as_bytes());
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Index of the arm of `customer_id` in the experiment with this `salt`.
    pub fn assign(&self, salt: &str, customer_id: &str) -> usize {
        let u = Allocation::hash_unit(salt, customer_id);
        let mut cumulative = 0.0;
        for (i, share) in self.shares.iter().enumerate() {
            cumulative += share;
            if u < cumulative {
                return i;
            }
        }
        self.shares.len() - 1
    }

    /// Name of the arm of `customer_id`.
    pub fn assign_name(&self, salt: &str, customer_id: &str) -> &str {
        &self.arms[self.assign(salt, customer_id)]
    }
}

/// Result of the sample-ratio-mismatch check.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SrmCheck {
    pub observed: Vec<u64>,
    pub expected: Vec<f64>,
    pub chi_square: f64,
    pub degrees_of_freedom: usize,
    pub p_value: f64,
    /// True when `p_value < threshold` (0.001 is the usual threshold: SRM checks run on every experiment, so a
    /// strict level keeps false alarms rare).
    pub mismatch: bool,
    pub threshold: f64,
}

/// Chi-square goodness-of-fit test of observed arm counts against planned shares.
pub fn sample_ratio_mismatch(observed: &[u64], shares: &[f64], threshold: f64) -> Result<SrmCheck> {
    if observed.len() != shares.len() || observed.len() < 2 {
        return Err(EvalError::setting(
            "srm",
            "need at least two arms and one share per arm",
        ));
    }
    let total_share: f64 = shares.iter().sum();
    let n: u64 = observed.iter().sum();
    if n == 0 {
        return Err(EvalError::Insufficient("no observations in any arm".into()));
    }
    let expected: Vec<f64> = shares.iter().map(|s| n as f64 * s / total_share).collect();
    if expected.iter().any(|e| e.is_nan() || *e <= 0.0) {
        return Err(EvalError::setting("srm", "shares must be positive"));
    }
    let chi_square: f64 = observed
        .iter()
        .zip(&expected)
        .map(|(o, e)| (*o as f64 - e).powi(2) / e)
        .sum();
    let df = observed.len() - 1;
    let p_value = stats::chi_square_sf(chi_square, df as f64);
    Ok(SrmCheck {
        observed: observed.to_vec(),
        expected,
        chi_square,
        degrees_of_freedom: df,
        p_value,
        mismatch: p_value < threshold,
        threshold,
    })
}

/// Size, mean and variance of one arm's outcomes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SampleSummary {
    pub n: u64,
    pub mean: f64,
    /// Unbiased sample variance.
    pub variance: f64,
}

impl SampleSummary {
    pub fn of(values: &[f64]) -> Self {
        let m = Moments::of(values);
        SampleSummary {
            n: m.count,
            mean: m.mean,
            variance: m.variance(),
        }
    }
}

/// Difference `treatment − control` with its test and interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DifferenceTest {
    pub control_mean: f64,
    pub treatment_mean: f64,
    pub difference: f64,
    /// `difference / control_mean` (NaN when the control mean is 0).
    pub relative_difference: f64,
    pub standard_error: f64,
    /// t or z statistic.
    pub statistic: f64,
    /// Degrees of freedom (Welch–Satterthwaite); infinite for z tests.
    pub degrees_of_freedom: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    pub alpha: f64,
}

fn check_alpha(alpha: f64) -> Result<()> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(EvalError::setting(
            "alpha",
            format!("must be in (0, 1), got {alpha}"),
        ));
    }
    Ok(())
}

/// Welch's t test and interval for `treatment.mean − control.mean`:
/// SE = √(s²_c/n_c + s²_t/n_t), df = SE⁴ / [(s²_c/n_c)²/(n_c−1) + (s²_t/n_t)²/(n_t−1)].
pub fn welch_test(
    control: &SampleSummary,
    treatment: &SampleSummary,
    alpha: f64,
) -> Result<DifferenceTest> {
    check_alpha(alpha)?;
    if control.n < 2 || treatment.n < 2 {
        return Err(EvalError::Insufficient(
            "Welch's test needs at least two observations per arm".into(),
        ));
    }
    let vc = control.variance / control.n as f64;
    let vt = treatment.variance / treatment.n as f64;
    let se = (vc + vt).sqrt();
    if se.is_nan() || se <= 0.0 {
        return Err(EvalError::Insufficient(
            "both arms have zero variance".into(),
        ));
    }
    let df =
        (vc + vt).powi(2) / (vc * vc / (control.n - 1) as f64 + vt * vt / (treatment.n - 1) as f64);
    let difference = treatment.mean - control.mean;
    let t = difference / se;
    let critical = student_t_quantile(1.0 - alpha / 2.0, df);
    Ok(DifferenceTest {
        control_mean: control.mean,
        treatment_mean: treatment.mean,
        difference,
        relative_difference: difference / control.mean,
        standard_error: se,
        statistic: t,
        degrees_of_freedom: df,
        p_value: (2.0 * student_t_sf(t.abs(), df)).min(1.0),
        ci_lower: difference - critical * se,
        ci_upper: difference + critical * se,
        alpha,
    })
}

/// Two-proportion z test for conversion rates `p_t − p_c`. The statistic uses the pooled standard error
/// √(p̄(1−p̄)(1/n_c + 1/n_t)) (the null hypothesis says the rates are equal); the interval uses the unpooled
/// √(p_c(1−p_c)/n_c + p_t(1−p_t)/n_t).
pub fn two_proportion_test(
    control_successes: u64,
    control_n: u64,
    treatment_successes: u64,
    treatment_n: u64,
    alpha: f64,
) -> Result<DifferenceTest> {
    check_alpha(alpha)?;
    if control_n == 0 || treatment_n == 0 {
        return Err(EvalError::Insufficient(
            "both arms need observations".into(),
        ));
    }
    if control_successes > control_n || treatment_successes > treatment_n {
        return Err(EvalError::setting(
            "successes",
            "cannot exceed the number of observations",
        ));
    }
    let pc = control_successes as f64 / control_n as f64;
    let pt = treatment_successes as f64 / treatment_n as f64;
    let pooled =
        (control_successes + treatment_successes) as f64 / (control_n + treatment_n) as f64;
    let se_pooled =
        (pooled * (1.0 - pooled) * (1.0 / control_n as f64 + 1.0 / treatment_n as f64)).sqrt();
    let se = (pc * (1.0 - pc) / control_n as f64 + pt * (1.0 - pt) / treatment_n as f64).sqrt();
    let difference = pt - pc;
    let z = if se_pooled > 0.0 {
        difference / se_pooled
    } else {
        0.0
    };
    let critical = normal_quantile(1.0 - alpha / 2.0);
    Ok(DifferenceTest {
        control_mean: pc,
        treatment_mean: pt,
        difference,
        relative_difference: difference / pc,
        standard_error: se,
        statistic: z,
        degrees_of_freedom: f64::INFINITY,
        p_value: (2.0 * normal_sf(z.abs())).min(1.0),
        ci_lower: difference - critical * se,
        ci_upper: difference + critical * se,
        alpha,
    })
}

/// CUPED result: the adjusted comparison next to the plain one.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CupedResult {
    /// θ = cov(Y, X) / var(X) on both arms pooled.
    pub theta: f64,
    /// 1 − var(Y') / var(Y) on the pooled sample (≈ corr(Y, X)²): the share of variance removed.
    pub variance_reduction: f64,
    pub unadjusted: DifferenceTest,
    pub adjusted: DifferenceTest,
}

/// CUPED (Deng, Xu, Kohavi, Walker 2013) with one pre-period covariate per customer. `*_y` are outcomes, `*_x`
/// the same customers' pre-period values (which the treatment cannot have affected).
pub fn cuped(
    control_y: &[f64],
    control_x: &[f64],
    treatment_y: &[f64],
    treatment_x: &[f64],
    alpha: f64,
) -> Result<CupedResult> {
    if control_y.len() != control_x.len() {
        return Err(EvalError::shape(
            "control pre-period values",
            control_y.len(),
            control_x.len(),
        ));
    }
    if treatment_y.len() != treatment_x.len() {
        return Err(EvalError::shape(
            "treatment pre-period values",
            treatment_y.len(),
            treatment_x.len(),
        ));
    }
    let all_y: Vec<f64> = control_y.iter().chain(treatment_y).copied().collect();
    let all_x: Vec<f64> = control_x.iter().chain(treatment_x).copied().collect();
    let mean_x = stats::mean(&all_x);
    let mean_y = stats::mean(&all_y);
    let n = all_y.len() as f64;
    let covariance = all_x
        .iter()
        .zip(&all_y)
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum::<f64>()
        / (n - 1.0);
    let variance_x = stats::sample_variance(&all_x);
    if variance_x.is_nan() || variance_x <= 0.0 {
        return Err(EvalError::Insufficient(
            "the pre-period covariate has no variance, CUPED cannot use it".into(),
        ));
    }
    let theta = covariance / variance_x;
    let adjust = |y: &[f64], x: &[f64]| -> Vec<f64> {
        y.iter()
            .zip(x)
            .map(|(y, x)| y - theta * (x - mean_x))
            .collect()
    };
    let control_adjusted = adjust(control_y, control_x);
    let treatment_adjusted = adjust(treatment_y, treatment_x);
    let all_adjusted: Vec<f64> = control_adjusted
        .iter()
        .chain(&treatment_adjusted)
        .copied()
        .collect();
    let variance_y = stats::sample_variance(&all_y);
    Ok(CupedResult {
        theta,
        variance_reduction: 1.0 - stats::sample_variance(&all_adjusted) / variance_y,
        unadjusted: welch_test(
            &SampleSummary::of(control_y),
            &SampleSummary::of(treatment_y),
            alpha,
        )?,
        adjusted: welch_test(
            &SampleSummary::of(&control_adjusted),
            &SampleSummary::of(&treatment_adjusted),
            alpha,
        )?,
    })
}

/// mSPRT likelihood ratio for a difference estimate `difference` with variance `variance` (= s²_c/n_c + s²_t/n_t),
/// null value `null_difference`, and normal mixing distribution N(null, τ²):
/// Λ = √(V / (V + τ²)) · exp(τ² (Δ − Δ₀)² / (2 V (V + τ²))).
pub fn msprt_likelihood_ratio(
    difference: f64,
    variance: f64,
    null_difference: f64,
    mixing_variance: f64,
) -> f64 {
    let v = variance;
    let t2 = mixing_variance;
    let d = difference - null_difference;
    (v / (v + t2)).sqrt() * (t2 * d * d / (2.0 * v * (v + t2))).exp()
}

/// Cumulative state of an experiment at one look.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Look {
    pub control: SampleSummary,
    pub treatment: SampleSummary,
}

/// Always-valid inference at one look.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SequentialPoint {
    /// Observations so far (both arms).
    pub n: u64,
    pub difference: f64,
    /// Always-valid p-value: running minimum of 1/Λ (capped at 1).
    pub p_value: f64,
    /// Confidence sequence: running intersection of {Δ₀ : Λ(Δ₀) < 1/α}.
    pub ci_lower: f64,
    pub ci_upper: f64,
    /// Fixed-horizon Welch interval at this look (valid only if this were the only look; for comparison).
    pub fixed_ci_lower: f64,
    pub fixed_ci_upper: f64,
}

/// Always-valid p-values and confidence sequences (mSPRT, normal mixture) over a series of cumulative looks.
/// `mixing_variance` τ² should be of the order of the squared effect sizes you expect (Johari et al. 2017);
/// the test is valid for any τ², which only changes how fast it detects effects of a given size.
/// With estimated variances the guarantee is asymptotic, like the fixed-horizon z test.
pub fn always_valid(
    looks: &[Look],
    mixing_variance: f64,
    alpha: f64,
) -> Result<Vec<SequentialPoint>> {
    check_alpha(alpha)?;
    if !(mixing_variance > 0.0 && mixing_variance.is_finite()) {
        return Err(EvalError::setting(
            "mixing_variance",
            "must be a positive number",
        ));
    }
    let mut p_value: f64 = 1.0;
    let mut lower = f64::NEG_INFINITY;
    let mut upper = f64::INFINITY;
    let mut points = Vec::with_capacity(looks.len());
    for look in looks {
        if look.control.n < 2 || look.treatment.n < 2 {
            continue;
        }
        let v = look.control.variance / look.control.n as f64
            + look.treatment.variance / look.treatment.n as f64;
        if v.is_nan() || v <= 0.0 {
            continue;
        }
        let difference = look.treatment.mean - look.control.mean;
        let lambda = msprt_likelihood_ratio(difference, v, 0.0, mixing_variance);
        p_value = p_value.min(1.0 / lambda).min(1.0);
        let t2 = mixing_variance;
        let half_width =
            ((2.0 * v * (v + t2) / t2) * (((v + t2) / v).sqrt().ln() - alpha.ln())).sqrt();
        lower = lower.max(difference - half_width);
        upper = upper.min(difference + half_width);
        let fixed = welch_test(&look.control, &look.treatment, alpha)?;
        points.push(SequentialPoint {
            n: look.control.n + look.treatment.n,
            difference,
            p_value,
            ci_lower: lower,
            ci_upper: upper,
            fixed_ci_lower: fixed.ci_lower,
            fixed_ci_upper: fixed.ci_upper,
        });
    }
    Ok(points)
}

fn check_power_inputs(alpha: f64, power: f64) -> Result<()> {
    check_alpha(alpha)?;
    if !(power > 0.0 && power < 1.0) {
        return Err(EvalError::setting(
            "power",
            format!("must be in (0, 1), got {power}"),
        ));
    }
    Ok(())
}

/// Customers per arm to detect conversion rates `p1` versus `p2` with a two-sided level-`alpha` test and the given
/// power (equal arms), by the standard formula
/// n = [z_{1−α/2} √(2 p̄ (1 − p̄)) + z_{power} √(p1(1−p1) + p2(1−p2))]² / (p1 − p2)², p̄ = (p1 + p2)/2,
/// rounded up. For p1 = 0.10, p2 = 0.12, α = 0.05, power 0.8 it gives 3841.
pub fn sample_size_proportions(p1: f64, p2: f64, alpha: f64, power: f64) -> Result<u64> {
    check_power_inputs(alpha, power)?;
    for (name, p) in [("p1", p1), ("p2", p2)] {
        if !(p > 0.0 && p < 1.0) {
            return Err(EvalError::setting(
                name,
                format!("must be in (0, 1), got {p}"),
            ));
        }
    }
    if p1 == p2 {
        return Err(EvalError::setting("p2", "must differ from p1"));
    }
    let p_bar = (p1 + p2) / 2.0;
    let z_alpha = normal_quantile(1.0 - alpha / 2.0);
    let z_beta = normal_quantile(power);
    let numerator = z_alpha * (2.0 * p_bar * (1.0 - p_bar)).sqrt()
        + z_beta * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    Ok((numerator * numerator / ((p1 - p2) * (p1 - p2))).ceil() as u64)
}

/// Power of the two-sided two-proportion test with `n_per_arm` customers per arm (the same formula solved for
/// power; the far rejection tail is ignored, as is usual).
pub fn power_proportions(p1: f64, p2: f64, n_per_arm: u64, alpha: f64) -> Result<f64> {
    check_alpha(alpha)?;
    if n_per_arm == 0 {
        return Err(EvalError::setting("n_per_arm", "must be at least 1"));
    }
    let p_bar = (p1 + p2) / 2.0;
    let z_alpha = normal_quantile(1.0 - alpha / 2.0);
    let n = n_per_arm as f64;
    let z = ((p1 - p2).abs() * n.sqrt() - z_alpha * (2.0 * p_bar * (1.0 - p_bar)).sqrt())
        / (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    Ok(normal_cdf(z))
}

/// Customers per arm to detect a difference `delta` in means when the outcome's standard deviation is `sd`:
/// n = 2 σ² (z_{1−α/2} + z_{power})² / δ², rounded up.
pub fn sample_size_means(delta: f64, sd: f64, alpha: f64, power: f64) -> Result<u64> {
    check_power_inputs(alpha, power)?;
    if !(delta != 0.0 && delta.is_finite() && sd > 0.0 && sd.is_finite()) {
        return Err(EvalError::setting(
            "delta/sd",
            "delta must be non-zero and sd positive",
        ));
    }
    let z = normal_quantile(1.0 - alpha / 2.0) + normal_quantile(power);
    Ok((2.0 * sd * sd * z * z / (delta * delta)).ceil() as u64)
}

/// Power of the two-sided two-sample test of means with `n_per_arm` per arm: Φ(|δ| √(n / 2σ²) − z_{1−α/2}).
pub fn power_means(delta: f64, sd: f64, n_per_arm: u64, alpha: f64) -> Result<f64> {
    check_alpha(alpha)?;
    if sd.is_nan() || sd <= 0.0 || n_per_arm == 0 {
        return Err(EvalError::setting(
            "sd/n_per_arm",
            "sd must be positive and n at least 1",
        ));
    }
    Ok(normal_cdf(
        delta.abs() * (n_per_arm as f64 / (2.0 * sd * sd)).sqrt()
            - normal_quantile(1.0 - alpha / 2.0),
    ))
}
