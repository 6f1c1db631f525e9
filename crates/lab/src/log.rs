//! Exploration logs: what a logging policy decided, with which propensity, and what followed.

use discount_sim::policy::{Plan, RandomPolicy, Truth, VisitTruth};
use discount_sim::{simulate_with, Context, Decision, Policy, RunOptions, SimConfig, SimOutput};

use crate::error::LabError;
use crate::model::Segments;
use crate::observed::OutcomeTap;

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

struct Pending {
    user: String,
    day: u32,
    segment: usize,
    action: usize,
    propensity: f64,
}

/// Wraps a policy and remembers what it decided, and in which segment.
struct Recorder<'p> {
    inner: &'p mut dyn Policy,
    segments: Segments,
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
        let action = ctx.ladder.iter().position(|o| *o == d.offer);
        if let (Some(action), Some(segment)) = (action, self.segments.of_visit(ctx)) {
            self.pending.push(Pending {
                user: ctx.user_id.to_string(),
                day: ctx.day,
                segment,
                action,
                propensity: d.propensity,
            });
        }
        d
    }
}

/// Runs `config` (its budget removed) with the seeded random policy and returns the log built from
/// the observable records only: each visit's segment from the customer's recorded events, offers
/// with propensities, orders and item costs.
pub fn explore(config: &SimConfig, seed: u64) -> Result<ExplorationLog, LabError> {
    let mut config = config.clone();
    config.budget = None;
    let tap = OutcomeTap::new(&config)?;
    let mut random = RandomPolicy::new(seed);
    let mut recorder = Recorder {
        inner: &mut random,
        segments: Segments::new(tap.clone(), &config),
        pending: Vec::new(),
    };
    let output = simulate_with(
        &config,
        &mut recorder,
        &mut |r| tap.record(r),
        RunOptions {
            customer_truth: false,
            decision_truth: false,
        },
    )?;
    let decisions = recorder
        .pending
        .into_iter()
        .map(|p| {
            let (profit, discount, _) = tap.take_outcome(&p.user, p.day);
            LoggedDecision {
                segment: p.segment,
                action: p.action,
                propensity: p.propensity,
                profit,
                discount,
            }
        })
        .collect();
    Ok(ExplorationLog {
        decisions,
        days: config.days,
        output,
    })
}
