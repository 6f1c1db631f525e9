//! Each estimator on a four-round log small enough to compute by hand.
//!
//! Log (2 actions, 2 positions):
//!
//! | round | action | position | reward | pscore |
//! |-------|--------|----------|--------|--------|
//! | 0     | 0      | 0        | 1      | 0.5    |
//! | 1     | 1      | 0        | 0      | 0.25   |
//! | 2     | 0      | 1        | 0      | 0.5    |
//! | 3     | 1      | 1        | 1      | 0.5    |
//!
//! Evaluation policy (same every round): position 0: π(0) = 0.8, π(1) = 0.2; position 1: π(0) = 0.4, π(1) = 0.6.
//! So π_e at the logged action and position is 0.8, 0.2, 0.4, 0.6 and the weights w = 1.6, 0.8, 0.8, 1.2.
//!
//! Reward model q̂(a, p): q̂(0,0) = 0.5, q̂(0,1) = 0.3, q̂(1,0) = 0.2, q̂(1,1) = 0.4.
//! DM term per round: position 0: 0.8·0.5 + 0.2·0.2 = 0.44; position 1: 0.4·0.3 + 0.6·0.4 = 0.36.
//! q̂ of the logged action: 0.5, 0.2, 0.3, 0.4; residuals r − q̂: 0.5, −0.2, −0.3, 0.6;
//! w · residual: 0.8, −0.16, −0.24, 0.72 (sum 1.12).

use discount_eval::ope::{self, BanditLog, BootstrapConfig, Estimator, OpeInputs, RoundTensor};

fn log() -> BanditLog {
    BanditLog::new(
        2,
        2,
        vec![0, 1, 0, 1],
        Some(vec![0, 0, 1, 1]),
        vec![1.0, 0.0, 0.0, 1.0],
        vec![0.5, 0.25, 0.5, 0.5],
        None,
    )
    .expect("valid log")
}

fn inputs() -> OpeInputs {
    // Tables are [action][position].
    let policy = RoundTensor::shared(4, 2, 2, vec![0.8, 0.4, 0.2, 0.6]).expect("policy");
    let model = RoundTensor::shared(4, 2, 2, vec![0.5, 0.3, 0.2, 0.4]).expect("model");
    OpeInputs::prepare(&log(), &policy, Some(&model)).expect("inputs")
}

fn estimate(estimator: Estimator) -> f64 {
    estimator.estimate(&inputs()).expect("estimate")
}

fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "actual {actual}, expected {expected}"
    );
}

#[test]
fn ips() {
    // (1·1.6 + 0 + 0 + 1·1.2) / 4
    close(
        estimate(Estimator::Ips {
            clip: f64::INFINITY,
        }),
        2.8 / 4.0,
    );
}

#[test]
fn ips_with_clipping() {
    // weights clipped at 1: 1, 0.8, 0.8, 1 -> (1 + 1) / 4
    close(estimate(Estimator::Ips { clip: 1.0 }), 0.5);
}

#[test]
fn snips() {
    // Σ r w / Σ w = 2.8 / 4.4
    close(estimate(Estimator::Snips), 2.8 / 4.4);
}

#[test]
fn dm_uses_the_logged_position() {
    // (0.44 + 0.44 + 0.36 + 0.36) / 4
    close(estimate(Estimator::Dm), 0.4);
}

#[test]
fn dr() {
    // DM + mean(w · residual) = 0.4 + 1.12 / 4
    close(
        estimate(Estimator::Dr {
            clip: f64::INFINITY,
        }),
        0.68,
    );
}

#[test]
fn sndr() {
    // DM + Σ w · residual / Σ w = 0.4 + 1.12 / 4.4
    close(estimate(Estimator::Sndr), 0.4 + 1.12 / 4.4);
}

#[test]
fn switch_dr() {
    // τ = 1 keeps rounds 1 and 2 (w = 0.8): 0.4 + (−0.16 − 0.24) / 4
    close(estimate(Estimator::SwitchDr { tau: 1.0 }), 0.3);
    // τ = ∞ is DR, τ = 0 is DM.
    close(estimate(Estimator::SwitchDr { tau: f64::INFINITY }), 0.68);
    close(estimate(Estimator::SwitchDr { tau: 0.0 }), 0.4);
}

