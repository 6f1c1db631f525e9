//! Every knob of the simulator, with defaults calibrated to public data (see `docs/simulator.md`).
//!
//! A [`SimConfig`] deserialises from TOML; every field has a default, so a file only names what it
//! changes. [`SimConfig::validate`] checks every value before a run and names the offending field.

use std::path::Path;

use discount_core::{Currency, Offer, Timestamp};
use serde::{Deserialize, Serialize};

use crate::SimError;

/// The whole simulation: population, response, catalogue, behaviour, fraud, offers and budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Seed of every random stream of the run.
    pub seed: u64,
    /// Number of customer accounts (including those that sign up during the run and fraud accounts).
    pub users: usize,
    /// Length of the run in days.
    pub days: u32,
    /// First simulated day, `YYYY-MM-DD` (UTC).
    pub start_date: String,
    /// ISO 4217 currency of all prices.
    pub currency: String,
    /// Offers a policy may choose from; the first should be `no_offer`.
    pub ladder: Vec<Offer>,
    /// Discount budget for the whole run in minor units (paid on redemption); absent = unlimited.
    pub budget: Option<i64>,
    pub population: PopulationConfig,
    pub response: ResponseConfig,
    pub catalogue: CatalogueConfig,
    pub behaviour: BehaviourConfig,
    pub fraud: FraudConfig,
}

/// A value for each lifecycle stage.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageValues {
    pub new: f64,
    pub active: f64,
    pub lapsing: f64,
    pub lost: f64,
}

/// Who the customers are and how their lifecycle moves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PopulationConfig {
    /// Share of accounts that sign up during the run (uniformly over its days); the rest exist at day 0.
    pub signup_share: f64,
    /// Stages of the accounts that exist at day 0 (shares, normalised).
    pub initial_stage_shares: StageValues,
    /// Daily probability of a visit, by stage, for an average customer.
    pub visit_rate: StageValues,
    /// Gamma shape of each customer's visit-rate multiplier (mean 1); smaller = more heterogeneous.
    pub visit_rate_shape: f64,
    /// Daily probability of churning (moving to `lost`), by stage (`lost` is ignored).
    pub churn_hazard: StageValues,
    /// Daily probability that a lost customer comes back (becomes `lapsing`).
    pub return_hazard: f64,
    /// Probability that a customer drops out (becomes `lost`) right after an order (the BG/NBD
    /// "dropout after each purchase"; the default is the mean of the CDNOW fit, a / (a + b)).
    pub dropout_after_order: f64,
    /// A customer is `active` for this many days after an order, then `lapsing`.
    pub active_window_days: u32,
    /// Pre-existing `lapsing` customers last ordered between `active_window_days` and this many days ago.
    pub lapsed_max_days: u32,
}

/// Shares of the four discount-response types.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeShares {
    pub persuadable: f64,
    pub sure_thing: f64,
    pub lost_cause: f64,
    pub sleeping_dog: f64,
}

/// How customers respond to offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseConfig {
    /// Shares of persuadables, sure things, lost causes and sleeping dogs (normalised).
    pub shares: TypeShares,
    /// Mean per-visit purchase probability of sure things and sleeping dogs without an offer.
    pub base_propensity: f64,
    /// Mean per-visit purchase probability a persuadable reaches with an unboundedly deep offer.
    pub persuadable_ceiling: f64,
    /// Beta concentration (a + b) of the per-customer propensities; larger = less spread.
    pub propensity_concentration: f64,
    /// Price elasticity (positive number; demand ~ price^-elasticity): mean, sd, and clamp range.
    pub elasticity_mean: f64,
    pub elasticity_sd: f64,
    pub elasticity_min: f64,
    pub elasticity_max: f64,
    /// Share of the persuadable gap that any coupon closes regardless of its depth (attention effect).
    pub coupon_effect: f64,
    /// Relative drop of a sleeping dog's purchase probability when it receives an offer.
    pub sleeping_dog_penalty: f64,
}

