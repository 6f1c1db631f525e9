//! Models of customer behaviour: purchase propensity and response to offers, uplift, collaborative
//! filtering embeddings, sequence models and lifetime value, with calibration and versioned
//! artifacts.
//!
//! - [`ltv`]: BG/NBD and Gamma-Gamma lifetime value.
//! - [`cf`]: biased matrix factorisation, SVD++, implicit ALS and BPR.
//! - [`propensity`]: logistic regression, factorisation machine, MLP; monotone in discount depth.
//! - [`calibration`]: Platt and isotonic calibration.
//! - [`response`]: the engine's response model fitted from the shop's joined decision log.
//! - [`explain`]: permutation importance of the response model on its validation window.
//! - [`retrain_gate`]: the off-policy gate a retrained response model must pass to replace the active one.
//! - [`uplift`]: S-, T-, X- and DR-learners over several treatments with costs.
//! - [`sequence`]: a GRU over event sequences, compared with BG/NBD and RFM on CDNOW.
//! - [`artifact`]: versioned model artifacts with their feature spec and metrics.

pub mod artifact;
pub mod calibration;
pub mod cf;
pub mod error;
pub mod explain;
pub mod ltv;
pub mod propensity;
pub mod quantize;
pub mod response;
pub mod retrain_gate;
pub mod sequence;
pub mod uplift;

pub use error::ModelError;
