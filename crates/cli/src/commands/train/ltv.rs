//! `discount train ltv`: BG/NBD and Gamma-Gamma on the shop's own orders, a customer summary
//! file, or the CDNOW sample.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use discount_core::Config;
use discount_models::artifact::{save_file, Artifact, ArtifactStore, FeatureInfo, TrainingSummary};
use discount_models::ltv::orders::day_of;
use discount_models::ltv::{
    cdnow, forecast, holdout, read_summary, rfm, write_forecasts, write_summary, BgNbd,
    BgNbdParams, GammaGamma, GammaGammaParams, HoldoutReport, LtvModel, OrderLog, Periods,
    SummaryRow, TimeUnit,
};
use serde::Serialize;

use super::shop;
use crate::output::{count, print_json, Table};

/// A public data set to fit on instead of the shop's store.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum LtvDataset {
    /// The CDNOW sample of Fader, Hardie & Lee (2005), with the paper's periods.
    Cdnow,
}

/// The time unit of recency, T and the horizon.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum UnitArg {
    Days,
    /// 7 days (fractional: 10 days are 10/7 weeks).
    Weeks,
}

impl UnitArg {
    fn unit(self) -> TimeUnit {
        match self {
            UnitArg::Days => TimeUnit::Days,
            UnitArg::Weeks => TimeUnit::Weeks,
        }
    }
}

/// Fit BG/NBD (repeat purchases and silent drop-out) and Gamma-Gamma (spend per purchase).
///
/// By default on the shop's own orders in the store (--store or store.url): each customer's
/// purchase days (orders of one day count once, their amounts add up) become a summary row as
/// Python lifetimes' summary_data_from_transaction_data counts it:
///   frequency       repeat purchase days (distinct purchase days minus one)
///   recency         first to last purchase day, in --unit
///   T               first purchase day to the calibration end, in --unit
///   monetary_value  mean paid amount of the repeat purchases, in major units (dollars, not
///                   cents) as a float for lifetimes compatibility; 0 without repeat purchases
/// The calibration period runs to --calibration-end (default: the last 25% of the span from the
/// first order to --holdout-end is held out), the holdout to --holdout-end (default: the last
/// order). Customers whose first order falls in the holdout are not summarised. The holdout
/// purchases are then compared with the forecast. Gamma-Gamma is fitted on the customers with
/// repeat purchases of positive mean value; the output says how many it skipped.
///
/// --summary FILE fits on a summary CSV instead (customer,frequency,recency,T,monetary_value, as
/// --write-summary or lifetimes writes it); --dataset cdnow on the CDNOW sample (2,357
/// customers, 39 calibration weeks, forecast of weeks 40-78 against what they bought).
///
/// --predictions FILE writes one row per customer: customer, frequency, recency, T,
/// monetary_value, expected_purchases (over --horizon), p_alive, expected_value (expected
/// purchases times Gamma-Gamma's expected spend per purchase, undiscounted, major units).
/// Nothing is written unless the fit succeeds.
///
/// --save-model writes both fitted models as one artifact (version one more than the file's
/// previous one, content hash, training summary, metrics); --models-dir stores it as
/// <models-dir>/ltv-shop/<version>.json (ltv-cdnow for the CDNOW sample).
///
/// Examples:
///   discount --store shop.sqlite train ltv
///   discount train ltv --calibration-end 2024-06-30 --holdout-end 2024-09-30 --unit days
///   discount train ltv --predictions ltv.csv --horizon 52 --json
///   discount train ltv --summary summary.csv --predictions ltv.csv
///   discount train ltv --dataset cdnow --write-summary cdnow_summary.csv
///   discount train ltv --dataset cdnow --data-dir ../shared/data --json
///   discount train ltv --dataset cdnow --save-model ltv.json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct LtvArgs {
    /// Fit on a public data set instead of the store.
    #[arg(long, value_enum, conflicts_with = "summary")]
    pub dataset: Option<LtvDataset>,
    /// Folder holding `cdnow/` (default: $DISCOUNT_DATA_DIR, else ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Fit on this customer summary CSV (customer,frequency,recency,T,monetary_value).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Last day of the calibration period [default: the last 25% of the span is holdout].
    #[arg(long, value_name = "DATE", conflicts_with_all = ["dataset", "summary"])]
    pub calibration_end: Option<String>,
    /// Last day of the holdout period [default: the day of the last order].
    #[arg(long, value_name = "DATE", conflicts_with_all = ["dataset", "summary"])]
    pub holdout_end: Option<String>,
    /// Unit of recency, T and --horizon (CDNOW: weeks).
    #[arg(long, value_enum, default_value = "weeks", conflicts_with = "dataset")]
    pub unit: UnitArg,
    /// Forecast horizon of --predictions, in --unit [default: the holdout's length, else 52
    /// weeks / 364 days].
    #[arg(long, value_name = "UNITS")]
    pub horizon: Option<f64>,
    /// Currency of the orders to use, when the store has several.
    #[arg(long, value_name = "CODE", conflicts_with_all = ["dataset", "summary"])]
    pub currency: Option<String>,
    /// Write the calibration summary as CSV (lifetimes' layout).
    #[arg(long, value_name = "FILE", conflicts_with = "summary")]
    pub write_summary: Option<PathBuf>,
    /// Write each customer's forecast as CSV.
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,
    /// Write the fitted models as an artifact to this file.
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    /// Store the fitted models as a versioned artifact: <models-dir>/ltv-<source>/<version>.json.
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
    /// Store: fit and report, register nothing in the model registry.
    #[arg(long)]
    pub dry_run: bool,
}

