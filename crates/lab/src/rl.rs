//! Reinforcement learning for the customer lifecycle: a first-order, repurchase or win-back offer
//! changes what the customer does next, so the offer at each visit is a sequential decision.
//!
//! The state is the customer's lifecycle segment at the visit ([`crate::model::segment_of`] of
//! the serving facts: stage, order count, recency, tenure); the action is the rung; the reward
//! is the visit's profit (paid
//! revenue minus cost of goods, so a discount's cost is in it); the next state is the segment at
//! the customer's next visit, with per-visit discount `gamma`. [`LifecyclePolicy`] learns a
//! tabular Q by Q-learning while it runs in the simulator (epsilon-greedy) and then acts greedily;
//! with `gamma = 0` the same learner is the one-step greedy policy it is compared with.
//! [`fitted_q_iteration`] learns the same table from a logged set of transitions instead (fitted Q
//! iteration with a tabular regressor shrunk toward each action's pooled mean); [`crate::dqn`]
//! learns a network over the serving features from logged transitions.

use std::sync::Arc;

use discount_sim::policy::{NoOfferPolicy, Plan, RandomPolicy, Truth, VisitTruth};
use discount_sim::{simulate_with, Context, Decision, Policy, RunOptions, SimConfig, SimError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::dqn::{log_feature_transitions, train_dqn, DqnHyper, DqnPolicy};
use crate::error::LabError;
use crate::evaluate::Spread;
use crate::model::{Segments, SEGMENTS};
use crate::simulated::OutcomeTap;

/// One logged transition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transition {
    pub state: usize,
    pub action: usize,
    pub reward: f64,
    /// `None` when the episode ended before the customer's next visit.
    pub next: Option<usize>,
}

/// A tabular action-value function.
#[derive(Clone, Debug, PartialEq)]
pub struct QTable {
    pub actions: usize,
    pub q: Vec<f64>,
    pub visits: Vec<u64>,
}

impl QTable {
    pub fn new(actions: usize) -> Self {
        Self {
            actions,
            q: vec![0.0; SEGMENTS * actions],
            visits: vec![0; SEGMENTS * actions],
        }
    }

    pub fn value(&self, s: usize, a: usize) -> f64 {
        self.q[s * self.actions + a]
    }

    pub fn best(&self, s: usize) -> usize {
        let row = &self.q[s * self.actions..(s + 1) * self.actions];
        let mut best = 0;
        for (a, v) in row.iter().enumerate() {
            if *v > row[best] {
                best = a;
            }
        }
        best
    }

    pub fn max(&self, s: usize) -> f64 {
        self.value(s, self.best(s))
    }
}

/// Hyper-parameters of Q-learning.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct QHyper {
    /// Per-visit discount in [0, 1).
    pub gamma: f64,
    /// Exploration share while learning, in [0, 1).
    pub epsilon: f64,
    /// Step size floor: the step is `max(1 / visits, alpha_min)`.
    pub alpha_min: f64,
}

impl QHyper {
    pub fn validate(&self) -> Result<(), LabError> {
        for (name, v) in [
            ("rl.gamma", self.gamma),
            ("rl.epsilon", self.epsilon),
            ("rl.alpha_min", self.alpha_min),
        ] {
            if !(0.0..1.0).contains(&v) {
                return Err(LabError::Policy(discount_policy::PolicyError::Hyper {
                    name,
                    value: v,
                    rule: "must be in [0, 1)",
                }));
            }
        }
        Ok(())
    }
}

struct Last {
    state: usize,
    action: usize,
    day: u32,
    user: String,
}

/// The lifecycle policy: learns Q online while `learning`, else acts greedily on it.
pub struct LifecyclePolicy {
    pub table: QTable,
    hyper: QHyper,
    learning: bool,
    segments: Segments,
    last: Vec<Option<Last>>,
    rng: StdRng,
    label: String,
}

impl LifecyclePolicy {
    pub fn new(
        table: QTable,
        hyper: QHyper,
        learning: bool,
        segments: Segments,
        seed: u64,
        label: &str,
    ) -> Result<Self, LabError> {
        hyper.validate()?;
        Ok(Self {
            table,
            hyper,
            learning,
            segments,
            last: Vec::new(),
            rng: StdRng::seed_from_u64(seed ^ 0x0051_EA4E),
            label: label.to_string(),
        })
    }

