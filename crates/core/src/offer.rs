//! The treatments the engine can give a customer.

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// One offer. Money amounts are minor units in the order's currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Offer {
    /// The control arm: nothing is given.
    NoOffer,
    /// A percentage off the eligible amount, e.g. 10 for 10% off.
    PercentOff { percent: f64 },
    /// A fixed amount off an order of at least `min_spend`.
    AmountOff { amount: i64, min_spend: i64 },
    /// Shipping is free.
    FreeShipping,
    /// A non-price treatment: an e-mail, a banner, a recommended item.
    Content { name: String },
}

impl Offer {
    pub fn validate(&self) -> Result<(), CoreError> {
        match self {
            Offer::PercentOff { percent } if !(*percent > 0.0 && *percent <= 100.0) => Err(
                CoreError::invalid("offer.percent", percent, "must be in (0, 100]"),
            ),
            Offer::AmountOff { amount, .. } if *amount <= 0 => Err(CoreError::invalid(
                "offer.amount",
                amount,
                "must be a positive amount in minor units",
            )),
            Offer::AmountOff { min_spend, .. } if *min_spend < 0 => Err(CoreError::invalid(
                "offer.min_spend",
                min_spend,
                "must not be negative",
            )),
            Offer::Content { name } if name.is_empty() => Err(CoreError::invalid(
                "offer.name",
                "\"\"",
                "must not be empty",
            )),
            _ => Ok(()),
        }
    }

    /// A short human label, e.g. `10% off`, `5.00 off 30.00`, `content:Mens E-Mail`.
    pub fn label(&self) -> String {
        match self {
            Offer::NoOffer => "no offer".into(),
            Offer::PercentOff { percent } => format!("{percent}% off"),
            Offer::AmountOff { amount, min_spend } => {
                format!("{amount} off min {min_spend} (minor units)")
            }
            Offer::FreeShipping => "free shipping".into(),
            Offer::Content { name } => format!("content: {name}"),
        }
    }
}
