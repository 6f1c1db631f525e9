//! The fitted recommender: CF scores for known customers, popularity by segment for new ones, and category and
//! price neighbours for new items.
//!
//! Fitting (feature `train`) runs the workspace's ALS or BPR; what it keeps is a plain [`FactorModel`] (customer
//! and item vectors, item biases), so that a serving process scores without the learning stack.

use std::collections::HashMap;

#[cfg(feature = "train")]
use discount_models::cf::{AlsParams, Bpr, BprParams, ImplicitAls};
use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::error::{RecommendError, Result};
use crate::interactions::Interactions;

/// Which learner turns the interactions into scores.
#[cfg(feature = "train")]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Learner {
    Als(AlsParams),
    Bpr(BprParams),
}

#[cfg(feature = "train")]
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

/// A matrix-factorisation model: the score of customer u for item i is `bias[i] + x_u · y_i` (ALS has no
/// bias; BPR learns one). Row-major factors, `factors` numbers per customer and per item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorModel {
    pub factors: usize,
    pub user_factors: Vec<f64>,
    pub item_factors: Vec<f64>,
    /// Per item; empty for none.
    #[serde(default)]
    pub item_bias: Vec<f64>,
}

impl FactorModel {
    pub fn users(&self) -> usize {
        self.user_factors.len() / self.factors.max(1)
    }

    pub fn items(&self) -> usize {
        self.item_factors.len() / self.factors.max(1)
    }

    /// Checks the shapes (whole vectors, one bias per item or none) and that every number is finite.
    pub fn validate(&self) -> Result<()> {
        let bad = |value: String, rule| {
            Err(RecommendError::Setting {
                name: "factor model",
                value,
                rule,
            })
        };
        if self.factors == 0 {
            return bad("0 factors".into(), "needs at least 1 factor");
        }
        if !self.user_factors.len().is_multiple_of(self.factors)
            || !self.item_factors.len().is_multiple_of(self.factors)
        {
            return bad(
                format!(
                    "{} customer and {} item numbers at {} factors",
                    self.user_factors.len(),
                    self.item_factors.len(),
                    self.factors
                ),
                "must be whole vectors",
            );
        }
        if !self.item_bias.is_empty() && self.item_bias.len() != self.items() {
            return bad(
                format!("{} biases for {} items", self.item_bias.len(), self.items()),
                "needs one bias per item or none",
            );
        }
        if let Some(x) = self
            .user_factors
            .iter()
            .chain(&self.item_factors)
            .chain(&self.item_bias)
            .find(|x| !x.is_finite())
        {
            return bad(x.to_string(), "every number must be finite");
        }
        Ok(())
    }

    /// Fills `out` (one slot per item) with the customer's scores; an unknown customer gets the biases alone.
    pub fn score_items(&self, user: u32, out: &mut [f64]) {
        let k = self.factors;
        let u = user as usize;
        let bias = |i: usize| self.item_bias.get(i).copied().unwrap_or(0.0);
        let Some(x) = self.user_factors.get(u * k..(u + 1) * k) else {
            out.iter_mut().enumerate().for_each(|(i, v)| *v = bias(i));
            return;
        };
        for (i, (o, y)) in out
            .iter_mut()
            .zip(self.item_factors.chunks_exact(k))
            .enumerate()
        {
            *o = bias(i) + x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
        }
    }
}

#[cfg(feature = "train")]
impl From<ImplicitAls> for FactorModel {
    fn from(m: ImplicitAls) -> Self {
        FactorModel {
            factors: m.params.factors,
            user_factors: m.user_factors,
            item_factors: m.item_factors,
            item_bias: Vec::new(),
        }
    }
}

#[cfg(feature = "train")]
impl From<Bpr> for FactorModel {
    fn from(m: Bpr) -> Self {
        FactorModel {
            factors: m.params.factors,
            user_factors: m.user_factors,
            item_factors: m.item_factors,
            item_bias: m.item_bias,
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
    model: FactorModel,
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
    #[cfg(feature = "train")]
    pub fn fit(
        interactions: &Interactions,
        learner: &Learner,
        segment_of: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        interactions.require_data()?;
        let ratings = interactions.ratings();
        let (users, items) = (interactions.user_ids().len(), interactions.item_ids().len());
        let model = match learner {
            Learner::Als(p) => FactorModel::from(ImplicitAls::fit(users, items, &ratings, p)?),
            Learner::Bpr(p) => FactorModel::from(Bpr::fit(users, items, &ratings, p)?),
        };
        Self::from_factors(interactions, model, segment_of)
    }

    /// A recommender over a factor model fitted on `interactions`' customer and item indices (customer u of the
    /// model is `interactions.user_ids()[u]`, item i is `interactions.item_ids()[i]`): the popularity of the
    /// interactions, overall and per segment, and the scale of the model's scores.
    pub fn from_factors(
        interactions: &Interactions,
        model: FactorModel,
        segment_of: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        interactions.require_data()?;
        model.validate()?;
        let (users, items) = (interactions.user_ids().len(), interactions.item_ids().len());
        if model.users() != users || model.items() != items {
            return Err(RecommendError::Setting {
                name: "factor model",
                value: format!("{} customers, {} items", model.users(), model.items()),
                rule: "must match the interactions' customers and items",
            });
        }
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
        let mut positives = Vec::with_capacity(interactions.len());
        let mut last_user = None;
        for (user, item, _) in interactions.pairs() {
            if last_user != Some(user) {
                model.score_items(user, &mut scores);
                last_user = Some(user);
            }
            positives.push(scores[item as usize]);
        }
        positives.sort_by(f64::total_cmp);
        let q = positives
            .get(((positives.len().max(1) - 1) as f64 * 0.99).round() as usize)
            .copied()
            .unwrap_or(1.0);
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

    /// Checks a recommender read from outside (an artifact): the model's shapes against its ids and
    /// popularity, finite numbers, a positive scale.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        let items = self.item_ids.len();
        let shapes_agree = self.model.items() == items
            && self.model.users() == self.user_index.len()
            && self.item_index.len() == items
            && self.popularity.len() == items
            && self.segment_popularity.values().all(|p| p.len() == items)
            && self
                .user_index
                .values()
                .all(|&u| (u as usize) < self.user_index.len())
            && self
                .item_index
                .iter()
                .all(|(id, &i)| self.item_ids.get(i as usize) == Some(id));
        if !shapes_agree {
            return Err(RecommendError::Setting {
                name: "recommender",
                value: format!(
                    "{} customers, {} items, model of {} x {}",
                    self.user_index.len(),
                    items,
                    self.model.users(),
                    self.model.items()
                ),
                rule: "ids, popularity and model must have the same customers and items",
            });
        }
        if !(self.score_scale > 0.0 && self.score_scale.is_finite())
            || self
                .popularity
                .iter()
                .chain(self.segment_popularity.values().flatten())
                .any(|p| !p.is_finite())
        {
            return Err(RecommendError::Setting {
                name: "recommender",
                value: self.score_scale.to_string(),
                rule: "scale must be finite and > 0, popularity finite",
            });
        }
        Ok(())
    }

    /// The factor model behind the personal scores.
    pub fn factor_model(&self) -> &FactorModel {
        &self.model
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
            self.model.score_items(u, out);
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
