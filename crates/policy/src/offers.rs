//! The configurable offer ladder: each rung's offer, scope, eligibility rules and the margin floor
//! that the paid price may never cross.

use std::collections::HashSet;

use discount_core::Offer;
use serde::{Deserialize, Serialize};

use crate::engine::BasketLine;
use crate::error::PolicyError;

/// What part of the order an offer discounts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Scope {
    /// Every line of the basket.
    #[default]
    Basket,
    /// Lines of one category.
    Category(String),
    /// Lines of one item.
    Item(String),
}

/// Who may receive an offer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Eligibility {
    /// Only customers without any previous order.
    pub new_customers_only: bool,
    /// At most one offer of this rung per customer per this many days.
    pub once_per_days: Option<u32>,
    /// Lines of these categories are never discounted by this rung.
    pub excluded_categories: Vec<String>,
    /// Lines of these items are never discounted by this rung.
    pub excluded_items: Vec<String>,
    /// Placements where the rung may be shown (empty: everywhere).
    pub placements: Vec<String>,
}

/// One rung of the ladder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferSpec {
    /// Stable id used in requests, logs and reports, e.g. `pct10`.
    pub id: String,
    pub offer: Offer,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub eligibility: Eligibility,
    /// Most this rung may discount one order, minor units (a percentage coupon's cap). It is what
    /// the budget reserves when no basket is known. Required for percentage offers.
    #[serde(default)]
    pub max_discount: Option<i64>,
}

/// The floor under every paid unit price: `unit cost * (1 + percent_of_cost / 100) + minor_per_unit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarginFloor {
    pub percent_of_cost: f64,
    pub minor_per_unit: i64,
    /// Cost assumed as a share of the unit price when a line carries no unit cost; without it, a
    /// line with an unknown cost cannot be discounted.
    pub unknown_cost_ratio: Option<f64>,
}

impl MarginFloor {
    /// The lowest unit price allowed for `line`, or `None` when its cost is unknown and no ratio
    /// is configured.
    pub fn floor_of(&self, line: &BasketLine) -> Option<f64> {
        let cost = match (line.unit_cost, self.unknown_cost_ratio) {
            (Some(c), _) => c as f64,
            (None, Some(r)) => r * line.unit_price as f64,
            (None, None) => return None,
        };
        Some(cost * (1.0 + self.percent_of_cost / 100.0) + self.minor_per_unit as f64)
    }
}

/// Why a rung was not offered (recorded with the decision's scores).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ineligible {
    NotNewCustomer,
    TooSoon,
    Placement,
    NothingInScope,
    BelowMinimumSpend,
    MarginFloor,
    UnknownCost,
    NotACandidate,
    RiskGate,
    Budget,
    /// The rung cuts an item's price deeper than the fairness rule's price spread allows.
    PriceSpread,
}

/// The validated ladder.
#[derive(Clone, Debug, PartialEq)]
pub struct Ladder {
    pub rungs: Vec<OfferSpec>,
    /// Index of the `no offer` rung.
    pub baseline: usize,
}

impl Ladder {
    pub fn new(rungs: Vec<OfferSpec>) -> Result<Self, PolicyError> {
        let mut seen = HashSet::new();
        for (i, r) in rungs.iter().enumerate() {
            let field = |name: &str| format!("ladder[{i}].{name}");
            if r.id.is_empty() {
                return Err(PolicyError::Config {
                    field: field("id"),
                    value: "\"\"".into(),
                    rule: "must not be empty",
                });
            }
            if !seen.insert(r.id.clone()) {
                return Err(PolicyError::Config {
                    field: field("id"),
                    value: r.id.clone(),
                    rule: "must be unique in the ladder",
                });
            }
            r.offer.validate().map_err(|e| PolicyError::Config {
                field: field("offer"),
                value: format!("{e}"),
                rule: "must be a valid offer",
            })?;
            if matches!(r.offer, Offer::PercentOff { .. }) && r.max_discount.is_none() {
                return Err(PolicyError::Config {
                    field: field("max_discount"),
                    value: "none".into(),
                    rule: "a percentage offer needs a cap so that the budget can reserve it",
                });
            }
            if let Some(m) = r.max_discount {
                if m <= 0 {
                    return Err(PolicyError::Config {
                        field: field("max_discount"),
                        value: m.to_string(),
                        rule: "must be a positive amount in minor units",
                    });
                }
            }
        }
        let baseline = rungs
            .iter()
            .position(|r| r.offer == Offer::NoOffer)
            .ok_or(PolicyError::NoBaseline)?;
        Ok(Self { rungs, baseline })
    }

