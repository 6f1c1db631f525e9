//! Customers' profile states, kept across restarts of the decision service, and what a state is
//! checked against before it is trusted.
//!
//! A state is opaque text to the store (the features crate's compact JSON). A stored state is
//! only a starting point: the service compares the number of events it folded and its latest
//! event time with [`ProfileStateStore::event_summary`], and rebuilds from the history when they
//! differ (events written by another process or by `discount ingest`, or erased).

use crate::StoreError;

/// Schema version 8: profile states.
pub const MIGRATION_8: &[&str] = &["CREATE TABLE profile_states (
        user_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        updated_at BIGINT NOT NULL
    )"];

/// How many events a customer has and the time of the latest (microseconds), the summary a
/// cached profile state must match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventSummary {
    pub events: u64,
    pub latest: Option<i64>,
}

/// The profile states' persistence.
pub trait ProfileStateStore {
    /// The customer's event count and latest event time (one indexed read).
    fn event_summary(&mut self, user_id: &str) -> Result<EventSummary, StoreError>;

    /// The customer's stored state, if any.
    fn profile_state(&mut self, user_id: &str) -> Result<Option<String>, StoreError>;

    /// Stores `(user id, state)` pairs in one transaction, replacing older ones; `at` is the
    /// time written (microseconds).
    fn save_profile_states(
        &mut self,
        states: &[(String, String)],
        at: i64,
    ) -> Result<(), StoreError>;
}

fn summary(count: i64, latest: Option<i64>) -> Result<EventSummary, StoreError> {
    let events = u64::try_from(count)
        .map_err(|_| StoreError::Corrupt(format!("a negative event count ({count})")))?;
    Ok(EventSummary { events, latest })
}

mod sqlite_impl {
    use rusqlite::{params, OptionalExtension};

    use super::{summary, EventSummary, ProfileStateStore};
    use crate::sqlite_log::SqliteDecisionLog;
    use crate::StoreError;

    impl ProfileStateStore for SqliteDecisionLog {
        fn event_summary(&mut self, user_id: &str) -> Result<EventSummary, StoreError> {
            let (count, latest) = self
                .conn
                .prepare_cached("SELECT count(*), max(at) FROM events WHERE user_id = ?1")?
                .query_row(params![user_id], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
                })?;
            summary(count, latest)
        }

        fn profile_state(&mut self, user_id: &str) -> Result<Option<String>, StoreError> {
            Ok(self
                .conn
                .prepare_cached("SELECT state FROM profile_states WHERE user_id = ?1")?
                .query_row(params![user_id], |r| r.get(0))
                .optional()?)
        }

        fn save_profile_states(
            &mut self,
            states: &[(String, String)],
            at: i64,
        ) -> Result<(), StoreError> {
            let tx = crate::sqlite::write_transaction(&mut self.conn)?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO profile_states (user_id, state, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (user_id) DO UPDATE SET state = excluded.state,
                       updated_at = excluded.updated_at",
                )?;
                for (user, state) in states {
                    stmt.execute(params![user, state, at])?;
                }
            }
            tx.commit()?;
            Ok(())
        }
    }
}

mod postgres_impl {
    use super::{summary, EventSummary, ProfileStateStore};
    use crate::postgres_log::PostgresDecisionLog;
    use crate::StoreError;

    impl ProfileStateStore for PostgresDecisionLog {
        fn event_summary(&mut self, user_id: &str) -> Result<EventSummary, StoreError> {
            let row = self.client.query_one(
                "SELECT count(*), max(at) FROM events WHERE user_id = $1",
                &[&user_id],
            )?;
            summary(row.get(0), row.get(1))
        }

        fn profile_state(&mut self, user_id: &str) -> Result<Option<String>, StoreError> {
            Ok(self
                .client
                .query_opt(
                    "SELECT state FROM profile_states WHERE user_id = $1",
                    &[&user_id],
                )?
                .map(|r| r.get(0)))
        }

        fn save_profile_states(
            &mut self,
            states: &[(String, String)],
            at: i64,
        ) -> Result<(), StoreError> {
            if states.is_empty() {
                return Ok(());
            }
            // One statement for the whole batch: the users and states as two arrays.
            let (users, texts): (Vec<&str>, Vec<&str>) =
                states.iter().map(|(u, s)| (u.as_str(), s.as_str())).unzip();
            self.client.execute(
                "INSERT INTO profile_states (user_id, state, updated_at)
                 SELECT u, s, $3 FROM unnest($1::text[], $2::text[]) AS t(u, s)
                 ON CONFLICT (user_id) DO UPDATE SET state = excluded.state,
                   updated_at = excluded.updated_at",
                &[&users, &texts, &at],
            )?;
            Ok(())
        }
    }
}
