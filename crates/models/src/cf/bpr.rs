//! Bayesian personalised ranking (Rendle et al. 2009) by SGD on sampled triples.
//!
//! For a user u, an item i they interacted with and an item j they did not, maximise
//! ln σ(x̂_ui - x̂_uj) with x̂_ui = p_uᵀ q_i + b_i, with L2 penalties. Triples are drawn uniformly
//! (a positive pair, then a negative item by rejection), `epochs × |interactions|` of them.

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::data::Rating;
use super::ranking::Scorer;
use super::sparse::{dot, Csr};
use super::svd::init_factors;
use crate::error::ModelError;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BprParams {
    pub factors: usize,
    pub epochs: usize,
    pub learning_rate: f64,
    pub regularisation: f64,
    pub seed: u64,
}

impl Default for BprParams {
    fn default() -> Self {
        Self {
            factors: 64,
            epochs: 100,
            learning_rate: 0.05,
            regularisation: 0.01,
            seed: 7,
        }
    }
}

impl BprParams {
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.factors == 0 || self.epochs == 0 {
            return Err(ModelError::InvalidHyper {
                name: if self.factors == 0 {
                    "factors"
                } else {
                    "epochs"
                },
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        if !(self.learning_rate > 0.0 && self.learning_rate < 1.0) {
            return Err(ModelError::InvalidHyper {
                name: "learning_rate",
                value: self.learning_rate.to_string(),
                reason: "must be in (0, 1)".into(),
            });
        }
        if !(self.regularisation >= 0.0 && self.regularisation.is_finite()) {
            return Err(ModelError::InvalidHyper {
                name: "regularisation",
                value: self.regularisation.to_string(),
                reason: "must be finite and >= 0".into(),
            });
        }
        Ok(())
    }
}

/// A fitted BPR model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bpr {
    pub params: BprParams,
    pub user_factors: Vec<f64>,
    pub item_factors: Vec<f64>,
    pub item_bias: Vec<f64>,
}

impl Bpr {
    pub fn fit(
        users: usize,
        items: usize,
        interactions: &[Rating],
        params: &BprParams,
    ) -> Result<Self, ModelError> {
        params.validate()?;
        super::ranking::check_interactions(users, items, interactions)?;
        let k = params.factors;
        let mut rng = rand::rngs::StdRng::seed_from_u64(params.seed);
        let mut m = Bpr {
            params: *params,
            user_factors: init_factors(users, k, 0.1, &mut rng),
            item_factors: init_factors(items, k, 0.1, &mut rng),
            item_bias: vec![0.0; items],
        };
        let by_user = Csr::from_ratings(users, interactions, false);
        // Sorted positive items per user for the rejection test.
        let positives: Vec<Vec<u32>> = (0..users)
            .map(|u| {
                let mut v = by_user.row(u).0.to_vec();
                v.sort_unstable();
                v.dedup();
                v
            })
            .collect();
        let (lr, reg) = (params.learning_rate, params.regularisation);
        let samples = params.epochs * interactions.len();
        for _ in 0..samples {
            let pair = &interactions[rng.gen_range(0..interactions.len())];
            let (u, i) = (pair.user as usize, pair.item as usize);
            if positives[u].len() >= items {
                continue;
            }
            let j = loop {
                let j = rng.gen_range(0..items) as u32;
                if positives[u].binary_search(&j).is_err() {
                    break j as usize;
                }
            };
            let (pu, rest) = (&mut m.user_factors[u * k..(u + 1) * k], &mut m.item_factors);
            let x = m.item_bias[i] - m.item_bias[j] + dot(pu, &rest[i * k..(i + 1) * k])
                - dot(pu, &rest[j * k..(j + 1) * k]);
            // d/dx ln σ(x) = σ(-x).
            let g = 1.0 / (1.0 + x.exp());
            m.item_bias[i] += lr * (g - reg * m.item_bias[i]);
            m.item_bias[j] += lr * (-g - reg * m.item_bias[j]);
            for f in 0..k {
                let (p, qi, qj) = (pu[f], rest[i * k + f], rest[j * k + f]);
                pu[f] += lr * (g * (qi - qj) - reg * p);
                rest[i * k + f] += lr * (g * p - reg * qi);
                rest[j * k + f] += lr * (-g * p - reg * qj);
            }
        }
        Ok(m)
    }
}

impl Scorer for Bpr {
    fn score_items(&self, user: u32, out: &mut [f64]) {
        let k = self.params.factors;
        let u = user as usize;
        let Some(p) = self.user_factors.get(u * k..(u + 1) * k) else {
            out.copy_from_slice(&self.item_bias);
            return;
        };
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.item_bias[i] + dot(p, &self.item_factors[i * k..(i + 1) * k]);
        }
    }
}
