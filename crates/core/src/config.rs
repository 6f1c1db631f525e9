//! The one configuration file (`discount.toml`) with environment overrides.
//!
//! Every key can be overridden by an environment variable named `DISCOUNT_<SECTION>__<KEY>`, e.g.
//! `DISCOUNT_STORE__URL=postgres://127.0.0.1/test`. Values are read as TOML scalars (numbers,
//! booleans), falling back to plain strings. Unknown keys are refused so that typos surface.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::CoreError;

pub const ENV_PREFIX: &str = "DISCOUNT_";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub store: StoreConfig,
    pub ingest: IngestConfig,
    pub privacy: PrivacyConfig,
    pub server: ServerConfig,
    pub intake: IntakeConfig,
}

/// `discount serve`: the decision service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on, e.g. `127.0.0.1:8080` (port 0 picks a free port).
    pub bind: String,
    /// The engine configuration (TOML) the service decides with.
    pub engine: Option<String>,
    /// Fraud scores (JSON Lines of `discount fraud scan --scores-out`) for the offer gate;
    /// reloaded when the file changes.
    pub risk_scores: Option<String>,
    /// Orders within this many days after a decision are attributed to it.
    pub attribution_window_days: f64,
    /// Request bodies larger than this are refused with 413.
    pub body_limit_bytes: usize,
    /// Requests per second allowed to a key without its own limit (burst: one second's worth).
    pub rate_limit_per_second: u32,
    /// How often (seconds) closed attribution windows are settled.
    pub join_interval_seconds: f64,
    /// Profit credited to a decision whose window closes without an order, minor units.
    pub default_reward: i64,
    /// Cost of goods as a share of the list price for items without a known unit cost.
    pub unknown_cost_ratio: f64,
    /// Currency of the budgets, ISO 4217.
    pub currency: String,
    /// Seed of the decisions' random draws (each decision's draw is seeded from it and its id).
    pub seed: u64,
    /// A client must send a request's headers within this many seconds of connecting (or of its
    /// previous request on a kept-alive connection), else the connection is closed.
    pub header_timeout_seconds: f64,
    /// A request (reading its body included) that takes longer is answered 408 and dropped.
    pub request_timeout_seconds: f64,
    /// On PostgreSQL, budget held by a process that has not been heard from for this long (it
    /// died between holding and logging a decision) is given back to the budget.
    pub hold_expiry_seconds: f64,
    /// How often the active policy's budgets with a period are paced (their shadow price moved
    /// toward the even spend curve).
    pub pacing_interval_seconds: f64,
    /// Least severe log level written: `error`, `warn`, `info` (one access line per request),
    /// `debug` or `trace`.
    pub log_level: String,
    /// `text` (one readable line per event) or `json` (one JSON object per line, for a log
    /// pipeline).
    pub log_format: String,
    /// Customers whose profile state is kept in memory, updated as their events arrive (0: every
    /// decision rebuilds the profile from the history). Unused when `redis_url` is set.
    pub profile_cache_entries: usize,
    /// `redis://HOST:PORT`: profile states and per-key rate limits live in this Redis, shared by
    /// every `discount serve` that names it. Unset: each process keeps its own.
    pub redis_url: Option<String>,
    /// Prefix of every key written to Redis, so that services (or tests) can share one server.
    pub redis_prefix: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            engine: None,
            risk_scores: None,
            attribution_window_days: 7.0,
            body_limit_bytes: 1 << 20,
            rate_limit_per_second: 20_000,
            join_interval_seconds: 60.0,
            default_reward: 0,
            unknown_cost_ratio: 0.7,
            currency: "USD".into(),
            seed: 7,
            header_timeout_seconds: 10.0,
            request_timeout_seconds: 30.0,
            hold_expiry_seconds: 60.0,
            pacing_interval_seconds: 60.0,
            log_level: "info".into(),
            log_format: "text".into(),
            profile_cache_entries: 100_000,
            redis_url: None,
            redis_prefix: "discount:".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://PATH` (the embedded default) or `postgres://...` for several processes.
    pub url: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://discount.sqlite".into(),
        }
    }
}

/// What to do with an order line, view or review that names an item the store does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownItems {
    /// Accept the event and register a placeholder item (category `unknown`, list price taken from
    /// the line); a later item record replaces the placeholder.
    Register,
    /// Reject the event; the item must be ingested first.
    Reject,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Records written per transaction.
    pub batch_size: usize,
    pub unknown_items: UnknownItems,
    /// Lines longer than this are rejected without being held in memory.
    pub max_line_bytes: usize,
    /// Where rejected rows are written with their reasons.
    pub quarantine_dir: String,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            batch_size: 5_000,
            unknown_items: UnknownItems::Register,
            max_line_bytes: 1 << 20,
            quarantine_dir: "quarantine".into(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// When set (16 bytes or more), customer ids are replaced by a keyed hash at every edge
    /// (ingestion, every route of the service, the commands that take a customer id).
    pub pseudonymise_key: Option<String>,
    /// When set, `discount serve` erases every hour what is older than this many days (events
    /// deleted, decisions anonymised), as `discount customers retain --days N` does.
    pub retention_days: Option<u32>,
}

