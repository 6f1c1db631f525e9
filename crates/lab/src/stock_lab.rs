//! Stock-aware offers in a simulated shop with finite stock (`discount price stock-offers`).
//!
//! The simulator's catalogue (items with list prices, unit costs and popularity) is stocked so that
//! some items run short before their weekly replenishment, some have about enough and some have far
//! too much; a share of the items is end-of-line stock that is never replenished and is salvaged
//! below cost when the season ends. Customers visit to buy one item; the engine offers an item
//! discount (none, 10%, 20%, 30%) within the margin floor. Deal seekers (an observable flag, as
//! a coupon history gives) respond strongly to discounts, regular customers a little.
//!
//! Per seed, one engine is trained on a warm-up of uniformly random offers with unlimited stock
//! (its per-offer models then stay fixed), and the shop's demand at the list price is estimated
//! from the warm-up's views and no-offer purchases. The season is then played twice with the
//! same customers (the same random streams): without stock positions, and with the stock's
//! shadow price ([`discount_policy::stock`]), the book refreshed every few visits from what is
//! on hand, the estimated demand until the next replenishment (or the season's end) and what a
//! leftover unit is worth (its cost less holding, or its salvage value). The only difference
//! between the two runs is the stock term.
//!
//! Profit is paid revenue less the cost of goods of the units sold, less the salvage loss on
//! end-of-line stock left at the season's end and the holding cost of the stock on hand each day.

use discount_core::{Currency, Offer};
use discount_policy::engine::{
    BasketLine, CustomerFacts, DecisionContext, DecisionEngine, DecisionRequest, EngineConfig,
    JoinedOutcome, ModelConfig, ModelStructure, RulesConfig,
};
use discount_policy::offers::{Eligibility, OfferSpec, Scope};
use discount_policy::stock::{ItemStock, StockBook};
use discount_sim::catalogue::Catalogue;
use discount_sim::config::CatalogueConfig;
use discount_sim::rng::SplitMix64;
use rand::SeedableRng;
use serde::Serialize;

use crate::LabError;

/// Random-stream domains of this experiment (apart from the simulator's).
const ITEMS: u64 = 0x5354_4f43_4b01;
const WARMUP: u64 = 0x5354_4f43_4b02;
const SEASON: u64 = 0x5354_4f43_4b03;
const SHARES: u64 = 0x5354_4f43_4b04;

/// The model's features, in order.
pub const FEATURES: [&str; 6] = [
    "bias",
    "deal_seeker",
    "price",
    "margin_x_price",
    "deal_seeker_x_price",
    "deal_seeker_x_margin_x_price",
];

/// Everything the experiment is built from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StockLabConfig {
    /// One run per seed (catalogue, stock, customers, warm-up and season).
    pub seeds: Vec<u64>,
    /// Items of each of the simulator's eight default categories.
    pub items_per_category: u32,
    pub visits_per_day: u32,
    /// Days of uniformly random offers with unlimited stock that train the engine.
    pub warmup_days: u32,
    pub season_days: u32,
    /// Replenished items are restocked to their level every this many days.
    pub restock_every_days: u32,
    /// Share of the items that are end-of-line stock: never replenished, salvaged at the end.
    pub clearance_share: f64,
    /// Salvage value of an end-of-line unit left at the season's end, as a share of its cost.
    pub salvage_share: f64,
    /// Holding cost of a unit on hand for a day, as a share of its cost.
    pub holding_per_day: f64,
    /// Stock levels as multiples of the demand at the list price until replenishment (or the
    /// season's end), one drawn per item.
    pub stock_ratios: Vec<f64>,
    /// Probability that a visitor buys at the list price.
    pub base_conversion: f64,
    pub deal_seeker_share: f64,
    /// Purchase probability is `base_conversion * (paid / list)^-elasticity`, at most 0.95.
    pub elasticity_regular: f64,
    pub elasticity_deal_seeker: f64,
    /// The offers besides none: percentages off the item.
    pub percents: Vec<f64>,
    /// The stock book is rebuilt from what is on hand every this many visits.
    pub refresh_every_visits: u32,
}

