//! Lifetime value: how many more purchases a customer will make (BG/NBD), whether they are still
//! a customer at all (P(alive)), and how much they spend per purchase (Gamma-Gamma).
//!
//! ```no_run
//! use discount_models::ltv::{cdnow, rfm, BgNbd};
//! # fn main() -> Result<(), discount_models::ModelError> {
//! let log = cdnow::read_sample("CDNOW_sample.txt".as_ref())?;
//! let customers = rfm::summarise(&log, cdnow::calibration_end(), cdnow::holdout_end())?;
//! let rfm: Vec<_> = customers.iter().map(|c| c.rfm).collect();
//! let model = BgNbd::fit(&rfm)?;
//! let next_39_weeks = model.expected_purchases(&rfm[0], 39.0)?;
//! let alive = model.prob_alive(&rfm[0]);
//! # let _ = (next_39_weeks, alive); Ok(()) }
//! ```

pub mod bgnbd;
pub mod cdnow;
pub mod forecast;
pub mod gamma_gamma;
pub mod holdout;
pub mod hypergeometric;
pub mod nelder_mead;
pub mod orders;
pub mod rfm;
pub mod summary;

pub use bgnbd::{BgNbd, BgNbdParams};
pub use forecast::{forecast, write_forecasts, CustomerForecast};
pub use gamma_gamma::{GammaGamma, GammaGammaParams, SpendObservation};
pub use holdout::HoldoutReport;
pub use orders::{OrderLog, Periods};
pub use rfm::{CustomerSummary, Rfm, TimeUnit, Transaction};
pub use summary::{read_summary, write_summary, SummaryRow};

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// The two fitted lifetime-value models, as one artifact stores them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LtvModel {
    pub bgnbd: BgNbd,
    pub gamma_gamma: GammaGamma,
}

impl LtvModel {
    /// [`customer_lifetime_value`] with these two models.
    pub fn lifetime_value(
        &self,
        rfm: &Rfm,
        spend_history: Option<&SpendObservation>,
        horizon_weeks: u32,
        weekly_discount_rate: f64,
    ) -> Result<f64, ModelError> {
        customer_lifetime_value(
            &self.bgnbd,
            &self.gamma_gamma,
            rfm,
            spend_history,
            horizon_weeks,
            weekly_discount_rate,
        )
    }
}

/// Expected value of a customer's purchases over the next `horizon_weeks`, in the unit of the
/// Gamma-Gamma model, discounted per week at `weekly_discount_rate` (0 for none): the expected
/// purchases of each week times the expected spend per purchase.
pub fn customer_lifetime_value(
    purchases: &BgNbd,
    spend: &GammaGamma,
    rfm: &Rfm,
    spend_history: Option<&SpendObservation>,
    horizon_weeks: u32,
    weekly_discount_rate: f64,
) -> Result<f64, ModelError> {
    if !(weekly_discount_rate >= 0.0 && weekly_discount_rate.is_finite()) {
        return Err(ModelError::InvalidHyper {
            name: "weekly_discount_rate",
            value: weekly_discount_rate.to_string(),
            reason: "must be finite and >= 0".into(),
        });
    }
    let per_purchase = spend.expected_mean_spend(spend_history);
    let mut value = 0.0;
    let mut previous = 0.0;
    for week in 1..=horizon_weeks {
        let cumulative = purchases.expected_purchases(rfm, week as f64)?;
        value +=
            (cumulative - previous) * per_purchase / (1.0 + weekly_discount_rate).powi(week as i32);
        previous = cumulative;
    }
    Ok(value)
}
