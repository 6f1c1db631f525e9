//! `discount monitor`: is the live policy still fed what it was trained on, and is it earning?

use anyhow::Context;
use discount_core::time::MICROS_PER_DAY;
use discount_core::{Config, Timestamp};
use discount_policy::EngineConfig;
use discount_store::decision_log::{open_decision_log, DecisionRow, OutcomeRow};
use serde::Serialize;

use super::ingest::redact;
use crate::output::{print_json, Table};

/// Watch the live decision loop from its log: per day, decisions, offer share, budget burn, the
/// policy's realised profit per decision with an interval, and how far its expected profit is
/// from what it realised (calibration drift); per feature, the population stability index of the
/// values decided on in the recent days against the reference days before them.
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
}

#[derive(Serialize)]
struct MonitorReport {
    from: String,
    until: String,
    days: Vec<Day>,
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

fn features_of(d: &DecisionRow) -> Vec<f64> {
    #[derive(serde::Deserialize)]
    struct Logged {
        #[serde(default)]
        features: Vec<f64>,
    }
    serde_json::from_str::<Logged>(&d.request)
        .map(|l| l.features)
        .unwrap_or_default()
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
    let names: Vec<String> = log
        .policies()?
        .into_iter()
        .find(|p| p.active)
        .and_then(|p| serde_json::from_str::<EngineConfig>(&p.config).ok())
        .map(|c| c.model.features)
        .unwrap_or_default();
    let (reference, current): (Vec<_>, Vec<_>) = rows.iter().partition(|(d, _)| d.at < split);
    let width = rows.first().map_or(0, |(d, _)| features_of(d).len());
    let column = |set: &[&(DecisionRow, Option<OutcomeRow>)], j: usize| -> Vec<f64> {
        set.iter()
            .filter_map(|(d, _)| features_of(d).get(j).copied())
            .collect()
    };
    let mut drift = Vec::new();
    for j in 0..width {
        let name = names
            .get(j)
            .cloned()
            .unwrap_or_else(|| format!("feature_{j}"));
        let (r, c) = (column(&reference, j), column(&current, j));
        if r.is_empty() || c.is_empty() {
            continue;
        }
        let psi = discount_eval::drift::psi(&r, &c, args.bins)
            .with_context(|| format!("the stability index of `{name}`"))?;
        drift.push(FeatureDrift {
            feature: name,
            psi,
            reading: reading(psi),
        });
    }
    let budgets = log
        .budgets()?
        .into_iter()
        .map(|b| Budget {
            burn: (b.spent + b.reserved) as f64 / b.total.max(1) as f64,
            id: b.id,
            total: b.total,
            spent: b.spent,
            reserved: b.reserved,
        })
        .collect();
    let report = MonitorReport {
        from: Timestamp(from).to_rfc3339(),
        until: Timestamp(until).to_rfc3339(),
        days,
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
        println!("\nfeature drift (recent days against the days before)");
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
        let mut t = Table::new(&["budget", "total", "spent", "held", "burn"]);
        for b in &r.budgets {
            t.row(vec![
                b.id.clone(),
                b.total.to_string(),
                b.spent.to_string(),
                b.reserved.to_string(),
                format!("{:.1}%", b.burn * 100.0),
            ]);
        }
        print!("{}", t.render());
    }
}
