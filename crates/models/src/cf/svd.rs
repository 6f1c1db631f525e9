//! Biased matrix factorisation of explicit ratings by stochastic gradient descent (Funk's SVD as
//! in Koren, Bell & Volinsky 2009; Surprise's `SVD`):
//!
//! r̂_ui = μ + b_u + b_i + q_iᵀ p_u,
//!
//! minimising squared error plus L2 penalties. SVD++ ([`super::svdpp`]) adds the implicit signal
//! of which items a user rated.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::data::Rating;
use super::sparse::{dot, Csr};
use crate::error::ModelError;

/// Hyper-parameters of the SGD rating models. Defaults are Surprise's `SVD` defaults except where
/// 5-fold cross-validation on MovieLens 100K chose otherwise (see docs/models/ltv-cf.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgdParams {
    pub factors: usize,
    pub epochs: usize,
    pub learning_rate: f64,
    /// L2 penalty of the user and item biases.
    pub reg_bias: f64,
    /// L2 penalty of the factor vectors.
    pub reg_factors: f64,
    /// Standard deviation of the normal initialisation of the factors.
    pub init_std: f64,
    pub seed: u64,
}

impl Default for SgdParams {
    fn default() -> Self {
        Self {
            factors: 100,
            epochs: 20,
            learning_rate: 0.005,
            reg_bias: 0.02,
            reg_factors: 0.02,
            init_std: 0.1,
            seed: 7,
        }
    }
}

impl SgdParams {
    /// Biased MF settings chosen by 5-fold cross-validation on MovieLens 100K (seed 42): more
    /// epochs, a larger step and a stronger penalty on the factors than Surprise's defaults.
    pub fn movielens_svd() -> Self {
        Self {
            factors: 100,
            epochs: 30,
            learning_rate: 0.01,
            reg_bias: 0.02,
            reg_factors: 0.08,
            ..Self::default()
        }
    }

    /// SVD++ settings chosen by 5-fold cross-validation on MovieLens 100K (seed 42).
    pub fn movielens_svdpp() -> Self {
        Self {
            factors: 50,
            epochs: 30,
            learning_rate: 0.01,
            reg_bias: 0.02,
            reg_factors: 0.1,
            ..Self::default()
        }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |name: &'static str, value: String, reason: &str| {
            Err(ModelError::InvalidHyper {
                name,
                value,
                reason: reason.into(),
            })
        };
        if self.factors == 0 {
            return bad("factors", "0".into(), "must be at least 1");
        }
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "must be at least 1");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate < 1.0) {
            return bad(
                "learning_rate",
                self.learning_rate.to_string(),
                "must be in (0, 1)",
            );
        }
        for (name, v) in [
            ("reg_bias", self.reg_bias),
            ("reg_factors", self.reg_factors),
            ("init_std", self.init_std),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return bad(name, v.to_string(), "must be finite and >= 0");
            }
        }
        Ok(())
    }
}

/// What every rating model needs to know about its training data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingScale {
    pub global_mean: f64,
    pub min: f64,
    pub max: f64,
}

pub(crate) fn check_ratings(
    users: usize,
    items: usize,
    ratings: &[Rating],
) -> Result<RatingScale, ModelError> {
    if ratings.is_empty() {
        return Err(ModelError::Data("no training ratings".into()));
    }
    if let Some(r) = ratings
        .iter()
        .find(|r| r.user as usize >= users || r.item as usize >= items)
    {
        return Err(ModelError::Data(format!(
            "rating of user {} for item {} is out of range ({users} users, {items} items)",
            r.user, r.item
        )));
    }
    let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
    for r in ratings {
        let v = r.value as f64;
        min = min.min(v);
        max = max.max(v);
        sum += v;
    }
    Ok(RatingScale {
        global_mean: sum / ratings.len() as f64,
        min,
        max,
    })
}

pub(crate) fn init_factors(rows: usize, k: usize, std: f64, rng: &mut impl rand::Rng) -> Vec<f64> {
    match Normal::new(0.0, std) {
        Ok(normal) => (0..rows * k).map(|_| normal.sample(rng)).collect(),
        Err(_) => vec![0.0; rows * k],
    }
}

/// Surprise's SGD visiting order: each epoch, the users in a fresh seeded order and each user's
/// ratings in a fresh order. `visit` gets a user with ratings, their items and ratings, and the
/// order in which to visit them (indices into both).
pub(crate) fn shuffled_epochs(
    by_user: &Csr,
    epochs: usize,
    rng: &mut StdRng,
    mut visit: impl FnMut(usize, &[u32], &[f32], &[usize]),
) {
    let mut user_order: Vec<usize> = (0..by_user.rows()).collect();
    let mut within: Vec<usize> = Vec::new();
    for _ in 0..epochs {
        user_order.shuffle(rng);
        for &u in &user_order {
            let (cols, vals) = by_user.row(u);
            if cols.is_empty() {
                continue;
            }
            within.clear();
            within.extend(0..cols.len());
            within.shuffle(rng);
            visit(u, cols, vals, &within);
        }
    }
}

