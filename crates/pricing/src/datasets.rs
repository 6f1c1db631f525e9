//! Converters from the public bayesm scanner panels (../shared/data/bayesm-scanner-panels) to the two input
//! formats: Dominick's orange juice and canned tuna to weekly sales, margarine household purchases to choice
//! occasions.
//!
//! Dominick's weeks are numbered; week 1 began on Thursday 1989-09-14, so week `w` becomes the date
//! 1989-09-14 + 7 (w - 1) days. The tuna file numbers its weeks from 1 in the same way.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::csv_input::{self, next_record, Header};
use crate::error::{PricingError, Result};

/// Orange-juice brands of the bayesm file, with their package size in ounces.
pub const ORANGE_JUICE_BRANDS: [(&str, f64); 11] = [
    ("Tropicana Premium 64oz", 64.0),
    ("Tropicana Premium 96oz", 96.0),
    ("Florida's Natural 64oz", 64.0),
    ("Tropicana 64oz", 64.0),
    ("Minute Maid 64oz", 64.0),
    ("Minute Maid 96oz", 96.0),
    ("Citrus Hill 64oz", 64.0),
    ("Tree Fresh 64oz", 64.0),
    ("Florida Gold 64oz", 64.0),
    ("Dominicks 64oz", 64.0),
    ("Dominicks 128oz", 128.0),
];

/// Canned-tuna brands of the bayesm file.
pub const TUNA_BRANDS: [&str; 7] = [
    "Star Kist 6oz",
    "Chicken of the Sea 6oz",
    "Bumble Bee Solid 6.12oz",
    "Bumble Bee Chunk 6.12oz",
    "Geisha 6oz",
    "Bumble Bee Large Cans",
    "HH Chunk Lite 6.5oz",
];

/// The date of a Dominick's week number.
pub fn dominicks_week_date(week: i64) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(1989, 9, 14).unwrap_or_default();
    start + Duration::days(7 * (week - 1))
}

/// What a conversion read and wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvertSummary {
    pub dataset: String,
    pub rows_read: usize,
    pub rows_written: usize,
    pub output: PathBuf,
}

fn bad(path: &Path, line: u64, field: &str, value: &str, message: &str) -> PricingError {
    PricingError::BadValue {
        path: path.to_path_buf(),
        line,
        field: field.to_string(),
        value: value.to_string(),
        message: message.to_string(),
    }
}

fn field_number(
    path: &Path,
    record: &csv::StringRecord,
    line: u64,
    header: &Header,
    column: &str,
) -> Result<f64> {
    let index = header.required(column)?;
    let text = record.get(index).unwrap_or("");
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| bad(path, line, column, text, "not a finite number"))
}

fn writer(output: &Path) -> Result<csv::Writer<std::fs::File>> {
    let file = std::fs::File::create(output).map_err(|source| PricingError::Io {
        path: output.to_path_buf(),
        source,
    })?;
    Ok(csv::Writer::from_writer(file))
}

fn write_row<W: Write>(writer: &mut csv::Writer<W>, output: &Path, row: &[String]) -> Result<()> {
    writer
        .write_record(row)
        .map_err(|source| PricingError::Csv {
            path: output.to_path_buf(),
            source,
        })
}

fn finish<W: Write>(mut writer: csv::Writer<W>, output: &Path) -> Result<()> {
    writer.flush().map_err(|source| PricingError::Io {
        path: output.to_path_buf(),
        source,
    })
}

