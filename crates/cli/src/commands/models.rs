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
    Show { id: String },
    /// Make a model the active one of its kind.
    Promote { id: String },
    /// Re-activate the model active before the current one.
    Rollback {
        #[arg(long, default_value = RESPONSE_KIND)]
        kind: String,
    },
}

fn open(config: &Config) -> anyhow::Result<Box<dyn DecisionLog>> {
    let url = &config.store.url;
    open_decision_log(url).with_context(|| format!("opening the store {}", redact(url)))
}

pub fn run(config: &Config, cmd: &ModelsCommand, json: bool) -> anyhow::Result<()> {
    let mut log = open(config)?;
    match cmd {
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
