//! IPS and DR are unbiased: over many independent logs of a synthetic problem with a known true value, the mean
//! estimate must lie within a few standard errors of the truth. A biased variant (DM with a deliberately wrong
//! model) is checked to fail the same test, so the test can detect bias.

use discount_eval::ope::synthetic::{generate, SyntheticConfig};
use discount_eval::ope::{cross_fit, EmpiricalMeanRewardModel, Estimator, OpeInputs, RoundTensor};
use discount_eval::stats::Moments;

const REPETITIONS: u64 = 300;

fn config(sample_seed: u64) -> SyntheticConfig {
    SyntheticConfig {
        n_rounds: 1500,
        n_actions: 5,
        n_positions: 2,
        n_context_types: 4,
        behavior_sharpness: 0.5,
        target_sharpness: 1.5,
        problem_seed: 11,
        sample_seed,
    }
}

/// Mean estimate, its standard error over repetitions, and the true value.
fn repeated(estimator: Estimator, model: &str) -> (f64, f64, f64) {
    let mut moments = Moments::default();
    let mut truth = 0.0;
    for seed in 0..REPETITIONS {
        let synthetic = generate(&config(1000 + seed)).expect("synthetic log");
        truth = synthetic.true_value;
        let rewards = match model {
            "cross-fit" => cross_fit(
                &EmpiricalMeanRewardModel::new(5.0).expect("model"),
                &synthetic.log,
                2,
                seed,
            )
            .expect("cross-fit"),
            // A constant, wrong model: predicts 0.5 everywhere.
            _ => RoundTensor::shared(1500, 5, 2, vec![0.5; 10]).expect("constant"),
        };
        let inputs = OpeInputs::prepare(&synthetic.log, &synthetic.action_dist, Some(&rewards))
            .expect("inputs");
        moments.push(estimator.estimate(&inputs).expect("estimate"));
    }
    (
        moments.mean,
        (moments.variance() / REPETITIONS as f64).sqrt(),
        truth,
    )
}

fn assert_unbiased(estimator: Estimator, model: &str) {
    let (mean, standard_error, truth) = repeated(estimator, model);
    let z = (mean - truth) / standard_error;
    assert!(
        z.abs() < 4.0,
        "{estimator}: mean {mean:.5} vs truth {truth:.5}, {z:.2} standard errors apart"
    );
}

#[test]
fn ips_is_unbiased() {
    assert_unbiased(
        Estimator::Ips {
            clip: f64::INFINITY,
        },
        "cross-fit",
    );
}

#[test]
fn dr_is_unbiased_with_a_cross_fitted_model() {
    assert_unbiased(
        Estimator::Dr {
            clip: f64::INFINITY,
        },
        "cross-fit",
    );
}

#[test]
fn dr_is_unbiased_even_with_a_wrong_model() {
    assert_unbiased(
        Estimator::Dr {
            clip: f64::INFINITY,
        },
        "constant",
    );
}

#[test]
fn dm_with_a_wrong_model_is_detected_as_biased() {
    let (mean, standard_error, truth) = repeated(Estimator::Dm, "constant");
    assert!(
        ((mean - truth) / standard_error).abs() > 10.0,
        "the check must be able to see bias"
    );
}
