//! int8 scorers: the MLP propensity model and the GRU sequence model with their weight matrices
//! stored as 8-bit integers, for smaller artifacts and faster scoring on the CPU.
//!
//! Weights are quantised symmetrically per output row (scale = max |w| / 127), activations per
//! vector at run time (dynamic quantisation); products accumulate in i32 and are scaled back to
//! f32 once per output. Biases, embeddings (looked up, not multiplied) and the gates'
//! non-linearities stay in f32. This is the scheme of PyTorch's dynamic quantisation of Linear
//! and GRU layers; written here because the workspace's tensor library has no int8 kernels.

use serde::{Deserialize, Serialize};

use crate::propensity::{Matrix, Mlp, Standardiser};
use crate::sequence::{SequenceModel, Step, StoredTensor, KINDS};
use crate::ModelError;

/// A matrix of `rows` outputs × `cols` inputs as i8 with one scale per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantizedMatrix {
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<i8>,
    pub scales: Vec<f32>,
}

impl QuantizedMatrix {
    /// Quantises a row-major `rows × cols` matrix.
    pub fn quantize(rows: usize, cols: usize, data: &[f32]) -> Result<Self, ModelError> {
        if data.len() != rows * cols {
            return Err(ModelError::Data(format!(
                "a {rows}×{cols} matrix needs {} values, got {}",
                rows * cols,
                data.len()
            )));
        }
        if let Some(v) = data.iter().find(|v| !v.is_finite()) {
            return Err(ModelError::Data(format!(
                "cannot quantise the non-finite weight {v}"
            )));
        }
        let mut values = Vec::with_capacity(data.len());
        let mut scales = Vec::with_capacity(rows);
        for row in data.chunks(cols.max(1)).take(rows) {
            let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            scales.push(scale);
            values.extend(
                row.iter()
                    .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8),
            );
        }
        Ok(Self {
            rows,
            cols,
            values,
            scales,
        })
    }

    /// `out[r] = Σ_c w[r][c] x[c]` for an input quantised by [`quantize_vector`].
    pub fn matvec(&self, x: &[i8], x_scale: f32, out: &mut [f32]) {
        for ((o, row), scale) in out
            .iter_mut()
            .zip(self.values.chunks(self.cols.max(1)))
            .zip(&self.scales)
        {
            *o = dot_i8(row, x) as f32 * scale * x_scale;
        }
    }

    /// Bytes the weights take (values and scales).
    pub fn bytes(&self) -> usize {
        self.values.len() + 4 * self.scales.len()
    }
}

/// The i32 dot product of two i8 vectors, in lanes of 16 with i16 products (each fits: 127² <
/// 2¹⁵) summed into i32, the shape the compiler turns into widening multiply-adds.
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut lanes = [0i32; 16];
    let (chunks_a, chunks_b) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: i32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(&x, &y)| i32::from(i16::from(x) * i16::from(y)))
        .sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for k in 0..16 {
            lanes[k] += i32::from(i16::from(x[k]) * i16::from(y[k]));
        }
    }
    lanes.iter().sum::<i32>() + tail
}

/// Quantises `x` into `out` symmetrically; returns its scale.
pub fn quantize_vector(x: &[f32], out: &mut [i8]) -> f32 {
    let max = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    let inverse = 1.0 / scale;
    for (o, v) in out.iter_mut().zip(x) {
        *o = (v * inverse).round().clamp(-127.0, 127.0) as i8;
    }
    scale
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// One dense layer in int8.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct QuantizedLayer {
    weights: QuantizedMatrix,
    biases: Vec<f32>,
}

/// An [`Mlp`] with int8 weights; predicts what the MLP predicts, up to quantisation error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantizedMlp {
    standardiser: Standardiser,
    layers: Vec<QuantizedLayer>,
    logistic: bool,
}

