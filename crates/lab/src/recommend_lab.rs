//! Recommendations with offers in the simulated shop: do personalised slates with an offer per slot
//! earn more incremental profit than recommendations alone and offers alone, at the same discount
//! budget?
//!
//! The simulator's customers (their favourite category and loyalty, per-visit propensity, price
//! elasticity and discount-response type) and catalogue drive the truth. Customer i is shown a slate
//! of `slots` items; item j of category c at slot k with a discount of d on price P is
//!
//! * clicked with probability examination(k) × interest_i(c), where examination(k) = 1 / log2(k + 2)
//!   and interest_i(c) = loyalty_i × [c is i's favourite] + (1 − loyalty_i) × share(c), the
//!   category's global share (how the simulator draws the categories a customer views);
//! * bought after a click with the simulator's response model at depth d / P: a persuadable with
//!   q_i × L(d / P) (nothing without an offer), a sure thing with q_i, a lost cause never, a sleeping
//!   dog with q_i, or q_i × (1 − penalty) under an offer (`discount_sim::response`).
//!
//! A purchase earns P − d − cost (one unit) and spends d of the budget. Fraud accounts are left out.
//! The recommender is ALS fitted on `views` past product views per customer, drawn as the simulator
//! draws views (category by loyalty, item by popularity). Figures are expectations under the true
//! probabilities (no sampling noise); the seed changes the catalogue, the customers and their past.
//!
//! Arms, all with the same slate builder (category cap, examination, expected profit):
//!
//! * popularity, no offers: the baseline every incremental profit is measured against;
//! * recommendations alone: the customer's personal slate, no offers;
//! * offers alone: the popularity slate, each slot with the offer the offer engine picks;
//! * recommendations with offers: the personal slate with the offer engine's offers.
//!
//! The offer engine knows neither types nor true lifts: it assumes a purchase lift of `elasticity` ×
//! d / P and prices the budget with a shadow price λ. Both offer arms get the same budget, a share
//! (`budget_share`) of what the bigger spender of the two would spend with no budget (an arm that
//! finds no offer worth it below the budget spends less); λ is set per arm by bisection so
//! that its expected spend is the budget (mixing the two shadow prices that bracket it over customers,
//! since spend moves in steps).

use discount_policy::offers::{Ladder, MarginFloor};
use discount_recommend::{
    best_offer, examination, Catalogue, CatalogueItem, EventWeights, Interactions, Learner,
    OfferSettings, Recommender, Scratch, SlateBuilder, SlateRequest, SlateSettings,
};
use discount_sim::catalogue::Catalogue as SimCatalogue;
use discount_sim::customer::Population;
use discount_sim::fraud::FraudKind;
use discount_sim::response::{lift, OfferTerms};
use discount_sim::rng::SplitMix64;
use discount_sim::{ResponseType, SimConfig};
use serde::Serialize;

use crate::error::LabError;

/// What to run.
#[derive(Debug, Clone, Serialize)]
pub struct RecommendLabOptions {
    pub seeds: Vec<u64>,
    /// Customer accounts drawn by the simulator (fraud accounts are left out of the comparison).
    pub users: usize,
    /// Items per slate.
    pub slots: usize,
    /// Past product views per customer the recommender learns from.
    pub views: usize,
    /// The offer arms' budget as a share of what the bigger spender of them spends without a budget.
    pub budget_share: f64,
    /// The purchase lift per relative discount the offer engine assumes.
    pub elasticity: f64,
}

impl Default for RecommendLabOptions {
    fn default() -> Self {
        RecommendLabOptions {
            seeds: vec![1, 2, 3],
            users: 3_000,
            slots: 5,
            views: 10,
            budget_share: 0.5,
            elasticity: 2.0,
        }
    }
}

