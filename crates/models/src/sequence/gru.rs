//! A GRU over event sequences with two heads: the probability of buying in the next period and
//! the weekly purchase rate. Trained with Adam on the sum of the binary cross-entropy and the
//! Poisson negative log-likelihood; every random draw comes from the configured seed.
//!
//! A trained model serialises as plain JSON: its configuration and each weight matrix as a name,
//! a shape and its `f32` values ([`StoredTensor`]); loading checks every shape against the
//! configuration and rebuilds the tensors, so a reloaded model predicts exactly what it did.

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::encode::{Step, KINDS};
use crate::ModelError;

/// Hyper-parameters of [`SequenceModel`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GruConfig {
    /// Size of the event-type and category embeddings.
    pub embed_dim: usize,
    /// Size of the GRU state (also the length of the customer embedding).
    pub hidden_dim: usize,
    /// Only the last `max_len` steps of a sequence are read.
    pub max_len: usize,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Weight of the Poisson count loss next to the buy/no-buy loss.
    pub count_weight: f64,
    pub seed: u64,
}

impl Default for GruConfig {
    fn default() -> Self {
        Self {
            embed_dim: 4,
            hidden_dim: 16,
            max_len: 32,
            epochs: 12,
            batch_size: 64,
            learning_rate: 0.01,
            count_weight: 1.0,
            seed: 7,
        }
    }
}

impl GruConfig {
    pub fn validate(&self) -> Result<(), ModelError> {
        let positive = [
            ("embed_dim", self.embed_dim),
            ("hidden_dim", self.hidden_dim),
            ("max_len", self.max_len),
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(ModelError::InvalidHyper {
                    name,
                    value: "0".into(),
                    reason: "must be at least 1".into(),
                });
            }
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(ModelError::InvalidHyper {
                name: "learning_rate",
                value: self.learning_rate.to_string(),
                reason: "must be finite and positive".into(),
            });
        }
        if !(self.count_weight.is_finite() && self.count_weight >= 0.0) {
            return Err(ModelError::InvalidHyper {
                name: "count_weight",
                value: self.count_weight.to_string(),
                reason: "must be finite and >= 0".into(),
            });
        }
        Ok(())
    }
}

/// What the model says of one customer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SequencePrediction {
    /// Probability of at least one purchase in a period as long as the training target period.
    pub p_buy: f64,
    /// Expected purchases per week.
    pub weekly_rate: f64,
    /// The final GRU state: the customer's sequence embedding.
    pub embedding: Vec<f32>,
}

fn tensor_error(e: candle_core::Error) -> ModelError {
    ModelError::Data(format!("sequence model tensor computation: {e}"))
}

/// The learned weights, PyTorch's GRU layout (gates r, z, n).
struct Weights {
    kind_embedding: Var,
    category_embedding: Var,
    w_input: Var,
    b_input: Var,
    w_hidden: Var,
    b_hidden: Var,
    w_buy: Var,
    b_buy: Var,
    w_rate: Var,
    b_rate: Var,
}

/// Names of the weight matrices, in the order of [`Weights::all`].
const WEIGHT_NAMES: [&str; 10] = [
    "kind_embedding",
    "category_embedding",
    "w_input",
    "b_input",
    "w_hidden",
    "b_hidden",
    "w_buy",
    "b_buy",
    "w_rate",
    "b_rate",
];

/// One weight matrix as plain numbers (row-major), as stored in a model artifact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Numeric inputs per step: scaled logs of the amount, the gap and the age.
const NUMERIC: usize = 3;

impl Weights {
    /// Random weights from the seed; the heads' biases start at the base rates (`buy_logit`,
    /// `log_weekly_rate`) so that training starts from the no-information forecast.
    fn init(
        config: &GruConfig,
        categories: usize,
        buy_logit: f32,
        log_weekly_rate: f32,
        rng: &mut StdRng,
    ) -> candle_core::Result<Self> {
        let device = Device::Cpu;
        let h = config.hidden_dim;
        let input = 2 * config.embed_dim + NUMERIC;
        let bound = 1.0 / (h as f32).sqrt();
        let mut uniform = |rows: usize, cols: usize, bound: f32| {
            let data: Vec<f32> = (0..rows * cols)
                .map(|_| rng.gen_range(-bound..=bound))
                .collect();
            Var::from_vec(data, (rows, cols), &device)
        };
        Ok(Self {
            kind_embedding: uniform(KINDS, config.embed_dim, 0.5)?,
            category_embedding: uniform(categories, config.embed_dim, 0.5)?,
            w_input: uniform(input, 3 * h, bound)?,
            b_input: uniform(1, 3 * h, bound)?,
            w_hidden: uniform(h, 3 * h, bound)?,
            b_hidden: uniform(1, 3 * h, bound)?,
            w_buy: uniform(h, 1, bound)?,
            b_buy: Var::from_vec(vec![buy_logit], (1, 1), &device)?,
            w_rate: uniform(h, 1, bound)?,
            b_rate: Var::from_vec(vec![log_weekly_rate], (1, 1), &device)?,
        })
    }

