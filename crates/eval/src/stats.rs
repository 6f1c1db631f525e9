//! Distribution functions and small numeric helpers used by the estimators and tests.
//!
//! Written here (rather than pulled from a statistics crate) because the crate needs only a handful of them:
//! the normal CDF and quantile, Student's t CDF and quantile, the chi-square survival function, and the
//! percentile rule of NumPy. Each is accurate to about 1e-12 or better, which the unit tests check against
//! published values.

/// `ln Γ(x)` for `x > 0` (Lanczos approximation, g = 7, 9 terms; relative error below 1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the approximation in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (i, c) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Regularised lower incomplete gamma function `P(a, x)`.
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x < a + 1.0 {
        gamma_series(a, x)
    } else {
        1.0 - gamma_continued_fraction(a, x)
    }
}

/// Regularised upper incomplete gamma function `Q(a, x) = 1 - P(a, x)`, accurate in the far tail too.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < a + 1.0 {
        1.0 - gamma_series(a, x)
    } else {
        gamma_continued_fraction(a, x)
    }
}

fn gamma_series(a: f64, x: f64) -> f64 {
    let mut term = 1.0 / a;
    let mut sum = term;
    let mut denominator = a;
    for _ in 0..10_000 {
        denominator += 1.0;
        term *= x / denominator;
        sum += term;
        if term.abs() < sum.abs() * 1e-17 {
            break;
        }
    }
    sum * (-x + a * x.ln() - ln_gamma(a)).exp()
}

fn gamma_continued_fraction(a: f64, x: f64) -> f64 {
    // Modified Lentz evaluation of the continued fraction for Q(a, x).
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..10_000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x + a * x.ln() - ln_gamma(a)).exp() * h
}

/// Regularised incomplete beta function `I_x(a, b)`.
pub fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    // The continued fraction converges fast only on one side of the mean; use symmetry on the other.
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..10_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// Complementary error function (the C library's algorithm, through `libm`: accurate to about
/// one unit in the last place and fast enough for the policy's Thompson quadrature, which calls
/// [`normal_cdf`] thousands of times per decision).
pub fn erfc(x: f64) -> f64 {
    libm::erfc(x)
}

/// Standard normal cumulative distribution function `Φ(x)`.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal survival function `1 - Φ(x)`, accurate in the upper tail.
pub fn normal_sf(x: f64) -> f64 {
    normal_cdf(-x)
}

/// Standard normal density.
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal quantile `Φ⁻¹(p)` for `0 < p < 1` (NaN outside; ±∞ at 0 and 1).
///
/// Acklam's rational approximation followed by two Halley steps on the accurate CDF.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p_low = 0.02425;
    let mut x = if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    for _ in 0..2 {
        // Halley refinement; compare in the tail that keeps precision.
        let error = if x > 0.0 {
            (1.0 - p) - normal_sf(x)
        } else {
            normal_cdf(x) - p
        };
        let u = error / normal_pdf(x);
        x -= u / (1.0 + x * u / 2.0);
    }
    x
}

/// Student's t cumulative distribution function with `df > 0` degrees of freedom.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let x = df / (df + t * t);
    let tail = 0.5 * beta_inc(df / 2.0, 0.5, x);
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Student's t survival function `P(T > t)`, accurate in the upper tail.
pub fn student_t_sf(t: f64, df: f64) -> f64 {
    student_t_cdf(-t, df)
}

/// Student's t quantile for `0 < p < 1`.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    // Work on the upper half and mirror; bracket, then bisect (robust for any df).
    let upper = p > 0.5;
    let target_tail = if upper { 1.0 - p } else { p };
    let mut low = 0.0;
    let mut high = normal_quantile(1.0 - target_tail).max(1.0);
    while student_t_sf(high, df) > target_tail {
        high *= 2.0;
        if high > 1e300 {
            break;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if student_t_sf(mid, df) > target_tail {
            low = mid;
        } else {
            high = mid;
        }
        if high - low <= 1e-15 * high.abs().max(1.0) {
            break;
        }
    }
    let t = 0.5 * (low + high);
    if upper {
        t
    } else {
        -t
    }
}

/// Chi-square survival function `P(X > x)` with `df` degrees of freedom.
pub fn chi_square_sf(x: f64, df: f64) -> f64 {
    if x.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    gamma_q(df / 2.0, x / 2.0)
}

/// Percentile `q` in `[0, 100]` of `values` with NumPy's default ("linear") rule. Sorts `values` in place.
/// Returns NaN for an empty slice.
pub fn percentile_in_place(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    percentile_of_sorted(values, q)
}

