//! The PostgreSQL store, for several processes and large data. Each batch is one transaction of
//! a few set-based statements: users and items from arrays (`INSERT ... SELECT FROM UNNEST`),
//! events and their order lines by binary `COPY` into staging tables and one merge, so a batch of
//! thousands of records costs a handful of round trips.

use std::collections::HashSet;

use discount_core::config::UnknownItems;
use discount_core::{Event, EventKind, Record};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, Transaction};

use crate::batch::{referenced_items, repeats_within, unknown_item, EventColumns};
use crate::decision_log::{logged_offer_id, OFFER_ID_COLUMN};
use crate::reads;
use crate::schema::{CREATE_MIGRATIONS_TABLE, LATEST, MIGRATIONS};
use crate::stats::queries;
use crate::{Outcome, Stats, Store, StoreError};

/// Serialises concurrent migrations from several processes.
const MIGRATION_LOCK: i64 = 0x6469_7363_6f75;

pub struct PostgresStore {
    client: Client,
    /// Whether this connection has created its staging tables.
    staging_ready: bool,
}

/// Per-connection staging tables for events and their order lines, without indexes or
/// constraints, emptied at every commit: a batch is copied in with binary `COPY` (the cheapest
/// way into PostgreSQL) and merged into the real tables with one set-based statement.
const CREATE_STAGING: &str = "
    CREATE TEMP TABLE IF NOT EXISTS ingest_events (LIKE events) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS ingest_order_lines (LIKE order_lines) ON COMMIT DELETE ROWS";

const EVENT_COLUMNS: &str =
    "id, kind, user_id, at, item_id, order_id, coupon_id, decision_id, amount, currency, offer, payload";
const EVENT_TYPES: [Type; 12] = [
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
];
const LINE_COLUMNS: &str = "event_id, line_no, order_id, item_id, quantity, list_price, paid,
    retail_discount, coupon_discount, currency";
const LINE_TYPES: [Type; 10] = [
    Type::TEXT,
    Type::INT4,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
];

/// Inserts the staged events that are new, and the order lines of exactly those, returning the
/// ids stored; an id already present is skipped (a duplicate), so re-ingesting changes nothing.
const MERGE_STAGED_EVENTS: &str = "
    WITH stored AS (
        INSERT INTO events (id, kind, user_id, at, item_id, order_id, coupon_id, decision_id,
            amount, currency, offer, payload)
        SELECT id, kind, user_id, at, item_id, order_id, coupon_id, decision_id, amount,
            currency, offer, payload
        FROM ingest_events
        ON CONFLICT (id) DO NOTHING
        RETURNING id
    ), lines AS (
        INSERT INTO order_lines (event_id, line_no, order_id, item_id, quantity, list_price,
            paid, retail_discount, coupon_discount, currency)
        SELECT l.event_id, l.line_no, l.order_id, l.item_id, l.quantity, l.list_price, l.paid,
            l.retail_discount, l.coupon_discount, l.currency
        FROM ingest_order_lines l JOIN stored s ON s.id = l.event_id
    )
    SELECT id FROM stored";

/// Copies `events` into the staging table.
fn copy_events(tx: &mut Transaction, events: &[&Event]) -> Result<(), StoreError> {
    let sink = tx.copy_in(&format!(
        "COPY ingest_events ({EVENT_COLUMNS}) FROM STDIN (FORMAT binary)"
    ))?;
    let mut writer = BinaryCopyInWriter::new(sink, &EVENT_TYPES);
    for e in events {
        let c = EventColumns::of(e)?;
        writer.write(&[
            &c.id,
            &c.kind,
            &c.user_id,
            &c.at,
            &c.item_id,
            &c.order_id,
            &c.coupon_id,
            &c.decision_id,
            &c.amount,
            &c.currency,
            &c.offer,
            &c.payload,
        ])?;
    }
    writer.finish()?;
    Ok(())
}

