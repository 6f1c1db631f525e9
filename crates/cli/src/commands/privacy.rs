//! `discount privacy`: aggregates that leave the system under differential privacy, and the
//! per-data-set privacy budget they spend.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::{bail, Context};
use discount_core::event::EventKind;
use discount_core::time::MICROS_PER_DAY;
use discount_core::{Config, Timestamp};
use discount_eval::dp::{
    bounded_histogram, release, ContributedRow, ContributionBound, Mechanism, Noise,
};
use discount_store::decision_log::{open_decision_log, DecisionLog, DecisionRow, OutcomeRow};
use discount_store::privacy_budget::{PrivacyBudget, PrivacyRelease, Spend};
use rand::SeedableRng;
use serde::Serialize;

use super::ingest::redact;
use crate::output::{print_json, Table};

/// Release counts, sums and uplift under differential privacy, within a privacy budget per data
/// set that the store tracks and enforces.
///
/// Each data set (`decisions`: the joined decision log; `events`: the event log) needs a budget
/// (ε, δ) before anything is released from it. Every release spends part of it (basic sequential
/// composition) and is recorded; a release that does not fit is refused before any figure is
/// computed or shown. Privacy is per customer: each customer's rows are bounded
/// (--max-rows-per-customer, the earliest count) and each summed amount is clamped to
/// [0, --value-cap] before the noise is calibrated to that bound. The cells (offers, segments,
/// days) are public lists fixed before the data is read: the active policy's ladder, new vs
/// returning, the calendar days of the window.
///
/// Queries:
///   offers   (decisions) per offer: decisions, conversions, revenue; conversion rate derived
///   uplift   (decisions) per segment (new, returning) and arm (offer, control): decisions and
///            conversions; conversion rates and their difference (the uplift) derived
///   orders   (events)    per day: orders and revenue
///
/// Figures derived from released ones (rates, uplift) are post-processing and cost nothing more.
/// The noise is drawn from the operating system's randomness; --seed makes it reproducible and
/// therefore guessable: use it only for tests.
///
/// Examples:
///   discount privacy budget set --dataset decisions --epsilon 2 --delta 1e-6
///   discount privacy release offers --epsilon 0.5
///   discount privacy release uplift --epsilon 0.5 --mechanism gaussian --delta 1e-7
///   discount privacy release orders --since 2026-11-01 --until 2026-12-01 --epsilon 0.3 --value-cap 50000
///   discount --json privacy budget show --dataset decisions
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum PrivacyCommand {
    /// Set or show a data set's privacy budget.
    #[command(subcommand)]
    Budget(BudgetCommand),
    /// Release one query's aggregates with noise, spending budget.
    Release(ReleaseArgs),
}

