//! Identifiers and their keyed pseudonymisation.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::CoreError;

/// Longest identifier accepted anywhere (ids are keys, not documents).
pub const MAX_ID_LEN: usize = 256;

/// Checks that an identifier is non-empty, short and free of control characters.
pub fn validate_id(field: &str, id: &str) -> Result<(), CoreError> {
    if id.is_empty() {
        return Err(CoreError::invalid(field, "\"\"", "must not be empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(CoreError::invalid(
            field,
            id,
            format!("longer than {MAX_ID_LEN} bytes"),
        ));
    }
    if id.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            field,
            id.escape_debug(),
            "contains control characters",
        ));
    }
    Ok(())
}

/// Replaces raw customer identifiers by a keyed hash (HMAC-SHA-256), so that the store never holds
/// the platform's own customer ids. The same key always maps the same id to the same pseudonym,
/// which keeps joins across files and days working; without the key the mapping cannot be reversed
/// or recomputed.
#[derive(Clone)]
pub struct Pseudonymiser {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymiser(<key hidden>)")
    }
}

impl Pseudonymiser {
    /// Builds a pseudonymiser from a secret key of at least 16 bytes.
    pub fn new(key: &[u8]) -> Result<Self, CoreError> {
        if key.len() < 16 {
            return Err(CoreError::Config(
                "privacy.pseudonymise_key must be at least 16 bytes".into(),
            ));
        }
        let mac = Hmac::<Sha256>::new_from_slice(key)
            .map_err(|e| CoreError::Config(format!("privacy.pseudonymise_key: {e}")))?;
        Ok(Self { mac })
    }

    /// The pseudonym of `raw`: `p_` followed by 32 hex digits (128 bits of the HMAC).
    pub fn pseudonym(&self, raw: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(raw.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("p_{}", hex::encode(&digest[..16]))
    }
}

/// How customer ids cross the edge: every route and command that takes a customer id from outside
/// maps it through one `CustomerIds`, so that what is stored, decided on, joined and read back is
/// always the same id (the pseudonym when `privacy.pseudonymise_key` is set, else the raw id).
#[derive(Clone, Debug, Default)]
pub struct CustomerIds {
    pseudonymiser: Option<Pseudonymiser>,
}

impl CustomerIds {
    /// Raw ids stored as given.
    pub fn raw() -> Self {
        Self::default()
    }

    /// Ids replaced by their pseudonym under `key`; a key that is too short is refused.
    pub fn keyed(key: &[u8]) -> Result<Self, CoreError> {
        Ok(Self {
            pseudonymiser: Some(Pseudonymiser::new(key)?),
        })
    }

    /// From the optional configured key (`privacy.pseudonymise_key`; empty means unset).
    pub fn from_key(key: Option<&str>) -> Result<Self, CoreError> {
        match key {
            Some(k) if !k.is_empty() => Self::keyed(k.as_bytes()),
            _ => Ok(Self::raw()),
        }
    }

    pub fn is_pseudonymised(&self) -> bool {
        self.pseudonymiser.is_some()
    }

    /// The id under which `raw` is stored.
    pub fn stored(&self, raw: &str) -> String {
        match &self.pseudonymiser {
            Some(p) => p.pseudonym(raw),
            None => raw.to_string(),
        }
    }

    /// Maps the customer id a record carries (users and events; items carry none).
    pub fn map_record(&self, record: &mut crate::Record) {
        let Some(p) = &self.pseudonymiser else {
            return;
        };
        match record {
            crate::Record::User(u) => u.id = p.pseudonym(&u.id),
            crate::Record::Event(e) => e.user_id = p.pseudonym(&e.user_id),
            crate::Record::Item(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_keyed_and_distinct() {
        let a = Pseudonymiser::new(b"0123456789abcdef").unwrap();
        let b = Pseudonymiser::new(b"fedcba9876543210").unwrap();
        assert_eq!(a.pseudonym("alice"), a.pseudonym("alice"));
        assert_ne!(a.pseudonym("alice"), a.pseudonym("bob"));
        assert_ne!(a.pseudonym("alice"), b.pseudonym("alice"));
        assert_eq!(a.pseudonym("alice").len(), 34);
        assert!(!a.pseudonym("alice").contains("alice"));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(Pseudonymiser::new(b"short").is_err());
        assert!(CustomerIds::from_key(Some("short")).is_err());
    }

    #[test]
    fn customer_ids_map_the_same_way_everywhere() {
        let raw = CustomerIds::from_key(None).unwrap();
        assert_eq!(raw.stored("alice"), "alice");
        let keyed = CustomerIds::from_key(Some("0123456789abcdef")).unwrap();
        let p = Pseudonymiser::new(b"0123456789abcdef").unwrap();
        assert_eq!(keyed.stored("alice"), p.pseudonym("alice"));
        let mut user = crate::Record::User(crate::User {
            id: "alice".into(),
            signup: None,
            attributes: Default::default(),
        });
        keyed.map_record(&mut user);
        match user {
            crate::Record::User(u) => assert_eq!(u.id, keyed.stored("alice")),
            _ => unreachable!(),
        }
    }

    #[test]
    fn ids_are_validated() {
        assert!(validate_id("user_id", "u1").is_ok());
        assert!(validate_id("user_id", "").is_err());
        assert!(validate_id("user_id", "a\u{0}b").is_err());
        assert!(validate_id("user_id", &"x".repeat(300)).is_err());
    }
}
