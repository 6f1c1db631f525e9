//! The true response model: purchase probability and expected profit of any offer.
//!
//! For a customer with response type `T`, per-visit propensity `q`, price elasticity `e`, and an
//! offer of depth `d` (the fraction of the basket it takes off), the lift fraction is
//!
//! ```text
//! L(d) = 1 - (1 - c) * (1 - d)^e        (0 without an offer)
//! ```
//!
//! where `c` is the coupon effect (a coupon moves people beyond its price, so `L(0) = c` for a
//! content-only offer). `L` rises with depth with diminishing returns, faster for elastic customers.
//! The per-visit purchase probability is then
//!
//! | type         | no offer | offer          |
//! |--------------|----------|----------------|
//! | persuadable  | 0        | `q * L(d)`     |
//! | sure thing   | `q`      | `q`            |
//! | lost cause   | 0        | 0              |
//! | sleeping dog | `q`      | `q * (1 - s)`  |
//!
//! with `s` the sleeping-dog penalty. Fraud accounts follow their own rules (see [`crate::fraud`]).
//! Given a purchase, the basket's expected list value `V` and cost `C` follow from the customer's
//! category preference and basket size; the expected profit of an offer is `p * ((1 - d) V - C)`
//! and its expected cost (discount paid on redemption) is `p * d * V`.

use discount_core::Offer;
use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::config::SimConfig;
use crate::customer::{Population, ResponseType};
use crate::fraud::FraudKind;

/// The truth about one offer for one customer at one visit (amounts in minor units, expected).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OfferTruth {
    /// Probability of a purchase at this visit.
    pub p_buy: f64,
    /// Expected paid revenue (after the discount).
    pub expected_revenue: f64,
    /// Expected discount paid (the offer's expected cost against the budget).
    pub expected_cost: f64,
    /// Expected gross profit: revenue minus cost of goods.
    pub expected_profit: f64,
}

/// How an offer applies to a basket of expected list value `basket`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OfferTerms {
    /// Whether anything was offered (a coupon exists).
    pub is_offer: bool,
    /// Fraction of the basket taken off, in [0, 1).
    pub depth: f64,
}

impl OfferTerms {
    pub fn of(offer: &Offer, basket: f64, shipping_fee: i64) -> Self {
        let amount_depth = |amount: f64, min_spend: f64| {
            if basket <= 0.0 || basket < min_spend {
                0.0
            } else {
                (amount / basket).min(0.99)
            }
        };
        match offer {
            Offer::NoOffer => OfferTerms {
                is_offer: false,
                depth: 0.0,
            },
            Offer::PercentOff { percent } => OfferTerms {
                is_offer: true,
                depth: (percent / 100.0).clamp(0.0, 0.99),
            },
            Offer::AmountOff { amount, min_spend } => OfferTerms {
                is_offer: true,
                depth: amount_depth(*amount as f64, *min_spend as f64),
            },
            Offer::FreeShipping => OfferTerms {
                is_offer: true,
                depth: amount_depth(shipping_fee as f64, 0.0),
            },
            Offer::Content { .. } => OfferTerms {
                is_offer: true,
                depth: 0.0,
            },
        }
    }
}

/// The lift fraction `L(d)`.
pub fn lift(terms: OfferTerms, elasticity: f64, coupon_effect: f64) -> f64 {
    if !terms.is_offer {
        return 0.0;
    }
    1.0 - (1.0 - coupon_effect) * (1.0 - terms.depth).powf(elasticity)
}

/// The latent traits the truth depends on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Traits {
    pub response: ResponseType,
    pub fraud: FraudKind,
    pub propensity: f64,
    pub elasticity: f64,
    pub favourite: usize,
    pub loyalty: f64,
    pub basket_lines: f64,
}

impl Traits {
    pub fn of(pop: &Population, i: usize) -> Self {
        Traits {
            response: pop.response[i],
            fraud: pop.fraud[i],
            propensity: pop.propensity[i] as f64,
            elasticity: pop.elasticity[i] as f64,
            favourite: pop.favourite[i] as usize,
            loyalty: pop.loyalty[i] as f64,
            basket_lines: pop.basket_lines[i] as f64,
        }
    }
}