/// One arm of one seed.
#[derive(Debug, Clone, Serialize)]
pub struct ArmResult {
    pub arm: String,
    /// Expected profit over all customers, minor units.
    pub profit: f64,
    /// Minus the popularity slate's without offers.
    pub incremental_profit: f64,
    /// Expected discount paid.
    pub spend: f64,
    /// The shadow price that met the budget (offer arms): the smallest found that does not exceed it.
    pub shadow_price: Option<f64>,
    /// Share of customers given the offers at the shadow price just below it, so that the expected
    /// spend is the budget exactly (offer arms).
    pub lower_price_share: Option<f64>,
}

/// One seed.
#[derive(Debug, Clone, Serialize)]
pub struct SeedResult {
    pub seed: u64,
    pub customers: usize,
    pub items: usize,
    /// The offer arms' expected discount budget, minor units.
    pub budget: f64,
    pub arms: Vec<ArmResult>,
}

/// Every seed, and the mean incremental profit of each arm.
#[derive(Debug, Clone, Serialize)]
pub struct RecommendLabReport {
    pub options: RecommendLabOptions,
    pub seeds: Vec<SeedResult>,
    /// (arm, mean incremental profit over seeds).
    pub mean_incremental: Vec<(String, f64)>,
    /// Seeds where recommendations with offers beat both recommendations alone and offers alone.
    pub wins: usize,
}

pub const ARMS: [&str; 4] = [
    "popularity, no offers",
    "recommendations alone",
    "offers alone",
    "recommendations with offers",
];

fn recommend_error(e: discount_recommend::RecommendError) -> LabError {
    LabError::Invalid(format!("recommendations: {e}"))
}

/// A customer's truth.
struct Customer {
    user_id: String,
    /// Interest per category.
    interest: Vec<f64>,
    response: ResponseType,
    propensity: f64,
    elasticity: f64,
}

/// One shown slot, before its offer: catalogue index and the engine's purchase probability there.
struct ShownSlot {
    item: usize,
    position: usize,
    engine_p: f64,
    margin: i64,
}

struct World {
    customers: Vec<Customer>,
    catalogue: Catalogue,
    ladder: Ladder,
    coupon_effect: f64,
    sleeping_dog_penalty: f64,
    /// Category index of each catalogue item.
    category: Vec<usize>,
}

impl World {
    /// True purchase probability of item `item` at `position` with `discount` for customer `c`.
    fn truth(&self, c: &Customer, item: usize, position: usize, discount: i64) -> f64 {
        let it = &self.catalogue.items()[item];
        let click = examination(position) * c.interest[self.category[item]];
        let terms = OfferTerms {
            is_offer: discount > 0,
            depth: (discount as f64 / it.price as f64).clamp(0.0, 0.99),
        };
        let buy = match c.response {
            ResponseType::Persuadable => {
                c.propensity * lift(terms, c.elasticity, self.coupon_effect)
            }
            ResponseType::SureThing => c.propensity,
            ResponseType::LostCause => 0.0,
            ResponseType::SleepingDog if terms.is_offer => {
                c.propensity * (1.0 - self.sleeping_dog_penalty)
            }
            ResponseType::SleepingDog => c.propensity,
        };
        (click * buy).clamp(0.0, 1.0)
    }

    /// (expected profit, expected spend) of the slates with the offers the engine picks at
    /// `shadow_price` (`None`: no offers).
    fn evaluate(
        &self,
        slates: &[Vec<ShownSlot>],
        shadow_price: Option<f64>,
        elasticity: f64,
    ) -> Result<(f64, f64), LabError> {
        let settings = shadow_price.map(|lambda| OfferSettings {
            ladder: self.ladder.clone(),
            shadow_price: lambda,
            elasticity,
            margin_floor: MarginFloor::default(),
        });
        let (mut profit, mut spend) = (0.0, 0.0);
        for (c, slate) in self.customers.iter().zip(slates) {
            for s in slate {
                let item = &self.catalogue.items()[s.item];
                let discount = match &settings {
                    Some(o) => best_offer(o, item, s.margin, s.engine_p, i64::MAX)
                        .map_err(recommend_error)?
                        .map_or(0, |o| o.discount),
                    None => 0,
                };
                let q = self.truth(c, s.item, s.position, discount);
                profit += q * (s.margin - discount) as f64;
                spend += q * discount as f64;
            }
        }
        Ok((profit, spend))
    }
}

