//! `discount train propensity` on the shop's own store: will this customer order within the next
//! `--horizon` days? One row per customer and weekly snapshot, features as of the snapshot through
//! the function the service decides with, labelled by the orders that followed; trained on the
//! earlier snapshots, judged on the later ones, and registered in the model registry.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use discount_core::time::MICROS_PER_DAY;
use discount_core::{Config, Event, EventKind, Timestamp};
use discount_features::{items_named, point_in_time, Catalog, FeatureSpec};
use discount_models::artifact::FeatureInfo;
use discount_models::propensity::metrics::{log_loss, roc_auc};
use discount_models::propensity::{Learner, Matrix, Model, ModelKind};
use serde::Serialize;

use super::propensity::{ModelArg, PropensityArgs};
use super::shop;
use crate::output::{print_json, Table};

/// L2 of the logistic model on the store (sum-of-losses scale): store features (counts over
/// nested windows, spend) are collinear and rare events nearly separate the classes, where a weak
/// penalty lets Newton's method run off to extreme weights.
const DEFAULT_LOGISTIC_L2: f64 = 100.0;

/// The registry kind of these models.
pub const KIND: &str = "propensity";

#[derive(Serialize)]
struct StoreOutput {
    model_id: Option<String>,
    model: String,
    feature_spec: String,
    horizon_days: u32,
    every_days: u32,
    customers: usize,
    events: u64,
    snapshots: usize,
    cutoff: String,
    training_rows: usize,
    training_positives: usize,
    validation_rows: usize,
    validation_positives: usize,
    auc: Option<f64>,
    log_loss: Option<f64>,
    /// The order rate of the training rows: what a model without features would predict.
    base_rate: f64,
}

/// One customer's history, oldest first.
fn by_customer(events: Vec<Event>) -> BTreeMap<String, Vec<Event>> {
    let mut out: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for e in events {
        out.entry(e.user_id.clone()).or_default().push(e);
    }
    out
}