/// Copies the lines of the orders among `events` into the staging table.
fn copy_order_lines(tx: &mut Transaction, events: &[&Event]) -> Result<(), StoreError> {
    let has_lines =
        |e: &&&Event| matches!(&e.kind, EventKind::Order { lines, .. } if !lines.is_empty());
    if !events.iter().any(|e| has_lines(&e)) {
        return Ok(());
    }
    let sink = tx.copy_in(&format!(
        "COPY ingest_order_lines ({LINE_COLUMNS}) FROM STDIN (FORMAT binary)"
    ))?;
    let mut writer = BinaryCopyInWriter::new(sink, &LINE_TYPES);
    for e in events {
        if let EventKind::Order {
            order_id,
            currency,
            lines,
        } = &e.kind
        {
            for (n, l) in lines.iter().enumerate() {
                // A line of input is at most `ingest.max_line_bytes`, far fewer than 2^31 lines.
                let line_no = n as i32;
                writer.write(&[
                    &e.id,
                    &line_no,
                    order_id,
                    &l.item_id,
                    &i64::from(l.quantity),
                    &l.list_price,
                    &l.paid,
                    &l.retail_discount,
                    &l.coupon_discount,
                    &currency.as_str(),
                ])?;
            }
        }
    }
    writer.finish()?;
    Ok(())
}

