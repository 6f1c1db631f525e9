//! Weekly sales: the input of elasticity, forecasts and price optimisation.
//!
//! A CSV with the columns `series,date,units,price` and optionally `product,market,promo,feature,display,cost,
//! stock`; every other column is a numeric covariate (store income, customer count...). `date` is the week's
//! first day (YYYY-MM-DD). `product` names what is sold (default: the series) and `market` where it competes
//! (default: one market): the prices of the other products of the same market and week are the cross-prices.
//!
//! Bad rows are left out with their line and reason; the summary always balances
//! (`rows_read = rows_kept + rows_rejected`).

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use crate::csv_input::{self, next_record, number, text, Header, Rejection};
use crate::error::Result;

/// One series' sales in one week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeklyRow {
    /// Line of the row in its file.
    pub line: u64,
    pub series: String,
    pub product: String,
    pub market: String,
    pub date: NaiveDate,
    /// Weeks since 1970-01-01 (a Thursday): consecutive weeks differ by one.
    pub week: i64,
    pub units: f64,
    /// Shelf price per unit (currency units).
    pub price: f64,
    /// Share of the week on promotion (0..1; 1 = the whole week).
    pub promo: f64,
    pub feature: f64,
    pub display: f64,
    /// Unit cost (currency units), when known.
    pub cost: Option<f64>,
    /// Units in stock at the start of the week, when known.
    pub stock: Option<f64>,
    /// Values of the covariate columns, in [`WeeklySales::covariate_names`] order.
    pub covariates: Vec<f64>,
}

/// How many rows were read, kept and rejected, and why.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ReadSummary {
    pub rows_read: usize,
    pub rows_kept: usize,
    pub rows_rejected: usize,
    pub rejections: Vec<Rejection>,
}

/// A weekly sales panel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeklySales {
    pub rows: Vec<WeeklyRow>,
    pub covariate_names: Vec<String>,
    pub summary: ReadSummary,
}

const KNOWN: [&str; 11] = [
    "series", "date", "units", "price", "product", "market", "promo", "feature", "display", "cost",
    "stock",
];

/// Weeks since 1970-01-01 for a date.
pub fn week_index(date: NaiveDate) -> i64 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (date - epoch).num_days().div_euclid(7)
}

impl WeeklySales {
    /// Reads a weekly sales CSV file.
    pub fn read(path: &Path) -> Result<Self> {
        let mut reader = csv_input::open(path)?;
        Self::read_from(path, &mut reader)
    }

    /// Reads weekly sales from memory (`name` stands for the file in messages).
    pub fn parse(name: &str, text: &str) -> Result<Self> {
        let mut reader = csv_input::from_text(text);
        Self::read_from(Path::new(name), &mut reader)
    }

    fn read_from(path: &Path, reader: &mut csv::Reader<Box<dyn Read>>) -> Result<Self> {
        let header = Header::read(path, reader)?;
        let series_col = header.required("series")?;
        let date_col = header.required("date")?;
        let units_col = header.required("units")?;
        let price_col = header.required("price")?;
        let optional = |name: &str| header.optional(name);
        let (product_col, market_col) = (optional("product"), optional("market"));
        let (promo_col, feature_col, display_col) =
            (optional("promo"), optional("feature"), optional("display"));
        let (cost_col, stock_col) = (optional("cost"), optional("stock"));
        let covariate_cols: Vec<usize> = (0..header.names.len())
            .filter(|&i| {
                !KNOWN
                    .iter()
                    .any(|k| header.names[i].eq_ignore_ascii_case(k))
            })
            .collect();
        let covariate_names = covariate_cols
            .iter()
            .map(|&i| header.names[i].clone())
            .collect();

        let mut summary = ReadSummary::default();
        let mut rows = Vec::new();
        let mut seen: HashSet<(String, i64)> = HashSet::new();
        let mut record = csv::StringRecord::new();
        while let Some(line) = next_record(path, reader, &mut record)? {
            summary.rows_read += 1;
            let parsed = (|| -> std::result::Result<WeeklyRow, Rejection> {
                let series = text(&record, line, series_col, "series")?;
                let date_text = text(&record, line, date_col, "date")?;
                let date =
                    NaiveDate::parse_from_str(&date_text, "%Y-%m-%d").map_err(|_| Rejection {
                        line,
                        field: "date".into(),
                        value: date_text.clone(),
                        reason: "not a date YYYY-MM-DD".into(),
                    })?;
                let units = number(&record, line, units_col, "units")?;
                if units < 0.0 {
                    return Err(reject(line, "units", units, "negative units"));
                }
                let price = number(&record, line, price_col, "price")?;
                if price <= 0.0 {
                    return Err(reject(line, "price", price, "price must be above zero"));
                }
                let share = |col: Option<usize>, field: &str| match col {
                    None => Ok(0.0),
                    Some(c) if record.get(c).unwrap_or("").is_empty() => Ok(0.0),
                    Some(c) => {
                        let v = number(&record, line, c, field)?;
                        if v < 0.0 {
                            Err(reject(line, field, v, "must not be negative"))
                        } else {
                            Ok(v)
                        }
                    }
                };
                let promo = share(promo_col, "promo")?;
                let feature = share(feature_col, "feature")?;
                let display = share(display_col, "display")?;
                let maybe = |col: Option<usize>, field: &str| match col {
                    Some(c) if !record.get(c).unwrap_or("").is_empty() => {
                        let v = number(&record, line, c, field)?;
                        if v < 0.0 {
                            Err(reject(line, field, v, "must not be negative"))
                        } else {
                            Ok(Some(v))
                        }
                    }
                    _ => Ok(None),
                };
                let cost = maybe(cost_col, "cost")?;
                let stock = maybe(stock_col, "stock")?;
                let covariates = covariate_cols
                    .iter()
                    .map(|&c| number(&record, line, c, &header.names[c]))
                    .collect::<std::result::Result<Vec<f64>, Rejection>>()?;
                let product = match product_col {
                    Some(c) if !record.get(c).unwrap_or("").is_empty() => {
                        record.get(c).unwrap_or("").to_string()
                    }
                    _ => series.clone(),
                };
                let market = match market_col {
                    Some(c) if !record.get(c).unwrap_or("").is_empty() => {
                        record.get(c).unwrap_or("").to_string()
                    }
                    _ => "all".to_string(),
                };
                Ok(WeeklyRow {
                    line,
                    series,
                    product,
                    market,
                    week: week_index(date),
                    date,
                    units,
                    price,
                    promo,
                    feature,
                    display,
                    cost,
                    stock,
                    covariates,
                })
            })();
            match parsed {
                Ok(row) => {
                    if !seen.insert((row.series.clone(), row.week)) {
                        summary.rejections.push(Rejection {
                            line,
                            field: "date".into(),
                            value: row.date.to_string(),
                            reason: format!("second row of series {} in this week", row.series),
                        });
                        continue;
                    }
                    rows.push(row);
                }
                Err(rejection) => summary.rejections.push(rejection),
            }
        }
        summary.rows_kept = rows.len();
        summary.rows_rejected = summary.rejections.len();
        Ok(WeeklySales {
            rows,
            covariate_names,
            summary,
        })
    }

