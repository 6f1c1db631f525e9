//! Kevin Hillstrom's MineThatData e-mail experiment: 64,000 customers randomised to a Mens e-mail, a Womens
//! e-mail or none, with website visit, conversion and spend in the two weeks after.
//!
//! Features: recency, log(1 + history) (or history as given), mens, womens, newbie, zip code and channel one-hot. The arm is 0 for
//! no e-mail, 1 Mens, 2 Womens. Spend is read into integer cents.

use std::path::Path;

use crate::artifact::FeatureInfo;
use crate::propensity::Matrix;
use crate::ModelError;
use discount_core::public_columns::HILLSTROM as HEADER;

/// The file inside the data folder.
pub const RELATIVE_PATH: &str =
    "hillstrom-minethatdata/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv";
/// Arm names by index.
pub const ARMS: [&str; 3] = ["No E-Mail", "Mens E-Mail", "Womens E-Mail"];

const ZIP_CODES: [&str; 3] = ["Urban", "Surburban", "Rural"];
const CHANNELS: [&str; 3] = ["Phone", "Web", "Multichannel"];

/// A randomised experiment with several arms (arm 0 is control).
#[derive(Debug, Clone)]
pub struct Experiment {
    pub x: Matrix,
    pub arms: Vec<usize>,
    pub arm_names: Vec<String>,
    /// Visited the website (0/1).
    pub visit: Vec<f64>,
    pub conversion: Vec<f64>,
    pub spend_cents: Vec<i64>,
    pub features: Vec<FeatureInfo>,
}

impl Experiment {
    pub fn n_arms(&self) -> usize {
        self.arm_names.len()
    }

    /// The rows at `indices`.
    pub fn select(&self, indices: &[usize]) -> Experiment {
        Experiment {
            x: self.x.select_rows(indices),
            arms: indices.iter().map(|&i| self.arms[i]).collect(),
            arm_names: self.arm_names.clone(),
            visit: indices.iter().map(|&i| self.visit[i]).collect(),
            conversion: indices.iter().map(|&i| self.conversion[i]).collect(),
            spend_cents: indices.iter().map(|&i| self.spend_cents[i]).collect(),
            features: self.features.clone(),
        }
    }
}

/// Parses a non-negative decimal amount of dollars into cents without going through binary floating point.
fn parse_cents(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}

/// How the `history` column (dollars spent in the past year) enters the features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryScale {
    /// `ln(1 + history)`: what the linear base learners fit best (the default).
    #[default]
    Log,
    /// The dollars as given (trees are indifferent to the scale).
    AsGiven,
}

/// Reads the challenge CSV at `path`, history on the log scale.
pub fn load(path: &Path) -> Result<Experiment, ModelError> {
    load_with(path, HistoryScale::Log)
}

/// Reads the challenge CSV at `path`: every other column as given (recency, flags, zip code and
/// channel one-hot), history as `history` says.
pub fn load_with(path: &Path, history: HistoryScale) -> Result<Experiment, ModelError> {
    let shown = path.display().to_string();
    let input = |line: u64, message: String| ModelError::Input {
        path: shown.clone(),
        line,
        message,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| input(0, e.to_string()))?;
    let header = reader.headers().map_err(|e| input(1, e.to_string()))?;
    let found: Vec<&str> = header.iter().map(str::trim).collect();
    if found != HEADER {
        return Err(input(
            1,
            format!("expected columns {HEADER:?}, found {found:?}"),
        ));
    }
    let (mut data, mut arms, mut visit, mut conversion, mut spend) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (index, record) in reader.records().enumerate() {
        let line = index as u64 + 2;
        let record = record.map_err(|e| input(line, e.to_string()))?;
        let field = |c: usize| record.get(c).unwrap_or("").trim();
        let bad = |c: usize, why: &str| {
            input(line, format!("field {} = {:?}: {why}", HEADER[c], field(c)))
        };
        let number = |c: usize| -> Result<f64, ModelError> {
            field(c)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| bad(c, "must be a non-negative number"))
        };
        let flag = |c: usize| -> Result<f64, ModelError> {
            match field(c) {
                "0" => Ok(0.0),
                "1" => Ok(1.0),
                _ => Err(bad(c, "must be 0 or 1")),
            }
        };
        let one_hot = |c: usize, levels: &[&str]| -> Result<Vec<f64>, ModelError> {
            let k = levels
                .iter()
                .position(|l| *l == field(c))
                .ok_or_else(|| bad(c, &format!("must be one of {levels:?}")))?;
            Ok((0..levels.len()).map(|j| f64::from(j == k)).collect())
        };
        data.push(number(0)?);
        data.push(match history {
            HistoryScale::Log => number(2)?.ln_1p(),
            HistoryScale::AsGiven => number(2)?,
        });
        data.push(flag(3)?);
        data.push(flag(4)?);
        data.push(flag(6)?);
        data.extend(one_hot(5, &ZIP_CODES)?);
        data.extend(one_hot(7, &CHANNELS)?);
        arms.push(
            ARMS.iter()
                .position(|a| *a == field(8))
                .ok_or_else(|| bad(8, &format!("must be one of {ARMS:?}")))?,
        );
        visit.push(flag(9)?);
        conversion.push(flag(10)?);
        spend.push(
            parse_cents(field(11))
                .ok_or_else(|| bad(11, "must be dollars with at most two decimals"))?,
        );
    }
    if arms.is_empty() {
        return Err(input(2, "no customers".into()));
    }
    let info = |name: &str, meaning: &str| FeatureInfo {
        name: name.into(),
        meaning: meaning.into(),
    };
    let mut features = vec![
        info("recency", "months since last purchase"),
        match history {
            HistoryScale::Log => info("history", "log(1 + dollars spent in the past year)"),
            HistoryScale::AsGiven => info("history", "dollars spent in the past year"),
        },
        info("mens", "1 if bought mens merchandise in the past year"),
        info("womens", "1 if bought womens merchandise in the past year"),
        info("newbie", "1 if a new customer in the past twelve months"),
    ];
    features.extend(
        ZIP_CODES
            .iter()
            .map(|z| info(&format!("zip_code={z}"), "one-hot")),
    );
    features.extend(
        CHANNELS
            .iter()
            .map(|c| info(&format!("channel={c}"), "one-hot")),
    );
    let rows = arms.len();
    Ok(Experiment {
        x: Matrix::new(rows, features.len(), data)?,
        arms,
        arm_names: ARMS.iter().map(|a| a.to_string()).collect(),
        visit,
        conversion,
        spend_cents: spend,
        features,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_cents;

    #[test]
    fn cents_are_exact() {
        assert_eq!(parse_cents("29.99"), Some(2999));
        assert_eq!(parse_cents("0"), Some(0));
        assert_eq!(parse_cents("12.5"), Some(1250));
        assert_eq!(parse_cents("-1"), None);
        assert_eq!(parse_cents("1.234"), None);
    }
}