/// Where an artifact was saved.
#[derive(Serialize)]
struct SavedArtifact {
    artifact: PathBuf,
    version: u64,
    content_hash: String,
}

#[derive(Serialize)]
struct LtvOutput {
    customers: usize,
    repeat_customers: usize,
    bgnbd: BgNbdParams,
    bgnbd_log_likelihood: f64,
    bgnbd_published: BgNbdParams,
    bgnbd_published_log_likelihood: f64,
    gamma_gamma: GammaGammaParams,
    gamma_gamma_published: GammaGammaParams,
    population_mean_spend: f64,
    holdout_weeks: f64,
    holdout: HoldoutReport,
    fit_seconds: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    saved: Vec<SavedArtifact>,
}

fn run_cdnow(args: &LtvArgs, json: bool) -> anyhow::Result<()> {
    let dir = super::data_dir(args.data_dir.as_deref()).join("cdnow");
    let sample = dir.join("CDNOW_sample.txt");
    let log = cdnow::read_sample(&sample).with_context(|| {
        format!(
            "reading the CDNOW sample (expected in {}; see --data-dir)",
            dir.display()
        )
    })?;
    let customers = rfm::summarise(&log, cdnow::calibration_end(), cdnow::holdout_end())?;
    let rfm: Vec<_> = customers.iter().map(|c| c.rfm).collect();

    let start = Instant::now();
    let bgnbd = BgNbd::fit(&rfm).context("fitting BG/NBD")?;
    let spend = rfm::repeat_spend(&customers)?;
    let gamma_gamma = GammaGamma::fit(&spend).context("fitting Gamma-Gamma")?;
    let fit_seconds = start.elapsed().as_secs_f64();

    let horizon = (cdnow::holdout_end() - cdnow::calibration_end()).num_days() as f64 / 7.0;
    let predicted: Vec<f64> = rfm
        .iter()
        .map(|c| bgnbd.expected_purchases(c, horizon))
        .collect::<Result<_, _>>()?;
    let actual: Vec<f64> = customers
        .iter()
        .map(|c| c.holdout_purchases as f64)
        .collect();
    let report = holdout::evaluate(&predicted, &actual)?;

    let published = BgNbdParams::new(0.243, 4.414, 0.793, 2.426)?;
    let metrics = BTreeMap::from([
        ("holdout_correlation".to_string(), report.correlation),
        ("holdout_mae".to_string(), report.mae),
        ("holdout_auc_buys_again".to_string(), report.auc_buys_again),
    ]);
    let saved = save_artifacts(
        args,
        "ltv-cdnow",
        "cdnow",
        TimeUnit::Weeks,
        "dollars",
        &bgnbd,
        &gamma_gamma,
        metrics,
        spend.len(),
    )?;
    if args.write_summary.is_some() || args.predictions.is_some() {
        let rows: Vec<SummaryRow> = customers
            .iter()
            .map(|c| SummaryRow::of(c.customer.to_string(), c, 100.0))
            .collect();
        write_files(
            args,
            &rows,
            &bgnbd,
            &gamma_gamma,
            args.horizon.unwrap_or(horizon),
        )?;
    }
    let out = LtvOutput {
        customers: customers.len(),
        repeat_customers: spend.len(),
        bgnbd: bgnbd.params,
        bgnbd_log_likelihood: bgnbd.log_likelihood,
        bgnbd_published: published,
        bgnbd_published_log_likelihood: -9582.4,
        gamma_gamma: gamma_gamma.params,
        gamma_gamma_published: GammaGammaParams {
            p: 6.25,
            q: 3.74,
            v: 15.44,
        },
        population_mean_spend: gamma_gamma.population_mean_spend(),
        holdout_weeks: horizon,
        holdout: report,
        fit_seconds,
        saved,
    };
    if json {
        return print_json(&out);
    }
    println!(
        "CDNOW sample: {} customers, {} with repeat purchases in the 39 calibration weeks\n",
        count(out.customers as i64),
        count(out.repeat_customers as i64)
    );
    let mut t = Table::new(&["model", "parameter", "fitted", "published"]);
    let p = &out.bgnbd;
    for (name, ours, theirs) in [
        ("r", p.r, published.r),
        ("alpha", p.alpha, published.alpha),
        ("a", p.a, published.a),
        ("b", p.b, published.b),
        ("log-likelihood", out.bgnbd_log_likelihood, -9582.4),
    ] {
        t.row(vec![
            "BG/NBD".into(),
            name.into(),
            format!("{ours:.4}"),
            format!("{theirs}"),
        ]);
    }
    let g = &out.gamma_gamma;
    for (name, ours, theirs) in [("p", g.p, 6.25), ("q", g.q, 3.74), ("v", g.v, 15.44)] {
        t.row(vec![
            "Gamma-Gamma".into(),
            name.into(),
            format!("{ours:.4}"),
            format!("{theirs}"),
        ]);
    }
    print!("{}", t.render());
    println!(
        "\nMean spend per purchase (population): ${:.2}",
        out.population_mean_spend
    );
    let h = &out.holdout;
    println!(
        "\nForecast of weeks 40-78 ({:.0} weeks) against actual purchases:",
        out.holdout_weeks
    );
    print!("{}", holdout_table(h));
    println!("\nFitted both models in {:.3} s", out.fit_seconds);
    for s in &out.saved {
        println!(
            "saved {} (version {}, sha256 {})",
            s.artifact.display(),
            s.version,
            s.content_hash
        );
    }
    Ok(())
}

