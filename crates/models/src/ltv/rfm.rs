//! Recency-frequency-monetary summaries of transaction logs, the input of BG/NBD and Gamma-Gamma.
//!
//! Transactions on the same day by the same customer count as one purchase (their amounts add
//! up), as in Fader, Hardie & Lee (2005), and as Python lifetimes'
//! `summary_data_from_transaction_data(freq="D")` counts them. Times are measured from the
//! customer's first purchase, in weeks ([`summarise`], the paper's unit) or in the
//! [`TimeUnit`] given to [`summarise_in`]; a week is 7 days, so weeks are fractional.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::gamma_gamma::SpendObservation;
use crate::error::ModelError;

/// One purchase line of a log.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub customer: u64,
    pub day: NaiveDate,
    /// Amount in minor units (cents).
    pub amount_minor: i64,
}

/// The three statistics BG/NBD is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rfm {
    /// Repeat purchases in the calibration period (purchase days after the first one).
    pub x: f64,
    /// Weeks from the first to the last purchase in the calibration period (0 when x = 0).
    pub t_x: f64,
    /// Weeks from the first purchase to the end of the calibration period.
    pub t: f64,
}

impl Rfm {
    /// Validated statistics: x ≥ 0, 0 ≤ t_x ≤ T, t_x = 0 when x = 0.
    pub fn new(x: f64, t_x: f64, t: f64) -> Result<Self, ModelError> {
        let valid = x >= 0.0
            && x.is_finite()
            && t_x >= 0.0
            && t.is_finite()
            && t_x <= t + 1e-9
            && (x > 0.0 || t_x == 0.0);
        if !valid {
            return Err(ModelError::Data(format!(
                "RFM statistics need x >= 0, 0 <= t_x <= T and t_x = 0 when x = 0; got x = {x}, t_x = {t_x}, T = {t}"
            )));
        }
        Ok(Self { x, t_x, t })
    }
}

/// A customer's calibration summary and, when a holdout period was given, what they did in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerSummary {
    pub customer: u64,
    pub rfm: Rfm,
    /// Mean amount of the repeat purchases in the calibration period, in minor units (None when
    /// x = 0): the first purchase is left out, as Gamma-Gamma models repeat spend.
    pub mean_repeat_amount_minor: Option<f64>,
    /// Purchase days in the holdout period.
    pub holdout_purchases: u32,
    /// Amount spent in the holdout period, in minor units.
    pub holdout_amount_minor: i64,
}

/// The unit recency, T and forecast horizons are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Days,
    /// 7 days; a period of 10 days is 10/7 weeks (not a count of calendar weeks).
    Weeks,
}

impl TimeUnit {
    /// Days in one unit.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
        }
    }

    /// `days` or `weeks`.
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Days => "days",
            TimeUnit::Weeks => "weeks",
        }
    }

    /// The time from `from` to `to` in this unit.
    pub fn between(self, from: NaiveDate, to: NaiveDate) -> f64 {
        (to - from).num_days() as f64 / self.days()
    }
}

/// Summarise a log in weeks: calibration up to and including `calibration_end`, holdout from the
/// next day up to and including `holdout_end`. Customers whose first purchase falls after the
/// calibration period are left out (the models describe customers already acquired). Sorted by
/// customer.
pub fn summarise(
    transactions: &[Transaction],
    calibration_end: NaiveDate,
    holdout_end: NaiveDate,
) -> Result<Vec<CustomerSummary>, ModelError> {
    summarise_in(transactions, calibration_end, holdout_end, TimeUnit::Weeks)
}

