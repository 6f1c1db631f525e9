//! What the simulated shop records, kept as a store keeps it: the catalogue, each customer's
//! events in time order and each order's profit by (customer, day). Every experiment of the lab
//! builds a customer's facts from it with the function the service uses
//! ([`customer_facts`]), so that the simulator's decisions read the features `serve` reads.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use discount_core::time::MICROS_PER_DAY;
use discount_core::{Event, EventKind, Record, Timestamp};
use discount_features::Catalog;
use discount_policy::engine::CustomerFacts;
use discount_policy::facts::{customer_facts, FeatureSource};
use discount_sim::{simulate_with, Policy, RunOptions, SimConfig, SimSummary};

use crate::error::LabError;

/// What the shop has recorded so far: the catalogue, each customer's events in time order, and
/// each order's profit credited to the (customer, day) of its visit (an offer's coupon is valid
/// until the end of its day: the attribution window).
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed {
    pub(crate) start: i64,
    pub(crate) catalog: Catalog,
    costs: HashMap<String, i64>,
    pub(crate) events: HashMap<String, Vec<Event>>,
    /// (customer, day) -> (profit, coupon discount)
    pub(crate) outcomes: HashMap<(String, u32), (i64, i64)>,
}

impl Observed {
    pub(crate) fn new(config: &SimConfig) -> Result<Self, LabError> {
        Ok(Self {
            start: config.start()?.0,
            ..Self::default()
        })
    }

    pub(crate) fn record(&mut self, r: Record) {
        match r {
            Record::Item(item) => {
                self.catalog.insert(item.id.clone(), item.category.clone());
                self.costs.insert(item.id, item.unit_cost.unwrap_or(0));
            }
            Record::Event(e) => {
                if let EventKind::Order { lines, .. } = &e.kind {
                    let day = (e.time.0 - self.start).div_euclid(MICROS_PER_DAY).max(0) as u32;
                    let mut profit = 0i64;
                    let mut discount = 0i64;
                    for l in lines {
                        let cost = self.costs.get(&l.item_id).copied().unwrap_or(0);
                        profit += l.paid - cost * i64::from(l.quantity);
                        discount += l.coupon_discount;
                    }
                    let o = self.outcomes.entry((e.user_id.clone(), day)).or_default();
                    o.0 += profit;
                    o.1 += discount;
                }
                self.events.entry(e.user_id.clone()).or_default().push(e);
            }
            Record::User(_) => {}
        }
    }

    pub(crate) fn day_start(&self, day: u32) -> Timestamp {
        Timestamp(self.start + i64::from(day) * MICROS_PER_DAY)
    }

    /// The customer's facts as the service builds them: the same function, over what the shop
    /// has recorded up to `now`, with the offers given before (latest first).
    pub(crate) fn facts_at(
        &self,
        customer: &str,
        now: Timestamp,
        offers: &[(String, i64)],
        sources: &[FeatureSource],
    ) -> Result<CustomerFacts, LabError> {
        let events = self.events.get(customer).map_or(&[][..], |v| v.as_slice());
        let (_, facts) =
            customer_facts(customer, events, &self.catalog, offers, now, None, sources)?;
        Ok(facts)
    }
}

/// The shop's record shared between a simulator run's sink (which feeds it every record) and
/// the policy that decides from it; clone it into the sink closure.
#[derive(Clone, Debug)]
pub struct OutcomeTap {
    observed: Rc<RefCell<Observed>>,
}

impl OutcomeTap {
    pub fn new(config: &SimConfig) -> Result<Self, LabError> {
        Ok(Self {
            observed: Rc::new(RefCell::new(Observed::new(config)?)),
        })
    }

    /// Runs `policy` over `config` with every record fed to this tap (what a policy that reads
    /// the shop's record needs); the run's summary.
    pub fn run(&self, config: &SimConfig, policy: &mut dyn Policy) -> Result<SimSummary, LabError> {
        let options = RunOptions {
            customer_truth: false,
            decision_truth: false,
        };
        Ok(simulate_with(config, policy, &mut |r| self.record(r), options)?.summary)
    }

    /// Feeds one simulator record.
    pub fn record(&self, r: Record) {
        self.observed.borrow_mut().record(r);
    }

    /// Removes and returns the outcome of `user` on `day`: (profit, discount, ordered).
    pub fn take_outcome(&self, user: &str, day: u32) -> (f64, f64, bool) {
        match self
            .observed
            .borrow_mut()
            .outcomes
            .remove(&(user.to_string(), day))
        {
            Some((p, d)) => (p as f64, d as f64, true),
            None => (0.0, 0.0, false),
        }
    }

    /// The customer's facts at the start of `day`, as the service builds them from what the
    /// shop recorded before.
    pub(crate) fn facts_at_day(
        &self,
        customer: &str,
        day: u32,
        offers: &[(String, i64)],
        sources: &[FeatureSource],
    ) -> Result<CustomerFacts, LabError> {
        let observed = self.observed.borrow();
        observed.facts_at(customer, observed.day_start(day), offers, sources)
    }

    pub(crate) fn day_start(&self, day: u32) -> Timestamp {
        self.observed.borrow().day_start(day)
    }
}
