//! `discount train uplift` on the shop's own store: the response model that decides, fitted from
//! the joined decision log with point-in-time features, judged on the most recent window, and
//! registered as a candidate.

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Context};
use discount_core::{Config, Timestamp};
use discount_features::{items_named, point_in_time, Catalog, CustomerEmbeddings, FeatureSpec};
use discount_models::response::{
    fit_response_model, validate_response_model, DecisionRow, ResponseFitConfig, ResponseValidation,
};
use discount_policy::response::ResponseModel;
use discount_policy::EngineConfig;
use discount_store::decision_log::{open_decision_log, DecisionLog};
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
/// With `embeddings`, each row's vector is extended with the customer's learned vector (the
/// active CF model's), as the service extends it.
pub fn joined_rows(
    log: &mut dyn DecisionLog,
    from: i64,
    to: i64,
    embeddings: Option<&CustomerEmbeddings>,
) -> anyhow::Result<LogRows> {
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
            let (_, mut x) = point_in_time(&customer, &events, &catalog, Timestamp(kept[i].at))
                .with_context(|| format!("features of customer {customer}"))?;
            if let Some(e) = embeddings {
                e.extend(&customer, &mut x);
            }
            kept[i].x = x;
        }
    }
    out.rows = kept;
    Ok(out)
}

/// Where and how to fit the response model on the store.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreFitArgs {
    /// Store: the policy whose ladder the model covers (default: the active one).
    #[arg(long)]
    pub policy: Option<String>,
    /// Store: decisions at or after this time (RFC 3339 or a date).
    #[arg(long)]
    pub from: Option<String>,
    /// Store: decisions before this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Store: train on decisions before this time, validate on the rest (default: from
    /// --validation-share).
    #[arg(long)]
    pub cutoff: Option<String>,
    /// Store: share of the most recent decisions held out for validation.
    #[arg(long, default_value_t = 0.2)]
    pub validation_share: f64,
    /// Store: L2 penalty of the order models (standardised inputs).
    #[arg(long, default_value_t = 1.0)]
    pub l2: f64,
    /// Store: L2 penalty of the profit and discount regressions.
    #[arg(long, default_value_t = 10.0)]
    pub ridge: f64,
    /// Store: fewest decisions each offer needs in the training window.
    #[arg(long, default_value_t = 30)]
    pub min_rows: usize,
    /// Store: fewest orders (and non-orders) each offer needs.
    #[arg(long, default_value_t = 5)]
    pub min_orders: usize,
    /// Store: fit and report, register nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl StoreFitArgs {
    fn fit_config(&self) -> ResponseFitConfig {
        ResponseFitConfig {
            l2: self.l2,
            ridge: self.ridge,
            min_rows: self.min_rows,
            min_orders: self.min_orders,
            ..ResponseFitConfig::default()
        }
    }
}

/// A response model fitted on the store, before it is registered.
pub struct Fitted {
    pub log: Box<dyn DecisionLog>,
    pub policy: String,
    pub offers: Vec<String>,
    pub spec_id: String,
    pub rows: LogRows,
    pub cutoff: i64,
    /// Rows before `split` (time order) trained the model; the rest validate it.
    pub split: usize,
    pub model: ResponseModel,
    pub validation: ResponseValidation,
    pub parent: Option<String>,
}

impl Fitted {
    pub fn train(&self) -> &[DecisionRow] {
        &self.rows.rows[..self.split]
    }

    pub fn held_out(&self) -> &[DecisionRow] {
        &self.rows.rows[self.split..]
    }
}

/// Reads the joined log of the store, splits it by time and fits the response model.
pub fn fit_on_store(config: &Config, args: &StoreFitArgs) -> anyhow::Result<Fitted> {
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
    let embeddings =
        discount_server::models::active_embeddings(log.as_mut()).map_err(|e| anyhow::anyhow!(e))?;
    let mut rows = joined_rows(log.as_mut(), from, to, embeddings.as_ref().map(|(_, e)| e))?;
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
    if !(0.0..1.0).contains(&args.validation_share) {
        bail!(
            "--validation-share must be in [0, 1), got {}",
            args.validation_share
        );
    }
    // Time-based validation: train before the cut-off, judge after it.
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
    let spec = match &embeddings {
        Some((_, e)) => e.spec()?,
        None => FeatureSpec::base(),
    };
    let features: Vec<String> = spec.all_features().into_iter().map(|f| f.name).collect();
    let model = fit_response_model(
        &rows.rows[..split],
        &offers,
        &features,
        &spec.id(),
        &args.fit_config(),
    )?;
    let validation = validate_response_model(&model, &rows.rows[split..])?;
    let parent = log.active_model(KIND)?.map(|m| m.id);
    Ok(Fitted {
        log,
        policy: policy.version.clone(),
        offers,
        spec_id: spec.id(),
        rows,
        cutoff,
        split,
        model,
        validation,
        parent,
    })
}

