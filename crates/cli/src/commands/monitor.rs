//! `discount monitor`: is the live policy still fed what it was trained on, and is it earning?

use anyhow::Context;
use discount_core::time::MICROS_PER_DAY;
use discount_core::{Config, Timestamp};
use discount_policy::EngineConfig;
use discount_server::models::RESPONSE_KIND;
use discount_store::decision_log::{open_decision_log, DecisionRow, OutcomeRow};
use serde::Serialize;

use super::ingest::redact;
use crate::output::{print_json, Table};

/// Watch the live decision loop from its log: per day, decisions, offer share, budget burn, the
/// policy's realised profit per decision with an interval, and how far its expected profit is
/// from what it realised (calibration drift); per feature and for the score (expected profit), the
/// population stability index of the values decided on in the recent days against the decisions
/// of the active response model's training window (or, without one, the days before); per budget,
/// the share spent against the share of its period gone (the even pacing plan).
///
/// PSI reads: below 0.1 stable, 0.1-0.25 moderate, above 0.25 act (retrain or look at the feed).
/// The service exposes the live counterparts in /metrics; deploy/prometheus/alerts.yml holds the
/// alert rules.
///
/// Examples:
///   discount monitor                       # the last 28 days, the last 7 against the 21 before
///   discount monitor --days 56 --recent 14 --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct MonitorArgs {
    /// Days of log to read, ending now (or at --until).
    #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(2..))]
    pub days: u32,
    /// The last this many days are compared with the days before them.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..))]
    pub recent: u32,
    /// End of the window (RFC 3339 or a date; default now).
    #[arg(long)]
    pub until: Option<String>,
    /// Bins of the stability index.
    #[arg(long, default_value_t = 10)]
    pub bins: usize,
    /// Compare the recent days with the days before them even when the active model has a
    /// training window.
    #[arg(long)]
    pub against_days_before: bool,
}

#[derive(Serialize)]
struct Day {
    day: String,
    decisions: usize,
    /// Share of decisions that held budget (an offer was given).
    offer_share: f64,
    /// Budget held by the day's decisions, minor units.
    held: i64,
    /// Budget charged by the day's joined outcomes, minor units.
    charged: i64,
    joined: usize,
    /// Mean realised profit per joined decision, minor units, with a 95% normal interval.
    profit_per_decision: Option<f64>,
    profit_interval: Option<[f64; 2]>,
    /// Mean expected incremental profit the policy logged for the same decisions.
    expected_per_decision: Option<f64>,
}

#[derive(Serialize)]
struct FeatureDrift {
    feature: String,
    psi: f64,
    /// `stable`, `moderate` or `shifted`.
    reading: &'static str,
}

#[derive(Serialize)]
struct Budget {
    id: String,
    total: i64,
    spent: i64,
    reserved: i64,
    /// Share of the total spent or held.
    burn: f64,
    /// Share of the budget's period elapsed at the window's end: what the even pacing plan has
    /// spent by then (`None` for a budget without a period).
    plan: Option<f64>,
}

#[derive(Serialize)]
struct MonitorReport {
    from: String,
    recent_days: u32,
    until: String,
    days: Vec<Day>,
    /// What the recent days are compared with.
    drift_reference: String,
    drift: Vec<FeatureDrift>,
    budgets: Vec<Budget>,
}

fn reading(psi: f64) -> &'static str {
    if psi < 0.1 {
        "stable"
    } else if psi <= 0.25 {
        "moderate"
    } else {
        "shifted"
    }
}

