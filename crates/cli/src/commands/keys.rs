//! `discount keys`: API keys of the decision service.

use anyhow::Context;
use discount_core::{Config, Timestamp};
use discount_server::auth::{new_key, Role};
use discount_store::decision_log::open_decision_log;

use super::ingest::redact;
use crate::output::{print_json, Table};

/// Manage the API keys of `discount serve`: create, list, revoke.
///
/// A key has one role: `ingest` (POST /v1/events), `decide` (decisions, outcomes, profiles,
/// budgets) or `admin` (everything, policies). Only a hash of the secret is stored: the token is
/// printed once, at creation.
///
/// Examples:
///   discount keys create --name checkout --role decide
///   discount keys create --name etl --role ingest --rate 500
///   discount keys list
///   discount keys revoke 3f9a1c0d2b7e
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum KeysCommand {
    /// Create a key and print its token (shown only this once).
    Create {
        /// Who the key is for.
        #[arg(long)]
        name: String,
        /// ingest, decide or admin.
        #[arg(long, value_parser = ["ingest", "decide", "admin"])]
        role: String,
        /// Requests per second for this key (default: server.rate_limit_per_second).
        #[arg(long)]
        rate: Option<u32>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id; it stops working within a second on every server.
    Revoke { id: String },
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

pub fn run(config: &Config, cmd: &KeysCommand, json: bool) -> anyhow::Result<()> {
    let url = &config.store.url;
    let mut log =
        open_decision_log(url).with_context(|| format!("opening the store {}", redact(url)))?;
    match cmd {
        KeysCommand::Create { name, role, rate } => {
            let role = Role::parse(role).with_context(|| format!("unknown role `{role}`"))?;
            let key = new_key(name, role, rate.map(i64::from), now());
            log.create_key(&key.row)?;
            if json {
                return print_json(&serde_json::json!({
                    "id": key.row.id, "name": key.row.name, "role": key.row.role, "token": key.token,
                }));
            }
            println!(
                "created key {} ({}, role {})",
                key.row.id,
                name,
                role.as_str()
            );
            println!("token (shown once; send it as `Authorization: Bearer <token>`):");
            println!("{}", key.token);
        }
        KeysCommand::List => {
            let keys = log.keys()?;
            if json {
                let rows: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        serde_json::json!({
                            "id": k.id, "name": k.name, "role": k.role,
                            "rate_per_second": k.rate_per_second,
                            "created_at": Timestamp(k.created_at).to_rfc3339(),
                            "revoked_at": k.revoked_at.map(|t| Timestamp(t).to_rfc3339()),
                        })
                    })
                    .collect();
                return print_json(&rows);
            }
            let mut t = Table::new(&["id", "name", "role", "rate/s", "created", "revoked"]);
            for k in &keys {
                t.row(vec![
                    k.id.clone(),
                    k.name.clone(),
                    k.role.clone(),
                    k.rate_per_second
                        .map_or("default".into(), |r| r.to_string()),
                    Timestamp(k.created_at).to_rfc3339(),
                    k.revoked_at
                        .map_or(String::new(), |t| Timestamp(t).to_rfc3339()),
                ]);
            }
            print!("{}", t.render());
        }
        KeysCommand::Revoke { id } => {
            if !log.revoke_key(id, now())? {
                anyhow::bail!("no active key `{id}` (see `discount keys list`)");
            }
            if json {
                return print_json(&serde_json::json!({ "revoked": id }));
            }
            println!("revoked key {id}");
        }
    }
    Ok(())
}
