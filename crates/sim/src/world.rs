//! The simulation loop: days, visits, decisions, purchases, reviews, churn and return.

use discount_core::time::MICROS_PER_DAY;
use discount_core::{Currency, Event, EventKind, Offer, OrderLine, Record, Timestamp};

use crate::catalogue::Catalogue;
use crate::config::SimConfig;
use crate::customer::{Population, Stage, NO_ORDER};
use crate::fraud::{FraudKind, FraudLabel};
use crate::policy::{Context, Plan, Policy, Truth, VisitTruth};
use crate::response::{Traits, TrueModel};
use crate::rng::{domain, SplitMix64};
use crate::sink::{NullSink, Sink};
use crate::summary::{CustomerTruth, DecisionTruth, GroundTruth, SimOutput, SimSummary};
use crate::SimError;
use serde::{Deserialize, Serialize};

/// What a run keeps besides the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Keep every customer's traits in the ground truth.
    pub customer_truth: bool,
    /// Keep the truth of every decision (one entry per visit).
    pub decision_truth: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            customer_truth: true,
            decision_truth: true,
        }
    }
}

const SECOND: i64 = 1_000_000;

/// Rating shares 1..5 of genuine reviews.
const RATING_CDF: [f64; 5] = [0.05, 0.12, 0.25, 0.55, 1.0];

/// A market that runs on: the customers with their histories and lifecycle, the stock, and the
/// budget's spend persist from one [`Market::run_days`] call to the next, and the whole state can
/// be saved and resumed ([`Market::save`], [`Market::resume`]). Every random draw comes from a
/// stream keyed by (seed, customer, day), so running days 0..56 in one call, in eight calls of
/// seven days, or in two processes with a save in between gives the same market.
pub struct Market {
    config: std::sync::Arc<SimConfig>,
    options: RunOptions,
    start: Timestamp,
    currency: Currency,
    catalogue: Catalogue,
    pop: Population,
    model: TrueModel,
    summary: SimSummary,
    decisions: Vec<DecisionTruth>,
    buffer: Vec<(i64, u32, Record)>,
    emit: bool,
    /// The next day to simulate.
    day: u32,
    /// The current budget period's amount and what has been spent in it.
    budget: Option<i64>,
    spend: i64,
    /// Whether the catalogue and the accounts that exist before day 0 have been emitted.
    opened: bool,
    /// Each simulated day's figures.
    daily: Vec<DayFigures>,
}

/// One day's figures, minor units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    pub revenue: i64,
    pub cost_of_goods: i64,
    pub discount_spend: i64,
    pub orders: u64,
    pub offers: u64,
}

impl DayFigures {
    /// Revenue minus cost of goods.
    pub fn gross_profit(&self) -> i64 {
        self.revenue - self.cost_of_goods
    }

    /// The sum of `days`.
    pub fn total(days: &[DayFigures]) -> DayFigures {
        days.iter().fold(DayFigures::default(), |a, d| DayFigures {
            revenue: a.revenue + d.revenue,
            cost_of_goods: a.cost_of_goods + d.cost_of_goods,
            discount_spend: a.discount_spend + d.discount_spend,
            orders: a.orders + d.orders,
            offers: a.offers + d.offers,
        })
    }
}

/// Version of the saved state's layout.
const STATE_FORMAT: u32 = 1;

/// What [`Market::save`] writes: the configuration (from which the traits, the catalogue and the
/// true response model are rebuilt exactly) and everything that changes day by day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketState {
    pub format: u32,
    pub config: SimConfig,
    pub day: u32,
    pub budget: Option<i64>,
    pub spend: i64,
    pub opened: bool,
    pub stock: Vec<i64>,
    pub stage: Vec<Stage>,
    pub last_order_day: Vec<i32>,
    pub orders: Vec<u32>,
    pub visits: Vec<u32>,
    pub customer_spend: Vec<i64>,
    pub abandoned: Vec<bool>,
    pub summary: SimSummary,
    pub daily: Vec<DayFigures>,
}

/// Runs a simulation with `policy`, streaming records to `sink` in time order.
pub fn simulate(
    config: &SimConfig,
    policy: &mut dyn Policy,
    sink: &mut dyn Sink,
) -> Result<SimOutput, SimError> {
    simulate_with(config, policy, sink, RunOptions::default())
}