impl QuantizedMlp {
    pub fn from_mlp(mlp: &Mlp) -> Result<Self, ModelError> {
        let standardiser = mlp
            .standardiser
            .clone()
            .ok_or_else(|| ModelError::Data("the MLP is not fitted".into()))?;
        let layers = mlp
            .layers
            .iter()
            .map(|l| {
                let w: Vec<f32> = l.weights.iter().map(|&v| v as f32).collect();
                Ok(QuantizedLayer {
                    weights: QuantizedMatrix::quantize(l.outputs, l.inputs, &w)?,
                    biases: l.biases.iter().map(|&b| b as f32).collect(),
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(Self {
            standardiser,
            layers,
            logistic: mlp.config.objective == crate::propensity::Objective::Logistic,
        })
    }

    /// Bytes of the weights (int8 values, f32 scales and biases).
    pub fn weight_bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weights.bytes() + 4 * l.biases.len())
            .sum()
    }

    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        let d = self.standardiser.means.len();
        if x.cols() != d {
            return Err(ModelError::Data(format!(
                "the quantised MLP reads {d} columns, got {}",
                x.cols()
            )));
        }
        let widest = self
            .layers
            .iter()
            .map(|l| l.weights.rows.max(l.weights.cols))
            .max()
            .unwrap_or(d)
            .max(d);
        let mut z = vec![0.0f64; d];
        let mut act = vec![0.0f32; widest];
        let mut next = vec![0.0f32; widest];
        let mut q = vec![0i8; widest];
        let last = self.layers.len().saturating_sub(1);
        let mut out = Vec::with_capacity(x.rows());
        for i in 0..x.rows() {
            self.standardiser.transform_row(x.row(i), &mut z);
            for (a, v) in act.iter_mut().zip(&z) {
                *a = *v as f32;
            }
            let mut width = d;
            for (l, layer) in self.layers.iter().enumerate() {
                let scale = quantize_vector(&act[..width], &mut q[..width]);
                let outputs = layer.weights.rows;
                layer
                    .weights
                    .matvec(&q[..width], scale, &mut next[..outputs]);
                for (n, b) in next[..outputs].iter_mut().zip(&layer.biases) {
                    *n += b;
                    if l != last {
                        *n = n.max(0.0);
                    }
                }
                std::mem::swap(&mut act, &mut next);
                width = outputs;
            }
            let raw = f64::from(act[0]);
            out.push(if self.logistic {
                f64::from(sigmoid(act[0]))
            } else {
                raw
            });
        }
        Ok(out)
    }
}

/// The GRU sequence model's forward pass without the tensor library, in f32 (`int8 = false`, a
/// check that this pass is the model's) or with int8 weight matrices.
#[derive(Debug, Clone)]
pub struct QuantizedGru {
    embed: usize,
    hidden: usize,
    max_len: usize,
    categories: usize,
    kind_embedding: Vec<f32>,
    category_embedding: Vec<f32>,
    /// Input projection, 3h outputs × (2e + 3) inputs.
    w_input: Projection,
    b_input: Vec<f32>,
    /// Recurrent projection, 3h outputs × h inputs.
    w_hidden: Projection,
    b_hidden: Vec<f32>,
    w_buy: Vec<f32>,
    b_buy: f32,
    w_rate: Vec<f32>,
    b_rate: f32,
}

#[derive(Debug, Clone)]
enum Projection {
    Float {
        rows: usize,
        cols: usize,
        values: Vec<f32>,
    },
    Int8(QuantizedMatrix),
}

impl Projection {
    fn new(rows: usize, cols: usize, values: Vec<f32>, int8: bool) -> Result<Self, ModelError> {
        Ok(if int8 {
            Projection::Int8(QuantizedMatrix::quantize(rows, cols, &values)?)
        } else {
            Projection::Float { rows, cols, values }
        })
    }

    fn apply(&self, x: &[f32], q: &mut [i8], out: &mut [f32]) {
        match self {
            Projection::Float { cols, values, .. } => {
                for (o, row) in out.iter_mut().zip(values.chunks(*cols)) {
                    *o = row.iter().zip(x).map(|(w, v)| w * v).sum();
                }
            }
            Projection::Int8(m) => {
                let scale = quantize_vector(x, &mut q[..x.len()]);
                m.matvec(&q[..x.len()], scale, out);
            }
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Projection::Float { rows, cols, .. } => 4 * rows * cols,
            Projection::Int8(m) => m.bytes(),
        }
    }
}

/// `(rows, cols)` row-major transposed to `(cols, rows)`.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// Numeric inputs per step, scaled as the model's batches scale them.
const NUMERIC: usize = 3;

impl QuantizedGru {
    pub fn from_model(model: &SequenceModel, int8: bool) -> Result<Self, ModelError> {
        let stored = model.stored_weights()?;
        let get = |name: &str| -> Result<&StoredTensor, ModelError> {
            stored
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| ModelError::Artifact(format!("no weight {name}")))
        };
        let (e, h) = (model.config.embed_dim, model.config.hidden_dim);
        let input = 2 * e + NUMERIC;
        let w_input = get("w_input")?;
        let w_hidden = get("w_hidden")?;
        Ok(Self {
            embed: e,
            hidden: h,
            max_len: model.config.max_len,
            categories: model.categories(),
            kind_embedding: get("kind_embedding")?.values.clone(),
            category_embedding: get("category_embedding")?.values.clone(),
            // Stored as (inputs, 3h) for x · W; the pass multiplies W by x, so rows are outputs.
            w_input: Projection::new(3 * h, input, transpose(&w_input.values, input, 3 * h), int8)?,
            b_input: get("b_input")?.values.clone(),
            w_hidden: Projection::new(3 * h, h, transpose(&w_hidden.values, h, 3 * h), int8)?,
            b_hidden: get("b_hidden")?.values.clone(),
            w_buy: get("w_buy")?.values.clone(),
            b_buy: get("b_buy")?.values[0],
            w_rate: get("w_rate")?.values.clone(),
            b_rate: get("b_rate")?.values[0],
        })
    }

