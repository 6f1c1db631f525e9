//! Weekly sales from a shop's own order events, so that elasticities, forecasts and price optimisation run
//! on the shop's data.
//!
//! Feed every event to [`OrderSales::add`] (anything but an order is skipped), then [`OrderSales::finish`]
//! gives one row per item and ISO week (the week's Monday as `date`) in the weekly-sales format
//! `series,product,market,date,units,price,promo,cost`:
//!
//! - `series` and `product` are the item id, `market` its category when known (else `all`), so that
//!   the other items of the category are the cross-prices, or the item itself when each item is to be
//!   priced on its own ([`ItemInfo`], `market_per_item`);
//! - `units` is the quantity ordered in the week (gross: refunds carry no quantity and are not taken off);
//! - `price` is the units-weighted mean paid price per unit, in currency units (minor units divided by
//!   the currency's exponent), coupons and retail discounts taken off;
//! - `promo` is the share of the week's units that were sold with any discount;
//! - `cost` is the item's unit cost from the catalogue when known (today's cost for every week: order
//!   events carry no cost), empty otherwise.
//!
//! A week between an item's first and last sale in which it did not sell is a row with 0 units at the
//! item's last list price (the shelf price nobody paid), so that forecasts see the zero; the
//! elasticity's log-log fit leaves such rows out by itself.
//!
//! An item sold in two currencies cannot be one series: that is an error naming the item, the order
//! and both currencies.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate};
use discount_core::{Currency, Event, EventKind};
use serde::Serialize;

use crate::error::{invalid, PricingError, Result};
use crate::weekly::WeeklySales;

/// One item's sales in one week, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct WeekSums {
    units: u64,
    /// Sum of paid line totals, minor units.
    paid: i64,
    /// Sum of list price times quantity, minor units.
    list: i64,
    /// Units of lines with any discount.
    discounted_units: u64,
}

/// One row of the weekly-sales table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderWeek {
    pub item_id: String,
    pub market: String,
    /// The Monday of the ISO week.
    pub date: NaiveDate,
    pub units: u64,
    /// Mean paid price per unit, currency units.
    pub price: f64,
    /// Share of the units sold with a discount.
    pub promo: f64,
    /// The sums behind the row, minor units (0 for a week without sales).
    pub paid_minor: i64,
    /// Unit cost, currency units, when the catalogue knows it.
    pub cost: Option<f64>,
}

/// What the catalogue says about an item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemInfo {
    pub category: Option<String>,
    /// Unit cost, minor units.
    pub unit_cost: Option<i64>,
}

/// What the aggregation read and produced.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct OrderSalesSummary {
    pub events_read: u64,
    pub orders: u64,
    pub order_lines: u64,
    pub items: usize,
    pub rows: usize,
    /// Rows of weeks without sales between an item's first and last sale.
    pub zero_weeks: usize,
    /// Items left out because they sold in fewer weeks than asked ([`OrderSales::finish`]).
    pub items_below_min_weeks: usize,
}

/// Aggregates order events into weekly sales per item.
#[derive(Debug, Default)]
pub struct OrderSales {
    weeks: BTreeMap<(String, NaiveDate), WeekSums>,
    currency: HashMap<String, Currency>,
    summary: OrderSalesSummary,
}

