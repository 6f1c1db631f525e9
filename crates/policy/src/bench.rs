//! Throughput of the engine: decisions per second in process with their latency percentiles, the
//! bandit rules' speed and regret on a simulated linear bandit, and the time of an offline plan
//! over many customers. Figures, not tests.

use std::time::Instant;

use discount_core::Offer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::bandit::{Exploration, Ridge, CONVERSION, PROFIT, SPEND};
use crate::engine::{
    BudgetConfig, CustomerFacts, Decision, DecisionEngine, DecisionRequest, EngineConfig,
    JoinedOutcome, ModelConfig, ModelStructure, RulesConfig,
};
use crate::error::PolicyError;
use crate::offers::{default_id, Eligibility, OfferSpec, Scope};
use crate::plan::{plan, PlanCustomer};

/// An engine of the standard shape: no offer, 5/10/15/20/30% off, `features` features, warm
/// started on `warm` random outcomes.
pub fn bench_engine(
    features: usize,
    exploration: Exploration,
    budget: Option<i64>,
    warm: usize,
    seed: u64,
) -> Result<DecisionEngine, PolicyError> {
    let mut ladder = vec![Offer::NoOffer];
    ladder.extend([5.0, 10.0, 15.0, 20.0, 30.0].map(|p| Offer::PercentOff { percent: p }));
    let rungs: Vec<OfferSpec> = ladder
        .iter()
        .map(|o| OfferSpec {
            id: default_id(o),
            offer: o.clone(),
            scope: Scope::Basket,
            eligibility: Eligibility::default(),
            max_discount: matches!(o, Offer::PercentOff { .. }).then_some(2_000),
        })
        .collect();
    let ids: Vec<String> = rungs.iter().map(|r| r.id.clone()).collect();
    let engine = DecisionEngine::new(EngineConfig {
        name: "bench".into(),
        ladder: rungs,
        rules: RulesConfig::default(),
        budgets: budget
            .map(|amount| BudgetConfig {
                campaign: "default".into(),
                amount,
                initial_lambda: 0.5,
                period_start: None,
                period_days: None,
            })
            .into_iter()
            .collect(),
        pacing: Default::default(),
        exploration,
        model: ModelConfig {
            features: (0..features).map(|i| format!("f{i}")).collect(),
            ridge: 1.0,
            structure: ModelStructure::Disjoint,
            lifetime_value: None,
        },
    })?;
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..warm {
        let x = random_features(&mut rng, features);
        let k = rng.gen_range(0..ids.len());
        engine.update(&JoinedOutcome {
            offer_id: ids[k].clone(),
            profit: 100.0 * x[1] + 20.0 * k as f64 * (x[2] - 0.5) + rng.gen::<f64>(),
            discount: 30.0 * k as f64 * rng.gen::<f64>(),
            ordered: rng.gen::<f64>() < 0.2,
            features: x,
        })?;
    }
    Ok(engine)
}

fn random_features(rng: &mut StdRng, d: usize) -> Vec<f64> {
    let mut x: Vec<f64> = (0..d).map(|_| rng.gen::<f64>()).collect();
    if let Some(b) = x.first_mut() {
        *b = 1.0;
    }
    x
}

/// Decision throughput on one thread.
#[derive(Clone, Debug, Serialize)]
pub struct DecideBench {
    pub exploration: String,
    pub features: usize,
    pub offers: usize,
    pub decisions: usize,
    pub seconds: f64,
    pub decisions_per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub explored_share: f64,
}

/// Times `decisions` decisions of one customer with 6 offers and `features` features, each logged
/// to an in-memory ring of the last 4096 decisions.
pub fn bench_decide(
    decisions: usize,
    features: usize,
    exploration: Exploration,
    seed: u64,
) -> Result<DecideBench, PolicyError> {
    let engine = bench_engine(features, exploration, Some(i64::MAX / 4), 2_000, seed)?;
    let mut rng = StdRng::seed_from_u64(seed ^ 1);
    let facts = CustomerFacts {
        features: random_features(&mut rng, features),
        ..CustomerFacts::default()
    };
    let req = DecisionRequest {
        customer_id: "bench-customer".into(),
        ..DecisionRequest::default()
    };
    const RING: usize = 4096;
    let mut log: Vec<Decision> = Vec::with_capacity(RING);
    let mut lat = Vec::with_capacity(decisions);
    let mut explored = 0usize;
    let start = Instant::now();
    for i in 0..decisions {
        let t = Instant::now();
        let d = engine.decide(&req, &facts, &mut rng)?;
        explored += usize::from(d.explored);
        engine.settle(None, d.reserved, 0);
        if log.len() < RING {
            log.push(d);
        } else {
            log[i % RING] = d;
        }
        lat.push(t.elapsed().as_nanos() as u64);
    }
    let seconds = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |&n| n as f64 / 1_000.0)
    };
    Ok(DecideBench {
        exploration: exploration.name().into(),
        features,
        offers: engine.ladder().len(),
        decisions,
        seconds,
        decisions_per_second: decisions as f64 / seconds.max(1e-12),
        p50_us: pct(0.5),
        p99_us: pct(0.99),
        p999_us: pct(0.999),
        explored_share: explored as f64 / decisions.max(1) as f64,
    })
}

