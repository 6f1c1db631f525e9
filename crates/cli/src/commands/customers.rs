//! `discount customers`: a customer's right to erasure, and retention by age.

use anyhow::Context;
use discount_core::{Config, CustomerIds, Timestamp};
use discount_store::decision_log::{open_decision_log, Erasure};

use super::ingest::redact;
use crate::output::{print_json, Table};

/// Erase customers' data: one customer on request, or everything older than a retention period.
///
/// Erasing deletes the customer's events, order lines and user record; their decisions stay
/// (budgets and off-policy evaluation need them) with the customer replaced by a stand-in that
/// cannot be recomputed from the id, and without the request's features, the explanation and
/// the gate record. Outcomes and budgets hold no id and stay. An audit record keeps the time and
/// the counts, never the id. With privacy.pseudonymise_key set, give the raw id: it is mapped as
/// ingestion mapped it. The service answers the same through DELETE /v1/customers/{id}.
///
/// Examples:
///   discount customers erase cust-42
///   discount --json customers erase cust-42
///   discount customers retain --days 730          # erase everything older than two years
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum CustomersCommand {
    /// Erase one customer.
    Erase {
        /// The customer's id (raw; pseudonymised like ingestion when a key is configured).
        id: String,
    },
    /// Erase everything (events; decisions anonymised) older than DAYS days.
    Retain {
        /// Keep this many days of history.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        days: u32,
    },
}

fn now() -> anyhow::Result<i64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_micros() as i64)
}

pub fn run(config: &Config, cmd: &CustomersCommand, json: bool) -> anyhow::Result<()> {
    let url = &config.store.url;
    let mut log =
        open_decision_log(url).with_context(|| format!("opening the store {}", redact(url)))?;
    let at = now()?;
    // A secret drawn from the operating system for this erasure only, then forgotten: the
    // stand-in ids must not be reproducible (so this is deliberately not seeded).
    let salt: [u8; 32] = rand::random();
    let (what, erasure): (String, Erasure) = match cmd {
        CustomersCommand::Erase { id } => {
            discount_core::ids::validate_id("id", id)?;
            let ids = CustomerIds::from_key(config.privacy.pseudonymise_key.as_deref())?;
            let stored = ids.stored(id);
            (
                format!("customer {id}"),
                log.erase_customer(&stored, &salt, at, "request")?,
            )
        }
        CustomersCommand::Retain { days } => {
            let cutoff = at - i64::from(*days) * discount_core::time::MICROS_PER_DAY;
            (
                format!("everything before {}", Timestamp(cutoff).to_rfc3339()),
                log.erase_before(cutoff, &salt, at)?,
            )
        }
    };
    if json {
        return print_json(&erasure);
    }
    println!("erased {what} (audit record {})", erasure.audit_id);
    let mut t = Table::new(&["what", "count"]);
    t.row(vec!["events deleted".into(), erasure.events.to_string()]);
    t.row(vec![
        "user records deleted".into(),
        erasure.users.to_string(),
    ]);
    t.row(vec![
        "decisions anonymised".into(),
        erasure.decisions.to_string(),
    ]);
    print!("{}", t.render());
    Ok(())
}
