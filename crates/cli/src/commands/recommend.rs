//! `discount recommend`: the slate a customer would be shown now, each slot with its offer.

use std::path::PathBuf;

use anyhow::Context;
use discount_core::{Config, Offer, Timestamp};
use discount_policy::offers::{Ladder, MarginFloor};
use discount_recommend::served::{RecommendArtifact, RECOMMEND_KIND};
use discount_recommend::{
    Catalogue, EventWeights, Interactions, Learner, OfferSettings, Recommender, Scratch,
    SlateBuilder, SlateRequest, SlateSettings,
};
use rand::SeedableRng;

use crate::output::{print_json, Table};

/// Recommend products to a customer: ALS trained on the store's views, carts and orders
/// (weighted 1, 3 and 5 per unit, halving every 90 days), ranked by expected profit (purchase
/// probability at the slot × unit margin), leaving out what is out of stock, bought in the last
/// 30 days or excluded, at most --category-cap items of a category. A customer the store has no
/// events of gets the popularity of --segment (or of everybody); a product without events scores
/// like its category and price neighbours.
///
/// With --offers each slot carries the offer (none, 5%, 10% or 20% off) that maximises expected
/// incremental profit minus --shadow-price × the expected discount. With --temperature the slate
/// is drawn by Plackett-Luce and its exact probability printed, for off-policy evaluation.
///
/// With --register the fitted recommender is registered in the store as a candidate model of
/// kind `recommend`, with the catalogue and the slate settings; once promoted (discount models
/// promote ID), every `discount serve` on the store answers POST /v1/recommendations with it,
/// taking the offer ladder, margin floor and shadow price from its active policy.
///
/// The catalogue is a CSV with columns item_id,category,price[,unit_cost][,stock] (minor units).
///
/// Examples:
///   discount recommend cust-42 --catalog items.csv
///   discount recommend cust-42 --catalog items.csv --k 5 --offers --shadow-price 0.5
///   discount --json recommend new-visitor --catalog items.csv --segment mobile --temperature 0.3
///   discount recommend --catalog items.csv --register
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RecommendArgs {
    /// The customer id, as stored (optional with --register).
    #[arg(required_unless_present = "register")]
    pub customer: Option<String>,
    /// Catalogue CSV: item_id,category,price[,unit_cost][,stock].
    #[arg(long)]
    pub catalog: PathBuf,
    /// Number of slots.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Time of the request (RFC 3339, a date, or Unix seconds); events after it are ignored. Default: now.
    #[arg(long)]
    pub at: Option<String>,
    /// Segment of a new customer, for segment popularity.
    #[arg(long)]
    pub segment: Option<String>,
    /// Item ids never to show (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// At most this many items of one category.
    #[arg(long, default_value_t = 3)]
    pub category_cap: usize,
    /// Attach an offer to each slot where it pays.
    #[arg(long)]
    pub offers: bool,
    /// Shadow price of the budget (value of one unit of budget elsewhere).
    #[arg(long, default_value_t = 0.5)]
    pub shadow_price: f64,
    /// Relative purchase lift per relative discount.
    #[arg(long, default_value_t = 2.0)]
    pub elasticity: f64,
    /// Draw the slate by Plackett-Luce at this temperature instead of ranking greedily.
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Seed of the draw and of the model.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Register the fitted recommender as a candidate `recommend` model (printing its id).
    #[arg(long)]
    pub register: bool,
}

