//! The model registry: every trained artifact the shop has, with what it was trained on, how it
//! scored, which model it was meant to replace, and whether it is the one that decides.
//!
//! One model per kind is active at a time. Promotion records the order of activations, so a
//! roll-back re-activates the model active before the current one, and a second roll-back goes
//! one step further back (the rolled-back model leaves the activation history), as the policy
//! registry does. The artifact is kept in the row (JSON) with its SHA-256, so that what serves
//! is exactly what was registered; the serving side re-checks the hash before it trusts it.

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Schema version 5: the model registry.
pub const MIGRATION_5: &[&str] = &["CREATE TABLE models (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        feature_spec TEXT,
        window_from BIGINT,
        window_to BIGINT,
        training_rows BIGINT NOT NULL,
        metrics TEXT NOT NULL,
        parent TEXT,
        created_at BIGINT NOT NULL,
        status TEXT NOT NULL,
        activated_seq BIGINT,
        content_hash TEXT NOT NULL,
        artifact TEXT NOT NULL
    )"];

/// Where a model stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelStatus {
    /// Registered, never promoted (or promoted, then rolled back past).
    Candidate,
    /// The model of its kind that decides.
    Active,
    /// Was active and was replaced by a promotion.
    Retired,
    /// Refused by a gate; kept for the record, never promoted by a roll-back.
    Rejected,
}

impl ModelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStatus::Candidate => "candidate",
            ModelStatus::Active => "active",
            ModelStatus::Retired => "retired",
            ModelStatus::Rejected => "rejected",
        }
    }

    /// The status stored in a row; an unknown word is reported with the model's id.
    pub fn parse(s: &str, id: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "candidate" => ModelStatus::Candidate,
            "active" => ModelStatus::Active,
            "retired" => ModelStatus::Retired,
            "rejected" => ModelStatus::Rejected,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "model `{id}` has status `{other}`; expected candidate, active, retired or rejected"
                )))
            }
        })
    }
}

/// A registered model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRow {
    pub id: String,
    /// What it predicts: `uplift` (the response model that decides), `propensity`, `ltv`, `cf`, ...
    pub kind: String,
    /// Id of the feature spec its inputs follow, when it reads profile feature vectors.
    pub feature_spec: Option<String>,
    /// The training window `[from, to)`, microseconds since the epoch.
    pub window_from: Option<i64>,
    pub window_to: Option<i64>,
    /// Rows it was fitted on.
    pub training_rows: i64,
    /// Validation figures, a JSON object of name to number.
    pub metrics: String,
    /// The active model of the same kind when this one was registered.
    pub parent: Option<String>,
    pub created_at: i64,
    pub status: ModelStatus,
    /// Order of activation (higher is later); `None` if never active or rolled back past.
    pub activated_seq: Option<i64>,
    /// Hex SHA-256 of `artifact`.
    pub content_hash: String,
    /// The fitted model, JSON.
    pub artifact: String,
}

/// The model registry's persistence.
pub trait ModelStore {
    /// Registers a model as a candidate; false if the id exists.
    fn register_model(&mut self, row: &ModelRow) -> Result<bool, StoreError>;

    /// Registered models, oldest first; of one kind when given.
    fn models(&mut self, kind: Option<&str>) -> Result<Vec<ModelRow>, StoreError>;

    fn model(&mut self, id: &str) -> Result<Option<ModelRow>, StoreError>;

    /// The active model of `kind`, if any.
    fn active_model(&mut self, kind: &str) -> Result<Option<ModelRow>, StoreError>;

    /// The id of the active model of `kind`, without its artifact: what a serving process polls.
    fn active_model_id(&mut self, kind: &str) -> Result<Option<String>, StoreError>;

    /// Makes `id` the active model of its kind (the previous one retires); false if unknown.
    fn promote_model(&mut self, id: &str) -> Result<bool, StoreError>;

    /// Re-activates the model of `kind` active before the current one; its id, or `None` if
    /// there is no earlier one (nothing changes then).
    fn roll_back_model(&mut self, kind: &str) -> Result<Option<String>, StoreError>;

    /// Marks a candidate as refused (by a gate); false if unknown.
    fn reject_model(&mut self, id: &str) -> Result<bool, StoreError>;
}

const COLUMNS: &str = "id, kind, feature_spec, window_from, window_to, training_rows, metrics,
    parent, created_at, status, activated_seq, content_hash, artifact";

mod sqlite_impl {
    use rusqlite::{params, OptionalExtension, Row};

    use super::{ModelRow, ModelStatus, ModelStore, COLUMNS};
    use crate::sqlite_log::SqliteDecisionLog;
    use crate::StoreError;