fn summarise_day(day: i64, rows: &[&(DecisionRow, Option<OutcomeRow>)]) -> Day {
    let joined: Vec<&OutcomeRow> = rows.iter().filter_map(|(_, o)| o.as_ref()).collect();
    let profits: Vec<f64> = joined.iter().map(|o| o.profit as f64).collect();
    let n = profits.len() as f64;
    let mean = (n > 0.0).then(|| profits.iter().sum::<f64>() / n);
    let interval = mean.filter(|_| n > 1.0).map(|m| {
        let var = profits.iter().map(|p| (p - m).powi(2)).sum::<f64>() / (n - 1.0);
        let half = 1.96 * (var / n).sqrt();
        [m - half, m + half]
    });
    let expected: Vec<f64> = rows
        .iter()
        .filter(|(_, o)| o.is_some())
        .map(|(d, _)| d.expected_profit as f64)
        .collect();
    Day {
        day: Timestamp(day * MICROS_PER_DAY).to_rfc3339()[..10].to_string(),
        decisions: rows.len(),
        offer_share: rows.iter().filter(|(d, _)| d.reserved > 0).count() as f64
            / rows.len().max(1) as f64,
        held: rows.iter().map(|(d, _)| d.reserved).sum(),
        charged: joined.iter().map(|o| o.charged).sum(),
        joined: joined.len(),
        profit_per_decision: mean,
        profit_interval: interval,
        expected_per_decision: (!expected.is_empty())
            .then(|| expected.iter().sum::<f64>() / expected.len() as f64),
    }
}

pub fn run(config: &Config, args: &MonitorArgs, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.recent < args.days,
        "--recent ({}) must be shorter than --days ({})",
        args.recent,
        args.days
    );
    let until = match &args.until {
        Some(t) => Timestamp::parse("--until", t)?.0,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the system clock is before 1970")?
            .as_micros() as i64,
    };
    let from = until - i64::from(args.days) * MICROS_PER_DAY;
    let split = until - i64::from(args.recent) * MICROS_PER_DAY;
    let url = &config.store.url;
    let mut log =
        open_decision_log(url).with_context(|| format!("opening the store {}", redact(url)))?;
    let rows = log.joined_decisions(from, until)?;

    let mut days = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let day = rows[start].0.at.div_euclid(MICROS_PER_DAY);
        let end = start
            + rows[start..]
                .iter()
                .take_while(|(d, _)| d.at.div_euclid(MICROS_PER_DAY) == day)
                .count();
        let refs: Vec<&(DecisionRow, Option<OutcomeRow>)> = rows[start..end].iter().collect();
        days.push(summarise_day(day, &refs));
        start = end;
    }

    // Feature names from the active policy (the vectors are logged in its order).
    let policy = log
        .policies()?
        .into_iter()
        .find(|p| p.active)
        .and_then(|p| serde_json::from_str::<EngineConfig>(&p.config).ok());
    let names: Vec<String> = policy
        .as_ref()
        .map(|c| c.model.features.clone())
        .unwrap_or_default();
    // The reference: the decisions the active response model was trained on when it has a
    // training window, else the days before the recent ones.
    let model = log.active_model(RESPONSE_KIND)?;
    let (reference_rows, reference_label) = match model
        .as_ref()
        .and_then(|m| Some((m.id.clone(), m.window_from?, m.window_to?)))
    {
        Some((id, from, to)) if !args.against_days_before => (
            log.joined_decisions(from, to)?,
            format!(
                "training window of model {id} ({} to {})",
                Timestamp(from).to_rfc3339(),
                Timestamp(to).to_rfc3339()
            ),
        ),
        _ => (
            rows.iter().filter(|(d, _)| d.at < split).cloned().collect(),
            format!(
                "the {} days before the recent {}",
                args.days - args.recent,
                args.recent
            ),
        ),
    };
    let current: Vec<&(DecisionRow, Option<OutcomeRow>)> =
        rows.iter().filter(|(d, _)| d.at >= split).collect();
    let reference_vectors: Vec<Vec<f64>> = reference_rows
        .iter()
        .map(|(d, _)| d.logged_features())
        .collect();
    let current_vectors: Vec<Vec<f64>> = current.iter().map(|(d, _)| d.logged_features()).collect();
    let width = reference_vectors.iter().map(Vec::len).max().unwrap_or(0);
    let column = |set: &[Vec<f64>], j: usize| -> Vec<f64> {
        set.iter().filter_map(|v| v.get(j).copied()).collect()
    };
    let mut drift = Vec::new();
    let mut push = |name: String, r: Vec<f64>, c: Vec<f64>| -> anyhow::Result<()> {
        if r.is_empty() || c.is_empty() {
            return Ok(());
        }
        let psi = discount_eval::drift::psi(&r, &c, args.bins)
            .with_context(|| format!("the stability index of `{name}`"))?;
        drift.push(FeatureDrift {
            feature: name,
            psi,
            reading: reading(psi),
        });
        Ok(())
    };
    for j in 0..width {
        let name = names
            .get(j)
            .cloned()
            .unwrap_or_else(|| format!("feature_{j}"));
        push(
            name,
            column(&reference_vectors, j),
            column(&current_vectors, j),
        )?;
    }
    push(
        "score (expected profit)".into(),
        reference_rows
            .iter()
            .map(|(d, _)| d.expected_profit as f64)
            .collect(),
        current
            .iter()
            .map(|(d, _)| d.expected_profit as f64)
            .collect(),
    )?;
    let periods: Vec<(String, Option<(i64, i64)>)> = policy
        .as_ref()
        .map(|c| {
            c.budgets
                .iter()
                .enumerate()
                .map(|(i, b)| (b.campaign.clone(), b.period(i).ok().flatten()))
                .collect()
        })
        .unwrap_or_default();
    let budgets = log
        .budgets()?
        .into_iter()
        .map(|b| Budget {
            burn: (b.spent + b.reserved) as f64 / b.total.max(1) as f64,
            plan: periods
                .iter()
                .find(|(campaign, _)| *campaign == b.id)
                .and_then(|(_, p)| *p)
                .map(|(start, end)| {
                    ((until - start) as f64 / (end - start).max(1) as f64).clamp(0.0, 1.0)
                }),
            id: b.id,
            total: b.total,
            spent: b.spent,
            reserved: b.reserved,
        })
        .collect();
    let report = MonitorReport {
        from: Timestamp(from).to_rfc3339(),
        recent_days: args.recent,
        until: Timestamp(until).to_rfc3339(),
        days,
        drift_reference: reference_label,
        drift,
        budgets,
    };
    if json {
        return print_json(&report);
    }
    print_report(&report);
    Ok(())
}

