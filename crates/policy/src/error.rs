//! The decision engine's error type.

/// Errors of configuring the engine, deciding, learning online and planning.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("invalid hyper-parameter {name} = {value}: {rule}")]
    Hyper {
        name: &'static str,
        value: f64,
        rule: &'static str,
    },
    #[error("the ladder has no `no offer` rung, so uplift has no baseline")]
    NoBaseline,
    #[error("invalid configuration {field} = {value}: {rule}")]
    Config {
        field: String,
        value: String,
        rule: &'static str,
    },
    #[error("engine `{engine}`: model feature `{feature}` is neither `bias`, a profile feature, nor `log1p(<profile feature>)`; profile features: {known}")]
    UnknownFeature {
        engine: String,
        feature: String,
        known: String,
    },
    #[error("building the customer's features: {0}")]
    Features(String),
    #[error("unknown offer id `{0}`: it is not in the ladder")]
    UnknownOffer(String),
    #[error("unknown campaign `{0}`: no budget is configured for it")]
    UnknownCampaign(String),
    #[error("feature vector has {got} values, the engine's model expects {expected}")]
    FeatureLength { expected: usize, got: usize },
    #[error("feature {index} is not finite ({value})")]
    BadFeature { index: usize, value: f64 },
    #[error("allocation: {0}")]
    Knapsack(String),
}
