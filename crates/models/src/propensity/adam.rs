//! Adam updates and the mini-batch settings shared by the factorisation machine and the MLP.

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// What the network's raw output is trained against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Binary outcome; the output passes through a sigmoid and the loss is the log-loss.
    Logistic,
    /// Continuous outcome (revenue); identity output and squared error.
    Squared,
}

/// Mini-batch Adam settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// L2 penalty per example on the weights (weight decay).
    pub l2: f64,
    pub seed: u64,
}

impl SgdConfig {
    pub(crate) fn validate(&self) -> Result<(), ModelError> {
        let bad = |name: &'static str, value: String, reason: &str| {
            Err(ModelError::InvalidHyper {
                name,
                value,
                reason: reason.into(),
            })
        };
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "0".into(), "must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                self.learning_rate.to_string(),
                "must be finite and positive",
            );
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2", self.l2.to_string(), "must be finite and non-negative");
        }
        Ok(())
    }
}

/// Adam state for one flat parameter vector.
#[derive(Debug, Clone)]
pub(crate) struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
    lr: f64,
}

impl Adam {
    pub(crate) fn new(size: usize, lr: f64) -> Self {
        Adam {
            m: vec![0.0; size],
            v: vec![0.0; size],
            t: 0,
            lr,
        }
    }

    /// One step of `params -= lr · m̂ / (√v̂ + ε)` from the gradient `grad`.
    pub(crate) fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        self.t += 1;
        let c1 = 1.0 - B1.powi(self.t);
        let c2 = 1.0 - B2.powi(self.t);
        for (((p, g), m), v) in params
            .iter_mut()
            .zip(grad)
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            *m = B1 * *m + (1.0 - B1) * g;
            *v = B2 * *v + (1.0 - B2) * g * g;
            *p -= self.lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
        }
    }
}
