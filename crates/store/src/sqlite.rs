//! The embedded store: one SQLite file in WAL mode, no server needed.

use std::collections::HashSet;

use discount_core::config::UnknownItems;
use discount_core::{Event, Item, Record, User};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::batch::{referenced_items, repeats_within, unknown_item, EventColumns};
use crate::decision_log::{logged_offer_id, OFFER_ID_COLUMN};
use crate::reads;
use crate::schema::{for_sqlite, CREATE_MIGRATIONS_TABLE, LATEST, MIGRATIONS};
use crate::stats::queries;
use crate::{Outcome, Stats, Store, StoreError};

pub struct SqliteStore {
    conn: Connection,
    /// Item ids known to be in the store (items are never deleted), so that events naming them
    /// need no lookup. Filled only after a commit; bounded.
    known_items: HashSet<String>,
}

const KNOWN_ITEMS_CACHED: usize = 1 << 20;

/// A write transaction that takes SQLite's write lock when it begins. A deferred one that reads
/// first fails at once with `SQLITE_BUSY` (the busy timeout does not apply to the upgrade) when
/// another connection commits between its read and its first write, which the service's decision
/// writer does every few milliseconds; an immediate one waits for the lock instead.
pub(crate) fn write_transaction(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and migrates it.
    pub fn open(path: &str) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        // WAL lets readers work while a writer ingests; NORMAL sync is durable across process
        // crashes (an OS crash may lose the last transactions, never corrupt the file).
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A 64 MiB page cache and rarer checkpoints keep bulk ingestion from spilling pages and
        // re-reading them; memory stays bounded by the cache size, not the data size.
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        let mut store = Self {
            conn,
            known_items: HashSet::new(),
        };
        store.migrate()?;
        crate::bulk_load::sqlite_end(&store.conn)?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = write_transaction(&mut self.conn)?;
        tx.execute(CREATE_MIGRATIONS_TABLE, [])?;
        let current: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )?;
        if current > LATEST {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known: LATEST,
            });
        }
        for (version, statements) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            for sql in *statements {
                tx.execute(&for_sqlite(sql), [])?;
            }
            if *version == OFFER_ID_COLUMN {
                backfill_offer_ids(&tx)?;
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%s','now'))",
                [version],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Fills the offer id column of the decisions logged before it existed, from their requests.
/// Bytes SQLite holds in this process now (its page caches, statements and schemas, over every
/// connection): what the service's resident memory owes to the embedded store.
pub fn memory_used() -> u64 {
    // SAFETY: `sqlite3_memory_used` reads a process-wide counter; it takes no arguments and is
    // safe to call from any thread at any time.
    let bytes = unsafe { rusqlite::ffi::sqlite3_memory_used() };
    u64::try_from(bytes).unwrap_or(0)
}

fn backfill_offer_ids(tx: &Transaction) -> Result<(), StoreError> {
    let logged: Vec<(String, String)> = tx
        .prepare("SELECT id, request FROM decisions WHERE offer_id IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = tx.prepare("UPDATE decisions SET offer_id = ?1 WHERE id = ?2")?;
    for (id, request) in logged {
        if let Some(offer_id) = logged_offer_id(&request) {
            update.execute(params![offer_id, id])?;
        }
    }
    Ok(())
}

fn insert_user(tx: &Transaction, u: &User) -> Result<Outcome, StoreError> {
    let attributes = serde_json::to_string(&u.attributes)?;
    let n = tx
        .prepare_cached(
            "INSERT INTO users (id, signup_at, attributes) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![u.id, u.signup.map(|t| t.0), attributes])?;
    Ok(if n == 1 {
        Outcome::Stored
    } else {
        Outcome::Duplicate
    })
}

fn insert_item(tx: &Transaction, i: &Item) -> Result<Outcome, StoreError> {
    // A real item record replaces a placeholder that an earlier event registered.
    let n = tx
        .prepare_cached(
            "INSERT INTO items (id, category, list_price, unit_cost, currency, stock, auto_registered)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)
             ON CONFLICT (id) DO UPDATE SET category = excluded.category,
               list_price = excluded.list_price, unit_cost = excluded.unit_cost,
               currency = excluded.currency, stock = excluded.stock, auto_registered = 0
             WHERE items.auto_registered = 1",
        )?
        .execute(params![
            i.id,
            i.category,
            i.list_price,
            i.unit_cost,
            i.currency.as_str(),
            i.stock
        ])?;
    Ok(if n == 1 {
        Outcome::Stored
    } else {
        Outcome::Duplicate
    })
}

fn item_exists(tx: &Transaction, id: &str) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM items WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

fn insert_event(
    tx: &Transaction,
    e: &Event,
    unknown_items: UnknownItems,
    cached_items: &HashSet<String>,
    known_items: &mut HashSet<String>,
) -> Result<Outcome, StoreError> {
    let refs = referenced_items(e);
    for r in &refs {
        if cached_items.contains(r.id) || known_items.contains(r.id) {
            continue;
        }
        match unknown_items {
            UnknownItems::Reject if !item_exists(tx, r.id)? => return Ok(unknown_item(r.id)),
            UnknownItems::Reject => {}
            UnknownItems::Register => {
                tx.prepare_cached(
                    "INSERT INTO items (id, category, list_price, unit_cost, currency, stock, auto_registered)
                     VALUES (?1, 'unknown', ?2, NULL, ?3, NULL, 1) ON CONFLICT (id) DO NOTHING",
                )?
                .execute(params![r.id, r.list_price, r.currency.as_str()])?;
            }
        }
        known_items.insert(r.id.to_string());
    }
    let c = EventColumns::of(e)?;
    let n = tx
        .prepare_cached(
            "INSERT INTO events (id, kind, user_id, at, item_id, order_id, coupon_id, decision_id,
               amount, currency, offer, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            c.id,
            c.kind,
            c.user_id,
            c.at,
            c.item_id,
            c.order_id,
            c.coupon_id,
            c.decision_id,
            c.amount,
            c.currency,
            c.offer,
            c.payload
        ])?;
    if n == 0 {
        return Ok(Outcome::Duplicate);
    }
    if let discount_core::EventKind::Order {
        order_id,
        currency,
        lines,
    } = &e.kind
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO order_lines (event_id, line_no, order_id, item_id, quantity, list_price,
               paid, retail_discount, coupon_discount, currency)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for (line_no, l) in lines.iter().enumerate() {
            stmt.execute(params![
                e.id,
                line_no as i64,
                order_id,
                l.item_id,
                l.quantity,
                l.list_price,
                l.paid,
                l.retail_discount,
                l.coupon_discount,
                currency.as_str()
            ])?;
        }
    }
    Ok(Outcome::Stored)
}

impl Store for SqliteStore {
    fn begin_bulk_load(&mut self, only_if_empty: bool) -> Result<bool, StoreError> {
        crate::bulk_load::sqlite_begin(&self.conn, only_if_empty)
    }

    fn end_bulk_load(&mut self) -> Result<(), StoreError> {
        crate::bulk_load::sqlite_end(&self.conn)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn events_of_user(&mut self, user_id: &str) -> Result<Vec<Event>, StoreError> {
        let mut stmt = self.conn.prepare_cached(reads::EVENTS_OF_USER)?;
        let mut rows = stmt.query([user_id])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(reads::decode(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                &r.get::<_, String>(3)?,
            )?);
        }
        Ok(out)
    }

    fn scan_events(
        &mut self,
        visit: &mut dyn FnMut(Event) -> std::ops::ControlFlow<()>,
    ) -> Result<u64, StoreError> {
        let mut stmt = self.conn.prepare(reads::ALL_EVENTS)?;
        let mut rows = stmt.query([])?;
        let mut visited = 0;
        while let Some(r) = rows.next()? {
            let event = reads::decode(r.get(0)?, r.get(1)?, r.get(2)?, &r.get::<_, String>(3)?)?;
            visited += 1;
            if visit(event).is_break() {
                break;
            }
        }
        Ok(visited)
    }

    fn item_categories(
        &mut self,
        item_ids: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        item_categories(&self.conn, item_ids)
    }

    fn write_batch(
        &mut self,
        records: &[Record],
        unknown_items: UnknownItems,
    ) -> Result<Vec<Outcome>, StoreError> {
        let repeats = repeats_within(records);
        let tx = write_transaction(&mut self.conn)?;
        let mut known_items = HashSet::new();
        let mut outcomes = Vec::with_capacity(records.len());
        for (record, repeat) in records.iter().zip(repeats) {
            let outcome = match (repeat, record) {
                (Some(o), _) => o,
                (None, Record::User(u)) => insert_user(&tx, u)?,
                (None, Record::Item(i)) => {
                    let o = insert_item(&tx, i)?;
                    known_items.insert(i.id.clone());
                    o
                }
                (None, Record::Event(e)) => {
                    insert_event(&tx, e, unknown_items, &self.known_items, &mut known_items)?
                }
            };
            outcomes.push(outcome);
        }
        tx.commit()?;
        if self.known_items.len() + known_items.len() > KNOWN_ITEMS_CACHED {
            self.known_items.clear();
        }
        self.known_items.extend(known_items);
        Ok(outcomes)
    }

    fn stats(&mut self) -> Result<Stats, StoreError> {
        let c = &self.conn;
        let one =
            |sql: &str| -> Result<i64, StoreError> { Ok(c.query_row(sql, [], |r| r.get(0))?) };
        let pairs = |sql: &str| -> Result<Vec<(String, i64)>, StoreError> {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    r.get(1)?,
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        let items = c.query_row(queries::ITEMS, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let span = c.query_row(queries::SPAN, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut stmt = c.prepare(queries::LINES_BY_CURRENCY)?;
        let lines = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Stats::assemble(
            "sqlite",
            one(queries::USERS)?,
            one(queries::ACTIVE_USERS)?,
            items,
            pairs(queries::EVENTS_BY_TYPE)?,
            span,
            lines,
            pairs(queries::REFUNDS_BY_CURRENCY)?,
            one(queries::ISSUED_REDEEMED)?,
            pairs(queries::OFFERS_SHOWN)?,
        ))
    }
}

/// The categories of those of `item_ids` the catalogue knows (the event store's and the decision
/// log's reads share it).
pub(crate) fn item_categories(
    conn: &Connection,
    item_ids: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id, category FROM items WHERE id = ?1")?;
    let mut out = Vec::new();
    for id in item_ids {
        if let Some(pair) = stmt
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
        {
            out.push(pair);
        }
    }
    Ok(out)
}
