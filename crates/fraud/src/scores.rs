//! The precomputed score table the offer gate reads: a hash map from customer id to its
//! assessment, and a shared handle whose table can be swapped whole while decisions read it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use discount_core::{RiskAssessment, RiskScores};

/// Scores of every scanned customer; lookups are one hash probe.
#[derive(Clone, Debug, Default)]
pub struct ScoreTable {
    entries: HashMap<String, RiskAssessment>,
}

impl ScoreTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, customer_id: String, assessment: RiskAssessment) {
        self.entries.insert(customer_id, assessment);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All scores, for choosing a threshold on the population.
    pub fn scores(&self) -> Vec<f64> {
        self.entries.values().map(|a| a.score).collect()
    }

    pub fn get(&self, customer_id: &str) -> Option<&RiskAssessment> {
        self.entries.get(customer_id)
    }
}

impl FromIterator<(String, RiskAssessment)> for ScoreTable {
    fn from_iter<T: IntoIterator<Item = (String, RiskAssessment)>>(iter: T) -> Self {
        Self {
            entries: iter.into_iter().collect(),
        }
    }
}

impl RiskScores for ScoreTable {
    fn assess(&self, customer_id: &str) -> Option<RiskAssessment> {
        self.entries.get(customer_id).cloned()
    }
}

/// A score table shared between the deciding threads and a background refresh: readers take
/// the current table (a cheap `Arc` clone under a read lock); [`SharedScoreTable::replace`]
/// swaps in a new one without blocking readers for longer than the pointer swap.
#[derive(Debug, Default)]
pub struct SharedScoreTable {
    current: RwLock<Arc<ScoreTable>>,
}

impl SharedScoreTable {
    pub fn new(table: ScoreTable) -> Self {
        Self {
            current: RwLock::new(Arc::new(table)),
        }
    }

    /// The table in force now.
    pub fn snapshot(&self) -> Arc<ScoreTable> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            // A writer panicked mid-swap; the pointer itself is still whole.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Installs a freshly computed table; returns the one it replaced.
    pub fn replace(&self, table: ScoreTable) -> Arc<ScoreTable> {
        let new = Arc::new(table);
        match self.current.write() {
            Ok(mut guard) => std::mem::replace(&mut *guard, new),
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), new),
        }
    }
}

impl RiskScores for SharedScoreTable {
    fn assess(&self, customer_id: &str) -> Option<RiskAssessment> {
        match self.current.read() {
            Ok(guard) => guard.assess(customer_id),
            Err(poisoned) => poisoned.into_inner().assess(customer_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assessment(score: f64) -> RiskAssessment {
        RiskAssessment {
            score,
            reasons: vec!["order_brushing".into()],
        }
    }

    #[test]
    fn lookups_and_atomic_refresh() {
        let shared =
            SharedScoreTable::new([("u1".to_string(), assessment(0.9))].into_iter().collect());
        assert_eq!(shared.assess("u1").map(|a| a.score), Some(0.9));
        assert_eq!(shared.assess("u2"), None);
        let held = shared.snapshot();
        let old = shared.replace([("u2".to_string(), assessment(0.1))].into_iter().collect());
        assert_eq!(old.len(), 1);
        // A reader holding the old snapshot keeps a consistent table.
        assert!(held.get("u1").is_some());
        assert_eq!(shared.assess("u1"), None);
        assert_eq!(shared.assess("u2").map(|a| a.score), Some(0.1));
        let reader = std::thread::spawn({
            let table = shared.snapshot();
            move || table.assess("u2").map(|a| a.score)
        });
        assert_eq!(reader.join().ok().flatten(), Some(0.1));
    }
}