/// One product category.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryConfig {
    pub name: String,
    /// Relative share of category choices.
    pub weight: f64,
    /// Number of items in the category.
    pub items: u32,
    /// Median list price, minor units; prices are log-normal around it.
    pub price_median: i64,
    /// Log-normal sigma of list prices.
    pub price_sigma: f64,
    /// Gross margin range (1 - unit_cost / list_price), drawn uniformly per item.
    pub margin_min: f64,
    pub margin_max: f64,
}

/// The product catalogue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogueConfig {
    pub categories: Vec<CategoryConfig>,
    /// Zipf exponent of item popularity within a category (0 = uniform).
    pub popularity_exponent: f64,
    /// Mean initial stock per item (units); 0 = unlimited stock.
    pub stock_mean: i64,
    /// Items are restocked to their initial level every this many days (0 = never).
    pub restock_every_days: u32,
}

/// What a visit looks like.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BehaviourConfig {
    /// Mean number of item views per visit (at least one).
    pub views_per_visit: f64,
    /// Population mean of the per-customer mean number of lines per order (at least one).
    pub basket_lines_mean: f64,
    /// Mean extra units per order line (quantity = 1 + Poisson(this)).
    pub quantity_extra: f64,
    /// Mean probability that an item comes from the customer's favourite category.
    pub category_loyalty: f64,
    /// Probability that a visit without purchase leaves an item in the cart.
    pub cart_abandon_rate: f64,
    /// Probability that an order is followed by a review.
    pub review_rate: f64,
    /// The shipping fee that a `free_shipping` offer waives, minor units.
    pub shipping_fee: i64,
}

/// Shares of the three fraud kinds among fraud accounts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudKindShares {
    pub coupon_farmer: f64,
    pub order_brusher: f64,
    pub reseller: f64,
}

/// Fraud actors: their share and behaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FraudConfig {
    /// Share of accounts that belong to fraud actors.
    pub share: f64,
    pub kinds: FraudKindShares,
    /// Accounts per coupon-farming ring (min, max); they share devices, addresses and payment ids.
    pub farmer_ring_size: [u32; 2],
    /// Daily visit probability of a farmer account until its one order.
    pub farmer_visit_rate: f64,
    /// Probability that a farmer account buys when it holds any price offer (and 0.01 without).
    pub farmer_buy_prob: f64,
    /// Linked accounts per brushing ring (min, max).
    pub brusher_ring_size: [u32; 2],
    /// Daily probability that a brushing ring runs a burst.
    pub brusher_burst_prob: f64,
    /// Tiny orders per account in a burst (min, max).
    pub brusher_orders_per_burst: [u32; 2],
    /// Daily visit probability of a reseller.
    pub reseller_visit_rate: f64,
    /// A reseller buys only with a percent offer at least this deep (or an equivalent amount off).
    pub reseller_min_percent: f64,
    /// Probability that a reseller buys when the offer is deep enough.
    pub reseller_buy_prob: f64,
    /// Units a reseller buys of one item (min, max).
    pub reseller_quantity: [u32; 2],
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            users: 10_000,
            days: 30,
            start_date: "2024-01-01".into(),
            currency: "USD".into(),
            ladder: default_ladder(),
            budget: None,
            population: PopulationConfig::default(),
            response: ResponseConfig::default(),
            catalogue: CatalogueConfig::default(),
            behaviour: BehaviourConfig::default(),
            fraud: FraudConfig::default(),
        }
    }
}

/// No offer, then 5%, 10%, 15%, 20% and 30% off.
pub fn default_ladder() -> Vec<Offer> {
    let mut ladder = vec![Offer::NoOffer];
    for p in [5.0, 10.0, 15.0, 20.0, 30.0] {
        ladder.push(Offer::PercentOff { percent: p });
    }
    ladder
}

impl Default for PopulationConfig {
    fn default() -> Self {
        Self {
            signup_share: 0.05,
            initial_stage_shares: StageValues {
                new: 0.10,
                active: 0.10,
                lapsing: 0.65,
                lost: 0.15,
            },
            visit_rate: StageValues {
                new: 0.02,
                active: 0.032,
                lapsing: 0.0064,
                lost: 0.0,
            },
            visit_rate_shape: 0.7,
            churn_hazard: StageValues {
                new: 0.01,
                active: 0.002,
                lapsing: 0.004,
                lost: 0.0,
            },
            return_hazard: 0.001,
            dropout_after_order: 0.246,
            active_window_days: 60,
            lapsed_max_days: 365,
        }
    }
}