    /// Shapes the configuration implies, in the order of [`WEIGHT_NAMES`].
    fn shapes(config: &GruConfig, categories: usize) -> [(usize, usize); 10] {
        let (e, h) = (config.embed_dim, config.hidden_dim);
        [
            (KINDS, e),
            (categories, e),
            (2 * e + NUMERIC, 3 * h),
            (1, 3 * h),
            (h, 3 * h),
            (1, 3 * h),
            (h, 1),
            (1, 1),
            (h, 1),
            (1, 1),
        ]
    }

    fn export(&self) -> candle_core::Result<Vec<StoredTensor>> {
        self.all()
            .iter()
            .zip(WEIGHT_NAMES)
            .map(|(var, name)| {
                Ok(StoredTensor {
                    name: name.to_string(),
                    shape: var.dims().to_vec(),
                    values: var.as_tensor().flatten_all()?.to_vec1::<f32>()?,
                })
            })
            .collect()
    }

    /// Rebuilds the weights from stored matrices, checking names, shapes and values.
    fn import(
        stored: &[StoredTensor],
        config: &GruConfig,
        categories: usize,
    ) -> Result<Self, ModelError> {
        let shapes = Self::shapes(config, categories);
        if stored.len() != WEIGHT_NAMES.len() {
            return Err(ModelError::Artifact(format!(
                "the sequence model stores {} weight matrices; expected {} ({})",
                stored.len(),
                WEIGHT_NAMES.len(),
                WEIGHT_NAMES.join(", ")
            )));
        }
        let mut vars = Vec::with_capacity(stored.len());
        for ((tensor, name), (rows, cols)) in stored.iter().zip(WEIGHT_NAMES).zip(shapes) {
            if tensor.name != name {
                return Err(ModelError::Artifact(format!(
                    "sequence model weight {:?} found where {name:?} belongs",
                    tensor.name
                )));
            }
            if tensor.shape != [rows, cols] || tensor.values.len() != rows * cols {
                return Err(ModelError::Artifact(format!(
                    "sequence model weight {name} has shape {:?} and {} values; the configuration needs [{rows}, {cols}]",
                    tensor.shape,
                    tensor.values.len()
                )));
            }
            if let Some(v) = tensor.values.iter().find(|v| !v.is_finite()) {
                return Err(ModelError::Artifact(format!(
                    "sequence model weight {name} holds the non-finite value {v}"
                )));
            }
            vars.push(
                Var::from_vec(tensor.values.clone(), (rows, cols), &Device::Cpu)
                    .map_err(tensor_error)?,
            );
        }
        let mut vars = vars.into_iter();
        let mut next = || {
            vars.next()
                .ok_or_else(|| ModelError::Artifact("sequence model weights ran short".into()))
        };
        Ok(Self {
            kind_embedding: next()?,
            category_embedding: next()?,
            w_input: next()?,
            b_input: next()?,
            w_hidden: next()?,
            b_hidden: next()?,
            w_buy: next()?,
            b_buy: next()?,
            w_rate: next()?,
            b_rate: next()?,
        })
    }

    fn all(&self) -> Vec<Var> {
        [
            &self.kind_embedding,
            &self.category_embedding,
            &self.w_input,
            &self.b_input,
            &self.w_hidden,
            &self.b_hidden,
            &self.w_buy,
            &self.b_buy,
            &self.w_rate,
            &self.b_rate,
        ]
        .into_iter()
        .cloned()
        .collect()
    }
}