impl PostgresStore {
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let client = crate::pg_connect::connect(url)?;
        let mut store = Self {
            client,
            staging_ready: false,
        };
        store.migrate()?;
        crate::bulk_load::postgres_end(&mut store.client)?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(CREATE_MIGRATIONS_TABLE)?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
                &[],
            )?
            .get(0);
        if current > LATEST {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known: LATEST,
            });
        }
        for (version, statements) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            for sql in *statements {
                tx.batch_execute(sql)?;
            }
            if *version == OFFER_ID_COLUMN {
                backfill_offer_ids(&mut tx)?;
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
                &[version],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Fills the offer id column of the decisions logged before it existed, from their requests.
fn backfill_offer_ids(tx: &mut Transaction) -> Result<(), StoreError> {
    let logged: Vec<(String, String)> = tx
        .query(
            "SELECT id, request FROM decisions WHERE offer_id IS NULL",
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let update = tx.prepare("UPDATE decisions SET offer_id = $1 WHERE id = $2")?;
    for (id, request) in logged {
        if let Some(offer_id) = logged_offer_id(&request) {
            tx.execute(&update, &[&offer_id, &id])?;
        }
    }
    Ok(())
}

fn returned_ids(rows: Vec<postgres::Row>) -> HashSet<String> {
    rows.iter().map(|r| r.get::<_, String>(0)).collect()
}

fn existing_items(tx: &mut Transaction, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let rows = tx.query("SELECT id FROM items WHERE id = ANY($1)", &[&ids])?;
    Ok(returned_ids(rows))
}

impl Store for PostgresStore {
    fn begin_bulk_load(&mut self, only_if_empty: bool) -> Result<bool, StoreError> {
        crate::bulk_load::postgres_begin(&mut self.client, only_if_empty)
    }

    fn end_bulk_load(&mut self) -> Result<(), StoreError> {
        crate::bulk_load::postgres_end(&mut self.client)
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn events_of_user(&mut self, user_id: &str) -> Result<Vec<discount_core::Event>, StoreError> {
        self.client
            .query(reads::EVENTS_OF_USER, &[&user_id])?
            .iter()
            .map(|r| reads::decode(r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect()
    }

    fn scan_events(
        &mut self,
        visit: &mut dyn FnMut(discount_core::Event) -> std::ops::ControlFlow<()>,
    ) -> Result<u64, StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        // Rows stream from the server as they are read; they are never all in memory.
        let no_params: [&(dyn postgres::types::ToSql + Sync); 0] = [];
        let mut rows = self.client.query_raw(reads::ALL_EVENTS, no_params)?;
        let mut visited = 0;
        while let Some(r) = rows.next()? {
            let event = reads::decode(r.get(0), r.get(1), r.get(2), r.get(3))?;
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
        item_categories(&mut self.client, item_ids)
    }

    fn write_batch(
        &mut self,
        records: &[Record],
        unknown_items: UnknownItems,
    ) -> Result<Vec<Outcome>, StoreError> {
        let mut outcomes = repeats_within(records);
        let mut tx = self.client.transaction()?;

        // Items referred to by events: known ones pass, unknown ones are registered or refused,
        // in record order so that an item record earlier in the batch counts as known.
        let mut referenced: Vec<&str> = Vec::new();
        for (r, o) in records.iter().zip(&outcomes) {
            if let (Record::Event(e), None) = (r, o) {
                referenced.extend(referenced_items(e).iter().map(|i| i.id));
            }
        }
        let mut known = match unknown_items {
            UnknownItems::Reject => existing_items(&mut tx, &referenced)?,
            UnknownItems::Register => HashSet::new(),
        };
        let (mut ph_id, mut ph_price, mut ph_currency) = (Vec::new(), Vec::new(), Vec::new());
        for (r, o) in records.iter().zip(outcomes.iter_mut()) {
            match (r, &o) {
                (Record::Item(i), None) => {
                    known.insert(i.id.clone());
                }
                (Record::Event(e), None) => {
                    for item in referenced_items(e) {
                        if known.contains(item.id) {
                            continue;
                        }
                        if unknown_items == UnknownItems::Reject {
                            *o = Some(unknown_item(item.id));
                            break;
                        }
                        known.insert(item.id.to_string());
                        ph_id.push(item.id);
                        ph_price.push(item.list_price);
                        ph_currency.push(item.currency.as_str().to_string());
                    }
                }
                _ => {}
            }
        }
        if !ph_id.is_empty() {
            tx.execute(
                "INSERT INTO items (id, category, list_price, unit_cost, currency, stock, auto_registered)
                 SELECT id, 'unknown', price, NULL, cur, NULL, 1
                 FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[]) AS t(id, price, cur)
                 ON CONFLICT (id) DO NOTHING",
                &[&ph_id, &ph_price, &ph_currency],
            )?;
        }

        let pending = |o: &Option<Outcome>| o.is_none();
        let users: Vec<_> = records
            .iter()
            .zip(&outcomes)
            .filter_map(|(r, o)| match r {
                Record::User(u) if pending(o) => Some(u),
                _ => None,
            })
            .collect();
        let mut stored_users = HashSet::new();
        if !users.is_empty() {
            let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
            let signup: Vec<Option<i64>> = users.iter().map(|u| u.signup.map(|t| t.0)).collect();
            let attrs = users
                .iter()
                .map(|u| serde_json::to_string(&u.attributes))
                .collect::<Result<Vec<_>, _>>()?;
            stored_users = returned_ids(tx.query(
                "INSERT INTO users (id, signup_at, attributes)
                 SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[])
                 ON CONFLICT (id) DO NOTHING RETURNING id",
                &[&ids, &signup, &attrs],
            )?);
        }

        let items: Vec<_> = records
            .iter()
            .zip(&outcomes)
            .filter_map(|(r, o)| match r {
                Record::Item(i) if pending(o) => Some(i),
                _ => None,
            })
            .collect();
        let mut stored_items = HashSet::new();
        if !items.is_empty() {
            let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
            let category: Vec<&str> = items.iter().map(|i| i.category.as_str()).collect();
            let price: Vec<i64> = items.iter().map(|i| i.list_price).collect();
            let cost: Vec<Option<i64>> = items.iter().map(|i| i.unit_cost).collect();
            let currency: Vec<&str> = items.iter().map(|i| i.currency.as_str()).collect();
            let stock: Vec<Option<i64>> = items.iter().map(|i| i.stock).collect();
            stored_items = returned_ids(tx.query(
                "INSERT INTO items (id, category, list_price, unit_cost, currency, stock, auto_registered)
                 SELECT id, cat, price, cost, cur, stock, 0
                 FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[], $6::BIGINT[])
                   AS t(id, cat, price, cost, cur, stock)
                 ON CONFLICT (id) DO UPDATE SET category = excluded.category,
                   list_price = excluded.list_price, unit_cost = excluded.unit_cost,
                   currency = excluded.currency, stock = excluded.stock, auto_registered = 0
                 WHERE items.auto_registered = 1
                 RETURNING id",
                &[&ids, &category, &price, &cost, &currency, &stock],
            )?);
        }

        let events: Vec<_> = records
            .iter()
            .zip(&outcomes)
            .filter_map(|(r, o)| match r {
                Record::Event(e) if pending(o) => Some(e),
                _ => None,
            })
            .collect();
        let stored_events = if events.is_empty() {
            HashSet::new()
        } else {
            if !self.staging_ready {
                tx.batch_execute(CREATE_STAGING)?;
            }
            copy_events(&mut tx, &events)?;
            copy_order_lines(&mut tx, &events)?;
            returned_ids(tx.query(MERGE_STAGED_EVENTS, &[])?)
        };
        tx.commit()?;
        self.staging_ready |= !events.is_empty();

        Ok(records
            .iter()
            .zip(outcomes)
            .map(|(r, o)| {
                o.unwrap_or_else(|| {
                    let stored = match r {
                        Record::User(u) => stored_users.contains(&u.id),
                        Record::Item(i) => stored_items.contains(&i.id),
                        Record::Event(e) => stored_events.contains(&e.id),
                    };
                    if stored {
                        Outcome::Stored
                    } else {
                        Outcome::Duplicate
                    }
                })
            })
            .collect())
    }

    fn stats(&mut self) -> Result<Stats, StoreError> {
        let c = &mut self.client;
        let mut one = |sql: &str| -> Result<i64, StoreError> {
            Ok(c.query_one(&format!("SELECT ({sql})::BIGINT"), &[])?.get(0))
        };
        let users = one(queries::USERS)?;
        let active = one(queries::ACTIVE_USERS)?;
        let issued_redeemed = one(queries::ISSUED_REDEEMED)?;
        let c = &mut self.client;
        let pairs = |c: &mut Client, sql: &str| -> Result<Vec<(String, i64)>, StoreError> {
            Ok(
                c.query(&format!("SELECT k, n::BIGINT FROM ({sql}) AS t(k, n)"), &[])?
                    .iter()
                    .map(|r| (r.get::<_, Option<String>>(0).unwrap_or_default(), r.get(1)))
                    .collect(),
            )
        };
        let row = c.query_one(
            &format!(
                "SELECT a::BIGINT, b::BIGINT FROM ({}) AS t(a, b)",
                queries::ITEMS
            ),
            &[],
        )?;
        let items = (row.get(0), row.get(1));
        let row = c.query_one(queries::SPAN, &[])?;
        let span = (row.get(0), row.get(1));
        let lines = c
            .query(
                &format!(
                    "SELECT cur, n::BIGINT, a::BIGINT, b::BIGINT, d::BIGINT FROM ({}) AS t(cur, n, a, b, d)",
                    queries::LINES_BY_CURRENCY
                ),
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect();
        let by_type = pairs(c, queries::EVENTS_BY_TYPE)?;
        let refunds = pairs(c, queries::REFUNDS_BY_CURRENCY)?;
        let offers = pairs(c, queries::OFFERS_SHOWN)?;
        Ok(Stats::assemble(
            "postgres",
            users,
            active,
            items,
            by_type,
            span,
            lines,
            refunds,
            issued_redeemed,
            offers,
        ))
    }
}

/// The PostgreSQL server tests use: `DISCOUNT_TEST_POSTGRES_URL`, by default the local server.
pub fn test_server_url() -> String {
    std::env::var("DISCOUNT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Creates a new, empty schema on the test server and returns a URL whose connections use it,
/// so that tests running in parallel never see each other's tables. `Ok(None)` when the server
/// cannot be reached outside CI (the caller skips with a printed reason); under `CI=true` an
/// unreachable server is an error.
pub fn scratch_schema_url(label: &str) -> Result<Option<String>, StoreError> {
    let base = test_server_url();
    let mut admin = match crate::pg_connect::connect(&base) {
        Ok(c) => c,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping PostgreSQL test: cannot connect to {base}: {e}");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let schema: String = format!("t_{label}_{}_{nanos}", std::process::id())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    admin.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(Some(format!("{base}{sep}options=-csearch_path%3D{schema}")))
}

/// A plain connection for administration (creating schemas for tests and benchmarks).
pub struct AdminClient(Client);

impl AdminClient {
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(Self(crate::pg_connect::connect(url)?))
    }

    pub fn batch_execute(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.0.batch_execute(sql)?)
    }
}

/// The categories of those of `item_ids` the catalogue knows (the event store's and the decision
/// log's reads share it).
pub(crate) fn item_categories(
    client: &mut postgres::Client,
    item_ids: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    if item_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(client
        .query(
            "SELECT id, category FROM items WHERE id = ANY($1)",
            &[&item_ids],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
