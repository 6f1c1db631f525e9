//! The offer attached to a recommended item: the rung of the offer ladder that maximises expected incremental
//! profit minus the budget's shadow price on the expected discount, or none.
//!
//! For an item of price P and unit margin M shown with purchase probability p, a rung that takes D off the
//! item raises the probability to p' = min(1, p × (1 + elasticity × D / P)) and is worth
//! p' × (M − D) − p × M − λ × p' × D, with λ the shadow price of the budget (what one unit of budget is worth
//! elsewhere). Only rungs that apply to the item (scope, exclusions), keep the paid price above the margin
//! floor and fit in what is left of the budget are considered; a rung whose value is not positive loses to
//! "no offer".

use discount_core::Offer;
use discount_policy::engine::BasketLine;
use discount_policy::offers::{Ladder, MarginFloor, OfferSpec, Scope};
use serde::{Deserialize, Serialize};

use crate::catalogue::CatalogueItem;
use crate::error::{RecommendError, Result};

/// How offers are chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferSettings {
    pub ladder: Ladder,
    /// λ: the budget's shadow price (0 = the budget is not binding).
    pub shadow_price: f64,
    /// Relative lift in purchase probability per relative discount (2.0: 10% off lifts purchases by 20%).
    pub elasticity: f64,
    pub margin_floor: MarginFloor,
}

impl OfferSettings {
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("shadow_price", self.shadow_price),
            ("elasticity", self.elasticity),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(RecommendError::Setting {
                    name,
                    value: v.to_string(),
                    rule: "must be finite and >= 0",
                });
            }
        }
        Ok(())
    }
}

/// The offer chosen for one slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotOffer {
    /// The rung's id.
    pub offer_id: String,
    pub offer: Offer,
    /// Discount on one unit, minor units.
    pub discount: i64,
    /// Purchase probability with the offer.
    pub purchase_probability: f64,
    /// Expected profit with the offer minus without, minor units.
    pub incremental_profit: f64,
}

/// The discount a rung gives on one unit of the item, or `None` when it does not apply to it.
pub fn unit_discount(spec: &OfferSpec, item: &CatalogueItem) -> Option<i64> {
    let in_scope = match &spec.scope {
        Scope::Basket => true,
        Scope::Category(c) => *c == item.category,
        Scope::Item(i) => *i == item.id,
    };
    if !in_scope
        || spec.eligibility.excluded_items.contains(&item.id)
        || spec
            .eligibility
            .excluded_categories
            .contains(&item.category)
    {
        return None;
    }
    let d = match &spec.offer {
        Offer::PercentOff { percent } => {
            let raw = (item.price as f64 * percent / 100.0).round() as i64;
            spec.max_discount.map_or(raw, |cap| raw.min(cap))
        }
        Offer::AmountOff { amount, min_spend } if item.price >= *min_spend => {
            (*amount).min(item.price)
        }
        _ => return None,
    };
    (d > 0).then_some(d)
}

/// The best rung for an item shown with purchase probability `p`, or `None` when no rung beats no offer.
/// `budget_left` caps the discount one slot may take.
pub fn best_offer(
    settings: &OfferSettings,
    item: &CatalogueItem,
    unit_margin: i64,
    p: f64,
    budget_left: i64,
) -> Result<Option<SlotOffer>> {
    let line = BasketLine {
        item_id: item.id.clone(),
        category: item.category.clone(),
        quantity: 1,
        unit_price: item.price,
        unit_cost: item.unit_cost,
    };
    let floor = settings.margin_floor.floor_of(&line);
    let mut best: Option<(f64, SlotOffer)> = None;
    for spec in &settings.ladder.rungs {
        let Some(d) = unit_discount(spec, item) else {
            continue;
        };
        if d > budget_left {
            continue;
        }
        let paid = item
            .price
            .checked_sub(d)
            .ok_or(RecommendError::Overflow("the paid price"))?;
        match floor {
            Some(f) if (paid as f64) < f => continue,
            None => continue, // unknown cost and no assumed ratio: never discount blind
            _ => {}
        }
        let lifted = (p * (1.0 + settings.elasticity * d as f64 / item.price as f64)).min(1.0);
        let margin_after = unit_margin
            .checked_sub(d)
            .ok_or(RecommendError::Overflow("the margin after discount"))?;
        let incremental = lifted * margin_after as f64 - p * unit_margin as f64;
        let value = incremental - settings.shadow_price * lifted * d as f64;
        if value > 0.0 && best.as_ref().is_none_or(|(v, _)| value > *v) {
            best = Some((
                value,
                SlotOffer {
                    offer_id: spec.id.clone(),
                    offer: spec.offer.clone(),
                    discount: d,
                    purchase_probability: lifted,
                    incremental_profit: incremental,
                },
            ));
        }
    }
    Ok(best.map(|(_, o)| o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(price: i64, cost: i64) -> CatalogueItem {
        CatalogueItem {
            id: "a".into(),
            category: "x".into(),
            price,
            unit_cost: Some(cost),
            stock: None,
        }
    }

    fn settings(shadow_price: f64) -> OfferSettings {
        OfferSettings {
            ladder: Ladder::from_offers(
                &[
                    Offer::NoOffer,
                    Offer::PercentOff { percent: 10.0 },
                    Offer::PercentOff { percent: 30.0 },
                ],
                10_000,
            )
            .unwrap(),
            shadow_price,
            elasticity: 3.0,
            margin_floor: MarginFloor::default(),
        }
    }

    #[test]
    fn the_offer_is_worth_its_incremental_profit_less_the_shadow_price() {
        // Price 1000, cost 500, p = 0.1. 10% off: D = 100, p' = 0.1 × 1.3 = 0.13,
        // incremental = 0.13 × 400 − 0.1 × 500 = 2. 30% off: D = 300, p' = 0.19, 0.19 × 200 − 50 = −12.
        let o = best_offer(&settings(0.0), &item(1000, 500), 500, 0.1, i64::MAX)
            .unwrap()
            .unwrap();
        assert_eq!(o.offer_id, "pct10");
        assert_eq!(o.discount, 100);
        assert!((o.incremental_profit - 2.0).abs() < 1e-9);
        // λ = 0.2 costs 0.2 × 0.13 × 100 = 2.6 > 2: no offer.
        assert!(
            best_offer(&settings(0.2), &item(1000, 500), 500, 0.1, i64::MAX)
                .unwrap()
                .is_none()
        );
        // Not enough budget left for D = 100.
        assert!(best_offer(&settings(0.0), &item(1000, 500), 500, 0.1, 99)
            .unwrap()
            .is_none());
        // The margin floor: cost 950 leaves no room for 10% off.
        assert!(
            best_offer(&settings(0.0), &item(1000, 950), 50, 0.1, i64::MAX)
                .unwrap()
                .is_none()
        );
    }
}