/// Builds the shop of one seed: catalogue, customers (fraud left out) and their past views.
fn world(options: &RecommendLabOptions, seed: u64) -> Result<(World, Interactions), LabError> {
    let config = SimConfig {
        seed,
        users: options.users,
        ..SimConfig::default()
    };
    config.validate()?;
    let currency = config.currency()?;
    let sim_catalogue = SimCatalogue::build(&config.catalogue, config.seed, currency);
    let pop = Population::generate(&config, &sim_catalogue);
    let categories = sim_catalogue.categories();
    // Global category shares, from the simulator's own draw on a fine grid.
    let grid = 100_000;
    let mut share = vec![0.0; categories];
    for g in 0..grid {
        share[sim_catalogue.draw_category((g as f64 + 0.5) / grid as f64)] += 1.0 / grid as f64;
    }
    let items: Vec<CatalogueItem> = (0..sim_catalogue.len())
        .map(|i| CatalogueItem {
            id: sim_catalogue.ids[i].clone(),
            category: sim_catalogue.category_names[sim_catalogue.category[i] as usize].clone(),
            price: sim_catalogue.price[i],
            unit_cost: Some(sim_catalogue.cost[i]),
            stock: None,
        })
        .collect();
    let catalogue = Catalogue::new(items).map_err(recommend_error)?;
    let now =
        discount_core::Timestamp::from_date(2024, 6, 1).unwrap_or(discount_core::Timestamp(0));
    let mut history = Interactions::new(EventWeights::default(), now).map_err(recommend_error)?;
    let mut rng = SplitMix64::new(seed ^ 0x5eed_7ec0);
    let mut customers = Vec::new();
    for i in 0..pop.len() {
        if pop.fraud[i] != FraudKind::None {
            continue;
        }
        let favourite = pop.favourite[i] as usize;
        let loyalty = pop.loyalty[i] as f64;
        let user_id = pop.user_id(i);
        for v in 0..options.views {
            let category = sim_catalogue.draw_category_for(&mut rng, favourite, loyalty);
            let item = sim_catalogue.draw_item(&mut rng, category);
            history.push(&discount_core::Event {
                id: format!("{user_id}-{v}"),
                user_id: user_id.clone(),
                time: now,
                kind: discount_core::EventKind::View {
                    item_id: Some(sim_catalogue.ids[item].clone()),
                },
            });
        }
        let interest = (0..categories)
            .map(|c| loyalty * f64::from(u8::from(c == favourite)) + (1.0 - loyalty) * share[c])
            .collect();
        customers.push(Customer {
            user_id,
            interest,
            response: pop.response[i],
            propensity: pop.propensity[i] as f64,
            elasticity: pop.elasticity[i] as f64,
        });
    }
    let ladder = Ladder::from_offers(&config.ladder, i64::MAX)?;
    let category = sim_catalogue.category.iter().map(|&c| c as usize).collect();
    Ok((
        World {
            customers,
            catalogue,
            ladder,
            coupon_effect: config.response.coupon_effect,
            sleeping_dog_penalty: config.response.sleeping_dog_penalty,
            category,
        },
        history,
    ))
}

