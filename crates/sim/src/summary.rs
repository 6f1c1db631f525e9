//! What a run returns: its summary figures and the ground truth.

use std::collections::BTreeMap;

use discount_core::Offer;
use serde::{Deserialize, Serialize};

use crate::customer::{ResponseType, Stage};
use crate::fraud::{FraudKind, FraudLabel};
use crate::response::{OfferTruth, Traits, TrueModel};

/// Figures of one run. Money is in minor units of the run's currency.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SimSummary {
    pub policy: String,
    pub seed: u64,
    pub users: usize,
    pub days: u32,
    pub currency: String,
    /// Customer-days simulated (accounts present on each day).
    pub customer_days: u64,
    pub visits: u64,
    /// Decisions taken (one per visit), including "no offer".
    pub decisions: u64,
    /// Decisions that gave an actual offer (a coupon was issued).
    pub offers: u64,
    pub orders: u64,
    pub units: u64,
    /// Paid revenue, after discounts.
    pub revenue: i64,
    /// Coupon discounts paid on redemption (the budget's spend).
    pub discount_spend: i64,
    pub cost_of_goods: i64,
    /// Revenue minus cost of goods (the discount is already out of revenue).
    pub gross_profit: i64,
    pub coupons_redeemed: u64,
    /// Coupons redeemed / coupons issued.
    pub redemption_rate: f64,
    pub budget: Option<i64>,
    /// Spend / budget.
    pub budget_used: Option<f64>,
    /// Sum over decisions of the true expected incremental profit (offer vs no offer at that visit).
    pub expected_incremental_profit: f64,
    /// Gross profit of the same seed with no offers at all (common random numbers), when computed.
    pub counterfactual_gross_profit: Option<i64>,
    pub counterfactual_revenue: Option<i64>,
    /// Gross profit minus the counterfactual's: what the policy really earned, long-run effects included.
    pub incremental_profit: Option<i64>,
    pub fraud_orders: u64,
    pub fraud_discount_spend: i64,
    /// Order lines dropped because the item was out of stock.
    pub stockouts: u64,
    /// Records emitted, by type.
    pub records: BTreeMap<String, u64>,
    /// Figures the policy reported (e.g. the oracle's shadow price and gap).
    pub policy_notes: BTreeMap<String, f64>,
}

impl SimSummary {
    /// The figures of the days simulated between `before` (an earlier summary of the same
    /// market) and this one: counters are differences, rates are recomputed.
    pub fn since(&self, before: &SimSummary) -> SimSummary {
        let mut records = self.records.clone();
        for (kind, n) in &before.records {
            if let Some(m) = records.get_mut(kind) {
                *m -= n;
            }
        }
        let revenue = self.revenue - before.revenue;
        let cost_of_goods = self.cost_of_goods - before.cost_of_goods;
        let offers = self.offers - before.offers;
        let coupons_redeemed = self.coupons_redeemed - before.coupons_redeemed;
        let discount_spend = self.discount_spend - before.discount_spend;
        SimSummary {
            policy: self.policy.clone(),
            seed: self.seed,
            users: self.users,
            days: self.days - before.days,
            currency: self.currency.clone(),
            customer_days: self.customer_days - before.customer_days,
            visits: self.visits - before.visits,
            decisions: self.decisions - before.decisions,
            offers,
            orders: self.orders - before.orders,
            units: self.units - before.units,
            revenue,
            discount_spend,
            cost_of_goods,
            gross_profit: revenue - cost_of_goods,
            coupons_redeemed,
            redemption_rate: if offers > 0 {
                coupons_redeemed as f64 / offers as f64
            } else {
                0.0
            },
            budget: self.budget,
            budget_used: self.budget.map(|b| {
                if b > 0 {
                    discount_spend as f64 / b as f64
                } else {
                    0.0
                }
            }),
            expected_incremental_profit: self.expected_incremental_profit
                - before.expected_incremental_profit,
            counterfactual_gross_profit: None,
            counterfactual_revenue: None,
            incremental_profit: None,
            fraud_orders: self.fraud_orders - before.fraud_orders,
            fraud_discount_spend: self.fraud_discount_spend - before.fraud_discount_spend,
            stockouts: self.stockouts - before.stockouts,
            records,
            policy_notes: self.policy_notes.clone(),
        }
    }
}

/// The latent truth about one customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerTruth {
    pub user_id: String,
    pub response: ResponseType,
    pub fraud: FraudKind,
    /// Per-visit purchase probability without an offer (sure things, sleeping dogs) or with an
    /// unboundedly deep offer (persuadables).
    pub propensity: f64,
    /// Price elasticity (demand ~ price^-elasticity).
    pub elasticity: f64,
    /// Multiplier on the stage's daily visit rate.
    pub visit_rate_multiplier: f64,
    pub favourite_category: String,
    pub category_loyalty: f64,
    /// Mean number of lines per order.
    pub basket_lines: f64,
    /// Signup day relative to the start (negative: before the run).
    pub signup_day: i32,
    pub initial_stage: Stage,
    pub final_stage: Stage,
}

impl CustomerTruth {
    /// The traits the response model needs.
    pub fn traits(&self, favourite: usize) -> Traits {
        Traits {
            response: self.response,
            fraud: self.fraud,
            propensity: self.propensity,
            elasticity: self.elasticity,
            favourite,
            loyalty: self.category_loyalty,
            basket_lines: self.basket_lines,
        }
    }
}

/// The truth about one decision: what the offer was worth at that visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionTruth {
    pub decision_id: String,
    pub user_id: String,
    pub day: u32,
    pub offer: Offer,
    pub propensity: f64,
    /// The truth of the offer given.
    pub given: OfferTruth,
    /// The truth of giving nothing at the same visit.
    pub no_offer: OfferTruth,
    /// `given.expected_profit - no_offer.expected_profit`.
    pub incremental_profit: f64,
    /// What happened: a purchase, and the discount paid.
    pub purchased: bool,
    pub discount_paid: i64,
}

/// Everything the simulator knows and the event stream does not say.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// The response model's parameters, to evaluate any offer for any customer.
    pub model: Option<TrueModel>,
    pub categories: Vec<String>,
    pub customers: Vec<CustomerTruth>,
    pub decisions: Vec<DecisionTruth>,
    /// Fraud labels (kept apart from events).
    pub fraud: Vec<FraudLabel>,
}

impl GroundTruth {
    /// The truth of `offer` at an ordinary visit of the customer at `index` in `customers`.
    pub fn evaluate(&self, index: usize, offer: &Offer) -> Option<OfferTruth> {
        let model = self.model.as_ref()?;
        let c = self.customers.get(index)?;
        let fav = self
            .categories
            .iter()
            .position(|n| *n == c.favourite_category)?;
        Some(model.evaluate(&c.traits(fav), offer, false))
    }
}

/// A run's result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SimOutput {
    pub summary: SimSummary,
    pub truth: GroundTruth,
}
