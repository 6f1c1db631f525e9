//! The lab's error type: the engine's, the simulator's and the fraud scan's errors, and those of
//! learning from simulated logs.

/// Errors of the simulator experiments.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Invalid settings (`PolicyError::Hyper`, `PolicyError::Config`) and engine errors.
    #[error(transparent)]
    Policy(#[from] discount_policy::PolicyError),
    #[error("the exploration log is empty")]
    EmptyLog,
    #[error("logged decision {index}: {reason}")]
    BadLog { index: usize, reason: String },
    #[error("the run's ladder differs from the ladder the model was learned on")]
    LadderMismatch,
    #[error(transparent)]
    Sim(#[from] discount_sim::SimError),
    #[error(transparent)]
    Fraud(#[from] discount_fraud::FraudError),
    #[error(transparent)]
    Model(#[from] discount_models::ModelError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Core(#[from] discount_core::CoreError),
}