/// Orange juice (orangeJuice_yx.csv with orangeJuice_storedemo.csv) to weekly sales: one series per store
/// and brand, units = exp(logmove), the price per package (the file's price per ounce times the package
/// size), promo = deal, feature = feat, cost from the gross margin in percent (`profit`), and the store's
/// demographics as covariates.
pub fn convert_orange_juice(yx: &Path, storedemo: &Path, output: &Path) -> Result<ConvertSummary> {
    let mut demo_reader = csv_input::open(storedemo)?;
    let demo_header = Header::read(storedemo, &mut demo_reader)?;
    let store_col = demo_header.required("STORE")?;
    let demo_names: Vec<String> = demo_header
        .names
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != store_col)
        .map(|(_, n)| n.clone())
        .collect();
    let mut demographics: HashMap<i64, Vec<String>> = HashMap::new();
    let mut record = csv::StringRecord::new();
    while let Some(line) = next_record(storedemo, &mut demo_reader, &mut record)? {
        let store_text = record.get(store_col).unwrap_or("");
        let store = store_text
            .parse::<f64>()
            .map_err(|_| bad(storedemo, line, "STORE", store_text, "not a store number"))?
            as i64;
        let values = (0..record.len())
            .filter(|&i| i != store_col)
            .map(|i| record.get(i).unwrap_or("").to_string())
            .collect();
        demographics.insert(store, values);
    }

    let mut reader = csv_input::open(yx)?;
    let header = Header::read(yx, &mut reader)?;
    let mut out = writer(output)?;
    let mut head: Vec<String> = [
        "series", "product", "market", "date", "units", "price", "promo", "feature", "cost",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    head.extend(demo_names.iter().cloned());
    write_row(&mut out, output, &head)?;
    let (mut rows_read, mut rows_written) = (0, 0);
    while let Some(line) = next_record(yx, &mut reader, &mut record)? {
        rows_read += 1;
        let store = field_number(yx, &record, line, &header, "store")? as i64;
        let brand_number = field_number(yx, &record, line, &header, "brand")?;
        let brand_index = brand_number as usize;
        let Some((brand, ounces)) = brand_index
            .checked_sub(1)
            .and_then(|i| ORANGE_JUICE_BRANDS.get(i))
        else {
            return Err(bad(
                yx,
                line,
                "brand",
                &brand_number.to_string(),
                "brand must be 1..11",
            ));
        };
        let week = field_number(yx, &record, line, &header, "week")? as i64;
        let logmove = field_number(yx, &record, line, &header, "logmove")?;
        let price_per_ounce =
            field_number(yx, &record, line, &header, &format!("price{brand_index}"))?;
        let deal = field_number(yx, &record, line, &header, "deal")?;
        let feat = field_number(yx, &record, line, &header, "feat")?;
        let margin_percent = field_number(yx, &record, line, &header, "profit")?;
        let Some(demo) = demographics.get(&store) else {
            return Err(bad(
                yx,
                line,
                "store",
                &store.to_string(),
                "store missing from the demographics file",
            ));
        };
        let price = price_per_ounce * ounces;
        // Dominick's `profit` is the gross margin in percent of the shelf price.
        let cost = if margin_percent > -100.0 && margin_percent < 100.0 {
            format!("{:.4}", price * (1.0 - margin_percent / 100.0))
        } else {
            String::new()
        };
        let mut row = vec![
            format!("store{store}/{brand}"),
            brand.to_string(),
            format!("store{store}"),
            dominicks_week_date(week).to_string(),
            format!("{:.0}", logmove.exp()),
            format!("{price:.4}"),
            deal.to_string(),
            feat.to_string(),
            cost,
        ];
        row.extend(demo.iter().cloned());
        write_row(&mut out, output, &row)?;
        rows_written += 1;
    }
    finish(out, output)?;
    Ok(ConvertSummary {
        dataset: "orange-juice".into(),
        rows_read,
        rows_written,
        output: output.to_path_buf(),
    })
}

