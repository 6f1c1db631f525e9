//! `discount plan`: one offer per customer of a list within a budget (offline).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use discount_policy::engine::CustomerFacts;
use discount_policy::knapsack::Instance;
use discount_policy::plan::{exact_gap, instance, plan, GapCheck, PlanCustomer};
use serde::Serialize;

use super::decide::{build_engine, default_engine_config};
use crate::output::{count, print_json, Table};

/// Plan one offer per customer of a list so that total expected incremental profit is highest
/// within the budget (a multiple-choice knapsack solved through its Lagrangian dual: one shadow
/// price for the budget), and check the method against the exact solver on small instances.
///
/// The customer list is a CSV with a header: customer_id, visits (expected decisions in the
/// period), orders, then one column per feature of the engine's model (by name). Without
/// --customers, the list is the simulated shop's customers (their last logged visit), and the
/// engine is the default one of `discount decide`.
///
/// Examples:
///   discount plan --budget 200000
///   discount plan --engine engine.toml --outcomes joined.jsonl --customers list.csv --budget 5000000 --out plan.csv
///   discount plan --budget 200000 --exact-checks 20 --json
///
/// The shadow price it prints is the `initial_lambda` of the campaign for `discount decide`.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct PlanArgs {
    /// Budget of the period, minor units.
    #[arg(long, value_name = "MINOR")]
    pub budget: i64,

    /// Engine configuration (TOML); the simulated default when absent.
    #[arg(long = "engine", value_name = "FILE")]
    pub engine: Option<PathBuf>,

    /// Joined outcomes (JSON Lines) to warm-start the models from.
    #[arg(long, value_name = "FILE")]
    pub outcomes: Option<PathBuf>,

    /// Customer list (CSV).
    #[arg(long, value_name = "FILE")]
    pub customers: Option<PathBuf>,

    /// Where to write customer_id,offer_id per customer (CSV).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Number of small random sub-instances (8 customers, enumeration) and 300-customer
    /// sub-instances (dynamic programming) to check against the exact optimum.
    #[arg(long = "exact-checks", value_name = "N", default_value_t = 10)]
    pub exact_checks: usize,

    /// Customers of the simulated shop (default list only).
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub users: usize,

    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
}

#[derive(Serialize)]
struct PlanReport {
    customers: usize,
    budget: i64,
    lambda: f64,
    expected_incremental_profit: f64,
    expected_cost: f64,
    dual_bound: f64,
    certified_gap: f64,
    per_offer: Vec<(String, usize)>,
    seconds: f64,
    exact_checks: Vec<GapCheck>,
    worst_relative_gap_small: f64,
    worst_relative_gap_medium: f64,
}

fn read_customers(path: &PathBuf, features: &[String]) -> anyhow::Result<Vec<PlanCustomer>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let header = reader
        .headers()
        .with_context(|| format!("{}:1: reading the header", path.display()))?
        .clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}:1: no column `{name}`", path.display()))
    };
    let id = col("customer_id")?;
    let visits = col("visits")?;
    let orders = header.iter().position(|h| h == "orders");
    let cols: Vec<usize> = features
        .iter()
        .map(|f| col(f))
        .collect::<anyhow::Result<_>>()?;
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("{}:{line}", path.display()))?;
        let num = |c: usize, name: &str| -> anyhow::Result<f64> {
            let v = rec.get(c).unwrap_or("");
            v.trim().parse::<f64>().with_context(|| {
                format!(
                    "{}:{line}: field {name} = `{v}` is not a number",
                    path.display()
                )
            })
        };
        let x = cols
            .iter()
            .zip(features)
            .map(|(&c, f)| num(c, f))
            .collect::<anyhow::Result<Vec<f64>>>()?;
        let orders = match orders {
            Some(c) => {
                let v = rec.get(c).unwrap_or("");
                v.trim().parse::<u32>().with_context(|| {
                    format!(
                        "{}:{line}: field orders = `{v}` is not a count",
                        path.display()
                    )
                })?
            }
            None => 0,
        };
        out.push(PlanCustomer {
            customer_id: rec.get(id).unwrap_or("").to_string(),
            visits: num(visits, "visits")?,
            facts: CustomerFacts {
                features: x,
                orders,
                ..CustomerFacts::default()
            },
        });
    }
    Ok(out)
}

/// Random sub-instances of `inst` of `size` customers.
fn sub_instances(inst: &Instance, size: usize, n: usize, seed: u64) -> Vec<Instance> {
    let mut state = seed | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|_| {
            Instance::new(
                (0..size.min(inst.options.len()))
                    .map(|_| inst.options[(next() as usize) % inst.options.len()].clone())
                    .collect(),
            )
        })
        .collect()
}

