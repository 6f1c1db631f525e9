//! A multi-layer perceptron (ReLU hidden layers, one output) trained with mini-batch Adam on standardised
//! features. Written out here rather than on a tensor library: the inputs are a few dozen dense columns,
//! the fit must honour per-row weights and run deterministically in f64, and the weights must serialise
//! as plain JSON numbers in the model artifact.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::adam::{Adam, Objective, SgdConfig};
use super::matrix::{check_training, fitted, sigmoid, Matrix, Standardiser};
use super::Learner;
use crate::ModelError;

/// Hyper-parameters of [`Mlp`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Widths of the hidden layers.
    pub hidden: Vec<usize>,
    pub objective: Objective,
    pub sgd: SgdConfig,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            hidden: vec![32, 16],
            objective: Objective::Logistic,
            sgd: SgdConfig {
                epochs: 20,
                batch_size: 64,
                learning_rate: 0.001,
                l2: 1e-4,
                seed: 23,
            },
        }
    }
}

/// One dense layer: `weights` is `outputs × inputs` row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub inputs: usize,
    pub outputs: usize,
    pub weights: Vec<f64>,
    pub biases: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    pub config: MlpConfig,
    pub standardiser: Option<Standardiser>,
    pub layers: Vec<Layer>,
}

impl Mlp {
    pub fn new(config: MlpConfig) -> Result<Self, ModelError> {
        config.sgd.validate()?;
        if config.hidden.contains(&0) {
            return Err(ModelError::InvalidHyper {
                name: "hidden",
                value: format!("{:?}", config.hidden),
                reason: "every hidden layer needs at least one unit".into(),
            });
        }
        Ok(Mlp {
            config,
            standardiser: None,
            layers: Vec::new(),
        })
    }

    /// Forward pass keeping every layer's activations (`acts[0]` is the input); returns the raw output.
    fn forward(&self, z: &[f64], acts: &mut [Vec<f64>]) -> f64 {
        acts[0].copy_from_slice(z);
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let (before, after) = acts.split_at_mut(l + 1);
            let input = &before[l];
            let output = &mut after[0];
            for (o, out) in output.iter_mut().enumerate() {
                let row = &layer.weights[o * layer.inputs..(o + 1) * layer.inputs];
                let s = layer.biases[o] + row.iter().zip(input).map(|(w, x)| w * x).sum::<f64>();
                *out = if l == last { s } else { s.max(0.0) };
            }
        }
        acts[self.layers.len()][0]
    }

    fn finish(&self, out: f64) -> f64 {
        match self.config.objective {
            Objective::Logistic => sigmoid(out),
            Objective::Squared => out,
        }
    }
}