    fn learn(&mut self, t: Transition) {
        let i = t.state * self.table.actions + t.action;
        self.table.visits[i] += 1;
        let alpha = (1.0 / self.table.visits[i] as f64).max(self.hyper.alpha_min);
        let target = t.reward + t.next.map_or(0.0, |s| self.hyper.gamma * self.table.max(s));
        self.table.q[i] += alpha * (target - self.table.q[i]);
    }

    /// Closes every open transition as terminal (end of an episode).
    pub fn finish(&mut self) {
        for l in std::mem::take(&mut self.last).into_iter().flatten() {
            let (reward, _, _) = self.segments.tap().take_outcome(&l.user, l.day);
            if self.learning {
                self.learn(Transition {
                    state: l.state,
                    action: l.action,
                    reward,
                    next: None,
                });
            }
        }
    }
}

impl Policy for LifecyclePolicy {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn begin(&mut self, plan: &Plan<'_>, _truth: Option<&Truth<'_>>) -> Result<(), SimError> {
        if plan.ladder.len() != self.table.actions {
            return Err(SimError::Policy {
                policy: self.label.clone(),
                reason: LabError::LadderMismatch.to_string(),
            });
        }
        self.last = Vec::new();
        self.last.resize_with(plan.customers, || None);
        Ok(())
    }

    fn decide(&mut self, ctx: &Context<'_>, _truth: Option<&VisitTruth<'_>>) -> Decision {
        let Some(s) = self.segments.of_visit(ctx) else {
            return Decision::none();
        };
        if ctx.customer >= self.last.len() {
            self.last.resize_with(ctx.customer + 1, || None);
        }
        if let Some(l) = self.last[ctx.customer].take() {
            // The previous visit's orders are joined by now: the simulator flushes each day.
            let (reward, _, _) = self.segments.tap().take_outcome(&l.user, l.day);
            if self.learning {
                self.learn(Transition {
                    state: l.state,
                    action: l.action,
                    reward,
                    next: Some(s),
                });
            }
        }
        let k = self.table.actions;
        let greedy = self.table.best(s);
        let (action, propensity) = if self.learning {
            let eps = self.hyper.epsilon;
            let u: f64 = self.rng.gen();
            let a = if u < eps {
                self.rng.gen_range(0..k)
            } else {
                greedy
            };
            let p = eps / k as f64 + if a == greedy { 1.0 - eps } else { 0.0 };
            (a, p)
        } else {
            (greedy, 1.0)
        };
        self.last[ctx.customer] = Some(Last {
            state: s,
            action,
            day: ctx.day,
            user: ctx.user_id.to_string(),
        });
        Decision {
            offer: ctx.ladder[action].clone(),
            propensity,
        }
    }
}

/// Transitions logged by a random policy over `config` (budget removed).
pub fn log_transitions(config: &SimConfig, seed: u64) -> Result<Vec<Transition>, LabError> {
    struct Logger {
        random: RandomPolicy,
        segments: Segments,
        last: Vec<Option<Last>>,
        out: Vec<Transition>,
    }
    impl Policy for Logger {
        fn name(&self) -> String {
            "random".into()
        }
        fn decide(&mut self, ctx: &Context<'_>, t: Option<&VisitTruth<'_>>) -> Decision {
            let Some(s) = self.segments.of_visit(ctx) else {
                return Decision::none();
            };
            if ctx.customer >= self.last.len() {
                self.last.resize_with(ctx.customer + 1, || None);
            }
            if let Some(l) = self.last[ctx.customer].take() {
                let (reward, _, _) = self.segments.tap().take_outcome(&l.user, l.day);
                self.out.push(Transition {
                    state: l.state,
                    action: l.action,
                    reward,
                    next: Some(s),
                });
            }
            let d = self.random.decide(ctx, t);
            let action = ctx.ladder.iter().position(|o| *o == d.offer).unwrap_or(0);
            self.last[ctx.customer] = Some(Last {
                state: s,
                action,
                day: ctx.day,
                user: ctx.user_id.to_string(),
            });
            d
        }
    }
    let mut config = config.clone();
    config.budget = None;
    let tap = OutcomeTap::new(&config)?;
    let mut logger = Logger {
        random: RandomPolicy::new(seed),
        segments: Segments::new(tap.clone(), &config),
        last: Vec::new(),
        out: Vec::new(),
    };
    simulate_with(
        &config,
        &mut logger,
        &mut |r| tap.record(r),
        RunOptions {
            customer_truth: false,
            decision_truth: false,
        },
    )?;
    for l in std::mem::take(&mut logger.last).into_iter().flatten() {
        let (reward, _, _) = tap.take_outcome(&l.user, l.day);
        logger.out.push(Transition {
            state: l.state,
            action: l.action,
            reward,
            next: None,
        });
    }
    Ok(logger.out)
}