    pub fn len(&self) -> usize {
        self.rungs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rungs.is_empty()
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.rungs.iter().position(|r| r.id == id)
    }

    /// A ladder of the given offers with ids `none`, `pct5`, `amt500_3000`, `ship`, ... and a cap
    /// of `percent_cap` minor units on percentage offers.
    pub fn from_offers(offers: &[Offer], percent_cap: i64) -> Result<Self, PolicyError> {
        let rungs = offers
            .iter()
            .map(|o| OfferSpec {
                id: default_id(o),
                offer: o.clone(),
                scope: Scope::Basket,
                eligibility: Eligibility::default(),
                max_discount: match o {
                    Offer::PercentOff { .. } => Some(percent_cap),
                    _ => None,
                },
            })
            .collect();
        Self::new(rungs)
    }
}

/// The conventional id of an offer.
pub fn default_id(o: &Offer) -> String {
    match o {
        Offer::NoOffer => "none".into(),
        Offer::PercentOff { percent } => format!("pct{percent}"),
        Offer::AmountOff { amount, min_spend } => format!("amt{amount}_{min_spend}"),
        Offer::FreeShipping => "ship".into(),
        Offer::Content { name } => format!("content:{name}"),
    }
}

/// What a customer's history says about eligibility.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct History {
    pub orders: u32,
    /// Days since this customer last received this rung, if ever.
    pub days_since_this_offer: Option<u32>,
}

/// The discount `spec` gives on `basket` (minor units), or why it cannot be given. An empty basket
/// is not checked against floors (nothing is priced yet): the rung's cap is what it may cost.
pub fn basket_discount(
    spec: &OfferSpec,
    basket: &[BasketLine],
    floor: &MarginFloor,
    shipping_fee: i64,
) -> Result<i64, Ineligible> {
    let in_scope = |l: &BasketLine| {
        let scoped = match &spec.scope {
            Scope::Basket => true,
            Scope::Category(c) => &l.category == c,
            Scope::Item(i) => &l.item_id == i,
        };
        scoped
            && !spec.eligibility.excluded_categories.contains(&l.category)
            && !spec.eligibility.excluded_items.contains(&l.item_id)
    };
    let cap = spec.max_discount.unwrap_or(i64::MAX);
    if basket.is_empty() {
        return Ok(match &spec.offer {
            Offer::NoOffer | Offer::Content { .. } => 0,
            Offer::PercentOff { .. } => cap,
            Offer::AmountOff { amount, .. } => (*amount).min(cap),
            Offer::FreeShipping => shipping_fee.min(cap),
        });
    }
    let lines: Vec<&BasketLine> = basket.iter().filter(|l| in_scope(l)).collect();
    let subtotal: i64 = lines
        .iter()
        .map(|l| l.unit_price.saturating_mul(i64::from(l.quantity)))
        .sum();
    // Per-line discount before the cap.
    let raw: Vec<f64> = match &spec.offer {
        Offer::NoOffer | Offer::Content { .. } => return Ok(0),
        Offer::FreeShipping => return Ok(shipping_fee.min(cap)),
        Offer::PercentOff { percent } => lines
            .iter()
            .map(|l| l.unit_price as f64 * f64::from(l.quantity) * percent / 100.0)
            .collect(),
        Offer::AmountOff { amount, min_spend } => {
            if subtotal < *min_spend {
                return Err(Ineligible::BelowMinimumSpend);
            }
            lines
                .iter()
                .map(|l| {
                    *amount as f64 * (l.unit_price as f64 * f64::from(l.quantity))
                        / subtotal.max(1) as f64
                })
                .collect()
        }
    };
    if lines.is_empty() || subtotal <= 0 {
        return Err(Ineligible::NothingInScope);
    }
    let total_raw: f64 = raw.iter().sum();
    let scale = if total_raw > cap as f64 {
        cap as f64 / total_raw
    } else {
        1.0
    };
    let mut total = 0.0;
    for (l, d) in lines.iter().zip(&raw) {
        let d = d * scale;
        let q = f64::from(l.quantity.max(1));
        let floor = floor.floor_of(l).ok_or(Ineligible::UnknownCost)?;
        if l.unit_price as f64 - d / q < floor - 1e-9 {
            return Err(Ineligible::MarginFloor);
        }
        total += d;
    }
    Ok(total.floor() as i64)
}

