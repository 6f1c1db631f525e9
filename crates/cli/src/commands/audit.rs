//! `discount audit`: fairness of the decisions by customer group, and what fairness rules cost.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use discount_core::{Config, EventKind, Offer, Timestamp};
use discount_eval::stats::{normal_quantile, percentile_of_sorted};
use discount_lab::fairness_lab::{self, FairnessLabOptions, FairnessLabReport};
use discount_policy::fairness::max_depth;
use discount_store::decision_log::{open_decision_log, DecisionLog, DecisionRow, OutcomeRow};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::ingest::redact;
use crate::output::{print_json, Table};

/// Audit the decisions for fairness, and measure what fairness rules cost.
///
/// Examples:
///   discount audit fairness --by device
///   discount audit fairness --by customer_type --json
///   discount audit fairness --by region --attributes customers.csv
///   discount --store postgres://shop@db/shop audit fairness --by placement --since 2026-11-01
///   discount audit fairness-cost --seeds 1,2,3,4,5
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum AuditCommand {
    Fairness(FairnessArgs),
    FairnessCost(FairnessCostArgs),
}

/// Offer rates, discount depth, the price paid and the offers' incremental value, by group.
///
/// Reads the store's joined decision log (every decision, with its outcome once joined) and
/// groups it by one attribute:
///   device, placement   the decision request's context
///   campaign, policy    the budget charged, the policy version that decided
///   customer_type       `new` (no order before the decision) or `returning`, from the events
///   any other name      a column of --attributes FILE (region, age_band, ...)
/// A decision without a value for the attribute falls in the group `(unknown)`.
///
/// Per group, with intervals at 1 - alpha:
///   offer rate          decisions that gave an offer / decisions (Wilson interval)
///   depth               mean share of the list price the offers given could take off
///   price paid          mean paid / list value of the orders (1 = full price) (bootstrap)
///   incremental         profit per decision of the policy that ran minus that of "no offer",
///                       estimated off-policy from the logged propensities (IPS and DR, paired
///                       bootstrap); only when the group's log explored (some propensity < 1
///                       and some joined decision without an offer)
/// and across groups: the ratio of the highest offer rate to the lowest, and the spread of the
/// price paid.
///
/// Examples:
///   discount audit fairness --by device
///   discount audit fairness --by customer_type --json
///   discount audit fairness --by region --attributes customers.csv --bootstrap 2000
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct FairnessArgs {
    /// The attribute to group by (see above).
    #[arg(long)]
    pub by: String,
    /// CSV with a `customer_id` column and one column per attribute, for attributes the decision
    /// log does not carry (ids as stored: pseudonyms when a key is set).
    #[arg(long)]
    pub attributes: Option<PathBuf>,
    /// Decisions at or after this time (RFC 3339 or a date).
    #[arg(long)]
    pub since: Option<String>,
    /// Decisions before this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Bootstrap resamples of the intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// The intervals cover 1 - alpha.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 12345)]
    pub seed: u64,
}

/// What the fairness rules cost in incremental profit, in the simulated shop.
///
/// Per seed, one market is run with no offers (the control) and with the plan that knows each
/// customer's true response under four rule sets: none, the offer-rate ratio between new and
/// returning customers (--max-ratio), the price spread (--max-spread), both. The cost of a rule
/// set is the incremental profit it gives up against no rules on the same seed; the realised
/// offer-rate ratio and price spread are measured on the visits. See docs/fairness.md.
///
/// Examples:
///   discount audit fairness-cost
///   discount audit fairness-cost --users 20000 --seeds 1,2,3 --max-ratio 1.1 --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct FairnessCostArgs {
    #[arg(long, default_value_t = 5_000)]
    pub users: usize,
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Discount budget of each run, minor units.
    #[arg(long, default_value_t = 300_000)]
    pub budget: i64,
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5")]
    pub seeds: Vec<u64>,
    /// Highest offer rate of a group over the lowest.
    #[arg(long, default_value_t = 1.25)]
    pub max_ratio: f64,
    /// Largest share of an item's list price between what two customers pay at one time.
    #[arg(long, default_value_t = 0.15)]
    pub max_spread: f64,
}

pub fn run(config: &Config, cmd: &AuditCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Fairness(args) => fairness(config, args, json),
        AuditCommand::FairnessCost(args) => fairness_cost(args, json),
    }
}

/// One decision of the log, as the audit reads it.
#[derive(Clone, Debug)]
struct Audited {
    group: String,
    offered: bool,
    depth: f64,
    propensity: f64,
    outcome: Option<Outcome>,
}

