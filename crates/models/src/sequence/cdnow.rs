//! The CDNOW forecast comparison: the GRU against BG/NBD and an RFM logistic model, on the
//! 2,357-customer sample with the paper's 39 calibration and 39 holdout weeks.
//!
//! The GRU and the RFM models learn inside the calibration period only: features from weeks
//! 1-26, target the purchases of weeks 27-39 (13 weeks). They are then applied to weeks 1-39 to
//! forecast weeks 40-78 ([`super::forecast`] describes the comparison).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{Duration, NaiveDate};
use discount_core::{Currency, Event, EventKind, OrderLine, Timestamp};

use super::forecast::{compare_periods, ComparisonPeriods};
pub use super::forecast::{Comparison, ComparisonRow, FittedComparison};
use super::gru::GruConfig;
use crate::ltv::{cdnow, rfm, CustomerSummary, Transaction};
use crate::ModelError;

/// Weeks of history the training sequences cover, and of the target that follows them.
pub const TRAIN_HISTORY_WEEKS: i64 = 26;
pub const TRAIN_TARGET_WEEKS: i64 = 13;
pub const HOLDOUT_WEEKS: i64 = 39;

/// Purchase days per customer, amounts of the same day added up.
fn purchase_days(log: &[Transaction]) -> BTreeMap<u64, BTreeMap<NaiveDate, i64>> {
    let mut days: BTreeMap<u64, BTreeMap<NaiveDate, i64>> = BTreeMap::new();
    for t in log {
        *days
            .entry(t.customer)
            .or_default()
            .entry(t.day)
            .or_insert(0) += t.amount_minor;
    }
    days
}

/// The customer's purchase days as order events, the form live data has.
fn order_events(customer: u64, days: &BTreeMap<NaiveDate, i64>) -> Vec<Event> {
    days.iter()
        .filter_map(|(day, amount)| {
            let time = Timestamp::from_date(
                chrono::Datelike::year(day),
                chrono::Datelike::month(day),
                chrono::Datelike::day(day),
            )?;
            Some(Event {
                id: format!("{customer}-{day}"),
                user_id: customer.to_string(),
                time,
                kind: EventKind::Order {
                    order_id: format!("{customer}-{day}"),
                    currency: Currency::USD,
                    lines: vec![OrderLine {
                        item_id: "cd".into(),
                        quantity: 1,
                        list_price: *amount,
                        paid: *amount,
                        retail_discount: 0,
                        coupon_discount: 0,
                    }],
                },
            })
        })
        .collect()
}

/// Runs the comparison on `CDNOW_sample.txt` at `path`.
pub fn compare(path: &Path, config: GruConfig) -> Result<Comparison, ModelError> {
    compare_keeping_model(path, config).map(|fitted| fitted.comparison)
}

/// Runs the comparison on `CDNOW_sample.txt` at `path` and keeps the trained GRU.
pub fn compare_keeping_model(
    path: &Path,
    config: GruConfig,
) -> Result<FittedComparison, ModelError> {
    config.validate()?;
    let log = cdnow::read_sample(path)?;
    let calibration_end = cdnow::calibration_end();
    let holdout_end = cdnow::holdout_end();
    let first_day = calibration_end - Duration::weeks(HOLDOUT_WEEKS) + Duration::days(1);
    let train_cutoff = first_day + Duration::weeks(TRAIN_HISTORY_WEEKS) - Duration::days(1);

    // Calibration summaries: training (weeks 1-26, target 27-39) and forecasting (1-39, 40-78).
    let train = rfm::summarise(&log, train_cutoff, calibration_end)?;
    let apply = rfm::summarise(&log, calibration_end, holdout_end)?;
    let train_by_customer: HashMap<u64, &CustomerSummary> =
        train.iter().map(|c| (c.customer, c)).collect();
    if apply.is_empty() || train.is_empty() {
        return Err(ModelError::Data(format!(
            "{}: no customers with purchases in the calibration period",
            path.display()
        )));
    }
    // Every forecast customer needs a training row (in CDNOW all first purchases are in weeks
    // 1-12).
    let missing = apply
        .iter()
        .filter(|c| !train_by_customer.contains_key(&c.customer))
        .count();
    if missing > 0 {
        return Err(ModelError::Data(format!(
            "{missing} customers first bought after week {TRAIN_HISTORY_WEEKS}; the training split does not cover them"
        )));
    }
    let days = purchase_days(&log);
    let events: BTreeMap<u64, Vec<Event>> = days
        .iter()
        .map(|(c, d)| (*c, order_events(*c, d)))
        .collect();
    let no_category = |_: &str| -> Option<String> { None };
    let periods = ComparisonPeriods {
        train_cutoff,
        calibration_end,
        holdout_end,
    };
    compare_periods(&log, &events, &periods, config, &no_category)
}