/// Every customer's slate, personal or by popularity (the model's popularity for a customer it does
/// not know), without offers.
fn slates(
    world: &World,
    recommender: &Recommender,
    slots: usize,
    personal: bool,
) -> Result<Vec<Vec<ShownSlot>>, LabError> {
    let settings = SlateSettings::default();
    let map = recommender.map_catalogue(&world.catalogue);
    let builder = SlateBuilder {
        recommender,
        catalogue: &world.catalogue,
        history: None,
        settings: &settings,
        offers: None,
        catalogue_map: Some(&map),
    };
    let mut scratch = Scratch::default();
    // Greedy ranking never draws from it.
    let mut rng = rand::rngs::mock::StepRng::new(0, 1);
    let anonymous = SlateRequest {
        user_id: "\u{0}anonymous".into(),
        k: slots,
        ..Default::default()
    };
    let popular = builder
        .build(&anonymous, &mut scratch, &mut rng)
        .map_err(recommend_error)?;
    world
        .customers
        .iter()
        .map(|c| {
            let slate = if personal {
                let request = SlateRequest {
                    user_id: c.user_id.clone(),
                    k: slots,
                    ..Default::default()
                };
                builder
                    .build(&request, &mut scratch, &mut rng)
                    .map_err(recommend_error)?
            } else {
                popular.clone()
            };
            slate
                .slots
                .iter()
                .map(|s| {
                    let item = world.catalogue.index_of(&s.item_id).ok_or_else(|| {
                        LabError::Invalid(format!("slate item {} not in the catalogue", s.item_id))
                    })?;
                    Ok(ShownSlot {
                        item,
                        position: s.position,
                        engine_p: s.purchase_probability,
                        margin: world.catalogue.items()[item].margin(settings.cost_ratio),
                    })
                })
                .collect()
        })
        .collect()
}

