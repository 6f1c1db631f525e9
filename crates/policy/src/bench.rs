//! Throughput of the engine: decisions per second in process with their latency percentiles, and
//! the time of an offline plan over many customers. Figures, not tests.

use std::time::Instant;

use discount_core::Offer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::bandit::Exploration;
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