/// A batch of sequences, left-padded to a common length with a mask of real steps.
struct Batch {
    kinds: Tensor,
    categories: Tensor,
    numeric: Tensor,
    mask: Tensor,
    rows: usize,
    len: usize,
}

impl Batch {
    fn of(sequences: &[&[Step]], max_len: usize, categories: usize) -> candle_core::Result<Self> {
        let device = Device::Cpu;
        let len = sequences
            .iter()
            .map(|s| s.len().min(max_len))
            .max()
            .unwrap_or(1)
            .max(1);
        let rows = sequences.len();
        let mut kinds = vec![0u32; rows * len];
        let mut cats = vec![0u32; rows * len];
        let mut numeric = vec![0f32; rows * len * NUMERIC];
        let mut mask = vec![0f32; rows * len];
        for (r, seq) in sequences.iter().enumerate() {
            let tail = &seq[seq.len().saturating_sub(len)..];
            let pad = len - tail.len();
            for (j, step) in tail.iter().enumerate() {
                let at = r * len + pad + j;
                kinds[at] = step.kind.min(KINDS as u32 - 1);
                // Categories beyond the trained vocabulary read as "unknown".
                cats[at] = if (step.category as usize) < categories {
                    step.category
                } else {
                    0
                };
                numeric[at * NUMERIC] = step.amount.max(0.0).ln_1p() / 5.0;
                numeric[at * NUMERIC + 1] = step.gap_days.max(0.0).ln_1p() / 6.0;
                numeric[at * NUMERIC + 2] = step.age_days.max(0.0).ln_1p() / 6.0;
                mask[at] = 1.0;
            }
        }
        Ok(Self {
            kinds: Tensor::from_vec(kinds, rows * len, &device)?,
            categories: Tensor::from_vec(cats, rows * len, &device)?,
            numeric: Tensor::from_vec(numeric, (rows * len, NUMERIC), &device)?,
            mask: Tensor::from_vec(mask, (rows, len), &device)?,
            rows,
            len,
        })
    }
}

/// A trained sequence model.
pub struct SequenceModel {
    pub config: GruConfig,
    categories: usize,
    /// Length in weeks of the period the model was trained to predict.
    pub target_weeks: f64,
    /// Loss on the whole training set before training, then the mean batch loss of each epoch.
    pub loss_history: Vec<f64>,
    weights: Weights,
}

/// The stored form of a [`SequenceModel`].
#[derive(Serialize, Deserialize)]
struct StoredSequenceModel {
    config: GruConfig,
    categories: usize,
    target_weeks: f64,
    loss_history: Vec<f64>,
    weights: Vec<StoredTensor>,
}

impl Serialize for SequenceModel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let weights = self
            .weights
            .export()
            .map_err(|e| serde::ser::Error::custom(tensor_error(e)))?;
        StoredSequenceModel {
            config: self.config.clone(),
            categories: self.categories,
            target_weeks: self.target_weeks,
            loss_history: self.loss_history.clone(),
            weights,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SequenceModel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = StoredSequenceModel::deserialize(deserializer)?;
        Self::from_stored(stored).map_err(serde::de::Error::custom)
    }
}

impl SequenceModel {
    fn from_stored(stored: StoredSequenceModel) -> Result<Self, ModelError> {
        stored.config.validate()?;
        if stored.categories == 0 {
            return Err(ModelError::Artifact(
                "the sequence model's category vocabulary is empty".into(),
            ));
        }
        if !(stored.target_weeks.is_finite() && stored.target_weeks > 0.0) {
            return Err(ModelError::Artifact(format!(
                "the sequence model's target_weeks is {}; must be finite and positive",
                stored.target_weeks
            )));
        }
        let weights = Weights::import(&stored.weights, &stored.config, stored.categories)?;
        Ok(Self {
            config: stored.config,
            categories: stored.categories,
            target_weeks: stored.target_weeks,
            loss_history: stored.loss_history,
            weights,
        })
    }

    /// The weight matrices as plain numbers, in the order of the stored form.
    pub fn stored_weights(&self) -> Result<Vec<StoredTensor>, ModelError> {
        self.weights.export().map_err(tensor_error)
    }

    /// Size of the category vocabulary the model was trained with.
    pub fn categories(&self) -> usize {
        self.categories
    }

