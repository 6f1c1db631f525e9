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
//! - [`gate`]: withhold or cap above a threshold; thresholds from a false-positive budget.
//! - [`source`]: reading event files and public data sets.

pub mod activity;
pub mod calibration;
pub mod error;
pub mod features;
pub mod gate;
pub mod identity;
pub mod iforest;
pub mod logistic;
pub mod rules;
pub mod scan;
pub mod scores;
pub mod source;

pub use error::FraudError;
pub use gate::{threshold_for_budget, threshold_for_labels, GateAction, GateConfig, GateVerdict};
pub use scan::{scan, Labels, Scan, ScanConfig, ScanReport};
pub use scores::{ScoreTable, SharedScoreTable};