/// The parameters that turn traits and an offer into truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrueModel {
    pub coupon_effect: f64,
    pub sleeping_dog_penalty: f64,
    pub quantity_extra: f64,
    pub shipping_fee: i64,
    pub farmer_buy_prob: f64,
    pub reseller_min_percent: f64,
    pub reseller_buy_prob: f64,
    pub reseller_mean_quantity: f64,
    pub brusher_mean_orders: f64,
    /// Expected list price and cost per category, then of a category drawn by the global shares.
    pub category_means: Vec<(f64, f64)>,
    pub global_means: (f64, f64),
    pub cheapest: (f64, f64),
}

/// Probability that a farmer account buys without an offer.
pub const FARMER_BASE_BUY: f64 = 0.01;

impl TrueModel {
    pub fn new(config: &SimConfig, catalogue: &Catalogue) -> Self {
        let f = &config.fraud;
        TrueModel {
            coupon_effect: config.response.coupon_effect,
            sleeping_dog_penalty: config.response.sleeping_dog_penalty,
            quantity_extra: config.behaviour.quantity_extra,
            shipping_fee: config.behaviour.shipping_fee,
            farmer_buy_prob: f.farmer_buy_prob,
            reseller_min_percent: f.reseller_min_percent,
            reseller_buy_prob: f.reseller_buy_prob,
            reseller_mean_quantity: (f.reseller_quantity[0] + f.reseller_quantity[1]) as f64 / 2.0,
            brusher_mean_orders: (f.brusher_orders_per_burst[0] + f.brusher_orders_per_burst[1])
                as f64
                / 2.0,
            category_means: catalogue
                .category_means
                .iter()
                .map(|m| (m.price, m.cost))
                .collect(),
            global_means: (catalogue.global_means.price, catalogue.global_means.cost),
            cheapest: (
                catalogue.price[catalogue.cheapest] as f64,
                catalogue.cost[catalogue.cheapest] as f64,
            ),
        }
    }

    /// Expected list value and cost of one line's item for these traits.
    fn line(&self, t: &Traits) -> (f64, f64) {
        let (fp, fc) = self
            .category_means
            .get(t.favourite)
            .copied()
            .unwrap_or(self.global_means);
        (
            t.loyalty * fp + (1.0 - t.loyalty) * self.global_means.0,
            t.loyalty * fc + (1.0 - t.loyalty) * self.global_means.1,
        )
    }

    /// Expected list value and cost of the basket bought at a visit (given a purchase).
    pub fn basket(&self, t: &Traits, burst: bool) -> (f64, f64) {
        let (p, c) = self.line(t);
        match t.fraud {
            FraudKind::None => {
                let units = t.basket_lines * (1.0 + self.quantity_extra);
                (units * p, units * c)
            }
            FraudKind::CouponFarmer => (p, c),
            FraudKind::Reseller => (
                self.reseller_mean_quantity * p,
                self.reseller_mean_quantity * c,
            ),
            FraudKind::OrderBrusher if burst => (self.cheapest.0, self.cheapest.1),
            FraudKind::OrderBrusher => (p, c),
        }
    }

    /// Probability of a purchase at a visit under `terms` (`burst`: a brushing ring's burst day).
    pub fn purchase_probability(&self, t: &Traits, terms: OfferTerms, burst: bool) -> f64 {
        match t.fraud {
            FraudKind::CouponFarmer => {
                if terms.is_offer && terms.depth > 0.0 {
                    self.farmer_buy_prob
                } else {
                    FARMER_BASE_BUY
                }
            }
            FraudKind::Reseller => {
                if terms.is_offer && terms.depth * 100.0 >= self.reseller_min_percent - 1e-9 {
                    self.reseller_buy_prob
                } else {
                    0.0
                }
            }
            FraudKind::OrderBrusher => {
                if burst {
                    1.0
                } else {
                    0.0
                }
            }
            FraudKind::None => match t.response {
                ResponseType::Persuadable => {
                    t.propensity * lift(terms, t.elasticity, self.coupon_effect)
                }
                ResponseType::SureThing => t.propensity,
                ResponseType::LostCause => 0.0,
                ResponseType::SleepingDog => {
                    if terms.is_offer {
                        t.propensity * (1.0 - self.sleeping_dog_penalty)
                    } else {
                        t.propensity
                    }
                }
            },
        }
    }

