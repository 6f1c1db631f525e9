//! `discount train sequence`: the GRU sequence model on the shop's orders or on CDNOW, next to
//! BG/NBD and RFM logistic.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use discount_core::{Config, Event, EventKind};
use discount_models::artifact::{save_file, Artifact, ArtifactStore, FeatureInfo, TrainingSummary};
use discount_models::ltv::orders::day_of;
use discount_models::ltv::{rfm, OrderLog, Periods};
use discount_models::sequence::cdnow::{self, Comparison, FittedComparison};
use discount_models::sequence::{compare_periods, ComparisonPeriods, GruConfig, SequenceModel};
use serde::Serialize;

use crate::output::{print_json, Table};

/// A public data set to fit on instead of the shop's store.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum SequenceDataset {
    /// The CDNOW sample, with the paper's 39 calibration and 39 holdout weeks.
    Cdnow,
}

/// GRU over purchase sequences, compared with BG/NBD and RFM logistic.
///
/// Trains a GRU over each customer's purchase sequence (type, category, amount and time gap of
/// each order, embedded) and compares its forecast of the holdout period with BG/NBD and an RFM
/// logistic model: correlation with the actual purchases, mean absolute error, and AUC of "buys
/// again".
///
/// By default on the shop's own order events in the store (--store or store.url). The
/// calibration period runs from the first order to --calibration-end (default: the last 25% of
/// the span is held out), the holdout to --holdout-end (default: the last order). The GRU and
/// the RFM models learn within the calibration period (history: its first two thirds; target:
/// the purchases of its last third), then forecast from the whole calibration period. BG/NBD is
/// fitted on the calibration period. With --dataset cdnow: history weeks 1-26, target weeks
/// 27-39, forecast of weeks 40-78.
///
/// --models-dir saves the trained GRU as a versioned artifact
/// <models-dir>/sequence-gru-<shop|cdnow>/<version>.json, --save-model to one file (its version
/// one more than the file's previous one); both hold the weights as plain numbers, the
/// configuration and the GRU's holdout figures as metrics.
///
/// Examples:
///   discount --store shop.sqlite train sequence
///   discount train sequence --calibration-end 2024-06-30 --epochs 20
///   discount train sequence --dataset cdnow
///   discount train sequence --dataset cdnow --epochs 20 --hidden 32 --seed 3
///   discount --json train sequence --dataset cdnow | jq '.comparison.rows'
///   discount train sequence --dataset cdnow --models-dir models
///   discount train sequence --save-model gru.json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct SequenceArgs {
    /// Fit on a public data set instead of the store.
    #[arg(long, value_enum)]
    pub dataset: Option<SequenceDataset>,
    /// Last day of the calibration period [default: the last 25% of the span is holdout].
    #[arg(long, value_name = "DATE", conflicts_with = "dataset")]
    pub calibration_end: Option<String>,
    /// Last day of the holdout period [default: the day of the last order].
    #[arg(long, value_name = "DATE", conflicts_with = "dataset")]
    pub holdout_end: Option<String>,
    /// Currency of the orders to use, when the store has several.
    #[arg(long, value_name = "CODE", conflicts_with = "dataset")]
    pub currency: Option<String>,
    /// Folder holding `cdnow/` (default: $DISCOUNT_DATA_DIR, else ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Passes over the training sequences.
    #[arg(long, default_value_t = GruConfig::default().epochs)]
    pub epochs: usize,
    /// Size of the GRU state (the customer embedding).
    #[arg(long, default_value_t = GruConfig::default().hidden_dim)]
    pub hidden: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = GruConfig::default().learning_rate)]
    pub learning_rate: f64,
    /// Seed of the weight initialisation and batch order.
    #[arg(long, default_value_t = GruConfig::default().seed)]
    pub seed: u64,
    /// Save the GRU as a versioned artifact: <models-dir>/sequence-gru-cdnow/<version>.json.
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
    /// Save the GRU as an artifact to this file.
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    /// Store: fit and report, register nothing (by default the GRU is registered as kind
    /// `sequence`).
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

/// The store's periods and what was read.
#[derive(Serialize)]
struct ShopSequenceSource {
    store: String,
    events: u64,
    order_events: usize,
    currency: String,
    periods: ComparisonPeriods,
}

#[derive(Serialize)]
struct SequenceOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    shop: Option<ShopSequenceSource>,
    comparison: Comparison,
    seconds: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    saved: Vec<SavedArtifact>,
    /// The registry id (store, unless --dry-run).
    #[serde(skip_serializing_if = "Option::is_none")]
    model_id: Option<String>,
}

