//! `discount demo`: what the engine is for, in one command on the embedded defaults.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use discount_core::money::format_minor;
use discount_core::Currency;
use discount_policy::{explore, Hyper, LearnedPolicy, UpliftModel};
use discount_sim::policy::{NoOfferPolicy, OraclePolicy, RandomPolicy, UniformPolicy};
use discount_sim::{simulate_with, NullSink, Policy, RunOptions, SimConfig, SimSummary};
use serde::Serialize;

use crate::output::{count, print_json, Table};

/// Learn a discount policy from an exploration log and compare it with simple baselines.
///
/// A market is simulated on the embedded defaults. During the first --learn-days, offers are
/// given at random (the exploration log, with propensities). The engine learns from that log
/// which offer pays in which customer segment, then the following --test-days are simulated
/// for each policy with the SAME discount budget: no discounts, 10% off for everyone, random
/// offers, the learned policy, and the oracle (which knows every customer's true response; the
/// ceiling). Incremental profit is measured against the same market without any offer (common
/// random numbers), so it includes every effect of the discounts.
///
/// Examples:
///   discount demo
///   discount demo --users 20000 --budget 300000 --report out.html
///   discount demo --json
///
/// docs/demo.md explains the figures.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct DemoArgs {
    /// Number of customer accounts.
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    pub users: usize,

    /// Days of random offers the policy learns from.
    #[arg(long = "learn-days", value_name = "D", default_value_t = 28)]
    pub learn_days: u32,

    /// Days over which the policies are compared.
    #[arg(long = "test-days", value_name = "D", default_value_t = 28)]
    pub test_days: u32,

    /// Discount budget of the test period, minor units [default: 10 per customer].
    #[arg(long, value_name = "MINOR")]
    pub budget: Option<i64>,

    /// Seed of every random draw.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,

    /// Where to write the HTML report.
    #[arg(long, value_name = "FILE", default_value = "demo-report.html")]
    pub report: PathBuf,
}

/// One policy's figures over the test period.
#[derive(Clone, Debug, Serialize)]
pub struct DemoRow {
    pub policy: String,
    pub revenue: i64,
    pub discount_spend: i64,
    pub incremental_profit: i64,
    /// Incremental profit / the oracle's.
    pub share_of_oracle: Option<f64>,
    /// Spend / budget.
    pub budget_used: f64,
}

/// The demo's result.
#[derive(Clone, Debug, Serialize)]
pub struct DemoResult {
    pub users: usize,
    pub learn_days: u32,
    pub test_days: u32,
    pub seed: u64,
    pub budget: i64,
    pub currency: String,
    pub logged_decisions: usize,
    pub learned_lambda: f64,
    pub rows: Vec<DemoRow>,
    pub report: String,
}

fn run_one(config: &SimConfig, policy: &mut dyn Policy) -> anyhow::Result<SimSummary> {
    let options = RunOptions {
        customer_truth: false,
        decision_truth: false,
    };
    Ok(simulate_with(config, policy, &mut NullSink, options)
        .with_context(|| format!("simulating policy {}", policy.name()))?
        .summary)
}