#[derive(Clone, Copy, Debug)]
struct Outcome {
    converted: bool,
    revenue: i64,
    discount: i64,
    profit: i64,
}

/// A figure with its interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
}

/// One group's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupAudit {
    pub group: String,
    pub decisions: usize,
    pub offers: usize,
    pub offer_rate: Estimate,
    /// Mean of the offers' deepest cut, share of the list price (offers only).
    pub depth: Option<Estimate>,
    /// Decisions with a known outcome, and orders among them.
    pub joined: usize,
    pub orders: usize,
    /// Mean paid / (paid + coupon discount) over the orders.
    pub price_paid: Option<Estimate>,
    /// Mean paid per order, minor units.
    pub paid_per_order: Option<f64>,
    /// Profit per joined decision, minor units.
    pub profit_per_decision: Option<f64>,
    /// Incremental profit per decision over "no offer", minor units.
    pub incremental_ips: Option<Estimate>,
    pub incremental_dr: Option<Estimate>,
    /// Why the incremental value is missing, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incremental_missing: Option<String>,
}

/// The audit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FairnessAudit {
    pub by: String,
    pub store: String,
    pub decisions: usize,
    pub alpha: f64,
    pub bootstrap: usize,
    pub seed: u64,
    pub groups: Vec<GroupAudit>,
    /// Highest offer rate over the lowest (groups with decisions).
    pub offer_rate_ratio: f64,
    /// Highest mean price paid minus the lowest (groups with orders).
    pub price_paid_spread: Option<f64>,
}

/// Wilson score interval of `k` successes in `n`.
pub fn wilson(k: usize, n: usize, alpha: f64) -> Estimate {
    if n == 0 {
        return Estimate {
            value: 0.0,
            lower: 0.0,
            upper: 1.0,
        };
    }
    let z = normal_quantile(1.0 - alpha / 2.0);
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    // At 0 or n successes the bound is exactly 0 or 1 (rounding would leave a hair off it).
    Estimate {
        value: p,
        lower: if k == 0.0 {
            0.0
        } else {
            (centre - half).max(0.0)
        },
        upper: if k == n {
            1.0
        } else {
            (centre + half).min(1.0)
        },
    }
}

