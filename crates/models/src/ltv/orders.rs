//! A shop's order events as the transaction log of the RFM summary, and the default calibration
//! and holdout periods of that log.
//!
//! An order's amount is what the customer paid (the sum of its lines' `paid`, minor units);
//! refunds are not netted out (BG/NBD counts purchase occasions, and Gamma-Gamma models what was
//! spent at them). A purchase's day is the UTC date of the order.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use discount_core::{Currency, Event, EventKind, Timestamp};
use serde::Serialize;

use super::rfm::Transaction;
use crate::error::ModelError;

/// The UTC date of a time: the day a purchase counts on.
pub fn day_of(time: Timestamp) -> NaiveDate {
    time.to_datetime().date_naive()
}

/// Orders collected from events, one currency at a time.
#[derive(Debug, Default)]
pub struct OrderLog {
    /// External user id of each customer number.
    customers: Vec<String>,
    index: HashMap<String, u64>,
    orders: Vec<(Currency, Transaction)>,
}

impl OrderLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an order event; other events are ignored. Returns whether it counted.
    pub fn push(&mut self, event: &Event) -> bool {
        let EventKind::Order { currency, .. } = &event.kind else {
            return false;
        };
        let customer = match self.index.get(&event.user_id) {
            Some(&c) => c,
            None => {
                let c = self.customers.len() as u64;
                self.customers.push(event.user_id.clone());
                self.index.insert(event.user_id.clone(), c);
                c
            }
        };
        self.orders.push((
            *currency,
            Transaction {
                customer,
                day: day_of(event.time),
                amount_minor: event.order_total(),
            },
        ));
        true
    }

    /// Order events collected (all currencies).
    pub fn orders(&self) -> usize {
        self.orders.len()
    }

    /// Orders per currency code.
    pub fn currencies(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for (c, _) in &self.orders {
            *out.entry(c.to_string()).or_insert(0) += 1;
        }
        out
    }

    /// The number of the customer with external id `id`, once they have an order.
    pub fn customer_number(&self, id: &str) -> Option<u64> {
        self.index.get(id).copied()
    }

    /// The external id of customer number `customer`.
    pub fn customer_id(&self, customer: u64) -> &str {
        self.customers
            .get(customer as usize)
            .map_or("", String::as_str)
    }

    /// The transactions in `currency`; `None` takes the only currency there is, and is an error
    /// when orders come in several (amounts in different currencies cannot be averaged).
    pub fn transactions(
        &self,
        currency: Option<Currency>,
    ) -> Result<(Currency, Vec<Transaction>), ModelError> {
        let chosen = match currency {
            Some(c) => c,
            None => {
                let currencies = self.currencies();
                if currencies.len() > 1 {
                    let list: Vec<String> = currencies
                        .iter()
                        .map(|(c, n)| format!("{c}: {n} orders"))
                        .collect();
                    return Err(ModelError::Data(format!(
                        "orders come in {} currencies ({}); choose one",
                        currencies.len(),
                        list.join(", ")
                    )));
                }
                match self.orders.first() {
                    Some((c, _)) => *c,
                    None => Currency::USD,
                }
            }
        };
        let log = self
            .orders
            .iter()
            .filter(|(c, _)| *c == chosen)
            .map(|(_, t)| t.clone())
            .collect();
        Ok((chosen, log))
    }
}

/// The calibration and holdout periods of a log: calibration from its first day up to and
/// including `calibration_end`, holdout from the day after up to and including `holdout_end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Periods {
    pub first_day: NaiveDate,
    pub calibration_end: NaiveDate,
    pub holdout_end: NaiveDate,
}

impl Periods {
    /// The periods of `log` with the given ends; a missing calibration end puts the last
    /// `holdout_share` of the observed span (first to last purchase day) in the holdout, a
    /// missing holdout end is the last purchase day.
    pub fn of(
        log: &[Transaction],
        calibration_end: Option<NaiveDate>,
        holdout_end: Option<NaiveDate>,
        holdout_share: f64,
    ) -> Result<Self, ModelError> {
        let (Some(first), Some(last)) = (
            log.iter().map(|t| t.day).min(),
            log.iter().map(|t| t.day).max(),
        ) else {
            return Err(ModelError::Data("no orders".into()));
        };
        if !(0.0..1.0).contains(&holdout_share) {
            return Err(ModelError::InvalidHyper {
                name: "holdout_share",
                value: holdout_share.to_string(),
                reason: "must be in [0, 1)".into(),
            });
        }
        let holdout_end = holdout_end.unwrap_or(last);
        let calibration_end = match calibration_end {
            Some(d) => d,
            None => {
                let span = (holdout_end - first).num_days();
                let holdout_days = (span as f64 * holdout_share).round() as i64;
                holdout_end - Duration::days(holdout_days)
            }
        };
        if calibration_end < first {
            return Err(ModelError::InvalidHyper {
                name: "calibration_end",
                value: calibration_end.to_string(),
                reason: format!("is before the first order ({first})"),
            });
        }
        if holdout_end < calibration_end {
            return Err(ModelError::InvalidHyper {
                name: "holdout_end",
                value: holdout_end.to_string(),
                reason: format!("must not be before the calibration end {calibration_end}"),
            });
        }
        Ok(Self {
            first_day: first,
            calibration_end,
            holdout_end,
        })
    }

