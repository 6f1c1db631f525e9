//! A trained response model: for each offer of the ladder, how likely the customer is to order,
//! and what profit and discount follow, given the customer's profile feature vector.
//!
//! It is a T-learner with a hurdle per offer: `P(order | x, offer)` is a logistic regression, and
//! the profit and coupon discount of an order are linear in `x`, each fitted on the decisions that
//! served that offer. So for offer `k`:
//!
//! ```text
//! conversion_k = sigmoid(order_k . z)
//! profit_k     = conversion_k * profit_if_order_k . z + (1 - conversion_k) * profit_if_none_k
//! spend_k      = conversion_k * max(discount_if_order_k . z, 0)
//! ```
//!
//! with `z = (x - centre) / scale`, clipped to [`Z_LIMIT`] standard deviations. The engine's uplift of offer `k` is `profit_k - profit_none`.
//! The model is plain numbers, so it is checked on load (lengths, finite values, positive scales)
//! and serves without any learning library.

use discount_eval::numerics::sigmoid;
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;
use crate::scoring::OfferScorer;

/// Standardised inputs are clipped to this many standard deviations of the training data: a
/// linear model must not extrapolate a count that was rare in training (one refund among
/// thousands of customers) into a certain order.
pub const Z_LIMIT: f64 = 8.0;

/// `bias + weights . z`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearTerm {
    pub bias: f64,
    pub weights: Vec<f64>,
}

impl LinearTerm {
    /// A constant.
    pub fn constant(bias: f64, dim: usize) -> Self {
        Self {
            bias,
            weights: vec![0.0; dim],
        }
    }

    pub fn eval(&self, z: &[f64]) -> f64 {
        self.bias + self.weights.iter().zip(z).map(|(w, v)| w * v).sum::<f64>()
    }

    fn check(&self, what: &str, dim: usize) -> Result<(), PolicyError> {
        if self.weights.len() != dim {
            return Err(PolicyError::Config {
                field: what.to_string(),
                value: format!("{} weights", self.weights.len()),
                rule: "must have one weight per feature",
            });
        }
        if !self.bias.is_finite() || self.weights.iter().any(|w| !w.is_finite()) {
            return Err(PolicyError::Config {
                field: what.to_string(),
                value: "a non-finite coefficient".into(),
                rule: "coefficients must be finite",
            });
        }
        Ok(())
    }
}

/// One offer's fitted response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OfferResponse {
    /// The ladder rung's id.
    pub offer_id: String,
    /// Decisions it was fitted on, and how many of them ordered.
    pub rows: u64,
    pub orders: u64,
    /// Logit of the order probability.
    pub order: LinearTerm,
    /// Profit of an attributed order, minor units.
    pub profit_if_order: LinearTerm,
    /// Coupon discount of an attributed order, minor units.
    pub discount_if_order: LinearTerm,
    /// Profit credited when nothing is ordered (the default reward), minor units.
    pub profit_if_none: f64,
}

/// What one offer is expected to bring a customer.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Response {
    pub conversion: f64,
    pub profit: f64,
    pub spend: f64,
}

/// The fitted model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseModel {
    /// Id of the feature spec the input vector follows (`discount_features::FeatureSpec::id`).
    pub feature_spec: String,
    /// Names of the inputs, in order.
    pub features: Vec<String>,
    /// Per input: `z = (x - centre) / scale`.
    pub centre: Vec<f64>,
    pub scale: Vec<f64>,
    pub offers: Vec<OfferResponse>,
}