pub fn run(config: &Config, args: &PropensityArgs, json: bool) -> anyhow::Result<()> {
    let kind = match args.model.unwrap_or(ModelArg::Gbdt) {
        ModelArg::Logistic => ModelKind::Logistic,
        ModelArg::Gbdt => ModelKind::Gbdt,
        ModelArg::Fm => ModelKind::Fm,
        ModelArg::Mlp => ModelKind::Mlp,
        ModelArg::All => bail!(
            "--model all compares models on a public data set (--dataset online-shoppers); on the \
             store, pick the one to register: --model logistic|gbdt|fm|mlp"
        ),
    };
    let data = snapshot_rows(config, args.horizon, args.every, args.cutoff.as_deref())?;
    let SnapshotRows {
        scanned,
        customers,
        snapshots,
        first,
        first_valid,
        spec,
        names,
        train,
        train_y,
        valid,
        valid_y,
    } = data;
    let positives = |y: &[f64]| y.iter().filter(|v| **v > 0.5).count();
    let (tp, vp) = (positives(&train_y), positives(&valid_y));
    let mut model: Model = match kind {
        ModelKind::Gbdt => Model::Gbdt(discount_models::propensity::GradientBoostedTrees::new(
            args.gbdt.config(&names)?,
        )?),
        ModelKind::Logistic => {
            Model::Logistic(discount_models::propensity::LogisticRegression::new(
                discount_models::propensity::LogisticConfig {
                    l2: args.gbdt.l2.unwrap_or(DEFAULT_LOGISTIC_L2),
                    ..Default::default()
                },
            )?)
        }
        other => other.build()?,
    };
    model.fit(&train, &train_y, None)?;
    let predicted = if valid_y.is_empty() {
        Vec::new()
    } else {
        model.predict(&valid)?
    };
    let auc = roc_auc(&predicted, &valid_y).ok();
    let loss = log_loss(&predicted, &valid_y).ok();
    // A fit that predicts the later snapshots worse than the training base rate would is a
    // failed fit: it is not registered.
    let base_rate = tp as f64 / train_y.len() as f64;
    let base_loss = log_loss(&vec![base_rate; valid_y.len()], &valid_y).ok();
    if let (Some(l), Some(b)) = (loss, base_loss) {
        if l > b {
            bail!(
                "the {} model failed: its validation log-loss {l:.4} (AUC {}) is worse than \
                 predicting the training base rate {base_rate:.4} for everyone ({b:.4}); nothing \
                 registered. Try --model gbdt, or a stronger --l2",
                kind.as_str(),
                auc.map_or("-".into(), |a| format!("{a:.4}"))
            );
        }
    }
    let registered = !args.dry_run;
    let model_id = if registered {
        let artifact = serde_json::to_string(&serde_json::json!({
            "feature_spec": spec.id(),
            "features": names,
            "horizon_days": args.horizon,
            "model": model,
        }))?;
        Some(super::registry::register(
            &config.store.url,
            super::registry::Registration {
                kind: KIND,
                feature_spec: Some(spec.id()),
                window_from: Some(first),
                window_to: Some(first_valid),
                training_rows: train_y.len(),
                metrics: vec![
                    ("auc", auc),
                    ("log_loss", loss),
                    ("validation_rows", Some(valid_y.len() as f64)),
                    ("base_rate", Some(base_rate)),
                    ("base_rate_log_loss", base_loss),
                ],
                artifact,
            },
        )?)
    } else {
        None
    };
    let out = StoreOutput {
        model_id,
        model: kind.as_str().into(),
        feature_spec: spec.id(),
        horizon_days: args.horizon,
        every_days: args.every,
        customers,
        events: scanned.events,
        snapshots: snapshots.len(),
        cutoff: Timestamp(first_valid).to_rfc3339(),
        training_rows: train_y.len(),
        training_positives: tp,
        validation_rows: valid_y.len(),
        validation_positives: vp,
        auc,
        log_loss: loss,
        base_rate,
    };
    if json {
        return print_json(&out);
    }
    println!(
        "Purchase within {} days, from the store {}: {} customers, {} events, {} snapshots every {} days",
        out.horizon_days, scanned.store, out.customers, out.events, out.snapshots, out.every_days
    );
    let mut table = Table::new(&["", "rows", "ordered", "auc", "log_loss"]);
    let fmt = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.4}"));
    table.row(vec![
        format!("train (before {})", out.cutoff),
        out.training_rows.to_string(),
        out.training_positives.to_string(),
        "-".into(),
        "-".into(),
    ]);
    table.row(vec![
        "validation".into(),
        out.validation_rows.to_string(),
        out.validation_positives.to_string(),
        fmt(out.auc),
        fmt(out.log_loss),
    ]);
    println!("{}", table.render());
    match &out.model_id {
        Some(id) => println!("registered {id} ({}, candidate)", out.model),
        None => println!("--dry-run: nothing registered"),
    }
    Ok(())
}

/// One row per customer and snapshot from the configured store: features as of the snapshot,
/// labelled by an order within `horizon_days` after it; the snapshots from `cutoff` (default:
/// the last quarter) validate, and training rows end their horizon before it.
pub(crate) struct SnapshotRows {
    pub scanned: shop::Scanned,
    pub customers: usize,
    pub snapshots: Vec<i64>,
    pub first: i64,
    pub first_valid: i64,
    pub spec: FeatureSpec,
    pub names: Vec<FeatureInfo>,
    pub train: Matrix,
    pub train_y: Vec<f64>,
    pub valid: Matrix,
    pub valid_y: Vec<f64>,
}

