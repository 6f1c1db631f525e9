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
    }

    #[test]
    fn ids_are_validated() {
        assert!(validate_id("user_id", "u1").is_ok());
        assert!(validate_id("user_id", "").is_err());
        assert!(validate_id("user_id", "a\u{0}b").is_err());
        assert!(validate_id("user_id", &"x".repeat(300)).is_err());
    }
}
