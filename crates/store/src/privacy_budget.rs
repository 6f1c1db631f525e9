//! The privacy budget ledger: how much differential privacy each data set may still spend on
//! released aggregates, and every release that spent some.
//!
//! A data set (`decisions`, `events`, ...) gets a total (ε, δ); each release records the (ε, δ)
//! it spent, and a release that would take the running total past the budget is refused before
//! anything is released. Totals add up by basic sequential composition, which holds for any mix
//! of Laplace and Gaussian releases. The check and the record happen in one transaction that
//! holds the data set's budget row, so two processes releasing at once cannot both pass a check
//! that only one of them fits.

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Schema version 6: the privacy budget ledger.
pub const MIGRATION_6: &[&str] = &[
    "CREATE TABLE privacy_budgets (
        dataset TEXT PRIMARY KEY,
        epsilon DOUBLE PRECISION NOT NULL,
        delta DOUBLE PRECISION NOT NULL,
        updated_at BIGINT NOT NULL
    )",
    "CREATE TABLE privacy_releases (
        id TEXT PRIMARY KEY,
        dataset TEXT NOT NULL,
        released_at BIGINT NOT NULL,
        mechanism TEXT NOT NULL,
        epsilon DOUBLE PRECISION NOT NULL,
        delta DOUBLE PRECISION NOT NULL,
        query TEXT NOT NULL
    )",
    "CREATE INDEX privacy_releases_by_dataset ON privacy_releases (dataset, released_at)",
];

/// Rounding slack when comparing a running total with the budget: spending exactly what is left
/// must pass although the sum of floating-point shares may exceed it in the last digit.
const SLACK: f64 = 1e-9;

/// A data set's budget and what has been spent of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrivacyBudget {
    pub dataset: String,
    pub epsilon: f64,
    pub delta: f64,
    pub spent_epsilon: f64,
    pub spent_delta: f64,
    pub releases: i64,
}

impl PrivacyBudget {
    pub fn remaining_epsilon(&self) -> f64 {
        (self.epsilon - self.spent_epsilon).max(0.0)
    }

    pub fn remaining_delta(&self) -> f64 {
        (self.delta - self.spent_delta).max(0.0)
    }

    /// Whether a release of `(epsilon, delta)` fits in what is left.
    pub fn allows(&self, epsilon: f64, delta: f64) -> bool {
        self.spent_epsilon + epsilon <= self.epsilon + SLACK
            && self.spent_delta + delta <= self.delta + SLACK * self.delta.max(1e-12)
    }
}

/// One release that spent budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrivacyRelease {
    pub id: String,
    pub dataset: String,
    /// Microseconds since the epoch.
    pub released_at: i64,
    /// `laplace` or `gaussian`.
    pub mechanism: String,
    pub epsilon: f64,
    pub delta: f64,
    /// What was released (the query and its parameters), for the record.
    pub query: String,
}

/// What a request to spend budget came to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Spend {
    /// Recorded; the budget after it.
    Spent { budget: PrivacyBudget },
    /// The data set has no budget: nothing may be released until one is set.
    NoBudget,
    /// It does not fit; the budget as it stands (nothing recorded).
    Exceeded { budget: PrivacyBudget },
}

/// The ledger's persistence.
pub trait PrivacyBudgetStore {
    /// Sets (or changes) a data set's total budget. Lowering it below what is spent leaves
    /// nothing to spend; what was released stays recorded.
    fn set_privacy_budget(
        &mut self,
        dataset: &str,
        epsilon: f64,
        delta: f64,
        at: i64,
    ) -> Result<(), StoreError>;

    /// A data set's budget with what is spent, if it has one.
    fn privacy_budget(&mut self, dataset: &str) -> Result<Option<PrivacyBudget>, StoreError>;

    /// Records `release` if it fits in its data set's budget, atomically with the check.
    fn spend_privacy_budget(&mut self, release: &PrivacyRelease) -> Result<Spend, StoreError>;

    /// A data set's releases, oldest first.
    fn privacy_releases(&mut self, dataset: &str) -> Result<Vec<PrivacyRelease>, StoreError>;
}

const SPENT: &str = "SELECT COALESCE(SUM(epsilon), 0), COALESCE(SUM(delta), 0), COUNT(*)
    FROM privacy_releases WHERE dataset = ";

mod sqlite_impl {
    use rusqlite::{params, OptionalExtension};

    use super::{PrivacyBudget, PrivacyBudgetStore, PrivacyRelease, Spend, SPENT};
    use crate::sqlite_log::SqliteDecisionLog;
    use crate::StoreError;

