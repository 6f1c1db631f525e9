//! `discount demo`: learn a segment policy from a simulated exploration log and compare it with
//! no discounts, 10% to everyone, random offers and the oracle at the same budget, over the same
//! test weeks with the same random draws. The HTML report is built with `discount_eval::report`.

use discount_core::money::format_minor;
use discount_core::Currency;
use discount_eval::report::{Report, Section};
use discount_eval::svg::BarChart;
use discount_sim::policy::{NoOfferPolicy, OraclePolicy, RandomPolicy, UniformPolicy};
use discount_sim::{simulate_with, NullSink, Policy, RunOptions, SimConfig, SimSummary};
use serde::Serialize;

use crate::error::LabError;
use crate::{explore, Hyper, LearnedPolicy, UpliftModel};

/// What the demo simulates.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoOptions {
    /// Customer accounts.
    pub users: usize,
    /// Days of random offers the policy learns from.
    pub learn_days: u32,
    /// Days over which the policies are compared.
    pub test_days: u32,
    /// Discount budget of the test period, minor units (`None`: 10 per customer).
    pub budget: Option<i64>,
    /// Seed of every random draw.
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            users: 50_000,
            learn_days: 28,
            test_days: 28,
            budget: None,
            seed: 42,
        }
    }
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
}

fn run_one(config: &SimConfig, policy: &mut dyn Policy) -> Result<SimSummary, LabError> {
    let options = RunOptions {
        customer_truth: false,
        decision_truth: false,
    };
    Ok(simulate_with(config, policy, &mut NullSink, options)?.summary)
}

/// Runs the demo; `progress` is told each phase as it starts.
pub fn run(options: &DemoOptions, mut progress: impl FnMut(&str)) -> Result<DemoResult, LabError> {
    if options.learn_days == 0 || options.test_days == 0 {
        return Err(LabError::Policy(discount_policy::PolicyError::Config {
            field: "learn_days/test_days".into(),
            value: format!("{}/{}", options.learn_days, options.test_days),
            rule: "must be at least 1",
        }));
    }
    let budget = options
        .budget
        .unwrap_or_else(|| 10i64.saturating_mul(options.users as i64));
    if budget < 0 {
        return Err(LabError::Policy(discount_policy::PolicyError::Config {
            field: "budget".into(),
            value: budget.to_string(),
            rule: "must be >= 0 minor units",
        }));
    }
    let base = SimConfig {
        users: options.users,
        seed: options.seed,
        ..SimConfig::default()
    };
    base.validate()?;
    let currency = Currency::parse("currency", &base.currency)?;
    let learn = SimConfig {
        days: options.learn_days,
        ..base.clone()
    };
    progress(&format!(
        "exploring: {} customers, {} days of random offers",
        options.users, options.learn_days
    ));
    let log = explore(&learn, options.seed)?;
    progress(&format!(
        "learning from {} logged decisions",
        log.decisions.len()
    ));
    let hyper = Hyper {
        seed: options.seed,
        ..Hyper::default()
    };
    let model = UpliftModel::fit(&learn.ladder, &log.decisions, log.days, &hyper)?;
    let test = SimConfig {
        days: options.test_days,
        budget: Some(budget),
        ..base
    };
    let mut learned = LearnedPolicy::new(model, hyper)?;
    let mut summaries = Vec::new();
    {
        let mut none = NoOfferPolicy;
        let mut uniform = UniformPolicy { percent: 10.0 };
        let mut random = RandomPolicy::new(options.seed);
        let mut oracle = OraclePolicy::new();
        let policies: [(&str, &mut dyn Policy); 5] = [
            ("no discounts", &mut none),
            ("10% to everyone", &mut uniform),
            ("random offers", &mut random),
            ("learned", &mut learned),
            ("oracle", &mut oracle),
        ];
        for (label, policy) in policies {
            progress(&format!("test period: {label}"));
            summaries.push((label.to_string(), run_one(&test, policy)?));
        }
    }
    // Incremental profit is measured against the same market without any offer (the first run).
    let control = summaries
        .first()
        .map(|(_, s)| s.gross_profit)
        .unwrap_or_default();
    let oracle = summaries
        .last()
        .map(|(_, s)| s.gross_profit - control)
        .unwrap_or_default();
    let rows = summaries
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
    Ok(DemoResult {
        users: options.users,
        learn_days: options.learn_days,
        test_days: options.test_days,
        seed: options.seed,
        budget,
        currency: currency.to_string(),
        logged_decisions: log.decisions.len(),
        learned_lambda: learned.lambda(),
        rows,
    })
}

