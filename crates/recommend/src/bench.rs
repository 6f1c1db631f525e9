//! Serving speed of slates on a synthetic catalogue: latency percentiles at a fixed arrival rate and the
//! throughput of back-to-back requests. Figures are measured, never asserted.

use std::time::{Duration, Instant};

use discount_core::Timestamp;
use discount_models::cf::AlsParams;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::catalogue::{Catalogue, CatalogueItem};
use crate::error::{RecommendError, Result};
use crate::interactions::{EventWeights, Interactions};
use crate::model::{Learner, Recommender};
use crate::rank::{Scratch, SlateBuilder, SlateRequest, SlateSettings};

/// What to measure.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BenchSettings {
    pub items: usize,
    pub customers: usize,
    /// Interactions per customer in the synthetic history.
    pub interactions_per_customer: usize,
    pub k: usize,
    /// Arrival rate of the paced run, requests per second.
    pub rate: f64,
    pub requests: usize,
    /// Serving threads; request j goes to thread j mod threads.
    pub threads: usize,
    pub seed: u64,
}

impl Default for BenchSettings {
    fn default() -> Self {
        BenchSettings {
            items: 10_000,
            customers: 20_000,
            interactions_per_customer: 20,
            k: 10,
            rate: 1_000.0,
            requests: 5_000,
            threads: 2,
            seed: 7,
        }
    }
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub settings: BenchSettings,
    pub fit_seconds: f64,
    /// Paced run: latency from each request's scheduled arrival to its answer (queueing included), ms.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Requests answered per second by the paced run.
    pub achieved_rate: f64,
    /// Back-to-back requests on one thread, per second.
    pub max_throughput: f64,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Builds the synthetic shop (customers with tastes for one of 50 categories), fits ALS, then serves
/// `requests` slates at `rate` per second and as fast as possible.
pub fn run(settings: BenchSettings) -> Result<BenchReport> {
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let categories = 50;
    let now = Timestamp::from_date(2024, 6, 1).unwrap_or(Timestamp(0));
    let items: Vec<CatalogueItem> = (0..settings.items)
        .map(|i| CatalogueItem {
            id: format!("i{i}"),
            category: format!("c{}", i % categories),
            price: rng.gen_range(500..20_000),
            unit_cost: None,
            stock: if rng.gen_bool(0.05) { Some(0) } else { None },
        })
        .collect();
    let catalogue = Catalogue::new(items)?;
    let mut history = Interactions::new(EventWeights::default(), now)?;
    for u in 0..settings.customers {
        let taste = rng.gen_range(0..categories);
        for k in 0..settings.interactions_per_customer {
            let category = if rng.gen_bool(0.7) {
                taste
            } else {
                rng.gen_range(0..categories)
            };
            let item = rng.gen_range(0..settings.items / categories) * categories + category;
            history.push(&discount_core::Event {
                id: format!("{u}-{k}"),
                user_id: format!("u{u}"),
                time: now,
                kind: discount_core::EventKind::View {
                    item_id: Some(format!("i{item}")),
                },
            });
        }
    }
    let start = Instant::now();
    let learner = Learner::Als(AlsParams {
        factors: 32,
        iterations: 5,
        regularisation: 1.0,
        alpha: 2.0,
        seed: settings.seed,
    });
    let recommender = Recommender::fit(&history, &learner, &|_| None)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    let slate_settings = SlateSettings::default();
    let map = recommender.map_catalogue(&catalogue);
    let builder = SlateBuilder {
        recommender: &recommender,
        catalogue: &catalogue,
        history: Some(&history),
        settings: &slate_settings,
        offers: None,
        catalogue_map: Some(&map),
    };
    let request = |u: usize| SlateRequest {
        user_id: format!("u{u}"),
        k: settings.k,
        now: Some(now),
        temperature: Some(0.2),
        ..Default::default()
    };
    let threads = settings.threads.max(1);
    // Paced: request j is due at j / rate and served by thread j mod threads; a late answer delays that
    // thread's next request (queueing counts).
    let interval = Duration::from_secs_f64(1.0 / settings.rate);
    let begin = Instant::now();
    let per_thread: Vec<Result<Vec<f64>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (builder, request) = (&builder, &request);
                scope.spawn(move || -> Result<Vec<f64>> {
                    let mut rng = StdRng::seed_from_u64(settings.seed.wrapping_add(1 + t as u64));
                    let mut scratch = Scratch::default();
                    let mut latencies = Vec::new();
                    for j in (t..settings.requests).step_by(threads) {
                        let due = begin + interval.mul_f64(j as f64);
                        loop {
                            let now = Instant::now();
                            if now >= due {
                                break;
                            }
                            let wait = due - now;
                            // Sleep while far from due, spin the last stretch.
                            if wait > Duration::from_micros(300) {
                                std::thread::sleep(wait - Duration::from_micros(200));
                            } else {
                                std::hint::spin_loop();
                            }
                        }
                        let r = request(rng.gen_range(0..settings.customers));
                        builder.build(&r, &mut scratch, &mut rng)?;
                        latencies.push(due.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok(latencies)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(RecommendError::Empty("a serving thread panicked".into()))
                })
            })
            .collect()
    });
    let mut latencies = Vec::with_capacity(settings.requests);
    for l in per_thread {
        latencies.extend(l?);
    }
    let achieved_rate = settings.requests as f64 / begin.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let mut scratch = Scratch::default();
    let begin = Instant::now();
    for _ in 0..settings.requests {
        let r = request(rng.gen_range(0..settings.customers));
        builder.build(&r, &mut scratch, &mut rng)?;
    }
    let max_throughput = settings.requests as f64 / begin.elapsed().as_secs_f64();
    Ok(BenchReport {
        settings,
        fit_seconds,
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: latencies.last().copied().unwrap_or(0.0),
        achieved_rate,
        max_throughput,
    })
}
