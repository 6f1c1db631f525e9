//! Replay method (Li et al., 2011): keep the rounds where a deterministic evaluation policy would have chosen
//! the logged action, and average their rewards.
//!
//! V̂_RM = Σ_i 1{π_e(a_i | x_i, p_i) = 1} r_i / Σ_i 1{π_e(a_i | x_i, p_i) = 1}
//!
//! As in Open Bandit Pipeline (`ReplayMethod`), the per-round value is `match_i * r_i / mean(match)`, and the
//! estimate is 0 when no round matches.

/// 1 when the evaluation policy picks the logged action with certainty at the logged position, else 0.
#[inline]
pub fn match_indicator(target_prob: f64) -> f64 {
    if target_prob == 1.0 {
        1.0
    } else {
        0.0
    }
}