pub fn run(config: &Config, args: &RecommendArgs, json: bool) -> anyhow::Result<()> {
    let now = match &args.at {
        Some(text) => Timestamp::parse("--at", text)?,
        None => Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("the system clock is before 1970")?
                .as_micros() as i64,
        ),
    };
    let catalogue = Catalogue::read_csv(&args.catalog)?;
    let mut store = discount_store::open(&config.store.url)
        .with_context(|| format!("opening the store {}", config.store.url))?;
    let history = Interactions::from_store(store.as_mut(), EventWeights::default(), now)?;
    let learner = match Learner::default() {
        Learner::Als(p) => Learner::Als(discount_models::cf::AlsParams {
            seed: args.seed,
            ..p
        }),
        other => other,
    };
    let recommender = Recommender::fit(&history, &learner, &|_| None)?;
    let settings = SlateSettings {
        category_cap: args.category_cap,
        ..SlateSettings::default()
    };
    if args.register {
        let id = register(config, &recommender, &catalogue, &settings, &history, args)?;
        if json && args.customer.is_none() {
            return print_json(&serde_json::json!({ "model_id": id }));
        }
        eprintln!("registered recommend model {id} (candidate; promote it with `discount models promote {id}`)");
    }
    let Some(customer) = &args.customer else {
        return Ok(());
    };
    let offers = if args.offers {
        Some(OfferSettings {
            ladder: Ladder::from_offers(
                &[
                    Offer::NoOffer,
                    Offer::PercentOff { percent: 5.0 },
                    Offer::PercentOff { percent: 10.0 },
                    Offer::PercentOff { percent: 20.0 },
                ],
                i64::MAX,
            )?,
            shadow_price: args.shadow_price,
            elasticity: args.elasticity,
            margin_floor: MarginFloor::default(),
        })
    } else {
        None
    };
    let builder = SlateBuilder {
        recommender: &recommender,
        catalogue: &catalogue,
        history: Some(&history),
        settings: &settings,
        offers: offers.as_ref(),
        catalogue_map: None,
    };
    let request = SlateRequest {
        user_id: customer.clone(),
        segment: args.segment.clone(),
        k: args.k,
        now: Some(now),
        excluded_items: args.exclude.clone(),
        temperature: args.temperature,
        ..Default::default()
    };
    let slate = builder.build(
        &request,
        &mut Scratch::default(),
        &mut rand::rngs::StdRng::seed_from_u64(args.seed),
    )?;
    if json {
        return print_json(&slate);
    }
    println!(
        "{} slots for {} ({:?}), slate probability {:.3e}, expected profit {:.1} (minor units)\n",
        slate.slots.len(),
        slate.user_id,
        slate.source,
        slate.propensity,
        slate.expected_profit
    );
    let mut t = Table::new(&[
        "slot",
        "item",
        "category",
        "price",
        "P(buy)",
        "exp. profit",
        "offer",
        "incr. profit",
    ]);
    for s in &slate.slots {
        t.row(vec![
            (s.position + 1).to_string(),
            s.item_id.clone(),
            s.category.clone(),
            s.price.to_string(),
            format!("{:.4}", s.purchase_probability),
            format!("{:.1}", s.expected_profit),
            s.offer.as_ref().map_or("-".into(), |o| o.offer_id.clone()),
            s.offer
                .as_ref()
                .map_or(String::new(), |o| format!("{:.1}", o.incremental_profit)),
        ]);
    }
    print!("{}", t.render());
    let e = slate.excluded;
    println!(
        "\nleft out: {} out of stock, {} just bought, {} excluded, {} without margin",
        e.out_of_stock, e.just_bought, e.excluded, e.no_margin
    );
    Ok(())
}

/// Registers the recommender with its catalogue and slate settings as a `recommend` candidate.
fn register(
    config: &Config,
    recommender: &Recommender,
    catalogue: &Catalogue,
    settings: &SlateSettings,
    history: &Interactions,
    args: &RecommendArgs,
) -> anyhow::Result<String> {
    let artifact = RecommendArtifact {
        recommender: recommender.clone(),
        catalogue: catalogue.items().to_vec(),
        settings: settings.clone(),
        weights: history.weights(),
        elasticity: args.elasticity,
    };
    let text = serde_json::to_string(&artifact)?;
    // What serves is what was checked here.
    RecommendArtifact::from_json(&text)?;
    super::train::registry::register(
        &config.store.url,
        super::train::registry::Registration {
            kind: RECOMMEND_KIND,
            feature_spec: None,
            window_from: None,
            window_to: Some(history.as_of().0),
            training_rows: history.len(),
            metrics: vec![
                ("customers", Some(history.user_ids().len() as f64)),
                ("items", Some(history.item_ids().len() as f64)),
                ("catalogue_items", Some(catalogue.len() as f64)),
            ],
            artifact: text,
        },
    )
}

