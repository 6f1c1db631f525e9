//! BG/NBD (Fader, Hardie & Lee 2005): repeat purchases of customers who may silently drop out.
//!
//! While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each
//! purchase they drop out with probability p ~ Beta(a, b). The likelihood of a customer with x
//! repeat purchases, the last at t_x, observed for T weeks, is (eq. 6 of the paper)
//!
//! L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
//!   + [x > 0] · B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)),
//!
//! maximised here over log-parameters with a restarted Nelder-Mead simplex.

use discount_eval::stats::ln_gamma;
use serde::{Deserialize, Serialize};

use super::hypergeometric::hyp2f1;
use super::nelder_mead::NelderMead;
use super::rfm::Rfm;
use crate::error::ModelError;

/// The four parameters: purchase rate λ ~ Gamma(shape r, rate α); drop-out p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl BgNbdParams {
    /// Validated parameters (all finite and positive).
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ModelError> {
        for (name, value) in [("r", r), ("alpha", alpha), ("a", a), ("b", b)] {
            if !(value > 0.0 && value.is_finite()) {
                return Err(ModelError::InvalidHyper {
                    name,
                    value: value.to_string(),
                    reason: "BG/NBD parameters must be finite and positive".into(),
                });
            }
        }
        Ok(Self { r, alpha, a, b })
    }
}

/// A fitted BG/NBD model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BgNbd {
    pub params: BgNbdParams,
    /// Log-likelihood of the training customers at `params` (natural log, summed).
    pub log_likelihood: f64,
    /// Customers the model was fitted on.
    pub customers: usize,
}

fn ln_add_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// Log-likelihood of one customer.
fn customer_log_likelihood(p: &BgNbdParams, c: &Rfm) -> f64 {
    let BgNbdParams { r, alpha, a, b } = *p;
    let x = c.x;
    let rate = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
    let dropout = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
    let alive_at_t = -(r + x) * (alpha + c.t).ln();
    let dead_after_last = if x > 0.0 {
        a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + c.t_x).ln()
    } else {
        f64::NEG_INFINITY
    };
    rate + dropout + ln_add_exp(dead_after_last, alive_at_t)
}

impl BgNbd {
    /// Summed log-likelihood of `customers` under `params`.
    pub fn log_likelihood_of(params: &BgNbdParams, customers: &[Rfm]) -> f64 {
        customers
            .iter()
            .map(|c| customer_log_likelihood(params, c))
            .sum()
    }

    /// A model with given parameters (e.g. published ones), its log-likelihood on `customers`.
    pub fn with_params(params: BgNbdParams, customers: &[Rfm]) -> Self {
        Self {
            params,
            log_likelihood: Self::log_likelihood_of(&params, customers),
            customers: customers.len(),
        }
    }

    /// Maximum-likelihood fit with the default optimiser settings.
    pub fn fit(customers: &[Rfm]) -> Result<Self, ModelError> {
        Self::fit_with(customers, &NelderMead::default())
    }

    /// Maximum-likelihood fit; the search runs over ln r, ln α, ln a, ln b from (0, 0, 0, 0).
    pub fn fit_with(customers: &[Rfm], optimiser: &NelderMead) -> Result<Self, ModelError> {
        if customers.is_empty() {
            return Err(ModelError::Data(
                "BG/NBD needs at least one customer".into(),
            ));
        }
        if customers.iter().all(|c| c.x == 0.0) {
            return Err(ModelError::Data(
                "BG/NBD needs some repeat purchases; every customer has x = 0".into(),
            ));
        }
        // Customers with the same (x, t_x, T) contribute the same term: many share one (all
        // those without repeat purchases who arrived the same day), so count them once.
        let mut distinct: Vec<(Rfm, f64)> = Vec::new();
        let mut sorted: Vec<Rfm> = customers.to_vec();
        sorted.sort_by(|a, b| {
            (a.x, a.t_x, a.t)
                .partial_cmp(&(b.x, b.t_x, b.t))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        for c in sorted {
            match distinct.last_mut() {
                Some((last, n)) if *last == c => *n += 1.0,
                _ => distinct.push((c, 1.0)),
            }
        }
        let negative_ll = |theta: &[f64]| {
            let p = BgNbdParams {
                r: theta[0].exp(),
                alpha: theta[1].exp(),
                a: theta[2].exp(),
                b: theta[3].exp(),
            };
            -distinct
                .iter()
                .map(|(c, n)| n * customer_log_likelihood(&p, c))
                .sum::<f64>()
        };
        let best = optimiser.minimise(negative_ll, &[0.0; 4]);
        let theta = &best.point;
        let params = BgNbdParams::new(
            theta[0].exp(),
            theta[1].exp(),
            theta[2].exp(),
            theta[3].exp(),
        )
        .map_err(|e| ModelError::Data(format!("the BG/NBD fit did not converge: {e}")))?;
        Ok(Self::with_params(params, customers))
    }

    /// Probability that the customer is still alive at the end of their observation (eq. 13).
    pub fn prob_alive(&self, c: &Rfm) -> f64 {
        if c.x == 0.0 {
            return 1.0;
        }
        let BgNbdParams { r, alpha, a, b } = self.params;
        let ln_odds_dead =
            a.ln() - (b + c.x - 1.0).ln() + (r + c.x) * ((alpha + c.t).ln() - (alpha + c.t_x).ln());
        1.0 / (1.0 + ln_odds_dead.exp())
    }

    /// Expected purchases in the next `horizon` weeks after the end of the customer's
    /// observation, given their history (eq. 10).
    pub fn expected_purchases(&self, c: &Rfm, horizon: f64) -> Result<f64, ModelError> {
        check_horizon(horizon)?;
        let BgNbdParams { r, alpha, a, b } = self.params;
        let x = c.x;
        let z = horizon / (alpha + c.t + horizon);
        let f = hyp2f1(r + x, b + x, a + b + x - 1.0, z)?;
        let ratio = ((alpha + c.t) / (alpha + c.t + horizon)).powf(r + x);
        let numerator = (a + b + x - 1.0) / (a - 1.0) * (1.0 - ratio * f);
        let denominator = if x > 0.0 {
            1.0 + a / (b + x - 1.0) * ((alpha + c.t) / (alpha + c.t_x)).powf(r + x)
        } else {
            1.0
        };
        Ok(numerator / denominator)
    }

    /// Expected purchases of a customer in their first `t` weeks after their first purchase
    /// (repeat purchases only; eq. 9).
    pub fn expected_purchases_new(&self, t: f64) -> Result<f64, ModelError> {
        check_horizon(t)?;
        let BgNbdParams { r, alpha, a, b } = self.params;
        let f = hyp2f1(r, b, a + b - 1.0, t / (alpha + t))?;
        Ok((a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)).powf(r) * f))
    }
}