impl Default for StockLabConfig {
    fn default() -> Self {
        Self {
            seeds: vec![1, 2, 3, 4, 5],
            items_per_category: 6,
            visits_per_day: 400,
            warmup_days: 28,
            season_days: 56,
            restock_every_days: 7,
            clearance_share: 0.25,
            salvage_share: 0.3,
            holding_per_day: 0.001,
            stock_ratios: vec![0.6, 1.2, 2.5],
            base_conversion: 0.25,
            deal_seeker_share: 0.3,
            elasticity_regular: 2.0,
            elasticity_deal_seeker: 6.0,
            percents: vec![10.0, 20.0, 30.0],
            refresh_every_visits: 25,
        }
    }
}

impl StockLabConfig {
    fn validate(&self) -> Result<(), LabError> {
        let fail = |what: &str| Err(LabError::Invalid(format!("stock lab: {what}")));
        if self.seeds.is_empty() {
            return fail("give at least one seed");
        }
        if self.items_per_category == 0 || self.visits_per_day == 0 {
            return fail("items per category and visits per day must be at least 1");
        }
        if self.warmup_days == 0 || self.season_days == 0 || self.restock_every_days == 0 {
            return fail("warm-up, season and restock interval must be at least one day");
        }
        if self.refresh_every_visits == 0 {
            return fail("the stock book must be refreshed at least every visit count >= 1");
        }
        let share = |v: f64| (0.0..=1.0).contains(&v);
        if !(share(self.clearance_share)
            && share(self.salvage_share)
            && share(self.deal_seeker_share)
            && self.base_conversion > 0.0
            && self.base_conversion < 0.95)
        {
            return fail("shares must be in [0, 1] and base conversion in (0, 0.95)");
        }
        if !(self.holding_per_day.is_finite() && self.holding_per_day >= 0.0) {
            return fail("holding cost per day must be a finite share >= 0");
        }
        if self.stock_ratios.is_empty()
            || self
                .stock_ratios
                .iter()
                .any(|r| !(r.is_finite() && *r > 0.0))
        {
            return fail("stock ratios must be positive numbers");
        }
        if self.percents.is_empty() || self.percents.iter().any(|p| !(*p > 0.0 && *p < 100.0)) {
            return fail("offers must be percentages in (0, 100)");
        }
        if [self.elasticity_regular, self.elasticity_deal_seeker]
            .iter()
            .any(|e| !(e.is_finite() && *e >= 0.0))
        {
            return fail("elasticities must be finite numbers >= 0");
        }
        Ok(())
    }
}

/// What one season earned and how its stock fared.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SeasonFigures {
    /// Minor units: revenue - cost of goods sold - salvage loss - holding cost.
    pub profit: i64,
    pub revenue: i64,
    pub discount_spend: i64,
    pub salvage_loss: i64,
    pub holding_cost: i64,
    pub units_sold: u64,
    pub discounted_units: u64,
    /// Visitors who would have bought at the list price but found the shelf empty.
    pub lost_sales: u64,
    /// Replenishment cycles in which an item ran out after selling at a discount in that cycle.
    pub stockouts_of_discounted_items: u64,
    /// End-of-line units at the start, sold, and left to salvage at the end.
    pub clearance_stock: u64,
    pub clearance_sold: u64,
    pub clearance_salvaged: u64,
}

/// One seed: the season without and with the stock's shadow price.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeedResult {
    pub seed: u64,
    pub items: usize,
    pub without_stock: SeasonFigures,
    pub with_stock: SeasonFigures,
}

/// One figure over the seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SummaryRow {
    pub metric: String,
    pub without_stock: f64,
    pub with_stock: f64,
    /// Mean of the per-seed differences (with - without) and their standard deviation.
    pub difference: f64,
    pub difference_sd: f64,
    /// Seeds in which the stock-aware engine did better (higher profit, fewer stock-outs...).
    pub seeds_better: usize,
}

/// The whole experiment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StockLabReport {
    pub config: StockLabConfig,
    pub seeds: Vec<SeedResult>,
    pub summary: Vec<SummaryRow>,
}

