//! UTC timestamps, parsed from the formats real event feeds use.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::CoreError;

/// A point in time: microseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Timestamps before 1970 or after 2200 are almost always unit mistakes; they are refused.
const LATEST_MICROS: i64 = 7_258_118_400 * MICROS_PER_SECOND;

impl Timestamp {
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Timestamp(t.timestamp_micros())
    }

    pub fn from_date(year: i32, month: u32, day: u32) -> Option<Self> {
        let date = NaiveDate::from_ymd_opt(year, month, day)?;
        Some(Self::from_datetime(
            Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?),
        ))
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0).unwrap_or_default()
    }

    pub fn plus_days(self, days: f64) -> Self {
        Timestamp(self.0 + (days * MICROS_PER_DAY as f64) as i64)
    }

    /// RFC 3339 with a `Z` zone, e.g. `2024-03-01T10:00:00Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }

    /// Parses a textual timestamp. Accepted, in order:
    /// RFC 3339 / ISO 8601 with a zone (`2024-03-01T10:00:00+02:00`, `...Z`), converted to UTC;
    /// RFC 2822 (`Fri, 01 Mar 2024 10:00:00 +0200`);
    /// a date and time without zone (`2024-03-01 10:00:00`, `2024-03-01T10:00:00.5`), taken as UTC;
    /// a date alone (`2024-03-01`, `20240301`), taken as midnight UTC;
    /// a Unix epoch number (seconds; milliseconds if above 10^11; microseconds if above 10^14).
    pub fn parse(field: &str, text: &str) -> Result<Self, CoreError> {
        let t = text.trim();
        let parsed = DateTime::parse_from_rfc3339(t)
            .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%:z"))
            .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z"))
            .or_else(|_| DateTime::parse_from_rfc2822(t))
            .map(|d| d.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                [
                    "%Y-%m-%dT%H:%M:%S%.f",
                    "%Y-%m-%d %H:%M:%S%.f",
                    "%Y-%m-%d %H:%M",
                ]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
                .map(|n| Utc.from_utc_datetime(&n))
            })
            .or_else(|| {
                ["%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"]
                    .iter()
                    .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|n| Utc.from_utc_datetime(&n))
            });
        if let Some(dt) = parsed {
            return Self::checked(field, text, dt.timestamp_micros());
        }
        if let Ok(n) = t.parse::<i64>() {
            return Self::from_epoch_number(field, n);
        }
        if let Ok(x) = t.parse::<f64>() {
            if x.is_finite() {
                return Self::checked(field, text, (x * MICROS_PER_SECOND as f64) as i64);
            }
        }
        Err(CoreError::invalid(
            field,
            text,
            "not a timestamp: use RFC 3339 (2024-03-01T10:00:00Z or with an offset), \
             'YYYY-MM-DD HH:MM:SS' (UTC), 'YYYY-MM-DD', or Unix seconds/milliseconds",
        ))
    }

    /// Interprets an integer as Unix seconds, milliseconds or microseconds by magnitude.
    pub fn from_epoch_number(field: &str, n: i64) -> Result<Self, CoreError> {
        let micros = if n.abs() < 100_000_000_000 {
            n.checked_mul(MICROS_PER_SECOND)
        } else if n.abs() < 100_000_000_000_000 {
            n.checked_mul(1_000)
        } else {
            Some(n)
        };
        match micros {
            Some(m) => Self::checked(field, n, m),
            None => Err(CoreError::invalid(field, n, "timestamp out of range")),
        }
    }

    fn checked(field: &str, shown: impl ToString, micros: i64) -> Result<Self, CoreError> {
        if !(0..=LATEST_MICROS).contains(&micros) {
            return Err(CoreError::invalid(
                field,
                shown,
                "timestamp outside 1970-01-01..2200-01-01 (wrong unit?)",
            ));
        }
        Ok(Timestamp(micros))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> i64 {
        Timestamp::parse("time", s).unwrap().0 / MICROS_PER_SECOND
    }

    #[test]
    fn zones_and_formats_agree_on_the_instant() {
        let utc = p("2024-03-01T10:00:00Z");
        assert_eq!(p("2024-03-01T12:00:00+02:00"), utc);
        assert_eq!(p("2024-03-01T05:00:00-05:00"), utc);
        assert_eq!(p("2024-03-01 10:00:00"), utc);
        assert_eq!(p("2024-03-01T10:00:00.000"), utc);
        assert_eq!(p("2024-03-01 12:00:00+02:00"), utc);
        assert_eq!(p("Fri, 01 Mar 2024 12:00:00 +0200"), utc);
        assert_eq!(p("1709287200"), utc);
        assert_eq!(p("1709287200000"), utc);
        assert_eq!(p("2024-03-01"), utc - 10 * 3600);
        assert_eq!(p("20240301"), utc - 10 * 3600);
    }

    #[test]
    fn nonsense_is_refused_with_the_field() {
        let e = Timestamp::parse("time", "yesterday")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`time`") && e.contains("yesterday"), "{e}");
        assert!(Timestamp::parse("time", "2024-13-01").is_err());
        assert!(Timestamp::parse("time", "-5").is_err());
        assert!(Timestamp::parse("time", "NaN").is_err());
    }
}
