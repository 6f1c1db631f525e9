//! Purchase propensity and response to offers: P(buy | customer, context, offer).
//!
//! Four binary models share the [`Learner`] trait — [`LogisticRegression`] (L2, interactions, Newton/IRLS),
//! [`FactorisationMachine`] and [`Mlp`] (both mini-batch Adam), and [`GradientBoostedTrees`] (histogram
//! splits, log-loss, optionally increasing in one feature) — and [`RidgeRegression`] and squared-loss
//! [`GradientBoostedTrees`] are the regression bases for revenue and effects. [`MonotoneInDepth`] makes any
//! of them non-decreasing in discount depth (a customer does not buy less at a lower price). [`cv`] runs
//! seeded k-fold cross-validation with calibration; [`folds`] reads and writes fold and split files;
//! [`shoppers`] reads the UCI online shoppers sessions and [`synthetic`] generates offer responses with a
//! known truth. [`federated`] fits the logistic model by federated averaging across sites that keep their rows.

mod adam;
pub mod bench;
pub mod cv;
pub mod federated;
mod fm;
pub mod folds;
mod gbdt;
mod linalg;
mod linear;
mod matrix;
pub mod metrics;
mod mlp;
mod monotone;
pub mod shoppers;
pub mod synthetic;

pub use adam::{Objective, SgdConfig};
pub use fm::{FactorisationMachine, FmConfig};
pub use gbdt::{GbdtConfig, GbdtObjective, GradientBoostedTrees, Tree, TreeNode};
pub use linear::{Interactions, LogisticConfig, LogisticRegression, RidgeConfig, RidgeRegression};
pub use matrix::{Matrix, Standardiser};
pub use mlp::{Layer, Mlp, MlpConfig};
pub use monotone::{MonotoneInDepth, MonotoneModel};

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// A model that learns y from x with optional per-row weights: the base learner of the uplift
/// meta-learners. Binary models predict probabilities; regressions predict the outcome's mean.
pub trait Learner {
    fn fit(&mut self, x: &Matrix, y: &[f64], weights: Option<&[f64]>) -> Result<(), ModelError>;
    fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ModelError>;
    /// Short name for tables and artifacts.
    fn name(&self) -> &'static str;
}

/// Any fitted base model, as stored in an artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Model {
    Logistic(LogisticRegression),
    Fm(FactorisationMachine),
    Mlp(Mlp),
    Ridge(RidgeRegression),
    Gbdt(GradientBoostedTrees),
}

impl Learner for Model {
    fn fit(&mut self, x: &Matrix, y: &[f64], weights: Option<&[f64]>) -> Result<(), ModelError> {
        match self {
            Model::Logistic(m) => m.fit(x, y, weights),
            Model::Fm(m) => m.fit(x, y, weights),
            Model::Mlp(m) => m.fit(x, y, weights),
            Model::Ridge(m) => m.fit(x, y, weights),
            Model::Gbdt(m) => m.fit(x, y, weights),
        }
    }

    fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        match self {
            Model::Logistic(m) => m.predict(x),
            Model::Fm(m) => m.predict(x),
            Model::Mlp(m) => m.predict(x),
            Model::Ridge(m) => m.predict(x),
            Model::Gbdt(m) => m.predict(x),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Model::Logistic(m) => m.name(),
            Model::Fm(m) => m.name(),
            Model::Mlp(m) => m.name(),
            Model::Ridge(m) => m.name(),
            Model::Gbdt(m) => m.name(),
        }
    }
}

/// The binary propensity models by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Logistic,
    Fm,
    Mlp,
    Gbdt,
}

impl ModelKind {
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Logistic,
        ModelKind::Fm,
        ModelKind::Mlp,
        ModelKind::Gbdt,
    ];

    /// An unfitted model with the default hyper-parameters.
    pub fn build(self) -> Result<Model, ModelError> {
        Ok(match self {
            ModelKind::Logistic => {
                Model::Logistic(LogisticRegression::new(LogisticConfig::default())?)
            }
            ModelKind::Fm => Model::Fm(FactorisationMachine::new(FmConfig::default())?),
            ModelKind::Mlp => Model::Mlp(Mlp::new(MlpConfig::default())?),
            ModelKind::Gbdt => Model::Gbdt(GradientBoostedTrees::new(GbdtConfig::default())?),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Logistic => "logistic",
            ModelKind::Fm => "fm",
            ModelKind::Mlp => "mlp",
            ModelKind::Gbdt => "gbdt",
        }
    }
}
