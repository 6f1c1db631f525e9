//! Calibration: the public-data figures the defaults are tuned to, and the same figures measured
//! on a simulated run, so that a test can check that the simulation lands where it is configured.
//!
//! The data figures ([`Targets::from_public_data`]) are computed from the files in
//! `tests/calibration_data.rs`, which checks them against these constants.

use std::collections::HashMap;

use discount_core::{EventKind, Record};
use serde::{Deserialize, Serialize};

use crate::customer::{ResponseType, Stage};
use crate::fraud::FraudKind;
use crate::policy::Policy;
use crate::world::simulate;
use crate::{SimConfig, SimError};

/// Figures from public data sets that the default configuration reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// Hillstrom: share of customers (bought in the last 12 months) who bought within two weeks
    /// without an e-mail.
    pub conversion_14d_no_offer: f64,
    /// Hillstrom: the same with the Womens and the Mens e-mail.
    pub conversion_14d_offer_low: f64,
    pub conversion_14d_offer_high: f64,
    /// Hillstrom: share who visited within two weeks without an e-mail.
    pub visit_14d_no_offer: f64,
    /// Complete Journey: share of campaign receipts (household x campaign) with a redemption.
    pub redemption_rate: f64,
    /// CDNOW: share of first-time buyers who buy again within 30 days.
    pub first_repeat_30d: f64,
    /// CDNOW: share of orders followed by another order of the same customer within 30 days.
    pub repeat_30d: f64,
    /// Dominick's orange juice: pooled own-price elasticity, and the range over the 11 brands.
    pub elasticity_pooled: f64,
    pub elasticity_min: f64,
    pub elasticity_max: f64,
}

impl Targets {
    /// The figures as computed from the data files (see `docs/simulator.md`).
    pub fn from_public_data() -> Self {
        Targets {
            conversion_14d_no_offer: 0.00573,
            conversion_14d_offer_low: 0.00884,
            conversion_14d_offer_high: 0.01253,
            visit_14d_no_offer: 0.1062,
            redemption_rate: 0.1202,
            first_repeat_30d: 0.1746,
            repeat_30d: 0.3076,
            elasticity_pooled: 3.10,
            elasticity_min: 1.41,
            elasticity_max: 4.06,
        }
    }
}

/// The calibration figures of one simulated run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub policy: String,
    /// Share of genuine pre-existing customers (active or lapsing at day 0) with an order in days 0..14.
    pub conversion_14d: f64,
    /// Share of the same customers with a visit in days 0..14.
    pub visit_14d: f64,
    /// Orders per visit.
    pub conversion_per_visit: f64,
    pub redemption_rate: f64,
    /// Share of genuine first-ever buyers (ordering in the run) who order again within 30 days.
    pub first_repeat_30d: f64,
    /// Share of genuine orders (with 30 days of run left) followed by another order within 30 days.
    pub repeat_30d: f64,
    /// Shares of the response types among genuine customers.
    pub type_shares: Vec<(ResponseType, f64)>,
    /// Number of first-ever buyers and of orders the repeat figures rest on.
    pub first_buyers: usize,
    pub repeat_base: usize,
}

/// Runs `config` with `policy` and measures the calibration figures.
pub fn measure(config: &SimConfig, policy: &mut dyn Policy) -> Result<Measured, SimError> {
    let mut orders: Vec<(String, u32)> = Vec::new();
    let mut visits: Vec<(String, u32)> = Vec::new();
    let start = config.start()?.0;
    let day_of = |t: i64| ((t - start) / discount_core::time::MICROS_PER_DAY) as u32;
    let out = simulate(config, policy, &mut |r: Record| {
        if let Record::Event(e) = r {
            match e.kind {
                EventKind::Order { .. } => orders.push((e.user_id, day_of(e.time.0))),
                EventKind::OfferShown { .. } => visits.push((e.user_id, day_of(e.time.0))),
                _ => {}
            }
        }
    })?;
    let index: HashMap<&str, usize> = out
        .truth
        .customers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.user_id.as_str(), i))
        .collect();
    let n = out.truth.customers.len();
    let mut order_days: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (u, d) in &orders {
        if let Some(&i) = index.get(u.as_str()) {
            order_days[i].push(*d);
        }
    }
    let mut visited = vec![false; n];
    for (u, d) in &visits {
        if let (Some(&i), true) = (index.get(u.as_str()), *d < 14) {
            visited[i] = true;
        }
    }
    let genuine = |i: usize| out.truth.customers[i].fraud == FraudKind::None;
    let existing: Vec<usize> = (0..n)
        .filter(|&i| {
            let c = &out.truth.customers[i];
            genuine(i)
                && c.signup_day < 0
                && matches!(c.initial_stage, Stage::Active | Stage::Lapsing)
        })
        .collect();
    let share = |hits: usize, base: usize| {
        if base == 0 {
            0.0
        } else {
            hits as f64 / base as f64
        }
    };
    let converted = existing
        .iter()
        .filter(|&&i| order_days[i].iter().any(|&d| d < 14))
        .count();
    let visited_14 = existing.iter().filter(|&&i| visited[i]).count();
    let days = config.days;
    let (mut first_base, mut first_hits, mut rep_base, mut rep_hits) = (0, 0, 0, 0);
    for i in (0..n).filter(|&i| genuine(i)) {
        let ds = &order_days[i];
        let c = &out.truth.customers[i];
        for (k, &d) in ds.iter().enumerate() {
            if d + 30 >= days {
                continue;
            }
            let again = ds[k + 1..].iter().any(|&e| e > d && e <= d + 30);
            rep_base += 1;
            rep_hits += again as usize;
            if k == 0 && (c.initial_stage == Stage::New) {
                first_base += 1;
                first_hits += again as usize;
            }
        }
    }
    let genuine_n = (0..n).filter(|&i| genuine(i)).count();
    let type_shares = ResponseType::ALL
        .iter()
        .map(|&t| {
            let k = (0..n)
                .filter(|&i| genuine(i) && out.truth.customers[i].response == t)
                .count();
            (t, share(k, genuine_n))
        })
        .collect();
    let s = &out.summary;
    Ok(Measured {
        policy: s.policy.clone(),
        conversion_14d: share(converted, existing.len()),
        visit_14d: share(visited_14, existing.len()),
        conversion_per_visit: share(s.orders as usize, s.visits as usize),
        redemption_rate: s.redemption_rate,
        first_repeat_30d: share(first_hits, first_base),
        repeat_30d: share(rep_hits, rep_base),
        type_shares,
        first_buyers: first_base,
        repeat_base: rep_base,
    })
}
