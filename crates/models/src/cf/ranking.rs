//! Top-k evaluation of implicit-feedback recommenders, and the popularity baseline they must beat.

use serde::{Deserialize, Serialize};

use super::data::Rating;
use super::sparse::Csr;
use crate::error::ModelError;

/// Anything that scores every item for a user (higher = recommend first).
pub trait Scorer {
    /// Fill `out` (one slot per item) with the user's scores.
    fn score_items(&self, user: u32, out: &mut [f64]);
}

pub(crate) fn check_interactions(
    users: usize,
    items: usize,
    interactions: &[Rating],
) -> Result<(), ModelError> {
    if interactions.is_empty() {
        return Err(ModelError::Data("no training interactions".into()));
    }
    if let Some(r) = interactions.iter().find(|r| {
        r.user as usize >= users
            || r.item as usize >= items
            || r.value.is_nan()
            || r.value < 0.0
            || !r.value.is_finite()
    }) {
        return Err(ModelError::Data(format!(
            "interaction of user {} with item {} (value {}) is out of range ({users} users, {items} items, values >= 0)",
            r.user, r.item, r.value
        )));
    }
    Ok(())
}

/// Recommends the items with the most training interactions to everyone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Popularity {
    pub counts: Vec<f64>,
}

impl Popularity {
    pub fn fit(items: usize, interactions: &[Rating]) -> Result<Self, ModelError> {
        let mut counts = vec![0.0; items];
        for r in interactions {
            let slot = counts.get_mut(r.item as usize).ok_or_else(|| {
                ModelError::Data(format!("item {} out of range ({items} items)", r.item))
            })?;
            *slot += 1.0;
        }
        Ok(Self { counts })
    }
}

impl Scorer for Popularity {
    fn score_items(&self, _user: u32, out: &mut [f64]) {
        out.copy_from_slice(&self.counts);
    }
}

/// Mean top-k precision and NDCG over the users with at least one test item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RankingReport {
    pub k: usize,
    pub users: usize,
    pub precision: f64,
    pub ndcg: f64,
}

/// Rank all items the user has not interacted with in `train`, and score the top `k` against the
/// `test` interactions (binary relevance), using `discount_eval::ranking`.
pub fn evaluate_top_k(
    model: &dyn Scorer,
    users: usize,
    items: usize,
    train: &[Rating],
    test: &[Rating],
    k: usize,
) -> Result<RankingReport, ModelError> {
    let train_by_user = Csr::from_ratings(users, train, false);
    let test_by_user = Csr::from_ratings(users, test, false);
    let mut scores = vec![0.0; items];
    let mut relevance = vec![0.0; items];
    let (mut precision, mut ndcg, mut counted) = (0.0, 0.0, 0);
    let eval_error = |e: discount_eval::EvalError| ModelError::Data(e.to_string());
    for u in 0..users {
        let (test_items, _) = test_by_user.row(u);
        if test_items.is_empty() {
            continue;
        }
        model.score_items(u as u32, &mut scores);
        for &i in train_by_user.row(u).0 {
            scores[i as usize] = f64::NEG_INFINITY;
        }
        relevance.iter_mut().for_each(|r| *r = 0.0);
        for &i in test_items {
            relevance[i as usize] = 1.0;
        }
        precision +=
            discount_eval::ranking::precision_at_k(&scores, &relevance, k).map_err(eval_error)?;
        ndcg += discount_eval::ranking::ndcg_at_k(&scores, &relevance, k).map_err(eval_error)?;
        counted += 1;
    }
    if counted == 0 {
        return Err(ModelError::Data("no user has a test interaction".into()));
    }
    Ok(RankingReport {
        k,
        users: counted,
        precision: precision / counted as f64,
        ndcg: ndcg / counted as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popularity_hits_what_it_should() {
        let r = |user, item| Rating {
            user,
            item,
            value: 1.0,
        };
        // Items 0 and 1 are popular; user 2 has seen 0, so 1 comes first, then 2.
        let train = [r(0, 0), r(0, 1), r(1, 0), r(1, 1), r(2, 0), r(3, 2)];
        let test = [r(2, 1), r(3, 3)];
        let pop = Popularity::fit(4, &train).unwrap();
        let rep = evaluate_top_k(&pop, 4, 4, &train, &test, 1).unwrap();
        assert_eq!(rep.users, 2);
        // User 2's top item is 1 (hit); user 3's top item is 0 (miss).
        assert!((rep.precision - 0.5).abs() < 1e-12, "{rep:?}");
    }
}
