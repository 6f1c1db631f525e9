//! Budgets: the ledger that makes overspending impossible (atomic reservations) and the pacer that
//! keeps the budget's shadow price on track so that spend follows the planned (even) curve.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// A budget ledger. `reserve` must be atomic across every process deciding against the same
/// budget: a reservation that would take `spent + reserved` above the budget is refused, so spend
/// can never exceed the budget however many decisions run at once.
pub trait BudgetLedger: Send + Sync {
    /// Sets `amount` aside; `false` (and nothing reserved) when it does not fit.
    fn reserve(&self, amount: i64) -> bool;
    /// Turns a reservation of `reserved` into a spend of `actual`; the rest is released. An
    /// `actual` above the reservation (a shop that did not enforce the coupon's cap) is recorded
    /// in full, so the ledger always tells the truth about spend.
    fn commit(&self, reserved: i64, actual: i64);
    /// Gives a reservation back unspent.
    fn release(&self, reserved: i64);
    /// Spent so far.
    fn spent(&self) -> i64;
    /// Reserved but not yet committed or released.
    fn reserved(&self) -> i64;
    /// The budget.
    fn total(&self) -> i64;
    /// `total - spent - reserved`.
    fn remaining(&self) -> i64 {
        self.total() - self.spent() - self.reserved()
    }
}

/// An in-process ledger on atomics: one compare-and-swap per reservation.
#[derive(Debug)]
pub struct AtomicLedger {
    total: i64,
    /// `spent + reserved`, the quantity the guard bounds.
    committed_or_reserved: AtomicI64,
    spent: AtomicI64,
}

impl AtomicLedger {
    pub fn new(total: i64) -> Self {
        Self {
            total: total.max(0),
            committed_or_reserved: AtomicI64::new(0),
            spent: AtomicI64::new(0),
        }
    }
}

impl BudgetLedger for AtomicLedger {
    fn reserve(&self, amount: i64) -> bool {
        if amount <= 0 {
            return amount == 0;
        }
        self.committed_or_reserved
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(amount).filter(|&u| u <= self.total)
            })
            .is_ok()
    }

    fn commit(&self, reserved: i64, actual: i64) {
        let actual = actual.max(0);
        self.spent.fetch_add(actual, Ordering::AcqRel);
        self.committed_or_reserved
            .fetch_add(actual - reserved.max(0), Ordering::AcqRel);
    }

    fn release(&self, reserved: i64) {
        self.committed_or_reserved
            .fetch_sub(reserved.max(0), Ordering::AcqRel);
    }

    fn spent(&self) -> i64 {
        self.spent.load(Ordering::Acquire)
    }

    fn reserved(&self) -> i64 {
        self.committed_or_reserved.load(Ordering::Acquire) - self.spent()
    }

    fn total(&self) -> i64 {
        self.total
    }
}

/// How the shadow price is kept on track.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PacingConfig {
    /// Step of the dual-gradient update, per unit of relative spend error: after each pacing
    /// step `lambda *= exp(gain * (spent - planned) / budget_per_step)`, bounded.
    pub gain: f64,
    /// Smallest shadow price the pacer keeps when it is pushed down (so that it can grow back).
    pub floor: f64,
    /// Spend allowed ahead of the even curve, as a share of one step's budget: until the next
    /// step, spend may reach `total * (progress + step_share * (1 + slack))` and no more. This
    /// is what keeps spend even when demand comes in bursts.
    pub slack: f64,
}

impl Default for PacingConfig {
    fn default() -> Self {
        Self {
            gain: 0.3,
            floor: 1e-3,
            slack: 0.5,
        }
    }
}

/// The shadow price of one budget, shared by every decision (an atomic f64), moved by a
/// multiplicative dual-gradient step on spend against the even planned curve.
#[derive(Debug)]
pub struct Pacer {
    lambda_bits: AtomicU64,
    /// Spend (spent + reserved) allowed until the next step; `i64::MAX` before the first step.
    allowance: AtomicI64,
    config: PacingConfig,
}

impl Pacer {
    pub fn new(initial_lambda: f64, config: PacingConfig) -> Self {
        Self {
            lambda_bits: AtomicU64::new(initial_lambda.max(0.0).to_bits()),
            allowance: AtomicI64::new(i64::MAX),
            config,
        }
    }

    pub fn lambda(&self) -> f64 {
        f64::from_bits(self.lambda_bits.load(Ordering::Acquire))
    }

    pub fn set_lambda(&self, lambda: f64) {
        self.lambda_bits
            .store(lambda.max(0.0).to_bits(), Ordering::Release);
    }

    /// Spend allowed until the next step.
    pub fn allowance(&self) -> i64 {
        self.allowance.load(Ordering::Acquire)
    }

    /// One pacing step at `progress` in [0, 1] of the period, with `spent` of `total` spent;
    /// `step_share` is the share of the period one step covers (e.g. 1/28 for daily steps).
    /// Spending ahead of the even curve raises the price, lagging lowers it.
    pub fn step(&self, progress: f64, spent: i64, total: i64, step_share: f64) -> f64 {
        if total <= 0 {
            self.set_lambda(f64::MAX / 4.0);
            return self.lambda();
        }
        let planned = total as f64 * progress.clamp(0.0, 1.0);
        let per_step = (total as f64 * step_share.clamp(1e-6, 1.0)).max(1.0);
        let allowance = (planned + per_step * (1.0 + self.config.slack)).min(total as f64);
        self.allowance.store(allowance as i64, Ordering::Release);
        let error = ((spent as f64 - planned) / per_step).clamp(-2.0, 2.0);
        let lambda = self.lambda().max(self.config.floor);
        let next = (lambda * (self.config.gain * error).exp()).max(self.config.floor);
        let next = next.min(1e9);
        self.set_lambda(next);
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn ledger_never_overspends_under_contention() {
        let ledger = Arc::new(AtomicLedger::new(100_000));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let ledger = Arc::clone(&ledger);
                std::thread::spawn(move || {
                    let mut granted = 0i64;
                    for i in 0..20_000 {
                        let amount = 1 + ((i * 7 + t * 13) % 50) as i64;
                        if ledger.reserve(amount) {
                            // Half the reservations are spent in part, the rest released.
                            if i % 2 == 0 {
                                ledger.commit(amount, amount / 2);
                                granted += amount / 2;
                            } else {
                                ledger.release(amount);
                            }
                        }
                    }
                    granted
                })
            })
            .collect();
        let granted: i64 = threads.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(ledger.spent(), granted);
        assert!(ledger.spent() <= 100_000);
        assert_eq!(ledger.reserved(), 0);
        assert!(!ledger.reserve(100_001));
    }

    #[test]
    fn pacer_raises_the_price_when_ahead_and_lowers_it_when_behind() {
        let p = Pacer::new(1.0, PacingConfig::default());
        let up = p.step(0.5, 700, 1000, 0.1);
        assert!(up > 1.0);
        p.set_lambda(1.0);
        let down = p.step(0.5, 300, 1000, 0.1);
        assert!(down < 1.0);
    }
}
