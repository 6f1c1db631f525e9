//! `discount train uplift` on the shop's own store: the response model that decides, fitted from
//! the joined decision log with point-in-time features, judged on the most recent window, and
//! registered as a candidate.

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Context};
use discount_core::{Config, Timestamp};
use discount_features::{items_named, point_in_time, Catalog, FeatureSpec};
use discount_models::response::{
    fit_response_model, validate_response_model, DecisionRow, ResponseFitConfig, ResponseValidation,
};
use discount_policy::EngineConfig;
use discount_store::decision_log::{open_decision_log, DecisionLog};
use discount_store::model_registry::{content_hash, ModelRow, ModelStatus};
use serde::Serialize;

use super::uplift::UpliftArgs;
use crate::commands::ingest::redact;
use crate::output::{print_json, Table};

/// The kind the registry files the response model under (what `serve` follows).
pub const KIND: &str = "uplift";

/// The joined decision log as training rows, and what was left out.
#[derive(Debug, Default, Serialize)]
pub struct LogRows {
    /// Decisions in the window.
    pub decisions: usize,
    /// Of those, still waiting for their outcome (not used).
    pub open: usize,
    /// Of those, without a logged offer (erased customers keep only the offer; none have it
    /// missing unless the log was written by hand).
    pub without_offer: usize,
    #[serde(skip)]
    pub rows: Vec<DecisionRow>,
}

/// Reads decisions with `from <= at < to` and their outcomes, each with the customer's features
/// as of the decision, computed by the function the service decides with.
pub fn joined_rows(log: &mut dyn DecisionLog, from: i64, to: i64) -> anyhow::Result<LogRows> {
    #[derive(serde::Deserialize)]
    struct Logged {
        #[serde(default)]
        offer_id: String,
    }
    let joined = log.joined_decisions(from, to)?;
    let mut out = LogRows {
        decisions: joined.len(),
        ..LogRows::default()
    };
    let mut by_customer: HashMap<String, Vec<usize>> = HashMap::new();
    let mut kept = Vec::new();
    for (d, o) in &joined {
        let Some(o) = o else {
            out.open += 1;
            continue;
        };
        let offer = serde_json::from_str::<Logged>(&d.request)
            .map(|l| l.offer_id)
            .unwrap_or_default();
        if offer.is_empty() {
            out.without_offer += 1;
            continue;
        }
        by_customer
            .entry(d.customer_id.clone())
            .or_default()
            .push(kept.len());
        kept.push(DecisionRow {
            offer_id: offer,
            at: d.at,
            x: Vec::new(),
            propensity: d.propensity,
            ordered: o.converted,
            profit: o.profit as f64,
            discount: o.discount as f64,
        });
    }
    let mut customers: Vec<_> = by_customer.into_iter().collect();
    customers.sort();
    for (customer, indices) in customers {
        let events = log.events_of(&customer, i64::MAX as usize)?;
        let catalog: Catalog = log
            .item_categories(&items_named(&events))?
            .into_iter()
            .collect();
        for i in indices {
            let (_, x) = point_in_time(&customer, &events, &catalog, Timestamp(kept[i].at))
                .with_context(|| format!("features of customer {customer}"))?;
            kept[i].x = x;
        }
    }
    out.rows = kept;
    Ok(out)
}

#[derive(Serialize)]
struct TrainOutput {
    model_id: Option<String>,
    policy: String,
    offers: Vec<String>,
    feature_spec: String,
    window_from: String,
    cutoff: String,
    window_to: String,
    log: LogRows,
    training_rows: usize,
    validation: ResponseValidation,
    /// Decisions and orders per offer in the training window.
    per_offer: BTreeMap<String, (u64, u64)>,
    parent: Option<String>,
    registered: bool,
}

fn time_arg(name: &str, value: &Option<String>) -> anyhow::Result<Option<i64>> {
    value
        .as_ref()
        .map(|t| Ok(Timestamp::parse(name, t)?.0))
        .transpose()
}

