//! The schema, shared by both backends. Migrations are numbered and applied in order; each
//! statement is plain SQL that SQLite and PostgreSQL both accept.

/// `(version, statements)` in order of application.
pub const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE users (
            id TEXT PRIMARY KEY,
            signup_at BIGINT,
            attributes TEXT NOT NULL
        )",
            "CREATE TABLE items (
            id TEXT PRIMARY KEY,
            category TEXT NOT NULL,
            list_price BIGINT NOT NULL,
            unit_cost BIGINT,
            currency TEXT NOT NULL,
            stock BIGINT,
            auto_registered INTEGER NOT NULL
        )",
            "CREATE TABLE events (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            user_id TEXT NOT NULL,
            at BIGINT NOT NULL,
            item_id TEXT,
            order_id TEXT,
            coupon_id TEXT,
            decision_id TEXT,
            amount BIGINT,
            currency TEXT,
            offer TEXT,
            payload TEXT NOT NULL
        )",
            "CREATE INDEX events_user_at ON events (user_id, at)",
            "CREATE TABLE order_lines (
            event_id TEXT NOT NULL,
            line_no INTEGER NOT NULL,
            order_id TEXT NOT NULL,
            item_id TEXT NOT NULL,
            quantity BIGINT NOT NULL,
            list_price BIGINT NOT NULL,
            paid BIGINT NOT NULL,
            retail_discount BIGINT NOT NULL,
            coupon_discount BIGINT NOT NULL,
            currency TEXT NOT NULL,
            PRIMARY KEY (event_id, line_no)
        )",
        ],
    ),
    (2, crate::decision_log::MIGRATION_2),
    (3, crate::decision_log::MIGRATION_3),
    (4, crate::decision_log::MIGRATION_4),
    (5, crate::model_registry::MIGRATION_5),
    (6, crate::privacy_budget::MIGRATION_6),
    (7, crate::slate_log::MIGRATION_7),
    (8, crate::profile_states::MIGRATION_8),
    (9, crate::decision_log::MIGRATION_9),
];

pub const LATEST: i64 = 9;

/// Tables keyed by a text id are stored clustered by that key in SQLite (`WITHOUT ROWID`), which
/// saves a second B-tree per table and about a third of the work of each insert.
pub fn for_sqlite(sql: &str) -> String {
    if sql.trim_start().starts_with("CREATE TABLE") {
        format!("{sql} WITHOUT ROWID")
    } else {
        sql.to_string()
    }
}

pub const CREATE_MIGRATIONS_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";
