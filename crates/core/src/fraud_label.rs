//! Ground-truth labels of fraud actors: who, what kind, which ring.
//!
//! The simulator writes them into its ground truth (never into the event stream) and a labels
//! file carries them for real data; the fraud scan reads them to train and evaluate its scores.
//! They live here because both sides need them and neither depends on the other.

use serde::{Deserialize, Serialize};

/// What kind of actor an account is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FraudKind {
    /// A genuine customer.
    #[default]
    None,
    CouponFarmer,
    OrderBrusher,
    Reseller,
}

impl FraudKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FraudKind::None => "none",
            FraudKind::CouponFarmer => "coupon_farmer",
            FraudKind::OrderBrusher => "order_brusher",
            FraudKind::Reseller => "reseller",
        }
    }
}

/// The label of one fraud account: who, what kind, which ring.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FraudLabel {
    pub user_id: String,
    pub kind: FraudKind,
    /// Accounts with the same ring id act together (`r<number>`).
    pub ring: String,
}