/// Runs the same seed twice, first with no offers (records discarded), then with `policy`, and
/// fills the summary's counterfactual figures: with common random numbers, the difference in
/// gross profit is the policy's incremental profit, long-run effects included.
pub fn simulate_with_counterfactual(
    config: &SimConfig,
    policy: &mut dyn Policy,
    sink: &mut dyn Sink,
    options: RunOptions,
) -> Result<SimOutput, SimError> {
    let control = simulate_with(
        config,
        &mut crate::policy::NoOfferPolicy,
        &mut NullSink,
        RunOptions {
            customer_truth: false,
            decision_truth: false,
        },
    )?;
    let mut out = simulate_with(config, policy, sink, options)?;
    let s = &mut out.summary;
    s.counterfactual_gross_profit = Some(control.summary.gross_profit);
    s.counterfactual_revenue = Some(control.summary.revenue);
    s.incremental_profit = Some(s.gross_profit - control.summary.gross_profit);
    Ok(out)
}

/// [`simulate`] with control over what is kept in memory.
pub fn simulate_with(
    config: &SimConfig,
    policy: &mut dyn Policy,
    sink: &mut dyn Sink,
    options: RunOptions,
) -> Result<SimOutput, SimError> {
    let mut market = Market::new(config.clone(), options)?;
    market.run_days(config.days, policy, sink)?;
    Ok(market.finish(policy))
}

impl Market {
    /// A market at day 0 with the configuration's budget as its first budget period.
    pub fn new(config: SimConfig, options: RunOptions) -> Result<Self, SimError> {
        config.validate()?;
        let currency = config.currency()?;
        let catalogue = Catalogue::build(&config.catalogue, config.seed, currency);
        let pop = Population::generate(&config, &catalogue);
        let model = TrueModel::new(&config, &catalogue);
        Ok(Market {
            options,
            start: config.start()?,
            currency,
            summary: SimSummary {
                seed: config.seed,
                users: config.users,
                currency: currency.to_string(),
                budget: config.budget,
                ..SimSummary::default()
            },
            catalogue,
            pop,
            model,
            decisions: Vec::new(),
            buffer: Vec::new(),
            emit: false,
            day: 0,
            budget: config.budget,
            spend: 0,
            opened: false,
            daily: Vec::new(),
            config: std::sync::Arc::new(config),
        })
    }

    /// The configuration (its `days` is the market's horizon).
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The next day to simulate (days simulated so far).
    pub fn day(&self) -> u32 {
        self.day
    }

    /// Days left before the horizon.
    pub fn days_left(&self) -> u32 {
        self.config.days - self.day
    }

    /// The figures so far, over every day simulated.
    pub fn summary(&self) -> &SimSummary {
        &self.summary
    }

    /// Each simulated day's figures, from day 0.
    pub fn daily(&self) -> &[DayFigures] {
        &self.daily
    }

    /// Starts a new budget period: `budget` (minor units, `None`: unlimited) from now on, nothing
    /// spent of it yet.
    pub fn set_budget(&mut self, budget: Option<i64>) {
        self.budget = budget;
        self.spend = 0;
        self.summary.budget = budget;
    }

    /// Spend of the current budget period.
    pub fn budget_spent(&self) -> i64 {
        self.spend
    }

    /// Simulates the next `days` days with `policy` (told the period with [`Policy::begin`]) and
    /// returns the figures of those days alone.
    pub fn run_days(
        &mut self,
        days: u32,
        policy: &mut dyn Policy,
        sink: &mut dyn Sink,
    ) -> Result<SimSummary, SimError> {
        let end = self
            .day
            .checked_add(days)
            .filter(|end| *end <= self.config.days)
            .ok_or_else(|| {
                SimError::config(
                    "days",
                    self.config.days,
                    format!(
                        "the market's horizon is reached: {days} more days were asked for at day {}",
                        self.day
                    ),
                )
            })?;
        let before = self.summary.clone();
        self.summary.policy = policy.name();
        self.emit = sink.wants_records();
        let plan = Plan {
            days,
            customers: self.config.users,
            budget: self.budget.map(|b| b - self.spend),
            ladder: &self.config.ladder,
        };
        {
            let truth = self.truth(days);
            policy.begin(&plan, policy.reads_truth().then_some(&truth))?;
        }
        self.run(end, policy, sink)?;
        self.summary.days = self.day;
        self.summary.gross_profit = self.summary.revenue - self.summary.cost_of_goods;
        Ok(self.summary.since(&before))
    }

