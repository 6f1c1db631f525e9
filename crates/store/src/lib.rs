//! Where the engine keeps its facts: users, items, events and order lines.
//!
//! One [`Store`] trait, two backends with the same schema and migrations:
//! [`sqlite::SqliteStore`] (the embedded default, one file in WAL mode) and
//! [`postgres::PostgresStore`] (several processes, large data). Open either from a URL:
//!
//! ```no_run
//! let mut store = discount_store::open("sqlite://discount.sqlite")?;
//! let stats = store.stats()?;
//! # Ok::<(), discount_store::StoreError>(())
//! ```
//!
//! Writes are idempotent by record id: writing the same user, item or event twice stores it once
//! and reports the second as a duplicate. A batch is one transaction: all of it or nothing.

mod batch;
mod bulk_load;
pub mod decision_log;
pub mod model_registry;
pub mod pg_connect;
pub mod postgres;
pub mod postgres_log;
pub mod privacy_budget;
pub mod profile_states;
mod reads;
mod schema;
pub mod slate_log;
pub mod sqlite;
pub mod sqlite_log;
mod stats;

use std::ops::ControlFlow;

use discount_core::config::UnknownItems;
use discount_core::{Event, Record};
use thiserror::Error;

pub use stats::{CurrencyTotals, Stats};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("PostgreSQL connection settings: {0}")]
    PostgresSettings(String),
    #[error("PostgreSQL over TLS (sslmode={mode}) to {target}: {error}")]
    PostgresTls {
        mode: &'static str,
        target: String,
        error: String,
    },
    #[error("store URL `{0}`: expected sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    BadUrl(String),
    #[error("the store's schema is version {found}, newer than this program knows ({known}); upgrade the program")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("encoding a record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the store holds something it cannot read: {0}")]
    Corrupt(String),
    #[error("stored event `{id}` cannot be decoded: {source}")]
    StoredEvent {
        id: String,
        #[source]
        source: serde_json::Error,
    },
}

/// What happened to one record of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    /// A record with the same id was already stored (or came earlier in the batch).
    Duplicate,
    /// Refused by a store-level rule (an unknown item under `unknown_items = "reject"`).
    Rejected {
        field: String,
        reason: String,
    },
}

/// The engine's persistence. Implementations are used from one thread at a time.
pub trait Store: Send {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Writes a batch in one transaction and says what happened to each record, in order.
    fn write_batch(
        &mut self,
        records: &[Record],
        unknown_items: UnknownItems,
    ) -> Result<Vec<Outcome>, StoreError>;

    /// What the store holds.
    fn stats(&mut self) -> Result<Stats, StoreError>;

    /// The user's events, oldest first (ties in id order).
    fn events_of_user(&mut self, user_id: &str) -> Result<Vec<Event>, StoreError>;

    /// Every event, one at a time without holding them all: grouped by user (users in id
    /// order), each user's oldest first. `visit` returns `Break` to stop early. Returns how many
    /// events were visited.
    fn scan_events(
        &mut self,
        visit: &mut dyn FnMut(Event) -> ControlFlow<()>,
    ) -> Result<u64, StoreError>;

    /// `(item id, category)` of those of `item_ids` the store knows.
    fn item_categories(&mut self, item_ids: &[String])
        -> Result<Vec<(String, String)>, StoreError>;

    /// Starts a bulk load: drops the secondary indexes that every event write would otherwise
    /// maintain, so that [`Store::end_bulk_load`] builds them once. With `only_if_empty`, only
    /// when the store holds no events yet (a first load, which nothing reads by customer).
    /// Returns whether it dropped them.
    fn begin_bulk_load(&mut self, only_if_empty: bool) -> Result<bool, StoreError>;

    /// Builds any index a bulk load dropped (nothing to do when none is missing). Runs on every
    /// open too, so a load that died half way leaves no index missing.
    fn end_bulk_load(&mut self) -> Result<(), StoreError>;
}

/// Opens a store from its URL: `sqlite://PATH` (or a bare path ending in .sqlite/.db), or
/// `postgres://...` / `postgresql://...`. Runs pending migrations.
pub fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    Ok(match Backend::of(url)? {
        Backend::Postgres(url) => Box::new(postgres::PostgresStore::connect(url)?),
        Backend::Sqlite(path) => Box::new(sqlite::SqliteStore::open(path)?),
    })
}

/// Which backend a store URL names: the one place that reads a URL's scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend<'a> {
    /// `sqlite://PATH` (or a bare path): the file's path.
    Sqlite(&'a str),
    /// `postgres://...` or `postgresql://...`: the whole URL.
    Postgres(&'a str),
}

impl<'a> Backend<'a> {
    pub fn of(url: &'a str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres(url));
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(StoreError::BadUrl(url.to_string()));
        }
        Ok(Backend::Sqlite(path))
    }

    /// Several processes may share it (budgets, holds, the registry).
    pub fn is_shared(self) -> bool {
        matches!(self, Backend::Postgres(_))
    }
}
