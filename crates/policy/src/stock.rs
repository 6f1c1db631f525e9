//! Stock-aware offers: what a unit on the shelf is worth, so that the engine stops discounting
//! items about to run out and values clearing overstock.
//!
//! The engine's models score an offer in cost-of-goods terms: an extra unit sold earns its paid
//! price less its unit cost, as if every unit sold were bought again at cost. With finite stock
//! that is wrong in both directions:
//!
//! - When demand at the list price would empty the shelf before the next replenishment, a unit
//!   sold now at a discount is a unit a later customer cannot buy at the full price: the unit is
//!   worth its list price, not its cost.
//! - When stock would be left over (at the season's end it is salvaged below cost; at a
//!   replenishment it saves buying one unit but has cost holding until then), a unit sold now is
//!   worth more than its cost of goods says.
//!
//! With demand `D` until the stock is next replenished (or the season ends) Poisson with the
//! forecast mean, and `S` units on hand, the last unit sells at the list price `p` with
//! probability `P(D >= S)` and is left over, worth `v`, otherwise. Its value (the stock's shadow
//! price) is
//!
//! ```text
//! mu = P(D >= S) * p + P(D < S) * v
//! ```
//!
//! and an extra unit sold now costs `mu - c` beyond its cost of goods `c`: positive for scarce
//! items (up to the full margin `p - c`), negative for overstock (down to `v - c`, the salvage or
//! holding loss). [`StockBook::adjustment`] charges each basket line's units that premium times
//! the offer's added order probability; the engine adds that term to the offer's expected
//! incremental profit once a book is set ([`crate::DecisionEngine::set_stock`]). Without a book
//! nothing changes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::engine::BasketLine;
use crate::error::PolicyError;

/// One item's stock position, as the stock planner sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemStock {
    /// Units on hand now.
    pub on_hand: i64,
    /// Units the item is forecast to sell at its list price until the stock is next replenished
    /// (or, for an item that is not replenished, until the season ends).
    pub expected_demand: f64,
    /// List price per unit, minor units.
    pub unit_price: i64,
    /// Cost of goods per unit, minor units.
    pub unit_cost: i64,
    /// What a unit still on hand at that point is worth, minor units: the unit cost less the
    /// holding cost until then when the item is replenished (one unit fewer to buy), the salvage
    /// value at the season's end.
    pub leftover_value: i64,
}

impl ItemStock {
    fn validate(&self, item: &str) -> Result<(), PolicyError> {
        let bad = |field: &str, value: String, rule: &'static str| PolicyError::Config {
            field: format!("stock[{item}].{field}"),
            value,
            rule,
        };
        if self.on_hand < 0 {
            return Err(bad(
                "on_hand",
                self.on_hand.to_string(),
                "must not be negative",
            ));
        }
        if !(self.expected_demand.is_finite() && self.expected_demand >= 0.0) {
            return Err(bad(
                "expected_demand",
                self.expected_demand.to_string(),
                "must be a finite number >= 0",
            ));
        }
        if self.unit_price <= 0 {
            return Err(bad(
                "unit_price",
                self.unit_price.to_string(),
                "must be a positive amount in minor units",
            ));
        }
        if self.unit_cost < 0 {
            return Err(bad(
                "unit_cost",
                self.unit_cost.to_string(),
                "must not be negative",
            ));
        }
        if self.leftover_value > self.unit_price {
            return Err(bad(
                "leftover_value",
                self.leftover_value.to_string(),
                "must not exceed the unit price",
            ));
        }
        Ok(())
    }

    /// `P(D >= on_hand)`: the probability that demand at the list price empties the shelf before
    /// replenishment (1 when nothing is on hand).
    pub fn stockout_probability(&self) -> f64 {
        1.0 - poisson_cdf_below(self.expected_demand, self.on_hand)
    }

    /// The shadow price of one unit on hand, minor units: `P(D >= S) p + P(D < S) v`.
    pub fn shadow_value(&self) -> f64 {
        let out = self.stockout_probability();
        out * self.unit_price as f64 + (1.0 - out) * self.leftover_value as f64
    }

    /// What an extra unit sold now costs beyond its cost of goods (`shadow value - unit cost`):
    /// positive when the item is scarce, negative when it is overstocked.
    pub fn premium(&self) -> f64 {
        self.shadow_value() - self.unit_cost as f64
    }
}

