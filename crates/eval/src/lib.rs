//! Evaluation for the discount engine: "which customer gets which discount, and was it worth it?"
//!
//! * [`ope`]: off-policy estimators (Replay, IPS, SNIPS, DM, DR, SNDR, Switch-DR, DRos) that estimate what a
//!   new policy would earn from the log of another, with bootstrap intervals and effective sample sizes, and
//!   cross-fitted reward models.
//! * [`obd`]: the Open Bandit Dataset reader and the standard BTS-versus-random experiment.
//! * [`ab`]: A/B tests: deterministic assignment, sample-ratio-mismatch check, Welch and two-proportion tests,
//!   CUPED, always-valid sequential p-values (mSPRT), power and sample size.
//! * [`uplift`], [`ranking`], [`calibration`]: model metrics (Qini, AUUC, uplift@k; precision, recall, NDCG@k;
//!   reliability bins and ECE).
//! * [`numerics`], [`logistic`], [`folds`]: the shared logistic function, SPD solves, ROC AUC, the one
//!   logistic-regression solver and the one k-fold assignment (used by models, fraud, policy).
//! * [`report`] and [`svg`]: one self-contained HTML report with inline SVG charts.
//!
//! Typical use:
//!
//! ```
//! use discount_eval::ope::{self, BanditLog, BootstrapConfig, Estimator, OpeInputs, RoundTensor};
//!
//! // Three rounds of a single-slot interface with two actions, logged by a uniform random policy.
//! let log = BanditLog::new(2, 1, vec![0, 1, 0], None, vec![1.0, 0.0, 0.0], vec![0.5; 3], None)?;
//! // Evaluate "always action 0".
//! let always_zero = RoundTensor::shared(3, 2, 1, vec![1.0, 0.0])?;
//! let inputs = OpeInputs::prepare(&log, &always_zero, None)?;
//! let results = ope::evaluate(&inputs, &[Estimator::Snips], &BootstrapConfig::default())?;
//! assert!((results[0].estimate - 0.5).abs() < 1e-12);
//! # Ok::<(), discount_eval::EvalError>(())
//! ```
//!
//! Randomness (bootstrap, cross-fitting folds, Monte Carlo) is always seeded by the caller.

mod csv_file;
pub mod error;
pub mod folds;
pub mod logistic;
pub mod numerics;
pub mod obd;
pub mod ope;
pub mod stats;

pub use error::{EvalError, Result};
pub mod ab;
pub mod bench;
pub mod calibration;
pub mod dp;
pub mod drift;
pub mod experiment;
pub mod ranking;
pub mod report;
pub mod svg;
pub mod uplift;