impl Default for ResponseConfig {
    fn default() -> Self {
        Self {
            shares: TypeShares {
                persuadable: 0.35,
                sure_thing: 0.10,
                lost_cause: 0.45,
                sleeping_dog: 0.10,
            },
            base_propensity: 0.24,
            persuadable_ceiling: 0.6,
            propensity_concentration: 8.0,
            elasticity_mean: 3.1,
            elasticity_sd: 0.8,
            elasticity_min: 1.4,
            elasticity_max: 4.1,
            coupon_effect: 0.10,
            sleeping_dog_penalty: 0.5,
        }
    }
}

fn category(name: &str, weight: f64, median: i64, margin: (f64, f64)) -> CategoryConfig {
    CategoryConfig {
        name: name.into(),
        weight,
        items: 50,
        price_median: median,
        price_sigma: 0.5,
        margin_min: margin.0,
        margin_max: margin.1,
    }
}

impl Default for CatalogueConfig {
    fn default() -> Self {
        Self {
            categories: vec![
                category("apparel", 0.20, 2500, (0.45, 0.60)),
                category("books", 0.10, 1400, (0.25, 0.40)),
                category("music", 0.10, 1300, (0.30, 0.45)),
                category("electronics", 0.10, 4500, (0.10, 0.20)),
                category("grocery", 0.20, 600, (0.20, 0.30)),
                category("home", 0.10, 2200, (0.35, 0.50)),
                category("beauty", 0.10, 1600, (0.50, 0.65)),
                category("toys", 0.10, 1900, (0.30, 0.45)),
            ],
            popularity_exponent: 0.8,
            stock_mean: 500,
            restock_every_days: 7,
        }
    }
}

impl Default for BehaviourConfig {
    fn default() -> Self {
        Self {
            views_per_visit: 3.0,
            basket_lines_mean: 1.6,
            quantity_extra: 0.15,
            category_loyalty: 0.6,
            cart_abandon_rate: 0.3,
            review_rate: 0.1,
            shipping_fee: 499,
        }
    }
}

impl Default for FraudConfig {
    fn default() -> Self {
        Self {
            share: 0.01,
            kinds: FraudKindShares {
                coupon_farmer: 0.5,
                order_brusher: 0.25,
                reseller: 0.25,
            },
            farmer_ring_size: [5, 20],
            farmer_visit_rate: 0.7,
            farmer_buy_prob: 0.9,
            brusher_ring_size: [3, 8],
            brusher_burst_prob: 0.1,
            brusher_orders_per_burst: [3, 10],
            reseller_visit_rate: 0.2,
            reseller_min_percent: 20.0,
            reseller_buy_prob: 0.8,
            reseller_quantity: [10, 50],
        }
    }
}

fn probability(field: &str, v: f64) -> Result<(), SimError> {
    if !(0.0..=1.0).contains(&v) {
        return Err(SimError::config(
            field,
            v,
            "must be a probability in [0, 1]",
        ));
    }
    Ok(())
}

fn positive(field: &str, v: f64) -> Result<(), SimError> {
    if !(v.is_finite() && v > 0.0) {
        return Err(SimError::config(field, v, "must be a positive number"));
    }
    Ok(())
}

fn non_negative(field: &str, v: f64) -> Result<(), SimError> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(SimError::config(field, v, "must be a number >= 0"));
    }
    Ok(())
}

fn shares(field: &str, values: &[(&str, f64)]) -> Result<(), SimError> {
    for (name, v) in values {
        non_negative(&format!("{field}.{name}"), *v)?;
    }
    if values.iter().map(|(_, v)| v).sum::<f64>() <= 0.0 {
        return Err(SimError::config(
            field,
            "all zero",
            "at least one share must be positive",
        ));
    }
    Ok(())
}

fn range(field: &str, r: [u32; 2]) -> Result<(), SimError> {
    if r[0] == 0 || r[0] > r[1] {
        return Err(SimError::config(
            field,
            format!("[{}, {}]", r[0], r[1]),
            "must be [min, max] with 1 <= min <= max",
        ));
    }
    Ok(())
}

