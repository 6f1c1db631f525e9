//! Doubly robust estimators: the direct method plus an importance-weighted correction of the model's error
//! on the logged action. With ŵ the weight each variant uses and q̂_π(x_i) = Σ_a π_e(a | x_i, p_i) q̂(x_i, a, p_i):
//!
//! V̂ = (1/n) Σ_i [ q̂_π(x_i) + ŵ_i (r_i − q̂(x_i, a_i, p_i)) ]
//!
//! * DR (Dudík et al., 2014): ŵ = min(w, λ).
//! * SNDR: ŵ = w / mean(w) (self-normalised correction).
//! * Switch-DR (Wang et al., 2017): ŵ = w · 1{w ≤ τ}: rounds with a weight above τ fall back to the model.
//! * DRos (Su et al., 2020), DR with optimistic shrinkage: ŵ = λ w / (w² + λ); λ = ∞ gives DR, λ = 0 gives DM.
//!
//! These follow Open Bandit Pipeline's `DoublyRobust`, `SelfNormalizedDoublyRobust`, `SwitchDoublyRobust` and
//! `DoublyRobustWithShrinkage`.

/// Switch-DR weight: `w` when `w ≤ τ`, else 0.
#[inline]
pub fn switch_weight(weight: f64, tau: f64) -> f64 {
    if weight <= tau {
        weight
    } else {
        0.0
    }
}

/// DRos shrunk weight `λ w / (w² + λ)`; `w` itself when λ is infinite. With λ = 0 it is 0 (Open Bandit Pipeline
/// would compute 0/0 = NaN for a zero weight; 0 is the limit and what DM, which λ = 0 is meant to reduce to, uses).
#[inline]
pub fn shrunk_weight(weight: f64, lambda: f64) -> f64 {
    if lambda.is_infinite() {
        weight
    } else if lambda == 0.0 {
        0.0
    } else {
        lambda * weight / (weight * weight + lambda)
    }
}
