//! The scoring seam: how a trained model decides. For each customer the engine asks an
//! [`OfferScorer`] to prepare the feature vector once, then asks it what each candidate offer is
//! expected to bring ([`Response`]: order probability, profit and discount spend). The engine
//! applies the rules, the budget's shadow price, exploration and the risk gate on top; a scorer
//! only predicts.
//!
//! [`crate::response::ResponseModel`] (a per-offer hurdle T-learner) is one implementation; a
//! model that implements this trait decides through [`crate::DecisionEngine::set_scorer`] without
//! the engine knowing its kind. With no scorer set, the engine's own online models score.

use std::fmt::Debug;

use crate::error::PolicyError;
pub use crate::response::Response;

/// A trained model that predicts each offer's response for one customer.
pub trait OfferScorer: Send + Sync + Debug {
    /// Id of the feature spec the input vector follows.
    fn feature_spec(&self) -> &str;

    /// The scorer's index of each of `offer_ids`; an error names the first offer it has not
    /// learned (a scorer must know every rung of the ladder it serves).
    fn index_offers(&self, offer_ids: &[&str]) -> Result<Vec<usize>, PolicyError>;

    /// Turns the profile feature vector `x` into the scorer's input, once per customer, in
    /// `prepared` (whose buffer is reused); an error names a wrong length or a non-finite value.
    fn prepare(&self, x: &[f64], prepared: &mut Vec<f64>) -> Result<(), PolicyError>;

    /// What offer `offer` (an index from [`Self::index_offers`]) is expected to bring the
    /// customer whose prepared input is `prepared`.
    fn respond(&self, offer: usize, prepared: &[f64]) -> Response;

    /// Each input's part in preferring offer `a` over offer `b` (for explanations), in the
    /// scorer's own units and in the order of the feature vector; empty when it cannot say.
    fn contributions(&self, a: usize, b: usize, prepared: &[f64]) -> Vec<(String, f64)>;
}
