//! One customer's slate: candidates, exclusions, expected profit, category caps, exploration with a logged
//! propensity, and an offer per slot.
//!
//! Each catalogue item's purchase probability at slot k is `base_purchase_rate × clamp(score, 0, 1) ×
//! examination(k)` with examination(k) = 1 / log2(k + 2) (the DCG discount: lower slots are seen less), and its
//! value is that probability times its unit margin. Ranking by value at the top slot also maximises the
//! slate's total expected profit, because examination multiplies every item alike.
//!
//! Exploration draws the slate by Plackett-Luce over the candidate pool with logits value / (temperature × the
//! pool's largest value), items of a full category masked out; the probability of each slot given the slots
//! above is logged, and their product is the exact probability of the shown ranking.

use std::collections::{HashMap, HashSet};

use discount_core::Timestamp;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::error::{RecommendError, Result};
use crate::interactions::Interactions;
use crate::model::{CatalogueMap, Recommender, ScoreSource};
use crate::offers::{best_offer, OfferSettings, SlotOffer};

/// How slates are built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlateSettings {
    /// At most this many slots of one category.
    pub category_cap: usize,
    /// Items bought within this many days are left out.
    pub rebuy_days: f64,
    /// Purchase probability of a perfectly matched item at the top slot.
    pub base_purchase_rate: f64,
    /// Cost as a share of price when an item has no unit cost.
    pub cost_ratio: f64,
    /// Exploration draws among this many best candidates.
    pub pool: usize,
}

impl Default for SlateSettings {
    fn default() -> Self {
        SlateSettings {
            category_cap: 3,
            rebuy_days: 30.0,
            base_purchase_rate: 0.1,
            cost_ratio: 0.7,
            pool: 50,
        }
    }
}

impl SlateSettings {
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: String, rule| Err(RecommendError::Setting { name, value, rule });
        if self.category_cap == 0 {
            return bad("category_cap", "0".into(), "must be at least 1");
        }
        if self.pool == 0 {
            return bad("pool", "0".into(), "must be at least 1");
        }
        if !(self.rebuy_days >= 0.0 && self.rebuy_days.is_finite()) {
            return bad(
                "rebuy_days",
                self.rebuy_days.to_string(),
                "must be finite and >= 0",
            );
        }
        if !(self.base_purchase_rate > 0.0 && self.base_purchase_rate <= 1.0) {
            return bad(
                "base_purchase_rate",
                self.base_purchase_rate.to_string(),
                "must be in (0, 1]",
            );
        }
        if !(self.cost_ratio >= 0.0 && self.cost_ratio <= 1.0) {
            return bad(
                "cost_ratio",
                self.cost_ratio.to_string(),
                "must be in [0, 1]",
            );
        }
        Ok(())
    }
}

/// Examination probability of slot `k` (0 = top): 1 / log2(k + 2).
pub fn examination(k: usize) -> f64 {
    1.0 / ((k + 2) as f64).log2()
}

/// One request.
#[derive(Debug, Clone, Default)]
pub struct SlateRequest {
    pub user_id: String,
    /// The customer's segment, for a new customer's popularity.
    pub segment: Option<String>,
    /// Number of slots.
    pub k: usize,
    pub now: Option<Timestamp>,
    pub excluded_items: Vec<String>,
    pub excluded_categories: Vec<String>,
    /// Plackett-Luce temperature; `None` ranks greedily (propensity 1).
    pub temperature: Option<f64>,
    /// Most discount the whole slate may carry, minor units (`None`: no limit but the shadow price).
    pub budget_left: Option<i64>,
}

/// One recommended slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub position: usize,
    pub item_id: String,
    pub category: String,
    pub price: i64,
    pub score: f64,
    /// Without an offer, at this slot.
    pub purchase_probability: f64,
    /// Without an offer, at this slot, minor units.
    pub expected_profit: f64,
    /// Probability of drawing this item here given the slots above (1 when ranking greedily).
    pub conditional_propensity: f64,
    pub offer: Option<SlotOffer>,
}

/// A customer's slate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slate {
    pub user_id: String,
    pub source: ScoreSource,
    pub slots: Vec<Slot>,
    /// Exact probability of this ranking under the policy that drew it.
    pub propensity: f64,
    /// Expected profit of the slate with its offers, minor units.
    pub expected_profit: f64,
    /// Total discount reserved by the slate's offers if all were used, minor units.
    pub offered_discount: i64,
    pub excluded: ExclusionCounts,
}