/// Fitted Q iteration on logged transitions: `iterations` sweeps of
/// `Q(s, a) <- mean(r + gamma * max Q(s', .))` over each cell's transitions, shrunk toward the
/// action's pooled mean with `shrinkage` pseudo-transitions.
pub fn fitted_q_iteration(
    transitions: &[Transition],
    actions: usize,
    gamma: f64,
    iterations: usize,
    shrinkage: f64,
) -> Result<QTable, LabError> {
    if !(0.0..1.0).contains(&gamma) {
        return Err(LabError::Policy(discount_policy::PolicyError::Hyper {
            name: "rl.gamma",
            value: gamma,
            rule: "must be in [0, 1)",
        }));
    }
    if !(shrinkage.is_finite() && shrinkage >= 0.0) {
        return Err(LabError::Policy(discount_policy::PolicyError::Hyper {
            name: "rl.shrinkage",
            value: shrinkage,
            rule: "must be a finite number >= 0",
        }));
    }
    if transitions.is_empty() {
        return Err(LabError::EmptyLog);
    }
    for (index, t) in transitions.iter().enumerate() {
        if t.state >= SEGMENTS || t.action >= actions || t.next.is_some_and(|s| s >= SEGMENTS) {
            return Err(LabError::BadLog {
                index,
                reason: "state or action out of range".into(),
            });
        }
    }
    let mut table = QTable::new(actions);
    for t in transitions {
        table.visits[t.state * actions + t.action] += 1;
    }
    for _ in 0..iterations {
        let mut sum = vec![0.0; SEGMENTS * actions];
        let mut pooled = vec![(0.0, 0.0); actions];
        for t in transitions {
            let y = t.reward + t.next.map_or(0.0, |s| gamma * table.max(s));
            sum[t.state * actions + t.action] += y;
            pooled[t.action].0 += y;
            pooled[t.action].1 += 1.0;
        }
        let mut next = vec![0.0; SEGMENTS * actions];
        for s in 0..SEGMENTS {
            for (a, &(pool_sum, pool_n)) in pooled.iter().enumerate() {
                let i = s * actions + a;
                let n = table.visits[i] as f64;
                let prior = if pool_n > 0.0 { pool_sum / pool_n } else { 0.0 };
                next[i] = if n + shrinkage > 0.0 {
                    (sum[i] + shrinkage * prior) / (n + shrinkage)
                } else {
                    prior
                };
            }
        }
        table.q = next;
    }
    Ok(table)
}

/// 90-day profit of each lifecycle policy over seeds.
#[derive(Clone, Debug, Serialize)]
pub struct LifecycleReport {
    pub users: usize,
    pub days: u32,
    pub training_episodes: usize,
    pub gamma: f64,
    /// (policy, incremental profit against no offers over `days`, per seed spread).
    pub policies: Vec<(String, Spread)>,
    /// Q-learning minus one-step greedy, per seed.
    pub q_learning_vs_greedy: Spread,
    pub fqi_vs_greedy: Spread,
    pub dqn_vs_greedy: Spread,
    /// Final training loss of the DQN (scaled rewards).
    pub dqn_final_loss: f64,
}