    fn model_of(r: &Row) -> rusqlite::Result<(ModelRow, String)> {
        Ok((
            ModelRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                feature_spec: r.get(2)?,
                window_from: r.get(3)?,
                window_to: r.get(4)?,
                training_rows: r.get(5)?,
                metrics: r.get(6)?,
                parent: r.get(7)?,
                created_at: r.get(8)?,
                status: ModelStatus::Candidate,
                activated_seq: r.get(10)?,
                content_hash: r.get(11)?,
                artifact: r.get(12)?,
            },
            r.get(9)?,
        ))
    }

    fn with_status((mut row, status): (ModelRow, String)) -> Result<ModelRow, StoreError> {
        row.status = ModelStatus::parse(&status, &row.id)?;
        Ok(row)
    }

    impl ModelStore for SqliteDecisionLog {
        fn register_model(&mut self, row: &ModelRow) -> Result<bool, StoreError> {
            Ok(self.conn.execute(
                &format!(
                    "INSERT INTO models ({COLUMNS}) VALUES
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'candidate', NULL, ?10, ?11)
                     ON CONFLICT (id) DO NOTHING"
                ),
                params![
                    row.id,
                    row.kind,
                    row.feature_spec,
                    row.window_from,
                    row.window_to,
                    row.training_rows,
                    row.metrics,
                    row.parent,
                    row.created_at,
                    row.content_hash,
                    row.artifact
                ],
            )? == 1)
        }

        fn models(&mut self, kind: Option<&str>) -> Result<Vec<ModelRow>, StoreError> {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT {COLUMNS} FROM models WHERE ?1 IS NULL OR kind = ?1 ORDER BY created_at, id"
            ))?;
            let rows = stmt.query_map([kind], model_of)?;
            rows.map(|r| with_status(r?)).collect()
        }

        fn model(&mut self, id: &str) -> Result<Option<ModelRow>, StoreError> {
            self.conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM models WHERE id = ?1"),
                    [id],
                    model_of,
                )
                .optional()?
                .map(with_status)
                .transpose()
        }

        fn active_model(&mut self, kind: &str) -> Result<Option<ModelRow>, StoreError> {
            self.conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM models WHERE kind = ?1 AND status = 'active'"),
                    [kind],
                    model_of,
                )
                .optional()?
                .map(with_status)
                .transpose()
        }

        fn active_model_id(&mut self, kind: &str) -> Result<Option<String>, StoreError> {
            Ok(self
                .conn
                .query_row(
                    "SELECT id FROM models WHERE kind = ?1 AND status = 'active'",
                    [kind],
                    |r| r.get(0),
                )
                .optional()?)
        }

        fn promote_model(&mut self, id: &str) -> Result<bool, StoreError> {
            let tx = crate::sqlite::write_transaction(&mut self.conn)?;
            let kind: Option<String> = tx
                .query_row("SELECT kind FROM models WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            let Some(kind) = kind else {
                return Ok(false);
            };
            tx.execute(
                "UPDATE models SET status = 'retired' WHERE kind = ?1 AND status = 'active' AND id <> ?2",
                params![kind, id],
            )?;
            tx.execute(
                "UPDATE models SET status = 'active',
                   activated_seq = (SELECT COALESCE(MAX(activated_seq), 0) + 1 FROM models)
                 WHERE id = ?1",
                [id],
            )?;
            tx.commit()?;
            Ok(true)
        }

        fn roll_back_model(&mut self, kind: &str) -> Result<Option<String>, StoreError> {
            let tx = crate::sqlite::write_transaction(&mut self.conn)?;
            let previous: Option<String> = tx
                .query_row(
                    "SELECT id FROM models WHERE kind = ?1 AND status = 'retired'
                       AND activated_seq IS NOT NULL
                     ORDER BY activated_seq DESC LIMIT 1",
                    [kind],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(previous) = previous else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE models SET status = 'candidate', activated_seq = NULL
                 WHERE kind = ?1 AND status = 'active'",
                [kind],
            )?;
            tx.execute(
                "UPDATE models SET status = 'active' WHERE id = ?1",
                [&previous],
            )?;
            tx.commit()?;
            Ok(Some(previous))
        }

        fn reject_model(&mut self, id: &str) -> Result<bool, StoreError> {
            Ok(self.conn.execute(
                "UPDATE models SET status = 'rejected' WHERE id = ?1 AND status = 'candidate'",
                [id],
            )? == 1)
        }
    }
}

mod postgres_impl {
    use postgres::Row;

    use super::{ModelRow, ModelStatus, ModelStore, COLUMNS};
    use crate::postgres_log::PostgresDecisionLog;
    use crate::StoreError;