/// Time of an offline plan.
#[derive(Clone, Debug, Serialize)]
pub struct PlanBench {
    pub customers: usize,
    pub features: usize,
    pub offers: usize,
    pub build_seconds: f64,
    pub solve_seconds: f64,
    pub lambda: f64,
    pub value: f64,
    pub cost: f64,
    pub budget: i64,
    pub certified_gap: f64,
}

/// Plans `customers` random customers with `features` features within a budget of a quarter of
/// what giving everyone their best offer would cost.
pub fn bench_plan(customers: usize, features: usize, seed: u64) -> Result<PlanBench, PolicyError> {
    let t0 = Instant::now();
    let engine = bench_engine(
        features,
        Exploration::EpsilonGreedy { epsilon: 0.0 },
        None,
        2_000,
        seed,
    )?;
    let mut rng = StdRng::seed_from_u64(seed ^ 2);
    let list: Vec<PlanCustomer> = (0..customers)
        .map(|i| PlanCustomer {
            customer_id: format!("c{i}"),
            facts: CustomerFacts {
                features: random_features(&mut rng, features),
                ..CustomerFacts::default()
            },
            visits: 1.0 + rng.gen::<f64>() * 3.0,
        })
        .collect();
    let build_seconds = t0.elapsed().as_secs_f64();
    let budget = (customers as i64).saturating_mul(20);
    let t1 = Instant::now();
    let p = plan(&engine, &list, budget)?;
    Ok(PlanBench {
        customers,
        features,
        offers: engine.ladder().len(),
        build_seconds,
        solve_seconds: t1.elapsed().as_secs_f64(),
        lambda: p.lambda,
        value: p.value,
        cost: p.cost,
        budget,
        certified_gap: p.gap,
    })
}

/// The bandit rules measured by `discount bench bandit`, with the engine's default settings.
pub fn bandit_rules() -> [Exploration; 2] {
    [
        Exploration::LinUcb {
            alpha: 0.5,
            epsilon: 0.02,
        },
        Exploration::LinTs {
            scale: 0.5,
            epsilon: 0.02,
        },
    ]
}

/// Speed of one bandit rule: the whole engine's decision, and the rule alone (each arm's three
/// predictions and uncertainty, the choice probabilities, the draw) on the same warm models.
#[derive(Clone, Debug, Serialize)]
pub struct BanditSpeed {
    pub exploration: String,
    pub features: usize,
    pub offers: usize,
    pub decisions: usize,
    /// `DecisionEngine::decide` (rules, budget, scores, the decision record) on one thread.
    pub engine_decisions_per_second: f64,
    pub engine_p50_us: f64,
    pub engine_p99_us: f64,
    /// The rule alone on one thread.
    pub rule_decisions_per_second: f64,
    /// Share of decisions that were not the greedy offer.
    pub explored_share: f64,
}

/// Decisions per second of `exploration` with `features` features and 6 offers, on arms warm
/// started with 2,000 outcomes; the customers' features change every decision (a pool of 1,024).
pub fn bench_bandit_speed(
    decisions: usize,
    features: usize,
    exploration: Exploration,
    seed: u64,
) -> Result<BanditSpeed, PolicyError> {
    let engine_run = bench_decide(decisions, features, exploration, seed)?;
    // The rule alone, on arms trained like the engine's.
    let mut rng = StdRng::seed_from_u64(seed);
    let offers = engine_run.offers;
    let mut arms: Vec<Ridge> = (0..offers).map(|_| Ridge::new(features, 1.0)).collect();
    for _ in 0..2_000 {
        let x = random_features(&mut rng, features);
        let k = rng.gen_range(0..offers);
        let y = [
            100.0 * x[1.min(features - 1)]
                + 20.0 * k as f64 * (x[2.min(features - 1)] - 0.5)
                + rng.gen::<f64>(),
            30.0 * k as f64 * rng.gen::<f64>(),
            f64::from(u8::from(rng.gen::<f64>() < 0.2)),
        ];
        arms[k].update(&x, &y, 1.0);
    }
    let pool: Vec<Vec<f64>> = (0..1_024)
        .map(|_| random_features(&mut rng, features))
        .collect();
    let mut value = vec![0.0; offers];
    let mut sd = vec![0.0; offers];
    let mut probs = vec![0.0; offers];
    // A fixed shadow price on the predicted spend, as a budgeted engine has.
    const LAMBDA: f64 = 0.1;
    let mut explored = 0usize;
    let mut conversions = 0.0;
    let start = Instant::now();
    for i in 0..decisions {
        let x = &pool[i % pool.len()];
        let base = arms[0].predict(PROFIT, x);
        for (k, arm) in arms.iter().enumerate() {
            conversions += arm.predict(CONVERSION, x).clamp(0.0, 1.0);
            let spend = arm.predict(SPEND, x).max(0.0);
            value[k] = arm.predict(PROFIT, x) - base - LAMBDA * spend;
            sd[k] = arm.noise() * arm.uncertainty(x).sqrt();
        }
        let greedy = exploration.probabilities(&value, &sd, &mut probs);
        let u: f64 = rng.gen();
        let mut acc = 0.0;
        let mut pick = offers - 1;
        for (k, p) in probs.iter().enumerate() {
            acc += p;
            if u < acc {
                pick = k;
                break;
            }
        }
        explored += usize::from(pick != greedy);
    }
    let seconds = start.elapsed().as_secs_f64();
    std::hint::black_box((explored, conversions));
    Ok(BanditSpeed {
        exploration: exploration.name().into(),
        features,
        offers,
        decisions,
        engine_decisions_per_second: engine_run.decisions_per_second,
        engine_p50_us: engine_run.p50_us,
        engine_p99_us: engine_run.p99_us,
        rule_decisions_per_second: decisions as f64 / seconds.max(1e-12),
        explored_share: engine_run.explored_share,
    })
}

