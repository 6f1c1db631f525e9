//! `discount models`: the registry of trained models in the store.

use anyhow::{bail, Context};
use discount_core::{Config, Timestamp};
use discount_server::models::{active_embeddings, load_response_model, RESPONSE_KIND};
use discount_server::routes::models::ModelView;
use discount_store::decision_log::{open_decision_log, DecisionLog};

use super::ingest::redact;
use crate::output::{print_json, Table};

/// The trained models registered in the store, and which one decides.
///
/// `discount train uplift` registers each fit as a candidate. Promotion makes a model the active
/// one of its kind; every running `discount serve` on the same store follows within a second,
/// after checking the artifact (its SHA-256, the feature spec it was trained on, the offers it
/// covers); a model that fails a check is refused and the previous one keeps serving. Roll-back
/// re-activates the model active before the current one.
///
/// Examples:
///   discount models list
///   discount models show uplift-20261203T101500-1a2b3c4d
///   discount models promote uplift-20261203T101500-1a2b3c4d
///   discount models rollback
///   discount models list --kind uplift --json
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum ModelsCommand {
    /// Registered models, oldest first, with status and validation figures.
    List {
        /// Only this kind (uplift, propensity, ltv, cf, ...).
        #[arg(long)]
        kind: Option<String>,
    },
    /// One model: training window, rows, metrics, parent, and the artifact's check.
    Show {
        id: String,
    },
    /// Make a model the active one of its kind.
    Promote {
        id: String,
    },
    /// Re-activate the model active before the current one.
    Rollback {
        #[arg(long, default_value = RESPONSE_KIND)]
        kind: String,
    },
    Explain(ExplainArgs),
}