/// Customers the models need at the least: BG/NBD's four parameters from fewer customers, or
/// from fewer repeat buyers, are noise.
const MIN_CUSTOMERS: usize = 10;
const MIN_REPEAT_CUSTOMERS: usize = 2;
/// Gamma-Gamma's three parameters need at least this many customers with positive repeat spend.
const MIN_SPEND_CUSTOMERS: usize = 2;

pub fn run(config: &Config, args: &LtvArgs, json: bool) -> anyhow::Result<()> {
    if args.dataset == Some(LtvDataset::Cdnow) {
        return run_cdnow(args, json);
    }
    run_shop(config, args, json)
}

/// Saves both models as an artifact under --models-dir and/or to --save-model.
#[allow(clippy::too_many_arguments)]
fn save_artifacts(
    args: &LtvArgs,
    name: &str,
    dataset: &str,
    unit: TimeUnit,
    money: &str,
    bgnbd: &BgNbd,
    gamma_gamma: &GammaGamma,
    mut metrics: BTreeMap<String, f64>,
    spend_customers: usize,
) -> anyhow::Result<Vec<SavedArtifact>> {
    let mut saved = Vec::new();
    if args.save_model.is_none() && args.models_dir.is_none() {
        return Ok(saved);
    }
    metrics.insert("bgnbd_log_likelihood".to_string(), bgnbd.log_likelihood);
    metrics.insert(
        "gamma_gamma_log_likelihood".to_string(),
        gamma_gamma.log_likelihood,
    );
    let unit = unit.name();
    let features = vec![
        FeatureInfo {
            name: "x".into(),
            meaning: "repeat purchase days in the calibration period".into(),
        },
        FeatureInfo {
            name: "t_x".into(),
            meaning: format!("{unit} from the first to the last purchase"),
        },
        FeatureInfo {
            name: "T".into(),
            meaning: format!("{unit} from the first purchase to the end of calibration"),
        },
        FeatureInfo {
            name: "mean_spend".into(),
            meaning: format!("mean spend per repeat purchase, {money} (Gamma-Gamma)"),
        },
    ];
    let mut artifact = Artifact::new(
        name,
        features,
        TrainingSummary::today(
            dataset,
            bgnbd.customers as u64,
            Some(spend_customers as u64),
        ),
        metrics,
        LtvModel {
            bgnbd: bgnbd.clone(),
            gamma_gamma: gamma_gamma.clone(),
        },
    );
    if let Some(dir) = &args.models_dir {
        let path = ArtifactStore::new(dir)
            .save(&mut artifact)
            .with_context(|| format!("saving the LTV artifact under {}", dir.display()))?;
        saved.push(SavedArtifact {
            artifact: path,
            version: artifact.version,
            content_hash: artifact.content_hash.clone(),
        });
    }
    if let Some(path) = &args.save_model {
        save_file(path, &mut artifact).with_context(|| format!("writing {}", path.display()))?;
        saved.push(SavedArtifact {
            artifact: path.clone(),
            version: artifact.version,
            content_hash: artifact.content_hash.clone(),
        });
    }
    Ok(saved)
}

