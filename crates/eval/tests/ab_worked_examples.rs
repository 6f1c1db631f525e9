//! A/B statistics on worked examples with published or independently computed answers.

use discount_eval::ab::{
    always_valid, cuped, msprt_likelihood_ratio, power_means, power_proportions,
    sample_ratio_mismatch, sample_size_means, sample_size_proportions, two_proportion_test,
    welch_test, Allocation, Look, SampleSummary,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

fn close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "actual {actual}, expected {expected}"
    );
}

#[test]
fn welch_matches_the_textbook_example() {
    // Welch's t-test example 1 (Wikipedia, "Welch's t-test"): t = 2.46, df ≈ 25.0, p = 0.021.
    // Reference values from scipy.stats.ttest_ind(b, a, equal_var=False).
    let a = [
        27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4,
    ];
    let b = [
        27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4,
    ];
    let test = welch_test(&SampleSummary::of(&a), &SampleSummary::of(&b), 0.05).expect("welch");
    close(test.statistic, 2.455_356_398_286_006, 1e-10);
    close(test.degrees_of_freedom, 24.988_529_290_231_416, 1e-9);
    close(test.p_value, 0.021_378_001_462_866_992, 1e-10);
    close(test.ci_lower, 0.349_237_066_192_406_9, 1e-9);
    close(test.ci_upper, 3.984_096_267_140_929, 1e-9);
}

#[test]
fn two_proportion_z_test() {
    // 200/1000 vs 250/1000: pooled p = 0.225, SE = √(0.225·0.775·0.002), z = 0.05 / SE.
    let test = two_proportion_test(200, 1000, 250, 1000, 0.05).expect("z test");
    let pooled_se = (0.225f64 * 0.775 * 0.002).sqrt();
    close(test.statistic, 0.05 / pooled_se, 1e-12);
    close(test.statistic, 2.677_397_763_008_329, 1e-10);
    close(test.p_value, 0.007_419_649_261_025_687, 1e-10);
    close(test.ci_lower, 0.013_463_621_687_539_853, 1e-10);
    close(test.ci_upper, 0.086_536_378_312_460_15, 1e-10);
}

#[test]
fn sample_size_for_conversion_rates() {
    // Standard formula, p1 = 0.10, p2 = 0.12, α = 0.05 two-sided, power 0.8: 3840.3... → 3841 per arm.
    assert_eq!(
        sample_size_proportions(0.10, 0.12, 0.05, 0.8).expect("n"),
        3841
    );
    // With 3841 per arm the power is at least 0.8, with 3000 clearly less.
    assert!(power_proportions(0.10, 0.12, 3841, 0.05).expect("power") >= 0.8);
    assert!(power_proportions(0.10, 0.12, 3000, 0.05).expect("power") < 0.75);
}

#[test]
fn sample_size_for_means() {
    // n = 2σ²(z_.975 + z_.8)²/δ² with σ = 4, δ = 1: 32 · 2.8015853² = 251.16 → 252.
    assert_eq!(sample_size_means(1.0, 4.0, 0.05, 0.8).expect("n"), 252);
    close(power_means(1.0, 4.0, 252, 0.05).expect("power"), 0.8, 0.002);
}

#[test]
fn sample_ratio_mismatch_chi_square() {
    // 50 000 vs 50 600 with a 50/50 plan: χ² = 2 · 300² / 50 300 = 3.5785, p = 0.0585 (scipy.stats.chisquare).
    let check = sample_ratio_mismatch(&[50_000, 50_600], &[0.5, 0.5], 0.001).expect("srm");
    close(check.chi_square, 3.578_528_827_037_773_3, 1e-9);
    close(check.p_value, 0.058_530_965_566_157_854, 1e-10);
    assert!(!check.mismatch);
    let broken = sample_ratio_mismatch(&[50_000, 52_000], &[0.5, 0.5], 0.001).expect("srm");
    assert!(broken.mismatch);
}

#[test]
fn assignment_is_deterministic_stable_and_balanced() {
    // SHA-256("exp1" ‖ 0x1F ‖ "customer-42"), first 53 bits / 2^53 (computed with Python's hashlib).
    close(
        Allocation::hash_unit("exp1", "customer-42"),
        0.047_327_816_913_476_87,
        1e-15,
    );
    let allocation = Allocation::new(vec!["control".into(), "offer".into()], vec![0.7, 0.3])
        .expect("allocation");
    assert_eq!(allocation.assign_name("exp1", "customer-42"), "control");
    let n = 20_000;
    let treated = (0..n)
        .filter(|i| allocation.assign("exp1", &format!("c{i}")) == 1)
        .count();
    // Binomial(20 000, 0.3): SD ≈ 65; allow 5 SD.
    assert!((treated as f64 - 6000.0).abs() < 325.0, "{treated}");
    // Another salt re-shuffles customers: agreement with the first split is what independence predicts.
    let agree = (0..n)
        .filter(|i| {
            allocation.assign("exp1", &format!("c{i}"))
                == allocation.assign("exp2", &format!("c{i}"))
        })
        .count() as f64
        / n as f64;
    close(agree, 0.7 * 0.7 + 0.3 * 0.3, 0.02);
}

