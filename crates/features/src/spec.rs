//! The feature vector's definition: each feature's name, meaning and window, versioned by a
//! version string and a hash of the definition, so that a model can refuse vectors built by
//! another definition.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{FeatureError, Profile, WINDOWS_DAYS};

/// Bumped when a base feature's computation changes without its name changing.
pub const SPEC_VERSION: &str = "profile-v1";

/// One feature of the vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureDef {
    pub name: String,
    pub meaning: String,
    /// The window in days; `None` for the whole history up to the snapshot.
    pub window_days: Option<u32>,
}

impl FeatureDef {
    fn new(name: impl Into<String>, meaning: impl Into<String>, window_days: Option<u32>) -> Self {
        Self {
            name: name.into(),
            meaning: meaning.into(),
            window_days,
        }
    }

    /// `7d`, `30d`, `90d` or `lifetime`.
    pub fn window_label(&self) -> String {
        self.window_days
            .map_or_else(|| "lifetime".to_string(), |d| format!("{d}d"))
    }
}

/// A learned embedding appended to the base features: `dim` values named `{name}_0`...,
/// then `{name}_present`, 1 when the customer had an embedding and 0 when zeros stand in
/// (a customer the embedding model has not seen).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingSlot {
    pub name: String,
    pub dim: usize,
}

/// The definition of the feature vector, which travels with every model that uses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub version: String,
    pub features: Vec<FeatureDef>,
    pub embeddings: Vec<EmbeddingSlot>,
    /// First 16 hex digits of the SHA-256 of the version, features and embeddings as JSON.
    pub hash: String,
}

/// The base features of `p` with their definitions: the one place where features are computed,
/// for the spec (on an empty profile) and for every vector.
fn base_features(p: &Profile) -> Vec<(FeatureDef, f64)> {
    let life = None;
    let mut out =
        vec![
        (
            FeatureDef::new("tenure_days", "days since the customer's first event", life),
            p.tenure_days,
        ),
        (
            FeatureDef::new("orders_total", "orders placed (RFM frequency)", life),
            p.orders as f64,
        ),
        (
            FeatureDef::new("has_ordered", "1 if the customer ever ordered, else 0", life),
            f64::from(u8::from(p.orders > 0)),
        ),
        (
            FeatureDef::new(
                "days_since_last_order",
                "days since the last order (RFM recency); tenure_days before the first order",
                life,
            ),
            p.days_since_last_order.unwrap_or(p.tenure_days),
        ),
        (
            FeatureDef::new(
                "order_span_days",
                "days from the first to the last order",
                life,
            ),
            p.order_span_days,
        ),
        (
            FeatureDef::new(
                "spend_total",
                "amount paid over all orders, minor units of the profile currency (RFM monetary)",
                life,
            ),
            p.spend_total as f64,
        ),
        (
            FeatureDef::new(
                "spend_mean_order",
                "mean amount paid per order, minor units",
                life,
            ),
            p.spend_mean_order(),
        ),
        (
            FeatureDef::new("refund_total", "amount refunded, minor units", life),
            p.refund_total as f64,
        ),
    ];
    let w = &p.windows;
    let windowed: [(&str, &str, &[u64; 3]); 5] = [
        ("views", "product or page views", &w.views),
        ("carts", "add-to-cart events", &w.carts),
        ("orders", "orders", &w.orders),
        ("refunds", "refunds", &w.refunds),
        ("reviews", "reviews written", &w.reviews),
    ];
    for (name, what, counts) in windowed {
        for (days, n) in WINDOWS_DAYS.iter().zip(counts) {
            out.push((
                FeatureDef::new(
                    format!("{name}_{days}d"),
                    format!("{what} in the last {days} days"),
                    Some(*days),
                ),
                *n as f64,
            ));
        }
    }
    out.extend([
        (
            FeatureDef::new(
                "discounted_order_share",
                "share of orders with a retail or coupon discount",
                life,
            ),
            p.discounted_order_share(),
        ),
        (
            FeatureDef::new(
                "mean_discount_depth",
                "mean of discount / (paid + discount) over discounted orders",
                life,
            ),
            p.mean_discount_depth,
        ),
        (
            FeatureDef::new("coupons_received", "coupons issued to the customer", life),
            p.coupons_received as f64,
        ),
        (
            FeatureDef::new(
                "coupon_redemption_rate",
                "share of the coupons received that were redeemed",
                life,
            ),
            p.coupon_redemption_rate(),
        ),
        (
            FeatureDef::new(
                "distinct_categories",
                "categories of the items the customer viewed, carted, reviewed or ordered",
                life,
            ),
            p.distinct_categories as f64,
        ),
        (
            FeatureDef::new(
                "top1_category_share",
                "share of item interactions in the customer's most frequent category",
                life,
            ),
            p.top_share(1),
        ),
        (
            FeatureDef::new(
                "top3_category_share",
                "share of item interactions in the customer's three most frequent categories",
                life,
            ),
            p.top_share(3),
        ),
    ]);
    out
}