    fn model_of(r: &Row) -> Result<ModelRow, StoreError> {
        let id: String = r.get(0);
        let status: String = r.get(9);
        Ok(ModelRow {
            status: ModelStatus::parse(&status, &id)?,
            id,
            kind: r.get(1),
            feature_spec: r.get(2),
            window_from: r.get(3),
            window_to: r.get(4),
            training_rows: r.get(5),
            metrics: r.get(6),
            parent: r.get(7),
            created_at: r.get(8),
            activated_seq: r.get(10),
            content_hash: r.get(11),
            artifact: r.get(12),
        })
    }

    impl ModelStore for PostgresDecisionLog {
        fn register_model(&mut self, row: &ModelRow) -> Result<bool, StoreError> {
            Ok(self.client.execute(
                &format!(
                    "INSERT INTO models ({COLUMNS}) VALUES
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'candidate', NULL, $10, $11)
                     ON CONFLICT (id) DO NOTHING"
                ),
                &[
                    &row.id,
                    &row.kind,
                    &row.feature_spec,
                    &row.window_from,
                    &row.window_to,
                    &row.training_rows,
                    &row.metrics,
                    &row.parent,
                    &row.created_at,
                    &row.content_hash,
                    &row.artifact,
                ],
            )? == 1)
        }

        fn models(&mut self, kind: Option<&str>) -> Result<Vec<ModelRow>, StoreError> {
            self.client
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM models WHERE $1::TEXT IS NULL OR kind = $1
                         ORDER BY created_at, id"
                    ),
                    &[&kind],
                )?
                .iter()
                .map(model_of)
                .collect()
        }

        fn model(&mut self, id: &str) -> Result<Option<ModelRow>, StoreError> {
            self.client
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM models WHERE id = $1"),
                    &[&id],
                )?
                .as_ref()
                .map(model_of)
                .transpose()
        }

        fn active_model(&mut self, kind: &str) -> Result<Option<ModelRow>, StoreError> {
            self.client
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM models WHERE kind = $1 AND status = 'active'"),
                    &[&kind],
                )?
                .as_ref()
                .map(model_of)
                .transpose()
        }

        fn active_model_id(&mut self, kind: &str) -> Result<Option<String>, StoreError> {
            Ok(self
                .client
                .query_opt(
                    "SELECT id FROM models WHERE kind = $1 AND status = 'active'",
                    &[&kind],
                )?
                .map(|r| r.get(0)))
        }

        fn promote_model(&mut self, id: &str) -> Result<bool, StoreError> {
            let mut tx = self.client.transaction()?;
            tx.execute("LOCK TABLE models IN EXCLUSIVE MODE", &[])?;
            let Some(kind) = tx
                .query_opt("SELECT kind FROM models WHERE id = $1", &[&id])?
                .map(|r| r.get::<_, String>(0))
            else {
                return Ok(false);
            };
            tx.execute(
                "UPDATE models SET status = 'retired'
                 WHERE kind = $1 AND status = 'active' AND id <> $2",
                &[&kind, &id],
            )?;
            tx.execute(
                "UPDATE models SET status = 'active',
                   activated_seq = (SELECT COALESCE(MAX(activated_seq), 0) + 1 FROM models)
                 WHERE id = $1",
                &[&id],
            )?;
            tx.commit()?;
            Ok(true)
        }

        fn roll_back_model(&mut self, kind: &str) -> Result<Option<String>, StoreError> {
            let mut tx = self.client.transaction()?;
            tx.execute("LOCK TABLE models IN EXCLUSIVE MODE", &[])?;
            let Some(previous) = tx
                .query_opt(
                    "SELECT id FROM models WHERE kind = $1 AND status = 'retired'
                       AND activated_seq IS NOT NULL
                     ORDER BY activated_seq DESC LIMIT 1",
                    &[&kind],
                )?
                .map(|r| r.get::<_, String>(0))
            else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE models SET status = 'candidate', activated_seq = NULL
                 WHERE kind = $1 AND status = 'active'",
                &[&kind],
            )?;
            tx.execute(
                "UPDATE models SET status = 'active' WHERE id = $1",
                &[&previous],
            )?;
            tx.commit()?;
            Ok(Some(previous))
        }

        fn reject_model(&mut self, id: &str) -> Result<bool, StoreError> {
            Ok(self.client.execute(
                "UPDATE models SET status = 'rejected' WHERE id = $1 AND status = 'candidate'",
                &[&id],
            )? == 1)
        }
    }
}

/// The hex SHA-256 of an artifact's text: what [`ModelRow::content_hash`] holds.
pub fn content_hash(artifact: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(artifact.as_bytes()))
}