#[test]
fn dr_os() {
    // λ = 1: ŵ = w / (w² + 1)
    let shrunk = [1.6 / 3.56, 0.8 / 1.64, 0.8 / 1.64, 1.2 / 2.44];
    let residual = [0.5, -0.2, -0.3, 0.6];
    let correction: f64 = shrunk.iter().zip(residual).map(|(w, r)| w * r).sum::<f64>() / 4.0;
    close(estimate(Estimator::DrOs { lambda: 1.0 }), 0.4 + correction);
    close(
        estimate(Estimator::DrOs {
            lambda: f64::INFINITY,
        }),
        0.68,
    );
    close(estimate(Estimator::DrOs { lambda: 0.0 }), 0.4);
}

#[test]
fn replay_keeps_matching_rounds() {
    // Deterministic: action 0 at position 0, action 1 at position 1. Rounds 0 and 3 match (rewards 1, 1).
    let policy = RoundTensor::shared(4, 2, 2, vec![1.0, 0.0, 0.0, 1.0]).expect("policy");
    let inputs = OpeInputs::prepare(&log(), &policy, None).expect("inputs");
    close(Estimator::Replay.estimate(&inputs).expect("estimate"), 1.0);
    close(Estimator::Replay.effective_sample_size(&inputs), 2.0);
}

#[test]
fn effective_sample_size_and_round_rewards() {
    let inputs = inputs();
    // (Σ w)² / Σ w² = 4.4² / (2.56 + 0.64 + 0.64 + 1.44)
    close(
        Estimator::Snips.effective_sample_size(&inputs),
        4.4 * 4.4 / 5.28,
    );
    close(Estimator::Dm.effective_sample_size(&inputs), 4.0);
    let rounds = Estimator::Ips {
        clip: f64::INFINITY,
    }
    .round_rewards(&inputs)
    .expect("rounds");
    assert_eq!(rounds.len(), 4);
    close(rounds[0], 1.6);
    close(rounds[3], 1.2);
}

#[test]
fn bootstrap_interval_brackets_the_estimate_and_is_seeded() {
    let inputs = inputs();
    let config = BootstrapConfig::new(500, 0.1, 9);
    let a = ope::evaluate(&inputs, &Estimator::standard_set(), &config).expect("evaluate");
    let b = ope::evaluate(&inputs, &Estimator::standard_set(), &config).expect("evaluate");
    assert_eq!(a, b, "same seed, same intervals");
    for r in &a {
        assert!(
            r.interval.lower <= r.estimate && r.estimate <= r.interval.upper,
            "{r:?}"
        );
    }
    // DM has the same value in every round pair (0.44 or 0.36): the interval lies within [0.36, 0.44].
    let dm = a.iter().find(|r| r.estimator == "dm").expect("dm");
    assert!(dm.interval.lower >= 0.36 - 1e-12 && dm.interval.upper <= 0.44 + 1e-12);
}

#[test]
fn model_based_estimators_need_a_model() {
    let policy = RoundTensor::shared(4, 2, 2, vec![0.8, 0.4, 0.2, 0.6]).expect("policy");
    let inputs = OpeInputs::prepare(&log(), &policy, None).expect("inputs");
    assert!(Estimator::Dr {
        clip: f64::INFINITY
    }
    .estimate(&inputs)
    .is_err());
    assert!(Estimator::Ips {
        clip: f64::INFINITY
    }
    .estimate(&inputs)
    .is_ok());
}

#[test]
fn estimators_parse_from_text() {
    let list = ope::parse_estimator_list("ips, snips,dm,dr:5,switch-dr:50,dros:10").expect("parse");
    assert_eq!(list[3], Estimator::Dr { clip: 5.0 });
    assert_eq!(list[4], Estimator::SwitchDr { tau: 50.0 });
    assert_eq!(list[5], Estimator::DrOs { lambda: 10.0 });
    assert!("ips:-1".parse::<Estimator>().is_err());
    assert!("magic".parse::<Estimator>().is_err());
}

#[test]
fn invalid_logs_are_rejected_with_the_field() {
    let error = BanditLog::new(2, 1, vec![0, 1], None, vec![1.0, 0.0], vec![0.5, 0.0], None)
        .expect_err("zero pscore");
    assert!(error.to_string().contains("pscore"), "{error}");
    let error = BanditLog::new(2, 1, vec![0, 2], None, vec![1.0, 0.0], vec![0.5, 0.5], None)
        .expect_err("action 2");
    assert!(error.to_string().contains("action"), "{error}");
}