/// The Monday of the week holding `date`.
pub fn week_monday(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

impl OrderSales {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one event; events other than orders are counted and skipped.
    pub fn add(&mut self, event: &Event) -> Result<()> {
        self.summary.events_read += 1;
        let EventKind::Order {
            order_id,
            currency,
            lines,
        } = &event.kind
        else {
            return Ok(());
        };
        self.summary.orders += 1;
        let week = week_monday(event.time.to_datetime().date_naive());
        for line in lines {
            self.summary.order_lines += 1;
            match self.currency.get(&line.item_id) {
                Some(known) if known != currency => {
                    return Err(invalid(
                        "currency",
                        format!(
                            "item `{}` is sold in {known} and, in order `{order_id}`, in {currency}: \
                             one series needs one currency",
                            line.item_id
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    self.currency.insert(line.item_id.clone(), *currency);
                }
            }
            let sums = self.weeks.entry((line.item_id.clone(), week)).or_default();
            sums.units += u64::from(line.quantity);
            sums.paid = sums.paid.saturating_add(line.paid);
            sums.list = sums
                .list
                .saturating_add(line.list_price.saturating_mul(i64::from(line.quantity)));
            if line.retail_discount > 0 || line.coupon_discount > 0 {
                sums.discounted_units += u64::from(line.quantity);
            }
        }
        Ok(())
    }

    /// The items that sold, sorted (to look their categories up).
    pub fn items(&self) -> Vec<String> {
        self.currency
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// The weekly rows, by item then week, with what `items` knows of each item (its category is the
    /// market unless `market_per_item`, its cost the cost column). Items that sold in fewer than
    /// `min_weeks` weeks are left out and counted (a model cannot fit an item seen twice).
    pub fn finish(
        &self,
        items: &HashMap<String, ItemInfo>,
        market_per_item: bool,
        min_weeks: usize,
    ) -> (Vec<OrderWeek>, OrderSalesSummary) {
        let mut rows = Vec::new();
        let mut summary = self.summary.clone();
        let mut by_item: BTreeMap<&str, Vec<(NaiveDate, WeekSums)>> = BTreeMap::new();
        for ((item, week), sums) in &self.weeks {
            by_item.entry(item).or_default().push((*week, *sums));
        }
        let before = by_item.len();
        by_item.retain(|_, weeks| weeks.len() >= min_weeks);
        summary.items_below_min_weeks = before - by_item.len();
        summary.items = by_item.len();
        for (item, weeks) in by_item {
            let scale = 10f64.powi(self.currency.get(item).map_or(2, |c| c.exponent() as i32));
            let info = items.get(item).cloned().unwrap_or_default();
            let market = if market_per_item {
                item.to_string()
            } else {
                info.category
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| "all".to_string())
            };
            let cost = info.unit_cost.map(|c| c as f64 / scale);
            let mut shelf_price = 0.0;
            let mut previous: Option<NaiveDate> = None;
            for (week, sums) in weeks {
                if let Some(mut gap) = previous.map(|p| p + Duration::days(7)) {
                    while gap < week {
                        summary.zero_weeks += 1;
                        rows.push(OrderWeek {
                            item_id: item.to_string(),
                            market: market.clone(),
                            date: gap,
                            units: 0,
                            price: shelf_price,
                            promo: 0.0,
                            paid_minor: 0,
                            cost,
                        });
                        gap += Duration::days(7);
                    }
                }
                previous = Some(week);
                let units = sums.units.max(1) as f64;
                shelf_price = sums.list as f64 / units / scale;
                rows.push(OrderWeek {
                    item_id: item.to_string(),
                    market: market.clone(),
                    date: week,
                    units: sums.units,
                    price: sums.paid as f64 / units / scale,
                    promo: sums.discounted_units as f64 / units,
                    paid_minor: sums.paid,
                    cost,
                });
            }
        }
        summary.rows = rows.len();
        (rows, summary)
    }
}

/// The rows as weekly-sales CSV text.
pub fn to_csv(rows: &[OrderWeek]) -> String {
    let mut text = String::from("series,product,market,date,units,price,promo,cost\n");
    for r in rows {
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            csv_field(&r.item_id),
            csv_field(&r.item_id),
            csv_field(&r.market),
            r.date,
            r.units,
            r.price,
            r.promo,
            r.cost.map(|c| c.to_string()).unwrap_or_default()
        ));
    }
    text
}

/// Quotes a field when it holds a separator or a quote.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Writes the rows as a weekly-sales CSV file.
pub fn write_csv(rows: &[OrderWeek], output: &Path) -> Result<()> {
    std::fs::write(output, to_csv(rows)).map_err(|source| PricingError::Io {
        path: output.to_path_buf(),
        source,
    })
}

/// The rows as weekly sales, ready for the models (`name` stands for the source in messages).
pub fn to_weekly_sales(rows: &[OrderWeek], name: &str) -> Result<WeeklySales> {
    WeeklySales::parse(name, &to_csv(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use discount_core::{OrderLine, Timestamp};

    fn order(id: &str, day: u32, currency: &str, lines: Vec<OrderLine>) -> Event {
        Event {
            id: id.into(),
            user_id: "u1".into(),
            time: Timestamp::from_date(2024, 1, day).unwrap(),
            kind: EventKind::Order {
                order_id: id.into(),
                currency: Currency::parse("currency", currency).unwrap(),
                lines,
            },
        }
    }

    fn line(item: &str, quantity: u32, list: i64, coupon: i64) -> OrderLine {
        OrderLine {
            item_id: item.into(),
            quantity,
            list_price: list,
            paid: list * i64::from(quantity) - coupon,
            retail_discount: 0,
            coupon_discount: coupon,
        }
    }

    #[test]
    fn orders_sum_into_weeks_with_gaps_filled() {
        let mut sales = OrderSales::new();
        // 2024-01-01 is a Monday. Week 1: a 2 x 500 (one coupon of 100) and a 1 x 500; week 3: a 4 x 500.
        sales
            .add(&order(
                "o1",
                2,
                "USD",
                vec![line("a", 2, 500, 100), line("b", 1, 300, 0)],
            ))
            .unwrap();
        sales
            .add(&order("o2", 7, "USD", vec![line("a", 1, 500, 0)]))
            .unwrap();
        sales
            .add(&order("o3", 17, "USD", vec![line("a", 4, 500, 0)]))
            .unwrap();
        let view = Event {
            id: "v".into(),
            user_id: "u1".into(),
            time: Timestamp::from_date(2024, 1, 3).unwrap(),
            kind: EventKind::View { item_id: None },
        };
        sales.add(&view).unwrap();
        let items = HashMap::from([(
            "a".to_string(),
            ItemInfo {
                category: Some("juice".into()),
                unit_cost: Some(320),
            },
        )]);
        let (rows, summary) = sales.finish(&items, false, 1);
        assert_eq!(summary.events_read, 4);
        assert_eq!(summary.orders, 3);
        assert_eq!(summary.order_lines, 4);
        assert_eq!(summary.zero_weeks, 1);
        let a: Vec<&OrderWeek> = rows.iter().filter(|r| r.item_id == "a").collect();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].date, NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        assert_eq!(a[0].units, 3);
        // (1000 - 100 + 500) / 3 units / 100.
        assert!((a[0].price - 1400.0 / 3.0 / 100.0).abs() < 1e-12);
        assert!((a[0].promo - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!((a[0].market.as_str(), a[0].cost), ("juice", Some(3.2)));
        assert_eq!((a[1].units, a[1].price, a[1].promo), (0, 5.0, 0.0));
        assert_eq!(a[2].date, NaiveDate::from_ymd_opt(2024, 1, 15).unwrap());
        assert_eq!((a[2].units, a[2].price), (4, 5.0));
        let b: Vec<&OrderWeek> = rows.iter().filter(|r| r.item_id == "b").collect();
        assert_eq!((b.len(), b[0].market.as_str(), b[0].cost), (1, "all", None));
        let weekly = to_weekly_sales(&rows, "orders").unwrap();
        assert_eq!(weekly.summary.rows_kept, 4);
        assert_eq!(weekly.summary.rows_rejected, 0);
        assert_eq!(weekly.rows[0].cost, Some(3.2));
        // Each item its own market.
        let (rows, _) = sales.finish(&items, true, 1);
        assert!(rows.iter().all(|r| r.market == r.item_id));
        // Item b sold in one week only.
        let (rows, summary) = sales.finish(&items, false, 2);
        assert_eq!((summary.items, summary.items_below_min_weeks), (1, 1));
        assert!(rows.iter().all(|r| r.item_id == "a"));
    }

    #[test]
    fn one_item_in_two_currencies_is_refused() {
        let mut sales = OrderSales::new();
        sales
            .add(&order("o1", 2, "USD", vec![line("a", 1, 500, 0)]))
            .unwrap();
        let err = sales
            .add(&order("o2", 3, "EUR", vec![line("a", 1, 500, 0)]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`a`") && err.contains("o2") && err.contains("EUR"),
            "{err}"
        );
    }
}