    /// Days in the holdout period.
    pub fn holdout_days(&self) -> i64 {
        (self.holdout_end - self.calibration_end).num_days()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ltv::rfm::{summarise_in, Rfm, TimeUnit};
    use discount_core::OrderLine;

    fn order(user: &str, id: &str, day: (i32, u32, u32), hour: f64, paid: &[i64]) -> Event {
        let start = Timestamp::from_date(day.0, day.1, day.2).unwrap();
        Event {
            id: id.into(),
            user_id: user.into(),
            time: start.plus_days(hour / 24.0),
            kind: EventKind::Order {
                order_id: id.into(),
                currency: Currency::USD,
                lines: paid
                    .iter()
                    .map(|p| OrderLine {
                        item_id: "sku".into(),
                        quantity: 1,
                        list_price: *p,
                        paid: *p,
                        retail_discount: 0,
                        coupon_discount: 0,
                    })
                    .collect(),
            },
        }
    }

    #[test]
    fn hand_written_orders_summarise_as_computed_by_hand() {
        let events = [
            // ann: 1 Mar, twice on 5 Mar (one purchase day of 30 + 20), 15 Mar; 31 Mar in holdout.
            order("ann", "o1", (2024, 3, 1), 9.0, &[1000]),
            order("ann", "o2", (2024, 3, 5), 10.0, &[1500, 1500]),
            order("ann", "o3", (2024, 3, 5), 23.5, &[2000]),
            order("ann", "o4", (2024, 3, 15), 12.0, &[4000]),
            order("ann", "o5", (2024, 3, 31), 12.0, &[900]),
            // bob: a single order on 10 Mar.
            order("bob", "o6", (2024, 3, 10), 8.0, &[2500]),
            // cy: first order in the holdout: not a calibration customer.
            order("cy", "o7", (2024, 3, 25), 8.0, &[700]),
        ];
        let mut log = OrderLog::new();
        for e in &events {
            assert!(log.push(e));
        }
        let (_, transactions) = log.transactions(None).unwrap();
        let calibration_end = NaiveDate::from_ymd_opt(2024, 3, 20).unwrap();
        let holdout_end = NaiveDate::from_ymd_opt(2024, 3, 31).unwrap();
        let s = summarise_in(&transactions, calibration_end, holdout_end, TimeUnit::Days).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(log.customer_id(s[0].customer), "ann");
        // Purchase days 1, 5, 15 March: frequency 2, recency 14 days, T = 20 - 1 = 19 days.
        assert_eq!(
            s[0].rfm,
            Rfm {
                x: 2.0,
                t_x: 14.0,
                t: 19.0
            }
        );
        // Repeat purchases: 5 March (30 + 20 = 50.00) and 15 March (40.00): mean 45.00.
        assert_eq!(s[0].mean_repeat_amount_minor, Some(4500.0));
        assert_eq!(s[0].holdout_purchases, 1);
        assert_eq!(log.customer_id(s[1].customer), "bob");
        assert_eq!(
            s[1].rfm,
            Rfm {
                x: 0.0,
                t_x: 0.0,
                t: 10.0
            }
        );
        let weeks =
            summarise_in(&transactions, calibration_end, holdout_end, TimeUnit::Weeks).unwrap();
        assert_eq!(weeks[0].rfm.t_x, 2.0);
        assert!((weeks[0].rfm.t - 19.0 / 7.0).abs() < 1e-12);

        // The default holdout is the last quarter of 1-31 March: 30 days, 8 of them (rounded).
        let p = Periods::of(&transactions, None, None, 0.25).unwrap();
        assert_eq!(p.first_day, NaiveDate::from_ymd_opt(2024, 3, 1).unwrap());
        assert_eq!(p.holdout_end, holdout_end);
        assert_eq!(
            p.calibration_end,
            NaiveDate::from_ymd_opt(2024, 3, 23).unwrap()
        );
        assert!(Periods::of(
            &transactions,
            Some(holdout_end),
            Some(calibration_end),
            0.25
        )
        .is_err());
    }

    #[test]
    fn several_currencies_need_a_choice() {
        let mut log = OrderLog::new();
        log.push(&order("ann", "o1", (2024, 3, 1), 9.0, &[1000]));
        let mut eur = order("bob", "o2", (2024, 3, 2), 9.0, &[1000]);
        if let EventKind::Order { currency, .. } = &mut eur.kind {
            *currency = Currency::parse("currency", "EUR").unwrap();
        }
        log.push(&eur);
        let e = log.transactions(None).unwrap_err().to_string();
        assert!(
            e.contains("EUR: 1 orders") && e.contains("USD: 1 orders"),
            "{e}"
        );
        let (_, usd) = log.transactions(Some(Currency::USD)).unwrap();
        assert_eq!(usd.len(), 1);
    }
}