fn empty_profile() -> Profile {
    crate::ProfileBuilder::new("").profile_at(discount_core::Timestamp(0))
}

impl FeatureSpec {
    /// The base features, without embeddings.
    pub fn base() -> Self {
        Self::base_ref().clone()
    }

    /// The base spec, built once per process: building it names every feature and hashes the
    /// spec, which took longer than reading a profile from its state.
    pub fn base_ref() -> &'static Self {
        static BASE: std::sync::OnceLock<FeatureSpec> = std::sync::OnceLock::new();
        BASE.get_or_init(|| {
            let features = base_features(&empty_profile())
                .into_iter()
                .map(|(d, _)| d)
                .collect();
            Self::assemble(features, Vec::new())
        })
    }

    /// This spec with an embedding slot appended.
    pub fn with_embedding(self, name: &str, dim: usize) -> Result<Self, FeatureError> {
        if self.embeddings.iter().any(|e| e.name == name) {
            return Err(FeatureError::DuplicateSlot(name.to_string()));
        }
        let mut embeddings = self.embeddings;
        embeddings.push(EmbeddingSlot {
            name: name.to_string(),
            dim,
        });
        Ok(Self::assemble(self.features, embeddings))
    }

    fn assemble(features: Vec<FeatureDef>, embeddings: Vec<EmbeddingSlot>) -> Self {
        let canonical = serde_json::json!({
            "version": SPEC_VERSION, "features": features, "embeddings": embeddings,
        });
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        Self {
            version: SPEC_VERSION.to_string(),
            features,
            embeddings,
            hash: hex::encode(&digest[..8]),
        }
    }

    /// `profile-v1+3f2a...`: what a model artifact records.
    pub fn id(&self) -> String {
        format!("{}+{}", self.version, self.hash)
    }

    /// Length of the vector: base features plus each slot's values and presence flag.
    pub fn len(&self) -> usize {
        self.features.len() + self.embeddings.iter().map(|e| e.dim + 1).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every feature of the vector in order, embeddings included.
    pub fn all_features(&self) -> Vec<FeatureDef> {
        let mut out = self.features.clone();
        for slot in &self.embeddings {
            for i in 0..slot.dim {
                out.push(FeatureDef::new(
                    format!("{}_{i}", slot.name),
                    format!("component {i} of the learned `{}` embedding", slot.name),
                    None,
                ));
            }
            out.push(FeatureDef::new(
                format!("{}_present", slot.name),
                format!(
                    "1 if the customer has a `{}` embedding, 0 if zeros stand in",
                    slot.name
                ),
                None,
            ));
        }
        out
    }

    /// Errors unless `other` is the same definition (a model checks the vectors it is given).
    pub fn ensure_same(&self, other: &FeatureSpec) -> Result<(), FeatureError> {
        if self.hash != other.hash || self.version != other.version {
            return Err(FeatureError::SpecMismatch {
                expected: self.id(),
                found: other.id(),
            });
        }
        Ok(())
    }

    /// The feature vector of `profile`; `embeddings` gives the learned vectors the customer has,
    /// by slot name (slots without one are zeros with the presence flag 0).
    pub fn vector(
        &self,
        profile: &Profile,
        embeddings: &[(&str, &[f32])],
    ) -> Result<Vec<f64>, FeatureError> {
        self.named_values(profile, embeddings)
            .map(|v| v.into_iter().map(|(_, x)| x).collect())
    }

    /// The vector with each value's definition, for display.
    pub fn named_values(
        &self,
        profile: &Profile,
        embeddings: &[(&str, &[f32])],
    ) -> Result<Vec<(FeatureDef, f64)>, FeatureError> {
        if let Some((name, _)) = embeddings
            .iter()
            .find(|(n, _)| !self.embeddings.iter().any(|s| s.name == *n))
        {
            return Err(FeatureError::UnknownEmbedding(name.to_string()));
        }
        let mut values: Vec<f64> = base_features(profile).into_iter().map(|(_, x)| x).collect();
        for slot in &self.embeddings {
            match embeddings.iter().find(|(n, _)| *n == slot.name) {
                Some((_, v)) if v.len() != slot.dim => {
                    return Err(FeatureError::EmbeddingSize {
                        name: slot.name.clone(),
                        expected: slot.dim,
                        found: v.len(),
                    })
                }
                Some((_, v)) => {
                    values.extend(v.iter().map(|&x| f64::from(x)));
                    values.push(1.0);
                }
                None => values.extend(std::iter::repeat_n(0.0, slot.dim + 1)),
            }
        }
        Ok(self.all_features().into_iter().zip(values).collect())
    }
}