/// Mean of `xs` with a percentile bootstrap interval.
fn bootstrap_mean(xs: &[f64], resamples: usize, alpha: f64, rng: &mut impl Rng) -> Estimate {
    let n = xs.len();
    let value = xs.iter().sum::<f64>() / n.max(1) as f64;
    if n < 2 || resamples == 0 {
        return Estimate {
            value,
            lower: value,
            upper: value,
        };
    }
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| xs[rng.gen_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    Estimate {
        value,
        lower: percentile_of_sorted(&means, 100.0 * alpha / 2.0),
        upper: percentile_of_sorted(&means, 100.0 * (1.0 - alpha / 2.0)),
    }
}

/// The group's figures from its decisions.
fn audit_group(
    group: &str,
    rows: &[&Audited],
    resamples: usize,
    alpha: f64,
    rng: &mut impl Rng,
) -> GroupAudit {
    let offers = rows.iter().filter(|r| r.offered).count();
    let depths: Vec<f64> = rows.iter().filter(|r| r.offered).map(|r| r.depth).collect();
    let joined: Vec<(&Audited, Outcome)> = rows
        .iter()
        .filter_map(|r| r.outcome.map(|o| (*r, o)))
        .collect();
    let orders: Vec<Outcome> = joined
        .iter()
        .map(|(_, o)| *o)
        .filter(|o| o.converted)
        .collect();
    let paid_share: Vec<f64> = orders
        .iter()
        .filter(|o| o.revenue + o.discount > 0)
        .map(|o| o.revenue as f64 / (o.revenue + o.discount) as f64)
        .collect();
    let profit: Vec<f64> = joined.iter().map(|(_, o)| o.profit as f64).collect();
    // Incremental value over "no offer": the value of the policy that ran (its own mean) minus
    // the off-policy value of "no offer", per decision, so that the bootstrap keeps the pairs.
    let explored = joined.iter().any(|(r, _)| r.propensity < 1.0);
    let controls: Vec<f64> = joined
        .iter()
        .filter(|(r, _)| !r.offered)
        .map(|(_, o)| o.profit as f64)
        .collect();
    let (incremental_ips, incremental_dr, missing) = if joined.is_empty() {
        (
            None,
            None,
            Some("no decision with a known outcome".to_string()),
        )
    } else if !explored {
        (
            None,
            None,
            Some("the log did not explore (every propensity is 1)".to_string()),
        )
    } else if controls.is_empty() {
        (
            None,
            None,
            Some("no joined decision without an offer to learn \"no offer\" from".to_string()),
        )
    } else {
        let control_mean = controls.iter().sum::<f64>() / controls.len() as f64;
        let ips: Vec<f64> = joined
            .iter()
            .map(|(r, o)| {
                let w = if r.offered { 0.0 } else { 1.0 / r.propensity };
                o.profit as f64 - w * o.profit as f64
            })
            .collect();
        let dr: Vec<f64> = joined
            .iter()
            .map(|(r, o)| {
                let w = if r.offered { 0.0 } else { 1.0 / r.propensity };
                o.profit as f64 - (control_mean + w * (o.profit as f64 - control_mean))
            })
            .collect();
        (
            Some(bootstrap_mean(&ips, resamples, alpha, rng)),
            Some(bootstrap_mean(&dr, resamples, alpha, rng)),
            None,
        )
    };
    GroupAudit {
        group: group.to_string(),
        decisions: rows.len(),
        offers,
        offer_rate: wilson(offers, rows.len(), alpha),
        depth: (!depths.is_empty()).then(|| bootstrap_mean(&depths, resamples, alpha, rng)),
        joined: joined.len(),
        orders: orders.len(),
        price_paid: (!paid_share.is_empty())
            .then(|| bootstrap_mean(&paid_share, resamples, alpha, rng)),
        paid_per_order: (!orders.is_empty())
            .then(|| orders.iter().map(|o| o.revenue as f64).sum::<f64>() / orders.len() as f64),
        profit_per_decision: (!profit.is_empty())
            .then(|| profit.iter().sum::<f64>() / profit.len() as f64),
        incremental_ips,
        incremental_dr,
        incremental_missing: missing,
    }
}

/// The audit of `rows` (already labelled with their group).
fn audit(
    by: &str,
    store: &str,
    rows: &[Audited],
    args: &FairnessArgs,
) -> anyhow::Result<FairnessAudit> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha must be in (0, 1), got {}", args.alpha);
    }
    let mut by_group: BTreeMap<&str, Vec<&Audited>> = BTreeMap::new();
    for r in rows {
        by_group.entry(r.group.as_str()).or_default().push(r);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let groups: Vec<GroupAudit> = by_group
        .iter()
        .map(|(g, rows)| audit_group(g, rows, args.bootstrap, args.alpha, &mut rng))
        .collect();
    let rates = groups.iter().map(|g| g.offer_rate.value);
    let (lo, hi) = rates.fold((f64::INFINITY, 0.0f64), |(lo, hi), r| {
        (lo.min(r), hi.max(r))
    });
    let offer_rate_ratio = if hi <= 0.0 {
        1.0
    } else if lo <= 0.0 {
        f64::INFINITY
    } else {
        hi / lo
    };
    let paid: Vec<f64> = groups
        .iter()
        .filter_map(|g| g.price_paid.map(|p| p.value))
        .collect();
    let price_paid_spread = (!paid.is_empty()).then(|| {
        paid.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            - paid.iter().copied().fold(f64::INFINITY, f64::min)
    });
    Ok(FairnessAudit {
        by: by.to_string(),
        store: store.to_string(),
        decisions: rows.len(),
        alpha: args.alpha,
        bootstrap: args.bootstrap,
        seed: args.seed,
        groups,
        offer_rate_ratio,
        price_paid_spread,
    })
}

/// Attributes by customer from a CSV with a `customer_id` column.
fn read_attributes(path: &Path, by: &str) -> anyhow::Result<HashMap<String, String>> {
    let origin = path.display().to_string();
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("reading {origin}"))?;
    let header = reader
        .headers()
        .with_context(|| format!("{origin}: reading the header"))?
        .clone();
    let id = header
        .iter()
        .position(|h| h == "customer_id")
        .with_context(|| {
            format!(
                "{origin}: no `customer_id` column (columns: {})",
                join(&header)
            )
        })?;
    let col = header.iter().position(|h| h == by).with_context(|| {
        format!(
            "{origin}: --by {by} is not a column of the file (columns: {}), nor an attribute of \
             the decision log (device, placement, campaign, policy, customer_type)",
            join(&header)
        )
    })?;
    let mut out = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.with_context(|| format!("{origin}:{line}: unreadable row"))?;
        let customer = record
            .get(id)
            .filter(|c| !c.is_empty())
            .with_context(|| format!("{origin}:{line}: customer_id is empty"))?;
        let value = record.get(col).unwrap_or("").to_string();
        if out.insert(customer.to_string(), value).is_some() {
            bail!("{origin}:{line}: customer_id `{customer}` appears twice");
        }
    }
    Ok(out)
}

