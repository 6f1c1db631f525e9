//! Direct method (Beygelzimer & Langford, 2009): average, over rounds, of the reward model's prediction under
//! the evaluation policy at the logged position.
//!
//! V̂_DM = (1/n) Σ_i Σ_a π_e(a | x_i, p_i) q̂(x_i, a, p_i)
//!
//! Unbiased only when the reward model is; it has no importance weights and so the lowest variance.
//! The inner sum is computed once per round in [`super::OpeInputs::prepare`].
