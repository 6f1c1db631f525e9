//! Sequence models: a GRU over each customer's event sequence (type, category, amount and time
//! gap of every event, embedded) that predicts purchases in the next period, and the CDNOW
//! comparison of its forecasts with BG/NBD and an RFM logistic model.
//!
//! [`encode::steps_of_events`] turns live events into steps, [`SequenceModel`] learns from them,
//! and its final state is the customer's sequence embedding (a slot of the feature vector).

pub mod cdnow;
pub mod encode;
pub mod forecast;
pub mod gru;

pub use encode::{steps_of_events, CategoryVocab, Step, END_KIND, KINDS};
pub use forecast::{compare_periods, Comparison, ComparisonPeriods, FittedComparison};
pub use gru::{GruConfig, SequenceModel, SequencePrediction, StoredTensor};