fn join(header: &csv::StringRecord) -> String {
    header.iter().collect::<Vec<_>>().join(", ")
}

/// What the log says about one decision: its request context and policy.
#[derive(Deserialize, Default)]
struct Logged {
    #[serde(default)]
    policy: String,
    #[serde(default)]
    body: Body,
}

#[derive(Deserialize, Default)]
struct Body {
    #[serde(default)]
    context: LoggedContext,
    #[serde(default)]
    campaign: Option<String>,
}

#[derive(Deserialize, Default)]
struct LoggedContext {
    #[serde(default)]
    placement: String,
    #[serde(default)]
    device: String,
}

const UNKNOWN: &str = "(unknown)";

fn non_empty(s: &str) -> String {
    if s.is_empty() {
        UNKNOWN.to_string()
    } else {
        s.to_string()
    }
}

/// Labels each decision with its group.
fn label(
    log: &mut dyn DecisionLog,
    joined: &[(DecisionRow, Option<OutcomeRow>)],
    by: &str,
    attributes: Option<&HashMap<String, String>>,
) -> anyhow::Result<Vec<Audited>> {
    let mut first_order: HashMap<String, Option<i64>> = HashMap::new();
    let mut out = Vec::with_capacity(joined.len());
    for (d, o) in joined {
        let offer: Offer = serde_json::from_str(&d.offer)
            .with_context(|| format!("decision {}: the logged offer is not readable", d.id))?;
        let logged: Logged = serde_json::from_str(&d.request).unwrap_or_default();
        let group = match (attributes, by) {
            (Some(a), _) => a
                .get(&d.customer_id)
                .map_or_else(|| UNKNOWN.to_string(), |v| non_empty(v)),
            (None, "device") => non_empty(&logged.body.context.device),
            (None, "placement") => non_empty(&logged.body.context.placement),
            (None, "campaign") => logged
                .body
                .campaign
                .clone()
                .or_else(|| d.budget_id.clone())
                .unwrap_or_else(|| "default".into()),
            (None, "policy") => non_empty(if logged.policy.is_empty() {
                &d.policy_version
            } else {
                &logged.policy
            }),
            (None, "customer_type") => {
                if !first_order.contains_key(&d.customer_id) {
                    let events = log.events_of(&d.customer_id, usize::MAX >> 1)?;
                    let first = events
                        .iter()
                        .filter(|e| matches!(e.kind, EventKind::Order { .. }))
                        .map(|e| e.time.0)
                        .min();
                    first_order.insert(d.customer_id.clone(), first);
                }
                match first_order.get(&d.customer_id).copied().flatten() {
                    Some(t) if t < d.at => "returning".to_string(),
                    _ => "new".to_string(),
                }
            }
            (None, other) => bail!(
                "--by {other}: the decision log has no such attribute (device, placement, \
                 campaign, policy, customer_type); give --attributes FILE for customer \
                 attributes such as region or age band"
            ),
        };
        out.push(Audited {
            group,
            offered: offer != Offer::NoOffer,
            depth: max_depth(&offer),
            propensity: d.propensity,
            outcome: o.as_ref().map(|o| Outcome {
                converted: o.converted,
                revenue: o.revenue,
                discount: o.discount,
                profit: o.profit,
            }),
        });
    }
    Ok(out)
}

fn time_arg(name: &str, value: &Option<String>, default: i64) -> anyhow::Result<i64> {
    Ok(match value {
        Some(t) => Timestamp::parse(name, t)?.0,
        None => default,
    })
}

fn fairness(config: &Config, args: &FairnessArgs, json: bool) -> anyhow::Result<()> {
    let url = &config.store.url;
    let store = redact(url);
    let attributes = args
        .attributes
        .as_deref()
        .map(|p| read_attributes(p, &args.by))
        .transpose()?;
    let from = time_arg("--since", &args.since, i64::MIN)?;
    let to = time_arg("--until", &args.until, i64::MAX)?;
    let mut log = open_decision_log(url).with_context(|| format!("opening the store {store}"))?;
    let joined = log.joined_decisions(from, to)?;
    if joined.is_empty() {
        bail!("the store {store} has no decision in the window to audit (table `decisions`)");
    }
    let rows = label(log.as_mut(), &joined, &args.by, attributes.as_ref())?;
    let report = audit(&args.by, &store, &rows, args)?;
    if json {
        return print_json(&report);
    }
    print_audit(&report);
    Ok(())
}

