//! The UCI "Online Shoppers Purchasing Intention" sessions as a feature matrix (label: Revenue).
//!
//! Page counts, durations and PageValues are heavy-tailed, so they enter as log(1 + x); rates and SpecialDay
//! enter as they are. Month, VisitorType and the integer codes OperatingSystems, Browser, Region and
//! TrafficType are one-hot encoded (codes seen in the file, sorted). The 14 sessions with empty page
//! columns and the 33 with durations of -1 get zeros there plus a `pages_missing` indicator: the source
//! documents no missing values, so these are unknown rather than zero.

use std::collections::BTreeSet;
use std::path::Path;

use super::matrix::Matrix;
use crate::artifact::FeatureInfo;
use crate::ModelError;
use discount_core::public_columns::ONLINE_SHOPPERS as HEADER;

/// The file inside the data folder.
pub const RELATIVE_PATH: &str = "uci-online-shoppers-intention/online_shoppers_intention.csv";

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "June", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const VISITOR_TYPES: [&str; 3] = ["Returning_Visitor", "New_Visitor", "Other"];
const CODE_COLUMNS: [usize; 4] = [11, 12, 13, 14];

/// Features, labels and what each column means.
#[derive(Debug, Clone)]
pub struct LabelledData {
    pub x: Matrix,
    pub y: Vec<f64>,
    pub features: Vec<FeatureInfo>,
}

struct RawSession {
    numeric: [Option<f64>; 10],
    month: usize,
    codes: [u32; 4],
    visitor: usize,
    weekend: bool,
    revenue: bool,
}

/// Reads the CSV at `path` (the file itself).
pub fn load(path: &Path) -> Result<LabelledData, ModelError> {
    let shown = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| ModelError::Input {
            path: shown.clone(),
            line: 0,
            message: e.to_string(),
        })?;
    let header = reader.headers().map_err(|e| ModelError::Input {
        path: shown.clone(),
        line: 1,
        message: e.to_string(),
    })?;
    let found: Vec<&str> = header.iter().map(str::trim).collect();
    if found != HEADER {
        return Err(ModelError::Input {
            path: shown,
            line: 1,
            message: format!("expected columns {HEADER:?}, found {found:?}"),
        });
    }
    let mut sessions = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index as u64 + 2;
        let record = record.map_err(|e| ModelError::Input {
            path: shown.clone(),
            line,
            message: e.to_string(),
        })?;
        let bad = |column: usize, message: &str| ModelError::Input {
            path: shown.clone(),
            line,
            message: format!(
                "field {} = {:?}: {message}",
                HEADER[column],
                record.get(column).unwrap_or("")
            ),
        };
        if record.len() != HEADER.len() {
            return Err(ModelError::Input {
                path: shown.clone(),
                line,
                message: format!("expected {} fields, found {}", HEADER.len(), record.len()),
            });
        }
        let field = |c: usize| record.get(c).unwrap_or("").trim();
        let mut numeric = [None; 10];
        for (c, slot) in numeric.iter_mut().enumerate() {
            let text = field(c);
            if text.is_empty() && c < 8 {
                continue;
            }
            let value: f64 = text.parse().map_err(|_| bad(c, "not a number"))?;
            // The three duration columns hold -1 in 33 sessions: unknown, not negative time.
            if value == -1.0 && matches!(c, 1 | 3 | 5) {
                continue;
            }
            if !value.is_finite() || value < 0.0 {
                return Err(bad(c, "must be a finite non-negative number"));
            }
            *slot = Some(value);
        }
        let month = MONTHS
            .iter()
            .position(|m| *m == field(10))
            .ok_or_else(|| bad(10, "not a month abbreviation (Jan..Dec, June)"))?;
        let mut codes = [0u32; 4];
        for (slot, &c) in codes.iter_mut().zip(&CODE_COLUMNS) {
            *slot = field(c)
                .parse()
                .map_err(|_| bad(c, "not an integer code"))?;
        }
        let visitor = VISITOR_TYPES
            .iter()
            .position(|v| *v == field(15))
            .ok_or_else(|| bad(15, "not one of Returning_Visitor, New_Visitor, Other"))?;
        let boolean = |c: usize| match field(c) {
            "TRUE" => Ok(true),
            "FALSE" => Ok(false),
            _ => Err(bad(c, "must be TRUE or FALSE")),
        };
        sessions.push(RawSession {
            numeric,
            month,
            codes,
            visitor,
            weekend: boolean(16)?,
            revenue: boolean(17)?,
        });
    }
    if sessions.is_empty() {
        return Err(ModelError::Input {
            path: shown,
            line: 2,
            message: "no sessions".into(),
        });
    }
    encode(&sessions)
}

fn encode(sessions: &[RawSession]) -> Result<LabelledData, ModelError> {
    let mut features = Vec::new();
    let describe = |name: String, meaning: String| FeatureInfo { name, meaning };
    for (c, name) in HEADER[..10].iter().enumerate() {
        let meaning = match c {
            0..=5 | 8 => format!("log(1 + {name})"),
            _ => format!("{name} as recorded"),
        };
        features.push(describe(name.to_string(), meaning));
    }
    features.push(describe(
        "pages_missing".into(),
        "1 when a page-count or duration column was empty or -1".into(),
    ));
    let months_seen: BTreeSet<usize> = sessions.iter().map(|s| s.month).collect();
    for &m in &months_seen {
        features.push(describe(format!("Month={}", MONTHS[m]), "one-hot".into()));
    }
    let codes_seen: Vec<BTreeSet<u32>> = (0..4)
        .map(|k| sessions.iter().map(|s| s.codes[k]).collect())
        .collect();
    for (k, seen) in codes_seen.iter().enumerate() {
        for code in seen {
            features.push(describe(
                format!("{}={code}", HEADER[CODE_COLUMNS[k]]),
                "one-hot of an integer code".into(),
            ));
        }
    }
    for v in VISITOR_TYPES {
        features.push(describe(format!("VisitorType={v}"), "one-hot".into()));
    }
    features.push(describe("Weekend".into(), "1 on Saturday or Sunday".into()));
    let cols = features.len();
    let mut data = Vec::with_capacity(sessions.len() * cols);
    for s in sessions {
        for (c, value) in s.numeric.iter().enumerate() {
            let v = value.unwrap_or(0.0);
            data.push(match c {
                0..=5 | 8 => v.ln_1p(),
                _ => v,
            });
        }
        data.push(f64::from(s.numeric[..8].iter().any(Option::is_none)));
        data.extend(months_seen.iter().map(|m| f64::from(*m == s.month)));
        for (k, seen) in codes_seen.iter().enumerate() {
            data.extend(seen.iter().map(|code| f64::from(*code == s.codes[k])));
        }
        data.extend((0..VISITOR_TYPES.len()).map(|v| f64::from(v == s.visitor)));
        data.push(f64::from(s.weekend));
    }
    Ok(LabelledData {
        x: Matrix::new(sessions.len(), cols, data)?,
        y: sessions.iter().map(|s| f64::from(s.revenue)).collect(),
        features,
    })
}