/// `P(D < s)` for `D ~ Poisson(mean)`, summed in log space so that large means do not underflow.
fn poisson_cdf_below(mean: f64, s: i64) -> f64 {
    if s <= 0 {
        return 0.0;
    }
    if mean <= 0.0 {
        return 1.0;
    }
    // Far above the mean the tail is below 1e-12: the sum is 1.
    if s as f64 > mean + 12.0 * mean.sqrt() + 30.0 {
        return 1.0;
    }
    let mut log_pmf = -mean;
    let mut total = 0.0;
    for k in 0..s {
        if k > 0 {
            log_pmf += mean.ln() - (k as f64).ln();
        }
        total += log_pmf.exp();
    }
    total.min(1.0)
}

/// The stock positions the engine values offers with, by item id, with each item's premium
/// computed once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StockBook {
    items: HashMap<String, (ItemStock, f64)>,
}

impl StockBook {
    /// An empty book (every item's stock is ignored).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one item's position; refused when a field is out of its domain.
    pub fn insert(&mut self, item_id: &str, stock: ItemStock) -> Result<(), PolicyError> {
        stock.validate(item_id)?;
        let premium = stock.premium();
        self.items.insert(item_id.to_string(), (stock, premium));
        Ok(())
    }

    /// The item's position, if the book has it.
    pub fn get(&self, item_id: &str) -> Option<&ItemStock> {
        self.items.get(item_id).map(|(s, _)| s)
    }