fn print_audit(a: &FairnessAudit) {
    let level = 100.0 * (1.0 - a.alpha);
    println!(
        "Fairness by `{}` over {} decisions of {} ({level:.0}% intervals; bootstrap {} resamples, seed {})\n",
        a.by, a.decisions, a.store, a.bootstrap, a.seed
    );
    let est = |e: &Option<Estimate>, digits: usize| {
        e.map_or("-".to_string(), |e| {
            format!(
                "{:.d$} [{:.d$}, {:.d$}]",
                e.value,
                e.lower,
                e.upper,
                d = digits
            )
        })
    };
    let mut table = Table::new(&[
        "group",
        "decisions",
        "offer rate",
        "depth",
        "orders",
        "price paid",
        "paid/order",
        "incremental (IPS)",
        "incremental (DR)",
    ]);
    for g in &a.groups {
        table.row(vec![
            g.group.clone(),
            g.decisions.to_string(),
            est(&Some(g.offer_rate), 3),
            est(&g.depth, 3),
            g.orders.to_string(),
            est(&g.price_paid, 3),
            g.paid_per_order.map_or("-".into(), |p| format!("{p:.0}")),
            est(&g.incremental_ips, 1),
            est(&g.incremental_dr, 1),
        ]);
    }
    print!("{}", table.render());
    println!(
        "\noffer-rate ratio (highest / lowest): {:.3}",
        a.offer_rate_ratio
    );
    if let Some(s) = a.price_paid_spread {
        println!("price-paid spread (highest - lowest share of list price): {s:.3}");
    }
    for g in a.groups.iter().filter(|g| g.incremental_missing.is_some()) {
        println!(
            "{}: no incremental value: {}",
            g.group,
            g.incremental_missing.as_deref().unwrap_or("")
        );
    }
}

fn fairness_cost(args: &FairnessCostArgs, json: bool) -> anyhow::Result<()> {
    let options = FairnessLabOptions {
        users: args.users,
        days: args.days,
        budget: args.budget,
        seeds: args.seeds.clone(),
        max_offer_rate_ratio: args.max_ratio,
        max_price_spread: args.max_spread,
    };
    let report = fairness_lab::run(&options, |done, total| {
        if !json {
            eprint!("\rrun {done}/{total}");
        }
    })?;
    if !json {
        eprintln!();
    }
    if json {
        return print_json(&report);
    }
    print_cost(&report);
    Ok(())
}

fn print_cost(r: &FairnessLabReport) {
    let o = &r.options;
    println!(
        "Cost of the fairness rules in the simulated shop: {} customers, {} days, budget {}, seeds {:?}",
        o.users, o.days, o.budget, o.seeds
    );
    println!(
        "plan with the true response; groups new / returning; max offer-rate ratio {}, max price spread {}",
        o.max_offer_rate_ratio, o.max_price_spread
    );
    println!(
        "planned: the plans' expected incremental profit; incremental profit: realised over the \
         no-offer control, mean over seeds; cost: paired by seed, ± standard error\n"
    );
    let mut table = Table::new(&[
        "rules",
        "planned value",
        "planned cost",
        "incremental profit",
        "cost (paired)",
        "cost share",
        "offer-rate ratio (mean, worst)",
        "price spread (worst)",
    ]);
    for s in &r.summary {
        table.row(vec![
            s.rules.clone(),
            format!("{:.0}", s.mean_planned_value),
            format!("{:.0}", s.mean_planned_cost),
            format!("{:.0}", s.mean_incremental_profit),
            format!("{:.0} ± {:.0}", s.mean_cost, s.cost_standard_error),
            format!("{:.1}%", 100.0 * s.relative_cost),
            format!(
                "{:.3}, {:.3}",
                s.mean_realised_ratio, s.worst_realised_ratio
            ),
            format!("{:.2}", s.worst_realised_spread),
        ]);
    }
    print!("{}", table.render());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook() {
        // 10 of 100 at 95%: [0.0552, 0.1744] (Wilson 1927; Newcombe 1998, table I).
        let e = wilson(10, 100, 0.05);
        assert!((e.lower - 0.0552).abs() < 5e-4, "{e:?}");
        assert!((e.upper - 0.1744).abs() < 5e-4, "{e:?}");
        let none = wilson(0, 20, 0.05);
        assert_eq!(none.lower, 0.0);
        assert!((none.upper - 0.1611).abs() < 5e-4, "{none:?}");
    }
}