impl ResponseModel {
    /// Checks the model is usable: one centre, scale and weight per feature, finite numbers,
    /// positive scales, offers named once.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let d = self.features.len();
        if self.centre.len() != d || self.scale.len() != d {
            return Err(PolicyError::Config {
                field: "response model".into(),
                value: format!(
                    "{d} features, {} centres, {} scales",
                    self.centre.len(),
                    self.scale.len()
                ),
                rule: "must have one centre and one scale per feature",
            });
        }
        if let Some(j) = (0..d).find(|&j| {
            !(self.centre[j].is_finite() && self.scale[j].is_finite() && self.scale[j] > 0.0)
        }) {
            return Err(PolicyError::Config {
                field: format!("response model scale of `{}`", self.features[j]),
                value: format!("centre {} scale {}", self.centre[j], self.scale[j]),
                rule: "must be finite with a scale > 0",
            });
        }
        for (i, o) in self.offers.iter().enumerate() {
            if self.offers[..i].iter().any(|p| p.offer_id == o.offer_id) {
                return Err(PolicyError::Config {
                    field: "response model offers".into(),
                    value: o.offer_id.clone(),
                    rule: "each offer must appear once",
                });
            }
            o.order.check(&format!("{}.order", o.offer_id), d)?;
            o.profit_if_order
                .check(&format!("{}.profit_if_order", o.offer_id), d)?;
            o.discount_if_order
                .check(&format!("{}.discount_if_order", o.offer_id), d)?;
            if !o.profit_if_none.is_finite() {
                return Err(PolicyError::Config {
                    field: format!("{}.profit_if_none", o.offer_id),
                    value: o.profit_if_none.to_string(),
                    rule: "must be finite",
                });
            }
        }
        Ok(())
    }

    /// The index of each of `offer_ids` in [`Self::offers`]; an error names the first offer the
    /// model has not learned.
    pub fn index_offers(&self, offer_ids: &[&str]) -> Result<Vec<usize>, PolicyError> {
        offer_ids
            .iter()
            .map(|id| {
                self.offers
                    .iter()
                    .position(|o| o.offer_id == *id)
                    .ok_or_else(|| PolicyError::Config {
                        field: "response model".into(),
                        value: (*id).to_string(),
                        rule: "must have learned every offer of the ladder; this one is missing",
                    })
            })
            .collect()
    }

    /// Standardises `x` into `z`.
    pub fn standardise(&self, x: &[f64], z: &mut Vec<f64>) -> Result<(), PolicyError> {
        if x.len() != self.features.len() {
            return Err(PolicyError::FeatureLength {
                expected: self.features.len(),
                got: x.len(),
            });
        }
        z.clear();
        for (j, v) in x.iter().enumerate() {
            if !v.is_finite() {
                return Err(PolicyError::BadFeature {
                    index: j,
                    value: *v,
                });
            }
            z.push(((v - self.centre[j]) / self.scale[j]).clamp(-Z_LIMIT, Z_LIMIT));
        }
        Ok(())
    }

    /// The response to offer `index` (in [`Self::offers`]) of a standardised vector.
    pub fn respond(&self, index: usize, z: &[f64]) -> Response {
        let o = &self.offers[index];
        let conversion = sigmoid(o.order.eval(z));
        Response {
            conversion,
            profit: conversion * o.profit_if_order.eval(z) + (1.0 - conversion) * o.profit_if_none,
            spend: conversion * o.discount_if_order.eval(z).max(0.0),
        }
    }

    /// Each input's part in the logit of ordering with offer `a` over offer `b`.
    pub fn logit_contributions(&self, a: usize, b: usize, z: &[f64]) -> Vec<(String, f64)> {
        let (wa, wb) = (&self.offers[a].order.weights, &self.offers[b].order.weights);
        self.features
            .iter()
            .enumerate()
            .map(|(j, name)| (name.clone(), (wa[j] - wb[j]) * z[j]))
            .collect()
    }
}

impl OfferScorer for ResponseModel {
    fn feature_spec(&self) -> &str {
        &self.feature_spec
    }

    fn index_offers(&self, offer_ids: &[&str]) -> Result<Vec<usize>, PolicyError> {
        ResponseModel::index_offers(self, offer_ids)
    }

    fn prepare(&self, x: &[f64], prepared: &mut Vec<f64>) -> Result<(), PolicyError> {
        self.standardise(x, prepared)
    }

    fn respond(&self, offer: usize, prepared: &[f64]) -> Response {
        ResponseModel::respond(self, offer, prepared)
    }

