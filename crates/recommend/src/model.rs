//! The fitted recommender: CF scores for known customers, popularity by segment for new ones, and category and
//! price neighbours for new items.

use std::collections::HashMap;

use discount_models::cf::{AlsParams, Bpr, BprParams, ImplicitAls, Scorer};
use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::error::Result;
use crate::interactions::Interactions;

/// Which learner turns the interactions into scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Learner {
    Als(AlsParams),
    Bpr(BprParams),
}

impl Default for Learner {
    fn default() -> Self {
        // Store strengths are decayed counts, not 0/1: a milder confidence than on MovieLens keeps one heavy
        // buyer from dominating an item's factors.
        Learner::Als(AlsParams {
            factors: 32,
            iterations: 15,
            regularisation: 1.0,
            alpha: 2.0,
            seed: 7,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Fitted {
    Als(ImplicitAls),
    Bpr(Bpr),
}

impl Fitted {
    fn scorer(&self) -> &dyn Scorer {
        match self {
            Fitted::Als(m) => m,
            Fitted::Bpr(m) => m,
        }
    }
}

/// Where a customer's scores came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "segment")]
pub enum ScoreSource {
    /// The CF model knows the customer.
    Personal,
    /// A new customer of a known segment: that segment's popularity.
    SegmentPopularity(String),
    /// A new customer: overall popularity.
    Popularity,
}

/// A fitted recommender over the items it saw in training.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recommender {
    user_index: HashMap<String, u32>,
    item_ids: Vec<String>,
    item_index: HashMap<String, u32>,
    model: Fitted,
    /// Decayed total strength per item over all customers, scaled to a maximum of 1.
    popularity: Vec<f64>,
    /// The same per customer segment.
    segment_popularity: HashMap<String, Vec<f64>>,
    /// A high quantile (0.99) of the model's scores on the training pairs: scores are divided by it so that a
    /// strong personal match is about 1, comparable with the popularity scale.
    score_scale: f64,
}

fn scaled_to_max(mut v: Vec<f64>) -> Vec<f64> {
    let max = v.iter().copied().fold(0.0, f64::max);
    if max > 0.0 {
        v.iter_mut().for_each(|x| *x /= max);
    }
    v
}

impl Recommender {
    /// Fits the learner on the interactions; `segment_of` gives a customer's segment (for new customers'
    /// popularity), `None` for none.
    pub fn fit(
        interactions: &Interactions,
        learner: &Learner,
        segment_of: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        interactions.require_data()?;
        let ratings = interactions.ratings();
        let (users, items) = (interactions.user_ids().len(), interactions.item_ids().len());
        let model = match learner {
            Learner::Als(p) => Fitted::Als(ImplicitAls::fit(users, items, &ratings, p)?),
            Learner::Bpr(p) => Fitted::Bpr(Bpr::fit(users, items, &ratings, p)?),
        };
        let popularity = scaled_to_max(interactions.item_totals(|_| true));
        let mut segments: HashMap<String, Vec<String>> = HashMap::new();
        for u in interactions.user_ids() {
            if let Some(s) = segment_of(u) {
                segments.entry(s).or_default().push(u.clone());
            }
        }
        let segment_popularity = segments
            .into_iter()
            .map(|(s, members)| {
                let members: std::collections::HashSet<String> = members.into_iter().collect();
                (
                    s,
                    scaled_to_max(interactions.item_totals(|u| members.contains(u))),
                )
            })
            .collect();
        // Scale: the 99th percentile of the scores of the training pairs.
        let mut scores = vec![0.0; items];
        let mut positives = Vec::with_capacity(ratings.len());
        let mut last_user = None;
        for r in &ratings {
            if last_user != Some(r.user) {
                model.scorer().score_items(r.user, &mut scores);
                last_user = Some(r.user);
            }
            positives.push(scores[r.item as usize]);
        }
        positives.sort_by(f64::total_cmp);
        let q = positives[((positives.len() - 1) as f64 * 0.99).round() as usize];
        let score_scale = if q > 0.0 && q.is_finite() { q } else { 1.0 };
        Ok(Recommender {
            user_index: interactions
                .user_ids()
                .iter()
                .enumerate()
                .map(|(k, u)| (u.clone(), k as u32))
                .collect(),
            item_ids: interactions.item_ids().to_vec(),
            item_index: interactions
                .item_ids()
                .iter()
                .enumerate()
                .map(|(k, i)| (i.clone(), k as u32))
                .collect(),
            model,
            popularity,
            segment_popularity,
            score_scale,
        })
    }

    pub fn knows_customer(&self, user_id: &str) -> bool {
        self.user_index.contains_key(user_id)
    }

    pub fn n_items(&self) -> usize {
        self.item_ids.len()
    }

    pub fn item_ids(&self) -> &[String] {
        &self.item_ids
    }

    /// Scores of every item the model was trained on, for one customer, about 0 to 1, with where they came
    /// from. Writes into `out` (resized to the number of model items).
    pub fn model_item_scores(
        &self,
        user_id: &str,
        segment: Option<&str>,
        out: &mut Vec<f64>,
    ) -> ScoreSource {
        out.resize(self.item_ids.len(), 0.0);
        if let Some(&u) = self.user_index.get(user_id) {
            self.model.scorer().score_items(u, out);
            let scale = self.score_scale;
            out.iter_mut().for_each(|s| *s /= scale);
            return ScoreSource::Personal;
        }
        if let Some((name, p)) = segment.and_then(|s| self.segment_popularity.get_key_value(s)) {
            out.copy_from_slice(p);
            return ScoreSource::SegmentPopularity(name.clone());
        }
        out.copy_from_slice(&self.popularity);
        ScoreSource::Popularity
    }

    /// How each catalogue item gets its score from this model, worked out once for a catalogue. An item the
    /// model never saw takes the mean score of the model's items of its category whose price is within a
    /// factor of two of its own (or of its whole category when none is, or 0 for a new category): a new
    /// product starts where its neighbours are.
    pub fn map_catalogue(&self, catalogue: &Catalogue) -> CatalogueMap {
        let mut known: HashMap<&str, Vec<(i64, u32)>> = HashMap::new();
        let mut sources: Vec<ItemSource> = catalogue
            .items()
            .iter()
            .map(|item| match self.item_index.get(&item.id) {
                Some(&i) => {
                    known
                        .entry(item.category.as_str())
                        .or_default()
                        .push((item.price, i));
                    ItemSource::Model(i)
                }
                None => ItemSource::Unscored,
            })
            .collect();
        for (source, item) in sources.iter_mut().zip(catalogue.items()) {
            if !matches!(source, ItemSource::Unscored) {
                continue;
            }
            let Some(neighbours) = known.get(item.category.as_str()) else {
                continue;
            };
            let near: Vec<u32> = neighbours
                .iter()
                .filter(|(p, _)| {
                    p.saturating_mul(2) >= item.price && *p <= item.price.saturating_mul(2)
                })
                .map(|(_, i)| *i)
                .collect();
            *source = ItemSource::Neighbours(if near.is_empty() {
                neighbours.iter().map(|(_, i)| *i).collect()
            } else {
                near
            });
        }
        CatalogueMap {
            sources,
            catalogue_len: catalogue.len(),
        }
    }

    /// Scores of every catalogue item (in catalogue order) for one customer, written into `out`, through a
    /// map from [`Recommender::map_catalogue`].
    pub fn scores_through(
        &self,
        user_id: &str,
        segment: Option<&str>,
        map: &CatalogueMap,
        model_scores: &mut Vec<f64>,
        out: &mut Vec<f64>,
    ) -> ScoreSource {
        let source = self.model_item_scores(user_id, segment, model_scores);
        out.clear();
        out.extend(map.sources.iter().map(|s| match s {
            ItemSource::Model(i) => model_scores[*i as usize],
            ItemSource::Neighbours(n) => {
                n.iter().map(|i| model_scores[*i as usize]).sum::<f64>() / n.len() as f64
            }
            ItemSource::Unscored => 0.0,
        }));
        source
    }

    /// Scores of every catalogue item (in catalogue order) for one customer (see [`Recommender::map_catalogue`]
    /// for products the model never saw).
    pub fn catalogue_scores(
        &self,
        user_id: &str,
        segment: Option<&str>,
        catalogue: &Catalogue,
        model_scores: &mut Vec<f64>,
    ) -> (Vec<f64>, ScoreSource) {
        let map = self.map_catalogue(catalogue);
        let mut out = Vec::new();
        let source = self.scores_through(user_id, segment, &map, model_scores, &mut out);
        (out, source)
    }
}

/// Where one catalogue item's score comes from.
#[derive(Debug, Clone, PartialEq)]
enum ItemSource {
    Model(u32),
    /// Mean of these model items' scores.
    Neighbours(Vec<u32>),
    /// A category the model never saw.
    Unscored,
}

/// How each item of one catalogue is scored by one recommender (see [`Recommender::map_catalogue`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueMap {
    sources: Vec<ItemSource>,
    catalogue_len: usize,
}

impl CatalogueMap {
    /// Number of catalogue items it maps.
    pub fn len(&self) -> usize {
        self.catalogue_len
    }

    pub fn is_empty(&self) -> bool {
        self.catalogue_len == 0
    }
}
