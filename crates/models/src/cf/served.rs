//! A fitted collaborative-filtering model with the external user and item ids behind its dense
//! indices: what a CF artifact stores, so a loaded model scores customers and products by id.

use serde::{Deserialize, Serialize};

use super::{BiasedMf, Bpr, ImplicitAls, Ratings, Scorer, SvdPlusPlus};

/// One of the collaborative-filtering models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CfModel {
    BiasedMf(BiasedMf),
    SvdPlusPlus(SvdPlusPlus),
    Als(ImplicitAls),
    Bpr(Bpr),
}

/// A servable CF model: the model and the ids of its dense user and item indices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedCf {
    /// External user id of each dense user index.
    pub user_ids: Vec<String>,
    /// External item id of each dense item index.
    pub item_ids: Vec<String>,
    pub model: CfModel,
}

impl ServedCf {
    /// Wraps `model`, fitted on indices of `ratings`.
    pub fn new(ratings: &Ratings, model: CfModel) -> Self {
        ServedCf {
            user_ids: ratings.user_ids.clone(),
            item_ids: ratings.item_ids.clone(),
            model,
        }
    }

    /// Dense index of an external user id.
    pub fn user_index(&self, user: &str) -> Option<u32> {
        self.user_ids
            .iter()
            .position(|u| u == user)
            .map(|i| i as u32)
    }

    /// The score of every item for the user at dense index `user` (a predicted rating for the
    /// rating models, a ranking score for ALS and BPR), in item-index order.
    pub fn item_scores(&self, user: u32) -> Vec<f64> {
        let items = self.item_ids.len();
        match &self.model {
            CfModel::BiasedMf(m) => (0..items as u32).map(|i| m.predict(user, i)).collect(),
            CfModel::SvdPlusPlus(m) => (0..items as u32).map(|i| m.predict(user, i)).collect(),
            CfModel::Als(m) => {
                let mut out = vec![0.0; items];
                m.score_items(user, &mut out);
                out
            }
            CfModel::Bpr(m) => {
                let mut out = vec![0.0; items];
                m.score_items(user, &mut out);
                out
            }
        }
    }

    /// The `k` best-scored item ids for an external user id; `None` for a user the model has
    /// not seen.
    pub fn top_items(&self, user: &str, k: usize) -> Option<Vec<(String, f64)>> {
        let u = self.user_index(user)?;
        let scores = self.item_scores(u);
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b)));
        Some(
            order
                .into_iter()
                .take(k)
                .map(|i| (self.item_ids[i].clone(), scores[i]))
                .collect(),
        )
    }
}