/// Which users and which items have at least one training rating.
pub(crate) fn known_rows(users: usize, items: usize, ratings: &[Rating]) -> (Vec<bool>, Vec<bool>) {
    let (mut known_user, mut known_item) = (vec![false; users], vec![false; items]);
    for r in ratings {
        known_user[r.user as usize] = true;
        known_item[r.item as usize] = true;
    }
    (known_user, known_item)
}

/// The biases of a rating model and which rows of them were trained.
pub(crate) struct Baseline<'a> {
    pub scale: &'a RatingScale,
    pub user_bias: &'a [f64],
    pub item_bias: &'a [f64],
    pub known_user: &'a [bool],
    pub known_item: &'a [bool],
}

impl Baseline<'_> {
    /// μ plus the biases that are known, as Surprise does for unknown users or items, and whether
    /// both are known (only then do the factors apply).
    pub fn predict(&self, u: usize, i: usize) -> (f64, bool) {
        let known_u = self.known_user.get(u).copied().unwrap_or(false);
        let known_i = self.known_item.get(i).copied().unwrap_or(false);
        let mut r = self.scale.global_mean;
        if known_u {
            r += self.user_bias[u];
        }
        if known_i {
            r += self.item_bias[i];
        }
        (r, known_u && known_i)
    }
}

/// A fitted biased matrix factorisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasedMf {
    pub params: SgdParams,
    pub scale: RatingScale,
    pub user_bias: Vec<f64>,
    pub item_bias: Vec<f64>,
    /// Row-major, `factors` per user.
    pub user_factors: Vec<f64>,
    /// Row-major, `factors` per item.
    pub item_factors: Vec<f64>,
    pub known_user: Vec<bool>,
    pub known_item: Vec<bool>,
}

impl BiasedMf {
    /// Fit on `ratings` whose indices are below `users` and `items`. Each epoch visits the users
    /// in a fresh seeded order and each user's ratings in a fresh order.
    pub fn fit(
        users: usize,
        items: usize,
        ratings: &[Rating],
        params: &SgdParams,
    ) -> Result<Self, ModelError> {
        params.validate()?;
        let scale = check_ratings(users, items, ratings)?;
        let (known_user, known_item) = known_rows(users, items, ratings);
        let k = params.factors;
        let mut rng = StdRng::seed_from_u64(params.seed);
        let mut m = BiasedMf {
            params: *params,
            user_bias: vec![0.0; users],
            item_bias: vec![0.0; items],
            user_factors: init_factors(users, k, params.init_std, &mut rng),
            item_factors: init_factors(items, k, params.init_std, &mut rng),
            known_user,
            known_item,
            scale,
        };
        let by_user = Csr::from_ratings(users, ratings, false);
        let (lr, rb, rf, mu) = (
            params.learning_rate,
            params.reg_bias,
            params.reg_factors,
            m.scale.global_mean,
        );
        shuffled_epochs(
            &by_user,
            params.epochs,
            &mut rng,
            |u, cols, vals, within| {
                for &j in within {
                    let i = cols[j] as usize;
                    let pu = &mut m.user_factors[u * k..(u + 1) * k];
                    let qi = &mut m.item_factors[i * k..(i + 1) * k];
                    let err = vals[j] as f64 - (mu + m.user_bias[u] + m.item_bias[i] + dot(pu, qi));
                    m.user_bias[u] += lr * (err - rb * m.user_bias[u]);
                    m.item_bias[i] += lr * (err - rb * m.item_bias[i]);
                    for (p, q) in pu.iter_mut().zip(qi.iter_mut()) {
                        let (p0, q0) = (*p, *q);
                        *p += lr * (err * q0 - rf * p0);
                        *q += lr * (err * p0 - rf * q0);
                    }
                }
            },
        );
        Ok(m)
    }

    /// Predicted rating, clipped to the training scale. Unknown users or items fall back to the
    /// biases that are known, as Surprise does.
    pub fn predict(&self, user: u32, item: u32) -> f64 {
        let (u, i) = (user as usize, item as usize);
        let k = self.params.factors;
        let (mut r, known) = self.baseline().predict(u, i);
        if known {
            r += dot(
                &self.user_factors[u * k..(u + 1) * k],
                &self.item_factors[i * k..(i + 1) * k],
            );
        }
        r.clamp(self.scale.min, self.scale.max)
    }

    fn baseline(&self) -> Baseline<'_> {
        Baseline {
            scale: &self.scale,
            user_bias: &self.user_bias,
            item_bias: &self.item_bias,
            known_user: &self.known_user,
            known_item: &self.known_item,
        }
    }
}
