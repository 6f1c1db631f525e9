//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999).
//!
//! Each transaction value of a customer is Gamma(p, ν) and the customer's ν ~ Gamma(q, γ), so
//! the mean m̄ of x transactions has density
//!
//! f(m̄ | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q · m̄^(px-1) · x^(px) / (γ + x m̄)^(px+q),
//!
//! maximised over log-parameters. Spend and purchase counts are assumed independent; check that
//! on your data (the correlation of x and m̄) before combining this with BG/NBD.

use discount_eval::stats::ln_gamma;
use serde::{Deserialize, Serialize};

use super::nelder_mead::NelderMead;
use crate::error::ModelError;

/// A customer's repeat purchases and their mean value (in any one currency unit).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpendObservation {
    /// Number of transactions averaged (x > 0).
    pub x: f64,
    /// Mean transaction value (> 0).
    pub mean: f64,
}

impl SpendObservation {
    pub fn new(x: f64, mean: f64) -> Result<Self, ModelError> {
        if !(x > 0.0 && x.is_finite() && mean > 0.0 && mean.is_finite()) {
            return Err(ModelError::Data(format!(
                "Gamma-Gamma needs x > 0 transactions with a positive mean value; got x = {x}, mean = {mean}"
            )));
        }
        Ok(Self { x, mean })
    }
}

/// Parameters: shape p of transaction values; ν ~ Gamma(shape q, rate v).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGammaParams {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

/// A fitted Gamma-Gamma model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GammaGamma {
    pub params: GammaGammaParams,
    pub log_likelihood: f64,
    pub customers: usize,
}

fn customer_log_likelihood(p: &GammaGammaParams, o: &SpendObservation) -> f64 {
    let GammaGammaParams { p, q, v } = *p;
    let px = p * o.x;
    ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
        + q * v.ln()
        + (px - 1.0) * o.mean.ln()
        + px * o.x.ln()
        - (px + q) * (v + o.x * o.mean).ln()
}

impl GammaGamma {
    pub fn log_likelihood_of(params: &GammaGammaParams, data: &[SpendObservation]) -> f64 {
        data.iter()
            .map(|o| customer_log_likelihood(params, o))
            .sum()
    }

    /// Maximum-likelihood fit with the default optimiser settings.
    pub fn fit(data: &[SpendObservation]) -> Result<Self, ModelError> {
        Self::fit_with(data, &NelderMead::default())
    }

    /// Maximum-likelihood fit over ln p, ln q, ln v; v starts at the mean spend's scale.
    pub fn fit_with(data: &[SpendObservation], optimiser: &NelderMead) -> Result<Self, ModelError> {
        if data.len() < 2 {
            return Err(ModelError::Data(
                "Gamma-Gamma needs at least two customers with repeat purchases".into(),
            ));
        }
        let mean_spend = data.iter().map(|o| o.mean).sum::<f64>() / data.len() as f64;
        let negative_ll = |theta: &[f64]| {
            let p = GammaGammaParams {
                p: theta[0].exp(),
                q: theta[1].exp(),
                v: theta[2].exp(),
            };
            -Self::log_likelihood_of(&p, data)
        };
        let best = optimiser.minimise(negative_ll, &[0.0, 0.0, mean_spend.ln()]);
        let params = GammaGammaParams {
            p: best.point[0].exp(),
            q: best.point[1].exp(),
            v: best.point[2].exp(),
        };
        if ![params.p, params.q, params.v]
            .iter()
            .all(|v| *v > 0.0 && v.is_finite())
        {
            return Err(ModelError::Data(format!(
                "the Gamma-Gamma fit did not converge: {params:?}"
            )));
        }
        Ok(Self {
            params,
            log_likelihood: Self::log_likelihood_of(&params, data),
            customers: data.len(),
        })
    }

    /// Population mean transaction value p v / (q - 1) (infinite when q <= 1).
    pub fn population_mean_spend(&self) -> f64 {
        let GammaGammaParams { p, q, v } = self.params;
        if q <= 1.0 {
            f64::INFINITY
        } else {
            p * v / (q - 1.0)
        }
    }

    /// Expected mean transaction value of a customer given their history: a weighted mean of
    /// the population mean and the customer's own mean, weighted by px / (px + q - 1).
    /// A customer with no repeat purchases (`None`) gets the population mean.
    pub fn expected_mean_spend(&self, history: Option<&SpendObservation>) -> f64 {
        let GammaGammaParams { p, q, .. } = self.params;
        let Some(o) = history else {
            return self.population_mean_spend();
        };
        let px = p * o.x;
        let weight = px / (px + q - 1.0);
        (1.0 - weight) * self.population_mean_spend() + weight * o.mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Gamma};

    #[test]
    fn recovers_simulated_parameters() {
        let (p, q, v) = (4.0, 5.0, 20.0);
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let rate_of_customer = Gamma::new(q, 1.0 / v).unwrap();
        let mut data = Vec::new();
        for i in 0..4000 {
            let nu: f64 = rate_of_customer.sample(&mut rng);
            let x = 1 + i % 6;
            let value = Gamma::new(p, 1.0 / nu).unwrap();
            let mean = (0..x).map(|_| value.sample(&mut rng)).sum::<f64>() / x as f64;
            data.push(SpendObservation::new(x as f64, mean).unwrap());
        }
        let m = GammaGamma::fit(&data).unwrap();
        assert!((m.params.p - p).abs() / p < 0.1, "{:?}", m.params);
        assert!((m.params.q - q).abs() / q < 0.15, "{:?}", m.params);
        assert!((m.params.v - v).abs() / v < 0.2, "{:?}", m.params);
        // Shrinkage: the expectation lies between the customer's mean and the population mean.
        let o = SpendObservation::new(2.0, 100.0).unwrap();
        let e = m.expected_mean_spend(Some(&o));
        assert!(e < 100.0 && e > m.population_mean_spend());
    }

    #[test]
    fn rejects_bad_observations() {
        assert!(SpendObservation::new(0.0, 5.0).is_err());
        assert!(SpendObservation::new(1.0, -5.0).is_err());
        assert!(GammaGamma::fit(&[]).is_err());
    }
}