    /// Bytes of the two projections (the bulk of the weights).
    pub fn projection_bytes(&self) -> usize {
        self.w_input.bytes() + self.w_hidden.bytes()
    }

    /// (P(buy), weekly rate) of each sequence.
    pub fn predict(&self, sequences: &[Vec<Step>]) -> Vec<(f64, f64)> {
        let (e, h) = (self.embed, self.hidden);
        let input = 2 * e + NUMERIC;
        let mut x = vec![0.0f32; input];
        let mut gi = vec![0.0f32; 3 * h];
        let mut gh = vec![0.0f32; 3 * h];
        let mut state = vec![0.0f32; h];
        let mut q = vec![0i8; input.max(h)];
        sequences
            .iter()
            .map(|seq| {
                state.iter_mut().for_each(|s| *s = 0.0);
                let tail = &seq[seq.len().saturating_sub(self.max_len)..];
                for step in tail {
                    let kind = step.kind.min(KINDS as u32 - 1) as usize;
                    let category = if (step.category as usize) < self.categories {
                        step.category as usize
                    } else {
                        0
                    };
                    x[..e].copy_from_slice(&self.kind_embedding[kind * e..(kind + 1) * e]);
                    x[e..2 * e].copy_from_slice(
                        &self.category_embedding[category * e..(category + 1) * e],
                    );
                    x[2 * e] = step.amount.max(0.0).ln_1p() / 5.0;
                    x[2 * e + 1] = step.gap_days.max(0.0).ln_1p() / 6.0;
                    x[2 * e + 2] = step.age_days.max(0.0).ln_1p() / 6.0;
                    self.w_input.apply(&x, &mut q, &mut gi);
                    self.w_hidden.apply(&state, &mut q, &mut gh);
                    for j in 0..h {
                        let r = sigmoid(gi[j] + self.b_input[j] + gh[j] + self.b_hidden[j]);
                        let z = sigmoid(
                            gi[h + j] + self.b_input[h + j] + gh[h + j] + self.b_hidden[h + j],
                        );
                        let n = (gi[2 * h + j]
                            + self.b_input[2 * h + j]
                            + r * (gh[2 * h + j] + self.b_hidden[2 * h + j]))
                            .tanh();
                        state[j] = (1.0 - z) * n + z * state[j];
                    }
                }
                let dot = |w: &[f32]| w.iter().zip(&state).map(|(a, b)| a * b).sum::<f32>();
                let logit = dot(&self.w_buy) + self.b_buy;
                let log_rate = dot(&self.w_rate) + self.b_rate;
                (f64::from(sigmoid(logit)), f64::from(log_rate.exp()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::propensity::{Learner, MlpConfig};

    #[test]
    fn quantised_products_are_close_to_the_float_ones() {
        let data: Vec<f32> = (0..64)
            .map(|i| ((i * 37) % 23) as f32 / 7.0 - 1.5)
            .collect();
        let m = QuantizedMatrix::quantize(4, 16, &data).unwrap();
        let x: Vec<f32> = (0..16).map(|i| (i as f32 / 5.0).sin()).collect();
        let mut q = vec![0i8; 16];
        let scale = quantize_vector(&x, &mut q);
        let mut out = vec![0.0; 4];
        m.matvec(&q, scale, &mut out);
        for (r, o) in out.iter().enumerate() {
            let exact: f32 = data[r * 16..(r + 1) * 16]
                .iter()
                .zip(&x)
                .map(|(w, v)| w * v)
                .sum();
            assert!((o - exact).abs() < 0.05, "{o} vs {exact}");
        }
        assert_eq!(m.bytes(), 64 + 16);
        assert!(QuantizedMatrix::quantize(2, 2, &[1.0, f32::NAN, 0.0, 0.0]).is_err());
        assert!(QuantizedMatrix::quantize(2, 2, &[1.0]).is_err());
    }

    #[test]
    fn a_quantised_mlp_predicts_what_the_mlp_predicts() {
        // A smooth truth on 6 columns.
        let n = 600;
        let mut data = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let row: Vec<f64> = (0..6)
                .map(|j| ((i * (j + 3)) % 17) as f64 / 8.0 - 1.0)
                .collect();
            y.push(f64::from(u8::from(row[0] + 0.5 * row[1] - row[2] > 0.0)));
            data.extend(row);
        }
        let x = Matrix::new(n, 6, data).unwrap();
        let mut mlp = Mlp::new(MlpConfig::default()).unwrap();
        mlp.fit(&x, &y, None).unwrap();
        let exact = mlp.predict(&x).unwrap();
        let quantised = QuantizedMlp::from_mlp(&mlp).unwrap().predict(&x).unwrap();
        let worst = exact
            .iter()
            .zip(&quantised)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 0.05, "largest difference {worst}");
        let unfitted = Mlp::new(MlpConfig::default()).unwrap();
        assert!(QuantizedMlp::from_mlp(&unfitted).is_err());
    }
}