/// Writes --write-summary and --predictions.
fn write_files(
    args: &LtvArgs,
    rows: &[SummaryRow],
    bgnbd: &BgNbd,
    gamma_gamma: &GammaGamma,
    horizon: f64,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    if let Some(path) = &args.write_summary {
        write_summary(path, rows).with_context(|| format!("writing {}", path.display()))?;
        written.push(path.clone());
    }
    if let Some(path) = &args.predictions {
        let forecasts = forecast(bgnbd, gamma_gamma, rows, horizon)?;
        write_forecasts(path, &forecasts).with_context(|| format!("writing {}", path.display()))?;
        written.push(path.clone());
    }
    Ok(written)
}

/// Where the shop's summary came from.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ShopSource {
    Store {
        store: String,
        events: u64,
        order_events: usize,
        currency: String,
        /// Customers with at least one order in the currency.
        customers_with_orders: usize,
        /// Of those, customers whose first order falls after the calibration end (not
        /// summarised).
        customers_first_ordered_after_calibration: usize,
        periods: Periods,
    },
    Summary {
        file: PathBuf,
    },
}

#[derive(Serialize)]
struct ShopOutput {
    source: ShopSource,
    unit: TimeUnit,
    /// Customers in the summary (BG/NBD's training rows).
    customers: usize,
    repeat_customers: usize,
    bgnbd: BgNbdParams,
    bgnbd_log_likelihood: f64,
    /// Customers Gamma-Gamma was fitted on: repeat purchases of positive mean value.
    gamma_gamma_customers: usize,
    /// Customers Gamma-Gamma skipped: no repeat purchase.
    gamma_gamma_skipped_no_repeat: usize,
    /// Customers Gamma-Gamma skipped: repeat purchases of zero mean value.
    gamma_gamma_skipped_zero_spend: usize,
    gamma_gamma: GammaGammaParams,
    gamma_gamma_log_likelihood: f64,
    /// The Gamma-Gamma optimum lies at the edge of the parameter space (p above 1e4 or v below
    /// 1e-6): per-purchase amounts vary too little within customers for the model to separate
    /// them from the differences between customers.
    gamma_gamma_at_boundary: bool,
    /// Population mean spend per purchase (major units; not finite when q <= 1).
    population_mean_spend: f64,
    horizon: f64,
    expected_purchases_total: f64,
    expected_value_total: f64,
    /// The forecast of the holdout period against the purchases made in it (store only, when
    /// the holdout has buyers and non-buyers).
    #[serde(skip_serializing_if = "Option::is_none")]
    holdout: Option<HoldoutReport>,
    fit_seconds: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    written: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    saved: Vec<SavedArtifact>,
    /// Expected purchases and value (major units) over the horizon of a customer who has just
    /// made a first purchase: what turning a prospect into a buyer is worth.
    new_buyer_purchases: f64,
    new_buyer_value: f64,
    /// The registry id (store source, unless --dry-run).
    #[serde(skip_serializing_if = "Option::is_none")]
    model_id: Option<String>,
}

