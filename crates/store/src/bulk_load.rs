//! Bulk loads with deferred index maintenance. Keeping a secondary index up to date row by row
//! costs more than building it once over the loaded table (docs/ingest.md has the measurement),
//! so a bulk load may drop the deferrable indexes, load, and build them again at the end. Reads
//! by customer are slow in between; a store opened after a load that died half way builds any
//! missing index before it is used ([`Store::end_bulk_load`](crate::Store::end_bulk_load) runs on
//! every open).

use crate::StoreError;

/// A secondary index a bulk load may drop: its name and the statement that builds it.
pub(crate) struct DeferrableIndex {
    pub name: &'static str,
    pub create: &'static str,
}

/// The indexes maintained on every event write. The primary keys stay: they find duplicates.
pub(crate) const DEFERRABLE_INDEXES: &[DeferrableIndex] = &[DeferrableIndex {
    name: "events_user_at",
    create: "CREATE INDEX IF NOT EXISTS events_user_at ON events (user_id, at)",
}];

const ANY_EVENT: &str = "SELECT EXISTS (SELECT 1 FROM events)";

pub(crate) fn sqlite_begin(
    conn: &rusqlite::Connection,
    only_if_empty: bool,
) -> Result<bool, StoreError> {
    if only_if_empty && conn.query_row(ANY_EVENT, [], |r| r.get::<_, bool>(0))? {
        return Ok(false);
    }
    for index in DEFERRABLE_INDEXES {
        conn.execute(&format!("DROP INDEX IF EXISTS {}", index.name), [])?;
    }
    Ok(true)
}

pub(crate) fn sqlite_end(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    for index in DEFERRABLE_INDEXES {
        conn.execute(index.create, [])?;
    }
    Ok(())
}

pub(crate) fn postgres_begin(
    client: &mut postgres::Client,
    only_if_empty: bool,
) -> Result<bool, StoreError> {
    if only_if_empty && client.query_one(ANY_EVENT, &[])?.get::<_, bool>(0) {
        return Ok(false);
    }
    for index in DEFERRABLE_INDEXES {
        client.batch_execute(&format!("DROP INDEX IF EXISTS {}", index.name))?;
    }
    Ok(true)
}

pub(crate) fn postgres_end(client: &mut postgres::Client) -> Result<(), StoreError> {
    for index in DEFERRABLE_INDEXES {
        // Only when missing: building an index that exists would still take the table's lock.
        let present: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1)",
                &[&index.name],
            )?
            .get(0);
        if !present {
            client.batch_execute(index.create)?;
        }
    }
    Ok(())
}
