//! Customers: latent traits, lifecycle state and observable history, as struct-of-arrays.

use std::collections::BTreeMap;

use discount_core::{Record, Timestamp, User};
use rand_distr::{Beta, Distribution, Gamma};
use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::config::SimConfig;
use crate::fraud::{identifier, FraudKind, FraudLayout};
use crate::rng::{domain, mix64, SplitMix64};

/// How a customer responds to an offer (the classic uplift typology).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// Buys only with an offer; deeper offers persuade more, with diminishing returns.
    Persuadable,
    /// Buys anyway; an offer only costs money.
    SureThing,
    /// Never buys.
    LostCause,
    /// An offer makes them less likely to buy.
    SleepingDog,
}

impl ResponseType {
    pub const ALL: [ResponseType; 4] = [
        ResponseType::Persuadable,
        ResponseType::SureThing,
        ResponseType::LostCause,
        ResponseType::SleepingDog,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Persuadable => "persuadable",
            ResponseType::SureThing => "sure_thing",
            ResponseType::LostCause => "lost_cause",
            ResponseType::SleepingDog => "sleeping_dog",
        }
    }
}

/// Lifecycle stage. `Lost` is latent; the platform only sees the history ([`ObservedStage`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Signed up, never ordered.
    New,
    /// Ordered within the active window.
    Active,
    /// No order for longer than the active window, still around.
    Lapsing,
    /// Churned: does not visit unless they return.
    Lost,
}

/// The lifecycle stage as the platform can tell it from the order history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservedStage {
    /// No order yet.
    New,
    /// Ordered within the active window.
    Active,
    /// Ordered before, but not within the active window.
    Lapsing,
}

/// The customer population. Traits are fixed at creation; state evolves day by day.
#[derive(Clone, Debug)]
pub struct Population {
    seed: u64,
    // Traits.
    pub signup_day: Vec<i32>,
    pub response: Vec<ResponseType>,
    /// Per-visit purchase probability (sure things, sleeping dogs) or ceiling (persuadables).
    pub propensity: Vec<f32>,
    pub elasticity: Vec<f32>,
    pub visit_mult: Vec<f32>,
    pub favourite: Vec<u16>,
    pub loyalty: Vec<f32>,
    pub basket_lines: Vec<f32>,
    pub fraud: Vec<FraudKind>,
    pub ring: Vec<u32>,
    pub initial_stage: Vec<Stage>,
    // State.
    pub stage: Vec<Stage>,
    pub last_order_day: Vec<i32>,
    pub orders: Vec<u32>,
    pub visits: Vec<u32>,
    pub spend: Vec<i64>,
    /// A farmer account that has used its coupon and is abandoned.
    pub abandoned: Vec<bool>,
    pub(crate) fraud_first: usize,
}

/// Marks "never ordered" in `last_order_day`.
pub const NO_ORDER: i32 = i32::MIN;

fn beta(mean: f64, concentration: f64) -> Beta<f64> {
    let m = mean.clamp(1e-6, 1.0 - 1e-6);
    Beta::new(m * concentration, (1.0 - m) * concentration)
        .unwrap_or_else(|_| Beta::new(1.0, 1.0).expect("uniform beta"))
}

