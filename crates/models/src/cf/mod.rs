//! Collaborative filtering: user and item embeddings learnt from who rated or bought what.
//!
//! - Explicit ratings: [`svd::BiasedMf`] (biased matrix factorisation by SGD) and
//!   [`svdpp::SvdPlusPlus`] (adds the implicit signal of which items a user rated), scored by
//!   k-fold cross-validated RMSE ([`evaluate::cross_validate`]).
//! - Implicit feedback (views, orders): [`als::ImplicitAls`] (confidence-weighted alternating
//!   least squares) and [`bpr::Bpr`] (pairwise ranking), scored by precision and NDCG at k
//!   against a [`ranking::Popularity`] baseline ([`ranking::evaluate_top_k`]).
//!
//! [`events::ShopInteractions`] turns a shop's views, carts and orders into implicit feedback
//! split in time.
//!
//! A fitted model is saved as a [`served::ServedCf`] artifact (model plus external ids).
//!
//! All randomness (initialisation, visiting order, folds, negative sampling) is seeded.

pub mod als;
pub mod bpr;
pub mod data;
pub mod evaluate;
pub mod events;
pub mod ranking;
pub mod served;
pub mod sparse;
pub mod split;
pub mod svd;
pub mod svdpp;

pub use als::{AlsParams, ImplicitAls};
pub use bpr::{Bpr, BprParams};
pub use data::{read_recbole_inter, Rating, Ratings};
pub use evaluate::{
    cross_validate, cross_validate_assigned, implicit_split, FoldScore, RatingModel,
};
pub use events::{ImplicitWeights, ShopInteractions, TimeSplit};
pub use ranking::{evaluate_top_k, Popularity, RankingReport, Scorer};
pub use served::{CfModel, ServedCf};
pub use svd::{BiasedMf, SgdParams};
pub use svdpp::SvdPlusPlus;
