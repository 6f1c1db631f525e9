//! A market simulator with known ground truth, to develop and test discount policies.
//!
//! Customers with latent traits (purchase propensity, price elasticity, category preference,
//! basket size, visit rate, lifecycle hazards and a discount-response type: persuadable, sure
//! thing, lost cause or sleeping dog) visit a shop day by day, view, cart, buy, review, churn and
//! return. A [`Policy`] decides at each visit which offer of the ladder to make; fraud actors
//! (coupon farmers, order brushers, resellers) mix in with labels kept apart. Everything is seeded:
//! the same configuration gives byte-identical records.
//!
//! ```no_run
//! use discount_sim::{simulate, policy::UniformPolicy, SimConfig};
//!
//! let config = SimConfig { users: 10_000, days: 30, ..SimConfig::default() };
//! let mut lines = Vec::new();
//! let out = simulate(&config, &mut UniformPolicy { percent: 10.0 }, &mut |r: discount_core::Record| {
//!     lines.push(r.to_json())
//! })?;
//! println!("revenue {} spend {}", out.summary.revenue, out.summary.discount_spend);
//! // The truth: each decision's true incremental profit, each customer's type, fraud labels.
//! let persuaded: f64 = out.truth.decisions.iter().map(|d| d.incremental_profit).sum();
//! # Ok::<(), discount_sim::SimError>(())
//! ```
//!
//! - [`config`]: [`SimConfig`], every knob, TOML-loadable and validated, with calibrated defaults;
//! - [`customer`], [`catalogue`], [`response`], [`fraud`]: the world and its true response model;
//! - [`policy`]: the [`Policy`] trait and the built-ins (none, uniform, random, oracle);
//! - [`oracle`]: budgeted allocation (multiple-choice knapsack), exact and Lagrangian;
//! - [`world`]: the loop ([`simulate`], [`simulate_with_counterfactual`]);
//! - [`sink`]: where records go; [`summary`]: what a run returns; [`mod@bench`]: throughput.
//!
//! `docs/simulator.md` explains the model and where each default comes from.

pub mod bench;
pub mod calibration;
pub mod catalogue;
pub mod config;
pub mod customer;
pub mod error;
pub mod fraud;
pub mod oracle;
pub mod policy;
pub mod response;
pub mod rng;
pub mod sink;
pub mod summary;
pub mod world;

pub use bench::{bench, BenchReport};
pub use config::SimConfig;
pub use customer::{ObservedStage, ResponseType, Stage};
pub use error::SimError;
pub use fraud::{FraudKind, FraudLabel};
pub use policy::{policy_from_spec, Context, Decision, Policy};
pub use response::OfferTruth;
pub use sink::{JsonlSink, NullSink, Sink};
pub use summary::{CustomerTruth, DecisionTruth, GroundTruth, SimOutput, SimSummary};
pub use world::{
    simulate, simulate_with, simulate_with_counterfactual, DayFigures, Market, MarketState,
    RunOptions,
};