/// The figures as a table: header and one row per policy, money in `currency`.
pub fn table(result: &DemoResult, currency: Currency) -> (Vec<String>, Vec<Vec<String>>) {
    let money = |minor: i64| format_minor(minor, currency);
    let header = [
        "policy",
        "revenue",
        "discount spend",
        "incremental profit",
        "% of oracle",
        "budget used",
    ]
    .map(String::from)
    .to_vec();
    let rows = result
        .rows
        .iter()
        .map(|r| {
            vec![
                r.policy.clone(),
                money(r.revenue),
                money(r.discount_spend),
                money(r.incremental_profit),
                r.share_of_oracle
                    .map_or("-".into(), |x| format!("{:.0}%", 100.0 * x)),
                format!("{:.0}%", 100.0 * r.budget_used),
            ]
        })
        .collect();
    (header, rows)
}

/// The demo's HTML report: what was simulated, a bar chart of incremental profit per policy,
/// the figures, and how to read them.
pub fn report(result: &DemoResult) -> Result<Report, LabError> {
    let currency = Currency::parse("currency", &result.currency)?;
    let money = |minor: i64| format_minor(minor, currency);
    let mut report = Report::new(
        "Who should get a discount?",
        &format!(
            "A simulated shop of {users} customers, whose true response to every offer is known. For \
             {learn} days offers were given at random (5% to 30% off, or none), each logged with its \
             probability: the exploration log ({decisions} decisions). From it the engine learned, for each \
             customer segment (lifecycle stage, number of orders, days since the last order, tenure), the \
             profit per visit of each offer and what it costs, and so the incremental profit of each offer \
             over giving nothing. It then spends the budget where one unit of discount buys the most \
             incremental profit, with a shadow price found so that the planned spend matches the budget. \
             The next {test} days were simulated once per policy, all with the same budget of {budget}. \
             Incremental profit is the gross profit (after discounts) minus that of the same market without \
             any offer, with the same random draws, so it counts what the discounts really earned or lost, \
             including the purchases that would have happened anyway at full price.",
            users = result.users,
            learn = result.learn_days,
            decisions = result.logged_decisions,
            test = result.test_days,
            budget = money(result.budget),
        ),
    );
    let mut chart = BarChart::new(
        "Incremental profit per policy",
        &format!("incremental profit ({currency})"),
    );
    let scale = 10f64.powi(currency.exponent() as i32);
    for r in &result.rows {
        chart = chart.with_bar(&r.policy, r.incremental_profit as f64 / scale, None);
    }
    let (header, rows) = table(result, currency);
    report.push(Section {
        heading: "Incremental profit per policy".into(),
        explanation: "No discounts is the baseline: its incremental profit is zero by definition. 10% to \
             everyone and random offers spend the budget on whoever visits first, including customers who \
             would have bought anyway, until the budget runs out. Learned uses only what the shop can \
             observe, learned from the exploration log. The oracle knows every customer's true response: \
             an upper bound no real policy reaches."
            .into(),
        svg: Some(chart.render(760, 380)),
        table: Some((header, rows)),
    });
    report.push(Section {
        heading: "Reproduce".into(),
        explanation: format!(
            "Seed {seed}. Re-run with `discount demo --seed {seed}`; see docs/demo.md.",
            seed = result.seed
        ),
        svg: None,
        table: None,
    });
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use discount_policy::PolicyError;

    #[test]
    fn bad_periods_and_budgets_are_refused() {
        let zero = DemoOptions {
            learn_days: 0,
            ..DemoOptions::default()
        };
        assert!(matches!(
            run(&zero, |_| {}),
            Err(LabError::Policy(PolicyError::Config { .. }))
        ));
        let negative = DemoOptions {
            budget: Some(-1),
            ..DemoOptions::default()
        };
        assert!(matches!(
            run(&negative, |_| {}),
            Err(LabError::Policy(PolicyError::Config { .. }))
        ));
    }
}