fn check_horizon(h: f64) -> Result<(), ModelError> {
    if h >= 0.0 && h.is_finite() {
        Ok(())
    } else {
        Err(ModelError::InvalidHyper {
            name: "horizon",
            value: h.to_string(),
            reason: "must be finite and >= 0 weeks".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> BgNbd {
        let params = BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap();
        BgNbd::with_params(params, &[])
    }

    #[test]
    fn zero_horizon_expects_nothing_and_new_customers_match_history_of_zero() {
        let m = model();
        let c = Rfm::new(2.0, 30.43, 38.86).unwrap();
        assert!(m.expected_purchases(&c, 0.0).unwrap().abs() < 1e-12);
        // A customer with x = 0 observed for T = 0 weeks is a new customer.
        let fresh = Rfm::new(0.0, 0.0, 0.0).unwrap();
        let a = m.expected_purchases(&fresh, 39.0).unwrap();
        let b = m.expected_purchases_new(39.0).unwrap();
        assert!((a - b).abs() < 1e-10, "{a} vs {b}");
    }

    #[test]
    fn matches_the_paper_worked_example() {
        // Fader, Hardie & Lee (2005), section 5: a customer with x = 2, t_x = 30.43, T = 38.86
        // is expected to make 1.226 purchases in the next 39 weeks.
        let m = model();
        let c = Rfm::new(2.0, 30.43, 38.86).unwrap();
        let e = m.expected_purchases(&c, 39.0).unwrap();
        assert!((e - 1.226).abs() < 0.002, "{e}");
        // Recent buyers are more likely alive than those who stopped long ago.
        let stale = Rfm::new(2.0, 5.0, 38.86).unwrap();
        assert!(m.prob_alive(&c) > m.prob_alive(&stale));
        assert_eq!(m.prob_alive(&Rfm::new(0.0, 0.0, 38.86).unwrap()), 1.0);
    }

    #[test]
    fn likelihood_integrates_to_one_over_counts() {
        // With T = t_x impossible to enumerate, check a simpler identity: the probability of any
        // (x, t_x) history sums to one; here over x with T = 0 (no time: x = 0 surely).
        let p = BgNbdParams::new(0.5, 2.0, 0.8, 2.5).unwrap();
        let ll = customer_log_likelihood(&p, &Rfm::new(0.0, 0.0, 0.0).unwrap());
        assert!(ll.abs() < 1e-12, "{ll}");
    }

    #[test]
    fn fitted_models_round_trip_through_json() {
        let m = model();
        let back: BgNbd = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back.params, m.params);
    }

    #[test]
    fn rejects_bad_parameters_and_horizons() {
        assert!(BgNbdParams::new(0.0, 1.0, 1.0, 1.0).is_err());
        assert!(BgNbdParams::new(1.0, f64::NAN, 1.0, 1.0).is_err());
        let c = Rfm::new(1.0, 1.0, 2.0).unwrap();
        assert!(model().expected_purchases(&c, -1.0).is_err());
        assert!(BgNbd::fit(&[]).is_err());
        assert!(BgNbd::fit(&[Rfm::new(0.0, 0.0, 3.0).unwrap()]).is_err());
    }
}
