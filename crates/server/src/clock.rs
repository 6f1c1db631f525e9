//! Time, injectable: the service reads the clock through [`Clock`], so that tests can move a
//! multi-day attribution window forward without waiting.

use std::sync::atomic::{AtomicI64, Ordering};

use discount_core::Timestamp;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system's UTC clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        Timestamp(micros)
    }
}

/// A clock that stands still until moved.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(AtomicI64::new(start.0))
    }

    pub fn advance_days(&self, days: f64) {
        let micros = (days * discount_core::time::MICROS_PER_DAY as f64) as i64;
        self.0.fetch_add(micros, Ordering::AcqRel);
    }

    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::Release);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::Acquire))
    }
}

/// The one time format of every response: RFC 3339 in UTC with microseconds, e.g.
/// `2026-12-07T03:20:00.000000Z` (the store keeps microseconds; a fixed width sorts as text).
pub fn rfc3339(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