impl Population {
    /// Draws every customer's traits and initial state (the config must be validated).
    pub fn generate(config: &SimConfig, catalogue: &Catalogue) -> Self {
        let n = config.users;
        let seed = config.seed;
        let p = &config.population;
        let r = &config.response;
        let b = &config.behaviour;
        let layout = FraudLayout::build(n, config.days, &config.fraud, seed);
        let shape = p.visit_rate_shape;
        let visit_gamma =
            Gamma::new(shape, 1.0 / shape).unwrap_or_else(|_| Gamma::new(1.0, 1.0).expect("gamma"));
        let base_beta = beta(r.base_propensity, r.propensity_concentration);
        let ceiling_beta = beta(r.persuadable_ceiling, r.propensity_concentration);
        let loyalty_beta = beta(b.category_loyalty, 4.0);
        let lines_extra = (b.basket_lines_mean - 1.0).max(0.0);
        let lines_gamma = Gamma::new(2.0, (lines_extra / 2.0).max(1e-9)).ok();
        let s = &r.shares;
        let type_total = s.persuadable + s.sure_thing + s.lost_cause + s.sleeping_dog;
        let type_cdf = [
            s.persuadable / type_total,
            (s.persuadable + s.sure_thing) / type_total,
            (s.persuadable + s.sure_thing + s.lost_cause) / type_total,
        ];
        let st = &p.initial_stage_shares;
        let stage_total = st.new + st.active + st.lapsing + st.lost;
        let stage_cdf = [
            st.new / stage_total,
            (st.new + st.active) / stage_total,
            (st.new + st.active + st.lapsing) / stage_total,
        ];
        let mut pop = Population {
            seed,
            signup_day: Vec::with_capacity(n),
            response: Vec::with_capacity(n),
            propensity: Vec::with_capacity(n),
            elasticity: Vec::with_capacity(n),
            visit_mult: Vec::with_capacity(n),
            favourite: Vec::with_capacity(n),
            loyalty: Vec::with_capacity(n),
            basket_lines: Vec::with_capacity(n),
            fraud: Vec::with_capacity(n),
            ring: Vec::with_capacity(n),
            initial_stage: Vec::with_capacity(n),
            stage: Vec::with_capacity(n),
            last_order_day: Vec::with_capacity(n),
            orders: Vec::with_capacity(n),
            visits: vec![0; n],
            spend: Vec::with_capacity(n),
            abandoned: vec![false; n],
            fraud_first: layout.first,
        };
        let aw = p.active_window_days;
        for i in 0..n {
            let mut rng = SplitMix64::stream(seed, &[domain::TRAITS, i as u64]);
            let u = rng.uniform();
            let rtype = match type_cdf.iter().position(|&c| u < c) {
                Some(0) => ResponseType::Persuadable,
                Some(1) => ResponseType::SureThing,
                Some(2) => ResponseType::LostCause,
                _ => ResponseType::SleepingDog,
            };
            let propensity = match rtype {
                ResponseType::Persuadable => ceiling_beta.sample(&mut rng),
                ResponseType::LostCause => 0.0,
                _ => base_beta.sample(&mut rng),
            };
            let elasticity = (r.elasticity_mean + r.elasticity_sd * rng.standard_normal())
                .clamp(r.elasticity_min, r.elasticity_max);
            let visit_mult = visit_gamma.sample(&mut rng);
            let favourite = catalogue.draw_category(rng.uniform());
            let loyalty = loyalty_beta.sample(&mut rng);
            let lines = 1.0 + lines_gamma.as_ref().map_or(0.0, |g| g.sample(&mut rng));
            let (fraud, ring) = layout.of(i);
            // Signup and lifecycle at day 0.
            let joins_during_run = rng.uniform() < p.signup_share;
            let u_stage = rng.uniform();
            let mut stage = match stage_cdf.iter().position(|&c| u_stage < c) {
                Some(0) => Stage::New,
                Some(1) => Stage::Active,
                Some(2) => Stage::Lapsing,
                _ => Stage::Lost,
            };
            let mut last_order = match stage {
                Stage::New => NO_ORDER,
                Stage::Active => -(rng.between(1, aw) as i32),
                Stage::Lapsing => -(rng.between(aw + 1, p.lapsed_max_days) as i32),
                Stage::Lost => -(rng.between(aw + 1, 2 * p.lapsed_max_days) as i32),
            };
            let mut signup = if last_order == NO_ORDER {
                -(rng.between(1, 365) as i32)
            } else {
                last_order - rng.between(0, 365) as i32
            };
            let mut orders = if last_order == NO_ORDER {
                0
            } else {
                1 + rng.poisson(1.5)
            };
            match fraud {
                FraudKind::CouponFarmer => {
                    let day = layout.ring_day[ring as usize] + rng.between(0, 2);
                    signup = day.min(config.days - 1) as i32;
                }
                FraudKind::None if joins_during_run => {
                    signup = rng.below(config.days as usize) as i32;
                }
                _ => {}
            }
            if signup >= 0 {
                stage = Stage::New;
                last_order = NO_ORDER;
                orders = 0;
            }
            if fraud == FraudKind::OrderBrusher || fraud == FraudKind::Reseller {
                stage = Stage::Lapsing.max_with(stage);
            }
            let line = catalogue.line_means(favourite, loyalty);
            let prior_spend = (orders as f64 * lines * line.price).round() as i64;
            pop.signup_day.push(signup);
            pop.response.push(rtype);
            pop.propensity.push(propensity as f32);
            pop.elasticity.push(elasticity as f32);
            pop.visit_mult.push(visit_mult as f32);
            pop.favourite.push(favourite as u16);
            pop.loyalty.push(loyalty as f32);
            pop.basket_lines.push(lines as f32);
            pop.fraud.push(fraud);
            pop.ring.push(ring);
            pop.initial_stage.push(stage);
            pop.stage.push(stage);
            pop.last_order_day.push(last_order);
            pop.orders.push(orders);
            pop.spend.push(prior_spend);
        }
        pop
    }

