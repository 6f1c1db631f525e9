//! Uplift with several treatments and costs: which offer changes a customer's behaviour, and by how much.
//!
//! - [`learners`]: S-, T-, X- and DR-learners over any base [`crate::propensity::Learner`].
//! - [`value`]: the value of an offer (margin change minus cost), targeting policies and their IPS value.
//! - [`hillstrom`]: the MineThatData e-mail experiment.
//! - [`evaluation`]: a seeded held-out split, Qini/AUUC/uplift@k per learner and arm, and targeting values.

pub mod evaluation;
pub mod hillstrom;
pub mod learners;
pub mod value;

pub use learners::{MetaLearner, UpliftModel};
pub use value::{best_offer_to_top, ips_value, offer_value_minor, OfferCost};