    /// The products, sorted.
    pub fn products(&self) -> Vec<String> {
        let set: std::collections::BTreeSet<&String> =
            self.rows.iter().map(|r| &r.product).collect();
        set.into_iter().cloned().collect()
    }

    /// Rows grouped by series (sorted by series name), each group sorted by week.
    pub fn by_series(&self) -> BTreeMap<String, Vec<&WeeklyRow>> {
        let mut map: BTreeMap<String, Vec<&WeeklyRow>> = BTreeMap::new();
        for row in &self.rows {
            map.entry(row.series.clone()).or_default().push(row);
        }
        for rows in map.values_mut() {
            rows.sort_by_key(|r| r.week);
        }
        map
    }

    /// Index of a covariate column by name (case-insensitive).
    pub fn covariate(&self, name: &str) -> Option<usize> {
        self.covariate_names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
    }
}

fn reject(line: u64, field: &str, value: f64, reason: &str) -> Rejection {
    Rejection {
        line,
        field: field.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_are_rejected_with_their_line_and_the_counts_balance() {
        let text = "series,date,units,price,promo,income\n\
                    a,2024-01-01,10,2.5,0,10.5\n\
                    a,2024-01-08,-1,2.5,0,10.5\n\
                    a,2024-01-15,12,0,0,10.5\n\
                    a,2024-01-03,12,2.0,0,10.5\n\
                    b,not-a-date,3,1.0,1,9\n\
                    b,2024-01-08,3,1.0,1,x\n\
                    b,2024-01-15,4,1.5,,9\n";
        let sales = WeeklySales::parse("mem.csv", text).unwrap();
        assert_eq!(sales.summary.rows_read, 7);
        assert_eq!(sales.summary.rows_kept, 2);
        assert_eq!(sales.summary.rows_rejected, 5);
        let lines: Vec<u64> = sales.summary.rejections.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7]);
        assert_eq!(sales.summary.rejections[0].field, "units");
        assert_eq!(sales.summary.rejections[1].field, "price");
        assert!(sales.summary.rejections[2].reason.contains("second row"));
        assert_eq!(sales.summary.rejections[4].field, "income");
        assert_eq!(sales.covariate_names, ["income"]);
        assert_eq!(sales.rows[1].promo, 0.0);
        assert_eq!(sales.rows[0].product, "a");
        assert_eq!(sales.rows[0].market, "all");
        assert_eq!(sales.rows[1].week - sales.rows[0].week, 2);
    }

    #[test]
    fn a_missing_required_column_is_an_error_naming_it() {
        let err = WeeklySales::parse("mem.csv", "series,date,price\na,2024-01-01,1\n").unwrap_err();
        assert!(err.to_string().contains("`units`"), "{err}");
    }
}
