//! The lab's error type: the engine's, the simulator's and the fraud scan's errors, and those of
//! learning from simulated logs.

/// Errors of the simulator experiments.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("invalid hyper-parameter {name} = {value}: {rule}")]
    Hyper {
        name: &'static str,
        value: f64,
        rule: &'static str,
    },
    #[error("the ladder has no `no offer` rung, so uplift has no baseline")]
    NoBaseline,
    #[error("the exploration log is empty")]
    EmptyLog,
    #[error("logged decision {index}: {reason}")]
    BadLog { index: usize, reason: String },
    #[error("the run's ladder differs from the ladder the model was learned on")]
    LadderMismatch,
    #[error("invalid configuration {field} = {value}: {rule}")]
    Config {
        field: String,
        value: String,
        rule: &'static str,
    },
    #[error(transparent)]
    Policy(#[from] discount_policy::PolicyError),
    #[error(transparent)]
    Sim(#[from] discount_sim::SimError),
    #[error(transparent)]
    Fraud(#[from] discount_fraud::FraudError),
    #[error(transparent)]
    Core(#[from] discount_core::CoreError),
}