fn artifact_of(fitted: FittedComparison, dataset: &str) -> Artifact<SequenceModel> {
    let mut metrics = BTreeMap::new();
    if let Some(row) = fitted
        .comparison
        .rows
        .iter()
        .find(|r| r.model.starts_with("GRU"))
    {
        metrics.insert("holdout_correlation".to_string(), row.correlation);
        metrics.insert("holdout_mae".to_string(), row.mae);
        metrics.insert("holdout_auc_buys_again".to_string(), row.auc_buys_again);
    }
    if let Some(loss) = fitted.model.loss_history.last() {
        metrics.insert("final_training_loss".to_string(), *loss);
    }
    let features = vec![FeatureInfo {
        name: "purchase sequence".into(),
        meaning: "per step: event kind, category index, ln(1+amount)/5, ln(1+gap days)/6, ln(1+age days)/6 (see sequence::encode)".into(),
    }];
    Artifact::new(
        &format!("sequence-gru-{dataset}"),
        features,
        TrainingSummary::today(dataset, fitted.training_sequences as u64, None),
        metrics,
        fitted.model,
    )
}

fn save(
    artifact: &mut Artifact<SequenceModel>,
    models_dir: Option<&Path>,
    file: Option<&Path>,
) -> anyhow::Result<Vec<SavedArtifact>> {
    let mut saved = Vec::new();
    if let Some(dir) = models_dir {
        let path = ArtifactStore::new(dir)
            .save(artifact)
            .with_context(|| format!("saving the GRU under {}", dir.display()))?;
        saved.push(SavedArtifact {
            artifact: path,
            version: artifact.version,
            content_hash: artifact.content_hash.clone(),
        });
    }
    if let Some(path) = file {
        save_file(path, artifact)
            .with_context(|| format!("saving the GRU to {}", path.display()))?;
        saved.push(SavedArtifact {
            artifact: path.to_path_buf(),
            version: artifact.version,
            content_hash: artifact.content_hash.clone(),
        });
    }
    Ok(saved)
}

pub fn run(config: &Config, args: &SequenceArgs, json: bool) -> anyhow::Result<()> {
    let gru = GruConfig {
        epochs: args.epochs,
        hidden_dim: args.hidden,
        learning_rate: args.learning_rate,
        seed: args.seed,
        ..GruConfig::default()
    };
    let started = Instant::now();
    let (fitted, shop, dataset) = if args.dataset == Some(SequenceDataset::Cdnow) {
        (fit_cdnow(args, gru)?, None, "cdnow")
    } else {
        let (fitted, shop) = fit_shop(config, args, gru)?;
        (fitted, Some(shop), "shop")
    };
    let seconds = started.elapsed().as_secs_f64();
    let register = (shop.is_some() && !args.dry_run).then_some(config.store.url.as_str());
    report(args, fitted, shop, dataset, seconds, json, register)
}

