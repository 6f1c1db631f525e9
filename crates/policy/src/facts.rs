//! A customer's facts as of a moment, from their events and offer history: the one function the
//! service decides with, and that the simulated shop's closed loop decides with, so that both
//! score the same numbers.

use std::collections::BTreeMap;

use discount_core::time::MICROS_PER_DAY;
use discount_core::{Event, Timestamp};
use discount_features::{point_in_time, Catalog, CustomerEmbeddings, FeatureSpec, Profile};

use crate::engine::{CustomerFacts, EngineConfig};
use crate::error::PolicyError;

/// How far back a customer's offer history is read for frequency rules ("once per N days").
pub const OFFER_HISTORY_DAYS: i64 = 366;
/// Most past decisions read for the offer history.
pub const OFFER_HISTORY_DECISIONS: usize = 500;

/// Where each of an engine's model features comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FeatureSource {
    /// The constant 1.
    Bias,
    /// Position in the profile's feature vector ([`FeatureSpec::base`]).
    Profile(usize),
}

/// Maps an engine's feature names onto the profile's feature vector.
pub fn feature_sources(config: &EngineConfig) -> Result<Vec<FeatureSource>, PolicyError> {
    let names: Vec<String> = FeatureSpec::base()
        .all_features()
        .into_iter()
        .map(|f| f.name)
        .collect();
    config
        .model
        .features
        .iter()
        .map(|f| {
            if f == "bias" {
                return Ok(FeatureSource::Bias);
            }
            names
                .iter()
                .position(|n| n == f)
                .map(FeatureSource::Profile)
                .ok_or_else(|| PolicyError::UnknownFeature {
                    engine: config.name.clone(),
                    feature: f.clone(),
                    known: names.join(", "),
                })
        })
        .collect()
}

/// Whole days since each rung was last served; `offers` are (rung id, decision time), latest
/// first.
pub fn days_since_offer(offers: &[(String, i64)], now: Timestamp) -> BTreeMap<String, u32> {
    let mut days = BTreeMap::new();
    for (offer, at) in offers {
        let d = ((now.0 - at).max(0) / MICROS_PER_DAY) as u32;
        days.entry(offer.clone()).or_insert(d);
    }
    days
}

/// The customer's facts as of `now`: the profile built from their events up to `now` (the
/// function training rows use), extended with their learned vector when `embeddings` are given,
/// the engine's features picked from it by `sources`, and the offers given before.
pub fn customer_facts(
    customer: &str,
    events: &[Event],
    catalog: &Catalog,
    offers: &[(String, i64)],
    now: Timestamp,
    embeddings: Option<&CustomerEmbeddings>,
    sources: &[FeatureSource],
) -> Result<(Profile, CustomerFacts), PolicyError> {
    let (profile, vector) = point_in_time(customer, events, catalog, now)
        .map_err(|e| PolicyError::Features(e.to_string()))?;
    let facts = facts_of_profile(customer, &profile, vector, offers, now, embeddings, sources);
    Ok((profile, facts))
}

/// The customer's facts from their profile and base feature vector as of `now` (from
/// [`point_in_time`], or from a profile state kept up to date, which gives the same values):
/// what [`customer_facts`] builds after the profile.
pub fn facts_of_profile(
    customer: &str,
    profile: &Profile,
    mut vector: Vec<f64>,
    offers: &[(String, i64)],
    now: Timestamp,
    embeddings: Option<&CustomerEmbeddings>,
    sources: &[FeatureSource],
) -> CustomerFacts {
    if let Some(e) = embeddings {
        e.extend(customer, &mut vector);
    }
    let features = sources
        .iter()
        .map(|s| match s {
            FeatureSource::Bias => 1.0,
            FeatureSource::Profile(i) => vector.get(*i).copied().unwrap_or(0.0),
        })
        .collect();
    CustomerFacts {
        features,
        orders: u32::try_from(profile.orders).unwrap_or(u32::MAX),
        days_since_offer: days_since_offer(offers, now),
        profile: vector,
    }
}