pub fn run(args: &PlanArgs, json: bool) -> anyhow::Result<()> {
    if args.budget < 0 {
        anyhow::bail!("--budget must be >= 0 minor units, got {}", args.budget);
    }
    let engine = build_engine(
        args.engine.as_ref(),
        args.outcomes.as_ref(),
        args.users,
        args.seed,
    )?;
    let customers = match &args.customers {
        Some(p) => read_customers(p, &engine.config().model.features)?,
        None => {
            // The simulated shop's customers: each one's last logged visit, visiting as often
            // as in the log.
            let (_, log, _) = default_engine_config(args.users, args.seed, None)?;
            log.outcomes
                .iter()
                .zip(&log.orders)
                .enumerate()
                .map(|(i, (o, &orders))| PlanCustomer {
                    customer_id: format!("visit-{i}"),
                    facts: CustomerFacts {
                        features: o.features.clone(),
                        orders,
                        ..CustomerFacts::default()
                    },
                    visits: 1.0,
                })
                .collect()
        }
    };
    eprintln!("planning {} customers", count(customers.len() as u64));
    let started = Instant::now();
    let p = plan(&engine, &customers, args.budget)?;
    let seconds = started.elapsed().as_secs_f64();
    let (inst, _) = instance(&engine, &customers)?;
    let mut checks = Vec::new();
    let (mut small, mut medium) = (0.0f64, 0.0f64);
    let scale = args.budget as f64 / customers.len().max(1) as f64;
    for (size, worst) in [(8usize, &mut small), (300usize, &mut medium)] {
        for (j, sub) in sub_instances(&inst, size, args.exact_checks, args.seed ^ size as u64)
            .iter()
            .enumerate()
        {
            let budget = ((scale * sub.options.len() as f64) as i64).max(1);
            let check = exact_gap(sub, budget)
                .with_context(|| format!("exact check {j} on {size} customers"))?;
            *worst = worst.max(check.relative_gap);
            checks.push(check);
        }
    }
    if let Some(out) = &args.out {
        let mut w =
            csv::Writer::from_path(out).with_context(|| format!("creating {}", out.display()))?;
        w.write_record(["customer_id", "offer_id"])?;
        for (c, &k) in customers.iter().zip(&p.choice) {
            w.write_record([c.customer_id.as_str(), engine.ladder().rungs[k].id.as_str()])?;
        }
        w.flush()?;
    }
    let report = PlanReport {
        customers: p.customers,
        budget: p.budget,
        lambda: p.lambda,
        expected_incremental_profit: p.value,
        expected_cost: p.cost,
        dual_bound: p.dual_bound,
        certified_gap: p.gap,
        per_offer: p.per_offer.clone(),
        seconds,
        exact_checks: checks,
        worst_relative_gap_small: small,
        worst_relative_gap_medium: medium,
    };
    if json {
        return print_json(&report);
    }
    println!(
        "{} customers, budget {}: shadow price {:.4}, expected incremental profit {:.0}, expected cost {:.0} ({:.1}% of budget), dual bound {:.0} (certified gap {:.2}%), {:.2}s",
        count(report.customers as u64),
        report.budget,
        report.lambda,
        report.expected_incremental_profit,
        report.expected_cost,
        100.0 * report.expected_cost / (report.budget.max(1) as f64),
        report.dual_bound,
        100.0 * report.certified_gap / report.dual_bound.abs().max(1e-9),
        report.seconds
    );
    let mut t = Table::new(&["offer", "customers"]);
    for (id, n) in &report.per_offer {
        t.row(vec![id.clone(), count(*n as u64)]);
    }
    print!("{}", t.render());
    println!(
        "against the exact optimum: worst relative gap {:.3}% on {} 8-customer instances, {:.3}% on {} 300-customer instances",
        100.0 * report.worst_relative_gap_small,
        args.exact_checks,
        100.0 * report.worst_relative_gap_medium,
        args.exact_checks
    );
    Ok(())
}

/// `discount bench decide`: each exploration rule in turn.
pub fn bench_decide(
    decisions: usize,
    features: usize,
    seed: u64,
    json: bool,
) -> anyhow::Result<()> {
    use discount_policy::bandit::Exploration;
    let mut reports = Vec::new();
    for e in [
        Exploration::EpsilonGreedy { epsilon: 0.05 },
        Exploration::LinUcb {
            alpha: 0.5,
            epsilon: 0.02,
        },
        Exploration::LinTs {
            scale: 0.5,
            epsilon: 0.02,
        },
    ] {
        eprintln!("{}: {} decisions", e.name(), count(decisions as u64));
        reports.push(discount_policy::bench::bench_decide(
            decisions, features, e, seed,
        )?);
    }
    if json {
        return print_json(&reports);
    }
    let mut t = Table::new(&[
        "exploration",
        "decisions/s (1 core)",
        "p50 µs",
        "p99 µs",
        "p99.9 µs",
        "explored %",
    ]);
    for r in &reports {
        t.row(vec![
            r.exploration.clone(),
            count(r.decisions_per_second as u64),
            format!("{:.2}", r.p50_us),
            format!("{:.2}", r.p99_us),
            format!("{:.2}", r.p999_us),
            format!("{:.1}", 100.0 * r.explored_share),
        ]);
    }
    println!(
        "{} offers, {} features, logging to memory",
        reports.first().map_or(0, |r| r.offers),
        features
    );
    print!("{}", t.render());
    Ok(())
}

/// `discount bench plan`.
pub fn bench_plan(customers: usize, features: usize, seed: u64, json: bool) -> anyhow::Result<()> {
    let r = discount_policy::bench::bench_plan(customers, features, seed)?;
    if json {
        return print_json(&r);
    }
    println!(
        "plan of {} customers ({} offers, {} features): scoring and solving {:.2}s (building the list {:.2}s); shadow price {:.4}, cost {:.0} of budget {}, certified gap {:.4}%",
        count(r.customers as u64),
        r.offers,
        r.features,
        r.solve_seconds,
        r.build_seconds,
        r.lambda,
        r.cost,
        r.budget,
        100.0 * r.certified_gap / r.value.abs().max(1e-9)
    );
    Ok(())
}
