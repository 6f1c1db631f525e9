//! The precomputed score table the offer gate reads: a hash map from customer id to its
//! assessment, and a shared handle whose table can be swapped whole while decisions read it.
//!
//! On disk the table is JSON Lines, one customer a line:
//! `{"customer_id": "u1", "score": 0.93, "reasons": ["ring of 4 accounts", ...]}`.
//! [`write_jsonl`] writes it (`discount fraud scan --scores-out FILE`) and
//! [`ScoreTable::load_jsonl`] reads it back (`discount decide|serve --risk-scores FILE`), so the
//! format lives here only.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, RwLock};

use discount_core::{RiskAssessment, RiskScores};
use serde::{Deserialize, Serialize};

use crate::FraudError;

/// One line of the score file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreLine<'a> {
    #[serde(borrow)]
    customer_id: std::borrow::Cow<'a, str>,
    score: f64,
    #[serde(default)]
    reasons: Vec<String>,
}

/// Writes `(customer id, score, reasons)` rows as the score file [`ScoreTable::load_jsonl`] reads.
pub fn write_jsonl<'a, I>(path: &Path, rows: I) -> Result<(), FraudError>
where
    I: IntoIterator<Item = (&'a str, f64, &'a [String])>,
{
    let io_err = |source| FraudError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut out = BufWriter::new(std::fs::File::create(path).map_err(io_err)?);
    for (id, score, reasons) in rows {
        let line = ScoreLine {
            customer_id: id.into(),
            score,
            reasons: reasons.to_vec(),
        };
        let text = serde_json::to_string(&line).map_err(|source| FraudError::Json {
            path: path.display().to_string(),
            source,
        })?;
        writeln!(out, "{text}").map_err(io_err)?;
    }
    out.flush().map_err(io_err)
}

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

    /// Reads a score file written by [`write_jsonl`]. Blank lines are skipped; a row that is not
    /// JSON, lacks a field, or has a score outside [0, 1] is an error naming file:line and field.
    /// A customer listed twice keeps the later row (a rescan appended to the file wins).
    pub fn load_jsonl(path: &Path) -> Result<ScoreTable, FraudError> {
        let file = std::fs::File::open(path).map_err(|source| FraudError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut table = ScoreTable::new();
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            let line = line.map_err(|source| FraudError::Io {
                path: at.clone(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let row: ScoreLine = serde_json::from_str(&line)
                .map_err(|e| FraudError::Input(format!("{at}: not a score row: {e}")))?;
            if row.customer_id.is_empty() {
                return Err(FraudError::Input(format!(
                    "{at}: field `customer_id` is empty"
                )));
            }
            if !(0.0..=1.0).contains(&row.score) {
                return Err(FraudError::Input(format!(
                    "{at}: field `score` = {} must be in [0, 1]",
                    row.score
                )));
            }
            table.insert(
                row.customer_id.into_owned(),
                RiskAssessment {
                    score: row.score,
                    reasons: row.reasons,
                },
            );
        }
        Ok(table)
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

    #[test]
    fn score_file_round_trip_and_bad_rows() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("scores.jsonl");
        let reasons = vec![
            "ring of 3 accounts".to_string(),
            "order_brushing".to_string(),
        ];
        let rows: Vec<(&str, f64, &[String])> = vec![("u1", 0.93, &reasons), ("u\"2", 0.05, &[])];
        write_jsonl(&path, rows)?;
        let table = ScoreTable::load_jsonl(&path)?;
        assert_eq!(table.len(), 2);
        assert_eq!(
            table.get("u1"),
            Some(&assessment_with(0.93, reasons.clone()))
        );
        assert_eq!(table.get("u\"2"), Some(&assessment_with(0.05, Vec::new())));

        let bad = dir.path().join("bad.jsonl");
        std::fs::write(
            &bad,
            "{\"customer_id\":\"u1\",\"score\":0.2,\"reasons\":[]}\n\n{\"customer_id\":\"u3\",\"reasons\":[]}\n",
        )?;
        let err = ScoreTable::load_jsonl(&bad).err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("bad.jsonl:3"), "{err}");
        assert!(err.contains("score"), "{err}");

        std::fs::write(&bad, "{\"customer_id\":\"u1\",\"score\":1.5}\n")?;
        let err = ScoreTable::load_jsonl(&bad).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("bad.jsonl:1") && e.contains("`score` = 1.5")),
            "{err:?}"
        );
        Ok(())
    }

    fn assessment_with(score: f64, reasons: Vec<String>) -> RiskAssessment {
        RiskAssessment { score, reasons }
    }
}