    /// Trains on `sequences` with `targets` = purchases in the `target_weeks` after each cut-off.
    /// `categories` is the size of the category vocabulary.
    pub fn fit(
        sequences: &[Vec<Step>],
        targets: &[f64],
        target_weeks: f64,
        categories: usize,
        config: GruConfig,
    ) -> Result<Self, ModelError> {
        config.validate()?;
        if !(target_weeks.is_finite() && target_weeks > 0.0) {
            return Err(ModelError::InvalidHyper {
                name: "target_weeks",
                value: target_weeks.to_string(),
                reason: "must be finite and positive".into(),
            });
        }
        if sequences.is_empty() || sequences.len() != targets.len() {
            return Err(ModelError::Data(format!(
                "the sequence model needs one target per sequence and at least one sequence; got {} sequences and {} targets",
                sequences.len(),
                targets.len()
            )));
        }
        if let Some((i, t)) = targets
            .iter()
            .enumerate()
            .find(|(_, t)| !(t.is_finite() && **t >= 0.0))
        {
            return Err(ModelError::Data(format!(
                "target {i} is {t}; purchase counts must be finite and >= 0"
            )));
        }
        let mut rng = StdRng::seed_from_u64(config.seed);
        let n = targets.len() as f64;
        let buy_rate =
            (targets.iter().filter(|t| **t > 0.0).count() as f64 / n).clamp(1e-3, 1.0 - 1e-3);
        let weekly_rate = (targets.iter().sum::<f64>() / n / target_weeks).max(1e-6);
        let weights = Weights::init(
            &config,
            categories.max(1),
            (buy_rate / (1.0 - buy_rate)).ln() as f32,
            weekly_rate.ln() as f32,
            &mut rng,
        )
        .map_err(tensor_error)?;
        let mut model = Self {
            config,
            categories: categories.max(1),
            target_weeks,
            loss_history: Vec::new(),
            weights,
        };
        model
            .train(sequences, targets, &mut rng)
            .map_err(tensor_error)?;
        Ok(model)
    }

    fn train(
        &mut self,
        sequences: &[Vec<Step>],
        targets: &[f64],
        rng: &mut StdRng,
    ) -> candle_core::Result<()> {
        let mut optimiser = AdamW::new(
            self.weights.all(),
            ParamsAdamW {
                lr: self.config.learning_rate,
                weight_decay: 0.0,
                ..ParamsAdamW::default()
            },
        )?;
        let all: Vec<usize> = (0..sequences.len()).collect();
        let initial = self.mean_loss(sequences, targets, &all)?;
        self.loss_history.push(initial);
        let mut order = all;
        for _ in 0..self.config.epochs {
            order.shuffle(rng);
            let (mut total, mut rows) = (0.0, 0usize);
            for chunk in order.chunks(self.config.batch_size) {
                let loss = self.batch_loss(sequences, targets, chunk)?;
                optimiser.backward_step(&loss)?;
                total += f64::from(loss.to_scalar::<f32>()?) * chunk.len() as f64;
                rows += chunk.len();
            }
            self.loss_history.push(total / rows as f64);
        }
        Ok(())
    }

    fn mean_loss(
        &self,
        sequences: &[Vec<Step>],
        targets: &[f64],
        rows: &[usize],
    ) -> candle_core::Result<f64> {
        let mut total = 0.0;
        for chunk in rows.chunks(self.config.batch_size.max(256)) {
            let loss = self.batch_loss(sequences, targets, chunk)?;
            total += f64::from(loss.to_scalar::<f32>()?) * chunk.len() as f64;
        }
        Ok(total / rows.len().max(1) as f64)
    }

    fn batch_loss(
        &self,
        sequences: &[Vec<Step>],
        targets: &[f64],
        rows: &[usize],
    ) -> candle_core::Result<Tensor> {
        let seqs: Vec<&[Step]> = rows.iter().map(|&i| sequences[i].as_slice()).collect();
        let batch = Batch::of(&seqs, self.config.max_len, self.categories)?;
        let (logit, log_rate, _) = self.forward(&batch)?;
        let counts: Vec<f32> = rows.iter().map(|&i| targets[i] as f32).collect();
        let bought: Vec<f32> = counts
            .iter()
            .map(|&c| if c > 0.0 { 1.0 } else { 0.0 })
            .collect();
        let y = Tensor::from_vec(bought, (rows.len(), 1), &Device::Cpu)?;
        let n = Tensor::from_vec(counts, (rows.len(), 1), &Device::Cpu)?;
        // Stable binary cross-entropy on logits: max(z, 0) - y z + ln(1 + e^-|z|).
        let bce = (logit.relu()? - (&y * &logit)?)?
            .add(&logit.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?)?
            .mean_all()?;
        // Poisson NLL of the count over the target period: mu - n ln mu, mu = rate * weeks.
        let log_mu = log_rate.affine(1.0, self.target_weeks.ln())?;
        let poisson = (log_mu.exp()? - (&n * &log_mu)?)?.mean_all()?;
        bce + poisson.affine(self.config.count_weight, 0.0)?
    }