    fn contributions(&self, a: usize, b: usize, prepared: &[f64]) -> Vec<(String, f64)> {
        self.logit_contributions(a, b, prepared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> ResponseModel {
        let offer = |id: &str, logit: f64, w: f64| OfferResponse {
            offer_id: id.into(),
            rows: 10,
            orders: 5,
            order: LinearTerm {
                bias: logit,
                weights: vec![w],
            },
            profit_if_order: LinearTerm::constant(1_000.0, 1),
            discount_if_order: LinearTerm::constant(if id == "none" { 0.0 } else { 200.0 }, 1),
            profit_if_none: 0.0,
        };
        ResponseModel {
            feature_spec: "spec".into(),
            features: vec!["orders_total".into()],
            centre: vec![1.0],
            scale: vec![2.0],
            offers: vec![offer("none", 0.0, 0.0), offer("pct10", 0.0, 1.0)],
        }
    }

    #[test]
    fn hurdle_response() {
        let m = model();
        m.validate().unwrap();
        let mut z = Vec::new();
        m.standardise(&[3.0], &mut z).unwrap();
        assert_eq!(z, vec![1.0]);
        let none = m.respond(0, &z);
        assert!((none.conversion - 0.5).abs() < 1e-12);
        assert!((none.profit - 500.0).abs() < 1e-9);
        assert_eq!(none.spend, 0.0);
        let offer = m.respond(1, &z);
        let p = 1.0 / (1.0 + (-1.0f64).exp());
        assert!((offer.conversion - p).abs() < 1e-12);
        assert!((offer.spend - 200.0 * p).abs() < 1e-9);
        assert_eq!(m.index_offers(&["pct10", "none"]).unwrap(), vec![1, 0]);
        assert!(m.index_offers(&["pct20"]).is_err());
    }

    #[test]
    fn broken_models_are_refused() {
        let mut m = model();
        m.scale[0] = 0.0;
        assert!(m.validate().is_err());
        let mut m = model();
        m.offers[1].order.weights.push(1.0);
        assert!(m.validate().is_err());
        let mut m = model();
        m.offers[1].profit_if_order.bias = f64::NAN;
        assert!(m.validate().is_err());
        let mut m = model();
        m.offers[1].offer_id = "none".into();
        assert!(m.validate().is_err());
        let m = model();
        let mut z = Vec::new();
        assert!(m.standardise(&[1.0, 2.0], &mut z).is_err());
        assert!(m.standardise(&[f64::INFINITY], &mut z).is_err());
    }
}

#[cfg(test)]
mod engine_tests {
    use super::*;
    use crate::engine::{CustomerFacts, DecisionEngine, DecisionRequest, EngineConfig};
    use rand::SeedableRng;

    /// A trained lifetime value adds (conversion with the offer - without) x value to a
    /// prospect's offer, and nothing for a customer who has ordered.
    #[test]
    fn trained_lifetime_value_prices_first_orders() {
        let config = EngineConfig::from_toml_str(
            r#"
name = "t"
[[ladder]]
id = "none"
offer = { kind = "no_offer" }
[[ladder]]
id = "amt500"
offer = { kind = "amount_off", amount = 500, min_spend = 0 }
[exploration]
kind = "epsilon_greedy"
epsilon = 0.0
"#,
            "test",
        )
        .unwrap();
        let engine = DecisionEngine::new(config).unwrap();
        let offer = |id: &str, logit: f64| OfferResponse {
            offer_id: id.into(),
            rows: 10,
            orders: 5,
            order: LinearTerm::constant(logit, 1),
            profit_if_order: LinearTerm::constant(1_000.0, 1),
            discount_if_order: LinearTerm::constant(0.0, 1),
            profit_if_none: 0.0,
        };
        let model = ResponseModel {
            feature_spec: "s".into(),
            features: vec!["x".into()],
            centre: vec![0.0],
            scale: vec![1.0],
            offers: vec![offer("none", 0.0), offer("amt500", 1.0)],
        };
        engine.set_response_model("m", model).unwrap();
        let value = |orders: u32| {
            let facts = CustomerFacts {
                features: vec![1.0],
                orders,
                profile: vec![0.0],
                ..CustomerFacts::default()
            };
            let req = DecisionRequest {
                customer_id: "c".into(),
                ..DecisionRequest::default()
            };
            let mut rng = rand::rngs::StdRng::seed_from_u64(1);
            let d = engine.decide(&req, &facts, &mut rng).unwrap();
            assert_eq!(d.model_id.as_deref(), Some("m"));
            d.scores[1].expected_incremental_profit
        };
        let (prospect, buyer) = (value(0), value(3));
        engine.set_lifetime_value(Some(2_000.0)).unwrap();
        let lift = 1.0 / (1.0 + (-1.0f64).exp()) - 0.5;
        assert!((value(0) - prospect - lift * 2_000.0).abs() < 1e-6);
        assert!((value(3) - buyer).abs() < 1e-9);
        assert!(engine.set_lifetime_value(Some(f64::NAN)).is_err());
        engine.set_lifetime_value(None).unwrap();
        assert!((value(0) - prospect).abs() < 1e-9);
    }

    /// Any [`OfferScorer`] decides through the seam: a scorer that is not a response model (here
    /// one whose order probability rises with the discount for customers with `x > 0` and falls
    /// for the others) makes the engine choose by it, names it in the decision, and explains.
    #[test]
    fn any_scorer_decides_through_the_seam() {
        #[derive(Debug)]
        struct Threshold;
        impl OfferScorer for Threshold {
            fn feature_spec(&self) -> &str {
                "s"
            }
            fn index_offers(&self, ids: &[&str]) -> Result<Vec<usize>, PolicyError> {
                ids.iter()
                    .map(|id| match *id {
                        "none" => Ok(0),
                        "amt500" => Ok(1),
                        other => Err(PolicyError::Config {
                            field: "scorer".into(),
                            value: other.to_string(),
                            rule: "unknown offer",
                        }),
                    })
                    .collect()
            }
            fn prepare(&self, x: &[f64], prepared: &mut Vec<f64>) -> Result<(), PolicyError> {
                prepared.clear();
                prepared.extend_from_slice(x);
                Ok(())
            }
            fn respond(&self, offer: usize, prepared: &[f64]) -> Response {
                let moved = prepared[0] > 0.0;
                let conversion = match (offer, moved) {
                    (0, _) => 0.2,
                    (_, true) => 0.6,
                    (_, false) => 0.1,
                };
                Response {
                    conversion,
                    profit: conversion * 1_000.0,
                    spend: if offer == 0 { 0.0 } else { conversion * 500.0 },
                }
            }
            fn contributions(&self, _a: usize, _b: usize, x: &[f64]) -> Vec<(String, f64)> {
                vec![("x".into(), x[0])]
            }
        }
        let config = EngineConfig::from_toml_str(
            r#"
name = "t"
[[ladder]]
id = "none"
offer = { kind = "no_offer" }
[[ladder]]
id = "amt500"
offer = { kind = "amount_off", amount = 500, min_spend = 0 }
[[ladder]]
id = "amt900"
offer = { kind = "amount_off", amount = 900, min_spend = 0 }
[exploration]
kind = "epsilon_greedy"
epsilon = 0.0
"#,
            "test",
        )
        .unwrap();
        let engine = DecisionEngine::new(config).unwrap();
        // A scorer that has not learned a rung of the ladder is refused.
        assert!(engine
            .set_scorer("threshold", std::sync::Arc::new(Threshold))
            .is_err());
        assert_eq!(engine.response_model_id(), None);
        let config = EngineConfig::from_toml_str(
            r#"
name = "t"
[[ladder]]
id = "none"
offer = { kind = "no_offer" }
[[ladder]]
id = "amt500"
offer = { kind = "amount_off", amount = 500, min_spend = 0 }
[exploration]
kind = "epsilon_greedy"
epsilon = 0.0
"#,
            "test",
        )
        .unwrap();
        let engine = DecisionEngine::new(config).unwrap();
        engine
            .set_scorer("threshold", std::sync::Arc::new(Threshold))
            .unwrap();
        let decide = |x: f64| {
            let facts = CustomerFacts {
                features: vec![x],
                profile: vec![x],
                orders: 2,
                ..CustomerFacts::default()
            };
            let req = DecisionRequest {
                customer_id: "c".into(),
                explain: true,
                ..DecisionRequest::default()
            };
            let mut rng = rand::rngs::StdRng::seed_from_u64(1);
            engine.decide(&req, &facts, &mut rng).unwrap()
        };
        let moved = decide(1.0);
        assert_eq!(moved.offer_id, "amt500");
        assert_eq!(moved.model_id.as_deref(), Some("threshold"));
        assert!((moved.scores[1].expected_incremental_profit - 400.0).abs() < 1e-9);
        let explanation = moved.explanation.expect("asked for an explanation");
        assert_eq!(explanation.top_features[0].feature, "x");
        let unmoved = decide(-1.0);
        assert_eq!(unmoved.offer_id, "none");
    }
}
