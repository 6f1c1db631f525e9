//! The weekly sales panel as numbers: log units, own and competitor log prices per row, and the indices of
//! series, markets and weeks that fixed effects and clustered errors need.

use std::collections::{BTreeMap, HashMap};

use crate::error::{not_identified, Result};
use crate::weekly::WeeklySales;

/// One row of the panel with positive sales.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelRow {
    /// Index into the sales rows.
    pub source: usize,
    pub product: usize,
    pub series: usize,
    pub market: usize,
    pub week: i64,
    pub log_units: f64,
    /// Log price of every product in this market and week (own included); a product not sold there that
    /// week gets its mean log price in the market (or overall), so that rows are not lost.
    pub log_prices: Vec<f64>,
    pub promo: f64,
    pub feature: f64,
    pub display: f64,
}

/// The panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub products: Vec<String>,
    pub series: Vec<String>,
    pub markets: Vec<String>,
    pub rows: Vec<PanelRow>,
    /// Rows left out because they sold nothing (the log is undefined).
    pub zero_unit_rows: usize,
}

impl Panel {
    pub fn build(sales: &WeeklySales) -> Result<Self> {
        let products = sales.products();
        let product_index: HashMap<&str, usize> = products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), i))
            .collect();
        let mut series: Vec<String> = Vec::new();
        let mut series_index: HashMap<&str, usize> = HashMap::new();
        let mut markets: Vec<String> = Vec::new();
        let mut market_index: HashMap<&str, usize> = HashMap::new();
        for row in &sales.rows {
            if !series_index.contains_key(row.series.as_str()) {
                series_index.insert(&row.series, series.len());
                series.push(row.series.clone());
            }
            if !market_index.contains_key(row.market.as_str()) {
                market_index.insert(&row.market, markets.len());
                markets.push(row.market.clone());
            }
        }
        let np = products.len();
        // Observed log prices per (market, week), and per-product means for the gaps.
        let mut observed: HashMap<(usize, i64), Vec<Option<f64>>> = HashMap::new();
        let mut market_sum: BTreeMap<(usize, usize), (f64, f64)> = BTreeMap::new();
        let mut overall_sum: Vec<(f64, f64)> = vec![(0.0, 0.0); np];
        for row in &sales.rows {
            let (p, m) = (
                product_index[row.product.as_str()],
                market_index[row.market.as_str()],
            );
            let lp = row.price.ln();
            observed
                .entry((m, row.week))
                .or_insert_with(|| vec![None; np])[p] = Some(lp);
            let e = market_sum.entry((m, p)).or_insert((0.0, 0.0));
            e.0 += lp;
            e.1 += 1.0;
            overall_sum[p].0 += lp;
            overall_sum[p].1 += 1.0;
        }
        let mut rows = Vec::new();
        let mut zero_unit_rows = 0;
        for (source, row) in sales.rows.iter().enumerate() {
            if row.units <= 0.0 {
                zero_unit_rows += 1;
                continue;
            }
            let m = market_index[row.market.as_str()];
            let seen = &observed[&(m, row.week)];
            let log_prices = (0..np)
                .map(|k| {
                    seen[k].unwrap_or_else(|| match market_sum.get(&(m, k)) {
                        Some((s, c)) => s / c,
                        None => overall_sum[k].0 / overall_sum[k].1.max(1.0),
                    })
                })
                .collect();
            rows.push(PanelRow {
                source,
                product: product_index[row.product.as_str()],
                series: series_index[row.series.as_str()],
                market: m,
                week: row.week,
                log_units: row.units.ln(),
                log_prices,
                promo: row.promo,
                feature: row.feature,
                display: row.display,
            });
        }
        if rows.is_empty() {
            return Err(not_identified("demand", "no rows with positive sales"));
        }
        Ok(Panel {
            products,
            series,
            markets,
            rows,
            zero_unit_rows,
        })
    }
}

/// Dense 0..n indices of the distinct values, in order of first appearance.
pub fn dense_index<T: std::hash::Hash + Eq + Copy>(values: impl Iterator<Item = T>) -> Vec<usize> {
    let mut map: HashMap<T, usize> = HashMap::new();
    values
        .map(|v| {
            let next = map.len();
            *map.entry(v).or_insert(next)
        })
        .collect()
}