fn spinner(message: &'static str) -> indicatif::ProgressBar {
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(message);
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

fn fit_cdnow(args: &SequenceArgs, config: GruConfig) -> anyhow::Result<FittedComparison> {
    let sample = super::data_dir(args.data_dir.as_deref())
        .join("cdnow")
        .join("CDNOW_sample.txt");
    let spinner = spinner("fitting BG/NBD, RFM logistic and the GRU on CDNOW");
    let result = cdnow::compare_keeping_model(&sample, config)
        .with_context(|| format!("the CDNOW comparison on {}", sample.display()));
    spinner.finish_and_clear();
    result
}

/// Customers the comparison needs at the least, in training and in the forecast.
const MIN_CUSTOMERS: usize = 10;

fn fit_shop(
    config: &Config,
    args: &SequenceArgs,
    gru: GruConfig,
) -> anyhow::Result<(FittedComparison, ShopSequenceSource)> {
    let mut log = OrderLog::new();
    let mut orders: Vec<Event> = Vec::new();
    let scanned = super::shop::scan(config, &mut |e| {
        if log.push(e) {
            orders.push(e.clone());
        }
    })?;
    let store = &scanned.store;
    let (currency, transactions) =
        super::shop::transactions_in(&log, args.currency.as_deref(), store)?;
    if transactions.is_empty() {
        anyhow::bail!(
            "too little data for the sequence model: the store {store} holds {} events in table \
             `events`, {} of them orders ({:?} per currency, {currency} used); it needs orders \
             from at least {MIN_CUSTOMERS} customers",
            scanned.events,
            log.orders(),
            log.currencies()
        );
    }
    let calibration_end =
        super::shop::day_flag("--calibration-end", args.calibration_end.as_deref())?;
    let holdout_end = super::shop::day_flag("--holdout-end", args.holdout_end.as_deref())?;
    let p = Periods::of(
        &transactions,
        calibration_end.map(day_of),
        holdout_end.map(day_of),
        0.25,
    )
    .with_context(|| format!("the periods of the orders in the store {store}"))?;
    let periods = ComparisonPeriods::of(&p);
    let train = rfm::summarise(&transactions, periods.train_cutoff, periods.calibration_end)?;
    let apply = rfm::summarise(&transactions, periods.calibration_end, periods.holdout_end)?;
    let buyers = |s: &[rfm::CustomerSummary]| s.iter().filter(|c| c.holdout_purchases > 0).count();
    let (train_buyers, apply_buyers) = (buyers(&train), buyers(&apply));
    let enough = |n: usize, buyers: usize| n >= MIN_CUSTOMERS && buyers > 0 && buyers < n;
    if !enough(train.len(), train_buyers)
        || !enough(apply.len(), apply_buyers)
        || apply.iter().all(|c| c.rfm.x == 0.0)
        || periods.train_cutoff >= periods.calibration_end
        || periods.holdout_end <= periods.calibration_end
    {
        anyhow::bail!(
            "too little data for the sequence model: the store {store} (table `events`) has {} \
             orders in {currency}; up to the training cut-off {} {} customers ordered, {} of them \
             again by the calibration end {}; up to the calibration end {} customers ordered, {} \
             of them again by the holdout end {}. Each side needs at least {MIN_CUSTOMERS} \
             customers, some who came back and some who did not, and the periods must not be \
             empty (see --calibration-end, --holdout-end)",
            transactions.len(),
            periods.train_cutoff,
            train.len(),
            train_buyers,
            periods.calibration_end,
            apply.len(),
            apply_buyers,
            periods.holdout_end
        );
    }
    let mut events: BTreeMap<u64, Vec<Event>> = BTreeMap::new();
    let mut items = BTreeSet::new();
    for e in orders {
        if let EventKind::Order { lines, .. } = &e.kind {
            items.extend(lines.iter().map(|l| l.item_id.clone()));
        }
        if let Some(c) = log.customer_number(&e.user_id) {
            events.entry(c).or_default().push(e);
        }
    }
    let items: Vec<String> = items.into_iter().collect();
    let categories = super::shop::item_categories(config, &items)?;
    let category_of = |item: &str| categories.get(item).cloned();
    let spinner = spinner("fitting BG/NBD, RFM logistic and the GRU on the store's orders");
    let result = compare_periods(&transactions, &events, &periods, gru, &category_of)
        .with_context(|| format!("the comparison on the orders of the store {store}"));
    spinner.finish_and_clear();
    let source = ShopSequenceSource {
        store: store.clone(),
        events: scanned.events,
        order_events: log.orders(),
        currency: currency.to_string(),
        periods,
    };
    Ok((result?, source))
}

fn report(
    args: &SequenceArgs,
    fitted: FittedComparison,
    shop: Option<ShopSequenceSource>,
    dataset: &str,
    seconds: f64,
    json: bool,
    register: Option<&str>,
) -> anyhow::Result<()> {
    let comparison = fitted.comparison.clone();
    let mut artifact = artifact_of(fitted, dataset);
    let saved = if args.models_dir.is_some() || args.save_model.is_some() {
        save(
            &mut artifact,
            args.models_dir.as_deref(),
            args.save_model.as_deref(),
        )?
    } else {
        Vec::new()
    };
    let model_id = match register {
        Some(url) => {
            let metric = |name: &str| artifact.metrics.get(name).copied();
            Some(super::registry::register(
                url,
                super::registry::Registration {
                    kind: "sequence",
                    feature_spec: None,
                    window_from: None,
                    window_to: None,
                    training_rows: artifact.training.rows as usize,
                    metrics: vec![
                        ("holdout_correlation", metric("holdout_correlation")),
                        ("holdout_mae", metric("holdout_mae")),
                        ("holdout_auc_buys_again", metric("holdout_auc_buys_again")),
                    ],
                    artifact: serde_json::to_string(&artifact)?,
                },
            )?)
        }
        None => None,
    };
    if json {
        return print_json(&SequenceOutput {
            shop,
            comparison,
            seconds,
            saved,
            model_id,
        });
    }
    match &shop {
        Some(s) => println!(
            "Store {}: {} orders in {}; trained on orders to {} (target to {}), forecast of {} to {}\n{} customers, {} bought in the holdout",
            s.store,
            s.order_events,
            s.currency,
            s.periods.train_cutoff,
            s.periods.calibration_end,
            s.periods.calibration_end,
            s.periods.holdout_end,
            comparison.customers,
            comparison.buyers_in_holdout
        ),
        None => println!(
            "CDNOW sample: {} customers, {} bought in weeks 40-78; forecast of weeks 40-78",
            comparison.customers, comparison.buyers_in_holdout
        ),
    }
    print_table(&comparison);
    println!("{seconds:.1} s");
    if let Some(id) = &model_id {
        println!("registered {id} (sequence, candidate)");
    }
    for s in &saved {
        println!(
            "saved {} (version {}, sha256 {})",
            s.artifact.display(),
            s.version,
            s.content_hash
        );
    }
    Ok(())
}

fn print_table(comparison: &Comparison) {
    let mut t = Table::new(&[
        "model",
        "correlation",
        "MAE",
        "predicted",
        "actual",
        "AUC buys again",
        "AUC ranks by",
    ]);
    for r in &comparison.rows {
        t.row(vec![
            r.model.clone(),
            format!("{:.3}", r.correlation),
            format!("{:.3}", r.mae),
            format!("{:.0}", r.predicted_total),
            format!("{:.0}", r.actual_total),
            format!("{:.3}", r.auc_buys_again),
            r.auc_score.clone(),
        ]);
    }
    print!("{}", t.render());
    let losses: Vec<String> = comparison
        .gru_loss_history
        .iter()
        .map(|l| format!("{l:.3}"))
        .collect();
    println!(
        "GRU training loss (before, then per epoch): {}",
        losses.join(" ")
    );
}
