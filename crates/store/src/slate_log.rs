//! The recommendation log: every slate the service showed, with the model that ranked it and the
//! exact probability of the shown ranking under the policy that drew it, so that rankings can be
//! evaluated off-policy later (slate IPS needs each logged slate's propensity).

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Schema version 7: the recommendation log.
pub const MIGRATION_7: &[&str] = &[
    "CREATE TABLE recommendation_slates (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        at BIGINT NOT NULL,
        model_id TEXT NOT NULL,
        policy_version TEXT,
        items TEXT NOT NULL,
        propensity DOUBLE PRECISION NOT NULL,
        expected_profit DOUBLE PRECISION NOT NULL,
        offered_discount BIGINT NOT NULL,
        request TEXT NOT NULL,
        response TEXT NOT NULL
    )",
    "CREATE INDEX recommendation_slates_customer_at ON recommendation_slates (customer_id, at)",
];

/// One logged slate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlateRow {
    pub id: String,
    /// The stored customer id (the pseudonym when ids are pseudonymised).
    pub customer_id: String,
    /// Microseconds since the epoch.
    pub at: i64,
    /// The registry's `recommend` model that ranked it.
    pub model_id: String,
    /// The policy whose ladder and shadow price chose the offers, if any.
    pub policy_version: Option<String>,
    /// The shown item ids in slot order, JSON array.
    pub items: String,
    /// Probability of the shown ranking (1 when ranked greedily).
    pub propensity: f64,
    /// Minor units.
    pub expected_profit: f64,
    /// Discount the slate's offers carry if all were used, minor units.
    pub offered_discount: i64,
    /// The request and the response as JSON.
    pub request: String,
    pub response: String,
}

/// The recommendation log's persistence.
pub trait SlateStore {
    /// Records one slate; false if its id exists.
    fn record_slate(&mut self, row: &SlateRow) -> Result<bool, StoreError>;

    /// The customer's slates shown at `since` or later, oldest first, at most `limit`.
    fn slates_of(
        &mut self,
        customer_id: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<SlateRow>, StoreError>;
}

const COLUMNS: &str = "id, customer_id, at, model_id, policy_version, items, propensity,
    expected_profit, offered_discount, request, response";

mod sqlite_impl {
    use rusqlite::{params, Row};

    use super::{SlateRow, SlateStore, COLUMNS};
    use crate::sqlite_log::SqliteDecisionLog;
    use crate::StoreError;

    fn slate_of(r: &Row) -> rusqlite::Result<SlateRow> {
        Ok(SlateRow {
            id: r.get(0)?,
            customer_id: r.get(1)?,
            at: r.get(2)?,
            model_id: r.get(3)?,
            policy_version: r.get(4)?,
            items: r.get(5)?,
            propensity: r.get(6)?,
            expected_profit: r.get(7)?,
            offered_discount: r.get(8)?,
            request: r.get(9)?,
            response: r.get(10)?,
        })
    }

    impl SlateStore for SqliteDecisionLog {
        fn record_slate(&mut self, row: &SlateRow) -> Result<bool, StoreError> {
            Ok(self.conn.execute(
                &format!(
                    "INSERT INTO recommendation_slates ({COLUMNS}) VALUES
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (id) DO NOTHING"
                ),
                params![
                    row.id,
                    row.customer_id,
                    row.at,
                    row.model_id,
                    row.policy_version,
                    row.items,
                    row.propensity,
                    row.expected_profit,
                    row.offered_discount,
                    row.request,
                    row.response
                ],
            )? == 1)
        }

        fn slates_of(
            &mut self,
            customer_id: &str,
            since: i64,
            limit: usize,
        ) -> Result<Vec<SlateRow>, StoreError> {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT {COLUMNS} FROM recommendation_slates WHERE customer_id = ?1 AND at >= ?2
                 ORDER BY at, id LIMIT ?3"
            ))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map(params![customer_id, since, limit], slate_of)?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
    }
}

mod postgres_impl {
    use postgres::Row;

    use super::{SlateRow, SlateStore, COLUMNS};
    use crate::postgres_log::PostgresDecisionLog;
    use crate::StoreError;

    fn slate_of(r: &Row) -> SlateRow {
        SlateRow {
            id: r.get(0),
            customer_id: r.get(1),
            at: r.get(2),
            model_id: r.get(3),
            policy_version: r.get(4),
            items: r.get(5),
            propensity: r.get(6),
            expected_profit: r.get(7),
            offered_discount: r.get(8),
            request: r.get(9),
            response: r.get(10),
        }
    }

    impl SlateStore for PostgresDecisionLog {
        fn record_slate(&mut self, row: &SlateRow) -> Result<bool, StoreError> {
            Ok(self.client.execute(
                &format!(
                    "INSERT INTO recommendation_slates ({COLUMNS}) VALUES
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (id) DO NOTHING"
                ),
                &[
                    &row.id,
                    &row.customer_id,
                    &row.at,
                    &row.model_id,
                    &row.policy_version,
                    &row.items,
                    &row.propensity,
                    &row.expected_profit,
                    &row.offered_discount,
                    &row.request,
                    &row.response,
                ],
            )? == 1)
        }

        fn slates_of(
            &mut self,
            customer_id: &str,
            since: i64,
            limit: usize,
        ) -> Result<Vec<SlateRow>, StoreError> {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = self.client.query(
                &format!(
                    "SELECT {COLUMNS} FROM recommendation_slates WHERE customer_id = $1 AND at >= $2
                     ORDER BY at, id LIMIT $3"
                ),
                &[&customer_id, &since, &limit],
            )?;
            Ok(rows.iter().map(slate_of).collect())
        }
    }
}