fn print_report(r: &MonitorReport) {
    let money = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
    println!("decisions from {} to {}", r.from, r.until);
    let mut t = Table::new(&[
        "day",
        "decisions",
        "offers",
        "held",
        "charged",
        "joined",
        "profit/decision",
        "95% interval",
        "expected",
    ]);
    for d in &r.days {
        t.row(vec![
            d.day.clone(),
            d.decisions.to_string(),
            format!("{:.1}%", d.offer_share * 100.0),
            d.held.to_string(),
            d.charged.to_string(),
            d.joined.to_string(),
            money(d.profit_per_decision),
            d.profit_interval
                .map_or("-".into(), |[a, b]| format!("[{a:.1}, {b:.1}]")),
            money(d.expected_per_decision),
        ]);
    }
    print!("{}", t.render());
    if !r.drift.is_empty() {
        println!(
            "\ndrift of the last {} days against {}",
            r.recent_days, r.drift_reference
        );
        let mut t = Table::new(&["feature", "PSI", "reading"]);
        for f in &r.drift {
            t.row(vec![
                f.feature.clone(),
                format!("{:.4}", f.psi),
                f.reading.into(),
            ]);
        }
        print!("{}", t.render());
    }
    if !r.budgets.is_empty() {
        println!("\nbudgets");
        let mut t = Table::new(&["budget", "total", "spent", "held", "burn", "plan"]);
        for b in &r.budgets {
            t.row(vec![
                b.id.clone(),
                b.total.to_string(),
                b.spent.to_string(),
                b.reserved.to_string(),
                format!("{:.1}%", b.burn * 100.0),
                b.plan.map_or("-".into(), |p| format!("{:.1}%", p * 100.0)),
            ]);
        }
        print!("{}", t.render());
    }
}
