//! Recommendations for the discount engine: which products to show a customer, in which order, each with the
//! offer (or none) that earns the most expected incremental profit within the budget.
//!
//! * [`interactions`]: implicit feedback from the store's events (views, carts, orders), weighted by kind and
//!   decayed with age, read as of a point in time.
//! * [`model`]: a [`Recommender`] fitted with the workspace's ALS or BPR (feature `train`), kept as a plain
//!   [`FactorModel`]; new customers get popularity of their segment, new products the scores of their category
//!   and price neighbours.
//! * [`catalogue`]: prices, costs, stock and categories of what can be shown.
//! * [`rank`]: the slate — exclusions (out of stock, just bought, excluded), expected profit per slot,
//!   category caps, and Plackett-Luce exploration whose exact ranking probability is logged for slate
//!   off-policy evaluation (`discount_eval::ope::slate`).
//! * [`offers`]: the offer per slot, chosen at the budget's shadow price from the policy's offer ladder.
//! * [`served`]: the registry's `recommend` artifact (recommender, catalogue, slate and offer settings) that
//!   `discount serve` answers `POST /v1/recommendations` with; it needs no learning stack.
//! * `bench` (feature `train`): serving latency at a fixed arrival rate on a synthetic shop
//!   (`discount bench recommend`).
//!
//! Serving a recommender (here with hand-made one-factor vectors; `Recommender::fit` learns them):
//!
//! ```
//! use discount_core::{Event, EventKind, Timestamp};
//! use discount_recommend::{
//!     Catalogue, CatalogueItem, EventWeights, FactorModel, Interactions, Recommender, Scratch, SlateBuilder,
//!     SlateRequest, SlateSettings,
//! };
//!
//! let now = Timestamp::from_date(2024, 6, 1).unwrap();
//! let mut events = Interactions::new(EventWeights::default(), now)?;
//! for (k, (user, item)) in [("ann", "tea"), ("ann", "mug"), ("bob", "tea"), ("bob", "pot")].iter().enumerate() {
//!     events.push(&Event {
//!         id: k.to_string(),
//!         user_id: user.to_string(),
//!         time: now,
//!         kind: EventKind::View { item_id: Some(item.to_string()) },
//!     });
//! }
//! // Customers ann, bob; items tea, mug, pot (in order of first appearance).
//! let factors = FactorModel {
//!     factors: 1, user_factors: vec![1.0, 1.0], item_factors: vec![1.0, 0.2, 0.6], item_bias: vec![],
//! };
//! let recommender = Recommender::from_factors(&events, factors, &|_| None)?;
//! let item = |id: &str, category: &str| CatalogueItem {
//!     id: id.into(), category: category.into(), price: 1000, unit_cost: Some(600), stock: None,
//! };
//! let catalogue = Catalogue::new(vec![item("tea", "drinks"), item("mug", "kitchen"), item("pot", "kitchen")])?;
//! let settings = SlateSettings::default();
//! let builder = SlateBuilder {
//!     recommender: &recommender, catalogue: &catalogue, history: Some(&events), settings: &settings, offers: None,
//!     catalogue_map: None,
//! };
//! let request = SlateRequest { user_id: "ann".into(), k: 2, now: Some(now), ..Default::default() };
//! let slate = builder.build(&request, &mut Scratch::default(), &mut rand::thread_rng())?;
//! let shown: Vec<&str> = slate.slots.iter().map(|s| s.item_id.as_str()).collect();
//! assert_eq!(shown, ["tea", "pot"]); // best scores first
//! assert_eq!(slate.propensity, 1.0); // ranked greedily
//! # Ok::<(), discount_recommend::RecommendError>(())
//! ```
//!
//! Randomness (model initialisation, exploration) is seeded by the caller.

#[cfg(feature = "train")]
pub mod bench;
pub mod catalogue;
pub mod error;
pub mod interactions;
pub mod model;
pub mod offers;
pub mod rank;
pub mod served;

pub use catalogue::{Catalogue, CatalogueItem};
pub use error::{RecommendError, Result};
pub use interactions::{EventWeights, Interactions};
#[cfg(feature = "train")]
pub use model::Learner;
pub use model::{FactorModel, Recommender, ScoreSource};
pub use offers::{best_offer, OfferSettings, SlotOffer};
pub use rank::{examination, Scratch, Slate, SlateBuilder, SlateRequest, SlateSettings, Slot};