/// Checks the rung's eligibility rules (not the basket).
pub fn eligible(spec: &OfferSpec, history: &History, placement: &str) -> Result<(), Ineligible> {
    let e = &spec.eligibility;
    if e.new_customers_only && history.orders > 0 {
        return Err(Ineligible::NotNewCustomer);
    }
    if let (Some(n), Some(d)) = (e.once_per_days, history.days_since_this_offer) {
        if d < n {
            return Err(Ineligible::TooSoon);
        }
    }
    if !e.placements.is_empty() && !e.placements.iter().any(|p| p == placement) {
        return Err(Ineligible::Placement);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(price: i64, cost: Option<i64>, q: u32, cat: &str) -> BasketLine {
        BasketLine {
            item_id: format!("i{price}"),
            category: cat.into(),
            quantity: q,
            unit_price: price,
            unit_cost: cost,
        }
    }

    fn spec(offer: Offer) -> OfferSpec {
        OfferSpec {
            id: default_id(&offer),
            offer,
            scope: Scope::Basket,
            eligibility: Eligibility::default(),
            max_discount: Some(10_000),
        }
    }

    #[test]
    fn margin_floor_blocks_deep_discounts() {
        let floor = MarginFloor {
            percent_of_cost: 10.0,
            minor_per_unit: 0,
            unknown_cost_ratio: None,
        };
        // Price 1000, cost 800: floor 880, so 10% (900) is fine and 15% (850) is not.
        let basket = [line(1000, Some(800), 2, "a")];
        let d = basket_discount(
            &spec(Offer::PercentOff { percent: 10.0 }),
            &basket,
            &floor,
            0,
        );
        assert_eq!(d, Ok(200));
        let d = basket_discount(
            &spec(Offer::PercentOff { percent: 15.0 }),
            &basket,
            &floor,
            0,
        );
        assert_eq!(d, Err(Ineligible::MarginFloor));
        let unknown = [line(1000, None, 1, "a")];
        let d = basket_discount(
            &spec(Offer::PercentOff { percent: 5.0 }),
            &unknown,
            &floor,
            0,
        );
        assert_eq!(d, Err(Ineligible::UnknownCost));
    }

    #[test]
    fn amount_off_needs_minimum_spend_and_scope() {
        let floor = MarginFloor {
            unknown_cost_ratio: Some(0.5),
            ..MarginFloor::default()
        };
        let amt = spec(Offer::AmountOff {
            amount: 500,
            min_spend: 3000,
        });
        let small = [line(1000, None, 2, "a")];
        assert_eq!(
            basket_discount(&amt, &small, &floor, 0),
            Err(Ineligible::BelowMinimumSpend)
        );
        let big = [line(1000, None, 4, "a")];
        assert_eq!(basket_discount(&amt, &big, &floor, 0), Ok(500));
        let mut cat = spec(Offer::PercentOff { percent: 10.0 });
        cat.scope = Scope::Category("b".into());
        assert_eq!(
            basket_discount(&cat, &big, &floor, 0),
            Err(Ineligible::NothingInScope)
        );
        let mixed = [line(1000, None, 1, "a"), line(2000, None, 1, "b")];
        assert_eq!(basket_discount(&cat, &mixed, &floor, 0), Ok(200));
        cat.max_discount = Some(150);
        assert_eq!(basket_discount(&cat, &mixed, &floor, 0), Ok(150));
    }

    #[test]
    fn eligibility_rules_apply() {
        let mut s = spec(Offer::PercentOff { percent: 10.0 });
        s.eligibility.new_customers_only = true;
        s.eligibility.once_per_days = Some(30);
        let new = History {
            orders: 0,
            days_since_this_offer: None,
        };
        assert_eq!(eligible(&s, &new, "home"), Ok(()));
        let old = History { orders: 2, ..new };
        assert_eq!(eligible(&s, &old, "home"), Err(Ineligible::NotNewCustomer));
        let recent = History {
            orders: 0,
            days_since_this_offer: Some(3),
        };
        assert_eq!(eligible(&s, &recent, "home"), Err(Ineligible::TooSoon));
        s.eligibility.placements = vec!["cart".into()];
        assert_eq!(eligible(&s, &new, "home"), Err(Ineligible::Placement));
    }

    #[test]
    fn ladders_validate() {
        let err = Ladder::from_offers(&[Offer::PercentOff { percent: 5.0 }], 100).unwrap_err();
        assert!(matches!(err, PolicyError::NoBaseline));
        let mut rungs = vec![spec(Offer::NoOffer), spec(Offer::NoOffer)];
        assert!(Ladder::new(rungs.clone())
            .unwrap_err()
            .to_string()
            .contains("unique"));
        rungs[1] = spec(Offer::PercentOff { percent: 5.0 });
        rungs[1].max_discount = None;
        assert!(Ladder::new(rungs)
            .unwrap_err()
            .to_string()
            .contains("max_discount"));
    }
}
