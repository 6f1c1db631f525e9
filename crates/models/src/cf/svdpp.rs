//! SVD++ (Koren 2008): biased matrix factorisation whose user vector is augmented by the items
//! the user rated, whatever the rating:
//!
//! r̂_ui = μ + b_u + b_i + q_iᵀ (p_u + |N(u)|^(-1/2) Σ_{j ∈ N(u)} y_j).
//!
//! Trained by the same per-rating SGD as Surprise's `SVDpp`, visiting ratings user by user.
//! Every y_j of a user receives the same update at each rating,
//! y_j ← (1 - η λ) y_j + η e |N(u)|^(-1/2) q_i, so the updates of one user's pass compose to one
//! affine map y_j ← c y_j + d applied once at the end of the pass: the result equals the
//! per-rating loop exactly, at O(|N(u)| k) per user instead of per rating.

use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::data::Rating;
use super::sparse::{dot, Csr};
use super::svd::{
    check_ratings, init_factors, known_rows, shuffled_epochs, Baseline, RatingScale, SgdParams,
};
use crate::error::ModelError;

/// A fitted SVD++ model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvdPlusPlus {
    pub params: SgdParams,
    pub scale: RatingScale,
    pub user_bias: Vec<f64>,
    pub item_bias: Vec<f64>,
    pub user_factors: Vec<f64>,
    pub item_factors: Vec<f64>,
    /// Implicit item factors y_j.
    pub implicit_factors: Vec<f64>,
    /// |N(u)|^(-1/2) Σ_{j ∈ N(u)} y_j of each user, at the end of training.
    pub user_implicit: Vec<f64>,
    pub known_user: Vec<bool>,
    pub known_item: Vec<bool>,
}

impl SvdPlusPlus {
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
        let mut rng = rand::rngs::StdRng::seed_from_u64(params.seed);
        let mut m = SvdPlusPlus {
            params: *params,
            user_bias: vec![0.0; users],
            item_bias: vec![0.0; items],
            user_factors: init_factors(users, k, params.init_std, &mut rng),
            item_factors: init_factors(items, k, params.init_std, &mut rng),
            implicit_factors: init_factors(items, k, params.init_std, &mut rng),
            user_implicit: vec![0.0; users * k],
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
        let mut implicit = vec![0.0; k];
        let mut shift = vec![0.0; k];
        // Which pass last moved each y_j, so an item rated twice by a user moves once per pass.
        let mut moved_in_pass = vec![usize::MAX; items];
        let mut pass = 0;
        shuffled_epochs(
            &by_user,
            params.epochs,
            &mut rng,
            |u, cols, vals, within| {
                let norm = 1.0 / (cols.len() as f64).sqrt();
                m.implicit_sum(cols, norm, &mut implicit);
                // y_j = scale_y * y_j(start) + shift, for every j in N(u).
                let mut scale_y = 1.0;
                shift.iter_mut().for_each(|s| *s = 0.0);
                for &jj in within {
                    let i = cols[jj] as usize;
                    let pu = &mut m.user_factors[u * k..(u + 1) * k];
                    let qi = &mut m.item_factors[i * k..(i + 1) * k];
                    let mut interaction = 0.0;
                    for f in 0..k {
                        interaction += qi[f] * (pu[f] + implicit[f]);
                    }
                    let err =
                        vals[jj] as f64 - (mu + m.user_bias[u] + m.item_bias[i] + interaction);
                    m.user_bias[u] += lr * (err - rb * m.user_bias[u]);
                    m.item_bias[i] += lr * (err - rb * m.item_bias[i]);
                    let decay = 1.0 - lr * rf;
                    scale_y *= decay;
                    for f in 0..k {
                        let (p0, q0) = (pu[f], qi[f]);
                        pu[f] += lr * (err * q0 - rf * p0);
                        qi[f] += lr * (err * (p0 + implicit[f]) - rf * q0);
                        let step = lr * err * norm * q0;
                        shift[f] = decay * shift[f] + step;
                        // |N(u)| · norm² = 1: the implicit sum follows the same affine map.
                        implicit[f] = decay * implicit[f] + step * cols.len() as f64 * norm;
                    }
                }
                pass += 1;
                for &j in cols {
                    if moved_in_pass[j as usize] == pass {
                        continue;
                    }
                    moved_in_pass[j as usize] = pass;
                    let y = &mut m.implicit_factors[j as usize * k..(j as usize + 1) * k];
                    for f in 0..k {
                        y[f] = scale_y * y[f] + shift[f];
                    }
                }
            },
        );
        let mut sum = vec![0.0; k];
        for u in 0..users {
            let (cols, _) = by_user.row(u);
            if cols.is_empty() {
                continue;
            }
            m.implicit_sum(cols, 1.0 / (cols.len() as f64).sqrt(), &mut sum);
            m.user_implicit[u * k..(u + 1) * k].copy_from_slice(&sum);
        }
        Ok(m)
    }

    fn implicit_sum(&self, items: &[u32], norm: f64, out: &mut [f64]) {
        let k = self.params.factors;
        out.iter_mut().for_each(|v| *v = 0.0);
        for &j in items {
            let y = &self.implicit_factors[j as usize * k..(j as usize + 1) * k];
            for f in 0..k {
                out[f] += y[f];
            }
        }
        out.iter_mut().for_each(|v| *v *= norm);
    }

    /// Predicted rating, clipped to the training scale (unknown users or items as in
    /// [`super::svd::BiasedMf::predict`]).
    pub fn predict(&self, user: u32, item: u32) -> f64 {
        let (u, i) = (user as usize, item as usize);
        let k = self.params.factors;
        let baseline = Baseline {
            scale: &self.scale,
            user_bias: &self.user_bias,
            item_bias: &self.item_bias,
            known_user: &self.known_user,
            known_item: &self.known_item,
        };
        let (mut r, known) = baseline.predict(u, i);
        if known {
            let pu = &self.user_factors[u * k..(u + 1) * k];
            let imp = &self.user_implicit[u * k..(u + 1) * k];
            let qi = &self.item_factors[i * k..(i + 1) * k];
            r += dot(qi, pu) + dot(qi, imp);
        }
        r.clamp(self.scale.min, self.scale.max)
    }
}
