//! Budgeted offer allocation with perfect knowledge: the multiple-choice knapsack.
//!
//! The solvers live in [`discount_policy::knapsack`] (the engine's offline plan uses them too);
//! the simulator's [`crate::policy::OraclePolicy`] feeds them every customer's true response.

pub use discount_policy::knapsack::{
    best_option, Allocation, Choice, Instance, Method, BRUTE_FORCE_LIMIT, DP_LIMIT,
};