/// Trains Q-learning (`gamma`) and the one-step greedy learner (`gamma = 0`) for `episodes`
/// simulated periods each, fitted Q iteration on a random log of one period, then runs each
/// greedily over `days` days for every seed, against no offers (no budget: the discount's cost is
/// in the reward).
pub fn compare_lifecycle(
    users: usize,
    days: u32,
    episodes: usize,
    gamma: f64,
    seeds: &[u64],
) -> Result<LifecycleReport, LabError> {
    let base = SimConfig {
        users,
        days,
        budget: None,
        ..SimConfig::default()
    };
    let actions = base.ladder.len();
    let train = |g: f64| -> Result<QTable, LabError> {
        let hyper = QHyper {
            gamma: g,
            epsilon: 0.2,
            alpha_min: 0.01,
        };
        let mut table = QTable::new(actions);
        for e in 0..episodes {
            let cfg = SimConfig {
                seed: 1_000 + e as u64,
                ..base.clone()
            };
            let tap = OutcomeTap::new(&cfg)?;
            let segments = Segments::new(tap.clone(), &cfg);
            let mut p = LifecyclePolicy::new(table, hyper, true, segments, e as u64, "train")?;
            tap.run(&cfg, &mut p)?;
            p.finish();
            table = p.table;
        }
        Ok(table)
    };
    let q_table = train(gamma)?;
    let greedy_table = train(0.0)?;
    let log = log_transitions(
        &SimConfig {
            seed: 999,
            ..base.clone()
        },
        999,
    )?;
    let fqi_table = fitted_q_iteration(&log, actions, gamma, 30, 50.0)?;
    let feature_log = log_feature_transitions(
        &SimConfig {
            seed: 999,
            ..base.clone()
        },
        999,
    )?;
    let net = train_dqn(
        &feature_log,
        actions,
        &DqnHyper {
            gamma,
            ..DqnHyper::default()
        },
    )?;
    let tables: Vec<(String, Arc<QTable>)> = vec![
        ("one-step greedy".into(), Arc::new(greedy_table)),
        ("q-learning".into(), Arc::new(q_table)),
        ("fitted q iteration".into(), Arc::new(fqi_table)),
    ];
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); tables.len() + 1];
    for &seed in seeds {
        let cfg = SimConfig {
            seed,
            ..base.clone()
        };
        let tap = OutcomeTap::new(&cfg)?;
        let control = tap.run(&cfg, &mut NoOfferPolicy)?.gross_profit;
        for (i, (label, table)) in tables.iter().enumerate() {
            let tap = OutcomeTap::new(&cfg)?;
            let hyper = QHyper {
                gamma,
                epsilon: 0.0,
                alpha_min: 0.01,
            };
            let segments = Segments::new(tap.clone(), &cfg);
            let mut p =
                LifecyclePolicy::new((**table).clone(), hyper, false, segments, seed, label)?;
            per[i].push((tap.run(&cfg, &mut p)?.gross_profit - control) as f64);
        }
        let tap = OutcomeTap::new(&cfg)?;
        let mut dqn = DqnPolicy::new(net.clone(), tap.clone(), "dqn")?;
        per[tables.len()].push((tap.run(&cfg, &mut dqn)?.gross_profit - control) as f64);
    }
    let diff = |i: usize| {
        Spread::of(
            &per[i]
                .iter()
                .zip(&per[0])
                .map(|(a, b)| a - b)
                .collect::<Vec<_>>(),
        )
    };
    Ok(LifecycleReport {
        users,
        days,
        training_episodes: episodes,
        gamma,
        policies: tables
            .iter()
            .map(|(l, _)| l.clone())
            .chain(std::iter::once("dqn".to_string()))
            .zip(&per)
            .map(|(l, v)| (l, Spread::of(v)))
            .collect(),
        q_learning_vs_greedy: diff(1),
        fqi_vs_greedy: diff(2),
        dqn_vs_greedy: diff(3),
        dqn_final_loss: net.final_loss,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_q_iteration_propagates_future_value() {
        // State 0: action 1 costs 10 now but moves to state 1, where action 0 earns 100.
        // Action 0 in state 0 earns 5 and stays.
        let mut log = Vec::new();
        for _ in 0..50 {
            log.push(Transition {
                state: 0,
                action: 1,
                reward: -10.0,
                next: Some(1),
            });
            log.push(Transition {
                state: 0,
                action: 0,
                reward: 5.0,
                next: None,
            });
            log.push(Transition {
                state: 1,
                action: 0,
                reward: 100.0,
                next: None,
            });
            log.push(Transition {
                state: 1,
                action: 1,
                reward: 0.0,
                next: None,
            });
        }
        let myopic = fitted_q_iteration(&log, 2, 0.0, 10, 0.0).unwrap();
        assert_eq!(myopic.best(0), 0);
        let planner = fitted_q_iteration(&log, 2, 0.9, 10, 0.0).unwrap();
        assert_eq!(planner.best(0), 1);
        assert!((planner.value(0, 1) - (-10.0 + 0.9 * 100.0)).abs() < 1e-9);
        assert!(fitted_q_iteration(&log, 2, 1.0, 10, 0.0).is_err());
        assert!(fitted_q_iteration(&[], 2, 0.5, 10, 0.0).is_err());
    }
}
