//! Factorisation machine (Rendle 2010): a linear model plus pairwise interactions through low-rank factors,
//! ŷ = b + Σ wᵢ zᵢ + Σ_{i<j} ⟨vᵢ, vⱼ⟩ zᵢ zⱼ, computed in O(k·p) as ½ Σ_f [(Σ v_if zᵢ)² − Σ v_if² zᵢ²].
//! Trained with mini-batch Adam on standardised features.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::adam::{Adam, Objective, SgdConfig};
use super::matrix::{check_training, fitted, sigmoid, Matrix, Standardiser};
use super::Learner;
use crate::ModelError;

/// Hyper-parameters of [`FactorisationMachine`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FmConfig {
    /// Rank of the interaction factors.
    pub factors: usize,
    pub objective: Objective,
    pub sgd: SgdConfig,
}

impl Default for FmConfig {
    fn default() -> Self {
        FmConfig {
            factors: 8,
            objective: Objective::Logistic,
            sgd: SgdConfig {
                epochs: 15,
                batch_size: 128,
                learning_rate: 0.005,
                l2: 1e-4,
                seed: 17,
            },
        }
    }
}

/// A fitted (or not yet fitted) factorisation machine. Parameters are laid out as
/// `[bias, w_0..w_p, v_00..v_0k, v_10..]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorisationMachine {
    pub config: FmConfig,
    pub standardiser: Option<Standardiser>,
    pub params: Vec<f64>,
}

impl FactorisationMachine {
    pub fn new(config: FmConfig) -> Result<Self, ModelError> {
        config.sgd.validate()?;
        if config.factors == 0 {
            return Err(ModelError::InvalidHyper {
                name: "factors",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(FactorisationMachine {
            config,
            standardiser: None,
            params: Vec::new(),
        })
    }

    /// Raw output for a standardised row; fills `sums` with Σ v_if zᵢ for the gradient.
    fn raw(&self, z: &[f64], sums: &mut [f64]) -> f64 {
        let p = z.len();
        let k = self.config.factors;
        let (w, v) = self.params[1..].split_at(p);
        let mut out = self.params[0] + w.iter().zip(z).map(|(w, z)| w * z).sum::<f64>();
        sums.iter_mut().for_each(|s| *s = 0.0);
        let mut squares = 0.0;
        for (i, zi) in z.iter().enumerate() {
            for (f, s) in sums.iter_mut().enumerate() {
                let vz = v[i * k + f] * zi;
                *s += vz;
                squares += vz * vz;
            }
        }
        out += 0.5 * (sums.iter().map(|s| s * s).sum::<f64>() - squares);
        out
    }
}

impl Learner for FactorisationMachine {
    fn fit(&mut self, x: &Matrix, y: &[f64], weights: Option<&[f64]>) -> Result<(), ModelError> {
        let binary = self.config.objective == Objective::Logistic;
        check_training(x, y, weights, binary)?;
        let standardiser = Standardiser::fit(x);
        let z = standardiser.transform(x);
        let (p, k) = (x.cols(), self.config.factors);
        let sgd = &self.config.sgd;
        let mut rng = rand::rngs::StdRng::seed_from_u64(sgd.seed);
        let init = Normal::new(0.0, 0.01).map_err(|e| ModelError::Data(e.to_string()))?;
        let mut params = vec![0.0; 1 + p + p * k];
        for v in params[1 + p..].iter_mut() {
            *v = init.sample(&mut rng);
        }
        self.params = params;
        let mut adam = Adam::new(self.params.len(), sgd.learning_rate);
        let mut grad = vec![0.0; self.params.len()];
        let mut sums = vec![0.0; k];
        let mut order: Vec<usize> = (0..x.rows()).collect();
        let mean_weight = weights.map_or(1.0, |w| w.iter().sum::<f64>() / w.len() as f64);
        for _ in 0..sgd.epochs {
            order.shuffle(&mut rng);
            for batch in order.chunks(sgd.batch_size) {
                grad.iter_mut().for_each(|g| *g = 0.0);
                for &i in batch {
                    let zi = z.row(i);
                    let out = self.raw(zi, &mut sums);
                    let prediction = if binary { sigmoid(out) } else { out };
                    let wi = weights.map_or(1.0, |w| w[i]) / mean_weight;
                    // Both objectives have dLoss/dOutput = prediction − y.
                    let d = wi * (prediction - y[i]) / batch.len() as f64;
                    grad[0] += d;
                    let v = &self.params[1 + p..];
                    for (j, zj) in zi.iter().enumerate() {
                        grad[1 + j] += d * zj;
                        for f in 0..k {
                            let vjf = v[j * k + f];
                            grad[1 + p + j * k + f] += d * zj * (sums[f] - vjf * zj);
                        }
                    }
                }
                for (g, w) in grad[1..].iter_mut().zip(&self.params[1..]) {
                    *g += sgd.l2 * w;
                }
                adam.step(&mut self.params, &grad);
            }
        }
        if self.params.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::Data(
                "the factorisation machine diverged; lower the learning rate".into(),
            ));
        }
        self.standardiser = Some(standardiser);
        Ok(())
    }

    fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        let standardiser = fitted(self.standardiser.as_ref(), "factorisation machine")?;
        standardiser.check_width(x)?;
        if self.params.len() != 1 + x.cols() * (1 + self.config.factors) {
            return Err(ModelError::Artifact(format!(
                "factorisation machine has {} parameters, expected {} for {} features",
                self.params.len(),
                1 + x.cols() * (1 + self.config.factors),
                x.cols()
            )));
        }
        let mut z = vec![0.0; x.cols()];
        let mut sums = vec![0.0; self.config.factors];
        Ok((0..x.rows())
            .map(|i| {
                standardiser.transform_row(x.row(i), &mut z);
                let out = self.raw(&z, &mut sums);
                match self.config.objective {
                    Objective::Logistic => sigmoid(out),
                    Objective::Squared => out,
                }
            })
            .collect())
    }

    fn name(&self) -> &'static str {
        "fm"
    }
}