    /// Logits of buying, log weekly rates, and final states; shapes (rows, 1), (rows, 1),
    /// (rows, hidden).
    fn forward(&self, batch: &Batch) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let w = &self.weights;
        let h_dim = self.config.hidden_dim;
        let kind = w.kind_embedding.index_select(&batch.kinds, 0)?;
        let category = w.category_embedding.index_select(&batch.categories, 0)?;
        let x = Tensor::cat(&[&kind, &category, &batch.numeric], 1)?;
        // Input projections of every step at once: (rows, len, 3h).
        let gates_in = x
            .matmul(w.w_input.as_tensor())?
            .broadcast_add(w.b_input.as_tensor())?
            .reshape((batch.rows, batch.len, 3 * h_dim))?;
        let mut h = Tensor::zeros((batch.rows, h_dim), DType::F32, &Device::Cpu)?;
        for t in 0..batch.len {
            let gi = gates_in.narrow(1, t, 1)?.squeeze(1)?;
            let gh = h
                .matmul(w.w_hidden.as_tensor())?
                .broadcast_add(w.b_hidden.as_tensor())?;
            let r = candle_nn::ops::sigmoid(&(gi.narrow(1, 0, h_dim)? + gh.narrow(1, 0, h_dim)?)?)?;
            let z = candle_nn::ops::sigmoid(
                &(gi.narrow(1, h_dim, h_dim)? + gh.narrow(1, h_dim, h_dim)?)?,
            )?;
            let n = (gi.narrow(1, 2 * h_dim, h_dim)? + (&r * gh.narrow(1, 2 * h_dim, h_dim)?)?)?
                .tanh()?;
            let next = ((z.affine(-1.0, 1.0)? * n)? + (&z * &h)?)?;
            // Padding steps (mask 0) leave the state as it was.
            let m = batch.mask.narrow(1, t, 1)?;
            h = (next.broadcast_mul(&m)? + h.broadcast_mul(&m.affine(-1.0, 1.0)?)?)?;
        }
        let logit = h
            .matmul(w.w_buy.as_tensor())?
            .broadcast_add(w.b_buy.as_tensor())?;
        let log_rate = h
            .matmul(w.w_rate.as_tensor())?
            .broadcast_add(w.b_rate.as_tensor())?;
        Ok((logit, log_rate, h))
    }

    /// Predictions for each sequence, in order.
    pub fn predict(&self, sequences: &[Vec<Step>]) -> Result<Vec<SequencePrediction>, ModelError> {
        self.predict_inner(sequences).map_err(tensor_error)
    }

    fn predict_inner(
        &self,
        sequences: &[Vec<Step>],
    ) -> candle_core::Result<Vec<SequencePrediction>> {
        let mut out = Vec::with_capacity(sequences.len());
        for chunk in sequences.chunks(512) {
            let seqs: Vec<&[Step]> = chunk.iter().map(Vec::as_slice).collect();
            let batch = Batch::of(&seqs, self.config.max_len, self.categories)?;
            let (logit, log_rate, h) = self.forward(&batch)?;
            let p = candle_nn::ops::sigmoid(&logit)?
                .squeeze(D::Minus1)?
                .to_vec1::<f32>()?;
            let rate = log_rate.exp()?.squeeze(D::Minus1)?.to_vec1::<f32>()?;
            let states = h.to_vec2::<f32>()?;
            for ((p, rate), embedding) in p.into_iter().zip(rate).zip(states) {
                out.push(SequencePrediction {
                    p_buy: f64::from(p),
                    weekly_rate: f64::from(rate),
                    embedding,
                });
            }
        }
        Ok(out)
    }
}
