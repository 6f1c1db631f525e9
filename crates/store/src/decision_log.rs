//! What the decision service keeps: the decision log, the outcomes joined to it, API keys, the
//! budget ledger and the policy registry. One [`DecisionLog`] trait, implemented on SQLite
//! ([`crate::sqlite_log`]) and PostgreSQL ([`crate::postgres_log`]) over the same tables.
//!
//! Times are microseconds since the Unix epoch (UTC), money is minor units.

use serde::{Deserialize, Serialize};

use crate::model_registry::ModelStore;
use crate::privacy_budget::PrivacyBudgetStore;
use crate::slate_log::SlateStore;
use crate::StoreError;

/// Schema version 2: the decision service's tables.
pub const MIGRATION_2: &[&str] = &[
    "CREATE TABLE decisions (
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
        joined INTEGER NOT NULL
    )",
    "CREATE INDEX decisions_customer_at ON decisions (customer_id, at)",
    "CREATE INDEX decisions_open ON decisions (joined, attribution_deadline)",
    "CREATE TABLE decision_outcomes (
        decision_id TEXT PRIMARY KEY,
        at BIGINT NOT NULL,
        source TEXT NOT NULL,
        event_id TEXT,
        converted INTEGER NOT NULL,
        revenue BIGINT NOT NULL,
        discount BIGINT NOT NULL,
        profit BIGINT NOT NULL,
        charged BIGINT NOT NULL,
        recorded_at BIGINT NOT NULL
    )",
    "CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        rate_per_second BIGINT,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    )",
    "CREATE TABLE budgets (
        id TEXT PRIMARY KEY,
        currency TEXT NOT NULL,
        total BIGINT NOT NULL,
        reserved BIGINT NOT NULL,
        spent BIGINT NOT NULL
    )",
    "CREATE TABLE policies (
        version TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        activated_seq BIGINT,
        active INTEGER NOT NULL,
        apprentice INTEGER NOT NULL
    )",
];

/// Schema version 3: budget holds taken by a serving process and not yet written with a decision,
/// per process, so that the holds of a process that died mid-decision can be expired.
pub const MIGRATION_3: &[&str] = &["CREATE TABLE budget_holds (
        holder TEXT NOT NULL,
        budget_id TEXT NOT NULL,
        amount BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL,
        PRIMARY KEY (holder, budget_id)
    )"];

/// Schema version 4: the audit trail of erasures (counts and time, never the customer's id).
pub const MIGRATION_4: &[&str] = &["CREATE TABLE erasures (
        id TEXT PRIMARY KEY,
        at BIGINT NOT NULL,
        reason TEXT NOT NULL,
        events BIGINT NOT NULL,
        users BIGINT NOT NULL,
        decisions BIGINT NOT NULL
    )"];

/// Schema version 9: each decision's offer id in its own column, in an index that also orders a
/// customer's decisions by time, so that the offer history a decision reads comes from the index
/// alone (the request text it was parsed from lives in overflow pages). Rows logged before are
/// filled from their request by [`logged_offer_id`] when the migration runs.
pub const MIGRATION_9: &[&str] = &[
    "ALTER TABLE decisions ADD COLUMN offer_id TEXT",
    "CREATE INDEX decisions_customer_offers ON decisions (customer_id, at, id, offer_id)",
    "DROP INDEX decisions_customer_at",
];

/// The version whose migration adds the offer id column (each backend fills it after).
pub const OFFER_ID_COLUMN: i64 = 9;

/// What one erasure removed or anonymised; the audit record keeps these counts, not the id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// The audit record's id.
    pub audit_id: String,
    /// Events deleted (with their order lines).
    pub events: i64,
    /// User records deleted.
    pub users: i64,
    /// Decisions kept for budgets and evaluation, with the customer replaced by a stand-in and
    /// everything derived from their history removed.
    pub decisions: i64,
}

/// The stand-in for an erased customer in the decision rows that are kept: a hash of the id
/// under a salt drawn for one erasure and then forgotten, so it cannot be recomputed from the id
/// (while one customer's kept decisions still group together).
pub fn erased_id(salt: &[u8], customer: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(salt);
    h.update([0x1f]);
    h.update(customer.as_bytes());
    format!("erased-{}", hex::encode(&h.finalize()[..12]))
}

