//! Money as integer minor units (cents) with an ISO 4217 currency code.

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// An ISO 4217 currency code: three upper-case ASCII letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");

    /// Parses a code such as `USD` or `eur` (case is normalised).
    pub fn parse(field: &str, code: &str) -> Result<Self, CoreError> {
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(CoreError::invalid(
                field,
                code,
                "expected a three-letter ISO 4217 currency code such as USD",
            ));
        }
        Ok(Currency([
            bytes[0].to_ascii_uppercase(),
            bytes[1].to_ascii_uppercase(),
            bytes[2].to_ascii_uppercase(),
        ]))
    }

    pub fn as_str(&self) -> &str {
        // The bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Number of decimal places of the minor unit (0 for JPY, KRW, ...; 3 for BHD, KWD, ...).
    pub fn exponent(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"VND" | b"CLP" | b"ISK" | b"HUF" | b"UGX" | b"XOF" | b"XAF" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" | b"IQD" | b"LYD" => 3,
            _ => 2,
        }
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Currency::parse("currency", &code).map_err(serde::de::Error::custom)
    }
}

/// An amount of money in integer minor units of a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Formats as a decimal amount with the currency, e.g. `12.34 USD`.
    pub fn display(&self) -> String {
        format_minor(self.minor, self.currency)
    }
}

/// Formats minor units as a decimal string in the currency's exponent.
pub fn format_minor(minor: i64, currency: Currency) -> String {
    let exp = currency.exponent();
    if exp == 0 {
        return format!("{minor} {currency}");
    }
    let scale = 10i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!(
        "{sign}{}.{:0width$} {currency}",
        abs / scale as u64,
        abs % scale as u64,
        width = exp as usize
    )
}

/// Checks that an amount in minor units is not negative.
pub fn non_negative(field: &str, minor: i64) -> Result<i64, CoreError> {
    if minor < 0 {
        return Err(CoreError::invalid(
            field,
            minor,
            "money must not be negative (amounts are integer minor units, e.g. cents)",
        ));
    }
    Ok(minor)
}

/// Parses a decimal amount such as `12.34` into minor units of `currency`, exactly (no floating
/// point). Used by data-set adapters whose sources write decimal prices.
pub fn parse_decimal(field: &str, text: &str, currency: Currency) -> Result<i64, CoreError> {
    let bad = |reason: &str| CoreError::invalid(field, text, reason);
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(bad("not a number"));
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not a decimal number"));
    }
    let exp = currency.exponent() as usize;
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.len() > exp {
        return Err(bad("more decimal places than the currency's minor unit"));
    }
    let whole_value: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad("amount too large"))?
    };
    let mut frac_value: i64 = 0;
    for i in 0..exp {
        let digit = frac_trimmed
            .as_bytes()
            .get(i)
            .map_or(0, |b| i64::from(b - b'0'));
        frac_value = frac_value * 10 + digit;
    }
    let minor = whole_value
        .checked_mul(10i64.pow(exp as u32))
        .and_then(|w| w.checked_add(frac_value))
        .ok_or_else(|| bad("amount too large"))?;
    Ok(if negative { -minor } else { minor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly() {
        let usd = Currency::USD;
        assert_eq!(parse_decimal("p", "12.34", usd).unwrap(), 1234);
        assert_eq!(parse_decimal("p", "0.1", usd).unwrap(), 10);
        assert_eq!(parse_decimal("p", "7", usd).unwrap(), 700);
        assert_eq!(parse_decimal("p", "-1.50", usd).unwrap(), -150);
        assert_eq!(parse_decimal("p", ".99", usd).unwrap(), 99);
        assert_eq!(parse_decimal("p", "1.230", usd).unwrap(), 123);
        let jpy = Currency::parse("c", "jpy").unwrap();
        assert_eq!(parse_decimal("p", "500", jpy).unwrap(), 500);
        assert!(parse_decimal("p", "1.5", jpy).is_err());
        assert!(parse_decimal("p", "1.234", usd).is_err());
        assert!(parse_decimal("p", "abc", usd).is_err());
        assert!(parse_decimal("p", "", usd).is_err());
        assert!(parse_decimal("p", "99999999999999999999", usd).is_err());
    }

    #[test]
    fn currencies_validate_and_format() {
        assert!(Currency::parse("c", "US").is_err());
        assert!(Currency::parse("c", "U$D").is_err());
        assert_eq!(format_minor(-1234, Currency::USD), "-12.34 USD");
        assert_eq!(format_minor(5, Currency::USD), "0.05 USD");
        let err = non_negative("paid_price", -5).unwrap_err().to_string();
        assert!(err.contains("paid_price") && err.contains("-5"), "{err}");
    }
}
