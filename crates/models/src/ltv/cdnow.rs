//! Readers of the CDNOW files (Fader, Hardie & Lee 2005): the transaction log and the paper's
//! calibration summary.

use std::path::Path;

use chrono::NaiveDate;

use super::rfm::Transaction;
use crate::error::ModelError;

/// End of the 39-week calibration period of the paper (the cohort's first purchases start on
/// 1997-01-01).
pub fn calibration_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(1997, 9, 30).unwrap_or(NaiveDate::MIN)
}

/// End of the 39-week holdout period (weeks 40-78).
pub fn holdout_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(1998, 6, 30).unwrap_or(NaiveDate::MIN)
}

fn read(path: &Path) -> Result<String, ModelError> {
    std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// A decimal amount such as `29.33` in minor units, exactly (no floating point).
pub fn parse_minor_units(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if fraction.len() > 2 || (whole.is_empty() && fraction.is_empty()) {
        return None;
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let cents: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    let value = whole.checked_mul(100)?.checked_add(cents)?;
    Some(if negative { -value } else { value })
}

/// Read `CDNOW_sample.txt` (whitespace-separated: original id, sample id, date YYYYMMDD, number
/// of CDs, dollar value). Customers are identified by their sample id (1..=2357), the ID of the
/// paper's summary.
pub fn read_sample(path: &Path) -> Result<Vec<Transaction>, ModelError> {
    let text = read(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let fail = |message: String| ModelError::Input {
            path: path.display().to_string(),
            line: line_no,
            message,
        };
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(fail(format!("expected 5 fields, found {}", fields.len())));
        }
        let customer: u64 = fields[1]
            .parse()
            .map_err(|_| fail(format!("sample id {:?} is not a whole number", fields[1])))?;
        let day = NaiveDate::parse_from_str(fields[2], "%Y%m%d")
            .map_err(|_| fail(format!("date {:?} is not YYYYMMDD", fields[2])))?;
        let amount_minor = parse_minor_units(fields[4])
            .ok_or_else(|| fail(format!("dollar value {:?} is not an amount", fields[4])))?;
        out.push(Transaction {
            customer,
            day,
            amount_minor,
        });
    }
    Ok(out)
}

/// One row of the paper's calibration summary `cdnow_customers_summary.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedSummary {
    pub customer: u64,
    pub frequency: f64,
    pub recency: f64,
    pub t: f64,
}

/// Read `cdnow_customers_summary.csv` (ID, frequency, recency, T).
pub fn read_published_summary(path: &Path) -> Result<Vec<PublishedSummary>, ModelError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| ModelError::Input {
        path: path.display().to_string(),
        line: 0,
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let fail = |message: String| ModelError::Input {
            path: path.display().to_string(),
            line,
            message,
        };
        let record = record.map_err(|e| fail(e.to_string()))?;
        let field = |j: usize, name: &str| -> Result<f64, ModelError> {
            let text = record.get(j).unwrap_or("");
            text.trim()
                .parse()
                .map_err(|_| fail(format!("{name} {text:?} is not a number")))
        };
        let customer = field(0, "ID")?;
        out.push(PublishedSummary {
            customer: customer as u64,
            frequency: field(1, "frequency")?,
            recency: field(2, "recency")?,
            t: field(3, "T")?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amounts_exactly() {
        assert_eq!(parse_minor_units("29.33"), Some(2933));
        assert_eq!(parse_minor_units("0.5"), Some(50));
        assert_eq!(parse_minor_units("12"), Some(1200));
        assert_eq!(parse_minor_units("-1.05"), Some(-105));
        assert_eq!(parse_minor_units("1.234"), None);
        assert_eq!(parse_minor_units("1e3"), None);
        assert_eq!(parse_minor_units(""), None);
    }
}