/// One item of the stocked catalogue.
struct StockedItem {
    id: String,
    category: String,
    price: i64,
    cost: i64,
    /// Never replenished; salvaged at the season's end.
    clearance: bool,
    /// The level a replenished item is restocked to; the whole stock of an end-of-line item.
    level: i64,
}

/// Runs the experiment over every seed. `progress(done, total)` after each seed.
pub fn run(
    config: &StockLabConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<StockLabReport, LabError> {
    config.validate()?;
    let mut seeds = Vec::with_capacity(config.seeds.len());
    for (done, &seed) in config.seeds.iter().enumerate() {
        seeds.push(run_seed(config, seed)?);
        progress(done + 1, config.seeds.len());
    }
    let summary = summarise(&seeds);
    Ok(StockLabReport {
        config: config.clone(),
        seeds,
        summary,
    })
}

fn summarise(seeds: &[SeedResult]) -> Vec<SummaryRow> {
    type Metric = (&'static str, fn(&SeasonFigures) -> f64, bool);
    let metrics: [Metric; 8] = [
        ("profit", |f| f.profit as f64, true),
        ("revenue", |f| f.revenue as f64, true),
        ("discount spend", |f| f.discount_spend as f64, false),
        ("lost sales (units)", |f| f.lost_sales as f64, false),
        (
            "stock-outs of discounted items",
            |f| f.stockouts_of_discounted_items as f64,
            false,
        ),
        ("end-of-line units sold", |f| f.clearance_sold as f64, true),
        (
            "end-of-line units salvaged",
            |f| f.clearance_salvaged as f64,
            false,
        ),
        (
            "salvage + holding cost",
            |f| (f.salvage_loss + f.holding_cost) as f64,
            false,
        ),
    ];
    let n = seeds.len() as f64;
    metrics
        .iter()
        .map(|(name, value, higher_is_better)| {
            let diffs: Vec<f64> = seeds
                .iter()
                .map(|s| value(&s.with_stock) - value(&s.without_stock))
                .collect();
            let mean = diffs.iter().sum::<f64>() / n;
            let sd = if diffs.len() > 1 {
                (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
            } else {
                0.0
            };
            SummaryRow {
                metric: (*name).to_string(),
                without_stock: seeds.iter().map(|s| value(&s.without_stock)).sum::<f64>() / n,
                with_stock: seeds.iter().map(|s| value(&s.with_stock)).sum::<f64>() / n,
                difference: mean,
                difference_sd: sd,
                seeds_better: diffs
                    .iter()
                    .filter(|&&d| if *higher_is_better { d > 0.0 } else { d < 0.0 })
                    .count(),
            }
        })
        .collect()
}

/// The purchase probability of a visitor at a discount of `percent`.
fn buy_probability(config: &StockLabConfig, deal_seeker: bool, percent: f64) -> f64 {
    let elasticity = if deal_seeker {
        config.elasticity_deal_seeker
    } else {
        config.elasticity_regular
    };
    (config.base_conversion * (1.0 - percent / 100.0).powf(-elasticity)).min(0.95)
}

fn features(item: &StockedItem, deal_seeker: bool) -> Vec<f64> {
    let price = item.price as f64 / 1_000.0;
    let margin = (item.price - item.cost) as f64 / item.price as f64;
    let s = f64::from(u8::from(deal_seeker));
    vec![1.0, s, price, margin * price, s * price, s * margin * price]
}

fn engine_config(config: &StockLabConfig) -> EngineConfig {
    let mut offers = vec![Offer::NoOffer];
    offers.extend(
        config
            .percents
            .iter()
            .map(|&percent| Offer::PercentOff { percent }),
    );
    EngineConfig {
        name: "stock-lab".into(),
        ladder: offers
            .into_iter()
            .map(|offer| OfferSpec {
                id: discount_policy::offers::default_id(&offer),
                max_discount: matches!(offer, Offer::PercentOff { .. }).then_some(i64::MAX / 4),
                offer,
                scope: Scope::Basket,
                eligibility: Eligibility::default(),
            })
            .collect(),
        // The default margin floor: no unit is sold below its cost.
        rules: RulesConfig::default(),
        budgets: Vec::new(),
        pacing: Default::default(),
        exploration: discount_policy::bandit::Exploration::EpsilonGreedy { epsilon: 0.0 },
        model: ModelConfig {
            features: FEATURES.iter().map(|f| f.to_string()).collect(),
            ridge: 10.0,
            structure: ModelStructure::Disjoint,
            lifetime_value: None,
        },
    }
}

fn percent_of(offer: &Offer) -> f64 {
    match offer {
        Offer::PercentOff { percent } => *percent,
        _ => 0.0,
    }
}

/// The one basket line of a visit.
fn request(item: &StockedItem) -> DecisionRequest {
    DecisionRequest {
        customer_id: "visitor".into(),
        context: DecisionContext {
            basket: vec![BasketLine {
                item_id: item.id.clone(),
                category: item.category.clone(),
                quantity: 1,
                unit_price: item.price,
                unit_cost: Some(item.cost),
            }],
            ..DecisionContext::default()
        },
        ..DecisionRequest::default()
    }
}

/// One visit's draws, the same in every run of a seed.
struct Visit {
    item: usize,
    deal_seeker: bool,
    u_buy: f64,
}

fn visit(catalogue: &Catalogue, config: &StockLabConfig, mut rng: SplitMix64) -> Visit {
    let category = catalogue.draw_category(rng.uniform());
    let item = catalogue.draw_item(&mut rng, category);
    Visit {
        item,
        deal_seeker: rng.uniform() < config.deal_seeker_share,
        u_buy: rng.uniform(),
    }
}

fn run_seed(config: &StockLabConfig, seed: u64) -> Result<SeedResult, LabError> {
    let mut catalogue_config = CatalogueConfig::default();
    for c in &mut catalogue_config.categories {
        c.items = config.items_per_category;
    }
    catalogue_config.stock_mean = 0;
    catalogue_config.restock_every_days = 0;
    let currency = Currency::parse("currency", "USD")?;
    let catalogue = Catalogue::build(&catalogue_config, seed, currency);
    let n = catalogue.len();

    // The true share of visits of each item, to stock it against its true demand.
    let mut share = vec![0.0; n];
    let draws = 200_000;
    let mut rng = SplitMix64::stream(seed, &[SHARES]);
    for _ in 0..draws {
        let c = catalogue.draw_category(rng.uniform());
        share[catalogue.draw_item(&mut rng, c)] += 1.0 / f64::from(draws);
    }
    let mut rng = SplitMix64::stream(seed, &[ITEMS]);
    let items: Vec<StockedItem> = (0..n)
        .map(|i| {
            let clearance = rng.uniform() < config.clearance_share;
            let ratio = config.stock_ratios[rng.below(config.stock_ratios.len())];
            let days = if clearance {
                config.season_days
            } else {
                config.restock_every_days
            };
            let demand = f64::from(config.visits_per_day)
                * share[i]
                * config.base_conversion
                * f64::from(days);
            StockedItem {
                id: catalogue.ids[i].clone(),
                category: catalogue.category_names[usize::from(catalogue.category[i])].clone(),
                price: catalogue.price[i],
                cost: catalogue.cost[i],
                clearance,
                level: (ratio * demand).round().max(1.0) as i64,
            }
        })
        .collect();

    // Warm-up: uniformly random offers, unlimited stock; the engine learns, the planner counts.
    let engine = DecisionEngine::new(engine_config(config))?;
    let ladder = engine.ladder().clone();
    let mut views = vec![0u64; n];
    let (mut no_offer_visits, mut no_offer_buys) = (0u64, 0u64);
    let mut line = BasketLine {
        item_id: String::new(),
        category: String::new(),
        quantity: 1,
        unit_price: 0,
        unit_cost: None,
    };
    for day in 0..config.warmup_days {
        for v in 0..config.visits_per_day {
            let stream = [WARMUP, u64::from(day), u64::from(v)];
            let visit = visit(&catalogue, config, SplitMix64::stream(seed, &stream));
            let item = &items[visit.item];
            views[visit.item] += 1;
            let rung = SplitMix64::stream(seed, &[WARMUP, u64::from(day), u64::from(v), 1])
                .below(ladder.len());
            let spec = &ladder.rungs[rung];
            line.item_id.clone_from(&item.id);
            line.category.clone_from(&item.category);
            line.unit_price = item.price;
            line.unit_cost = Some(item.cost);
            // A rung the margin floor forbids on this item is not shown: no offer instead.
            let (offer_id, discount) = match discount_policy::offers::basket_discount(
                spec,
                std::slice::from_ref(&line),
                &engine.config().rules.margin_floor,
                0,
            ) {
                Ok(d) => (spec.id.clone(), d),
                Err(_) => (ladder.rungs[ladder.baseline].id.clone(), 0),
            };
            let percent = if discount > 0 {
                percent_of(&spec.offer)
            } else {
                0.0
            };
            let bought = visit.u_buy < buy_probability(config, visit.deal_seeker, percent);
            if discount == 0 {
                no_offer_visits += 1;
                no_offer_buys += u64::from(bought);
            }
            engine.update(&JoinedOutcome {
                offer_id,
                features: features(item, visit.deal_seeker),
                profit: if bought {
                    (item.price - discount - item.cost) as f64
                } else {
                    0.0
                },
                discount: if bought { discount as f64 } else { 0.0 },
                ordered: bought,
            })?;
        }
    }
    // Demand per day at the list price, as the warm-up shows it.
    let conversion = no_offer_buys as f64 / no_offer_visits.max(1) as f64;
    let daily_demand: Vec<f64> = views
        .iter()
        .map(|&v| v as f64 / f64::from(config.warmup_days) * conversion)
        .collect();

    let without_stock = season(config, seed, &catalogue, &items, &engine, None)?;
    let with_stock = season(
        config,
        seed,
        &catalogue,
        &items,
        &engine,
        Some(&daily_demand),
    )?;
    engine.set_stock(None);
    Ok(SeedResult {
        seed,
        items: n,
        without_stock,
        with_stock,
    })
}

/// Plays the season; with `daily_demand`, the engine values offers with the stock book.
fn season(
    config: &StockLabConfig,
    seed: u64,
    catalogue: &Catalogue,
    items: &[StockedItem],
    engine: &DecisionEngine,
    daily_demand: Option<&[f64]>,
) -> Result<SeasonFigures, LabError> {
    let n = items.len();
    let mut figures = SeasonFigures::default();
    let mut on_hand: Vec<i64> = items.iter().map(|i| i.level).collect();
    figures.clearance_stock = items
        .iter()
        .filter(|i| i.clearance)
        .map(|i| i.level as u64)
        .sum();
    let mut discounted_in_cycle = vec![false; n];
    let mut holding = 0.0;
    let mut decide_rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut facts = CustomerFacts::default();
    let restock = config.restock_every_days;
    engine.set_stock(None);
    for day in 0..config.season_days {
        if day > 0 && day % restock == 0 {
            for (i, item) in items.iter().enumerate() {
                if !item.clearance {
                    on_hand[i] = item.level;
                    discounted_in_cycle[i] = false;
                }
            }
        }
        for v in 0..config.visits_per_day {
            if let (Some(demand), 0) = (daily_demand, v % config.refresh_every_visits) {
                let elapsed = f64::from(v) / f64::from(config.visits_per_day);
                let mut book = StockBook::new();
                for (i, item) in items.iter().enumerate() {
                    let days_left = if item.clearance {
                        f64::from(config.season_days - day) - elapsed
                    } else {
                        f64::from(restock - day % restock) - elapsed
                    };
                    let leftover_value = if item.clearance {
                        (item.cost as f64 * config.salvage_share).round() as i64
                    } else {
                        (item.cost as f64 * (1.0 - config.holding_per_day * days_left)).round()
                            as i64
                    };
                    book.insert(
                        &item.id,
                        ItemStock {
                            on_hand: on_hand[i],
                            expected_demand: demand[i] * days_left.max(0.0),
                            unit_price: item.price,
                            unit_cost: item.cost,
                            leftover_value: leftover_value.min(item.price),
                        },
                    )?;
                }
                engine.set_stock(Some(book));
            }
            let rng = SplitMix64::stream(seed, &[SEASON, u64::from(day), u64::from(v)]);
            let visit = visit(catalogue, config, rng);
            let item = &items[visit.item];
            if on_hand[visit.item] == 0 {
                if visit.u_buy < config.base_conversion {
                    figures.lost_sales += 1;
                }
                continue;
            }
            facts.features = features(item, visit.deal_seeker);
            let decision = engine.decide(&request(item), &facts, &mut decide_rng)?;
            let discount = decision.basket_discount.unwrap_or(0);
            let percent = if discount > 0 {
                percent_of(&decision.offer)
            } else {
                0.0
            };
            if visit.u_buy >= buy_probability(config, visit.deal_seeker, percent) {
                continue;
            }
            let i = visit.item;
            on_hand[i] -= 1;
            figures.units_sold += 1;
            figures.revenue += item.price - discount;
            figures.profit += item.price - discount - item.cost;
            figures.discount_spend += discount;
            if item.clearance {
                figures.clearance_sold += 1;
            }
            if discount > 0 {
                figures.discounted_units += 1;
                discounted_in_cycle[i] = true;
            }
            if on_hand[i] == 0 && discounted_in_cycle[i] {
                figures.stockouts_of_discounted_items += 1;
            }
        }
        holding += items
            .iter()
            .zip(&on_hand)
            .map(|(item, &q)| q as f64 * item.cost as f64 * config.holding_per_day)
            .sum::<f64>();
    }
    for (item, &q) in items.iter().zip(&on_hand) {
        if item.clearance {
            figures.clearance_salvaged += q as u64;
            figures.salvage_loss +=
                q * (item.cost - (item.cost as f64 * config.salvage_share).round() as i64);
        }
    }
    figures.holding_cost = holding.round() as i64;
    figures.profit -= figures.salvage_loss + figures.holding_cost;
    engine.set_stock(None);
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stock_price_earns_more_runs_out_less_and_clears_more() {
        let config = StockLabConfig {
            seeds: vec![11, 12, 13],
            items_per_category: 4,
            visits_per_day: 250,
            warmup_days: 21,
            season_days: 28,
            ..StockLabConfig::default()
        };
        let report = run(&config, |_, _| {}).unwrap();
        for s in &report.seeds {
            let (a, b) = (&s.without_stock, &s.with_stock);
            assert!(b.profit > a.profit, "seed {}: {a:?} vs {b:?}", s.seed);
            assert!(
                b.lost_sales < a.lost_sales,
                "seed {}: {a:?} vs {b:?}",
                s.seed
            );
            assert!(
                b.stockouts_of_discounted_items < a.stockouts_of_discounted_items,
                "seed {}: {a:?} vs {b:?}",
                s.seed
            );
            assert!(
                b.clearance_salvaged < a.clearance_salvaged,
                "seed {}: {a:?} vs {b:?}",
                s.seed
            );
            // The books balance: what was stocked for clearance was sold or salvaged.
            for f in [a, b] {
                assert_eq!(f.clearance_sold + f.clearance_salvaged, f.clearance_stock);
            }
        }
        let profit = &report.summary[0];
        assert_eq!(profit.metric, "profit");
        assert_eq!(profit.seeds_better, 3);
    }

    #[test]
    fn bad_settings_are_refused() {
        let config = StockLabConfig {
            seeds: Vec::new(),
            ..StockLabConfig::default()
        };
        assert!(run(&config, |_, _| {}).is_err());
        let config = StockLabConfig {
            percents: vec![120.0],
            ..StockLabConfig::default()
        };
        let err = run(&config, |_, _| {}).unwrap_err().to_string();
        assert!(err.contains("percentages"), "{err}");
    }
}