impl SimConfig {
    /// Parses TOML text; `origin` names the source in errors (a path, or `<string>`).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, SimError> {
        let config: SimConfig = toml::from_str(text).map_err(|e| SimError::Toml {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and validates a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// The configuration as TOML (every knob, for a starting file).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The currency of all prices.
    pub fn currency(&self) -> Result<Currency, SimError> {
        Ok(Currency::parse("currency", &self.currency)?)
    }

    /// Midnight UTC of the first simulated day.
    pub fn start(&self) -> Result<Timestamp, SimError> {
        let t = Timestamp::parse("start_date", &self.start_date)?;
        Ok(Timestamp(
            t.0 - t.0.rem_euclid(discount_core::time::MICROS_PER_DAY),
        ))
    }

    /// Checks every value; the error names the field (TOML path), the value and the rule.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.users == 0 || self.users > 100_000_000 {
            return Err(SimError::config(
                "users",
                self.users,
                "must be 1 to 100,000,000",
            ));
        }
        if self.days == 0 || self.days > 3650 {
            return Err(SimError::config("days", self.days, "must be 1 to 3650"));
        }
        self.start()?;
        self.currency()?;
        if self.ladder.is_empty() {
            return Err(SimError::config(
                "ladder",
                "[]",
                "needs at least one offer (e.g. no_offer)",
            ));
        }
        for (i, offer) in self.ladder.iter().enumerate() {
            offer.validate().map_err(|e| {
                SimError::config(&format!("ladder[{i}]"), offer.label(), e.to_string())
            })?;
        }
        if let Some(b) = self.budget {
            if b < 0 {
                return Err(SimError::config("budget", b, "must be >= 0 minor units"));
            }
        }
        self.population.validate()?;
        self.response.validate()?;
        self.catalogue.validate()?;
        self.behaviour.validate()?;
        self.fraud.validate()?;
        Ok(())
    }
}

