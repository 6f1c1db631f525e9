//! A deep Q-network over the customer's serving features
//! ([`crate::simulated::SIMULATED_SHOP_FEATURES`], built from the shop's recorded events) for the
//! lifecycle problem, trained with candle on transitions logged in the simulator (random offers):
//! a two-layer network `x -> relu(W1 x + b1) -> W2 h + b2` gives one value per rung, fitted by
//! minibatch Adam to the Bellman target `r + gamma * max_a' Q_target(x', a')` with a target
//! network copied every `sync_every` steps. The trained weights are copied out for inference in
//! plain Rust (no tensor per decision).

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use discount_sim::policy::{Plan, RandomPolicy, Truth, VisitTruth};
use discount_sim::{simulate_with, Context, Decision, Policy, RunOptions, SimConfig, SimError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::error::LabError;
use crate::simulated::{simulated_shop_sources, OutcomeTap};
use discount_policy::facts::FeatureSource;

/// Hyper-parameters of the network and its training.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DqnHyper {
    pub hidden: usize,
    pub gamma: f64,
    pub learning_rate: f64,
    pub batch: usize,
    pub steps: usize,
    pub sync_every: usize,
    pub seed: u64,
}

impl Default for DqnHyper {
    fn default() -> Self {
        Self {
            hidden: 32,
            gamma: 0.9,
            learning_rate: 1e-3,
            batch: 256,
            steps: 1_500,
            sync_every: 100,
            seed: 7,
        }
    }
}

impl DqnHyper {
    pub fn validate(&self) -> Result<(), LabError> {
        let bad = |name: &'static str, value: f64, rule: &'static str| {
            Err(LabError::Policy(discount_policy::PolicyError::Hyper {
                name,
                value,
                rule,
            }))
        };
        if self.hidden == 0 {
            return bad("dqn.hidden", 0.0, "must be at least 1");
        }
        if !(0.0..1.0).contains(&self.gamma) {
            return bad("dqn.gamma", self.gamma, "must be in [0, 1)");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("dqn.learning_rate", self.learning_rate, "must be > 0");
        }
        if self.batch == 0 || self.sync_every == 0 {
            return bad(
                "dqn.batch",
                self.batch as f64,
                "batch and sync_every must be >= 1",
            );
        }
        Ok(())
    }
}

/// One logged transition over feature vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureTransition {
    pub features: Vec<f64>,
    pub action: usize,
    pub reward: f64,
    pub next: Option<Vec<f64>>,
}

/// The trained network, in plain arrays.
#[derive(Clone, Debug, PartialEq)]
pub struct QNetwork {
    pub dim: usize,
    pub hidden: usize,
    pub actions: usize,
    /// Row-major `dim x hidden`.
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    /// Row-major `hidden x actions`.
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
    /// Rewards were divided by this for training.
    pub reward_scale: f64,
    pub final_loss: f64,
}

impl QNetwork {
    /// Q values of `x` (in the reward's units).
    pub fn values(&self, x: &[f64]) -> Vec<f64> {
        let mut h = self.b1.clone();
        for (i, &xi) in x.iter().enumerate().take(self.dim) {
            let row = &self.w1[i * self.hidden..(i + 1) * self.hidden];
            for (hj, w) in h.iter_mut().zip(row) {
                *hj += xi as f32 * w;
            }
        }
        let mut q = self.b2.clone();
        for (j, hj) in h.iter().enumerate() {
            let hj = hj.max(0.0);
            let row = &self.w2[j * self.actions..(j + 1) * self.actions];
            for (qa, w) in q.iter_mut().zip(row) {
                *qa += hj * w;
            }
        }
        q.iter()
            .map(|v| f64::from(*v) * self.reward_scale)
            .collect()
    }

    pub fn best(&self, x: &[f64]) -> usize {
        let q = self.values(x);
        let mut best = 0;
        for (a, v) in q.iter().enumerate() {
            if *v > q[best] {
                best = a;
            }
        }
        best
    }
}

fn candle(e: candle_core::Error) -> LabError {
    LabError::Policy(discount_policy::PolicyError::Config {
        field: "dqn".into(),
        value: e.to_string(),
        rule: "tensor computation failed",
    })
}