/// Regret of one bandit rule on a simulated linear bandit, over seeds.
#[derive(Clone, Debug, Serialize)]
pub struct BanditRegret {
    pub exploration: String,
    pub features: usize,
    pub offers: usize,
    pub rounds: usize,
    pub seeds: Vec<u64>,
    /// Cumulative regret (expected profit lost against the best offer) of each seed.
    pub regret: Vec<f64>,
    pub mean: f64,
    pub sd: f64,
    /// Mean share of rounds that chose the best offer.
    pub best_share: f64,
}

/// Runs the engine with `exploration` for `rounds` rounds per seed: each round a customer with
/// `x = [1, U(0,1)...]`, the engine decides, and the chosen offer's profit
/// `x . theta_k + N(0, 1)` is fed back; `theta_k` is drawn per seed (`N(0, 1) / sqrt(d)` per
/// feature, the no-offer rung's at zero). Regret is the expected profit of the best offer minus
/// that of the chosen one, summed.
pub fn bench_bandit_regret(
    rounds: usize,
    features: usize,
    exploration: Exploration,
    seeds: &[u64],
) -> Result<BanditRegret, PolicyError> {
    let mut regret = Vec::with_capacity(seeds.len());
    let mut best_rounds = 0usize;
    let mut offers = 0;
    for &seed in seeds {
        let engine = bench_engine(features, exploration, None, 0, seed)?;
        let ids: Vec<String> = engine.ladder().rungs.iter().map(|r| r.id.clone()).collect();
        offers = ids.len();
        let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let scale = 1.0 / (features as f64).sqrt();
        let theta: Vec<Vec<f64>> = (0..offers)
            .map(|k| {
                (0..features)
                    .map(|_| {
                        if k == 0 {
                            0.0
                        } else {
                            gaussian(&mut rng) * scale
                        }
                    })
                    .collect()
            })
            .collect();
        let req = DecisionRequest {
            customer_id: "regret".into(),
            ..DecisionRequest::default()
        };
        let mut total = 0.0;
        for _ in 0..rounds {
            let x = random_features(&mut rng, features);
            let mean: Vec<f64> = theta.iter().map(|t| crate::bandit::dot(t, &x)).collect();
            let best = mean.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let facts = CustomerFacts {
                features: x,
                ..CustomerFacts::default()
            };
            let d = engine.decide(&req, &facts, &mut rng)?;
            let k = engine
                .ladder()
                .index_of(&d.offer_id)
                .ok_or_else(|| PolicyError::UnknownOffer(d.offer_id.clone()))?;
            total += best - mean[k];
            best_rounds += usize::from(mean[k] >= best);
            engine.update(&JoinedOutcome {
                offer_id: d.offer_id,
                profit: mean[k] + gaussian(&mut rng),
                discount: 0.0,
                ordered: false,
                features: facts.features,
            })?;
        }
        regret.push(total);
    }
    let n = regret.len().max(1) as f64;
    let mean = regret.iter().sum::<f64>() / n;
    let sd = if regret.len() > 1 {
        (regret.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    Ok(BanditRegret {
        exploration: exploration.name().into(),
        features,
        offers,
        rounds,
        seeds: seeds.to_vec(),
        regret,
        mean,
        sd,
        best_share: best_rounds as f64 / (n * rounds.max(1) as f64),
    })
}

/// A standard normal draw (Box-Muller).
fn gaussian(rng: &mut StdRng) -> f64 {
    let u: f64 = rng.gen::<f64>().max(f64::MIN_POSITIVE);
    let v: f64 = rng.gen();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}