/// Builds [`SnapshotRows`] from the store `config` names.
pub(crate) fn snapshot_rows(
    config: &Config,
    horizon_days: u32,
    every_days: u32,
    cutoff: Option<&str>,
) -> anyhow::Result<SnapshotRows> {
    if horizon_days == 0 || every_days == 0 {
        bail!("--horizon and --every must be at least 1 day");
    }
    let mut events = Vec::new();
    let scanned = shop::scan(config, &mut |e| events.push(e.clone()))?;
    let customers = by_customer(events);
    let orders: Vec<i64> = customers
        .values()
        .flatten()
        .filter(|e| matches!(e.kind, EventKind::Order { .. }))
        .map(|e| e.time.0)
        .collect();
    let (Some(first), Some(last)) = (
        customers.values().flatten().map(|e| e.time.0).min(),
        customers.values().flatten().map(|e| e.time.0).max(),
    ) else {
        bail!(
            "too little data: the store {} has no events (table `events`); ingest the shop's \
             events first (discount ingest FILE)",
            scanned.store
        );
    };
    let horizon = i64::from(horizon_days) * MICROS_PER_DAY;
    let every = i64::from(every_days) * MICROS_PER_DAY;
    // Snapshots: from a week into the history until the last one whose horizon the data covers.
    let mut snapshots = Vec::new();
    let mut t = first + every;
    while t + horizon <= last {
        snapshots.push(t);
        t += every;
    }
    if snapshots.len() < 2 || orders.len() < 10 {
        bail!(
            "too little data: the store {} holds {} events and {} orders (table `events`) over {:.0} \
             days; propensity needs at least 10 orders and two {}-day snapshots each followed by a \
             {}-day horizon ({} days of events)",
            scanned.store,
            scanned.events,
            orders.len(),
            (last - first) as f64 / MICROS_PER_DAY as f64,
            every_days,
            horizon_days,
            2 * every_days + horizon_days
        );
    }
    // The later share of snapshots validates; training snapshots end their horizon before the
    // first validation snapshot, so no training label looks into the validation period.
    let first_valid = match cutoff {
        Some(text) => {
            let t = Timestamp::parse("--cutoff", text)?.0;
            if t <= snapshots[0] || t > snapshots[snapshots.len() - 1] {
                bail!(
                    "--cutoff {text}: the snapshots run from {} to {}; the cut-off must leave \
                     snapshots on both sides",
                    Timestamp(snapshots[0]).to_rfc3339(),
                    Timestamp(snapshots[snapshots.len() - 1]).to_rfc3339()
                );
            }
            t
        }
        None => {
            let at =
                (((snapshots.len() as f64) * 0.75).floor() as usize).clamp(1, snapshots.len() - 1);
            snapshots[at]
        }
    };
    let spec = FeatureSpec::base();
    let names: Vec<FeatureInfo> = spec
        .all_features()
        .into_iter()
        .map(|f| FeatureInfo {
            meaning: f.meaning,
            name: f.name,
        })
        .collect();
    let d = names.len();
    let all_items: Vec<String> = {
        let all: Vec<Event> = customers.values().flatten().cloned().collect();
        items_named(&all)
    };
    let catalog: Catalog = shop::item_categories(config, &all_items)?
        .into_iter()
        .collect();
    let (mut train_x, mut train_y, mut valid_x, mut valid_y) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (customer, history) in &customers {
        for &t in &snapshots {
            if history.first().is_none_or(|e| e.time.0 > t) {
                continue; // not a customer yet
            }
            let ordered = history.iter().any(|e| {
                matches!(e.kind, EventKind::Order { .. }) && e.time.0 > t && e.time.0 <= t + horizon
            });
            let (_, x) = point_in_time(customer, history, &catalog, Timestamp(t))
                .with_context(|| format!("features of customer {customer}"))?;
            let y = f64::from(u8::from(ordered));
            if t >= first_valid {
                valid_x.extend(x);
                valid_y.push(y);
            } else if t + horizon <= first_valid {
                train_x.extend(x);
                train_y.push(y);
            }
        }
    }
    let positives = |y: &[f64]| y.iter().filter(|v| **v > 0.5).count();
    let tp = positives(&train_y);
    if tp < 5 || train_y.len() - tp < 5 {
        bail!(
            "too little data: the training snapshots hold {} customer rows with {tp} orders in \
             their horizon; at least 5 with and 5 without are needed (a longer history, or a \
             shorter --every)",
            train_y.len()
        );
    }
    let train = Matrix::new(train_y.len(), d, train_x)?;
    let valid = Matrix::new(valid_y.len(), d, valid_x)?;
    Ok(SnapshotRows {
        scanned,
        customers: customers.len(),
        snapshots,
        first,
        first_valid,
        spec,
        names,
        train,
        train_y,
        valid,
        valid_y,
    })
}