/// The arm at the budget: the bisection brackets the shadow price between `lo` (spends more than the
/// budget) and `hi` (spends at most the budget). Spend falls in steps (every customer of the
/// popularity arm sees the same slate, so an offer appears or goes for all at once), so the two
/// are mixed: a share w of customers gets the offers at `lo`, the rest at `hi`, with w chosen so
/// that the expected spend is the budget. Returns (profit, spend, hi, w).
fn at_budget(
    world: &World,
    slates: &[Vec<ShownSlot>],
    budget: f64,
    elasticity: f64,
) -> Result<(f64, f64, f64, f64), LabError> {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while world.evaluate(slates, Some(hi), elasticity)?.1 > budget {
        hi *= 2.0;
        if hi > 1e6 {
            break;
        }
    }
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if world.evaluate(slates, Some(mid), elasticity)?.1 > budget {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let (profit_hi, spend_hi) = world.evaluate(slates, Some(hi), elasticity)?;
    let (profit_lo, spend_lo) = world.evaluate(slates, Some(lo), elasticity)?;
    if spend_lo <= budget || spend_lo <= spend_hi {
        return Ok((profit_hi, spend_hi, hi, 0.0));
    }
    let w = ((budget - spend_hi) / (spend_lo - spend_hi)).clamp(0.0, 1.0);
    Ok((
        w * profit_lo + (1.0 - w) * profit_hi,
        w * spend_lo + (1.0 - w) * spend_hi,
        hi,
        w,
    ))
}

/// Runs one seed.
pub fn run_seed(options: &RecommendLabOptions, seed: u64) -> Result<SeedResult, LabError> {
    let (world, history) = world(options, seed)?;
    let recommender = Recommender::fit(
        &history,
        &match Learner::default() {
            Learner::Als(p) => Learner::Als(discount_models::cf::AlsParams { seed, ..p }),
            other => other,
        },
        &|_| None,
    )
    .map_err(recommend_error)?;
    let popular = slates(&world, &recommender, options.slots, false)?;
    let personal = slates(&world, &recommender, options.slots, true)?;
    let e = options.elasticity;
    let (baseline, _) = world.evaluate(&popular, None, e)?;
    let (recs_alone, _) = world.evaluate(&personal, None, e)?;
    // The budget binds the offer arm that would spend more without one.
    let unlimited = world
        .evaluate(&popular, Some(0.0), e)?
        .1
        .max(world.evaluate(&personal, Some(0.0), e)?.1);
    let budget = options.budget_share * unlimited;
    let (offers_alone, offers_spend, offers_lambda, offers_mix) =
        at_budget(&world, &popular, budget, e)?;
    let (both, both_spend, both_lambda, both_mix) = at_budget(&world, &personal, budget, e)?;
    let arm = |k: usize, profit: f64, spend: f64, lambda: Option<(f64, f64)>| ArmResult {
        arm: ARMS[k].to_string(),
        profit,
        incremental_profit: profit - baseline,
        spend,
        shadow_price: lambda.map(|(l, _)| l),
        lower_price_share: lambda.map(|(_, w)| w),
    };
    Ok(SeedResult {
        seed,
        customers: world.customers.len(),
        items: world.catalogue.len(),
        budget,
        arms: vec![
            arm(0, baseline, 0.0, None),
            arm(1, recs_alone, 0.0, None),
            arm(
                2,
                offers_alone,
                offers_spend,
                Some((offers_lambda, offers_mix)),
            ),
            arm(3, both, both_spend, Some((both_lambda, both_mix))),
        ],
    })
}

/// Runs every seed; `progress(done, total)` after each.
pub fn run(
    options: &RecommendLabOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<RecommendLabReport, LabError> {
    if options.seeds.is_empty() {
        return Err(LabError::Invalid("give at least one seed".into()));
    }
    if options.slots == 0 || options.views == 0 || options.users == 0 {
        return Err(LabError::Invalid(format!(
            "users ({}), slots ({}) and views ({}) must be at least 1",
            options.users, options.slots, options.views
        )));
    }
    if !(options.budget_share > 0.0 && options.budget_share <= 1.0) {
        return Err(LabError::Invalid(format!(
            "budget share must be in (0, 1], got {}",
            options.budget_share
        )));
    }
    if !(options.elasticity >= 0.0 && options.elasticity.is_finite()) {
        return Err(LabError::Invalid(format!(
            "elasticity must be finite and >= 0, got {}",
            options.elasticity
        )));
    }
    let mut seeds = Vec::with_capacity(options.seeds.len());
    for (k, &seed) in options.seeds.iter().enumerate() {
        seeds.push(run_seed(options, seed)?);
        progress(k + 1, options.seeds.len());
    }
    let mean_incremental = ARMS
        .iter()
        .enumerate()
        .map(|(a, name)| {
            let mean = seeds
                .iter()
                .map(|s| s.arms[a].incremental_profit)
                .sum::<f64>()
                / seeds.len() as f64;
            (name.to_string(), mean)
        })
        .collect();
    let wins = seeds
        .iter()
        .filter(|s| s.arms[3].profit > s.arms[1].profit && s.arms[3].profit > s.arms[2].profit)
        .count();
    Ok(RecommendLabReport {
        options: options.clone(),
        seeds,
        mean_incremental,
        wins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_on_recommendations_beat_either_alone_at_the_same_budget() {
        let options = RecommendLabOptions {
            seeds: vec![11],
            users: 1_200,
            ..RecommendLabOptions::default()
        };
        let report = run(&options, |_, _| {}).unwrap();
        let s = &report.seeds[0];
        let profit = |a: usize| s.arms[a].profit;
        // Personal slates beat popular ones; offers add profit on either; together most.
        assert!(profit(1) > profit(0), "{s:?}");
        assert!(profit(2) > profit(0), "{s:?}");
        assert!(profit(3) > profit(1) && profit(3) > profit(2), "{s:?}");
        // Neither offer arm spends more than the budget; the one it binds spends all of it.
        for a in [2, 3] {
            assert!(s.arms[a].spend <= s.budget * (1.0 + 1e-9), "{s:?}");
        }
        let most = s.arms[2].spend.max(s.arms[3].spend);
        assert!((most - s.budget).abs() <= 1e-6 * s.budget, "{s:?}");
        assert_eq!(report.wins, 1);
    }
}
