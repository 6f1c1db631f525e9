//! Budget ledgers behind the engine's [`BudgetLedger`] trait, kept in the store.
//!
//! - [`SharedLedger`] (PostgreSQL): every hold is one conditional `UPDATE` on the budget's row,
//!   so any number of processes share one budget and can never hold more than its total. A hold
//!   is counted as in flight for this process until the decision that carries it is logged; a
//!   process that dies in between stops its heartbeat, and another process gives its in-flight
//!   holds back after `server.hold_expiry_seconds`.
//! - [`OwnedLedger`] (SQLite, one serving process): holds are atomics in memory, started from the
//!   stored row; each hold is written with its decision in the same transaction, so after a
//!   restart the row says exactly what the acknowledged decisions hold.
//!
//! Settling (charging the actual discount, releasing the rest) happens in the store with the
//! outcome ([`discount_store::decision_log::DecisionLog::record_outcome`]); the ledgers here
//! follow it through [`Ledger::settled`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use discount_policy::BudgetLedger;
use discount_store::decision_log::BudgetRow;

use crate::pool::LogPool;

/// A campaign's ledger as the server sees it.
pub trait Ledger: BudgetLedger {
    /// Mirrors a settlement already written to the store.
    fn settled(&self, reserved: i64, charged: i64);
    /// Whether holds must be written with the decisions (the in-memory ledger) or were written
    /// when taken (the shared one).
    fn holds_written_with_decisions(&self) -> bool;
    /// Re-reads what other processes changed; nothing for a ledger this process owns.
    fn refresh(&self) {}
}

/// See the module documentation.
pub struct OwnedLedger {
    total: i64,
    /// `spent + reserved`, the quantity the guard bounds.
    used: AtomicI64,
    spent: AtomicI64,
}

impl OwnedLedger {
    pub fn from_row(row: &BudgetRow) -> Self {
        Self {
            total: row.total,
            used: AtomicI64::new(row.spent + row.reserved),
            spent: AtomicI64::new(row.spent),
        }
    }
}

impl BudgetLedger for OwnedLedger {
    fn reserve(&self, amount: i64) -> bool {
        if amount <= 0 {
            return amount == 0;
        }
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(amount).filter(|&u| u <= self.total)
            })
            .is_ok()
    }

    fn commit(&self, reserved: i64, actual: i64) {
        self.settled(reserved, actual);
    }

    fn release(&self, reserved: i64) {
        self.used.fetch_sub(reserved.max(0), Ordering::AcqRel);
    }

    fn spent(&self) -> i64 {
        self.spent.load(Ordering::Acquire)
    }

    fn reserved(&self) -> i64 {
        self.used.load(Ordering::Acquire) - self.spent()
    }

    fn total(&self) -> i64 {
        self.total
    }
}

impl Ledger for OwnedLedger {
    fn settled(&self, reserved: i64, charged: i64) {
        let charged = charged.clamp(0, reserved.max(0));
        self.spent.fetch_add(charged, Ordering::AcqRel);
        self.used
            .fetch_sub(reserved.max(0) - charged, Ordering::AcqRel);
    }

    fn holds_written_with_decisions(&self) -> bool {
        true
    }
}

/// See the module documentation. The totals it reports between holds are the last ones the
/// database returned: the engine uses them only to skip offers that cannot fit; the hold itself
/// is always decided by the database.
pub struct SharedLedger {
    pool: Arc<LogPool>,
    /// This process's id in the store's in-flight holds.
    holder: String,
    campaign: String,
    total: AtomicI64,
    spent: AtomicI64,
    reserved: AtomicI64,
}

impl SharedLedger {
    pub fn new(pool: Arc<LogPool>, holder: &str, row: &BudgetRow) -> Self {
        Self {
            pool,
            holder: holder.to_string(),
            campaign: row.id.clone(),
            total: AtomicI64::new(row.total),
            spent: AtomicI64::new(row.spent),
            reserved: AtomicI64::new(row.reserved),
        }
    }

    fn remember(&self, row: &BudgetRow) {
        self.total.store(row.total, Ordering::Release);
        self.spent.store(row.spent, Ordering::Release);
        self.reserved.store(row.reserved, Ordering::Release);
    }
}

impl BudgetLedger for SharedLedger {
    fn reserve(&self, amount: i64) -> bool {
        if amount <= 0 {
            return amount == 0;
        }
        let campaign = self.campaign.clone();
        let now = crate::policies::now_micros();
        match self
            .pool
            .with(|log| log.reserve(&self.holder, &campaign, amount, now))
        {
            Ok(Some(_remaining)) => {
                self.reserved.fetch_add(amount, Ordering::AcqRel);
                true
            }
            Ok(None) => {
                // Refused: the cached figures are stale; learn the real ones.
                self.refresh();
                false
            }
            Err(e) => {
                // Unknown whether the hold was taken; refusing is the side that cannot overspend.
                tracing::warn!("holding budget {}: {e}", self.campaign);
                false
            }
        }
    }

    fn commit(&self, reserved: i64, actual: i64) {
        self.settled(reserved, actual);
    }

    fn release(&self, reserved: i64) {
        let campaign = self.campaign.clone();
        if let Err(e) = self
            .pool
            .with(|log| log.release(&self.holder, &campaign, reserved))
        {
            tracing::warn!(
                "releasing {reserved} of budget {}: {e} (the hold stays until an operator releases it)",
                self.campaign
            );
        }
        self.reserved.fetch_sub(reserved, Ordering::AcqRel);
    }

    fn spent(&self) -> i64 {
        self.spent.load(Ordering::Acquire)
    }

    fn reserved(&self) -> i64 {
        self.reserved.load(Ordering::Acquire)
    }

    fn total(&self) -> i64 {
        self.total.load(Ordering::Acquire)
    }
}

impl Ledger for SharedLedger {
    fn settled(&self, reserved: i64, charged: i64) {
        let charged = charged.clamp(0, reserved.max(0));
        self.spent.fetch_add(charged, Ordering::AcqRel);
        self.reserved.fetch_sub(reserved, Ordering::AcqRel);
    }

    fn holds_written_with_decisions(&self) -> bool {
        false
    }

    /// Re-reads the row (other processes move it).
    fn refresh(&self) {
        let campaign = self.campaign.clone();
        match self.pool.with(|log| log.budget(&campaign)) {
            Ok(Some(row)) => self.remember(&row),
            Ok(None) => {}
            Err(e) => tracing::warn!("reading budget {}: {e}", self.campaign),
        }
    }
}
