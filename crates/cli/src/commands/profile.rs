//! `discount profile`: one customer's profile and feature vector, computed from the store's
//! events by the same code that training and live scoring use.

use anyhow::Context;
use discount_core::{Config, CustomerIds, Timestamp};
use discount_features::{items_named, profile_as_of, Catalog, FeatureSpec, Profile};
use serde::Serialize;

use super::ingest::redact;
use crate::output::{print_json, Table};

/// Show a customer's profile as of a time: RFM, 7/30/90-day behaviour, affinity, discount habits.
///
/// Each feature is printed with its name, window and meaning. Events after --at are ignored, so
/// --at replays what a decision at that time would have seen.
///
/// Examples:
///   discount profile ml100k:user:1
///   discount profile ml100k:user:1 --at 1998-01-01
///   discount --json profile cust-42 --at 2024-03-01T12:00:00Z | jq '.features[0]'
///
/// With privacy.pseudonymise_key set, USER may be the raw id (it is pseudonymised the way
/// ingestion did) or the stored pseudonym.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ProfileArgs {
    /// The user id: as ingested, or as stored (its pseudonym).
    pub user: String,

    /// Snapshot time (RFC 3339, a date such as 2024-03-01, or Unix seconds). Default: now.
    #[arg(long)]
    pub at: Option<String>,
}

#[derive(Serialize)]
struct FeatureValue<'a> {
    name: &'a str,
    window: String,
    value: f64,
    meaning: &'a str,
}

#[derive(Serialize)]
struct ProfileReport<'a> {
    user_id: &'a str,
    as_of: String,
    events_used: u64,
    events_after_as_of: u64,
    feature_spec: String,
    features: Vec<FeatureValue<'a>>,
    profile: &'a Profile,
}

pub fn run(config: &Config, args: &ProfileArgs, json: bool) -> anyhow::Result<()> {
    let as_of = match &args.at {
        Some(text) => Timestamp::parse("--at", text)?,
        None => Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("the system clock is before 1970")?
                .as_micros() as i64,
        ),
    };
    let mut store = discount_store::open(&config.store.url)
        .with_context(|| format!("opening the store {}", redact(&config.store.url)))?;
    // The raw id's pseudonym first (when ingestion pseudonymised ids), then the id as given.
    let ids = CustomerIds::from_key(config.privacy.pseudonymise_key.as_deref())?;
    let mut candidates = Vec::new();
    if ids.is_pseudonymised() {
        candidates.push(ids.stored(&args.user));
    }
    candidates.push(args.user.clone());
    let mut user_id = args.user.clone();
    let mut events = Vec::new();
    for candidate in candidates {
        events = store
            .events_of_user(&candidate)
            .with_context(|| format!("reading the events of `{candidate}`"))?;
        if !events.is_empty() {
            user_id = candidate;
            break;
        }
    }
    if events.is_empty() {
        anyhow::bail!(
            "no events for user `{}` in {} (ids are as stored; see `discount stats`)",
            args.user,
            redact(&config.store.url)
        );
    }
    let catalog: Catalog = store
        .item_categories(&items_named(&events))?
        .into_iter()
        .collect();
    let (profile, used) = profile_as_of(&user_id, &events, &catalog, as_of)?;
    let spec = FeatureSpec::base();
    let named = spec.named_values(&profile, &[])?;
    if json {
        return print_json(&ProfileReport {
            user_id: &user_id,
            as_of: as_of.to_rfc3339(),
            events_used: used,
            events_after_as_of: events.len() as u64 - used,
            feature_spec: spec.id(),
            features: named
                .iter()
                .map(|(d, v)| FeatureValue {
                    name: &d.name,
                    window: d.window_label(),
                    value: *v,
                    meaning: &d.meaning,
                })
                .collect(),
            profile: &profile,
        });
    }
    println!(
        "profile of {} as of {} ({} events used, {} after it ignored; features {})",
        user_id,
        as_of.to_rfc3339(),
        used,
        events.len() as u64 - used,
        spec.id()
    );
    if let Some(c) = profile.currency {
        println!("money in minor units of {c}");
    }
    if !profile.top_categories.is_empty() {
        let tops: Vec<String> = profile
            .top_categories
            .iter()
            .map(|c| format!("{} {:.0}%", c.category, 100.0 * c.share))
            .collect();
        println!("top categories: {}", tops.join(", "));
    }
    let mut t = Table::new(&["feature", "window", "value", "meaning"]);
    for (d, v) in &named {
        let value = if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.3}")
        };
        t.row(vec![
            d.name.clone(),
            d.window_label(),
            value,
            d.meaning.clone(),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}