    /// Writes the market's state to `path` (JSON, replaced atomically).
    pub fn save(&self, path: &std::path::Path) -> Result<(), SimError> {
        let io = |source| SimError::Io {
            path: path.display().to_string(),
            source,
        };
        let state = self.state();
        let text = serde_json::to_vec(&state).map_err(|e| io(std::io::Error::other(e)))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The market's state (what [`Market::save`] writes).
    pub fn state(&self) -> MarketState {
        let p = &self.pop;
        MarketState {
            format: STATE_FORMAT,
            config: SimConfig::clone(&self.config),
            day: self.day,
            budget: self.budget,
            spend: self.spend,
            opened: self.opened,
            stock: self.catalogue.stock.clone(),
            stage: p.stage.clone(),
            last_order_day: p.last_order_day.clone(),
            orders: p.orders.clone(),
            visits: p.visits.clone(),
            customer_spend: p.spend.clone(),
            abandoned: p.abandoned.clone(),
            summary: self.summary.clone(),
            daily: self.daily.clone(),
        }
    }

    /// Reads a state written by [`Market::save`].
    pub fn load(path: &std::path::Path, options: RunOptions) -> Result<Self, SimError> {
        let text = std::fs::read(path).map_err(|source| SimError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let state: MarketState = serde_json::from_slice(&text).map_err(|e| SimError::Toml {
            origin: path.display().to_string(),
            message: format!("not a saved market state: {e}"),
        })?;
        Self::resume(state, options)
    }

    /// The market as it was when `state` was taken.
    pub fn resume(state: MarketState, options: RunOptions) -> Result<Self, SimError> {
        if state.format != STATE_FORMAT {
            return Err(SimError::config(
                "format",
                state.format,
                format!("this build reads saved markets of format {STATE_FORMAT}"),
            ));
        }
        let mut market = Market::new(state.config, options)?;
        let n = market.pop.len();
        let lengths = [
            ("stage", state.stage.len()),
            ("last_order_day", state.last_order_day.len()),
            ("orders", state.orders.len()),
            ("visits", state.visits.len()),
            ("customer_spend", state.customer_spend.len()),
            ("abandoned", state.abandoned.len()),
        ];
        for (field, len) in lengths {
            if len != n {
                return Err(SimError::config(
                    field,
                    len,
                    format!("the saved market has {n} customers"),
                ));
            }
        }
        if state.stock.len() != market.catalogue.stock.len() {
            return Err(SimError::config(
                "stock",
                state.stock.len(),
                format!("the catalogue has {} items", market.catalogue.stock.len()),
            ));
        }
        if state.day > market.config.days {
            return Err(SimError::config(
                "day",
                state.day,
                format!("beyond the horizon of {} days", market.config.days),
            ));
        }
        market.day = state.day;
        market.budget = state.budget;
        market.spend = state.spend;
        market.opened = state.opened;
        market.catalogue.stock = state.stock;
        let p = &mut market.pop;
        p.stage = state.stage;
        p.last_order_day = state.last_order_day;
        p.orders = state.orders;
        p.visits = state.visits;
        p.spend = state.customer_spend;
        p.abandoned = state.abandoned;
        market.summary = state.summary;
        market.daily = state.daily;
        Ok(market)
    }

    fn truth(&self, days: u32) -> Truth<'_> {
        Truth {
            model: &self.model,
            population: &self.pop,
            visit_rate: &self.config.population.visit_rate,
            fraud_visit: (
                self.config.fraud.farmer_visit_rate,
                self.config.fraud.reseller_visit_rate,
            ),
            from_day: self.day,
            days,
        }
    }

    fn run(
        &mut self,
        end: u32,
        policy: &mut dyn Policy,
        sink: &mut dyn Sink,
    ) -> Result<(), SimError> {
        if !self.opened {
            self.opened = true;
            if self.emit {
                for r in self.catalogue.records() {
                    count(&mut self.summary, &r);
                    sink.record(r)?;
                }
                for i in 0..self.pop.len() {
                    if self.pop.signup_day[i] < 0 {
                        let r = self.pop.user_record(i, self.start, self.config.seed);
                        count(&mut self.summary, &r);
                        sink.record(r)?;
                    }
                }
            }
        }
        let restock = self.config.catalogue.restock_every_days;
        while self.day < end {
            let day = self.day;
            if restock > 0 && day > 0 && day.is_multiple_of(restock) {
                self.catalogue.restock();
            }
            let before = self.summary.clone();
            for i in 0..self.pop.len() {
                self.customer_day(i, day, policy)?;
            }
            let s = &self.summary;
            self.daily.push(DayFigures {
                revenue: s.revenue - before.revenue,
                cost_of_goods: s.cost_of_goods - before.cost_of_goods,
                discount_spend: s.discount_spend - before.discount_spend,
                orders: s.orders - before.orders,
                offers: s.offers - before.offers,
            });
            self.buffer.sort_by_key(|(t, seq, _)| (*t, *seq));
            for (_, _, r) in self.buffer.drain(..) {
                count(&mut self.summary, &r);
                sink.record(r)?;
            }
            self.day += 1;
        }
        Ok(())
    }

    fn push(&mut self, time: i64, record: impl FnOnce() -> Record) {
        if self.emit {
            let seq = self.buffer.len() as u32;
            self.buffer.push((time, seq, record()));
        }
    }

    fn event(&self, user_id: &str, tag: &str, k: u32, time: i64, kind: EventKind) -> Record {
        Record::Event(Event {
            id: format!("e-{}-{tag}{k}", &user_id[1..]),
            user_id: user_id.to_string(),
            time: Timestamp(time),
            kind,
        })
    }

    fn customer_day(
        &mut self,
        i: usize,
        day: u32,
        policy: &mut dyn Policy,
    ) -> Result<(), SimError> {
        let config = std::sync::Arc::clone(&self.config);
        let signup = self.pop.signup_day[i];
        if signup > day as i32 || self.pop.abandoned[i] {
            return Ok(());
        }
        self.summary.customer_days += 1;
        let p = &config.population;
        let f = &config.fraud;
        let mut rng = SplitMix64::stream(config.seed, &[domain::DAY, i as u64, day as u64]);
        let u_time = rng.uniform();
        let u_trans = rng.uniform();
        let u_visit = rng.uniform();
        let u_buy = rng.uniform();
        let u_drop = rng.uniform();
        let day_start = self.start.0 + day as i64 * MICROS_PER_DAY;
        let fraud = self.pop.fraud[i];
        if signup == day as i32 && self.emit {
            let r = self.pop.user_record(i, self.start, config.seed);
            let t = match &r {
                Record::User(u) => u.signup.map_or(day_start, |s| s.0),
                _ => day_start,
            };
            self.push(t, || r);
        }
        // Lifecycle moves.
        let mut stage = self.pop.stage[i];
        if stage == Stage::Active
            && day as i64 - self.pop.last_order_day[i] as i64 > p.active_window_days as i64
        {
            stage = Stage::Lapsing;
        }
        let genuine = fraud == FraudKind::None;
        if stage == Stage::Lost {
            if genuine && u_trans < p.return_hazard {
                stage = Stage::Lapsing;
            } else {
                self.pop.stage[i] = stage;
                return Ok(());
            }
        } else if genuine && signup != day as i32 {
            let hazard = match stage {
                Stage::New => p.churn_hazard.new,
                Stage::Active => p.churn_hazard.active,
                _ => p.churn_hazard.lapsing,
            };
            if u_trans < hazard {
                self.pop.stage[i] = Stage::Lost;
                return Ok(());
            }
        }
        self.pop.stage[i] = stage;
        let burst = fraud == FraudKind::OrderBrusher
            && SplitMix64::stream(
                config.seed,
                &[domain::RING_DAY, self.pop.ring[i] as u64, day as u64],
            )
            .uniform()
                < f.brusher_burst_prob;
        let mult = self.pop.visit_mult[i] as f64;
        let visit_prob = if signup == day as i32 || burst {
            1.0
        } else {
            match fraud {
                FraudKind::CouponFarmer => f.farmer_visit_rate,
                FraudKind::Reseller => f.reseller_visit_rate,
                _ => {
                    let rate = match stage {
                        Stage::New => p.visit_rate.new,
                        Stage::Active => p.visit_rate.active,
                        Stage::Lapsing => p.visit_rate.lapsing,
                        Stage::Lost => p.visit_rate.lost,
                    };
                    (rate * mult).min(1.0)
                }
            }
        };
        if u_visit >= visit_prob {
            return Ok(());
        }
        let t0 = day_start + SECOND * (3600 + (u_time * 64_800.0) as i64);
        self.visit(i, day, policy, &mut rng, (u_buy, u_drop), t0, burst)
    }

    #[allow(clippy::too_many_arguments)]
    fn visit(
        &mut self,
        i: usize,
        day: u32,
        policy: &mut dyn Policy,
        rng: &mut SplitMix64,
        (u_buy, u_drop): (f64, f64),
        t0: i64,
        burst: bool,
    ) -> Result<(), SimError> {
        let config = std::sync::Arc::clone(&self.config);
        self.summary.visits += 1;
        let b = &config.behaviour;
        let f = &config.fraud;
        let fraud = self.pop.fraud[i];
        let user_id = self.pop.user_id(i);
        let day_tag = format!("{day}-");
        let mut t = t0;
        let mut k = 0u32;
        let mut next = |t: &mut i64, secs: i64| {
            *t += secs * SECOND;
            k += 1;
            k
        };
        // Views.
        let fav = self.pop.favourite[i] as usize;
        let loyalty = self.pop.loyalty[i] as f64;
        let n_views = 1 + rng.poisson(b.views_per_visit - 1.0);
        let mut viewed = Vec::with_capacity(n_views as usize);
        for _ in 0..n_views {
            let item = if burst {
                self.catalogue.cheapest
            } else {
                let c = self.catalogue.draw_category_for(rng, fav, loyalty);
                self.catalogue.draw_item(rng, c)
            };
            viewed.push(item);
            let kk = next(&mut t, 20 + rng.below(100) as i64);
            if self.emit {
                let item_id = self.catalogue.ids[item].clone();
                let rec = self.event(
                    &user_id,
                    &day_tag,
                    kk,
                    t,
                    EventKind::View {
                        item_id: Some(item_id),
                    },
                );
                self.push(t, || rec);
            }
        }
        // Decision.
        let traits = Traits::of(&self.pop, i);
        let visit_truth = VisitTruth {
            model: &self.model,
            traits,
            burst,
        };
        let last = self.pop.last_order_day[i];
        let ctx = Context {
            user_id: &user_id,
            customer: i,
            day,
            stage: self
                .pop
                .observed_stage(i, day, config.population.active_window_days),
            orders: self.pop.orders[i],
            days_since_last_order: (last != NO_ORDER)
                .then(|| (day as i64 - last as i64).max(0) as u32),
            total_spend: self.pop.spend[i],
            visits: self.pop.visits[i],
            tenure_days: (day as i64 - self.pop.signup_day[i] as i64).max(0) as u32,
            viewed_category: &self.catalogue.category_names
                [self.catalogue.category[viewed[0]] as usize],
            budget_left: self.budget.map(|b| b - self.spend),
            ladder: &config.ladder,
        };
        let decision = policy.decide(&ctx, policy.reads_truth().then_some(&visit_truth));
        self.pop.visits[i] += 1;
        decision.offer.validate().map_err(|e| SimError::Policy {
            policy: policy.name(),
            reason: format!("invalid offer {}: {e}", decision.offer.label()),
        })?;
        if !(decision.propensity > 0.0 && decision.propensity <= 1.0) {
            return Err(SimError::Policy {
                policy: policy.name(),
                reason: format!("propensity {} is not in (0, 1]", decision.propensity),
            });
        }
        let given = visit_truth.evaluate(&decision.offer);
        let no_offer = if decision.offer == Offer::NoOffer {
            given
        } else {
            visit_truth.evaluate(&Offer::NoOffer)
        };
        let is_offer = decision.offer != Offer::NoOffer;
        self.summary.decisions += 1;
        self.summary.expected_incremental_profit +=
            given.expected_profit - no_offer.expected_profit;
        let decision_id = format!("d-{}-{day}", &user_id[1..]);
        let coupon_id = format!("c-{}-{day}", &user_id[1..]);
        let expires = Timestamp(self.start.0 + (day as i64 + 1) * MICROS_PER_DAY - SECOND);
        let kk = next(&mut t, 1);
        if self.emit {
            let rec = self.event(
                &user_id,
                &day_tag,
                kk,
                t,
                EventKind::OfferShown {
                    decision_id: decision_id.clone(),
                    offer: decision.offer.clone(),
                    item_id: None,
                    position: None,
                    propensity: Some(decision.propensity),
                    expires_at: Some(expires),
                },
            );
            self.push(t, || rec);
        }
        if is_offer {
            self.summary.offers += 1;
        }
        let kk = next(&mut t, 1);
        if is_offer && self.emit {
            let rec = self.event(
                &user_id,
                &day_tag,
                kk,
                t,
                EventKind::CouponIssued {
                    coupon_id: coupon_id.clone(),
                    decision_id: Some(decision_id.clone()),
                    offer: decision.offer.clone(),
                    expires_at: Some(expires),
                },
            );
            self.push(t, || rec);
        }
        let buys = u_buy < given.p_buy;
        let mut discount_paid = 0;
        let mut purchased = false;
        if buys {
            // Orders of this visit: brushers place several tiny ones in a burst.
            let n_orders = if burst {
                rng.between(f.brusher_orders_per_burst[0], f.brusher_orders_per_burst[1])
            } else {
                1
            };
            for o in 0..n_orders {
                let mut wanted: Vec<(usize, u32)> = Vec::new();
                match fraud {
                    FraudKind::None => {
                        let lines = 1 + rng.poisson(self.pop.basket_lines[i] as f64 - 1.0);
                        for l in 0..lines as usize {
                            let item = match viewed.get(l) {
                                Some(&v) => v,
                                None => {
                                    let c = self.catalogue.draw_category_for(rng, fav, loyalty);
                                    self.catalogue.draw_item(rng, c)
                                }
                            };
                            wanted.push((item, 1 + rng.poisson(b.quantity_extra)));
                        }
                    }
                    FraudKind::CouponFarmer => wanted.push((viewed[0], 1)),
                    FraudKind::Reseller => wanted.push((
                        viewed[0],
                        rng.between(f.reseller_quantity[0], f.reseller_quantity[1]),
                    )),
                    FraudKind::OrderBrusher => wanted.push((self.catalogue.cheapest, 1)),
                }
                // Merge repeated items, take stock.
                let mut lines: Vec<(usize, u32)> = Vec::with_capacity(wanted.len());
                for (item, q) in wanted {
                    match lines.iter_mut().find(|(it, _)| *it == item) {
                        Some(line) => line.1 += q,
                        None => lines.push((item, q)),
                    }
                }
                let mut order_lines = Vec::with_capacity(lines.len());
                for (item, q) in lines {
                    let got = self.catalogue.take(item, q);
                    if got < q {
                        self.summary.stockouts += 1;
                    }
                    if got > 0 {
                        order_lines.push((item, got));
                    }
                }
                if order_lines.is_empty() {
                    continue;
                }
                let gross: Vec<i64> = order_lines
                    .iter()
                    .map(|&(item, q)| self.catalogue.price[item] * q as i64)
                    .collect();
                let discounts = if o == 0 {
                    allocate_discount(&decision.offer, &gross, b.shipping_fee)
                } else {
                    vec![0; gross.len()]
                };
                let order_discount: i64 = discounts.iter().sum();
                let mut paid_total = 0;
                let mut cogs = 0;
                let mut units = 0u64;
                let mut core_lines = Vec::with_capacity(order_lines.len());
                for (idx, &(item, q)) in order_lines.iter().enumerate() {
                    let paid = gross[idx] - discounts[idx];
                    paid_total += paid;
                    cogs += self.catalogue.cost[item] * q as i64;
                    units += q as u64;
                    if self.emit {
                        core_lines.push(OrderLine {
                            item_id: self.catalogue.ids[item].clone(),
                            quantity: q,
                            list_price: self.catalogue.price[item],
                            paid,
                            retail_discount: 0,
                            coupon_discount: discounts[idx],
                        });
                    }
                }
                let order_id = format!("o-{}-{day}-{o}", &user_id[1..]);
                // Draw every time and counter whether or not records are built, so that runs with
                // and without a sink consume the same random numbers.
                let mut cart_at = Vec::with_capacity(order_lines.len());
                for _ in 0..order_lines.len() {
                    let kk = next(&mut t, 5 + rng.below(60) as i64);
                    cart_at.push((kk, t));
                }
                let order_at = (next(&mut t, 30 + rng.below(120) as i64), t);
                let redeem_at = (next(&mut t, 1), t);
                let (review_p, rating) = if fraud == FraudKind::OrderBrusher {
                    (0.8, 5u8)
                } else {
                    let u = rng.uniform();
                    (
                        b.review_rate,
                        1 + RATING_CDF.iter().position(|&c| u < c).unwrap_or(4) as u8,
                    )
                };
                let review_at = (rng.uniform() < review_p)
                    .then(|| (next(&mut t, 0), (t + 3600 * SECOND).min(expires.0)));
                if self.emit {
                    for (line, &(kk, at)) in core_lines.iter().zip(&cart_at) {
                        let kind = EventKind::AddToCart {
                            item_id: line.item_id.clone(),
                            quantity: line.quantity,
                        };
                        let rec = self.event(&user_id, &day_tag, kk, at, kind);
                        self.push(at, || rec);
                    }
                    let first_item = core_lines[0].item_id.clone();
                    let kind = EventKind::Order {
                        order_id: order_id.clone(),
                        currency: self.currency,
                        lines: core_lines,
                    };
                    let rec = self.event(&user_id, &day_tag, order_at.0, order_at.1, kind);
                    self.push(order_at.1, || rec);
                    if order_discount > 0 {
                        let kind = EventKind::CouponRedeemed {
                            coupon_id: coupon_id.clone(),
                            order_id: Some(order_id.clone()),
                            currency: self.currency,
                            amount: order_discount,
                        };
                        let rec = self.event(&user_id, &day_tag, redeem_at.0, redeem_at.1, kind);
                        self.push(redeem_at.1, || rec);
                    }
                    if let Some((kk, when)) = review_at {
                        let kind = EventKind::Review {
                            item_id: first_item,
                            rating,
                            text: None,
                        };
                        let rec = self.event(&user_id, &day_tag, kk, when, kind);
                        self.push(when, || rec);
                    }
                }
                purchased = true;
                discount_paid += order_discount;
                self.spend += order_discount;
                let s = &mut self.summary;
                s.orders += 1;
                s.units += units;
                s.revenue += paid_total;
                s.discount_spend += order_discount;
                s.cost_of_goods += cogs;
                if order_discount > 0 && o == 0 {
                    s.coupons_redeemed += 1;
                }
                if fraud != FraudKind::None {
                    s.fraud_orders += 1;
                    s.fraud_discount_spend += order_discount;
                }
                self.pop.orders[i] += 1;
                self.pop.spend[i] += paid_total;
                self.pop.last_order_day[i] = day as i32;
                self.pop.stage[i] = Stage::Active;
            }
            if purchased
                && fraud == FraudKind::None
                && u_drop < config.population.dropout_after_order
            {
                self.pop.stage[i] = Stage::Lost;
            }
            if purchased && fraud == FraudKind::CouponFarmer {
                self.pop.abandoned[i] = true;
                self.pop.stage[i] = Stage::Lost;
            }
        } else if rng.uniform() < b.cart_abandon_rate && self.emit {
            let kk = next(&mut t, 30);
            let rec = self.event(
                &user_id,
                &day_tag,
                kk,
                t,
                EventKind::AddToCart {
                    item_id: self.catalogue.ids[viewed[0]].clone(),
                    quantity: 1,
                },
            );
            self.push(t, || rec);
        }
        if self.options.decision_truth {
            self.decisions.push(DecisionTruth {
                decision_id,
                user_id,
                day,
                offer: decision.offer,
                propensity: decision.propensity,
                given,
                no_offer,
                incremental_profit: given.expected_profit - no_offer.expected_profit,
                purchased,
                discount_paid,
            });
        }
        Ok(())
    }

    /// The run's output: the figures over every day simulated and the ground truth.
    pub fn finish(mut self, policy: &dyn Policy) -> SimOutput {
        let s = &mut self.summary;
        s.gross_profit = s.revenue - s.cost_of_goods;
        s.redemption_rate = if s.offers > 0 {
            s.coupons_redeemed as f64 / s.offers as f64
        } else {
            0.0
        };
        s.budget_used = s.budget.map(|b| {
            if b > 0 {
                s.discount_spend as f64 / b as f64
            } else {
                0.0
            }
        });
        s.policy_notes = policy.notes().into_iter().collect();
        let pop = &self.pop;
        let mut truth = GroundTruth {
            model: Some(self.model.clone()),
            categories: self.catalogue.category_names.clone(),
            decisions: std::mem::take(&mut self.decisions),
            ..GroundTruth::default()
        };
        for i in pop.fraud_first..pop.len() {
            truth.fraud.push(FraudLabel {
                user_id: pop.user_id(i),
                kind: pop.fraud[i],
                ring: format!("r{}", pop.ring[i]),
            });
        }
        if self.options.customer_truth {
            truth.customers = (0..pop.len())
                .map(|i| CustomerTruth {
                    user_id: pop.user_id(i),
                    response: pop.response[i],
                    fraud: pop.fraud[i],
                    propensity: pop.propensity[i] as f64,
                    elasticity: pop.elasticity[i] as f64,
                    visit_rate_multiplier: pop.visit_mult[i] as f64,
                    favourite_category: self.catalogue.category_names[pop.favourite[i] as usize]
                        .clone(),
                    category_loyalty: pop.loyalty[i] as f64,
                    basket_lines: pop.basket_lines[i] as f64,
                    signup_day: pop.signup_day[i],
                    initial_stage: pop.initial_stage[i],
                    final_stage: pop.stage[i],
                })
                .collect();
        }
        SimOutput {
            summary: self.summary,
            truth,
        }
    }
}

fn count(summary: &mut SimSummary, record: &Record) {
    match summary.records.get_mut(record.type_name()) {
        Some(n) => *n += 1,
        None => {
            summary.records.insert(record.type_name().to_string(), 1);
        }
    }
}

/// Splits an offer's discount over an order's line totals (minor units, exact sum).
pub fn allocate_discount(offer: &Offer, gross: &[i64], shipping_fee: i64) -> Vec<i64> {
    let total: i64 = gross.iter().sum();
    let spread = |amount: i64| {
        let amount = amount.clamp(0, total);
        let mut out = Vec::with_capacity(gross.len());
        let mut left = amount;
        for (k, g) in gross.iter().enumerate() {
            let share = if k + 1 == gross.len() {
                left
            } else if total > 0 {
                ((amount as i128 * *g as i128) / total as i128) as i64
            } else {
                0
            };
            let share = share.min(*g).min(left);
            out.push(share);
            left -= share;
        }
        out
    };
    match offer {
        Offer::PercentOff { percent } => gross
            .iter()
            .map(|&g| ((g as f64) * percent / 100.0).round().clamp(0.0, g as f64) as i64)
            .collect(),
        Offer::AmountOff { amount, min_spend } if total >= *min_spend => spread(*amount),
        Offer::FreeShipping => spread(shipping_fee),
        _ => vec![0; gross.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::RandomPolicy;

    fn run_in_parts(config: &SimConfig, parts: &[u32], save: bool) -> (Vec<String>, SimSummary) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("market.json");
        let mut policy = RandomPolicy::new(7);
        let mut records = Vec::new();
        let mut market = Market::new(config.clone(), RunOptions::default()).unwrap();
        for &days in parts {
            if save {
                market.save(&path).unwrap();
                market = Market::load(&path, RunOptions::default()).unwrap();
            }
            market
                .run_days(days, &mut policy, &mut |r: Record| {
                    records.push(r.to_json())
                })
                .unwrap();
        }
        (records, market.finish(&policy).summary)
    }

    #[test]
    fn a_saved_and_resumed_market_is_the_uninterrupted_one() {
        let config = SimConfig {
            users: 1_500,
            days: 30,
            budget: Some(40_000),
            ..SimConfig::default()
        };
        let (whole, whole_summary) = run_in_parts(&config, &[30], false);
        assert!(
            whole_summary.orders > 20 && whole_summary.discount_spend > 0,
            "{whole_summary:?}"
        );
        for (parts, save) in [(&[12u32, 18][..], true), (&[7, 7, 7, 7, 2][..], false)] {
            let (records, summary) = run_in_parts(&config, parts, save);
            assert_eq!(records.len(), whole.len(), "{parts:?}");
            assert!(records == whole, "records differ for {parts:?}");
            assert_eq!(summary, whole_summary, "{parts:?}");
        }
    }

    #[test]
    fn a_span_reports_its_own_days_and_the_horizon_holds() {
        let config = SimConfig {
            users: 800,
            days: 20,
            ..SimConfig::default()
        };
        let mut market = Market::new(config, RunOptions::default()).unwrap();
        let mut policy = RandomPolicy::new(1);
        let first = market.run_days(10, &mut policy, &mut NullSink).unwrap();
        let second = market.run_days(10, &mut policy, &mut NullSink).unwrap();
        let total = market.summary().clone();
        assert_eq!(first.days + second.days, 20);
        assert_eq!(first.orders + second.orders, total.orders);
        assert_eq!(first.gross_profit + second.gross_profit, total.gross_profit);
        let e = market
            .run_days(1, &mut policy, &mut NullSink)
            .unwrap_err()
            .to_string();
        assert!(e.contains("horizon"), "{e}");
    }

    #[test]
    fn a_damaged_state_is_refused_with_the_field() {
        let config = SimConfig {
            users: 300,
            days: 5,
            ..SimConfig::default()
        };
        let mut state = Market::new(config, RunOptions::default()).unwrap().state();
        state.orders.pop();
        let e = Market::resume(state, RunOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("orders") && e.contains("300"), "{e}");
    }

    #[test]
    fn discounts_split_exactly() {
        assert_eq!(
            allocate_discount(&Offer::PercentOff { percent: 10.0 }, &[1000, 555], 0),
            vec![100, 56]
        );
        let a = allocate_discount(
            &Offer::AmountOff {
                amount: 500,
                min_spend: 1000,
            },
            &[700, 301],
            0,
        );
        assert_eq!(a.iter().sum::<i64>(), 500);
        assert!(a.iter().zip([700, 301]).all(|(d, g)| *d <= g));
        assert_eq!(
            allocate_discount(
                &Offer::AmountOff {
                    amount: 500,
                    min_spend: 5000
                },
                &[700],
                0
            ),
            vec![0]
        );
        assert_eq!(
            allocate_discount(
                &Offer::AmountOff {
                    amount: 5000,
                    min_spend: 0
                },
                &[700, 300],
                0
            )
            .iter()
            .sum::<i64>(),
            1000
        );
        assert_eq!(
            allocate_discount(&Offer::FreeShipping, &[700], 499),
            vec![499]
        );
        assert_eq!(
            allocate_discount(&Offer::Content { name: "x".into() }, &[700], 499),
            vec![0]
        );
    }
}