/// Transitions over feature vectors logged by random offers over `config` (budget removed).
pub fn log_feature_transitions(
    config: &SimConfig,
    seed: u64,
) -> Result<Vec<FeatureTransition>, LabError> {
    struct Open {
        features: Vec<f64>,
        action: usize,
        day: u32,
        user: String,
    }
    struct Logger {
        random: RandomPolicy,
        tap: OutcomeTap,
        sources: Vec<FeatureSource>,
        open: Vec<Option<Open>>,
        out: Vec<FeatureTransition>,
        error: Option<LabError>,
    }
    impl Policy for Logger {
        fn name(&self) -> String {
            "random".into()
        }
        fn decide(&mut self, ctx: &Context<'_>, t: Option<&VisitTruth<'_>>) -> Decision {
            let x = match self
                .tap
                .facts_at_day(ctx.user_id, ctx.day, &[], &self.sources)
            {
                Ok(facts) => facts.features,
                Err(e) => {
                    self.error.get_or_insert(e);
                    return Decision::none();
                }
            };
            if ctx.customer >= self.open.len() {
                self.open.resize_with(ctx.customer + 1, || None);
            }
            if let Some(o) = self.open[ctx.customer].take() {
                let (reward, _, _) = self.tap.take_outcome(&o.user, o.day);
                self.out.push(FeatureTransition {
                    features: o.features,
                    action: o.action,
                    reward,
                    next: Some(x.clone()),
                });
            }
            let d = self.random.decide(ctx, t);
            let action = ctx.ladder.iter().position(|o| *o == d.offer).unwrap_or(0);
            self.open[ctx.customer] = Some(Open {
                features: x,
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
        tap: tap.clone(),
        sources: simulated_shop_sources()?,
        open: Vec::new(),
        out: Vec::new(),
        error: None,
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
    if let Some(e) = logger.error {
        return Err(e);
    }
    for o in std::mem::take(&mut logger.open).into_iter().flatten() {
        let (reward, _, _) = tap.take_outcome(&o.user, o.day);
        logger.out.push(FeatureTransition {
            features: o.features,
            action: o.action,
            reward,
            next: None,
        });
    }
    Ok(logger.out)
}

fn init(rng: &mut StdRng, n: usize, scale: f64) -> Vec<f32> {
    (0..n)
        .map(|_| ((rng.gen::<f64>() * 2.0 - 1.0) * scale) as f32)
        .collect()
}

/// Trains the network on `transitions` with `actions` rungs.
pub fn train_dqn(
    transitions: &[FeatureTransition],
    actions: usize,
    hyper: &DqnHyper,
) -> Result<QNetwork, LabError> {
    hyper.validate()?;
    let first = transitions.first().ok_or(LabError::EmptyLog)?;
    let d = first.features.len();
    for (index, t) in transitions.iter().enumerate() {
        if t.features.len() != d
            || t.action >= actions
            || t.next.as_ref().is_some_and(|n| n.len() != d)
        {
            return Err(LabError::BadLog {
                index,
                reason: "feature length or action out of range".into(),
            });
        }
    }
    let n = transitions.len();
    let mean_sq = transitions.iter().map(|t| t.reward * t.reward).sum::<f64>() / n as f64;
    let reward_scale = mean_sq.sqrt().max(1.0);
    let dev = Device::Cpu;
    let mut rng = StdRng::seed_from_u64(hyper.seed);
    let h = hyper.hidden;
    let tensor = |v: Vec<f32>, shape: (usize, usize)| Tensor::from_vec(v, shape, &dev);
    let w1 = Var::from_tensor(
        &tensor(init(&mut rng, d * h, (1.0 / d as f64).sqrt()), (d, h)).map_err(candle)?,
    )
    .map_err(candle)?;
    let b1 = Var::from_tensor(&tensor(vec![0.0; h], (1, h)).map_err(candle)?).map_err(candle)?;
    let w2 = Var::from_tensor(
        &tensor(
            init(&mut rng, h * actions, (1.0 / h as f64).sqrt()),
            (h, actions),
        )
        .map_err(candle)?,
    )
    .map_err(candle)?;
    let b2 = Var::from_tensor(&tensor(vec![0.0; actions], (1, actions)).map_err(candle)?)
        .map_err(candle)?;
    let forward = |x: &Tensor, p: [&Tensor; 4]| -> candle_core::Result<Tensor> {
        x.matmul(p[0])?
            .broadcast_add(p[1])?
            .relu()?
            .matmul(p[2])?
            .broadcast_add(p[3])
    };
    let mut target: [Tensor; 4] = [
        w1.as_tensor().copy().map_err(candle)?,
        b1.as_tensor().copy().map_err(candle)?,
        w2.as_tensor().copy().map_err(candle)?,
        b2.as_tensor().copy().map_err(candle)?,
    ];
    let mut opt = AdamW::new(
        vec![w1.clone(), b1.clone(), w2.clone(), b2.clone()],
        ParamsAdamW {
            lr: hyper.learning_rate,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )
    .map_err(candle)?;
    let b = hyper.batch.min(n);
    let mut final_loss = 0.0;
    for step in 0..hyper.steps {
        if step % hyper.sync_every == 0 {
            target = [
                w1.as_tensor().copy().map_err(candle)?,
                b1.as_tensor().copy().map_err(candle)?,
                w2.as_tensor().copy().map_err(candle)?,
                b2.as_tensor().copy().map_err(candle)?,
            ];
        }
        let idx: Vec<usize> = (0..b).map(|_| rng.gen_range(0..n)).collect();
        let mut xs = Vec::with_capacity(b * d);
        let mut next = Vec::with_capacity(b * d);
        let mut alive = Vec::with_capacity(b);
        let mut rewards = Vec::with_capacity(b);
        let mut onehot = vec![0.0f32; b * actions];
        for (r, &i) in idx.iter().enumerate() {
            let t = &transitions[i];
            xs.extend(t.features.iter().map(|v| *v as f32));
            match &t.next {
                Some(nx) => {
                    next.extend(nx.iter().map(|v| *v as f32));
                    alive.push(1.0f32);
                }
                None => {
                    next.extend(std::iter::repeat_n(0.0f32, d));
                    alive.push(0.0);
                }
            }
            rewards.push((t.reward / reward_scale) as f32);
            onehot[r * actions + t.action] = 1.0;
        }
        let loss = (|| -> candle_core::Result<Tensor> {
            let x = Tensor::from_vec(xs, (b, d), &dev)?;
            let xn = Tensor::from_vec(next, (b, d), &dev)?;
            let q_next = forward(&xn, [&target[0], &target[1], &target[2], &target[3]])?
                .max(D::Minus1)?
                .detach();
            let y = (Tensor::from_vec(rewards, b, &dev)?
                + (q_next * Tensor::from_vec(alive, b, &dev)?)?.affine(hyper.gamma, 0.0)?)?;
            let q = forward(
                &x,
                [
                    w1.as_tensor(),
                    b1.as_tensor(),
                    w2.as_tensor(),
                    b2.as_tensor(),
                ],
            )?;
            let q_a = (q * Tensor::from_vec(onehot, (b, actions), &dev)?)?.sum(D::Minus1)?;
            (q_a - y)?.sqr()?.mean_all()
        })()
        .map_err(candle)?;
        opt.backward_step(&loss).map_err(candle)?;
        if step + 1 == hyper.steps {
            final_loss = f64::from(
                loss.to_dtype(DType::F32)
                    .and_then(|l| l.to_scalar::<f32>())
                    .map_err(candle)?,
            );
        }
    }
    let flat = |v: &Var| -> Result<Vec<f32>, LabError> {
        v.as_tensor()
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(candle)
    };
    Ok(QNetwork {
        dim: d,
        hidden: h,
        actions,
        w1: flat(&w1)?,
        b1: flat(&b1)?,
        w2: flat(&w2)?,
        b2: flat(&b2)?,
        reward_scale,
        final_loss,
    })
}

/// The greedy policy of a trained network.
pub struct DqnPolicy {
    net: QNetwork,
    tap: OutcomeTap,
    sources: Vec<FeatureSource>,
    label: String,
}

impl DqnPolicy {
    /// `tap` must be fed the run's records: the network reads each customer's facts from them.
    pub fn new(net: QNetwork, tap: OutcomeTap, label: &str) -> Result<Self, LabError> {
        Ok(Self {
            net,
            tap,
            sources: simulated_shop_sources()?,
            label: label.to_string(),
        })
    }
}

impl Policy for DqnPolicy {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn begin(&mut self, plan: &Plan<'_>, _truth: Option<&Truth<'_>>) -> Result<(), SimError> {
        if plan.ladder.len() != self.net.actions {
            return Err(SimError::Policy {
                policy: self.label.clone(),
                reason: LabError::LadderMismatch.to_string(),
            });
        }
        Ok(())
    }

    fn decide(&mut self, ctx: &Context<'_>, _truth: Option<&VisitTruth<'_>>) -> Decision {
        let Ok(facts) = self
            .tap
            .facts_at_day(ctx.user_id, ctx.day, &[], &self.sources)
        else {
            return Decision::none();
        };
        Decision {
            offer: ctx.ladder[self.net.best(&facts.features)].clone(),
            propensity: 1.0,
        }
    }
}