/// `discount serve`'s event intake from a NATS JetStream stream, besides `POST /v1/events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeConfig {
    /// `nats://HOST:PORT[/STREAM[/CONSUMER]]`: consume records from this JetStream server (the
    /// stream and durable consumer named in the path replace `nats_stream` and `nats_consumer`).
    /// Unset: no intake.
    pub events_from: Option<String>,
    /// The stream to read; created (over `nats_subject`) when it does not exist.
    pub nats_stream: String,
    /// The subject the stream is created over, and the consumer's filter.
    pub nats_subject: String,
    /// The durable pull consumer: its acknowledged position survives restarts.
    pub nats_consumer: String,
    /// Messages fetched and written in one transaction.
    pub nats_batch: usize,
    /// A message fetched but not acknowledged within this many seconds (the process died before
    /// its commit or its acknowledgement) is delivered again.
    pub nats_ack_wait_seconds: f64,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            events_from: None,
            nats_stream: "DISCOUNT_EVENTS".into(),
            nats_subject: "discount.events".into(),
            nats_consumer: "discount-serve".into(),
            nats_batch: 1_000,
            nats_ack_wait_seconds: 30.0,
        }
    }
}

impl Config {
    /// Loads `path` if given (it must exist), else `discount.toml` if present, else defaults;
    /// then applies `DISCOUNT_*` environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, CoreError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| CoreError::Io {
                path: p.display().to_string(),
                source,
            })?,
            None => std::fs::read_to_string("discount.toml").unwrap_or_default(),
        };
        let source = path.map_or("discount.toml".to_string(), |p| p.display().to_string());
        Self::from_toml_and_env(&text, &source, std::env::vars())
    }

    /// Parses TOML text, then applies overrides from `(name, value)` pairs.
    pub fn from_toml_and_env(
        text: &str,
        source: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, CoreError> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| CoreError::Config(format!("{source}: {e}")))?;
        Self::from_table(table.clone()).map_err(|e| CoreError::Config(format!("{source}: {e}")))?;
        let mut overrides: Vec<(String, String)> = env
            .into_iter()
            .filter(|(name, _)| {
                name.strip_prefix(ENV_PREFIX)
                    .is_some_and(|path| path != "CONFIG" && path.contains("__"))
            })
            .collect();
        overrides.sort();
        for (name, value) in overrides {
            let path = &name[ENV_PREFIX.len()..];
            let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
            // The text as a string first: a key of only digits, or a name like `1e3`, stays what
            // was written; numbers and booleans are tried only where a string does not fit.
            let mut as_text = table.clone();
            set_path(&mut as_text, &keys, toml::Value::String(value.clone()))
                .map_err(|e| CoreError::Config(format!("{name}: {e}")))?;
            if Self::from_table(as_text.clone()).is_ok() {
                table = as_text;
                continue;
            }
            let mut typed = table.clone();
            set_path(&mut typed, &keys, scalar(&value))
                .map_err(|e| CoreError::Config(format!("{name}: {e}")))?;
            Self::from_table(typed.clone())
                .map_err(|e| CoreError::Config(format!("{name}={value:?} (over {source}): {e}")))?;
            table = typed;
        }
        Self::from_table(table)
            .map_err(|e| CoreError::Config(format!("{source} (with DISCOUNT_* overrides): {e}")))
    }

    fn from_table(table: toml::Table) -> Result<Self, toml::de::Error> {
        toml::Value::Table(table).try_into()
    }
}

fn scalar(text: &str) -> toml::Value {
    if let Ok(i) = text.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(f) = text.parse::<f64>() {
        return toml::Value::Float(f);
    }
    match text {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(text.to_string()),
    }
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    match keys {
        [] => Err("empty key".into()),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => set_path(t, rest, value),
                _ => Err(format!("`{first}` is not a section")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_and_typos_are_refused() {
        let text = "[store]\nurl = \"sqlite://a.db\"\n[ingest]\nbatch_size = 10\n";
        let env = vec![
            (
                "DISCOUNT_STORE__URL".to_string(),
                "postgres://x/y".to_string(),
            ),
            (
                "DISCOUNT_INGEST__UNKNOWN_ITEMS".to_string(),
                "reject".to_string(),
            ),
            ("HOME".to_string(), "/root".to_string()),
        ];
        let c = Config::from_toml_and_env(text, "t.toml", env).unwrap();
        assert_eq!(c.store.url, "postgres://x/y");
        assert_eq!(c.ingest.batch_size, 10);
        assert_eq!(c.ingest.unknown_items, UnknownItems::Reject);

        let e = Config::from_toml_and_env("[store]\nurll = 1\n", "t.toml", vec![])
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml") && e.contains("urll"), "{e}");
        let e = Config::from_toml_and_env(
            "",
            "t.toml",
            vec![("DISCOUNT_INGEST__BATCH_SIZE".into(), "many".into())],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("batch_size"), "{e}");
    }

    #[test]
    fn string_keys_keep_their_text_from_the_environment() {
        let env = vec![
            (
                "DISCOUNT_PRIVACY__PSEUDONYMISE_KEY".to_string(),
                "0012345678901234567".to_string(),
            ),
            ("DISCOUNT_SERVER__CURRENCY".to_string(), "true".to_string()),
            ("DISCOUNT_SERVER__SEED".to_string(), "42".to_string()),
        ];
        let c = Config::from_toml_and_env("", "t.toml", env).unwrap();
        assert_eq!(
            c.privacy.pseudonymise_key.as_deref(),
            Some("0012345678901234567")
        );
        assert_eq!(c.server.currency, "true");
        assert_eq!(c.server.seed, 42);
    }
}
