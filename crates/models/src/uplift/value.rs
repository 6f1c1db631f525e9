//! The value of sending an offer, targeting policies built from predicted effects, and their inverse-propensity
//! (IPS) value on a randomised experiment.
//!
//! The value of offer k to a customer is the expected margin it adds minus what it costs:
//! margin · Δrevenue_k(x) − per_send − per_redemption · P(redeem | x, k). Costs are integer minor units; the
//! per-redemption cost is paid only when the customer converts, the per-send cost on every send.

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// What an offer costs, in minor currency units (cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OfferCost {
    pub per_send_minor: i64,
    pub per_redemption_minor: i64,
}

impl OfferCost {
    /// Expected cost of sending, given the probability that the customer redeems.
    pub fn expected_minor(&self, redemption_probability: f64) -> f64 {
        self.per_send_minor as f64 + self.per_redemption_minor as f64 * redemption_probability
    }

    /// Realised cost of a logged send: the send, plus the redemption if it happened.
    pub fn realised_minor(&self, redeemed: bool) -> i64 {
        self.per_send_minor
            + if redeemed {
                self.per_redemption_minor
            } else {
                0
            }
    }
}

/// Expected value of an offer in minor units: margin · Δrevenue − expected cost.
pub fn offer_value_minor(
    revenue_uplift_minor: f64,
    margin: f64,
    redemption_probability: f64,
    cost: &OfferCost,
) -> f64 {
    margin * revenue_uplift_minor - cost.expected_minor(redemption_probability)
}

/// "Send each customer their best offer, to the top `share` of customers": the arm (1..) with the highest
/// value, given to the customers whose best value is highest and positive; everyone else gets arm 0.
/// `values[k - 1][row]` is the value of arm k. Ties in rank are broken by row order.
pub fn best_offer_to_top(values: &[Vec<f64>], share: f64) -> Result<Vec<usize>, ModelError> {
    if !(0.0..=1.0).contains(&share) {
        return Err(ModelError::InvalidHyper {
            name: "share",
            value: share.to_string(),
            reason: "must be in [0, 1]".into(),
        });
    }
    let n = values.first().map_or(0, Vec::len);
    if values.iter().any(|v| v.len() != n) {
        return Err(ModelError::Data(
            "every arm needs a value for every customer".into(),
        ));
    }
    let best: Vec<(usize, f64)> = (0..n)
        .map(|i| {
            values
                .iter()
                .enumerate()
                .map(|(k, v)| (k + 1, v[i]))
                .fold((0, f64::NEG_INFINITY), |b, c| if c.1 > b.1 { c } else { b })
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| best[b].1.total_cmp(&best[a].1));
    let take = (share * n as f64).round() as usize;
    let mut policy = vec![0; n];
    for &i in order.iter().take(take) {
        if best[i].1 > 0.0 {
            policy[i] = best[i].0;
        }
    }
    Ok(policy)
}

/// IPS estimate of the mean reward per customer had `policy` chosen the arms:
/// (1/n) Σ 1[policy_i = logged_i] · reward_i / propensity_i. Unbiased when the logged arms were drawn with
/// the given propensities (here a randomised experiment).
pub fn ips_value(
    policy: &[usize],
    logged: &[usize],
    reward: &[f64],
    propensity: &[f64],
) -> Result<f64, ModelError> {
    let n = policy.len();
    if logged.len() != n || reward.len() != n || propensity.len() != n || n == 0 {
        return Err(ModelError::Data(format!(
            "IPS needs equal non-empty lengths: policy {n}, logged {}, reward {}, propensity {}",
            logged.len(),
            reward.len(),
            propensity.len()
        )));
    }
    if let Some(i) = propensity.iter().position(|p| !(*p > 0.0 && *p <= 1.0)) {
        return Err(ModelError::Data(format!(
            "propensity at row {i} is {} (must be in (0, 1])",
            propensity[i]
        )));
    }
    let total: f64 = (0..n)
        .filter(|&i| policy[i] == logged[i])
        .map(|i| reward[i] / propensity[i])
        .sum();
    Ok(total / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_by_hand() {
        // Rows where the policy agrees with the log: 0 (reward 3), 2 (reward 0), 3 (reward 6).
        // (3/(1/3) + 0 + 6/(1/3)) / 4 = (9 + 18) / 4 = 6.75.
        let v = ips_value(
            &[1, 0, 2, 2],
            &[1, 1, 2, 2],
            &[3.0, 5.0, 0.0, 6.0],
            &[1.0 / 3.0; 4],
        )
        .unwrap();
        assert!((v - 6.75).abs() < 1e-12);
        assert!(ips_value(&[0], &[0], &[1.0], &[0.0]).is_err());
    }

    #[test]
    fn value_subtracts_expected_costs() {
        let cost = OfferCost {
            per_send_minor: 10,
            per_redemption_minor: 200,
        };
        // 0.3 · 500 − 10 − 200 · 0.1 = 120.
        assert!((offer_value_minor(500.0, 0.3, 0.1, &cost) - 120.0).abs() < 1e-12);
        assert_eq!(cost.realised_minor(true), 210);
        assert_eq!(cost.realised_minor(false), 10);
    }

    #[test]
    fn best_offer_goes_to_the_top_share_only_when_positive() {
        // Arm 1 and arm 2 values for four customers.
        let values = vec![vec![5.0, -1.0, 2.0, 0.5], vec![1.0, -2.0, 3.0, 0.1]];
        assert_eq!(best_offer_to_top(&values, 0.5).unwrap(), vec![1, 0, 2, 0]);
        assert_eq!(best_offer_to_top(&values, 1.0).unwrap(), vec![1, 0, 2, 1]);
        assert!(best_offer_to_top(&values, 1.5).is_err());
    }
}