    fn budget_of(
        conn: &rusqlite::Connection,
        dataset: &str,
    ) -> Result<Option<PrivacyBudget>, StoreError> {
        let Some((epsilon, delta)) = conn
            .query_row(
                "SELECT epsilon, delta FROM privacy_budgets WHERE dataset = ?1",
                [dataset],
                |r| Ok((r.get::<_, f64>(0)?, r.get::<_, f64>(1)?)),
            )
            .optional()?
        else {
            return Ok(None);
        };
        let (spent_epsilon, spent_delta, releases) =
            conn.query_row(&format!("{SPENT} ?1"), [dataset], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        Ok(Some(PrivacyBudget {
            dataset: dataset.to_string(),
            epsilon,
            delta,
            spent_epsilon,
            spent_delta,
            releases,
        }))
    }

    impl PrivacyBudgetStore for SqliteDecisionLog {
        fn set_privacy_budget(
            &mut self,
            dataset: &str,
            epsilon: f64,
            delta: f64,
            at: i64,
        ) -> Result<(), StoreError> {
            self.conn.execute(
                "INSERT INTO privacy_budgets (dataset, epsilon, delta, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (dataset) DO UPDATE SET epsilon = excluded.epsilon,
                   delta = excluded.delta, updated_at = excluded.updated_at",
                params![dataset, epsilon, delta, at],
            )?;
            Ok(())
        }

        fn privacy_budget(&mut self, dataset: &str) -> Result<Option<PrivacyBudget>, StoreError> {
            budget_of(&self.conn, dataset)
        }

        fn spend_privacy_budget(&mut self, release: &PrivacyRelease) -> Result<Spend, StoreError> {
            // IMMEDIATE takes the write lock before the check, so the check and the insert are
            // one step for every process on the file.
            let tx = crate::sqlite::write_transaction(&mut self.conn)?;
            let Some(budget) = budget_of(&tx, &release.dataset)? else {
                return Ok(Spend::NoBudget);
            };
            if !budget.allows(release.epsilon, release.delta) {
                return Ok(Spend::Exceeded { budget });
            }
            tx.execute(
                "INSERT INTO privacy_releases
                   (id, dataset, released_at, mechanism, epsilon, delta, query)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    release.id,
                    release.dataset,
                    release.released_at,
                    release.mechanism,
                    release.epsilon,
                    release.delta,
                    release.query
                ],
            )?;
            let budget = budget_of(&tx, &release.dataset)?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the budget of `{}` vanished during a release",
                    release.dataset
                ))
            })?;
            tx.commit()?;
            Ok(Spend::Spent { budget })
        }

        fn privacy_releases(&mut self, dataset: &str) -> Result<Vec<PrivacyRelease>, StoreError> {
            let mut stmt = self.conn.prepare(
                "SELECT id, dataset, released_at, mechanism, epsilon, delta, query
                 FROM privacy_releases WHERE dataset = ?1 ORDER BY released_at, id",
            )?;
            let rows = stmt.query_map([dataset], |r| {
                Ok(PrivacyRelease {
                    id: r.get(0)?,
                    dataset: r.get(1)?,
                    released_at: r.get(2)?,
                    mechanism: r.get(3)?,
                    epsilon: r.get(4)?,
                    delta: r.get(5)?,
                    query: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
    }
}

mod postgres_impl {
    use postgres::GenericClient;

    use super::{PrivacyBudget, PrivacyBudgetStore, PrivacyRelease, Spend, SPENT};
    use crate::postgres_log::PostgresDecisionLog;
    use crate::StoreError;

    fn budget_of(
        client: &mut impl GenericClient,
        dataset: &str,
        lock: bool,
    ) -> Result<Option<PrivacyBudget>, StoreError> {
        let sql = if lock {
            "SELECT epsilon, delta FROM privacy_budgets WHERE dataset = $1 FOR UPDATE"
        } else {
            "SELECT epsilon, delta FROM privacy_budgets WHERE dataset = $1"
        };
        let Some(row) = client.query_opt(sql, &[&dataset])? else {
            return Ok(None);
        };
        let spent = client.query_one(&format!("{SPENT} $1"), &[&dataset])?;
        Ok(Some(PrivacyBudget {
            dataset: dataset.to_string(),
            epsilon: row.get(0),
            delta: row.get(1),
            spent_epsilon: spent.get(0),
            spent_delta: spent.get(1),
            releases: spent.get(2),
        }))
    }

    impl PrivacyBudgetStore for PostgresDecisionLog {
        fn set_privacy_budget(
            &mut self,
            dataset: &str,
            epsilon: f64,
            delta: f64,
            at: i64,
        ) -> Result<(), StoreError> {
            self.client.execute(
                "INSERT INTO privacy_budgets (dataset, epsilon, delta, updated_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (dataset) DO UPDATE SET epsilon = excluded.epsilon,
                   delta = excluded.delta, updated_at = excluded.updated_at",
                &[&dataset, &epsilon, &delta, &at],
            )?;
            Ok(())
        }

        fn privacy_budget(&mut self, dataset: &str) -> Result<Option<PrivacyBudget>, StoreError> {
            budget_of(&mut self.client, dataset, false)
        }

        fn spend_privacy_budget(&mut self, release: &PrivacyRelease) -> Result<Spend, StoreError> {
            let mut tx = self.client.transaction()?;
            // The budget row's lock orders concurrent releases of one data set.
            let Some(budget) = budget_of(&mut tx, &release.dataset, true)? else {
                return Ok(Spend::NoBudget);
            };
            if !budget.allows(release.epsilon, release.delta) {
                return Ok(Spend::Exceeded { budget });
            }
            tx.execute(
                "INSERT INTO privacy_releases
                   (id, dataset, released_at, mechanism, epsilon, delta, query)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &release.id,
                    &release.dataset,
                    &release.released_at,
                    &release.mechanism,
                    &release.epsilon,
                    &release.delta,
                    &release.query,
                ],
            )?;
            let budget = budget_of(&mut tx, &release.dataset, false)?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the budget of `{}` vanished during a release",
                    release.dataset
                ))
            })?;
            tx.commit()?;
            Ok(Spend::Spent { budget })
        }

        fn privacy_releases(&mut self, dataset: &str) -> Result<Vec<PrivacyRelease>, StoreError> {
            Ok(self
                .client
                .query(
                    "SELECT id, dataset, released_at, mechanism, epsilon, delta, query
                     FROM privacy_releases WHERE dataset = $1 ORDER BY released_at, id",
                    &[&dataset],
                )?
                .iter()
                .map(|r| PrivacyRelease {
                    id: r.get(0),
                    dataset: r.get(1),
                    released_at: r.get(2),
                    mechanism: r.get(3),
                    epsilon: r.get(4),
                    delta: r.get(5),
                    query: r.get(6),
                })
                .collect())
        }
    }
}