#[derive(clap::Subcommand, Debug)]
pub enum BudgetCommand {
    /// Set (or change) the total budget of a data set.
    Set {
        #[arg(long, value_parser = ["decisions", "events"])]
        dataset: String,
        /// Total ε.
        #[arg(long)]
        epsilon: f64,
        /// Total δ (0 allows Laplace releases only).
        #[arg(long, default_value_t = 0.0)]
        delta: f64,
    },
    /// A data set's budget, what is spent, and its releases.
    Show {
        #[arg(long, value_parser = ["decisions", "events"])]
        dataset: String,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    Offers,
    Uplift,
    Orders,
}

impl Query {
    fn dataset(self) -> &'static str {
        match self {
            Query::Offers | Query::Uplift => "decisions",
            Query::Orders => "events",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Query::Offers => "offers",
            Query::Uplift => "uplift",
            Query::Orders => "orders",
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct ReleaseArgs {
    /// What to release.
    #[arg(value_enum)]
    pub query: Query,
    /// ε this release spends (split evenly over the query's measures).
    #[arg(long)]
    pub epsilon: f64,
    /// δ this release spends (Gaussian only).
    #[arg(long, default_value_t = 0.0)]
    pub delta: f64,
    #[arg(long, value_parser = ["laplace", "gaussian"], default_value = "laplace")]
    pub mechanism: String,
    /// At most this many rows of one customer count.
    #[arg(long, default_value_t = 10)]
    pub max_rows_per_customer: usize,
    /// Each amount (revenue, minor units) is clamped to [0, this].
    #[arg(long, default_value_t = 20_000)]
    pub value_cap: i64,
    /// Rows at or after this time (RFC 3339 or a date; default: the epoch, or for `orders`
    /// 30 days before --until).
    #[arg(long)]
    pub since: Option<String>,
    /// Rows before this time (default: now).
    #[arg(long)]
    pub until: Option<String>,
    /// The offer id of the control arm (for `uplift`).
    #[arg(long, default_value = "none")]
    pub control: String,
    /// The offers to report (for `offers`; default: the active policy's ladder).
    #[arg(long, value_delimiter = ',')]
    pub cells: Vec<String>,
    /// Also write the release (JSON) to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed the noise (reproducible, hence guessable: tests only).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// One released figure.
#[derive(Clone, Debug, Serialize)]
pub struct ReleasedValue {
    pub cell: String,
    pub measure: String,
    pub value: f64,
    /// ± this covers the true value with 95% probability (the noise's own interval).
    pub noise_half_width_95: f64,
}

/// A figure computed from released ones (no budget spent).
#[derive(Clone, Debug, Serialize)]
pub struct DerivedValue {
    pub cell: String,
    pub measure: String,
    pub value: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Released {
    pub release_id: String,
    pub dataset: String,
    pub query: String,
    pub mechanism: String,
    pub epsilon: f64,
    pub delta: f64,
    pub max_rows_per_customer: usize,
    pub value_cap: i64,
    pub window: [String; 2],
    pub values: Vec<ReleasedValue>,
    pub derived: Vec<DerivedValue>,
    pub budget: PrivacyBudget,
}

fn now() -> anyhow::Result<i64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_micros() as i64)
}

pub fn run(config: &Config, cmd: &PrivacyCommand, json: bool) -> anyhow::Result<()> {
    let url = &config.store.url;
    let mut log =
        open_decision_log(url).with_context(|| format!("opening the store {}", redact(url)))?;
    match cmd {
        PrivacyCommand::Budget(BudgetCommand::Set {
            dataset,
            epsilon,
            delta,
        }) => {
            if !(epsilon.is_finite() && *epsilon > 0.0) {
                bail!("--epsilon must be a positive number, got {epsilon}");
            }
            if !(delta.is_finite() && (0.0..1.0).contains(delta)) {
                bail!("--delta must be in [0, 1), got {delta}");
            }
            log.set_privacy_budget(dataset, *epsilon, *delta, now()?)?;
            show_budget(log.as_mut(), dataset, json)
        }
        PrivacyCommand::Budget(BudgetCommand::Show { dataset }) => {
            show_budget(log.as_mut(), dataset, json)
        }
        PrivacyCommand::Release(args) => {
            let released = release_query(config, log.as_mut(), args)?;
            if let Some(out) = &args.out {
                std::fs::write(out, serde_json::to_string_pretty(&released)?)
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            if json {
                return print_json(&released);
            }
            print_release(&released);
            Ok(())
        }
    }
}

fn show_budget(log: &mut dyn DecisionLog, dataset: &str, json: bool) -> anyhow::Result<()> {
    let Some(budget) = log.privacy_budget(dataset)? else {
        bail!(
            "the data set `{dataset}` has no privacy budget; set one with \
             `discount privacy budget set --dataset {dataset} --epsilon E`"
        );
    };
    let releases = log.privacy_releases(dataset)?;
    if json {
        #[derive(Serialize)]
        struct Shown<'a> {
            #[serde(flatten)]
            budget: &'a PrivacyBudget,
            remaining_epsilon: f64,
            remaining_delta: f64,
            history: &'a [PrivacyRelease],
        }
        return print_json(&Shown {
            budget: &budget,
            remaining_epsilon: budget.remaining_epsilon(),
            remaining_delta: budget.remaining_delta(),
            history: &releases,
        });
    }
    println!(
        "{dataset}: ε {} of {} spent ({} left), δ {:e} of {:e} spent, {} releases",
        fmt(budget.spent_epsilon),
        fmt(budget.epsilon),
        fmt(budget.remaining_epsilon()),
        budget.spent_delta,
        budget.delta,
        budget.releases
    );
    let mut t = Table::new(&["released at", "id", "mechanism", "ε", "δ", "query"]);
    for r in &releases {
        t.row(vec![
            Timestamp(r.released_at).to_rfc3339(),
            r.id.clone(),
            r.mechanism.clone(),
            fmt(r.epsilon),
            format!("{:e}", r.delta),
            r.query.clone(),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

fn fmt(x: f64) -> String {
    format!("{x:.4}")
}

/// The data behind a query: public cell names, each measure's rows, and the unit it is
/// released in. Rows are in time order, so that the bound keeps each customer's earliest.
struct QueryData {
    cells: Vec<String>,
    /// (measure, rows, whether it is a count, unit)
    measures: Vec<(&'static str, Vec<ContributedRow>, bool)>,
}

fn release_query(
    config: &Config,
    log: &mut dyn DecisionLog,
    args: &ReleaseArgs,
) -> anyhow::Result<Released> {
    let mechanism = Mechanism::parse(&args.mechanism)?;
    if args.value_cap <= 0 {
        bail!("--value-cap must be positive, got {}", args.value_cap);
    }
    let dataset = args.query.dataset();
    let at = now()?;
    let until = match &args.until {
        Some(t) => Timestamp::parse("until", t)?.0,
        None => at,
    };
    let since = match (&args.since, args.query) {
        (Some(t), _) => Timestamp::parse("since", t)?.0,
        (None, Query::Orders) => until - 30 * MICROS_PER_DAY,
        (None, _) => 0,
    };
    if since >= until {
        bail!("--since must be before --until");
    }
    // Refuse early (before reading data) when the budget cannot cover the release; the spend
    // below is the authoritative, atomic check.
    match log.privacy_budget(dataset)? {
        None => bail!(
            "the data set `{dataset}` has no privacy budget; set one with \
             `discount privacy budget set --dataset {dataset} --epsilon E`"
        ),
        Some(b) if !b.allows(args.epsilon, args.delta) => bail!(
            "the release needs ε {} δ {:e} but `{dataset}` has ε {} δ {:e} left: refused, nothing released",
            args.epsilon,
            args.delta,
            fmt(b.remaining_epsilon()),
            b.remaining_delta()
        ),
        Some(_) => {}
    }
    let data = match args.query {
        Query::Offers => offers_data(log, args, since, until)?,
        Query::Uplift => uplift_data(config, log, args, since, until)?,
        Query::Orders => orders_data(config, args, since, until)?,
    };
    let bound = ContributionBound {
        max_rows_per_customer: args.max_rows_per_customer,
        value_cap: args.value_cap as f64,
    };
    bound.validate()?;
    let share = data.measures.len() as f64;
    let (epsilon_each, delta_each) = (args.epsilon / share, args.delta / share);
    // Compute every true aggregate first so that nothing fails after the budget is spent.
    let mut plans = Vec::new();
    for (measure, rows, is_count) in &data.measures {
        let histogram = bounded_histogram(rows, data.cells.len(), &bound)?;
        let (values, sensitivity) = if *is_count {
            (histogram.counts, bound.count_sensitivity())
        } else {
            (histogram.sums, bound.sum_sensitivity())
        };
        let noise = Noise::calibrate(
            mechanism,
            epsilon_each,
            delta_each,
            sensitivity,
            sensitivity,
        )?;
        plans.push((*measure, values, noise));
    }
    let release_id = format!("rel_{:016x}", rand::random::<u64>());
    let spend = log.spend_privacy_budget(&PrivacyRelease {
        id: release_id.clone(),
        dataset: dataset.into(),
        released_at: at,
        mechanism: mechanism.as_str().into(),
        epsilon: args.epsilon,
        delta: args.delta,
        query: format!(
            "{} since={} until={} max_rows_per_customer={} value_cap={}",
            args.query.name(),
            Timestamp(since).to_rfc3339(),
            Timestamp(until).to_rfc3339(),
            args.max_rows_per_customer,
            args.value_cap
        ),
    })?;
    let budget = match spend {
        Spend::Spent { budget } => budget,
        Spend::NoBudget => bail!("the data set `{dataset}` has no privacy budget"),
        Spend::Exceeded { budget } => bail!(
            "the release needs ε {} but `{dataset}` has ε {} left: refused, nothing released",
            args.epsilon,
            fmt(budget.remaining_epsilon())
        ),
    };
    let mut rng = match args.seed {
        Some(seed) => rand::rngs::StdRng::seed_from_u64(seed),
        None => rand::rngs::StdRng::from_entropy(),
    };
    let mut values = Vec::new();
    let mut by_key: HashMap<(String, &str), f64> = HashMap::new();
    for (measure, truth, noise) in &plans {
        // Counts in whole rows, money in minor units.
        let noisy = release(truth, noise, 1.0, &mut rng);
        for (cell, value) in data.cells.iter().zip(noisy) {
            by_key.insert((cell.clone(), measure), value);
            values.push(ReleasedValue {
                cell: cell.clone(),
                measure: measure.to_string(),
                value,
                noise_half_width_95: noise.half_width(0.95),
            });
        }
    }
    let derived = derive(args.query, &data.cells, &by_key);
    Ok(Released {
        release_id,
        dataset: dataset.into(),
        query: args.query.name().into(),
        mechanism: mechanism.as_str().into(),
        epsilon: args.epsilon,
        delta: args.delta,
        max_rows_per_customer: args.max_rows_per_customer,
        value_cap: args.value_cap,
        window: [Timestamp(since).to_rfc3339(), Timestamp(until).to_rfc3339()],
        values,
        derived,
        budget,
    })
}

/// Rates and uplift from released counts: a ratio is only shown when its denominator is
/// positive after noise.
fn derive(
    query: Query,
    cells: &[String],
    released: &HashMap<(String, &str), f64>,
) -> Vec<DerivedValue> {
    let rate = |cell: &str| -> Option<f64> {
        let n = *released.get(&(cell.to_string(), "decisions"))?;
        let k = *released.get(&(cell.to_string(), "conversions"))?;
        (n >= 1.0).then(|| (k / n).clamp(0.0, 1.0))
    };
    match query {
        Query::Offers => cells
            .iter()
            .map(|c| DerivedValue {
                cell: c.clone(),
                measure: "conversion_rate".into(),
                value: rate(c),
            })
            .collect(),
        Query::Uplift => {
            let mut out = Vec::new();
            for c in cells {
                out.push(DerivedValue {
                    cell: c.clone(),
                    measure: "conversion_rate".into(),
                    value: rate(c),
                });
            }
            for segment in SEGMENTS {
                let treated = rate(&format!("{segment}/offer"));
                let control = rate(&format!("{segment}/control"));
                out.push(DerivedValue {
                    cell: segment.to_string(),
                    measure: "uplift".into(),
                    value: treated.zip(control).map(|(t, c)| t - c),
                });
            }
            out
        }
        Query::Orders => Vec::new(),
    }
}

const SEGMENTS: [&str; 2] = ["new", "returning"];

/// One logged decision's contribution to a cell: a decision, converted or not.
struct DecisionRows {
    customer: String,
    cell: usize,
    converted: bool,
}

impl DecisionRows {
    fn of(d: &DecisionRow, o: Option<&OutcomeRow>, cell: usize) -> Self {
        Self {
            customer: d.customer_id.clone(),
            cell,
            converted: o.is_some_and(|o| o.converted),
        }
    }

    fn row(&self, value: f64) -> ContributedRow {
        ContributedRow {
            customer: self.customer.clone(),
            cell: self.cell,
            value,
        }
    }

    fn push(&self, decisions: &mut Vec<ContributedRow>, conversions: &mut Vec<ContributedRow>) {
        decisions.push(self.row(1.0));
        conversions.push(self.row(if self.converted { 1.0 } else { 0.0 }));
    }
}

fn offers_data(
    log: &mut dyn DecisionLog,
    args: &ReleaseArgs,
    since: i64,
    until: i64,
) -> anyhow::Result<QueryData> {
    let cells = if args.cells.is_empty() {
        active_ladder(log)?
    } else {
        args.cells.clone()
    };
    let index: HashMap<&str, usize> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let (mut decisions, mut conversions, mut revenue) = (vec![], vec![], vec![]);
    for (d, o) in log.joined_decisions(since, until)? {
        let offer = served_offer(&d.request);
        // Decisions for offers outside the public list are not part of this release.
        let Some(&cell) = index.get(offer.as_str()) else {
            continue;
        };
        let rows = DecisionRows::of(&d, o.as_ref(), cell);
        revenue.push(rows.row(o.as_ref().map_or(0, |o| o.revenue) as f64));
        rows.push(&mut decisions, &mut conversions);
    }
    Ok(QueryData {
        cells,
        measures: vec![
            ("decisions", decisions, true),
            ("conversions", conversions, true),
            ("revenue", revenue, false),
        ],
    })
}

fn uplift_data(
    config: &Config,
    log: &mut dyn DecisionLog,
    args: &ReleaseArgs,
    since: i64,
    until: i64,
) -> anyhow::Result<QueryData> {
    // A customer is returning at a decision if they ordered before it.
    let mut first_order: HashMap<String, i64> = HashMap::new();
    let mut store = discount_store::open(&config.store.url)?;
    store.scan_events(&mut |e| {
        if matches!(e.kind, EventKind::Order { .. }) {
            first_order
                .entry(e.user_id.clone())
                .and_modify(|t| *t = (*t).min(e.time.0))
                .or_insert(e.time.0);
        }
        ControlFlow::Continue(())
    })?;
    let cells: Vec<String> = SEGMENTS
        .iter()
        .flat_map(|s| [format!("{s}/offer"), format!("{s}/control")])
        .collect();
    let (mut decisions, mut conversions) = (vec![], vec![]);
    for (d, o) in log.joined_decisions(since, until)? {
        let returning = first_order.get(&d.customer_id).is_some_and(|&t| t < d.at);
        let control = served_offer(&d.request) == args.control;
        let cell = usize::from(returning) * 2 + usize::from(control);
        DecisionRows::of(&d, o.as_ref(), cell).push(&mut decisions, &mut conversions);
    }
    Ok(QueryData {
        cells,
        measures: vec![
            ("decisions", decisions, true),
            ("conversions", conversions, true),
        ],
    })
}

fn orders_data(
    config: &Config,
    _args: &ReleaseArgs,
    since: i64,
    until: i64,
) -> anyhow::Result<QueryData> {
    let days = ((until - since) + MICROS_PER_DAY - 1) / MICROS_PER_DAY;
    if days > 366 {
        bail!("the `orders` release covers at most 366 days; the window has {days}");
    }
    let cells: Vec<String> = (0..days)
        .map(|d| Timestamp(since + d * MICROS_PER_DAY).to_rfc3339()[..10].to_string())
        .collect();
    let mut rows: Vec<(i64, String, usize, f64)> = Vec::new();
    let mut store = discount_store::open(&config.store.url)?;
    store.scan_events(&mut |e| {
        if let EventKind::Order { .. } = &e.kind {
            if e.time.0 >= since && e.time.0 < until {
                let day = ((e.time.0 - since) / MICROS_PER_DAY) as usize;
                rows.push((e.time.0, e.user_id.clone(), day, e.order_total() as f64));
            }
        }
        ControlFlow::Continue(())
    })?;
    // Oldest first across customers, so each customer's bound keeps their earliest orders.
    rows.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let to_rows = |value: &dyn Fn(f64) -> f64| -> Vec<ContributedRow> {
        rows.iter()
            .map(|(_, customer, cell, total)| ContributedRow {
                customer: customer.clone(),
                cell: *cell,
                value: value(*total),
            })
            .collect()
    };
    Ok(QueryData {
        cells,
        measures: vec![
            ("orders", to_rows(&|_| 1.0), true),
            ("revenue", to_rows(&|t| t), false),
        ],
    })
}

/// The offer a logged decision served (its request records it).
fn served_offer(request: &str) -> String {
    serde_json::from_str::<serde_json::Value>(request)
        .ok()
        .and_then(|v| v.get("offer_id")?.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The offer ids of the active policy's ladder: the public list of cells for `offers`.
fn active_ladder(log: &mut dyn DecisionLog) -> anyhow::Result<Vec<String>> {
    let policies = log.policies()?;
    let Some(active) = policies.iter().find(|p| p.active) else {
        bail!("no active policy to take the offers from; name them with --cells");
    };
    let config: serde_json::Value = serde_json::from_str(&active.config)
        .with_context(|| format!("reading the policy `{}`", active.version))?;
    let ids: Vec<String> = config
        .get("ladder")
        .and_then(|l| l.as_array())
        .map(|rungs| {
            rungs
                .iter()
                .filter_map(|r| r.get("id")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        bail!(
            "the active policy `{}` has no ladder to take the offers from; name them with --cells",
            active.version
        );
    }
    Ok(ids)
}

fn print_release(r: &Released) {
    println!(
        "release {} of `{}` from `{}` ({}, ε {}, δ {:e}); window {} to {}",
        r.release_id, r.query, r.dataset, r.mechanism, r.epsilon, r.delta, r.window[0], r.window[1]
    );
    let mut t = Table::new(&["cell", "measure", "released", "± 95% (noise)"]);
    for v in &r.values {
        t.row(vec![
            v.cell.clone(),
            v.measure.clone(),
            format!("{:.0}", v.value),
            format!("{:.1}", v.noise_half_width_95),
        ]);
    }
    print!("{}", t.render());
    if !r.derived.is_empty() {
        let mut t = Table::new(&["cell", "derived", "value"]);
        for d in &r.derived {
            t.row(vec![
                d.cell.clone(),
                d.measure.clone(),
                d.value.map_or("n/a".into(), |v| format!("{v:.4}")),
            ]);
        }
        print!("{}", t.render());
    }
    println!(
        "budget of `{}`: ε {} of {} spent, {} left",
        r.dataset,
        fmt(r.budget.spent_epsilon),
        fmt(r.budget.epsilon),
        fmt(r.budget.remaining_epsilon())
    );
}