/// Settings of `discount bench recommend`.
#[derive(clap::Args, Debug)]
pub struct BenchRecommendArgs {
    /// Items in the synthetic catalogue.
    #[arg(long, default_value_t = 10_000)]
    pub items: usize,
    /// Customers in the synthetic history (20 views each).
    #[arg(long, default_value_t = 20_000)]
    pub customers: usize,
    /// Slots per slate.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Arrival rate of the paced run, requests per second.
    #[arg(long, default_value_t = 1_000.0)]
    pub rate: f64,
    /// Requests of each run.
    #[arg(long, default_value_t = 5_000)]
    pub requests: usize,
    /// Serving threads of the paced run.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

pub fn bench(args: &BenchRecommendArgs, json: bool) -> anyhow::Result<()> {
    if !(args.rate > 0.0 && args.rate.is_finite()) || args.requests == 0 || args.items < 50 {
        anyhow::bail!("--rate must be > 0, --requests >= 1 and --items >= 50");
    }
    let report = discount_recommend::bench::run(discount_recommend::bench::BenchSettings {
        items: args.items,
        customers: args.customers,
        interactions_per_customer: 20,
        k: args.k,
        rate: args.rate,
        requests: args.requests,
        threads: args.threads,
        seed: args.seed,
    })?;
    if json {
        return print_json(&report);
    }
    println!(
        "slates of {} over {} items, {} customers (ALS fitted in {:.1} s), {} requests at {:.0}/s on {} threads:\n",
        args.k, args.items, args.customers, report.fit_seconds, args.requests, args.rate, args.threads
    );
    let mut t = Table::new(&[
        "p50 ms",
        "p99 ms",
        "max ms",
        "achieved req/s",
        "max req/s (1 thread)",
    ]);
    t.row(vec![
        format!("{:.3}", report.p50_ms),
        format!("{:.3}", report.p99_ms),
        format!("{:.3}", report.max_ms),
        format!("{:.0}", report.achieved_rate),
        format!("{:.0}", report.max_throughput),
    ]);
    print!("{}", t.render());
    Ok(())
}

/// Recommendations with offers in the simulated shop, against recommendations alone and offers
/// alone at the same discount budget.
///
/// The simulator's customers click a shown item with probability examination(slot) x their
/// interest in its category (loyalty to their favourite, else the category's share) and buy it
/// with the simulator's response model (persuadables only with an offer, sure things anyway, lost
/// causes never, sleeping dogs less with an offer). ALS learns from --views past views per
/// customer. Arms: the popularity slate (baseline), personal slates, the popularity slate with the
/// offer engine's offers, personal slates with offers; both offer arms spend the same budget
/// (--budget-share of what the bigger spender of the two spends unbudgeted), their shadow price
/// set by bisection
/// (spend moves in steps, so a share of customers gets the offers at the price just below).
/// Figures are expected values under the true probabilities, in minor units.
///
/// Examples:
///   discount simulate-recommendations
///   discount simulate-recommendations --seeds 1,2,3,4,5 --users 5000 --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct SimulateRecommendationsArgs {
    /// Seeds, comma-separated: each draws its own catalogue, customers and past views.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub seeds: Vec<u64>,
    /// Customer accounts drawn by the simulator (fraud accounts are left out).
    #[arg(long, default_value_t = 3_000)]
    pub users: usize,
    /// Items per slate.
    #[arg(long, default_value_t = 5)]
    pub slots: usize,
    /// Past product views per customer the recommender learns from.
    #[arg(long, default_value_t = 10)]
    pub views: usize,
    /// Budget of the offer arms as a share of what the bigger spender of them spends unbudgeted.
    #[arg(long, default_value_t = 0.5)]
    pub budget_share: f64,
    /// Purchase lift per relative discount that the offer engine assumes.
    #[arg(long, default_value_t = 2.0)]
    pub elasticity: f64,
}

pub fn simulate(args: &SimulateRecommendationsArgs, json: bool) -> anyhow::Result<()> {
    use discount_lab::recommend_lab::{run, RecommendLabOptions};
    let options = RecommendLabOptions {
        seeds: args.seeds.clone(),
        users: args.users,
        slots: args.slots,
        views: args.views,
        budget_share: args.budget_share,
        elasticity: args.elasticity,
    };
    let report = run(&options, |done, total| {
        if !json {
            eprintln!("seed {done}/{total} done");
        }
    })?;
    if json {
        return print_json(&report);
    }
    let mut t = Table::new(&[
        "seed",
        "arm",
        "exp. profit",
        "incremental",
        "spend",
        "budget",
        "shadow price",
        "at the price below",
    ]);
    for s in &report.seeds {
        for a in &s.arms {
            t.row(vec![
                s.seed.to_string(),
                a.arm.clone(),
                format!("{:.0}", a.profit),
                format!("{:.0}", a.incremental_profit),
                format!("{:.0}", a.spend),
                if a.shadow_price.is_some() {
                    format!("{:.0}", s.budget)
                } else {
                    "-".into()
                },
                a.shadow_price.map_or("-".into(), |l| format!("{l:.3}")),
                a.lower_price_share
                    .map_or("-".into(), |w| format!("{:.0}%", 100.0 * w)),
            ]);
        }
    }
    print!("{}", t.render());
    println!(
        "\nmean incremental profit over {} seeds:",
        report.seeds.len()
    );
    for (arm, mean) in &report.mean_incremental {
        println!("  {arm:<30} {mean:>12.0}");
    }
    println!(
        "recommendations with offers beat both recommendations alone and offers alone in {} of {} seeds",
        report.wins,
        report.seeds.len()
    );
    Ok(())
}
