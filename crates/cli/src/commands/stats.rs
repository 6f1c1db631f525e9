//! `discount stats`: what the store holds.

use anyhow::Context;
use discount_core::money::format_minor;
use discount_core::{Config, Currency};

use super::ingest::redact;
use crate::output::{count, print_json, Table};

/// Show what the store holds: users, items, events by type, time span, revenue,
/// discount spend by source, coupons issued and redeemed, offers shown.
///
/// Examples:
///   discount stats
///   discount --json stats | jq .money
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct StatsArgs {}

pub fn run(config: &Config, _args: &StatsArgs, json: bool) -> anyhow::Result<()> {
    let mut store = discount_store::open(&config.store.url)
        .with_context(|| format!("opening the store {}", redact(&config.store.url)))?;
    let s = store.stats()?;
    if json {
        return print_json(&s);
    }
    println!("store: {} ({})", redact(&config.store.url), s.backend);
    let mut t = Table::new(&["what", "count"]);
    t.row(vec!["users".into(), count(s.users)]);
    t.row(vec!["users with events".into(), count(s.active_users)]);
    t.row(vec!["items".into(), count(s.items)]);
    t.row(vec![
        "  auto-registered".into(),
        count(s.auto_registered_items),
    ]);
    t.row(vec!["events".into(), count(s.events)]);
    for (kind, n) in &s.events_by_type {
        t.row(vec![format!("  {kind}"), count(*n)]);
    }
    t.row(vec!["coupons issued".into(), count(s.coupons_issued)]);
    t.row(vec!["coupons redeemed".into(), count(s.coupons_redeemed)]);
    t.row(vec![
        "  of coupons issued here".into(),
        count(s.issued_coupons_redeemed),
    ]);
    print!("{}", t.render());
    println!(
        "time span: {} .. {}",
        s.first_event.as_deref().unwrap_or("-"),
        s.last_event.as_deref().unwrap_or("-")
    );
    if !s.money.is_empty() {
        println!();
        let mut m = Table::new(&[
            "currency",
            "orders",
            "revenue (paid)",
            "retail discounts",
            "coupon discounts",
            "refunds",
        ]);
        for c in &s.money {
            let cur = Currency::parse("currency", &c.currency).unwrap_or(Currency::USD);
            m.row(vec![
                c.currency.clone(),
                count(c.orders),
                format_minor(c.revenue, cur),
                format_minor(c.retail_discount, cur),
                format_minor(c.coupon_discount, cur),
                format_minor(c.refunds, cur),
            ]);
        }
        print!("{}", m.render());
    }
    if !s.offers_shown.is_empty() {
        println!();
        let mut o = Table::new(&["offer shown", "times"]);
        for (offer, n) in &s.offers_shown {
            o.row(vec![offer.clone(), count(*n)]);
        }
        print!("{}", o.render());
    }
    Ok(())
}
