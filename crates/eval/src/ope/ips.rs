//! Inverse propensity scoring and its self-normalised variant.
//!
//! IPS (Precup et al., 2000; Strehl et al., 2010): V̂_IPS = (1/n) Σ_i min(w_i, λ) r_i, with importance weight
//! w_i = π_e(a_i | x_i, p_i) / π_b(a_i | x_i) and optional clipping threshold λ (∞ = no clipping).
//!
//! SNIPS (Swaminathan & Joachims, 2015): V̂_SNIPS = Σ_i w_i r_i / Σ_i w_i. Per round, as in Open Bandit
//! Pipeline: `w_i r_i / mean(w)`.

/// The clipped importance weight `min(w, λ)`.
#[inline]
pub fn clipped_weight(weight: f64, clip: f64) -> f64 {
    weight.min(clip)
}
