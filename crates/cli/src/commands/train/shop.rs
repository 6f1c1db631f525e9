//! The shop's own store as training data: open it, read every event once, and name it in errors.

use std::collections::HashMap;
use std::ops::ControlFlow;

use anyhow::Context;
use discount_core::{Config, Event, Timestamp};

use crate::commands::ingest::redact;

/// What a scan of the store read.
pub(crate) struct Scanned {
    /// The store's URL without credentials, for messages.
    pub store: String,
    /// Events in the store (the `events` table).
    pub events: u64,
}

/// Reads every event of the configured store (`--store` or `store.url`), oldest first per
/// customer, handing each to `visit`.
pub(crate) fn scan(config: &Config, visit: &mut dyn FnMut(&Event)) -> anyhow::Result<Scanned> {
    let store = redact(&config.store.url);
    let mut handle = discount_store::open(&config.store.url)
        .with_context(|| format!("opening the store {store} (see --store)"))?;
    let events = handle
        .scan_events(&mut |e| {
            visit(&e);
            ControlFlow::Continue(())
        })
        .with_context(|| format!("reading the events of the store {store}"))?;
    Ok(Scanned { store, events })
}

/// A date flag such as `--calibration-end 2024-03-31` (any form `Timestamp::parse` reads; the
/// time of day is dropped).
pub(crate) fn day_flag(flag: &str, text: Option<&str>) -> anyhow::Result<Option<Timestamp>> {
    text.map(|t| Timestamp::parse(flag, t).with_context(|| format!("{flag} {t:?}: not a date")))
        .transpose()
}

/// The category of each of `item_ids` the store knows.
pub(crate) fn item_categories(
    config: &Config,
    item_ids: &[String],
) -> anyhow::Result<HashMap<String, String>> {
    let store = redact(&config.store.url);
    let mut handle = discount_store::open(&config.store.url)
        .with_context(|| format!("opening the store {store} (see --store)"))?;
    Ok(handle
        .item_categories(item_ids)
        .with_context(|| format!("reading item categories from the store {store}"))?
        .into_iter()
        .collect())
}

/// The store's orders in one currency: `--currency` when given, else the one the log picks;
/// the store is named in errors.
pub(crate) fn transactions_in(
    log: &discount_models::ltv::orders::OrderLog,
    currency: Option<&str>,
    store: &str,
) -> anyhow::Result<(
    discount_core::Currency,
    Vec<discount_models::ltv::Transaction>,
)> {
    let currency = currency
        .map(|c| discount_core::Currency::parse("--currency", c))
        .transpose()?;
    log.transactions(currency)
        .with_context(|| format!("the orders of the store {store} (see --currency)"))
}
