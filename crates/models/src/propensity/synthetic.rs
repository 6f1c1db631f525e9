//! Simulated responses to discount offers with a known truth, for the monotonicity checks and the training
//! benchmark: customer features, a discount depth, and a purchase drawn from a logistic model whose slope in
//! depth is positive for everyone but varies by customer.

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use super::matrix::{sigmoid, Matrix};
use super::shoppers::LabelledData;
use crate::artifact::FeatureInfo;
use crate::ModelError;

/// Depths offered in the simulation (share of the price).
pub const DEPTHS: [f64; 6] = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3];
/// Index of the depth column in [`offers`].
pub const DEPTH_COLUMN: usize = 5;

/// The true purchase probability of a customer (5 features) at a depth.
pub fn true_probability(customer: &[f64], depth: f64) -> f64 {
    let base = -2.2 + 0.8 * customer[0] - 0.5 * customer[1]
        + 0.3 * customer[0] * customer[1]
        + 0.4 * customer[4];
    // Sensitivity to price is positive for all (3 ± 2) and highest for customers high on feature 2.
    let sensitivity = 3.0 + 2.0 * customer[2].tanh();
    sigmoid(base + sensitivity * depth + 0.6 * customer[3] * depth)
}

/// `rows` customer-offer pairs: five customer features (four normal, one 0/1 "loyalty member"), the depth.
pub fn offers(rows: usize, seed: u64) -> Result<LabelledData, ModelError> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut data = Vec::with_capacity(rows * 6);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut customer = [0.0f64; 5];
        for c in customer.iter_mut().take(4) {
            *c = StandardNormal.sample(&mut rng);
        }
        // Feature 3 enters the depth slope with +0.6; keep it where the slope stays positive.
        customer[3] = customer[3].clamp(-1.5, 1.5);
        customer[4] = f64::from(rng.gen_bool(0.3));
        let depth = DEPTHS[rng.gen_range(0..DEPTHS.len())];
        let p = true_probability(&customer, depth);
        data.extend_from_slice(&customer);
        data.push(depth);
        y.push(f64::from(rng.gen_bool(p)));
    }
    let features = (0..5)
        .map(|k| FeatureInfo {
            name: format!("customer_{k}"),
            meaning: "simulated customer attribute".into(),
        })
        .chain(std::iter::once(FeatureInfo {
            name: "depth".into(),
            meaning: "discount depth as a share of the price".into(),
        }))
        .collect();
    Ok(LabelledData {
        x: Matrix::new(rows, 6, data)?,
        y,
        features,
    })
}