/// How many catalogue items each rule left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExclusionCounts {
    pub out_of_stock: usize,
    pub just_bought: usize,
    pub excluded: usize,
    pub no_margin: usize,
}

/// Reusable per-thread buffers (serving allocates nothing large per request).
#[derive(Debug, Default)]
pub struct Scratch {
    model_scores: Vec<f64>,
    scores: Vec<f64>,
}

/// Builds slates from a fitted recommender, a catalogue and the recent purchases.
pub struct SlateBuilder<'a> {
    pub recommender: &'a Recommender,
    pub catalogue: &'a Catalogue,
    pub history: Option<&'a Interactions>,
    pub settings: &'a SlateSettings,
    pub offers: Option<&'a OfferSettings>,
    /// `recommender.map_catalogue(catalogue)`, computed once for serving; `None` computes it per request.
    pub catalogue_map: Option<&'a CatalogueMap>,
}

struct Candidate {
    index: usize,
    score: f64,
    value: f64,
    margin: i64,
}

impl SlateBuilder<'_> {
    /// The slate for one request; `rng` is only drawn from when exploring.
    pub fn build<R: Rng + ?Sized>(
        &self,
        request: &SlateRequest,
        scratch: &mut Scratch,
        rng: &mut R,
    ) -> Result<Slate> {
        self.settings.validate()?;
        if let Some(o) = self.offers {
            o.validate()?;
        }
        if request.k == 0 {
            return Err(input("k", "0", "must be at least 1"));
        }
        if let Some(t) = request.temperature {
            if !(t > 0.0 && t.is_finite()) {
                return Err(input(
                    "temperature",
                    &t.to_string(),
                    "must be finite and > 0",
                ));
            }
        }
        let computed;
        let map = match self.catalogue_map {
            Some(m) if m.len() == self.catalogue.len() => m,
            _ => {
                computed = self.recommender.map_catalogue(self.catalogue);
                &computed
            }
        };
        let source = self.recommender.scores_through(
            &request.user_id,
            request.segment.as_deref(),
            map,
            &mut scratch.model_scores,
            &mut scratch.scores,
        );
        let scores = &scratch.scores;
        let just_bought: HashSet<&str> = match (self.history, request.now) {
            (Some(h), Some(now)) => h
                .bought_since(&request.user_id, now.plus_days(-self.settings.rebuy_days))
                .into_iter()
                .collect(),
            _ => HashSet::new(),
        };
        let excluded_items: HashSet<&str> =
            request.excluded_items.iter().map(String::as_str).collect();
        let excluded_categories: HashSet<&str> = request
            .excluded_categories
            .iter()
            .map(String::as_str)
            .collect();
        let mut counts = ExclusionCounts::default();
        let mut candidates = Vec::new();
        let rate = self.settings.base_purchase_rate;
        for (index, item) in self.catalogue.items().iter().enumerate() {
            if excluded_items.contains(item.id.as_str())
                || excluded_categories.contains(item.category.as_str())
            {
                counts.excluded += 1;
                continue;
            }
            if !item.in_stock() {
                counts.out_of_stock += 1;
                continue;
            }
            if !just_bought.is_empty() && just_bought.contains(item.id.as_str()) {
                counts.just_bought += 1;
                continue;
            }
            let margin = item.margin(self.settings.cost_ratio);
            if margin <= 0 {
                counts.no_margin += 1;
                continue;
            }
            let score = scores[index];
            let value = rate * score.clamp(0.0, 1.0) * margin as f64;
            candidates.push(Candidate {
                index,
                score,
                value,
                margin,
            });
        }
        // Best value first; ties broken by catalogue order so that rankings are reproducible. Only the best
        // few need ordering: enough for the pool and for category caps to skip many; the rest follow unsorted
        // and are reached only when caps exhaust the sorted part (then everything is sorted).
        let order =
            |a: &Candidate, b: &Candidate| b.value.total_cmp(&a.value).then(a.index.cmp(&b.index));
        let head = self.settings.pool.max(request.k.saturating_mul(20));
        if candidates.len() > head {
            candidates.select_nth_unstable_by(head, order);
            candidates[..head].sort_by(order);
        } else {
            candidates.sort_by(order);
        }
        let chosen = match request.temperature {
            None => {
                let sorted = head.min(candidates.len());
                let mut chosen = self.greedy(&candidates[..sorted], request.k);
                if chosen.len() < request.k && candidates.len() > sorted {
                    candidates.sort_by(order);
                    chosen = self.greedy(&candidates, request.k);
                }
                chosen
            }
            Some(t) => self.sample(&candidates, request.k, t, rng)?,
        };
        let mut budget_left = request.budget_left.unwrap_or(i64::MAX);
        let mut slots = Vec::with_capacity(chosen.len());
        let (mut propensity, mut expected_profit, mut offered) = (1.0, 0.0, 0i64);
        for (position, (c, conditional)) in chosen.into_iter().enumerate() {
            let candidate = &candidates[c];
            let item = &self.catalogue.items()[candidate.index];
            let p = rate * candidate.score.clamp(0.0, 1.0) * examination(position);
            let profit = p * candidate.margin as f64;
            let offer = match self.offers {
                Some(o) => best_offer(o, item, candidate.margin, p, budget_left)?,
                None => None,
            };
            if let Some(o) = &offer {
                budget_left = budget_left.saturating_sub(o.discount);
                offered = offered
                    .checked_add(o.discount)
                    .ok_or(RecommendError::Overflow("the slate's discount"))?;
            }
            propensity *= conditional;
            expected_profit += profit + offer.as_ref().map_or(0.0, |o| o.incremental_profit);
            slots.push(Slot {
                position,
                item_id: item.id.clone(),
                category: item.category.clone(),
                price: item.price,
                score: candidate.score,
                purchase_probability: p,
                expected_profit: profit,
                conditional_propensity: conditional,
                offer,
            });
        }
        Ok(Slate {
            user_id: request.user_id.clone(),
            source,
            slots,
            propensity,
            expected_profit,
            offered_discount: offered,
            excluded: counts,
        })
    }

    /// Best first, skipping items of a full category.
    fn greedy(&self, candidates: &[Candidate], k: usize) -> Vec<(usize, f64)> {
        let mut per_category: HashMap<&str, usize> = HashMap::new();
        let mut out = Vec::with_capacity(k);
        for (c, candidate) in candidates.iter().enumerate() {
            if out.len() == k {
                break;
            }
            let category = self.catalogue.items()[candidate.index].category.as_str();
            let n = per_category.entry(category).or_insert(0);
            if *n < self.settings.category_cap {
                *n += 1;
                out.push((c, 1.0));
            }
        }
        out
    }

    /// Plackett-Luce over the pool, full categories masked; each pick with its conditional probability.
    fn sample<R: Rng + ?Sized>(
        &self,
        candidates: &[Candidate],
        k: usize,
        temperature: f64,
        rng: &mut R,
    ) -> Result<Vec<(usize, f64)>> {
        let pool = &candidates[..candidates.len().min(self.settings.pool)];
        let top = pool.iter().map(|c| c.value).fold(0.0, f64::max);
        let scale = if top > 0.0 {
            top * temperature
        } else {
            temperature
        };
        // Shifted by the largest logit, so the largest weight is 1 and nothing overflows.
        let mut weights: Vec<f64> = pool
            .iter()
            .map(|c| ((c.value - top) / scale).exp())
            .collect();
        let mut per_category: HashMap<&str, usize> = HashMap::new();
        let mut out = Vec::with_capacity(k);
        while out.len() < k {
            let total: f64 = weights.iter().sum();
            if total <= 0.0 {
                break;
            }
            let target = rng.gen::<f64>() * total;
            let mut cumulative = 0.0;
            let mut pick = None;
            for (c, &w) in weights.iter().enumerate() {
                if w <= 0.0 {
                    continue;
                }
                pick = Some(c);
                cumulative += w;
                if target < cumulative {
                    break;
                }
            }
            let Some(c) = pick else { break };
            out.push((c, weights[c] / total));
            weights[c] = 0.0;
            let category = self.catalogue.items()[pool[c].index].category.as_str();
            let n = per_category.entry(category).or_insert(0);
            *n += 1;
            if *n >= self.settings.category_cap {
                for (other, w) in pool.iter().zip(weights.iter_mut()) {
                    if self.catalogue.items()[other.index].category == category {
                        *w = 0.0;
                    }
                }
            }
        }
        Ok(out)
    }
}

fn input(field: &str, value: &str, message: &str) -> RecommendError {
    RecommendError::Input {
        place: "request".into(),
        field: field.into(),
        value: value.into(),
        message: message.into(),
    }
}