impl StageValues {
    fn each(&self) -> [(&'static str, f64); 4] {
        [
            ("new", self.new),
            ("active", self.active),
            ("lapsing", self.lapsing),
            ("lost", self.lost),
        ]
    }
}

impl PopulationConfig {
    fn validate(&self) -> Result<(), SimError> {
        let p = "population";
        probability(&format!("{p}.signup_share"), self.signup_share)?;
        shares(
            &format!("{p}.initial_stage_shares"),
            &self.initial_stage_shares.each(),
        )?;
        for (name, v) in self.visit_rate.each() {
            probability(&format!("{p}.visit_rate.{name}"), v)?;
        }
        for (name, v) in self.churn_hazard.each() {
            probability(&format!("{p}.churn_hazard.{name}"), v)?;
        }
        positive(&format!("{p}.visit_rate_shape"), self.visit_rate_shape)?;
        probability(&format!("{p}.return_hazard"), self.return_hazard)?;
        probability(
            &format!("{p}.dropout_after_order"),
            self.dropout_after_order,
        )?;
        if self.active_window_days == 0 {
            return Err(SimError::config(
                &format!("{p}.active_window_days"),
                0,
                "must be at least 1",
            ));
        }
        if self.lapsed_max_days <= self.active_window_days {
            return Err(SimError::config(
                &format!("{p}.lapsed_max_days"),
                self.lapsed_max_days,
                "must be greater than active_window_days",
            ));
        }
        Ok(())
    }
}

impl ResponseConfig {
    fn validate(&self) -> Result<(), SimError> {
        let r = "response";
        let s = &self.shares;
        shares(
            &format!("{r}.shares"),
            &[
                ("persuadable", s.persuadable),
                ("sure_thing", s.sure_thing),
                ("lost_cause", s.lost_cause),
                ("sleeping_dog", s.sleeping_dog),
            ],
        )?;
        for (name, v) in [
            ("base_propensity", self.base_propensity),
            ("persuadable_ceiling", self.persuadable_ceiling),
        ] {
            if !(v > 0.0 && v < 1.0) {
                return Err(SimError::config(
                    &format!("{r}.{name}"),
                    v,
                    "must be in (0, 1)",
                ));
            }
        }
        positive(
            &format!("{r}.propensity_concentration"),
            self.propensity_concentration,
        )?;
        positive(&format!("{r}.elasticity_mean"), self.elasticity_mean)?;
        non_negative(&format!("{r}.elasticity_sd"), self.elasticity_sd)?;
        positive(&format!("{r}.elasticity_min"), self.elasticity_min)?;
        if self.elasticity_max.is_nan() || self.elasticity_max < self.elasticity_min {
            return Err(SimError::config(
                &format!("{r}.elasticity_max"),
                self.elasticity_max,
                "must be >= elasticity_min",
            ));
        }
        probability(&format!("{r}.coupon_effect"), self.coupon_effect)?;
        probability(
            &format!("{r}.sleeping_dog_penalty"),
            self.sleeping_dog_penalty,
        )?;
        Ok(())
    }
}

impl CatalogueConfig {
    fn validate(&self) -> Result<(), SimError> {
        if self.categories.is_empty() {
            return Err(SimError::config(
                "catalogue.categories",
                "[]",
                "needs at least one category",
            ));
        }
        if self.categories.len() > u16::MAX as usize {
            return Err(SimError::config(
                "catalogue.categories",
                self.categories.len(),
                "too many categories",
            ));
        }
        let mut total_weight = 0.0;
        for (i, c) in self.categories.iter().enumerate() {
            let f = |name: &str| format!("catalogue.categories[{i}].{name}");
            discount_core::ids::validate_id(&f("name"), &c.name)?;
            non_negative(&f("weight"), c.weight)?;
            total_weight += c.weight;
            if c.items == 0 || c.items > 1_000_000 {
                return Err(SimError::config(
                    &f("items"),
                    c.items,
                    "must be 1 to 1,000,000",
                ));
            }
            if c.price_median <= 0 {
                return Err(SimError::config(
                    &f("price_median"),
                    c.price_median,
                    "must be positive minor units",
                ));
            }
            non_negative(&f("price_sigma"), c.price_sigma)?;
            if !(0.0..1.0).contains(&c.margin_min) || !(c.margin_min..1.0).contains(&c.margin_max) {
                return Err(SimError::config(
                    &f("margin_max"),
                    format!("[{}, {}]", c.margin_min, c.margin_max),
                    "margins must satisfy 0 <= margin_min <= margin_max < 1",
                ));
            }
        }
        if total_weight <= 0.0 {
            return Err(SimError::config(
                "catalogue.categories.weight",
                0,
                "at least one weight must be positive",
            ));
        }
        non_negative("catalogue.popularity_exponent", self.popularity_exponent)?;
        if self.stock_mean < 0 {
            return Err(SimError::config(
                "catalogue.stock_mean",
                self.stock_mean,
                "must be >= 0 (0 = unlimited)",
            ));
        }
        Ok(())
    }
}

impl BehaviourConfig {
    fn validate(&self) -> Result<(), SimError> {
        let b = "behaviour";
        if !(self.views_per_visit >= 1.0 && self.views_per_visit <= 100.0) {
            return Err(SimError::config(
                &format!("{b}.views_per_visit"),
                self.views_per_visit,
                "must be 1 to 100",
            ));
        }
        if !(self.basket_lines_mean >= 1.0 && self.basket_lines_mean <= 50.0) {
            return Err(SimError::config(
                &format!("{b}.basket_lines_mean"),
                self.basket_lines_mean,
                "must be 1 to 50",
            ));
        }
        if !(0.0..=20.0).contains(&self.quantity_extra) {
            return Err(SimError::config(
                &format!("{b}.quantity_extra"),
                self.quantity_extra,
                "must be 0 to 20",
            ));
        }
        if !(self.category_loyalty > 0.0 && self.category_loyalty < 1.0) {
            return Err(SimError::config(
                &format!("{b}.category_loyalty"),
                self.category_loyalty,
                "must be in (0, 1)",
            ));
        }
        probability(&format!("{b}.cart_abandon_rate"), self.cart_abandon_rate)?;
        probability(&format!("{b}.review_rate"), self.review_rate)?;
        if self.shipping_fee < 0 {
            return Err(SimError::config(
                &format!("{b}.shipping_fee"),
                self.shipping_fee,
                "must be >= 0",
            ));
        }
        Ok(())
    }
}

impl FraudConfig {
    fn validate(&self) -> Result<(), SimError> {
        let f = "fraud";
        if !(0.0..=0.5).contains(&self.share) {
            return Err(SimError::config(
                &format!("{f}.share"),
                self.share,
                "must be in [0, 0.5]",
            ));
        }
        if self.share > 0.0 {
            let k = &self.kinds;
            shares(
                &format!("{f}.kinds"),
                &[
                    ("coupon_farmer", k.coupon_farmer),
                    ("order_brusher", k.order_brusher),
                    ("reseller", k.reseller),
                ],
            )?;
        }
        range(&format!("{f}.farmer_ring_size"), self.farmer_ring_size)?;
        range(&format!("{f}.brusher_ring_size"), self.brusher_ring_size)?;
        range(
            &format!("{f}.brusher_orders_per_burst"),
            self.brusher_orders_per_burst,
        )?;
        range(&format!("{f}.reseller_quantity"), self.reseller_quantity)?;
        for (name, v) in [
            ("farmer_visit_rate", self.farmer_visit_rate),
            ("farmer_buy_prob", self.farmer_buy_prob),
            ("brusher_burst_prob", self.brusher_burst_prob),
            ("reseller_visit_rate", self.reseller_visit_rate),
            ("reseller_buy_prob", self.reseller_buy_prob),
        ] {
            probability(&format!("{f}.{name}"), v)?;
        }
        if !(self.reseller_min_percent > 0.0 && self.reseller_min_percent <= 100.0) {
            return Err(SimError::config(
                &format!("{f}.reseller_min_percent"),
                self.reseller_min_percent,
                "must be in (0, 100]",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_toml() {
        let c = SimConfig::default();
        c.validate().unwrap();
        let again = SimConfig::from_toml_str(&c.to_toml(), "<test>").unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn a_partial_file_keeps_the_other_defaults() {
        let c = SimConfig::from_toml_str(
            "users = 500\n[response]\ncoupon_effect = 0.2\n[[ladder]]\nkind = \"no_offer\"\n[[ladder]]\nkind = \"percent_off\"\npercent = 10\n",
            "<test>",
        )
        .unwrap();
        assert_eq!(c.users, 500);
        assert_eq!(c.response.coupon_effect, 0.2);
        assert_eq!(
            c.response.base_propensity,
            ResponseConfig::default().base_propensity
        );
        assert_eq!(c.ladder.len(), 2);
    }

    #[test]
    fn the_documented_example_parses() {
        let text = r#"
seed = 7
users = 200000
days = 60
budget = 10000000

[[ladder]]
kind = "no_offer"
[[ladder]]
kind = "percent_off"
percent = 10
[[ladder]]
kind = "amount_off"
amount = 500
min_spend = 3000

[response]
shares = { persuadable = 0.3, sure_thing = 0.15, lost_cause = 0.45, sleeping_dog = 0.10 }

[fraud]
share = 0.02
"#;
        let c = SimConfig::from_toml_str(text, "docs/simulator.md").unwrap();
        assert_eq!(c.ladder.len(), 3);
        assert_eq!(c.response.shares.sure_thing, 0.15);
    }

    #[test]
    fn errors_name_the_field() {
        let e = SimConfig::from_toml_str("[population]\nreturn_hazard = 1.5\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("population.return_hazard") && e.contains("1.5"),
            "{e}"
        );
        let e = SimConfig::from_toml_str("userz = 3\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.toml") && e.contains("userz"), "{e}");
        let e = SimConfig::from_toml_str(
            "[[ladder]]\nkind = \"percent_off\"\npercent = 150\n",
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("ladder[0]"), "{e}");
        let mut c = SimConfig::default();
        c.fraud.farmer_ring_size = [5, 2];
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("fraud.farmer_ring_size"));
        c = SimConfig::default();
        c.start_date = "yesterday".into();
        assert!(c.validate().unwrap_err().to_string().contains("start_date"));
    }
}
