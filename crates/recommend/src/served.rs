//! The registry's `recommend` model: what `discount recommend --register` stores and `discount serve` answers
//! `POST /v1/recommendations` with. It holds the fitted [`Recommender`] (plain vectors, no learning stack),
//! the catalogue it was registered with (prices, costs, categories, stock at that time), the slate settings,
//! the event weights (to read what a customer just bought) and the offer elasticity. The offer ladder, its
//! margin floor and the budget's shadow price are not in it: they are the serving policy's, as they stand
//! at the request.

use discount_core::{Event, Timestamp};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, CatalogueItem};
use crate::error::{RecommendError, Result};
use crate::interactions::{EventWeights, Interactions};
use crate::model::{CatalogueMap, Recommender};
use crate::offers::OfferSettings;
use crate::rank::{Scratch, Slate, SlateBuilder, SlateRequest, SlateSettings};

/// The registry kind of a served recommender.
pub const RECOMMEND_KIND: &str = "recommend";

/// The artifact of a `recommend` model (JSON in the registry).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendArtifact {
    pub recommender: Recommender,
    pub catalogue: Vec<CatalogueItem>,
    pub settings: SlateSettings,
    pub weights: EventWeights,
    /// Relative purchase lift per relative discount, for the offers.
    pub elasticity: f64,
}

/// A checked artifact, ready to answer requests: the catalogue indexed and mapped onto the model once.
#[derive(Debug, Clone)]
pub struct ServedRecommender {
    recommender: Recommender,
    catalogue: Catalogue,
    map: CatalogueMap,
    settings: SlateSettings,
    weights: EventWeights,
    elasticity: f64,
}

/// The serving policy's offer terms for one request.
#[derive(Debug, Clone)]
pub struct PolicyOffers {
    pub ladder: discount_policy::offers::Ladder,
    pub margin_floor: discount_policy::offers::MarginFloor,
    /// The budget's shadow price now.
    pub shadow_price: f64,
    /// What is left of the budget, minor units (`None`: not limited).
    pub budget_left: Option<i64>,
}

impl RecommendArtifact {
    /// Reads and checks an artifact's JSON.
    pub fn from_json(text: &str) -> Result<ServedRecommender> {
        let artifact: RecommendArtifact =
            serde_json::from_str(text).map_err(|e| RecommendError::Input {
                place: "recommend artifact".into(),
                field: "json".into(),
                value: format!("line {} column {}", e.line(), e.column()),
                message: e.to_string(),
            })?;
        artifact.check()
    }

    /// Checks the parts against each other and prepares them for serving.
    pub fn check(self) -> Result<ServedRecommender> {
        self.recommender.validate()?;
        self.settings.validate()?;
        self.weights.validate()?;
        if !(self.elasticity >= 0.0 && self.elasticity.is_finite()) {
            return Err(RecommendError::Setting {
                name: "elasticity",
                value: self.elasticity.to_string(),
                rule: "must be finite and >= 0",
            });
        }
        let catalogue = Catalogue::new(self.catalogue)?;
        if catalogue.is_empty() {
            return Err(RecommendError::Empty(
                "the artifact's catalogue has no items".into(),
            ));
        }
        let map = self.recommender.map_catalogue(&catalogue);
        Ok(ServedRecommender {
            recommender: self.recommender,
            catalogue,
            map,
            settings: self.settings,
            weights: self.weights,
            elasticity: self.elasticity,
        })
    }
}

impl ServedRecommender {
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    pub fn recommender(&self) -> &Recommender {
        &self.recommender
    }

    pub fn settings(&self) -> &SlateSettings {
        &self.settings
    }

    /// The slate for one request: `events` are the customer's stored events (for what they bought within
    /// the rebuy window; events after `request.now` are ignored), `offers` the serving policy's terms (none:
    /// slots carry no offer).
    pub fn recommend<R: Rng + ?Sized>(
        &self,
        request: &SlateRequest,
        events: &[Event],
        offers: Option<&PolicyOffers>,
        scratch: &mut Scratch,
        rng: &mut R,
    ) -> Result<Slate> {
        let now = request.now.unwrap_or(Timestamp(i64::MAX));
        let mut history = Interactions::new(self.weights, now)?;
        for e in events.iter().filter(|e| e.user_id == request.user_id) {
            history.push(e);
        }
        let offer_settings = offers.map(|o| OfferSettings {
            ladder: o.ladder.clone(),
            shadow_price: o.shadow_price,
            elasticity: self.elasticity,
            margin_floor: o.margin_floor,
        });
        let request = SlateRequest {
            budget_left: match (request.budget_left, offers.and_then(|o| o.budget_left)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            ..request.clone()
        };
        let builder = SlateBuilder {
            recommender: &self.recommender,
            catalogue: &self.catalogue,
            history: Some(&history),
            settings: &self.settings,
            offers: offer_settings.as_ref(),
            catalogue_map: Some(&self.map),
        };
        builder.build(&request, scratch, rng)
    }
}
