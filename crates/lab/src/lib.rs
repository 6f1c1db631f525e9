//! The lab: experiments that combine the simulator with the decision engine and the learners.
//!
//! Production crates (`policy`, `fraud`, `server`) never depend on the simulator; everything that
//! runs them in the simulated shop, with its ground truth, lives here.
//!
//! - [`observed`]: the shop's record of a simulator run (catalogue, events, outcomes by customer
//!   and day), from which every experiment builds facts with the function `serve` uses.
//! - [`simulated`]: the engine as a simulator policy (serving features, outcomes joined from the
//!   order records, daily pacing, online learning) and apprentice mode; [`evaluate`]: the
//!   comparison with baselines and the oracle over seeds (`discount evaluate-policy`).
//! - [`closed_loop`]: the simulated shop run as a real one: warm-up exploration, then weeks of
//!   serving through the engine with daily joins and retraining behind the off-policy gate, with
//!   the information ceiling and the oracle beside it (`discount demo`, `discount evaluate-policy`).
//! - [`rl`] and [`dqn`]: the customer lifecycle as a sequential problem: tabular Q-learning,
//!   fitted Q iteration and a deep Q-network (candle), against the one-step greedy policy.
//! - [`model`] and [`log`]: the segment-level uplift model learned from an exploration log (a
//!   baseline of `discount evaluate-policy`), and exploration logs from the simulator.
//! - [`demo`]: the closed loop's tables and HTML report with the learning curve (`discount demo`).
//! - [`fairness_lab`]: what the fairness rules cost in incremental profit, with the realised
//!   offer-rate ratio and price spread (`discount audit fairness-cost`).
//! - [`stock_lab`]: stock-aware offers in a shop with finite stock: the engine with and without
//!   the stock's shadow price over the same customers (`discount price stock-offers`).
//! - [`fraud_bench`]: the fraud scan on a simulated shop (`discount bench fraud`).
//! - [`recommend_lab`]: recommendations with offers against recommendations alone and offers alone
//!   at the same budget, customers' category preferences driving clicks and purchases
//!   (`discount simulate-recommendations`).
//! - [`LabError`] (in [`error`]): what can go wrong.
//!
//! ```no_run
//! use discount_lab::evaluate::{evaluate, EvalOptions};
//! let report = evaluate(&EvalOptions::default(), |_, _| {})?;
//! println!("{} policies compared", report.summary.len());
//! # Ok::<(), discount_lab::LabError>(())
//! ```

pub mod closed_loop;
pub mod demo;
pub mod dqn;
pub mod error;
pub mod evaluate;
pub mod fairness_lab;
pub mod fraud_bench;
pub mod log;
pub mod model;
pub mod observed;
pub mod recommend_lab;
pub mod rl;
pub mod simulated;
pub mod stock_lab;

pub use error::LabError;
pub use log::{explore, ExplorationLog, LoggedDecision};
pub use model::{plan_lambda, segment_of, Hyper, LearnedPolicy, UpliftModel, SEGMENTS};