pub fn run(args: &DemoArgs, json: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    if args.learn_days == 0 || args.test_days == 0 {
        anyhow::bail!("--learn-days and --test-days must be at least 1");
    }
    let budget = args
        .budget
        .unwrap_or_else(|| 10i64.saturating_mul(args.users as i64));
    if budget < 0 {
        anyhow::bail!("--budget must be >= 0 minor units, got {budget}");
    }
    let base = SimConfig {
        users: args.users,
        seed: args.seed,
        ..SimConfig::default()
    };
    base.validate()?;
    let currency = Currency::parse("currency", &base.currency)?;
    let learn = SimConfig {
        days: args.learn_days,
        ..base.clone()
    };
    eprintln!(
        "exploring: {} customers, {} days of random offers",
        count(args.users as u64),
        args.learn_days
    );
    let log = explore(&learn, args.seed).context("running the exploration period")?;
    eprintln!(
        "learning from {} logged decisions ({:.1}s)",
        count(log.decisions.len() as u64),
        started.elapsed().as_secs_f64()
    );
    let hyper = Hyper {
        seed: args.seed,
        ..Hyper::default()
    };
    let model = UpliftModel::fit(&learn.ladder, &log.decisions, log.days, &hyper)?;
    let test = SimConfig {
        days: args.test_days,
        budget: Some(budget),
        ..base
    };
    let mut learned = LearnedPolicy::new(model, hyper)?;
    let mut summaries = Vec::new();
    {
        let mut none = NoOfferPolicy;
        let mut uniform = UniformPolicy { percent: 10.0 };
        let mut random = RandomPolicy::new(args.seed);
        let mut oracle = OraclePolicy::new();
        let policies: [(&str, &mut dyn Policy); 5] = [
            ("no discounts", &mut none),
            ("10% to everyone", &mut uniform),
            ("random offers", &mut random),
            ("learned", &mut learned),
            ("oracle", &mut oracle),
        ];
        for (label, policy) in policies {
            eprintln!(
                "test period: {label} ({:.1}s)",
                started.elapsed().as_secs_f64()
            );
            summaries.push((label.to_string(), run_one(&test, policy)?));
        }
    }
    let control = summaries
        .first()
        .map(|(_, s)| s.gross_profit)
        .unwrap_or_default();
    let oracle = summaries
        .last()
        .map(|(_, s)| s.gross_profit - control)
        .unwrap_or_default();
    let rows: Vec<DemoRow> = summaries
        .iter()
        .map(|(label, s)| {
            let inc = s.gross_profit - control;
            DemoRow {
                policy: label.clone(),
                revenue: s.revenue,
                discount_spend: s.discount_spend,
                incremental_profit: inc,
                share_of_oracle: (oracle > 0).then(|| inc as f64 / oracle as f64),
                budget_used: if budget > 0 {
                    s.discount_spend as f64 / budget as f64
                } else {
                    0.0
                },
            }
        })
        .collect();
    let result = DemoResult {
        users: args.users,
        learn_days: args.learn_days,
        test_days: args.test_days,
        seed: args.seed,
        budget,
        currency: currency.to_string(),
        logged_decisions: log.decisions.len(),
        learned_lambda: learned.lambda(),
        rows,
        report: args.report.display().to_string(),
    };
    let html = report_html(&result, currency);
    std::fs::write(&args.report, html)
        .with_context(|| format!("writing {}", args.report.display()))?;
    eprintln!(
        "done in {:.1}s; report: {}",
        started.elapsed().as_secs_f64(),
        args.report.display()
    );
    if json {
        return print_json(&result);
    }
    let mut table = Table::new(&[
        "policy",
        "revenue",
        "discount spend",
        "incremental profit",
        "% of oracle",
        "budget used",
    ]);
    for r in &result.rows {
        table.row(vec![
            r.policy.clone(),
            format_minor(r.revenue, currency),
            format_minor(r.discount_spend, currency),
            format_minor(r.incremental_profit, currency),
            r.share_of_oracle
                .map_or("-".into(), |x| format!("{:.0}%", 100.0 * x)),
            format!("{:.0}%", 100.0 * r.budget_used),
        ]);
    }
    println!(
        "{} customers; learned from {} days of random offers ({} decisions); compared over {} days with a budget of {}",
        count(result.users as u64),
        result.learn_days,
        count(result.logged_decisions as u64),
        result.test_days,
        format_minor(budget, currency)
    );
    print!("{}", table.render());
    println!("report: {}", result.report);
    Ok(())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A horizontal bar chart of incremental profit per policy (negative bars go left of zero).
fn bar_chart(result: &DemoResult, currency: Currency) -> String {
    let (label_w, bar_w, row_h, value_w) = (150.0, 420.0, 34.0, 150.0);
    let max = result
        .rows
        .iter()
        .map(|r| r.incremental_profit.unsigned_abs())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let min = result
        .rows
        .iter()
        .map(|r| r.incremental_profit)
        .min()
        .unwrap_or(0)
        .min(0) as f64;
    let span = max + (-min);
    let zero = label_w + bar_w * (-min) / span;
    let height = row_h * result.rows.len() as f64 + 20.0;
    let width = label_w + bar_w + value_w;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"Incremental profit per policy\">\n"
    );
    for (i, r) in result.rows.iter().enumerate() {
        let y = 10.0 + row_h * i as f64;
        let v = r.incremental_profit as f64;
        let w = bar_w * v.abs() / span;
        let x = if v >= 0.0 { zero } else { zero - w };
        let colour = match r.policy.as_str() {
            "learned" => "#1f77b4",
            "oracle" => "#999999",
            _ if v < 0.0 => "#d62728",
            _ => "#bbbbbb",
        };
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"13\">{}</text>\n",
            label_w - 8.0,
            y + row_h * 0.55,
            escape(&r.policy)
        ));
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>\n",
            row_h - 8.0
        ));
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{}</text>\n",
            label_w + bar_w + 6.0,
            y + row_h * 0.55,
            escape(&format_minor(r.incremental_profit, currency))
        ));
    }
    svg.push_str(&format!(
        "<line x1=\"{zero:.1}\" y1=\"0\" x2=\"{zero:.1}\" y2=\"{height}\" stroke=\"#333\"/>\n</svg>\n"
    ));
    svg
}