/// Registers the fitted model as a candidate with `extra` metrics; its id.
pub fn register(
    config: &Config,
    fitted: &Fitted,
    extra: &[(&'static str, Option<f64>)],
) -> anyhow::Result<String> {
    let v = &fitted.validation;
    let mut metrics = vec![
        ("auc", v.auc),
        ("log_loss", v.log_loss),
        ("greedy_value_snips", v.greedy_value_snips),
        ("logged_value", Some(v.logged_value)),
        ("validation_rows", Some(v.rows as f64)),
    ];
    metrics.extend_from_slice(extra);
    super::registry::register(
        &config.store.url,
        super::registry::Registration {
            kind: KIND,
            feature_spec: Some(fitted.spec_id.clone()),
            window_from: Some(fitted.train().first().map_or(fitted.cutoff, |r| r.at)),
            window_to: Some(fitted.cutoff),
            training_rows: fitted.split,
            metrics,
            artifact: serde_json::to_string(&fitted.model)?,
        },
    )
}

#[derive(Serialize)]
struct TrainOutput<'a> {
    model_id: Option<String>,
    policy: &'a str,
    offers: &'a [String],
    feature_spec: &'a str,
    window_from: String,
    cutoff: String,
    window_to: String,
    log: &'a LogRows,
    training_rows: usize,
    validation: &'a ResponseValidation,
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

/// The summary both `train uplift` and `retrain` print.
pub fn print_fit(f: &Fitted) {
    println!(
        "Response model for policy {} from the store's decision log: {} decisions, {} joined \
         ({} open, {} without an offer)",
        f.policy,
        f.rows.decisions,
        f.rows.rows.len(),
        f.rows.open,
        f.rows.without_offer
    );
    println!(
        "trained on {} decisions before {}, validated on {} after it\n",
        f.split,
        Timestamp(f.cutoff).to_rfc3339(),
        f.validation.rows
    );
    let mut table = Table::new(&["offer", "decisions", "orders", "order rate (validation)"]);
    for o in &f.model.offers {
        table.row(vec![
            o.offer_id.clone(),
            o.rows.to_string(),
            o.orders.to_string(),
            f.validation
                .order_rate
                .get(&o.offer_id)
                .map_or("-".into(), |r| format!("{r:.3}")),
        ]);
    }
    println!("{}", table.render());
    let v = &f.validation;
    let fmt = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.4}"));
    println!(
        "validation: auc {}  log_loss {}  profit per decision: logged {:.1}, model's choice (SNIPS, {} matching decisions) {}",
        fmt(v.auc),
        fmt(v.log_loss),
        v.logged_value,
        v.greedy_matches,
        v.greedy_value_snips.map_or("-".into(), |x| format!("{x:.1}"))
    );
}

pub fn run(config: &Config, args: &UpliftArgs, json: bool) -> anyhow::Result<()> {
    let fitted = fit_on_store(config, &args.store)?;
    let model_id = if args.store.dry_run {
        None
    } else {
        Some(register(config, &fitted, &[])?)
    };
    if json {
        let f = &fitted;
        return print_json(&TrainOutput {
            model_id,
            policy: &f.policy,
            offers: &f.offers,
            feature_spec: &f.spec_id,
            window_from: Timestamp(f.train().first().map_or(f.cutoff, |r| r.at)).to_rfc3339(),
            cutoff: Timestamp(f.cutoff).to_rfc3339(),
            window_to: f
                .rows
                .rows
                .last()
                .map_or_else(String::new, |r| Timestamp(r.at).to_rfc3339()),
            log: &f.rows,
            training_rows: f.split,
            validation: &f.validation,
            per_offer: f
                .model
                .offers
                .iter()
                .map(|o| (o.offer_id.clone(), (o.rows, o.orders)))
                .collect(),
            parent: f.parent.clone(),
            registered: !args.store.dry_run,
        });
    }
    print_fit(&fitted);
    match &model_id {
        Some(id) => println!(
            "\nregistered {id} (candidate{}); activate it with: discount models promote {id}",
            fitted
                .parent
                .as_ref()
                .map_or(String::new(), |p| format!(", would replace {p}"))
        ),
        None => println!("\n--dry-run: nothing registered"),
    }
    Ok(())
}
