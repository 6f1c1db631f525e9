//! `discount demo`: the closed loop on a simulated shop ([`crate::closed_loop`]) against no
//! discounts, 10% to everyone, random offers, the information ceiling and the oracle at the same
//! budget, with the same random draws. The HTML report (built with `discount_eval::report`) holds
//! the table, a bar chart of incremental profit and the learning curve (share of the oracle per
//! week).

use discount_core::money::format_minor;
use discount_core::Currency;
use discount_eval::report::{Report, Section};
use discount_eval::svg::{BarChart, LineChart, Series};

use crate::closed_loop::{run_loop, LoopOptions, LoopResult};
use crate::error::LabError;

/// Runs the demo (the closed loop and its comparison); `progress` is told each phase.
pub fn run(options: &LoopOptions, progress: impl FnMut(&str)) -> Result<LoopResult, LabError> {
    run_loop(options, progress)
}

fn percent(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.0}%", 100.0 * x))
}

/// The figures as a table: header and one row per policy, money in `currency`.
pub fn table(result: &LoopResult, currency: Currency) -> (Vec<String>, Vec<Vec<String>>) {
    let money = |minor: i64| format_minor(minor, currency);
    let weeks = result.options.weeks;
    let header = [
        "policy".to_string(),
        "revenue".into(),
        "discount spend".into(),
        "incremental profit".into(),
        "% of oracle".into(),
        format!(
            "% of oracle, weeks {}-{weeks}",
            weeks.saturating_sub(1).max(1)
        ),
        "budget used".into(),
    ]
    .to_vec();
    let rows = result
        .policies
        .iter()
        .map(|r| {
            vec![
                r.policy.clone(),
                money(r.revenue),
                money(r.discount_spend),
                money(r.incremental_profit),
                percent(r.share_of_oracle),
                percent(r.last_two_weeks_share),
                format!("{:.0}%", 100.0 * r.budget_used),
            ]
        })
        .collect();
    (header, rows)
}

/// The retraining rounds as a table.
pub fn retrain_table(result: &LoopResult) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "serving day",
        "training rows",
        "held out",
        "candidate DR",
        "serving DR",
        "advantage",
        "lower bound",
        "promoted",
    ]
    .map(String::from)
    .to_vec();
    let num = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.2}"));
    let rows = result
        .retrains
        .iter()
        .map(|r| {
            vec![
                r.day.to_string(),
                r.training_rows.to_string(),
                r.held_out_rows.to_string(),
                num(r.candidate_dr),
                num(r.bar),
                num(r.advantage),
                num(r.advantage_lower),
                if r.promoted { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    (header, rows)
}

/// The demo's HTML report: what was simulated, the learning curve, a bar chart of incremental
/// profit per policy, the figures, the retraining rounds, and how to read them.
pub fn report(result: &LoopResult) -> Result<Report, LabError> {
    let currency = Currency::parse("currency", &result.currency)?;
    let money = |minor: i64| format_minor(minor, currency);
    let o = &result.options;
    let mut report = Report::new(
        "Who should get a discount? A shop that learns from its own decisions",
        &format!(
            "A simulated shop of {users} customers, whose true response to every offer is known, run as \
             one market day after day. For {warm} days offers were given at random (5% to 30% off, or \
             none), each logged with its probability ({decisions} decisions). Then for {weeks} weeks every \
             visit was decided by the engine that `discount serve` runs, from the customer's profile built \
             from what the shop recorded so far; each day the decisions were joined to the orders they led \
             to, and every {every} days a new response model was fitted on the joined log and promoted only \
             if an off-policy estimate on the most recent {every} days said it earns more than the one \
             serving. Every policy continued the same market from the end of the warm-up with the same \
             budget of {budget} and the same random draws; incremental profit is the gross profit (after \
             discounts) minus that of the same market without any offer.",
            users = o.users,
            warm = o.warmup_days,
            decisions = result.warmup_decisions,
            weeks = o.weeks,
            every = o.retrain_every,
            budget = money(result.budget),
        ),
    );
    let mut curve = LineChart::new(
        "Learning curve: incremental profit as a share of the oracle's, per week",
        "serving week",
        "% of the oracle",
    )
    .including_y(0.0)
    .including_y(100.0);
    for p in &result.policies {
        if p.policy == "oracle" || p.policy == "no discounts" {
            continue;
        }
        let points: Vec<(f64, f64)> = p
            .weekly_share_of_oracle
            .iter()
            .enumerate()
            .filter_map(|(w, s)| s.map(|s| ((w + 1) as f64, 100.0 * s)))
            .collect();
        let mut series = Series::line(&p.policy, points).with_markers();
        if p.policy != "closed loop" {
            series = series.dashed();
        }
        curve = curve.with_series(series);
    }
    report.push(Section {
        heading: "Learning curve".into(),
        explanation: "Each week's incremental profit as a share of what the oracle earned that week. The \
             closed loop starts from the warm-up's random log and improves as it retrains on its own \
             decisions; the information ceiling is the same learner fitted once on far more exploration \
             data (what can be known from observable features alone); the gap between the ceiling and \
             100% is what no policy could know from the shop's data."
            .into(),
        svg: Some(curve.render(760, 380)),
        table: None,
    });
    let mut chart = BarChart::new(
        "Incremental profit per policy over the serving weeks",
        &format!("incremental profit ({currency})"),
    );
    let scale = 10f64.powi(currency.exponent() as i32);
    for r in &result.policies {
        chart = chart.with_bar(&r.policy, r.incremental_profit as f64 / scale, None);
    }
    let (header, rows) = table(result, currency);
    report.push(Section {
        heading: "Incremental profit per policy".into(),
        explanation: "No discounts is the baseline: its incremental profit is zero by definition. 10% to \
             everyone and random offers spend the budget on whoever visits first, including customers who \
             would have bought anyway. The closed loop uses only what the shop can observe and learns from \
             its own log. The oracle knows every customer's true response: an upper bound no real policy \
             reaches."
            .into(),
        svg: Some(chart.render(760, 380)),
        table: Some((header, rows)),
    });
    let (header, rows) = retrain_table(result);
    report.push(Section {
        heading: "Retraining rounds".into(),
        explanation: "Each round fits a candidate on the joined log before the most recent window and \
             estimates, on that window, the profit per decision of the candidate's and the serving model's \
             choices (doubly robust). The candidate is promoted only when the lower bound of its advantage \
             (a paired bootstrap interval of the per-decision difference) is above zero; before any model, \
             the advantage is over what the logging policy earned."
            .into(),
        svg: None,
        table: Some((header, rows)),
    });
    report.push(Section {
        heading: "Reproduce".into(),
        explanation: format!(
            "Seed {seed}. Re-run with `discount demo --seed {seed} --users {users}`; see docs/demo.md.",
            seed = o.seed,
            users = o.users
        ),
        svg: None,
        table: None,
    });
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_periods_and_budgets_are_refused() {
        for bad in [
            LoopOptions {
                warmup_days: 3,
                ..LoopOptions::default()
            },
            LoopOptions {
                budget_per_user: -1,
                ..LoopOptions::default()
            },
            LoopOptions {
                weeks: 0,
                ..LoopOptions::default()
            },
            LoopOptions {
                l2: 0.0,
                ..LoopOptions::default()
            },
        ] {
            let e = run(&bad, |_| {}).err().unwrap();
            assert!(matches!(e, LabError::Invalid(_)), "{e}");
        }
    }
}