    /// The item's premium per extra unit sold (0 for items the book does not hold).
    pub fn premium(&self, item_id: &str) -> f64 {
        self.items.get(item_id).map_or(0.0, |(_, p)| *p)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The stock term of an offer's expected incremental profit, minor units: an offer that adds
    /// `added_conversion` to the probability that the basket is bought sells that many more of
    /// each line's units, and each costs its item's premium.
    pub fn adjustment(&self, basket: &[BasketLine], added_conversion: f64) -> f64 {
        if added_conversion == 0.0 {
            return 0.0;
        }
        let premium: f64 = basket
            .iter()
            .map(|l| self.premium(&l.item_id) * f64::from(l.quantity))
            .sum();
        -premium * added_conversion
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(on_hand: i64, expected_demand: f64) -> ItemStock {
        ItemStock {
            on_hand,
            expected_demand,
            unit_price: 1_000,
            unit_cost: 600,
            leftover_value: 200,
        }
    }

    #[test]
    fn shadow_value_follows_the_poisson_tail() {
        // D ~ Poisson(2): P(D < 3) = e^-2 (1 + 2 + 2) = 0.676676...
        let s = item(3, 2.0);
        let below = 5.0 * (-2.0f64).exp();
        assert!((s.stockout_probability() - (1.0 - below)).abs() < 1e-12);
        let mu = (1.0 - below) * 1_000.0 + below * 200.0;
        assert!((s.shadow_value() - mu).abs() < 1e-9);
        assert!((s.premium() - (mu - 600.0)).abs() < 1e-9);
        // Nothing on hand: the next unit would sell for sure, at the full price.
        assert_eq!(item(0, 0.5).shadow_value(), 1_000.0);
        // No demand: the unit is left over.
        assert_eq!(item(4, 0.0).shadow_value(), 200.0);
        // Far more demand than stock: worth the list price; far less: the leftover value.
        assert!((item(10, 500.0).premium() - 400.0).abs() < 1e-9);
        assert!((item(5_000, 100.0).premium() + 400.0).abs() < 1e-9);
        // A large mean does not underflow: P(D >= 1000) for mean 1000 is about one half.
        let p = item(1_000, 1_000.0).stockout_probability();
        assert!(p > 0.48 && p < 0.52, "{p}");
    }

    #[test]
    fn adjustment_charges_scarce_lines_and_credits_overstock() {
        let mut book = StockBook::new();
        book.insert("scarce", item(2, 50.0)).unwrap();
        book.insert("over", item(400, 10.0)).unwrap();
        let line = |id: &str, quantity: u32| BasketLine {
            item_id: id.into(),
            category: "c".into(),
            quantity,
            unit_price: 1_000,
            unit_cost: Some(600),
        };
        // Scarce: premium = 1000 - 600 = 400 per unit; two units, 0.1 more likely to sell.
        let a = book.adjustment(&[line("scarce", 2)], 0.1);
        assert!((a + 80.0).abs() < 1e-6, "{a}");
        // Overstock: premium = 200 - 600 = -400: the same offer earns 40 more.
        let a = book.adjustment(&[line("over", 1)], 0.1);
        assert!((a - 40.0).abs() < 1e-6, "{a}");
        // Items the book does not hold, and offers that add nothing, are not touched.
        assert_eq!(book.adjustment(&[line("other", 3)], 0.2), 0.0);
        assert_eq!(book.adjustment(&[line("scarce", 1)], 0.0), 0.0);
    }

    #[test]
    fn the_engine_stops_discounting_scarce_items_and_clears_overstock() {
        use crate::bandit::Exploration;
        use crate::engine::{
            CustomerFacts, DecisionEngine, DecisionRequest, EngineConfig, JoinedOutcome,
            ModelConfig, RulesConfig,
        };
        use crate::offers::{Eligibility, OfferSpec, Scope};
        use discount_core::Offer;
        use rand::SeedableRng;

        let rung = |id: &str, offer: Offer| OfferSpec {
            id: id.into(),
            offer,
            scope: Scope::Basket,
            eligibility: Eligibility::default(),
            max_discount: Some(10_000),
        };
        let engine = DecisionEngine::new(EngineConfig {
            name: "stock".into(),
            ladder: vec![
                rung("none", Offer::NoOffer),
                rung("pct20", Offer::PercentOff { percent: 20.0 }),
            ],
            rules: RulesConfig::default(),
            budgets: Vec::new(),
            pacing: Default::default(),
            exploration: Exploration::EpsilonGreedy { epsilon: 0.0 },
            model: ModelConfig::default(),
        })
        .unwrap();
        // No offer: 3 in 10 buy for a profit of 300 (90 expected); 20% off: 5 in 10 buy for 240
        // (120 expected). The offer earns 30 more and sells 0.2 more units per visit.
        for i in 0..1_000 {
            let (none, pct) = (i % 10 < 3, i % 10 < 5);
            for (id, ordered, profit, discount) in
                [("none", none, 300.0, 0.0), ("pct20", pct, 240.0, 200.0)]
            {
                let outcome = JoinedOutcome {
                    offer_id: id.into(),
                    features: vec![1.0],
                    profit: if ordered { profit } else { 0.0 },
                    discount: if ordered { discount } else { 0.0 },
                    ordered,
                };
                engine.update(&outcome).unwrap();
            }
        }
        let request = |item: &str| DecisionRequest {
            customer_id: "c".into(),
            context: crate::engine::DecisionContext {
                basket: vec![BasketLine {
                    item_id: item.into(),
                    category: "c".into(),
                    quantity: 1,
                    unit_price: 1_000,
                    unit_cost: Some(600),
                }],
                ..Default::default()
            },
            ..Default::default()
        };
        let facts = CustomerFacts {
            features: vec![1.0],
            ..CustomerFacts::default()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let decide = |item: &str, rng: &mut rand::rngs::StdRng| {
            engine.decide(&request(item), &facts, rng).unwrap()
        };
        // Without a book the offer wins everywhere.
        assert_eq!(decide("scarce", &mut rng).offer_id, "pct20");
        let mut book = StockBook::new();
        book.insert("scarce", item(2, 50.0)).unwrap();
        book.insert("over", item(400, 10.0)).unwrap();
        engine.set_stock(Some(book));
        // Scarce: 30 - 0.2 x 400 = -50, so no offer.
        let d = decide("scarce", &mut rng);
        assert_eq!(d.offer_id, "none");
        assert!(
            (d.scores[1].expected_incremental_profit + 50.0).abs() < 1.0,
            "{d:?}"
        );
        // Overstock: 30 + 0.2 x 400 = 110.
        let d = decide("over", &mut rng);
        assert_eq!(d.offer_id, "pct20");
        assert!(
            (d.scores[1].expected_incremental_profit - 110.0).abs() < 1.0,
            "{d:?}"
        );
        // Items without a position, and a cleared book, are valued as before.
        assert!(
            (decide("other", &mut rng).scores[1].expected_incremental_profit - 30.0).abs() < 1.0
        );
        engine.set_stock(None);
        assert_eq!(decide("scarce", &mut rng).offer_id, "pct20");
    }

    #[test]
    fn bad_positions_are_refused_with_the_field() {
        let mut book = StockBook::new();
        let err = book.insert("x", item(-1, 1.0)).unwrap_err().to_string();
        assert!(err.contains("stock[x].on_hand"), "{err}");
        let err = book.insert("x", item(1, f64::NAN)).unwrap_err().to_string();
        assert!(err.contains("expected_demand"), "{err}");
        let mut s = item(1, 1.0);
        s.leftover_value = 2_000;
        assert!(book.insert("x", s).is_err());
        assert!(book.is_empty());
    }
}