    pub fn len(&self) -> usize {
        self.signup_day.len()
    }

    pub fn is_empty(&self) -> bool {
        self.signup_day.is_empty()
    }

    /// The public id of customer `i`: a hash, so that ids reveal nothing about traits or fraud.
    pub fn user_id(&self, i: usize) -> String {
        format!(
            "u{:016x}",
            mix64(self.seed ^ mix64(i as u64 ^ (domain::IDS << 56)))
        )
    }

    /// What the platform can tell about the lifecycle at `day`.
    pub fn observed_stage(&self, i: usize, day: u32, active_window: u32) -> ObservedStage {
        let last = self.last_order_day[i];
        if last == NO_ORDER {
            ObservedStage::New
        } else if (day as i64 - last as i64) <= active_window as i64 {
            ObservedStage::Active
        } else {
            ObservedStage::Lapsing
        }
    }

    /// The user record of customer `i`, with device/address/payment hashes in its attributes.
    pub fn user_record(&self, i: usize, start: Timestamp, rng_seed: u64) -> Record {
        let seed = rng_seed;
        let ring = self.ring[i] as u64;
        let idx = i as u64;
        let kind = self.fraud[i];
        // Shared identifiers for ring members; a few genuine households share an address.
        let (device, address, payment) = match kind {
            FraudKind::CouponFarmer => (
                identifier(seed, "dev", &[domain::IDS, 1, ring, idx % 2]),
                identifier(seed, "adr", &[domain::IDS, 2, ring]),
                identifier(seed, "pay", &[domain::IDS, 3, ring]),
            ),
            FraudKind::OrderBrusher => (
                identifier(seed, "dev", &[domain::IDS, 1, ring]),
                identifier(seed, "adr", &[domain::IDS, 4, idx]),
                identifier(seed, "pay", &[domain::IDS, 3, ring]),
            ),
            _ => {
                let household = if mix64(seed ^ idx.wrapping_mul(0x2545_f491_4f6c_dd1d))
                    .is_multiple_of(20)
                    && i > 0
                {
                    idx - 1
                } else {
                    idx
                };
                (
                    identifier(seed, "dev", &[domain::IDS, 5, idx]),
                    identifier(seed, "adr", &[domain::IDS, 4, household]),
                    identifier(seed, "pay", &[domain::IDS, 6, idx]),
                )
            }
        };
        let channel = match mix64(seed ^ idx.wrapping_add(77)) % 3 {
            0 => "web",
            1 => "app",
            _ => "multichannel",
        };
        let mut attributes = BTreeMap::new();
        attributes.insert("device".to_string(), device);
        attributes.insert("address".to_string(), address);
        attributes.insert("payment".to_string(), payment);
        attributes.insert("channel".to_string(), channel.to_string());
        let signup_offset = mix64(seed ^ idx ^ 0xabcd) % 86_400;
        Record::User(User {
            id: self.user_id(i),
            signup: Some(
                start.plus_days(self.signup_day[i] as f64 + signup_offset as f64 / 86_400.0),
            ),
            attributes,
        })
    }
}

impl Stage {
    /// `Lapsing` unless the stage is already `Active` (used for fraud accounts that must be around).
    fn max_with(self, other: Stage) -> Stage {
        if other == Stage::Active {
            Stage::Active
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use discount_core::Currency;

    #[test]
    fn traits_follow_the_configured_shares() {
        let config = SimConfig {
            users: 20_000,
            ..SimConfig::default()
        };
        let cat = Catalogue::build(&config.catalogue, config.seed, Currency::USD);
        let pop = Population::generate(&config, &cat);
        let genuine = pop.fraud_first;
        let share = |t: ResponseType| {
            pop.response[..genuine].iter().filter(|&&r| r == t).count() as f64 / genuine as f64
        };
        let s = config.response.shares;
        assert!((share(ResponseType::Persuadable) - s.persuadable).abs() < 0.015);
        assert!((share(ResponseType::SleepingDog) - s.sleeping_dog).abs() < 0.01);
        let mean_mult: f64 = pop.visit_mult.iter().map(|&m| m as f64).sum::<f64>() / 20_000.0;
        assert!((mean_mult - 1.0).abs() < 0.03);
        let ids: std::collections::HashSet<String> =
            (0..pop.len()).map(|i| pop.user_id(i)).collect();
        assert_eq!(ids.len(), pop.len());
        assert!(pop
            .elasticity
            .iter()
            .all(|&e| (1.4..=4.1).contains(&(e as f64 + 1e-6)) || (e as f64 - 4.1).abs() < 1e-5));
    }
}