pub fn run(config: &Config, args: &UpliftArgs, json: bool) -> anyhow::Result<()> {
    let url = &config.store.url;
    let mut log =
        open_decision_log(url).with_context(|| format!("opening the store {}", redact(url)))?;
    let policies = log.policies()?;
    let policy = match &args.policy {
        Some(v) => policies
            .iter()
            .find(|p| &p.version == v)
            .with_context(|| format!("--policy {v}: no such policy in the store"))?,
        None => policies.iter().find(|p| p.active).context(
            "no policy is active in the store: the response model is fitted for a policy's offer \
             ladder; name one with --policy, or serve one first",
        )?,
    };
    let engine: EngineConfig = serde_json::from_str(&policy.config)
        .with_context(|| format!("the stored policy `{}` cannot be read", policy.version))?;
    let offers: Vec<String> = engine.ladder.iter().map(|r| r.id.clone()).collect();

    let from = time_arg("--from", &args.from)?.unwrap_or(i64::MIN);
    let to = time_arg("--until", &args.until)?.unwrap_or(i64::MAX);
    let mut rows = joined_rows(log.as_mut(), from, to)?;
    rows.rows.sort_by_key(|r| r.at);
    let n = rows.rows.len();
    if n == 0 {
        bail!(
            "too little data: the store's decision log (table `decisions`) has {} decisions in the \
             window and none with a known outcome ({} still open); the response model needs joined \
             decisions of every offer of policy `{}` ({})",
            rows.decisions,
            rows.open,
            policy.version,
            offers.join(", ")
        );
    }
    // Time-based validation: train before the cut-off, judge after it.
    if !(0.0..1.0).contains(&args.validation_share) {
        bail!(
            "--validation-share must be in [0, 1), got {}",
            args.validation_share
        );
    }
    let cutoff = match time_arg("--cutoff", &args.cutoff)? {
        Some(t) => t,
        None => {
            let first_valid = ((n as f64) * (1.0 - args.validation_share)).floor() as usize;
            rows.rows
                .get(first_valid)
                .map_or(rows.rows[n - 1].at + 1, |r| r.at)
        }
    };
    let split = rows.rows.partition_point(|r| r.at < cutoff);
    let (train, valid) = rows.rows.split_at(split);
    let spec = FeatureSpec::base();
    let features: Vec<String> = spec.all_features().into_iter().map(|f| f.name).collect();
    let fit = ResponseFitConfig {
        l2: args.l2,
        ridge: args.ridge,
        min_rows: args.min_rows,
        min_orders: args.min_orders,
    };
    let model = fit_response_model(train, &offers, &features, &spec.id(), &fit)?;
    let validation = validate_response_model(&model, valid)?;
    let per_offer = model
        .offers
        .iter()
        .map(|o| (o.offer_id.clone(), (o.rows, o.orders)))
        .collect();
    let artifact = serde_json::to_string(&model)?;
    let hash = content_hash(&artifact);
    let now = Timestamp(chrono::Utc::now().timestamp_micros());
    let parent = log.active_model(KIND)?.map(|m| m.id);
    let window_from = train.first().map_or(cutoff, |r| r.at);
    let id = format!(
        "{KIND}-{}-{}",
        chrono::DateTime::from_timestamp_micros(now.0).map_or_else(
            || now.0.to_string(),
            |t| t.format("%Y%m%dT%H%M%S").to_string()
        ),
        &hash[..8]
    );
    let mut metrics = serde_json::Map::new();
    let mut put = |k: &str, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            metrics.insert(k.into(), serde_json::json!(v));
        }
    };
    put("auc", validation.auc);
    put("log_loss", validation.log_loss);
    put("greedy_value_snips", validation.greedy_value_snips);
    put("logged_value", Some(validation.logged_value));
    put("validation_rows", Some(validation.rows as f64));
    let registered = !args.dry_run;
    if registered {
        let row = ModelRow {
            id: id.clone(),
            kind: KIND.into(),
            feature_spec: Some(spec.id()),
            window_from: Some(window_from),
            window_to: Some(cutoff),
            training_rows: train.len() as i64,
            metrics: serde_json::Value::Object(metrics).to_string(),
            parent: parent.clone(),
            created_at: now.0,
            status: ModelStatus::Candidate,
            activated_seq: None,
            content_hash: hash,
            artifact,
        };
        if !log.register_model(&row)? {
            bail!("a model with id {id} is registered already; train again in a second");
        }
    }
    let out = TrainOutput {
        model_id: registered.then(|| id.clone()),
        policy: policy.version.clone(),
        offers,
        feature_spec: spec.id(),
        window_from: Timestamp(window_from).to_rfc3339(),
        cutoff: Timestamp(cutoff).to_rfc3339(),
        window_to: rows
            .rows
            .last()
            .map_or_else(String::new, |r| Timestamp(r.at).to_rfc3339()),
        training_rows: train.len(),
        validation,
        per_offer,
        parent,
        registered,
        log: rows,
    };
    if json {
        return print_json(&out);
    }
    println!(
        "Response model for policy {} from the store's decision log: {} decisions, {} joined \
         ({} open, {} without an offer)",
        out.policy,
        out.log.decisions,
        out.log.rows.len(),
        out.log.open,
        out.log.without_offer
    );
    println!(
        "trained on {} decisions {} .. {}, validated on {} after {}\n",
        out.training_rows, out.window_from, out.cutoff, out.validation.rows, out.cutoff
    );
    let mut table = Table::new(&["offer", "decisions", "orders", "order rate (validation)"]);
    for (offer, (n, o)) in &out.per_offer {
        table.row(vec![
            offer.clone(),
            n.to_string(),
            o.to_string(),
            out.validation
                .order_rate
                .get(offer)
                .map_or("-".into(), |r| format!("{:.3}", r)),
        ]);
    }
    println!("{}", table.render());
    let v = &out.validation;
    let fmt = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.4}"));
    println!(
        "validation: auc {}  log_loss {}  profit per decision: logged {:.1}, model's choice (SNIPS, {} matching decisions) {}",
        fmt(v.auc),
        fmt(v.log_loss),
        v.logged_value,
        v.greedy_matches,
        v.greedy_value_snips.map_or("-".into(), |x| format!("{x:.1}"))
    );
    match &out.model_id {
        Some(id) => println!(
            "\nregistered {id} (candidate{}); activate it with: discount models promote {id}",
            out.parent
                .as_ref()
                .map_or(String::new(), |p| format!(", would replace {p}"))
        ),
        None => println!("\n--dry-run: nothing registered"),
    }
    Ok(())
}