#[test]
fn cuped_removes_the_variance_explained_by_the_pre_period() {
    let mut rng = StdRng::seed_from_u64(5);
    let noise = Normal::new(0.0, 1.0).expect("normal");
    let mut make = |n: usize, effect: f64| -> (Vec<f64>, Vec<f64>) {
        let x: Vec<f64> = (0..n)
            .map(|_| 10.0 + 2.0 * noise.sample(&mut rng))
            .collect();
        let y = x
            .iter()
            .map(|x| x + effect + noise.sample(&mut rng))
            .collect();
        (y, x)
    };
    let (control_y, control_x) = make(4000, 0.0);
    let (treatment_y, treatment_x) = make(4000, 0.2);
    let result = cuped(&control_y, &control_x, &treatment_y, &treatment_x, 0.05).expect("cuped");
    // y = x + e with var(x) = 4, var(e) = 1: θ = 1 and corr² = 4/5 of the variance is removed.
    close(result.theta, 1.0, 0.05);
    close(result.variance_reduction, 0.8, 0.03);
    assert!(result.adjusted.standard_error < 0.5 * result.unadjusted.standard_error);
    assert!(result.adjusted.ci_lower < 0.2 && 0.2 < result.adjusted.ci_upper);
}

#[test]
fn msprt_matches_the_published_two_stream_form() {
    // Johari et al. (2017): Λ_n = √(2σ²/(2σ² + nτ²)) · exp(n²τ²Δ² / (4σ²(2σ² + nτ²))) for n per arm.
    let (sigma2, tau2, n, delta) = (2.0f64, 0.1f64, 500.0f64, 0.3f64);
    let expected = (2.0 * sigma2 / (2.0 * sigma2 + n * tau2)).sqrt()
        * (n * n * tau2 * delta * delta / (4.0 * sigma2 * (2.0 * sigma2 + n * tau2))).exp();
    close(
        msprt_likelihood_ratio(delta, 2.0 * sigma2 / n, 0.0, tau2),
        expected,
        1e-12 * expected,
    );
}

#[test]
fn always_valid_p_values_control_false_positives_under_peeking() {
    // 200 A/A experiments, each looked at 50 times. Stopping at the first look with a naive p < 0.05 rejects far
    // more than 5%; the always-valid p-value stays at or below 5% (plus simulation noise).
    let mut rng = StdRng::seed_from_u64(17);
    let noise = Normal::new(0.0, 1.0).expect("normal");
    let (mut naive_rejections, mut valid_rejections) = (0, 0);
    let experiments = 200;
    for _ in 0..experiments {
        let mut control = discount_eval::stats::Moments::default();
        let mut treatment = discount_eval::stats::Moments::default();
        let mut looks = Vec::new();
        for step in 0..2000 {
            if rng.gen::<bool>() {
                control.push(noise.sample(&mut rng));
            } else {
                treatment.push(noise.sample(&mut rng));
            }
            if step % 40 == 39 {
                let summary = |m: &discount_eval::stats::Moments| SampleSummary {
                    n: m.count,
                    mean: m.mean,
                    variance: m.variance(),
                };
                looks.push(Look {
                    control: summary(&control),
                    treatment: summary(&treatment),
                });
            }
        }
        let points = always_valid(&looks, 0.01, 0.05).expect("sequential");
        if points.iter().any(|p| p.p_value < 0.05) {
            valid_rejections += 1;
        }
        let naive = looks.iter().any(|look| {
            welch_test(&look.control, &look.treatment, 0.05)
                .map(|t| t.p_value < 0.05)
                .unwrap_or(false)
        });
        if naive {
            naive_rejections += 1;
        }
        // The confidence sequence only shrinks.
        for pair in points.windows(2) {
            assert!(pair[1].ci_lower >= pair[0].ci_lower && pair[1].ci_upper <= pair[0].ci_upper);
        }
    }
    let valid_rate = valid_rejections as f64 / experiments as f64;
    let naive_rate = naive_rejections as f64 / experiments as f64;
    assert!(
        valid_rate <= 0.08,
        "always-valid false-positive rate {valid_rate}"
    );
    assert!(
        naive_rate > 0.15,
        "naive peeking should inflate false positives, got {naive_rate}"
    );
}