/// The audit record's id for an erasure with `salt` at `at`.
pub fn erasure_audit_id(salt: &[u8], at: i64) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"audit");
    h.update(salt);
    h.update(at.to_le_bytes());
    hex::encode(&h.finalize()[..12])
}

/// A kept decision's request and response with the customer replaced by `stand_in`: the request
/// keeps only the policy and the rung served (what evaluation and budgets need); the response
/// loses the explanation and the gate record, which describe the customer's history.
pub fn anonymised(row: &DecisionRow, stand_in: &str) -> (String, String) {
    let request = match serde_json::from_str::<serde_json::Value>(&row.request) {
        Ok(serde_json::Value::Object(m)) => {
            let kept: serde_json::Map<String, serde_json::Value> = m
                .into_iter()
                .filter(|(k, _)| k == "policy" || k == "offer_id")
                .collect();
            serde_json::Value::Object(kept).to_string()
        }
        _ => "{}".to_string(),
    };
    let response = match serde_json::from_str::<serde_json::Value>(&row.response) {
        Ok(serde_json::Value::Object(mut m)) => {
            m.insert("customer_id".into(), stand_in.into());
            m.remove("explanation");
            m.remove("gate");
            serde_json::Value::Object(m).to_string()
        }
        _ => "{}".to_string(),
    };
    (request, response)
}

/// Who accounts for the budget holds of a batch of decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds<'a> {
    /// The ledger lives in the one serving process: each stored decision's hold is added to its
    /// budget in the same transaction.
    Apply,
    /// The holds were taken already with [`DecisionLog::reserve`] by this holder: each stored
    /// decision now carries its own hold, so the holder's in-flight amount goes down by it.
    TakenBy(&'a str),
}

/// A decision as logged: what was asked, what was answered, and the budget it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionRow {
    pub id: String,
    /// Scoped by the caller's key (`<key id>:<client key>`), so two clients cannot collide.
    pub idempotency_key: Option<String>,
    pub customer_id: String,
    pub at: i64,
    /// After this instant an order no longer counts for this decision.
    pub attribution_deadline: i64,
    pub policy_version: String,
    /// The offer as JSON (`discount_core::Offer`).
    pub offer: String,
    pub propensity: f64,
    pub explored: bool,
    pub expected_profit: i64,
    pub currency: String,
    pub budget_id: Option<String>,
    /// Budget held by this decision until its outcome settles it.
    pub reserved: i64,
    /// The request body as received (JSON).
    pub request: String,
    /// The response body as sent (JSON), returned verbatim to an idempotent retry.
    pub response: String,
    pub joined: bool,
    /// The id of the rung served (the ladder's offer id); `None` for a row logged without one.
    pub offer_id: Option<String>,
}

impl DecisionRow {
    /// The feature vector the decision was made with, as its logged request records it (empty
    /// for a decision logged without one, or erased).
    pub fn logged_features(&self) -> Vec<f64> {
        #[derive(Deserialize)]
        struct Logged {
            #[serde(default)]
            features: Vec<f64>,
        }
        serde_json::from_str::<Logged>(&self.request)
            .map(|l| l.features)
            .unwrap_or_default()
    }
}

/// What recording one decision did.
#[derive(Clone, Debug, PartialEq)]
pub enum Recorded {
    Stored,
    /// A decision with the same idempotency key exists; it is returned and nothing was written.
    Existing(Box<DecisionRow>),
}

/// Where an outcome came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeSource {
    /// An order by the customer inside the attribution window.
    Order,
    /// Reported explicitly through the API.
    Reported,
    /// The window closed with nothing: the default reward.
    Default,
}

impl OutcomeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeSource::Order => "order",
            OutcomeSource::Reported => "reported",
            OutcomeSource::Default => "default",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "order" => Some(OutcomeSource::Order),
            "reported" => Some(OutcomeSource::Reported),
            "default" => Some(OutcomeSource::Default),
            _ => None,
        }
    }
}

