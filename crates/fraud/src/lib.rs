//! Coupon abuse and fraud detection: identity rings, named rules, learned scores and the offer gate.
//!
//! - [`identity`]: accounts linked by shared (pseudonymised) device, IP, address, payment or
//!   phone; connected components as rings.
//! - [`activity`]: per-account counters gathered from the event stream in one pass.
//! - [`rules`]: the named, configurable, explained rules.
//! - [`features`]: account and ring features.
//! - [`iforest`], [`logistic`], [`calibration`]: isolation forest, logistic regression, Platt and
//!   isotonic calibration.
//! - [`scan`]: the whole scan, its report and the evaluation against labels.
//! - [`scores`]: the precomputed score table the policy reads ([`discount_core::RiskScores`]).
//! - [`threshold`]: gate thresholds from a false-positive budget (the gate that withholds or caps
//!   is the decision engine's, `discount_policy::gate`).
//! - [`source`]: reading event files and public data sets.

pub mod activity;
pub mod calibration;
pub mod error;
pub mod features;
pub mod identity;
pub mod iforest;
pub mod logistic;
pub mod rules;
pub mod scan;
pub mod scores;
pub mod source;
pub mod threshold;

pub use error::FraudError;
pub use scan::{scan, Labels, Scan, ScanConfig, ScanReport};
pub use scores::{ScoreTable, SharedScoreTable};
pub use threshold::{threshold_for_budget, threshold_for_labels};