/// [`summarise`] with recency and T counted in `unit`.
pub fn summarise_in(
    transactions: &[Transaction],
    calibration_end: NaiveDate,
    holdout_end: NaiveDate,
    unit: TimeUnit,
) -> Result<Vec<CustomerSummary>, ModelError> {
    if holdout_end < calibration_end {
        return Err(ModelError::InvalidHyper {
            name: "holdout_end",
            value: holdout_end.to_string(),
            reason: format!("must not be before the calibration end {calibration_end}"),
        });
    }
    // Per customer: amount per purchase day.
    let mut days: BTreeMap<u64, BTreeMap<NaiveDate, i64>> = BTreeMap::new();
    for t in transactions {
        *days
            .entry(t.customer)
            .or_default()
            .entry(t.day)
            .or_insert(0) += t.amount_minor;
    }
    let mut out = Vec::with_capacity(days.len());
    for (customer, by_day) in days {
        let Some((&first, _)) = by_day.iter().next() else {
            continue;
        };
        if first > calibration_end {
            continue;
        }
        let calibration: Vec<(NaiveDate, i64)> = by_day
            .range(..=calibration_end)
            .map(|(d, a)| (*d, *a))
            .collect();
        let repeats = &calibration[1..];
        let last = calibration.last().map(|(d, _)| *d).unwrap_or(first);
        let x = repeats.len() as f64;
        let mean_repeat_amount_minor = if repeats.is_empty() {
            None
        } else {
            Some(repeats.iter().map(|(_, a)| *a as f64).sum::<f64>() / x)
        };
        let holdout: Vec<i64> = by_day
            .iter()
            .filter(|(d, _)| **d > calibration_end && **d <= holdout_end)
            .map(|(_, a)| *a)
            .collect();
        out.push(CustomerSummary {
            customer,
            rfm: Rfm::new(
                x,
                unit.between(first, last),
                unit.between(first, calibration_end),
            )?,
            mean_repeat_amount_minor,
            holdout_purchases: holdout.len() as u32,
            holdout_amount_minor: holdout.iter().sum(),
        });
    }
    Ok(out)
}

/// The Gamma-Gamma input: each customer with repeat purchases of positive mean value, their
/// repeat count and mean repeat spend in major units (minor units / 100). Customers whose repeat
/// purchases were all free (a mean of zero) are left out: Gamma-Gamma models positive amounts
/// ([`zero_repeat_spend`] counts them).
pub fn repeat_spend(customers: &[CustomerSummary]) -> Result<Vec<SpendObservation>, ModelError> {
    customers
        .iter()
        .filter_map(|c| {
            c.mean_repeat_amount_minor
                .filter(|m| *m > 0.0)
                .map(|m| SpendObservation::new(c.rfm.x, m / 100.0))
        })
        .collect()
}

/// Customers with repeat purchases whose mean repeat amount is zero (or below: refunds netted in
/// by a feed), the ones [`repeat_spend`] leaves out.
pub fn zero_repeat_spend(customers: &[CustomerSummary]) -> usize {
    customers
        .iter()
        .filter(|c| c.mean_repeat_amount_minor.is_some_and(|m| m <= 0.0))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn same_day_purchases_count_once() {
        let log = [
            Transaction {
                customer: 1,
                day: day("1997-01-01"),
                amount_minor: 1000,
            },
            Transaction {
                customer: 1,
                day: day("1997-01-15"),
                amount_minor: 500,
            },
            Transaction {
                customer: 1,
                day: day("1997-01-15"),
                amount_minor: 700,
            },
            Transaction {
                customer: 1,
                day: day("1997-03-01"),
                amount_minor: 300,
            },
            Transaction {
                customer: 2,
                day: day("1997-01-08"),
                amount_minor: 900,
            },
            Transaction {
                customer: 3,
                day: day("1997-03-05"),
                amount_minor: 900,
            },
        ];
        let s = summarise(&log, day("1997-01-29"), day("1997-03-01")).unwrap();
        assert_eq!(s.len(), 2, "customer 3 arrived after calibration");
        assert_eq!(
            s[0].rfm,
            Rfm {
                x: 1.0,
                t_x: 2.0,
                t: 4.0
            }
        );
        assert_eq!(s[0].mean_repeat_amount_minor, Some(1200.0));
        assert_eq!(s[0].holdout_purchases, 1);
        assert_eq!(s[0].holdout_amount_minor, 300);
        assert_eq!(
            s[1].rfm,
            Rfm {
                x: 0.0,
                t_x: 0.0,
                t: 3.0
            }
        );
        assert_eq!(s[1].mean_repeat_amount_minor, None);
    }

    #[test]
    fn rejects_inconsistent_statistics() {
        assert!(Rfm::new(0.0, 1.0, 5.0).is_err());
        assert!(Rfm::new(2.0, 6.0, 5.0).is_err());
        assert!(Rfm::new(-1.0, 0.0, 5.0).is_err());
    }
}
