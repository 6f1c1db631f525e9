//! BG/NBD and Gamma-Gamma on the arrays lifetimes (`lifetimes` 0.11) fits on: `frequency` (repeat purchases),
//! `recency` (time from the first to the last purchase) and `T` (time from the first purchase to the end of
//! observation), in any one time unit; `monetary_value` (mean value of the repeat purchases). The models are
//! [`discount_models::ltv`]'s; this module checks the arrays and names the customer (index) that is wrong.

use discount_models::ltv::{BgNbd, GammaGamma, Rfm, SpendObservation};

use crate::error::{BindingError, Result};

fn same_length(lengths: &[(&str, usize)]) -> Result<usize> {
    let (first, n) = lengths[0];
    for &(name, len) in &lengths[1..] {
        if len != n {
            return Err(BindingError::argument(
                name,
                format!("has {len} values but {first} has {n}"),
            ));
        }
    }
    Ok(n)
}

/// One [`Rfm`] per customer; the error names the first invalid customer.
pub fn customers(frequency: &[f64], recency: &[f64], t: &[f64]) -> Result<Vec<Rfm>> {
    let n = same_length(&[
        ("frequency", frequency.len()),
        ("recency", recency.len()),
        ("T", t.len()),
    ])?;
    (0..n)
        .map(|i| {
            Rfm::new(frequency[i], recency[i], t[i]).map_err(|e| {
                BindingError::value(
                    "frequency/recency/T",
                    i,
                    format!("({}, {}, {})", frequency[i], recency[i], t[i]),
                    e.to_string(),
                )
            })
        })
        .collect()
}

/// Fits BG/NBD by maximum likelihood.
pub fn fit_bgnbd(frequency: &[f64], recency: &[f64], t: &[f64]) -> Result<BgNbd> {
    Ok(BgNbd::fit(&customers(frequency, recency, t)?)?)
}

/// Expected repeat purchases of each customer in the next `horizon` time units (lifetimes'
/// `conditional_expected_number_of_purchases_up_to_time`).
pub fn conditional_expected_purchases(
    model: &BgNbd,
    horizon: f64,
    frequency: &[f64],
    recency: &[f64],
    t: &[f64],
) -> Result<Vec<f64>> {
    customers(frequency, recency, t)?
        .iter()
        .map(|c| Ok(model.expected_purchases(c, horizon)?))
        .collect()
}

/// Probability that each customer is still alive (lifetimes' `conditional_probability_alive`).
pub fn probability_alive(
    model: &BgNbd,
    frequency: &[f64],
    recency: &[f64],
    t: &[f64],
) -> Result<Vec<f64>> {
    Ok(customers(frequency, recency, t)?
        .iter()
        .map(|c| model.prob_alive(c))
        .collect())
}

/// Spend observations for fitting: every customer must have `frequency > 0` and `monetary_value > 0`, as
/// lifetimes' `GammaGammaFitter.fit` requires.
pub fn spend_observations(
    frequency: &[f64],
    monetary_value: &[f64],
) -> Result<Vec<SpendObservation>> {
    let n = same_length(&[
        ("frequency", frequency.len()),
        ("monetary_value", monetary_value.len()),
    ])?;
    (0..n)
        .map(|i| {
            SpendObservation::new(frequency[i], monetary_value[i]).map_err(|e| {
                BindingError::value(
                    "frequency/monetary_value",
                    i,
                    format!("({}, {})", frequency[i], monetary_value[i]),
                    format!("{e}; keep only customers with repeat purchases"),
                )
            })
        })
        .collect()
}

/// Fits Gamma-Gamma by maximum likelihood.
pub fn fit_gamma_gamma(frequency: &[f64], monetary_value: &[f64]) -> Result<GammaGamma> {
    Ok(GammaGamma::fit(&spend_observations(
        frequency,
        monetary_value,
    )?)?)
}

/// Expected mean purchase value of each customer (lifetimes' `conditional_expected_average_profit`); a
/// customer with `frequency == 0` gets the population mean.
pub fn conditional_expected_average_profit(
    model: &GammaGamma,
    frequency: &[f64],
    monetary_value: &[f64],
) -> Result<Vec<f64>> {
    let n = same_length(&[
        ("frequency", frequency.len()),
        ("monetary_value", monetary_value.len()),
    ])?;
    (0..n)
        .map(|i| {
            if frequency[i] == 0.0 {
                return Ok(model.expected_mean_spend(None));
            }
            let observation =
                SpendObservation::new(frequency[i], monetary_value[i]).map_err(|e| {
                    BindingError::value(
                        "frequency/monetary_value",
                        i,
                        format!("({}, {})", frequency[i], monetary_value[i]),
                        e.to_string(),
                    )
                })?;
            Ok(model.expected_mean_spend(Some(&observation)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use discount_models::ltv::BgNbdParams;

    #[test]
    fn published_cdnow_parameters_give_the_papers_figures() {
        // Fader, Hardie & Lee (2005), CDNOW: r = 0.243, α = 4.414, a = 0.793, b = 2.426. Their customer with
        // x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks.
        let params = BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap();
        let model = BgNbd::with_params(params, &[]);
        let expected =
            conditional_expected_purchases(&model, 39.0, &[2.0], &[30.43], &[38.86]).unwrap();
        assert!((expected[0] - 1.226).abs() < 0.005, "{expected:?}");
        let alive = probability_alive(&model, &[0.0, 2.0], &[0.0, 30.43], &[38.86, 38.86]).unwrap();
        assert_eq!(alive[0], 1.0);
        assert!(alive[1] > 0.0 && alive[1] < 1.0);
    }

    #[test]
    fn invalid_customers_are_named() {
        let err = customers(&[1.0, 2.0], &[3.0, 9.0], &[5.0, 8.0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("index 1"), "{err}");
        let err = customers(&[1.0], &[3.0, 9.0], &[5.0, 8.0])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("recency") && err.contains("frequency"),
            "{err}"
        );
        let err = spend_observations(&[1.0, 0.0], &[10.0, 0.0])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("index 1") && err.contains("repeat purchases"),
            "{err}"
        );
    }
}
