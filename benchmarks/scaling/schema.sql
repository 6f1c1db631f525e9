-- The decision log's tables as migrations 2 and 9 make them (crates/store/src/decision_log.rs), in a schema
-- of their own, for the pgbench scripts beside this file. docs/scaling.md gives the figures.
DROP SCHEMA IF EXISTS scaling_pgb CASCADE;
CREATE SCHEMA scaling_pgb;
SET search_path = scaling_pgb;
CREATE TABLE decisions (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    customer_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    attribution_deadline BIGINT NOT NULL,
    policy_version TEXT NOT NULL,
    offer TEXT NOT NULL,
    propensity DOUBLE PRECISION NOT NULL,
    explored INTEGER NOT NULL,
    expected_profit BIGINT NOT NULL,
    currency TEXT NOT NULL,
    budget_id TEXT,
    reserved BIGINT NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    joined INTEGER NOT NULL,
    offer_id TEXT
);
CREATE INDEX decisions_customer_offers ON decisions (customer_id, at, id, offer_id);
CREATE INDEX decisions_open ON decisions (joined, attribution_deadline);
CREATE TABLE budgets (id TEXT PRIMARY KEY, currency TEXT NOT NULL, total BIGINT NOT NULL, reserved BIGINT NOT NULL, spent BIGINT NOT NULL);
INSERT INTO budgets VALUES ('b1', 'USD', 9000000000000, 0, 0);