    /// The truth of `offer` for a customer with traits `t` at a visit.
    pub fn evaluate(&self, t: &Traits, offer: &Offer, burst: bool) -> OfferTruth {
        let (value, cost) = self.basket(t, burst);
        let terms = OfferTerms::of(offer, value, self.shipping_fee);
        let p = self.purchase_probability(t, terms, burst);
        // Brushers place several orders per burst; the coupon applies to the first only.
        let orders = if t.fraud == FraudKind::OrderBrusher && burst {
            self.brusher_mean_orders
        } else {
            1.0
        };
        let discount = terms.depth * value;
        let revenue = orders * value - discount;
        OfferTruth {
            p_buy: p,
            expected_revenue: p * revenue,
            expected_cost: p * discount,
            expected_profit: p * (revenue - orders * cost),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traits(response: ResponseType) -> Traits {
        Traits {
            response,
            fraud: FraudKind::None,
            propensity: 0.5,
            elasticity: 3.0,
            favourite: 0,
            loyalty: 0.5,
            basket_lines: 1.5,
        }
    }

    fn model() -> TrueModel {
        TrueModel {
            coupon_effect: 0.1,
            sleeping_dog_penalty: 0.5,
            quantity_extra: 0.0,
            shipping_fee: 500,
            farmer_buy_prob: 0.9,
            reseller_min_percent: 20.0,
            reseller_buy_prob: 0.8,
            reseller_mean_quantity: 20.0,
            brusher_mean_orders: 5.0,
            category_means: vec![(1000.0, 600.0)],
            global_means: (2000.0, 1000.0),
            cheapest: (100.0, 80.0),
        }
    }

    #[test]
    fn deeper_offers_persuade_more_with_diminishing_returns() {
        let m = model();
        let t = traits(ResponseType::Persuadable);
        let p = |pct: f64| {
            let offer = if pct == 0.0 {
                Offer::NoOffer
            } else {
                Offer::PercentOff { percent: pct }
            };
            m.evaluate(&t, &offer, false).p_buy
        };
        assert_eq!(p(0.0), 0.0);
        let (p10, p20, p30) = (p(10.0), p(20.0), p(30.0));
        assert!(p10 > 0.0 && p20 > p10 && p30 > p20);
        assert!(p20 - p10 < p10 - 0.05, "diminishing: {p10} {p20} {p30}");
        assert!(p30 - p20 < p20 - p10);
        // A content offer moves persuadables by the coupon effect alone.
        let content = m
            .evaluate(
                &t,
                &Offer::Content {
                    name: "mail".into(),
                },
                false,
            )
            .p_buy;
        assert!((content - 0.5 * 0.1).abs() < 1e-12);
    }

    #[test]
    fn types_respond_as_named() {
        let m = model();
        let ten = Offer::PercentOff { percent: 10.0 };
        let inc = |r| {
            let t = traits(r);
            m.evaluate(&t, &ten, false).expected_profit
                - m.evaluate(&t, &Offer::NoOffer, false).expected_profit
        };
        assert!(inc(ResponseType::Persuadable) > 0.0);
        assert!(inc(ResponseType::SureThing) < 0.0);
        assert_eq!(inc(ResponseType::LostCause), 0.0);
        assert!(inc(ResponseType::SleepingDog) < 0.0);
        // Expected cost is the discount on the expected basket times the purchase probability.
        let t = traits(ResponseType::SureThing);
        let truth = m.evaluate(&t, &ten, false);
        let value = 1.5 * 1500.0;
        assert!((truth.expected_cost - 0.5 * 0.1 * value).abs() < 1e-9);
    }

    #[test]
    fn fraud_rules() {
        let m = model();
        let mut t = traits(ResponseType::LostCause);
        t.fraud = FraudKind::Reseller;
        assert_eq!(
            m.evaluate(&t, &Offer::PercentOff { percent: 10.0 }, false)
                .p_buy,
            0.0
        );
        assert_eq!(
            m.evaluate(&t, &Offer::PercentOff { percent: 20.0 }, false)
                .p_buy,
            0.8
        );
        t.fraud = FraudKind::CouponFarmer;
        assert_eq!(
            m.evaluate(&t, &Offer::PercentOff { percent: 5.0 }, false)
                .p_buy,
            0.9
        );
    }
}
