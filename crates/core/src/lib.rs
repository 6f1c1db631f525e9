//! Domain types shared by every stage of the discount engine.
//!
//! - [`ids`]: typed identifiers and keyed pseudonymisation of customer ids.
//! - [`money`]: integer minor units with an ISO currency.
//! - [`time`]: UTC timestamps parsed from the formats real feeds use.
//! - [`event`]: users, items and the behaviour events (views, orders, coupons, ...).
//! - [`offer`]: the treatments the engine can give.
//! - [`risk`]: the contract between fraud scores and the offer gate; [`fraud_label`]: the
//!   ground-truth labels of fraud actors that train and evaluate those scores.
//! - [`hash`]: stateless integer mixing for seeded assignments.
//! - [`config`]: the one TOML configuration file, with environment overrides.
//! - [`public_columns`]: the column layouts of the public benchmark data sets.
//!
//! Everything here is plain data with validation; no I/O except reading the config file.

pub mod config;
pub mod error;
pub mod event;
pub mod fraud_label;
pub mod hash;
pub mod ids;
pub mod money;
pub mod offer;
pub mod public_columns;
pub mod risk;
pub mod time;

pub use config::Config;
pub use error::CoreError;
pub use event::{DiscountSource, Event, EventKind, Item, OrderLine, Record, User};
pub use fraud_label::{FraudKind, FraudLabel};
pub use ids::{CustomerIds, Pseudonymiser};
pub use money::{Currency, Money};
pub use offer::Offer;
pub use risk::{RiskAssessment, RiskScores};
pub use time::Timestamp;