/// Registers the fitted models in the store's model registry as a candidate of kind `ltv`.
#[allow(clippy::too_many_arguments)]
fn register_ltv(
    config: &Config,
    unit: TimeUnit,
    currency: &str,
    calibration_end: i64,
    customers: usize,
    bgnbd: &BgNbd,
    gamma_gamma: &GammaGamma,
    metrics: &BTreeMap<String, f64>,
) -> anyhow::Result<String> {
    let artifact = serde_json::to_string(&serde_json::json!({
        "unit": unit.name(),
        "currency": currency,
        "model": LtvModel { bgnbd: bgnbd.clone(), gamma_gamma: gamma_gamma.clone() },
    }))?;
    const NAMES: [&str; 8] = [
        "new_buyer_purchases",
        "new_buyer_value",
        "horizon",
        "holdout_correlation",
        "holdout_mae",
        "holdout_auc_buys_again",
        "bgnbd_log_likelihood",
        "gamma_gamma_log_likelihood",
    ];
    super::registry::register(
        &config.store.url,
        super::registry::Registration {
            kind: "ltv",
            feature_spec: None,
            window_from: None,
            window_to: Some(calibration_end),
            training_rows: customers,
            metrics: NAMES
                .iter()
                .map(|n| (*n, metrics.get(*n).copied()))
                .collect(),
            artifact,
        },
    )
}

