//! The customer summary table in the layout Python lifetimes uses: one row per customer with
//! `customer,frequency,recency,T,monetary_value`, as `summary_data_from_transaction_data` writes
//! it (its index column named `customer`).
//!
//! - frequency: repeat purchase periods (distinct purchase days minus one);
//! - recency: time from the first to the last purchase (0 when frequency is 0);
//! - T: time from the first purchase to the end of the calibration period;
//! - monetary_value: mean value of the repeat purchases in major units (e.g. dollars, not cents)
//!   as a float, 0 when frequency is 0. Major units keep the file exchangeable with lifetimes;
//!   inside the engine money stays in minor units.
//!
//! Recency and T are in whatever unit the file was written in (days or weeks); the models do not
//! care, but forecast horizons must use the same unit.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::gamma_gamma::SpendObservation;
use super::rfm::{CustomerSummary, Rfm};
use crate::error::ModelError;

/// The header of a summary file, in order.
pub const SUMMARY_COLUMNS: [&str; 5] = ["customer", "frequency", "recency", "T", "monetary_value"];

/// One customer's row of the summary table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub customer: String,
    pub frequency: f64,
    pub recency: f64,
    #[serde(rename = "T")]
    pub t: f64,
    /// Mean repeat purchase value in major units; 0 without repeat purchases.
    pub monetary_value: f64,
}

impl SummaryRow {
    /// The row of a calibration summary; `customer` names it, `minor_per_major` is 100 for a
    /// currency with cents.
    pub fn of(customer: String, c: &CustomerSummary, minor_per_major: f64) -> Self {
        Self {
            customer,
            frequency: c.rfm.x,
            recency: c.rfm.t_x,
            t: c.rfm.t,
            monetary_value: c
                .mean_repeat_amount_minor
                .map_or(0.0, |m| m / minor_per_major),
        }
    }

    /// The BG/NBD statistics of the row.
    pub fn rfm(&self) -> Rfm {
        Rfm {
            x: self.frequency,
            t_x: self.recency,
            t: self.t,
        }
    }

    /// The Gamma-Gamma observation: only customers with repeat purchases of positive mean value.
    pub fn spend(&self) -> Option<SpendObservation> {
        if self.frequency > 0.0 && self.monetary_value > 0.0 {
            SpendObservation::new(self.frequency, self.monetary_value).ok()
        } else {
            None
        }
    }

    /// Repeat purchases whose mean value is zero: Gamma-Gamma leaves these out.
    pub fn has_zero_repeat_spend(&self) -> bool {
        self.frequency > 0.0 && self.monetary_value <= 0.0
    }
}

/// Writes `rows` as a summary CSV (the header, then one row per customer). Numbers are written
/// in their shortest exact form, so reading the file back gives the same values.
pub fn write_summary(path: &Path, rows: &[SummaryRow]) -> Result<(), ModelError> {
    let io = |source| ModelError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = std::io::BufWriter::new(file);
    writeln!(w, "{}", SUMMARY_COLUMNS.join(",")).map_err(io)?;
    for r in rows {
        writeln!(
            w,
            "{},{},{},{},{}",
            csv_field(&r.customer),
            r.frequency,
            r.recency,
            r.t,
            r.monetary_value
        )
        .map_err(io)?;
    }
    w.flush().map_err(io)
}

/// A text field quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Reads a summary CSV. The five columns are found by name in any order (others are ignored);
/// each row must be consistent: frequency a whole number >= 0, 0 <= recency <= T, recency 0
/// when frequency is 0, monetary_value >= 0, each customer once. Errors name the file, line,
/// field and value.
pub fn read_summary(path: &Path) -> Result<Vec<SummaryRow>, ModelError> {
    let fail = |line: u64, message: String| ModelError::Input {
        path: path.display().to_string(),
        line,
        message,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(source) => ModelError::Io {
            path: path.display().to_string(),
            source,
        },
        other => fail(1, format!("{other:?}")),
    })?;
    let headers = reader
        .headers()
        .map_err(|e| fail(1, format!("reading the header: {e}")))?
        .clone();
    let mut columns = [0usize; 5];
    for (slot, name) in columns.iter_mut().zip(SUMMARY_COLUMNS) {
        *slot = headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                fail(
                    1,
                    format!(
                        "no column `{name}`: a summary needs {} (found {:?})",
                        SUMMARY_COLUMNS.join(","),
                        headers.iter().collect::<Vec<_>>()
                    ),
                )
            })?;
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (k, record) in reader.records().enumerate() {
        let line = k as u64 + 2;
        let record = record.map_err(|e| fail(line, format!("malformed row: {e}")))?;
        let text = |c: usize| record.get(columns[c]).unwrap_or("").trim();
        let number = |c: usize| -> Result<f64, ModelError> {
            let value = text(c);
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    fail(
                        line,
                        format!(
                            "field `{}` = {value:?}: must be a finite number >= 0",
                            SUMMARY_COLUMNS[c]
                        ),
                    )
                })
        };
        let customer = text(0).to_string();
        if customer.is_empty() {
            return Err(fail(line, "field `customer` is empty".into()));
        }
        let row = SummaryRow {
            frequency: number(1)?,
            recency: number(2)?,
            t: number(3)?,
            monetary_value: number(4)?,
            customer,
        };
        if row.frequency.fract() != 0.0 {
            return Err(fail(
                line,
                format!(
                    "field `frequency` = {}: must be a whole number of repeat purchases",
                    row.frequency
                ),
            ));
        }
        Rfm::new(row.frequency, row.recency, row.t).map_err(|e| fail(line, e.to_string()))?;
        if !seen.insert(row.customer.clone()) {
            return Err(fail(
                line,
                format!("customer {:?} appears twice", row.customer),
            ));
        }
        out.push(row);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.csv");
        let rows = vec![
            SummaryRow {
                customer: "a,1".into(),
                frequency: 2.0,
                recency: 30.0 / 7.0,
                t: 38.5,
                monetary_value: 12.34,
            },
            SummaryRow {
                customer: "b".into(),
                frequency: 0.0,
                recency: 0.0,
                t: 3.0,
                monetary_value: 0.0,
            },
        ];
        write_summary(&path, &rows).unwrap();
        assert_eq!(read_summary(&path).unwrap(), rows);

        let bad = |body: &str| {
            std::fs::write(&path, body).unwrap();
            read_summary(&path).unwrap_err().to_string()
        };
        let e = bad("customer,frequency,recency,T,monetary_value\nx,1,5,4,2\n");
        assert!(e.contains(":2:") && e.contains("t_x = 5"), "{e}");
        let e = bad("customer,frequency,recency,T,monetary_value\nx,1,2,4,-1\n");
        assert!(e.contains(":2:") && e.contains("monetary_value"), "{e}");
        let e = bad("customer,frequency,recency,T\nx,1,2,4\n");
        assert!(e.contains(":1:") && e.contains("monetary_value"), "{e}");
        let e = bad("customer,frequency,recency,T,monetary_value\nx,1.5,2,4,1\n");
        assert!(e.contains("whole number"), "{e}");
        let e = bad("customer,frequency,recency,T,monetary_value\nx,1,2,4,1\nx,0,0,4,0\n");
        assert!(e.contains(":3:") && e.contains("twice"), "{e}");
    }
}
