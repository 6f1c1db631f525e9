//! Per-customer forecasts of the two fitted models: purchases over a horizon, P(alive), and the
//! expected value of those purchases.

use serde::Serialize;

use super::bgnbd::BgNbd;
use super::gamma_gamma::GammaGamma;
use super::summary::SummaryRow;
use crate::error::ModelError;

/// One customer's forecast, next to their summary row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerForecast {
    #[serde(flatten)]
    pub row: SummaryRow,
    /// Expected purchases over the horizon (BG/NBD, conditional on the customer's history).
    pub expected_purchases: f64,
    /// Probability that the customer has not dropped out (BG/NBD).
    pub p_alive: f64,
    /// Expected purchases times the expected spend per purchase (Gamma-Gamma, conditional on the
    /// customer's repeat spend; the population mean for customers without positive repeat
    /// spend), in the summary's major units, undiscounted.
    pub expected_value: f64,
}

/// The forecast of each row over `horizon` (in the rows' time unit).
pub fn forecast(
    purchases: &BgNbd,
    spend: &GammaGamma,
    rows: &[SummaryRow],
    horizon: f64,
) -> Result<Vec<CustomerForecast>, ModelError> {
    rows.iter()
        .map(|row| {
            let rfm = row.rfm();
            let expected_purchases = purchases.expected_purchases(&rfm, horizon)?;
            let per_purchase = spend.expected_mean_spend(row.spend().as_ref());
            Ok(CustomerForecast {
                row: row.clone(),
                expected_purchases,
                p_alive: purchases.prob_alive(&rfm),
                expected_value: expected_purchases * per_purchase,
            })
        })
        .collect()
}

/// Writes forecasts as CSV: customer, frequency, recency, T, monetary_value,
/// expected_purchases, p_alive, expected_value.
pub fn write_forecasts(
    path: &std::path::Path,
    forecasts: &[CustomerForecast],
) -> Result<(), ModelError> {
    let fail = |e: csv::Error| ModelError::Data(format!("writing {}: {e}", path.display()));
    let mut w = csv::Writer::from_path(path).map_err(fail)?;
    w.write_record([
        "customer",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "expected_purchases",
        "p_alive",
        "expected_value",
    ])
    .map_err(fail)?;
    for f in forecasts {
        let r = &f.row;
        w.write_record([
            r.customer.clone(),
            r.frequency.to_string(),
            r.recency.to_string(),
            r.t.to_string(),
            r.monetary_value.to_string(),
            f.expected_purchases.to_string(),
            f.p_alive.to_string(),
            f.expected_value.to_string(),
        ])
        .map_err(fail)?;
    }
    w.flush().map_err(|source| ModelError::Io {
        path: path.display().to_string(),
        source,
    })
}
