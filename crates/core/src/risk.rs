//! The contract between the fraud scores and the offer gate: the policy asks a [`RiskScores`]
//! source for a customer's risk before it gives a discount, and records the answer with the
//! decision. The fraud crate fills it with rules and learned scores; a policy without one treats
//! every customer as unscored.

use serde::{Deserialize, Serialize};

/// What the fraud side knows about one customer at decision time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskAssessment {
    /// Calibrated probability in [0, 1] that the customer abuses discounts.
    pub score: f64,
    /// Names of the rules or features that raised the score, most important first.
    pub reasons: Vec<String>,
}

/// A source of precomputed risk scores; lookups must be cheap (they sit inside every decision).
pub trait RiskScores: Send + Sync {
    /// The customer's assessment, or `None` when the customer has never been scored.
    fn assess(&self, customer_id: &str) -> Option<RiskAssessment>;
}