/// The store's calibration summary, its holdout purchases and where it came from.
fn store_summary(
    config: &Config,
    args: &LtvArgs,
    unit: TimeUnit,
) -> anyhow::Result<(Vec<SummaryRow>, Vec<f64>, ShopSource, f64)> {
    let mut log = OrderLog::new();
    let scanned = shop::scan(config, &mut |e| {
        log.push(e);
    })?;
    let store = &scanned.store;
    if log.orders() == 0 {
        anyhow::bail!(
            "too little data for LTV: the store {store} holds {} events in table `events`, none \
             of them an order; BG/NBD needs orders from at least {MIN_CUSTOMERS} customers",
            scanned.events
        );
    }
    let (currency, transactions) = shop::transactions_in(&log, args.currency.as_deref(), store)?;
    if transactions.is_empty() {
        anyhow::bail!(
            "too little data for LTV: the store {store} has no orders in {currency} (orders per \
             currency: {:?})",
            log.currencies()
        );
    }
    let calibration_end = shop::day_flag("--calibration-end", args.calibration_end.as_deref())?;
    let holdout_end = shop::day_flag("--holdout-end", args.holdout_end.as_deref())?;
    let periods = Periods::of(
        &transactions,
        calibration_end.map(day_of),
        holdout_end.map(day_of),
        0.25,
    )
    .with_context(|| format!("the periods of the orders in the store {store}"))?;
    let customers = rfm::summarise_in(
        &transactions,
        periods.calibration_end,
        periods.holdout_end,
        unit,
    )?;
    let mut with_orders: Vec<u64> = transactions.iter().map(|t| t.customer).collect();
    with_orders.sort_unstable();
    with_orders.dedup();
    let repeat = customers.iter().filter(|c| c.rfm.x > 0.0).count();
    if customers.len() < MIN_CUSTOMERS || repeat < MIN_REPEAT_CUSTOMERS {
        anyhow::bail!(
            "too little data for LTV: the store {store} (table `events`) has {} orders in {currency} \
             from {} customers; {} of them ordered by the calibration end {} and {repeat} of those \
             came back on another day; BG/NBD needs at least {MIN_CUSTOMERS} customers with orders \
             in the calibration period, {MIN_REPEAT_CUSTOMERS} of them with repeat purchases \
             (see --calibration-end)",
            transactions.len(),
            with_orders.len(),
            customers.len(),
            periods.calibration_end
        );
    }
    let minor_per_major = 10f64.powi(currency.exponent() as i32);
    let rows = customers
        .iter()
        .map(|c| SummaryRow::of(log.customer_id(c.customer).to_string(), c, minor_per_major))
        .collect();
    let actual = customers
        .iter()
        .map(|c| f64::from(c.holdout_purchases))
        .collect();
    let holdout_units = periods.holdout_days() as f64 / unit.days();
    let source = ShopSource::Store {
        store: store.clone(),
        events: scanned.events,
        order_events: log.orders(),
        currency: currency.to_string(),
        customers_with_orders: with_orders.len(),
        customers_first_ordered_after_calibration: with_orders.len() - customers.len(),
        periods,
    };
    Ok((rows, actual, source, holdout_units))
}

