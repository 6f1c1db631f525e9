//! Exploration logs: what a logging policy decided, with which propensity, and what followed.

use std::collections::HashMap;

use discount_core::time::MICROS_PER_DAY;
use discount_core::{EventKind, Record};
use discount_sim::policy::{Plan, RandomPolicy, Truth, VisitTruth};
use discount_sim::{simulate_with, Context, Decision, Policy, RunOptions, SimConfig, SimOutput};

use crate::error::LabError;
use crate::model::segment_of;

/// One logged decision: the segment of the visit, the rung given, its propensity and the
/// observed outcome of the visit (gross profit after discounts, and the coupon discount paid).
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedDecision {
    pub segment: usize,
    /// Index of the offer in the ladder.
    pub action: usize,
    pub propensity: f64,
    /// Paid revenue minus cost of goods of the visit's orders, minor units.
    pub profit: f64,
    /// Coupon discount paid at the visit, minor units.
    pub discount: f64,
}

/// A log and the run it came from.
#[derive(Clone, Debug)]
pub struct ExplorationLog {
    pub decisions: Vec<LoggedDecision>,
    /// Days covered by the log.
    pub days: u32,
    pub output: SimOutput,
}

/// An order line: item, quantity, paid, coupon discount.
type OrderLineOutcome = (String, u32, i64, i64);

struct Pending {
    user: String,
    day: u32,
    segment: usize,
    action: usize,
    propensity: f64,
}

/// Wraps a policy and remembers what it decided, and where.
struct Recorder<'p> {
    inner: &'p mut dyn Policy,
    pending: Vec<Pending>,
}

impl Policy for Recorder<'_> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn begin(
        &mut self,
        plan: &Plan<'_>,
        truth: Option<&Truth<'_>>,
    ) -> Result<(), discount_sim::SimError> {
        self.inner.begin(plan, truth)
    }

    fn decide(&mut self, ctx: &Context<'_>, truth: Option<&VisitTruth<'_>>) -> Decision {
        let d = self.inner.decide(ctx, truth);
        if let Some(action) = ctx.ladder.iter().position(|o| *o == d.offer) {
            self.pending.push(Pending {
                user: ctx.user_id.to_string(),
                day: ctx.day,
                segment: segment_of(ctx),
                action,
                propensity: d.propensity,
            });
        }
        d
    }
}

/// Runs `config` (its budget removed) with the seeded random policy and returns the log built from
/// the observable records only: offers with propensities, orders and item costs.
pub fn explore(config: &SimConfig, seed: u64) -> Result<ExplorationLog, LabError> {
    let mut config = config.clone();
    config.budget = None;
    let start = config.start()?.0;
    let mut random = RandomPolicy::new(seed);
    let mut recorder = Recorder {
        inner: &mut random,
        pending: Vec::new(),
    };
    let mut costs: HashMap<String, i64> = HashMap::new();
    // (user, day) -> lines (item, quantity, paid, coupon discount)
    let mut orders: HashMap<(String, u32), Vec<OrderLineOutcome>> = HashMap::new();
    let mut sink = |r: Record| match r {
        Record::Item(item) => {
            costs.insert(item.id, item.unit_cost.unwrap_or(0));
        }
        Record::Event(e) => {
            if let EventKind::Order { lines, .. } = e.kind {
                let day = (e.time.0 - start).div_euclid(MICROS_PER_DAY).max(0) as u32;
                let entry = orders.entry((e.user_id, day)).or_default();
                for l in lines {
                    entry.push((l.item_id, l.quantity, l.paid, l.coupon_discount));
                }
            }
        }
        Record::User(_) => {}
    };
    let output = simulate_with(
        &config,
        &mut recorder,
        &mut sink,
        RunOptions {
            customer_truth: false,
            decision_truth: false,
        },
    )?;
    let decisions = recorder
        .pending
        .into_iter()
        .map(|p| {
            let (mut profit, mut discount) = (0i64, 0i64);
            if let Some(lines) = orders.get(&(p.user, p.day)) {
                for (item, q, paid, coupon) in lines {
                    let cost = costs.get(item).copied().unwrap_or(0);
                    profit += paid - cost * i64::from(*q);
                    discount += coupon;
                }
            }
            LoggedDecision {
                segment: p.segment,
                action: p.action,
                propensity: p.propensity,
                profit: profit as f64,
                discount: discount as f64,
            }
        })
        .collect();
    Ok(ExplorationLog {
        decisions,
        days: config.days,
        output,
    })
}