/// Which inputs a response model relies on: permutation importance on its validation window.
///
/// Each input's column is shuffled across the window's joined decisions (the decisions at or
/// after the model's training cut-off, unless --from/--until say otherwise) and the model is
/// judged again as `discount train uplift` judges it: the drop in AUC and the rise in log-loss of
/// its order model, and the drop in the estimated profit per decision of its greedy choice
/// (self-normalised IPS from the logged propensities). Repeated --repeats times with seeded
/// shuffles; intervals are Student-t over the repeats. An input whose interval covers 0 does not
/// matter to the model on this window. Per-decision reasons (`explain: true` on a decision) show
/// what each customer's history contributed.
///
/// Examples:
///   discount models explain
///   discount models explain uplift-20261203T101500-1a2b3c4d --repeats 10 --json
///   discount models explain active --from 2026-11-01
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ExplainArgs {
    /// The model's id, or `active` (the response model that decides).
    #[arg(default_value = "active")]
    pub id: String,
    /// Shuffles per input (>= 2).
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Seed of the shuffles.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Decisions at or after this time (default: the model's training cut-off).
    #[arg(long)]
    pub from: Option<String>,
    /// Decisions before this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Inputs shown in the table (all in --json).
    #[arg(long, default_value_t = 15)]
    pub top: usize,
}

fn open(config: &Config) -> anyhow::Result<Box<dyn DecisionLog>> {
    let url = &config.store.url;
    open_decision_log(url).with_context(|| format!("opening the store {}", redact(url)))
}

pub fn run(config: &Config, cmd: &ModelsCommand, json: bool) -> anyhow::Result<()> {
    let mut log = open(config)?;
    match cmd {
        ModelsCommand::Explain(args) => return explain(log.as_mut(), args, json),
        ModelsCommand::List { kind } => {
            let rows = log.models(kind.as_deref())?;
            let views: Vec<ModelView> = rows.iter().map(ModelView::of).collect();
            if json {
                return print_json(&serde_json::json!({ "models": views }));
            }
            if views.is_empty() {
                println!("no models registered; fit one with `discount train uplift`");
                return Ok(());
            }
            let mut table = Table::new(&["id", "kind", "status", "rows", "metrics", "created"]);
            for v in &views {
                let metrics = v
                    .metrics
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter(|(k, _)| {
                                matches!(
                                    k.as_str(),
                                    "auc"
                                        | "log_loss"
                                        | "greedy_value_snips"
                                        | "holdout_correlation"
                                        | "new_buyer_value"
                                )
                            })
                            .map(|(k, v)| format!("{k} {:.4}", v.as_f64().unwrap_or(f64::NAN)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                table.row(vec![
                    v.id.clone(),
                    v.kind.clone(),
                    v.status.clone(),
                    v.training_rows.to_string(),
                    metrics,
                    v.created_at.clone(),
                ]);
            }
            println!("{}", table.render());
        }
        ModelsCommand::Show { id } => {
            let row = log.model(id)?.with_context(|| {
                format!("no model `{id}` in the store (see discount models list)")
            })?;
            let check = if row.kind == RESPONSE_KIND {
                let emb = active_embeddings(log.as_mut()).map_err(|e| anyhow::anyhow!(e))?;
                load_response_model(&row, emb.as_ref().map(|(_, e)| e)).err()
            } else {
                None
            };
            let view = ModelView::of(&row);
            if json {
                return print_json(&serde_json::json!({
                    "model": view,
                    "servable": check.is_none(),
                    "refusal": check,
                }));
            }
            println!("{}", serde_json::to_string_pretty(&view)?);
            match check {
                None => println!("artifact: hash and feature spec check out"),
                Some(why) => println!("artifact REFUSED: {why}"),
            }
        }
        ModelsCommand::Promote { id } => {
            let row = log.model(id)?.with_context(|| {
                format!("no model `{id}` in the store (see discount models list)")
            })?;
            if row.kind == RESPONSE_KIND {
                let emb = active_embeddings(log.as_mut()).map_err(|e| anyhow::anyhow!(e))?;
                if let Err(why) = load_response_model(&row, emb.as_ref().map(|(_, e)| e)) {
                    bail!("not promoted: {why}");
                }
            }
            log.promote_model(id)?;
            if json {
                return print_json(&serde_json::json!({ "active": id, "kind": row.kind }));
            }
            println!(
                "{id} is the active {} model from {}; serving processes follow within a second",
                row.kind,
                Timestamp(chrono::Utc::now().timestamp_micros()).to_rfc3339()
            );
        }
        ModelsCommand::Rollback { kind } => {
            let Some(previous) = log.roll_back_model(kind)? else {
                bail!("no earlier `{kind}` model to roll back to");
            };
            if json {
                return print_json(&serde_json::json!({ "active": previous, "kind": kind }));
            }
            println!("{previous} is the active {kind} model again");
        }
    }
    Ok(())
}

fn explain(log: &mut dyn DecisionLog, args: &ExplainArgs, json: bool) -> anyhow::Result<()> {
    let row = if args.id == "active" {
        log.active_model(RESPONSE_KIND)?.with_context(|| {
            format!(
                "no active `{RESPONSE_KIND}` model to explain; name one (see discount models list)"
            )
        })?
    } else {
        log.model(&args.id)?.with_context(|| {
            format!(
                "no model `{}` in the store (see discount models list)",
                args.id
            )
        })?
    };
    if row.kind != RESPONSE_KIND {
        bail!(
            "model `{}` is a `{}` model; explain reads response models (kind `{RESPONSE_KIND}`)",
            row.id,
            row.kind
        );
    }
    let emb = active_embeddings(log).map_err(|e| anyhow::anyhow!(e))?;
    let model = load_response_model(&row, emb.as_ref().map(|(_, e)| e))
        .map_err(|why| anyhow::anyhow!("cannot explain: {why}"))?;
    let time = |name: &str, v: &Option<String>| -> anyhow::Result<Option<i64>> {
        v.as_ref()
            .map(|t| Ok(Timestamp::parse(name, t)?.0))
            .transpose()
    };
    let from = time("--from", &args.from)?
        .or(row.window_to)
        .unwrap_or(i64::MIN);
    let to = time("--until", &args.until)?.unwrap_or(i64::MAX);
    // The model reads the profile extended with the learned vector only when it was trained so.
    let extended = (model.feature_spec != discount_server::models::serving_spec_id())
        .then(|| emb.as_ref().map(|(_, e)| e))
        .flatten();
    let rows = super::train::response::joined_rows(log, from, to, extended)?;
    let rows: Vec<_> = rows
        .rows
        .into_iter()
        .filter(|r| model.offers.iter().any(|o| o.offer_id == r.offer_id))
        .collect();
    if rows.is_empty() {
        bail!(
            "no joined decision of model `{}`'s offers from {} to {}: nothing to explain it on \
             (outcomes are joined when their attribution window closes; or widen --from/--until)",
            row.id,
            Timestamp(from.max(0)).to_rfc3339(),
            if to == i64::MAX {
                "now".to_string()
            } else {
                Timestamp(to).to_rfc3339()
            }
        );
    }
    let e = discount_models::explain::permutation_importance(
        &model,
        &rows,
        &discount_models::explain::ExplainConfig {
            repeats: args.repeats,
            seed: args.seed,
        },
    )?;
    if json {
        return print_json(&serde_json::json!({ "model": row.id, "explanation": e }));
    }
    let fmt = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.4}"));
    println!(
        "Permutation importance of {} on {} joined decisions ({} shuffles per input, seed {})",
        row.id, e.rows, e.repeats, e.seed
    );
    println!(
        "as it is: auc {}  log_loss {}  greedy profit per decision (SNIPS) {}\n",
        fmt(e.baseline.auc),
        fmt(e.baseline.log_loss),
        e.baseline
            .greedy_value_snips
            .map_or("-".into(), |x| format!("{x:.1}"))
    );
    let cell = |r: Option<discount_models::explain::Repeated>, d: usize| {
        r.map_or("-".to_string(), |r| {
            format!("{:.d$} [{:.d$}, {:.d$}]", r.mean, r.lower, r.upper, d = d)
        })
    };
    let mut table = Table::new(&["input", "AUC drop", "log-loss rise", "profit drop"]);
    for f in e.features.iter().take(args.top) {
        table.row(vec![
            f.feature.clone(),
            cell(f.auc_drop, 4),
            cell(f.log_loss_rise, 4),
            cell(f.value_drop, 1),
        ]);
    }
    print!("{}", table.render());
    if e.features.len() > args.top {
        println!("({} more inputs in --json)", e.features.len() - args.top);
    }
    Ok(())
}