fn run_shop(config: &Config, args: &LtvArgs, json: bool) -> anyhow::Result<()> {
    let unit = args.unit.unit();
    let (rows, actual, source, holdout_units) = match &args.summary {
        Some(path) => {
            let rows = read_summary(path)?;
            let repeat = rows.iter().filter(|r| r.frequency > 0.0).count();
            if rows.len() < MIN_CUSTOMERS || repeat < MIN_REPEAT_CUSTOMERS {
                anyhow::bail!(
                    "too little data for LTV: {} has {} customer rows, {repeat} of them with \
                     frequency > 0; BG/NBD needs at least {MIN_CUSTOMERS} rows, \
                     {MIN_REPEAT_CUSTOMERS} of them with repeat purchases",
                    path.display(),
                    rows.len()
                );
            }
            let source = ShopSource::Summary { file: path.clone() };
            (rows, Vec::new(), source, 0.0)
        }
        None => store_summary(config, args, unit)?,
    };
    let spend: Vec<_> = rows.iter().filter_map(SummaryRow::spend).collect();
    let no_repeat = rows.iter().filter(|r| r.frequency == 0.0).count();
    let zero_spend = rows.iter().filter(|r| r.has_zero_repeat_spend()).count();
    if spend.len() < MIN_SPEND_CUSTOMERS {
        anyhow::bail!(
            "too little data for Gamma-Gamma: of {} customers, {} have repeat purchases and {} of \
             those a positive mean repeat spend ({zero_spend} spent nothing on their repeats); it \
             needs at least {MIN_SPEND_CUSTOMERS}",
            rows.len(),
            rows.len() - no_repeat,
            spend.len()
        );
    }
    let rfms: Vec<_> = rows.iter().map(SummaryRow::rfm).collect();
    let start = Instant::now();
    let bgnbd = BgNbd::fit(&rfms).context("fitting BG/NBD")?;
    let gamma_gamma = GammaGamma::fit(&spend).context("fitting Gamma-Gamma")?;
    let fit_seconds = start.elapsed().as_secs_f64();

    let default_horizon = if holdout_units > 0.0 {
        holdout_units
    } else {
        364.0 / unit.days()
    };
    let horizon = args.horizon.unwrap_or(default_horizon);
    let forecasts = forecast(&bgnbd, &gamma_gamma, &rows, horizon)
        .with_context(|| format!("forecasting {horizon} {}", unit.name()))?;
    let holdout = if holdout_units > 0.0 && actual.iter().any(|a| *a > 0.0) {
        let predicted = rows
            .iter()
            .map(|r| bgnbd.expected_purchases(&r.rfm(), holdout_units))
            .collect::<Result<Vec<_>, _>>()?;
        holdout::evaluate(&predicted, &actual).ok()
    } else {
        None
    };
    let new_buyer = discount_models::ltv::Rfm {
        x: 0.0,
        t_x: 0.0,
        t: 0.0,
    };
    let new_buyer_purchases = bgnbd
        .expected_purchases(&new_buyer, horizon)
        .context("the expected purchases of a new buyer")?;
    let new_buyer_value = new_buyer_purchases * gamma_gamma.population_mean_spend();
    let mut metrics = BTreeMap::new();
    metrics.insert("new_buyer_purchases".to_string(), new_buyer_purchases);
    metrics.insert("new_buyer_value".to_string(), new_buyer_value);
    metrics.insert("horizon".to_string(), horizon);
    if let Some(h) = &holdout {
        metrics.insert("holdout_correlation".to_string(), h.correlation);
        metrics.insert("holdout_mae".to_string(), h.mae);
        metrics.insert("holdout_auc_buys_again".to_string(), h.auc_buys_again);
    }
    let money = match &source {
        ShopSource::Store { currency, .. } => format!("major units of {currency}"),
        ShopSource::Summary { .. } => "the summary's monetary_value unit".to_string(),
    };
    // Every check has passed: only now is anything written.
    let written = write_files(args, &rows, &bgnbd, &gamma_gamma, horizon)?;
    let model_id = match &source {
        ShopSource::Store {
            currency, periods, ..
        } if !args.dry_run => {
            let mut all = metrics.clone();
            all.insert("bgnbd_log_likelihood".to_string(), bgnbd.log_likelihood);
            let end = periods
                .calibration_end
                .and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp_micros());
            Some(register_ltv(
                config,
                unit,
                currency,
                end,
                rows.len(),
                &bgnbd,
                &gamma_gamma,
                &all,
            )?)
        }
        _ => None,
    };
    let saved = save_artifacts(
        args,
        "ltv-shop",
        "shop",
        unit,
        &money,
        &bgnbd,
        &gamma_gamma,
        metrics,
        spend.len(),
    )?;
    let out = ShopOutput {
        source,
        unit,
        customers: rows.len(),
        repeat_customers: rows.len() - no_repeat,
        bgnbd: bgnbd.params,
        bgnbd_log_likelihood: bgnbd.log_likelihood,
        gamma_gamma_customers: spend.len(),
        gamma_gamma_skipped_no_repeat: no_repeat,
        gamma_gamma_skipped_zero_spend: zero_spend,
        gamma_gamma: gamma_gamma.params,
        gamma_gamma_log_likelihood: gamma_gamma.log_likelihood,
        gamma_gamma_at_boundary: gamma_gamma.params.p > 1e4 || gamma_gamma.params.v < 1e-6,
        population_mean_spend: gamma_gamma.population_mean_spend(),
        horizon,
        expected_purchases_total: forecasts.iter().map(|f| f.expected_purchases).sum(),
        expected_value_total: forecasts.iter().map(|f| f.expected_value).sum(),
        holdout,
        fit_seconds,
        written,
        saved,
        new_buyer_purchases,
        new_buyer_value,
        model_id,
    };
    if json {
        return print_json(&out);
    }
    print_shop(&out);
    Ok(())
}