/// Tuna (tuna.csv) to weekly sales: one series per brand, units = MOVE, price = exp(LPRICE), cost (the
/// wholesale price) = exp(LWHPRIC), display = NSALE and the customer count as a covariate.
pub fn convert_tuna(tuna: &Path, output: &Path) -> Result<ConvertSummary> {
    let mut reader = csv_input::open(tuna)?;
    let header = Header::read(tuna, &mut reader)?;
    let mut out = writer(output)?;
    let head: Vec<String> = [
        "series",
        "product",
        "market",
        "date",
        "units",
        "price",
        "display",
        "cost",
        "customers",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    write_row(&mut out, output, &head)?;
    let (mut rows_read, mut rows_written) = (0, 0);
    let mut record = csv::StringRecord::new();
    while let Some(line) = next_record(tuna, &mut reader, &mut record)? {
        rows_read += 1;
        let week = field_number(tuna, &record, line, &header, "WEEK")? as i64;
        let customers = field_number(tuna, &record, line, &header, "FULLCUST")?;
        for (i, brand) in TUNA_BRANDS.iter().enumerate() {
            let k = i + 1;
            let units = field_number(tuna, &record, line, &header, &format!("MOVE{k}"))?;
            let display = field_number(tuna, &record, line, &header, &format!("NSALE{k}"))?;
            let log_price = field_number(tuna, &record, line, &header, &format!("LPRICE{k}"))?;
            let log_cost = field_number(tuna, &record, line, &header, &format!("LWHPRIC{k}"))?;
            let row = vec![
                brand.to_string(),
                brand.to_string(),
                "chain".to_string(),
                dominicks_week_date(week).to_string(),
                format!("{units:.0}"),
                format!("{:.4}", log_price.exp()),
                display.to_string(),
                format!("{:.4}", log_cost.exp()),
                format!("{customers:.0}"),
            ];
            write_row(&mut out, output, &row)?;
            rows_written += 1;
        }
    }
    finish(out, output)?;
    Ok(ConvertSummary {
        dataset: "tuna".into(),
        rows_read,
        rows_written,
        output: output.to_path_buf(),
    })
}

/// Margarine (margarine_choicePrice.csv with margarine_demos.csv) to choice occasions: one occasion per
/// purchase (numbered from 1 in file order), the 10 products as alternatives with their shelf prices,
/// and the household's income as a covariate.
pub fn convert_margarine(choices: &Path, demos: &Path, output: &Path) -> Result<ConvertSummary> {
    let mut demo_reader = csv_input::open(demos)?;
    let demo_header = Header::read(demos, &mut demo_reader)?;
    let mut income: HashMap<i64, f64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    while let Some(line) = next_record(demos, &mut demo_reader, &mut record)? {
        let hh = field_number(demos, &record, line, &demo_header, "hhid")? as i64;
        income.insert(
            hh,
            field_number(demos, &record, line, &demo_header, "Income")?,
        );
    }
    let mut reader = csv_input::open(choices)?;
    let header = Header::read(choices, &mut reader)?;
    let products: Vec<(usize, String)> = header
        .names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.starts_with('P'))
        .map(|(i, n)| (i, n[1..].to_string()))
        .collect();
    let mut out = writer(output)?;
    let head: Vec<String> = [
        "occasion",
        "household",
        "alternative",
        "chosen",
        "price",
        "income",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    write_row(&mut out, output, &head)?;
    let (mut rows_read, mut rows_written) = (0, 0);
    while let Some(line) = next_record(choices, &mut reader, &mut record)? {
        rows_read += 1;
        let hh = field_number(choices, &record, line, &header, "hhid")? as i64;
        let choice = field_number(choices, &record, line, &header, "choice")?;
        if choice < 1.0 || choice as usize > products.len() {
            return Err(bad(
                choices,
                line,
                "choice",
                &choice.to_string(),
                "not a product number",
            ));
        }
        let household_income = income.get(&hh).map(|v| v.to_string()).unwrap_or_default();
        for (k, (col, name)) in products.iter().enumerate() {
            let price = record.get(*col).unwrap_or("").to_string();
            let row = vec![
                rows_read.to_string(),
                hh.to_string(),
                name.clone(),
                u8::from(choice as usize == k + 1).to_string(),
                price,
                household_income.clone(),
            ];
            write_row(&mut out, output, &row)?;
            rows_written += 1;
        }
    }
    finish(out, output)?;
    Ok(ConvertSummary {
        dataset: "margarine".into(),
        rows_read,
        rows_written,
        output: output.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominicks_week_one_is_the_fourteenth_of_september_1989() {
        assert_eq!(dominicks_week_date(1).to_string(), "1989-09-14");
        assert_eq!(dominicks_week_date(2).to_string(), "1989-09-21");
    }
}
