//! What several `discount serve` processes share through Redis (`server.redis_url`): customers'
//! profile states and the per-key rate limits.
//!
//! Every key starts with `server.redis_prefix`: `{prefix}profile:{customer}` holds a profile
//! state's JSON, `{prefix}rate:{key id}` a token bucket. The bucket is taken by one Lua script
//! on Redis's own clock, so that processes with skewed clocks still share one rate. A state is
//! replaced by a compare-and-set script, so that two processes updating one customer at once do
//! not lose either update; and a reader trusts a state only after checking it against the store
//! (see [`crate::profiles`]), so whatever races remain cost a rebuild, never a wrong profile.

use std::sync::Mutex;
use std::time::Duration;

use crate::error::ServerError;

/// How long one Redis command may take before the caller gives up on it.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Takes one token from `KEYS[1]` (refilled at `ARGV[1]` per second up to `ARGV[1]`, one
/// second's worth). Returns `{1, 0}` when taken, else `{0, seconds until a token is there}`.
const TAKE_TOKEN: &str = r#"
local rate = tonumber(ARGV[1])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or rate
local at = tonumber(bucket[2]) or now
if now > at then
  tokens = math.min(rate, tokens + (now - at) / 1000000 * rate)
else
  now = at
end
local taken = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
else
  wait = math.max(1, math.ceil((1 - tokens) / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
-- A bucket left alone for a second is full again, the same as no bucket.
redis.call('PEXPIRE', KEYS[1], 2000)
return {taken, wait}
"#;

/// Replaces `KEYS[1]` by `ARGV[2]` if it still holds `ARGV[1]`; returns 1 if replaced. Sent as
/// EVAL in a pipeline (its text is short next to the states it compares).
const COMPARE_AND_SET: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"#;

/// A connection pool to one Redis and the scripts run on it.
pub struct RedisShared {
    client: redis::Client,
    idle: Mutex<Vec<redis::Connection>>,
    prefix: String,
    take_token: redis::Script,
}

/// The outcome of one rate-limited request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    Taken,
    /// Refused: whole seconds until the bucket holds a token again.
    Wait(u64),
}

impl RedisShared {
    /// Connects to `url` and checks that the server answers.
    pub fn connect(url: &str, prefix: &str) -> Result<Self, ServerError> {
        let bad =
            |e: redis::RedisError| ServerError::Config(format!("server.redis_url `{url}`: {e}"));
        let client = redis::Client::open(url).map_err(bad)?;
        let shared = Self {
            client,
            idle: Mutex::new(Vec::new()),
            prefix: prefix.to_string(),
            take_token: redis::Script::new(TAKE_TOKEN),
        };
        shared
            .with(|c| redis::cmd("PING").query::<String>(c))
            .map_err(bad)?;
        Ok(shared)
    }

    /// Runs `f` on an idle connection (opening one if none is idle); a connection that failed is
    /// dropped, since it may be broken.
    fn with<R>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<R>,
    ) -> redis::RedisResult<R> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match taken {
            Some(c) => c,
            None => {
                let c = self.client.get_connection_with_timeout(TIMEOUT)?;
                c.set_read_timeout(Some(TIMEOUT))?;
                c.set_write_timeout(Some(TIMEOUT))?;
                c
            }
        };
        let result = f(&mut conn);
        if result.is_ok() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
        result
    }

    fn profile_key(&self, customer: &str) -> String {
        format!("{}profile:{customer}", self.prefix)
    }

    /// The customer's profile state (JSON), if Redis holds one.
    pub fn state(&self, customer: &str) -> redis::RedisResult<Option<String>> {
        let key = self.profile_key(customer);
        self.with(|c| redis::cmd("GET").arg(&key).query(c))
    }

    /// The states of several customers, in order, in one round trip.
    pub fn states(&self, customers: &[String]) -> redis::RedisResult<Vec<Option<String>>> {
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = customers.iter().map(|c| self.profile_key(c)).collect();
        self.with(|c| redis::cmd("MGET").arg(&keys).query(c))
    }

    /// Stores a customer's state.
    pub fn put_state(&self, customer: &str, json: &str) -> redis::RedisResult<()> {
        let key = self.profile_key(customer);
        self.with(|c| redis::cmd("SET").arg(&key).arg(json).query(c))
    }

    /// Replaces each `(customer, old, new)` whose state is still `old`, in one round trip;
    /// returns whether each was replaced.
    pub fn swap_states(
        &self,
        updates: &[(String, String, String)],
    ) -> redis::RedisResult<Vec<bool>> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        self.with(|c| {
            let mut pipe = redis::pipe();
            for (customer, old, new) in updates {
                pipe.cmd("EVAL")
                    .arg(COMPARE_AND_SET)
                    .arg(1)
                    .arg(self.profile_key(customer))
                    .arg(old)
                    .arg(new);
            }
            let replaced: Vec<i64> = pipe.query(c)?;
            Ok(replaced.into_iter().map(|r| r == 1).collect())
        })
    }

    /// Drops customers' states (the next decision rebuilds them).
    pub fn delete_states(&self, customers: &[String]) -> redis::RedisResult<()> {
        if customers.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = customers.iter().map(|c| self.profile_key(c)).collect();
        self.with(|c| redis::cmd("DEL").arg(&keys).query(c))
    }

    /// Takes a token from the key's bucket, shared by every process on this Redis.
    pub fn take_token(&self, key_id: &str, rate: f64) -> redis::RedisResult<Token> {
        let key = format!("{}rate:{key_id}", self.prefix);
        let (taken, wait): (i64, i64) =
            self.with(|c| self.take_token.key(&key).arg(rate).invoke(c))?;
        Ok(if taken == 1 {
            Token::Taken
        } else {
            Token::Wait(wait.max(1) as u64)
        })
    }
}