fn print_shop(out: &ShopOutput) {
    let unit = out.unit.name();
    match &out.source {
        ShopSource::Store {
            store,
            order_events,
            currency,
            customers_with_orders,
            customers_first_ordered_after_calibration,
            periods,
            ..
        } => {
            println!(
                "Store {store}: {} orders in {currency} from {} customers",
                count(*order_events as i64),
                count(*customers_with_orders as i64)
            );
            println!(
                "calibration {} to {}, holdout to {} ({} customers first ordered in the holdout)",
                periods.first_day,
                periods.calibration_end,
                periods.holdout_end,
                count(*customers_first_ordered_after_calibration as i64)
            );
        }
        ShopSource::Summary { file } => println!("Summary {}", file.display()),
    }
    println!(
        "{} customers, {} with repeat purchases; times in {unit}\n",
        count(out.customers as i64),
        count(out.repeat_customers as i64)
    );
    let mut t = Table::new(&["model", "parameter", "fitted"]);
    let p = &out.bgnbd;
    for (name, value) in [
        ("r", p.r),
        ("alpha", p.alpha),
        ("a", p.a),
        ("b", p.b),
        ("log-likelihood", out.bgnbd_log_likelihood),
    ] {
        t.row(vec!["BG/NBD".into(), name.into(), format!("{value:.4}")]);
    }
    let g = &out.gamma_gamma;
    for (name, value) in [
        ("p", g.p),
        ("q", g.q),
        ("v", g.v),
        ("log-likelihood", out.gamma_gamma_log_likelihood),
    ] {
        t.row(vec![
            "Gamma-Gamma".into(),
            name.into(),
            format!("{value:.4}"),
        ]);
    }
    print!("{}", t.render());
    println!(
        "\nGamma-Gamma fitted on {} customers; skipped {} without repeat purchases and {} whose \
         repeats were free",
        count(out.gamma_gamma_customers as i64),
        count(out.gamma_gamma_skipped_no_repeat as i64),
        count(out.gamma_gamma_skipped_zero_spend as i64)
    );
    if out.gamma_gamma_at_boundary {
        println!(
            "Gamma-Gamma's optimum is at the edge of its parameter space (p = {:.3e}, v = {:.3e}): \
             purchase amounts vary too little within customers to tell them from differences \
             between customers; each customer's expected spend is then close to their own mean",
            g.p, g.v
        );
    }
    println!(
        "Mean spend per purchase (population): {:.2}",
        out.population_mean_spend
    );
    println!(
        "Next {:.1} {unit}: {:.1} purchases expected, worth {:.2}",
        out.horizon, out.expected_purchases_total, out.expected_value_total
    );
    if let Some(h) = &out.holdout {
        println!("\nForecast of the holdout against actual purchases:");
        print!("{}", holdout_table(h));
    }
    println!("\nFitted both models in {:.3} s", out.fit_seconds);
    for path in &out.written {
        println!("wrote {}", path.display());
    }
    for s in &out.saved {
        println!(
            "saved {} (version {}, sha256 {})",
            s.artifact.display(),
            s.version,
            s.content_hash
        );
    }
    println!(
        "a new buyer is worth {:.2} purchases and {:.2} (major units) over {} {}",
        out.new_buyer_purchases,
        out.new_buyer_value,
        out.horizon,
        out.unit.name()
    );
    if let Some(id) = &out.model_id {
        println!(
            "registered {id} (ltv, candidate); activate it with: discount models promote {id}"
        );
    }
}

/// The holdout forecast against what customers bought, as a table.
fn holdout_table(h: &HoldoutReport) -> String {
    let mut t = Table::new(&["metric", "value"]);
    for (metric, value) in [
        ("forecast total", format!("{:.1}", h.predicted_total)),
        ("actual total", format!("{:.0}", h.actual_total)),
        ("correlation per customer", format!("{:.4}", h.correlation)),
        ("MAE per customer", format!("{:.4}", h.mae)),
        ("RMSE per customer", format!("{:.4}", h.rmse)),
        ("AUC of buys again", format!("{:.4}", h.auc_buys_again)),
    ] {
        t.row(vec![metric.into(), value]);
    }
    t.render()
}