/// The reward of one decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRow {
    pub decision_id: String,
    /// When the rewarding fact happened (the order's time, or the window's end).
    pub at: i64,
    pub source: OutcomeSource,
    pub event_id: Option<String>,
    pub converted: bool,
    pub revenue: i64,
    /// Coupon discount given on the attributed order.
    pub discount: i64,
    /// Revenue less the cost of the goods.
    pub profit: i64,
    /// What the budget was charged (the discount, at most the decision's reservation).
    pub charged: i64,
    pub recorded_at: i64,
}

/// One order line of a customer's order, with the item's unit cost when the store knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderLineFact {
    pub event_id: String,
    pub at: i64,
    pub quantity: i64,
    pub list_price: i64,
    pub paid: i64,
    pub coupon_discount: i64,
    pub unit_cost: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    /// `ingest`, `decide` or `admin`.
    pub role: String,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    /// Requests per second allowed to this key; `None` for the server's default.
    pub rate_per_second: Option<i64>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetRow {
    pub id: String,
    pub currency: String,
    pub total: i64,
    pub reserved: i64,
    pub spent: i64,
}

impl BudgetRow {
    pub fn remaining(&self) -> i64 {
        self.total - self.reserved - self.spent
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRow {
    /// The policy's name (the engine configuration's `name`).
    pub version: String,
    /// The engine configuration, JSON.
    pub config: String,
    pub created_at: i64,
    /// Order of activation (higher is later); `None` if never active.
    pub activated_seq: Option<i64>,
    pub active: bool,
    /// In apprentice mode the policy's choice is logged but the control arm is served.
    pub apprentice: bool,
}

/// The decision service's persistence, one trait per concern: [`DecisionStore`] (decisions,
/// outcomes, erasure), [`BudgetStore`], [`KeyStore`], [`PolicyStore`] and
/// [`crate::model_registry::ModelStore`], [`crate::privacy_budget::PrivacyBudgetStore`] and
/// [`crate::slate_log::SlateStore`]. Both backends implement all seven over the same tables; [`open_decision_log`] picks the backend from the URL.
/// Implementations are used from one thread at a time; open one per thread that needs it.
pub trait DecisionLog:
    DecisionStore
    + BudgetStore
    + KeyStore
    + PolicyStore
    + ModelStore
    + PrivacyBudgetStore
    + SlateStore
    + crate::profile_states::ProfileStateStore
    + Send
{
}

impl<
        T: DecisionStore
            + BudgetStore
            + KeyStore
            + PolicyStore
            + ModelStore
            + PrivacyBudgetStore
            + SlateStore
            + crate::profile_states::ProfileStateStore
            + Send,
    > DecisionLog for T
{
}

/// The decision log and its outcomes (and the customer reads a decision needs).
pub trait DecisionStore {
    /// Records decisions in one transaction. A decision whose idempotency key is taken is not
    /// written; the stored one is returned. See [`Holds`] for what happens to the budgets.
    fn record_decisions(
        &mut self,
        batch: &[DecisionRow],
        holds: Holds<'_>,
    ) -> Result<Vec<Recorded>, StoreError>;

    /// The customer's most recent `limit` events, oldest first.
    fn events_of(
        &mut self,
        customer: &str,
        limit: usize,
    ) -> Result<Vec<discount_core::Event>, StoreError>;

    /// The categories of those of `item_ids` the catalogue knows, as `(item, category)`.
    fn item_categories(&mut self, item_ids: &[String])
        -> Result<Vec<(String, String)>, StoreError>;

    /// The offers given to `customer` at or after `since` (the `offer_id` each decision logged
    /// with its request), latest first, at most `limit`: the offer history that frequency rules
    /// ("once per N days") read at every decision, so only the request and time of each row are
    /// read.
    fn offers_of(
        &mut self,
        customer: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError>;

    fn decision(&mut self, id: &str) -> Result<Option<DecisionRow>, StoreError>;

    fn decision_by_idempotency_key(&mut self, key: &str)
        -> Result<Option<DecisionRow>, StoreError>;

    /// Decisions for `customer` not yet joined whose window contains `at`, latest first.
    fn open_decisions_of(
        &mut self,
        customer: &str,
        at: i64,
    ) -> Result<Vec<DecisionRow>, StoreError>;

    /// Decisions not yet joined whose window ended at or before `now`, oldest first.
    fn due_decisions(&mut self, now: i64, limit: usize) -> Result<Vec<DecisionRow>, StoreError>;

    /// Order lines of `customer` with `from <= at <= to`, in time order.
    fn order_lines_between(
        &mut self,
        customer: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<OrderLineFact>, StoreError>;

    /// Records the outcome of a decision and settles its budget reservation (charging
    /// `outcome.charged`, releasing the rest), in one transaction. False if the decision already
    /// had an outcome or does not exist.
    fn record_outcome(&mut self, outcome: &OutcomeRow) -> Result<bool, StoreError>;

    fn outcome(&mut self, decision_id: &str) -> Result<Option<OutcomeRow>, StoreError>;

    /// The joined log: decisions with `from <= at < to` in time order, each with its outcome
    /// when known. What every learner and evaluator reads.
    fn joined_decisions(
        &mut self,
        from: i64,
        to: i64,
    ) -> Result<Vec<(DecisionRow, Option<OutcomeRow>)>, StoreError>;

    /// The same joined log as [`Self::joined_decisions`], one decision at a time without holding
    /// them all: rows stream from the store as they are read, so exports of any size run in flat
    /// memory. `visit` returns `Break` to stop early. Returns how many decisions were visited.
    fn scan_joined_decisions(
        &mut self,
        from: i64,
        to: i64,
        visit: &mut dyn FnMut(DecisionRow, Option<OutcomeRow>) -> std::ops::ControlFlow<()>,
    ) -> Result<u64, StoreError>;

    /// The latest `limit` decisions, newest first, each with its outcome when known: the recent
    /// offer mix, gate actions and arm results a dashboard shows.
    fn recent_decisions(
        &mut self,
        limit: usize,
    ) -> Result<Vec<(DecisionRow, Option<OutcomeRow>)>, StoreError>;

    /// Decisions and outcomes recorded: `(decisions, open, outcomes)`.
    fn log_counts(&mut self) -> Result<(i64, i64, i64), StoreError>;

    /// Erases one customer (the stored id): deletes their events, order lines and user record,
    /// anonymises their decisions (see [`anonymised`]), keeps outcomes and budgets (which hold no
    /// id), and writes an audit record without the id; in one transaction.
    fn erase_customer(
        &mut self,
        customer: &str,
        salt: &[u8],
        at: i64,
        reason: &str,
    ) -> Result<Erasure, StoreError>;

    /// Retention: the same for everything older than `cutoff` (events deleted, decisions
    /// anonymised), whoever it belongs to.
    fn erase_before(&mut self, cutoff: i64, salt: &[u8], at: i64) -> Result<Erasure, StoreError>;

    /// Moves committed pages from the write-ahead log into the database file without blocking
    /// writers, and with `restart` then rewinds the log (holding writers briefly) (SQLite);
    /// nothing elsewhere. The service calls it from a background thread so that no request pays
    /// for a checkpoint.
    fn checkpoint(&mut self, _restart: bool) -> Result<(), StoreError> {
        Ok(())
    }
}

/// API keys of the service.
pub trait KeyStore {
    fn create_key(&mut self, key: &ApiKeyRow) -> Result<(), StoreError>;

    fn key(&mut self, id: &str) -> Result<Option<ApiKeyRow>, StoreError>;

    fn keys(&mut self) -> Result<Vec<ApiKeyRow>, StoreError>;

    /// False if no such key or already revoked.
    fn revoke_key(&mut self, id: &str, at: i64) -> Result<bool, StoreError>;
}

/// Budgets: totals, holds and what is spent.
pub trait BudgetStore {
    /// Creates a budget, or sets the total of an existing one (keeping what is spent/reserved).
    fn set_budget(&mut self, id: &str, currency: &str, total: i64) -> Result<(), StoreError>;

    fn budget(&mut self, id: &str) -> Result<Option<BudgetRow>, StoreError>;

    fn budgets(&mut self) -> Result<Vec<BudgetRow>, StoreError>;

    /// Atomically holds `amount` of the budget if `spent + reserved + amount <= total`, and
    /// counts it as in flight for `holder` (a serving process) until a decision carries it; the
    /// remaining amount after the hold, or `None` when it does not fit (or no such budget).
    fn reserve(
        &mut self,
        holder: &str,
        id: &str,
        amount: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;

    /// Gives back an in-flight hold of `holder` that no decision will use.
    fn release(&mut self, holder: &str, id: &str, amount: i64) -> Result<(), StoreError>;

    /// Says that `holder` is alive: its in-flight holds are not expired.
    fn heartbeat_holds(&mut self, holder: &str, now: i64) -> Result<(), StoreError>;

    /// Releases the in-flight holds of every holder not heard from since `stale_before` (a
    /// process killed between holding and logging); the amount given back to the budgets.
    fn expire_holds(&mut self, stale_before: i64) -> Result<i64, StoreError>;
}

/// The policy registry: versions, the active one, apprentice mode.
pub trait PolicyStore {
    /// Registers a policy (inactive) with its engine configuration; false if the version exists.
    fn register_policy(&mut self, version: &str, config: &str, at: i64)
        -> Result<bool, StoreError>;

    fn policies(&mut self) -> Result<Vec<PolicyRow>, StoreError>;

    /// Makes `version` the only active policy; false if unknown.
    fn activate_policy(&mut self, version: &str) -> Result<bool, StoreError>;

    /// Re-activates the policy active before the current one; its version, or `None` if there
    /// is no earlier one.
    fn roll_back_policy(&mut self) -> Result<Option<String>, StoreError>;

    /// Sets apprentice mode of `version`; false if unknown.
    fn set_apprentice(&mut self, version: &str, on: bool) -> Result<bool, StoreError>;
}

/// Opens the decision log at a store URL (the same URLs as [`crate::open`]), running migrations.
pub fn open_decision_log(url: &str) -> Result<Box<dyn DecisionLog>, StoreError> {
    Ok(match crate::Backend::of(url)? {
        crate::Backend::Postgres(url) => {
            Box::new(crate::postgres_log::PostgresDecisionLog::connect(url)?)
        }
        crate::Backend::Sqlite(path) => Box::new(crate::sqlite_log::SqliteDecisionLog::open(path)?),
    })
}

/// The joined scan's query: each decision with `from <= at < to` in time order (ties by id),
/// its 16 columns followed by the 10 of its outcome (all null when it has none); `from` and `to`
/// are the backend's placeholders for the two bounds.
pub(crate) fn joined_scan_sql(
    decision_columns: &str,
    outcome_columns: &str,
    from: &str,
    to: &str,
) -> String {
    format!(
        "SELECT d.*, o.* FROM (SELECT {decision_columns} FROM decisions WHERE at >= {from} AND at < {to}) d
         LEFT JOIN (SELECT {outcome_columns} FROM decision_outcomes) o ON o.decision_id = d.id
         ORDER BY d.at, d.id"
    )
}

/// Pairs decisions (in order) with the outcomes found for them.
pub(crate) fn join_outcomes(
    decisions: Vec<DecisionRow>,
    outcomes: Vec<OutcomeRow>,
) -> Vec<(DecisionRow, Option<OutcomeRow>)> {
    let mut by_id: std::collections::HashMap<String, OutcomeRow> = outcomes
        .into_iter()
        .map(|o| (o.decision_id.clone(), o))
        .collect();
    decisions
        .into_iter()
        .map(|d| {
            let o = by_id.remove(&d.id);
            (d, o)
        })
        .collect()
}

/// The offer id a decision logged with its request, if any (requests logged before offer ids
/// were recorded, or by another writer, carry none).
pub fn logged_offer_id(request: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Logged {
        #[serde(default)]
        offer_id: String,
    }
    let logged: Logged = serde_json::from_str(request).ok()?;
    (!logged.offer_id.is_empty()).then_some(logged.offer_id)
}
