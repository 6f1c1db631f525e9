//! Recommendations with offers against recommendations alone and offers alone, in a small market with known
//! purchase probabilities, at the same expected discount budget.
//!
//! Market: 10 categories of 20 items (price 800 to 3,000, cost 60 %), 3,000 customers who each favour one
//! category (70 % of their interest). The true probability that a customer buys item i shown at slot k with a
//! discount d is 0.3 × interest(category) × appeal(i) × examination(k) × (1 + 4 d / price). Each customer has 10
//! past views drawn from that interest; the recommender learns from them. Every arm shows each customer 5 slots;
//! profits and spend are expected values under the true probabilities (no sampling noise).
//!
//! Arms: popularity without offers (the baseline), recommendations alone, offers alone (the popularity slate
//! with offers), recommendations with offers. The offer arms' shadow price is set by bisection so that their
//! expected discount spend equals the budget.
//!
//! Usage: cargo run -p discount-recommend --example offers_with_recommendations [-- SEED]

use discount_core::{Event, EventKind, Offer, Timestamp};
use discount_policy::offers::{Ladder, MarginFloor};
use discount_recommend::{
    examination, Catalogue, CatalogueItem, EventWeights, Interactions, Learner, OfferSettings,
    Recommender, Scratch, SlateBuilder, SlateRequest, SlateSettings,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CATEGORIES: usize = 10;
const PER_CATEGORY: usize = 20;
const CUSTOMERS: usize = 3_000;
const SLOTS: usize = 5;

struct Market {
    interest: Vec<[f64; CATEGORIES]>,
    appeal: Vec<f64>,
    catalogue: Catalogue,
}

impl Market {
    fn truth(&self, customer: usize, item: usize, slot: usize, discount: i64) -> f64 {
        let it = &self.catalogue.items()[item];
        let category = item / PER_CATEGORY;
        (0.3 * self.interest[customer][category]
            * self.appeal[item]
            * examination(slot)
            * (1.0 + 4.0 * discount as f64 / it.price as f64))
            .min(1.0)
    }
}

/// (expected profit, expected discount spend) of one arm under the true probabilities.
fn run_arm(
    market: &Market,
    recommender: &Recommender,
    offers: Option<&OfferSettings>,
    personal: bool,
) -> anyhow::Result<(f64, f64)> {
    let settings = SlateSettings::default();
    let map = recommender.map_catalogue(&market.catalogue);
    let builder = SlateBuilder {
        recommender,
        catalogue: &market.catalogue,
        history: None,
        settings: &settings,
        offers,
        catalogue_map: Some(&map),
    };
    let mut scratch = Scratch::default();
    let mut rng = StdRng::seed_from_u64(0);
    let (mut profit, mut spend) = (0.0, 0.0);
    for c in 0..CUSTOMERS {
        let request = SlateRequest {
            // Offers alone: the model does not know "anonymous", so it ranks by popularity.
            user_id: if personal {
                format!("c{c}")
            } else {
                "anonymous".into()
            },
            k: SLOTS,
            ..Default::default()
        };
        let slate = builder.build(&request, &mut scratch, &mut rng)?;
        for slot in &slate.slots {
            let item: usize = slot.item_id[1..].parse()?;
            let it = &market.catalogue.items()[item];
            let discount = slot.offer.as_ref().map_or(0, |o| o.discount);
            let q = market.truth(c, item, slot.position, discount);
            profit += q * (it.margin(0.0) - discount) as f64;
            spend += q * discount as f64;
        }
    }
    Ok((profit, spend))
}

fn main() -> anyhow::Result<()> {
    let seed: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(3);
    let mut rng = StdRng::seed_from_u64(seed);
    let items: Vec<CatalogueItem> = (0..CATEGORIES * PER_CATEGORY)
        .map(|i| {
            let price = rng.gen_range(800..3_000);
            CatalogueItem {
                id: format!("i{i}"),
                category: format!("c{}", i / PER_CATEGORY),
                price,
                unit_cost: Some(price * 6 / 10),
                stock: None,
            }
        })
        .collect();
    let appeal: Vec<f64> = (0..items.len()).map(|_| rng.gen_range(0.5..1.0)).collect();
    let interest: Vec<[f64; CATEGORIES]> = (0..CUSTOMERS)
        .map(|_| {
            let favourite = rng.gen_range(0..CATEGORIES);
            let mut v = [0.3 / (CATEGORIES - 1) as f64; CATEGORIES];
            v[favourite] = 0.7;
            v
        })
        .collect();
    let market = Market {
        interest,
        appeal,
        catalogue: Catalogue::new(items)?,
    };
    // History: 10 views per customer, item drawn by interest × appeal.
    let now = Timestamp::from_date(2024, 6, 1).unwrap_or(Timestamp(0));
    let mut history = Interactions::new(EventWeights::default(), now)?;
    let n_items = market.catalogue.len();
    for c in 0..CUSTOMERS {
        let weights: Vec<f64> = (0..n_items)
            .map(|i| market.interest[c][i / PER_CATEGORY] * market.appeal[i])
            .collect();
        let total: f64 = weights.iter().sum();
        for v in 0..10 {
            let mut target = rng.gen::<f64>() * total;
            let mut item = n_items - 1;
            for (i, w) in weights.iter().enumerate() {
                if target < *w {
                    item = i;
                    break;
                }
                target -= w;
            }
            history.push(&Event {
                id: format!("{c}-{v}"),
                user_id: format!("c{c}"),
                time: now,
                kind: EventKind::View {
                    item_id: Some(format!("i{item}")),
                },
            });
        }
    }
    let recommender = Recommender::fit(&history, &Learner::default(), &|_| None)?;
    let ladder = Ladder::from_offers(
        &[
            Offer::NoOffer,
            Offer::PercentOff { percent: 5.0 },
            Offer::PercentOff { percent: 10.0 },
            Offer::PercentOff { percent: 20.0 },
        ],
        i64::MAX,
    )?;
    let offers = |shadow_price| OfferSettings {
        ladder: ladder.clone(),
        shadow_price,
        elasticity: 4.0,
        margin_floor: MarginFloor::default(),
    };
    let (baseline, _) = run_arm(&market, &recommender, None, false)?;
    let (recs_alone, _) = run_arm(&market, &recommender, None, true)?;
    // The budget: what offers alone spend at a shadow price of 0.2.
    let (_, budget) = run_arm(&market, &recommender, Some(&offers(0.2)), false)?;
    let at_budget = |personal: bool| -> anyhow::Result<(f64, f64, f64)> {
        let (mut lo, mut hi) = (0.0f64, 20.0f64);
        for _ in 0..30 {
            let mid = 0.5 * (lo + hi);
            let (_, spend) = run_arm(&market, &recommender, Some(&offers(mid)), personal)?;
            if spend > budget {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let (profit, spend) = run_arm(&market, &recommender, Some(&offers(hi)), personal)?;
        Ok((profit, spend, hi))
    };
    let (offers_alone, spend_offers, lambda_offers) = at_budget(false)?;
    let (both, spend_both, lambda_both) = at_budget(true)?;
    println!(
        "{CUSTOMERS} customers, {} items, {SLOTS} slots each; expected discount budget {budget:.0} (minor units)\n",
        n_items
    );
    println!(
        "{:<32} {:>14} {:>16} {:>10} {:>8}",
        "arm", "exp. profit", "incr. vs pop.", "spend", "lambda"
    );
    for (name, profit, spend, lambda) in [
        ("popularity, no offers", baseline, 0.0, f64::NAN),
        ("recommendations alone", recs_alone, 0.0, f64::NAN),
        (
            "offers alone (popular items)",
            offers_alone,
            spend_offers,
            lambda_offers,
        ),
        ("recommendations with offers", both, spend_both, lambda_both),
    ] {
        println!(
            "{name:<32} {profit:>14.0} {:>16.0} {spend:>10.0} {lambda:>8.3}",
            profit - baseline
        );
    }
    Ok(())
}