fn report_html(result: &DemoResult, currency: Currency) -> String {
    let mut rows = String::new();
    for r in &result.rows {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}%</td></tr>\n",
            escape(&r.policy),
            escape(&format_minor(r.revenue, currency)),
            escape(&format_minor(r.discount_spend, currency)),
            escape(&format_minor(r.incremental_profit, currency)),
            r.share_of_oracle
                .map_or("-".into(), |x| format!("{:.0}%", 100.0 * x)),
            100.0 * r.budget_used
        ));
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Discount engine demo</title>
<style>body{{font-family:sans-serif;max-width:52rem;margin:2rem auto;line-height:1.5}}
table{{border-collapse:collapse}}td,th{{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:right}}
td:first-child,th:first-child{{text-align:left}}</style></head><body>
<h1>Who should get a discount?</h1>
<p>A simulated shop of {users} customers, whose true response to every offer is known. For
{learn} days offers were given at random (5% to 30% off, or none), each logged with its
probability: the exploration log ({decisions} decisions). From it the engine learned, for each
customer segment (lifecycle stage, number of orders, days since the last order, tenure), the
profit per visit of each offer and what it costs, and so the <em>incremental</em> profit of each
offer over giving nothing. It then spends the budget where one unit of discount buys the most
incremental profit, with a shadow price found so that the planned spend matches the budget.</p>
<p>The next {test} days were simulated once per policy, all with the same budget of {budget}.
Incremental profit is the gross profit (after discounts) minus that of the same market without
any offer, with the same random draws, so it counts what the discounts really earned or lost,
including the purchases that would have happened anyway at full price.</p>
<h2>Incremental profit per policy</h2>
{chart}
<table><thead><tr><th>policy</th><th>revenue</th><th>discount spend</th><th>incremental profit</th><th>% of oracle</th><th>budget used</th></tr></thead>
<tbody>
{rows}</tbody></table>
<h2>How to read this</h2>
<ul>
<li><b>no discounts</b> is the baseline: its incremental profit is zero by definition.</li>
<li><b>10% to everyone</b> and <b>random offers</b> spend the budget on whoever visits first,
including customers who would have bought anyway, until the budget runs out.</li>
<li><b>learned</b> uses only what the shop can observe, learned from the exploration log.</li>
<li><b>oracle</b> knows every customer's true response: an upper bound no real policy reaches.</li>
</ul>
<p>Seed {seed}. Re-run with <code>discount demo --seed {seed}</code>; see docs/demo.md.</p>
</body></html>
"#,
        users = count(result.users as u64),
        learn = result.learn_days,
        test = result.test_days,
        decisions = count(result.logged_decisions as u64),
        budget = escape(&format_minor(result.budget, currency)),
        seed = result.seed,
        chart = bar_chart(result, currency),
        rows = rows,
    )
}