/// Percentile `q` in `[0, 100]` of already sorted values with NumPy's default ("linear") rule.
pub fn percentile_of_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let position = (q / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let fraction = position - below as f64;
    sorted[below] + (sorted[above] - sorted[below]) * fraction
}

/// Mean of a slice (NaN when empty).
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample variance with `n - 1` in the denominator (NaN with fewer than two values).
pub fn sample_variance(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return f64::NAN;
    }
    let m = mean(values);
    values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (values.len() - 1) as f64
}

/// Summary of one sample: count, mean and unbiased variance, computed in one stable pass (Welford).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Moments {
    pub count: u64,
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl Moments {
    /// Moments of a slice.
    pub fn of(values: &[f64]) -> Self {
        let mut moments = Moments::default();
        for &v in values {
            moments.push(v);
        }
        moments
    }

    /// Adds one observation.
    pub fn push(&mut self, value: f64) {
        self.count += 1;
        let delta = value - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (value - self.mean);
    }

    /// Unbiased sample variance (NaN with fewer than two observations).
    pub fn variance(&self) -> f64 {
        if self.count < 2 {
            f64::NAN
        } else {
            self.m2 / (self.count - 1) as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "actual {actual:e}, expected {expected:e}, tolerance {tolerance:e}"
        );
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        close(ln_gamma(1.0), 0.0, 1e-14);
        close(ln_gamma(5.0), 24f64.ln(), 1e-13);
        close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-14);
        close(ln_gamma(101.0), 363.739_375_555_563_47, 1e-10);
    }

    #[test]
    fn normal_cdf_matches_published_values() {
        close(normal_cdf(0.0), 0.5, 1e-15);
        close(normal_cdf(1.959_963_984_540_054), 0.975, 1e-12);
        close(normal_cdf(-3.0), 0.001_349_898_031_630_094_6, 1e-15);
        close(normal_cdf(1.0), 0.841_344_746_068_542_9, 1e-12);
        close(normal_sf(8.0), 6.220_960_574_271_784e-16, 1e-25);
    }

    #[test]
    fn normal_quantile_inverts_the_cdf() {
        close(normal_quantile(0.975), 1.959_963_984_540_054, 1e-12);
        close(normal_quantile(0.8), 0.841_621_233_572_914_3, 1e-12);
        close(normal_quantile(0.05), -1.644_853_626_951_472_2, 1e-12);
        close(normal_quantile(1e-10), -6.361_340_902_404_056, 1e-9);
        for &p in &[1e-6, 0.01, 0.2, 0.5, 0.7, 0.99, 0.999_999] {
            close(normal_cdf(normal_quantile(p)), p, 1e-14);
        }
    }

    #[test]
    fn student_t_matches_published_values() {
        // Two-sided 95% critical values from the standard t table.
        close(student_t_quantile(0.975, 1.0), 12.706_204_736_174_7, 1e-9);
        close(
            student_t_quantile(0.975, 10.0),
            2.228_138_851_986_274,
            1e-10,
        );
        close(
            student_t_quantile(0.975, 30.0),
            2.042_272_456_301_238,
            1e-10,
        );
        close(student_t_cdf(2.0, 10.0), 0.963_305_982_614_615, 1e-12);
        close(student_t_cdf(-1.0, 1.0), 0.25, 1e-14);
        close(student_t_quantile(0.025, 5.0), -2.570_581_835_636_314, 1e-9);
    }

    #[test]
    fn chi_square_matches_published_values() {
        close(chi_square_sf(3.841_458_820_694_124, 1.0), 0.05, 1e-12);
        close(chi_square_sf(5.991_464_547_107_979, 2.0), 0.05, 1e-12);
        close(chi_square_sf(10.0, 3.0), 0.018_566_135_463_043_25, 1e-12);
        close(chi_square_sf(0.0, 4.0), 1.0, 0.0);
        close(chi_square_sf(100.0, 1.0), 1.523_970_604_832_105e-23, 1e-33);
    }

    #[test]
    fn percentile_follows_numpy_linear_rule() {
        let mut values = vec![4.0, 1.0, 3.0, 2.0];
        close(percentile_in_place(&mut values, 2.5), 1.075, 1e-15);
        close(percentile_in_place(&mut values, 50.0), 2.5, 1e-15);
        close(percentile_in_place(&mut values, 100.0), 4.0, 1e-15);
    }

    #[test]
    fn moments_agree_with_two_pass_formula() {
        let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let m = Moments::of(&values);
        close(m.mean, 5.0, 1e-15);
        close(m.variance(), sample_variance(&values), 1e-14);
        close(m.variance(), 32.0 / 7.0, 1e-14);
    }
}