impl Learner for Mlp {
    fn fit(&mut self, x: &Matrix, y: &[f64], weights: Option<&[f64]>) -> Result<(), ModelError> {
        let binary = self.config.objective == Objective::Logistic;
        check_training(x, y, weights, binary)?;
        let standardiser = Standardiser::fit(x);
        let z = standardiser.transform(x);
        let sgd = self.config.sgd.clone();
        let mut rng = rand::rngs::StdRng::seed_from_u64(sgd.seed);
        let mut widths = vec![x.cols()];
        widths.extend(&self.config.hidden);
        widths.push(1);
        self.layers = widths
            .windows(2)
            .map(|w| {
                // He initialisation for ReLU layers.
                let sd = (2.0 / w[0] as f64).sqrt();
                let normal = Normal::new(0.0, sd).map_err(|e| ModelError::Data(e.to_string()))?;
                Ok(Layer {
                    inputs: w[0],
                    outputs: w[1],
                    weights: (0..w[0] * w[1]).map(|_| normal.sample(&mut rng)).collect(),
                    biases: vec![0.0; w[1]],
                })
            })
            .collect::<Result<_, ModelError>>()?;
        let mut adams: Vec<(Adam, Adam)> = self
            .layers
            .iter()
            .map(|l| {
                (
                    Adam::new(l.weights.len(), sgd.learning_rate),
                    Adam::new(l.biases.len(), sgd.learning_rate),
                )
            })
            .collect();
        let mut grads: Vec<(Vec<f64>, Vec<f64>)> = self
            .layers
            .iter()
            .map(|l| (vec![0.0; l.weights.len()], vec![0.0; l.biases.len()]))
            .collect();
        let mut acts: Vec<Vec<f64>> = widths.iter().map(|w| vec![0.0; *w]).collect();
        let mut deltas: Vec<Vec<f64>> = widths.iter().map(|w| vec![0.0; *w]).collect();
        let mut order: Vec<usize> = (0..x.rows()).collect();
        let mean_weight = weights.map_or(1.0, |w| w.iter().sum::<f64>() / w.len() as f64);
        let n_layers = self.layers.len();
        for _ in 0..sgd.epochs {
            order.shuffle(&mut rng);
            for batch in order.chunks(sgd.batch_size) {
                for (gw, gb) in grads.iter_mut() {
                    gw.iter_mut().for_each(|g| *g = 0.0);
                    gb.iter_mut().for_each(|g| *g = 0.0);
                }
                for &i in batch {
                    let out = self.forward(z.row(i), &mut acts);
                    let wi = weights.map_or(1.0, |w| w[i]) / mean_weight;
                    // Both objectives have dLoss/dOutput = prediction − y.
                    deltas[n_layers][0] = wi * (self.finish(out) - y[i]) / batch.len() as f64;
                    for l in (0..n_layers).rev() {
                        let layer = &self.layers[l];
                        let (gw, gb) = &mut grads[l];
                        let (lower, upper) = deltas.split_at_mut(l + 1);
                        let delta_out = &upper[0];
                        let delta_in = &mut lower[l];
                        delta_in.iter_mut().for_each(|d| *d = 0.0);
                        for (o, d) in delta_out.iter().enumerate() {
                            gb[o] += d;
                            let row = o * layer.inputs;
                            for (j, a) in acts[l].iter().enumerate() {
                                gw[row + j] += d * a;
                                delta_in[j] += d * layer.weights[row + j];
                            }
                        }
                        if l > 0 {
                            // ReLU derivative of the layer below.
                            for (d, a) in delta_in.iter_mut().zip(&acts[l]) {
                                if *a <= 0.0 {
                                    *d = 0.0;
                                }
                            }
                        }
                    }
                }
                for ((layer, (gw, gb)), (aw, ab)) in
                    self.layers.iter_mut().zip(&mut grads).zip(&mut adams)
                {
                    for (g, w) in gw.iter_mut().zip(&layer.weights) {
                        *g += sgd.l2 * w;
                    }
                    aw.step(&mut layer.weights, gw);
                    ab.step(&mut layer.biases, gb);
                }
            }
        }
        if self
            .layers
            .iter()
            .any(|l| l.weights.iter().chain(&l.biases).any(|v| !v.is_finite()))
        {
            return Err(ModelError::Data(
                "the MLP diverged; lower the learning rate".into(),
            ));
        }
        self.standardiser = Some(standardiser);
        Ok(())
    }

    fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        let standardiser = fitted(self.standardiser.as_ref(), "MLP")?;
        standardiser.check_width(x)?;
        let mut inputs = x.cols();
        for layer in &self.layers {
            if layer.inputs != inputs
                || layer.weights.len() != layer.inputs * layer.outputs
                || layer.biases.len() != layer.outputs
            {
                return Err(ModelError::Artifact("MLP layer shapes do not chain".into()));
            }
            inputs = layer.outputs;
        }
        if self.layers.is_empty() || inputs != 1 {
            return Err(ModelError::Artifact("MLP must end in one output".into()));
        }
        let mut z = vec![0.0; x.cols()];
        let mut acts: Vec<Vec<f64>> = std::iter::once(x.cols())
            .chain(self.layers.iter().map(|l| l.outputs))
            .map(|w| vec![0.0; w])
            .collect();
        Ok((0..x.rows())
            .map(|i| {
                standardiser.transform_row(x.row(i), &mut z);
                let out = self.forward(&z, &mut acts);
                self.finish(out)
            })
            .collect())
    }

    fn name(&self) -> &'static str {
        "mlp"
    }
}
