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
    /// `ln(1 + max(x, 0))` of a profile feature, named `log1p(name)`: counts, amounts and days
    /// are heavy-tailed, and a linear model reads them better on this scale.
    Log1p(usize),
}

impl FeatureSource {
    fn value(&self, vector: &[f64]) -> f64 {
        let at = |i: &usize| vector.get(*i).copied().unwrap_or(0.0);
        match self {
            Self::Bias => 1.0,
            Self::Profile(i) => at(i),
            Self::Log1p(i) => at(i).max(0.0).ln_1p(),
        }
    }
}

/// Maps an engine's feature names onto the profile's feature vector.
pub fn feature_sources(config: &EngineConfig) -> Result<Vec<FeatureSource>, PolicyError> {
    sources_of(&config.name, &config.model.features)
}

/// Maps feature names (`bias`, a profile feature, `log1p(<profile feature>)`) onto the profile's
/// feature vector; `engine` names the engine in errors.
pub fn sources_of(engine: &str, features: &[String]) -> Result<Vec<FeatureSource>, PolicyError> {
    let names: Vec<String> = FeatureSpec::base()
        .all_features()
        .into_iter()
        .map(|f| f.name)
        .collect();
    features
        .iter()
        .map(|f| {
            if f == "bias" {
                return Ok(FeatureSource::Bias);
            }
            let position = |name: &str| names.iter().position(|n| n == name);
            let source = match f.strip_prefix("log1p(").and_then(|r| r.strip_suffix(')')) {
                Some(inner) => position(inner).map(FeatureSource::Log1p),
                None => position(f).map(FeatureSource::Profile),
            };
            source.ok_or_else(|| PolicyError::UnknownFeature {
                engine: engine.to_string(),
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
    let features = sources.iter().map(|s| s.value(&vector)).collect();
    CustomerFacts {
        features,
        orders: u32::try_from(profile.orders).unwrap_or(u32::MAX),
        days_since_offer: days_since_offer(offers, now),
        profile: vector,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(features: &[&str]) -> EngineConfig {
        let mut config = crate::engine::tests::config();
        config.model.features = features.iter().map(|f| f.to_string()).collect();
        config
    }

    #[test]
    fn a_log1p_feature_reads_its_profile_feature_on_the_log_scale() {
        let sources = feature_sources(&config_with(&[
            "bias",
            "orders_total",
            "log1p(orders_total)",
        ]))
        .expect("known features");
        let orders = FeatureSpec::base()
            .all_features()
            .iter()
            .position(|f| f.name == "orders_total")
            .expect("orders_total is a base feature");
        assert_eq!(
            sources,
            [
                FeatureSource::Bias,
                FeatureSource::Profile(orders),
                FeatureSource::Log1p(orders)
            ]
        );
        let mut vector = vec![0.0; orders + 1];
        vector[orders] = 6.0;
        let values: Vec<f64> = sources.iter().map(|s| s.value(&vector)).collect();
        assert_eq!(values, [1.0, 6.0, 7f64.ln()]);
    }

    #[test]
    fn an_unknown_feature_inside_log1p_is_refused_by_name() {
        for bad in ["log1p(nope)", "log1p(orders_total", "ln(orders_total)"] {
            let err = feature_sources(&config_with(&["bias", bad])).expect_err(bad);
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }
}
