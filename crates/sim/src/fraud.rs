//! Fraud actors and their labels.
//!
//! Three kinds of actors are simulated, each in rings of linked accounts:
//!
//! - **coupon farmers**: many new accounts that sign up within a few days of each other, share a
//!   device, an address and a payment id, visit almost daily until they get any price offer,
//!   redeem it on one order and abandon the account;
//! - **order brushers**: pre-existing accounts sharing a device and payment id that, on burst days
//!   of the ring, place several tiny orders each (the cheapest item, one unit) and review them 5 stars;
//! - **resellers**: single accounts that visit often and buy one item in bulk, only at a deep discount.
//!
//! The core event model has no device, address or payment fields, so the simulator writes them into
//! `User.attributes` as pseudonymous hashes: `device`, `address`, `payment` (plus `channel`).
//! Normal customers get their own values, except that a few households share an address, so that a
//! shared address alone does not prove fraud. The labels ([`FraudLabel`], defined in
//! `discount_core` so that the fraud scan reads them without the simulator) live in the ground truth,
//! never in the event stream.

pub use discount_core::fraud_label::{FraudKind, FraudLabel};

use crate::config::FraudConfig;
use crate::rng::{domain, mix64, SplitMix64};

/// Where fraud accounts sit among the customer indices, and their rings.
#[derive(Clone, Debug, Default)]
pub(crate) struct FraudLayout {
    /// First fraud account index; accounts `[first, users)` are fraud.
    pub first: usize,
    pub kind: Vec<FraudKind>,
    pub ring: Vec<u32>,
    /// Day on which each ring was formed (farmers sign up around it).
    pub ring_day: Vec<u32>,
}

impl FraudLayout {
    pub fn build(users: usize, days: u32, config: &FraudConfig, seed: u64) -> Self {
        let n_fraud = ((users as f64) * config.share).round() as usize;
        let mut layout = FraudLayout {
            first: users - n_fraud.min(users),
            ..Default::default()
        };
        if n_fraud == 0 {
            return layout;
        }
        let k = &config.kinds;
        let total = k.coupon_farmer + k.order_brusher + k.reseller;
        let n_farm = ((n_fraud as f64) * k.coupon_farmer / total).round() as usize;
        let n_brush = (((n_fraud as f64) * k.order_brusher / total).round() as usize)
            .min(n_fraud - n_farm.min(n_fraud));
        let n_farm = n_farm.min(n_fraud);
        let n_resell = n_fraud - n_farm - n_brush;
        let mut ring = 0u32;
        let mut push = |layout: &mut FraudLayout, kind: FraudKind, count: usize, size: [u32; 2]| {
            let mut left = count;
            while left > 0 {
                let mut rng = SplitMix64::stream(seed, &[domain::FRAUD, ring as u64]);
                let n = (rng.between(size[0], size[1]) as usize).min(left);
                layout.ring_day.push(rng.below(days as usize) as u32);
                for _ in 0..n {
                    layout.kind.push(kind);
                    layout.ring.push(ring);
                }
                left -= n;
                ring += 1;
            }
        };
        push(
            &mut layout,
            FraudKind::CouponFarmer,
            n_farm,
            config.farmer_ring_size,
        );
        push(
            &mut layout,
            FraudKind::OrderBrusher,
            n_brush,
            config.brusher_ring_size,
        );
        push(&mut layout, FraudKind::Reseller, n_resell, [1, 1]);
        layout
    }

    pub fn of(&self, index: usize) -> (FraudKind, u32) {
        if index < self.first {
            return (FraudKind::None, 0);
        }
        let k = index - self.first;
        (self.kind[k], self.ring[k])
    }
}

/// A pseudonymous identifier hash, e.g. `dev_3f9a...` (16 hex digits).
pub(crate) fn identifier(seed: u64, prefix: &str, parts: &[u64]) -> String {
    let mut r = SplitMix64::stream(seed, parts);
    format!("{prefix}_{:016x}", mix64(rand::RngCore::next_u64(&mut r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_fill_the_fraud_share_by_kind() {
        let config = FraudConfig::default();
        let l = FraudLayout::build(10_000, 30, &config, 1);
        assert_eq!(l.first, 9_900);
        assert_eq!(l.kind.len(), 100);
        let farmers = l
            .kind
            .iter()
            .filter(|k| **k == FraudKind::CouponFarmer)
            .count();
        assert_eq!(farmers, 50);
        assert_eq!(l.of(0).0, FraudKind::None);
        assert_eq!(l.of(9_999).0, FraudKind::Reseller);
        let none = FraudLayout::build(
            100,
            30,
            &FraudConfig {
                share: 0.0,
                ..config
            },
            1,
        );
        assert_eq!(none.first, 100);
    }
}
