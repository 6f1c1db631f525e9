//! Learned discount policies.
//!
//! [`UpliftModel`] is a segment-level uplift model learned from an exploration log: customers are
//! grouped by what the platform can observe at a visit (lifecycle stage, order count, recency,
//! tenure); for each segment and each rung of the offer ladder it estimates the profit and the
//! discount spend per visit by inverse-propensity weighting, shrunk toward the pooled estimate of
//! the rung for small cells. [`LearnedPolicy`] then gives, at each visit, the rung maximising
//! `incremental profit - lambda * spend`, where the budget's shadow price `lambda` is found by
//! bisection so that the planned spend over the run matches the budget, with a small epsilon
//! exploration logged with its propensity and a hard stop when the budget is spent.
//!
//! [`explore`] runs the simulator with the random policy and turns its observable records (offers
//! shown with their propensities, orders, item costs) into a [`LoggedDecision`] log.

pub mod log;
pub mod model;

pub use log::{explore, ExplorationLog, LoggedDecision};
pub use model::{
    plan_lambda, segment_of, Hyper, LearnedPolicy, PolicyError, UpliftModel, SEGMENTS,
};
