//! API keys: `dk_<id>_<secret>` tokens with a role, stored as the SHA-256 of the secret and
//! compared in constant time; a token bucket per key limits its request rate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use discount_store::decision_log::ApiKeyRow;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::pool::LogPool;
use crate::redis_shared::{RedisShared, Token};

/// What a key may do. `admin` may do everything; `decide` asks for decisions and reports
/// outcomes; `ingest` sends events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Ingest,
    Decide,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Decide => "decide",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ingest" => Some(Role::Ingest),
            "decide" => Some(Role::Decide),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn allows(self, needed: Role) -> bool {
        self == Role::Admin || self == needed
    }
}

/// A key just created: the token is shown once and never stored.
#[derive(Clone, Debug, Serialize)]
pub struct NewKey {
    pub token: String,
    pub row: ApiKeyRow,
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Makes a key. Secrets come from the operating system's generator: a token must not be
/// reproducible from anything an attacker could know, unlike the seeded draws of decisions.
pub fn new_key(name: &str, role: Role, rate_per_second: Option<i64>, now: i64) -> NewKey {
    let mut bytes = [0u8; 22];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let id = hex::encode(&bytes[..6]);
    let secret = hex::encode(&bytes[6..]);
    NewKey {
        token: format!("dk_{id}_{secret}"),
        row: ApiKeyRow {
            id,
            name: name.to_string(),
            role: role.as_str().to_string(),
            secret_hash: hash_secret(&secret),
            rate_per_second,
            created_at: now,
            revoked_at: None,
        },
    }
}

/// Splits `dk_<id>_<secret>`.
pub fn parse_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix("dk_")?;
    let (id, secret) = rest.split_once('_')?;
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    pub key_id: String,
    pub role: Role,
}

impl Caller {
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "this key has role `{}`; this endpoint needs role `{}` (or `admin`)",
                    self.role.as_str(),
                    needed.as_str()
                ),
            )
            .in_field(AUTHORIZATION))
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Verifies tokens against the stored keys (cached for a second, so that a revocation reaches
/// every process within a second) and applies the per-key rate limits.
pub struct Authenticator {
    pool: Arc<LogPool>,
    cache: Mutex<HashMap<String, (Option<ApiKeyRow>, Instant)>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    default_rate: f64,
    /// When set, the buckets live in Redis, shared by every process that uses it.
    redis: Option<Arc<RedisShared>>,
}

/// The header that carries the API key, named as the field at fault in 401, 403 and 429 answers.
const AUTHORIZATION: &str = "Authorization";

const KEY_CACHE_TTL: Duration = Duration::from_secs(1);
const KEYS_CACHED: usize = 10_000;

impl Authenticator {
    pub fn new(pool: Arc<LogPool>, default_rate: u32) -> Self {
        Self {
            pool,
            cache: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            default_rate: f64::from(default_rate.max(1)),
            redis: None,
        }
    }

    /// Takes the rate limits' tokens from Redis, so that a key's rate holds across every process
    /// that shares it (`None`: in this process).
    pub fn with_redis(self, redis: Option<Arc<RedisShared>>) -> Self {
        Self { redis, ..self }
    }

    /// A 401 naming the `Authorization` header, the request field every key problem lies in.
    fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).in_field(AUTHORIZATION)
    }

    /// Checks the `Authorization: Bearer <token>` header value.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Caller, ApiError> {
        let header = header.ok_or_else(|| {
            Self::unauthorized("missing `Authorization: Bearer <api key>` header; create a key with `discount keys create`")
        })?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| {
                Self::unauthorized("the Authorization header must be `Bearer <api key>`")
            })?
            .trim();
        let (id, secret) = parse_token(token)
            .ok_or_else(|| Self::unauthorized("malformed API key: expected dk_<id>_<secret>"))?;
        let row = self.lookup(id).await?;
        let presented = hash_secret(secret);
        // Compare in constant time even when the id is unknown, so timing tells nothing.
        let stored = row.as_ref().map_or("", |r| r.secret_hash.as_str());
        let matches: bool = presented.as_bytes().ct_eq(stored.as_bytes()).into();
        let row = match row {
            Some(r) if matches => r,
            _ => return Err(Self::unauthorized("unknown API key")),
        };
        if row.revoked_at.is_some() {
            return Err(Self::unauthorized("this API key was revoked"));
        }
        let role = Role::parse(&row.role).ok_or_else(|| {
            ApiError::internal("reading a key", format!("unknown role {}", row.role))
        })?;
        let rate = row
            .rate_per_second
            .map_or(self.default_rate, |r| r.max(1) as f64);
        match &self.redis {
            Some(redis) => self.take_shared_token(redis, &row.id, rate).await?,
            None => self.take_token(&row.id, rate)?,
        }
        Ok(Caller {
            key_id: row.id,
            role,
        })
    }

    async fn lookup(&self, id: &str) -> Result<Option<ApiKeyRow>, ApiError> {
        if let Some((row, at)) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            if at.elapsed() < KEY_CACHE_TTL {
                return Ok(row.clone());
            }
        }
        let owned = id.to_string();
        let row = self.pool.run(move |log| log.key(&owned)).await?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= KEYS_CACHED {
            cache.clear();
        }
        cache.insert(id.to_string(), (row.clone(), Instant::now()));
        Ok(row)
    }

    /// A token from the key's bucket in Redis; if Redis cannot be reached, from this process's
    /// bucket (the limit then holds per process), so that its outage does not stop the service.
    async fn take_shared_token(
        &self,
        redis: &Arc<RedisShared>,
        key_id: &str,
        rate: f64,
    ) -> Result<(), ApiError> {
        let (shared, key) = (Arc::clone(redis), key_id.to_string());
        let taken = tokio::task::spawn_blocking(move || shared.take_token(&key, rate)).await?;
        match taken {
            Ok(Token::Taken) => Ok(()),
            Ok(Token::Wait(wait)) => Err(rate_limited(rate, wait)),
            Err(e) => {
                tracing::warn!("rate limit in Redis: {e}; limiting in this process");
                self.take_token(key_id, rate)
            }
        }
    }

    fn take_token(&self, key_id: &str, rate: f64) -> Result<(), ApiError> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let b = buckets.entry(key_id.to_string()).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(rate);
        b.at = now;
        if b.tokens < 1.0 {
            // Whole seconds until the bucket holds a token again.
            let wait = ((1.0 - b.tokens) / rate).ceil().max(1.0) as u64;
            return Err(rate_limited(rate, wait));
        }
        b.tokens -= 1.0;
        Ok(())
    }
}

/// 429 with `Retry-After: wait`.
fn rate_limited(rate: f64, wait: u64) -> ApiError {
    ApiError {
        retry_after_seconds: Some(wait),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("this key is limited to {rate} requests per second; retry after {wait} s"),
        )
        .in_field(AUTHORIZATION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_roles_nest() {
        let k = new_key("ci", Role::Decide, None, 0);
        let (id, secret) = parse_token(&k.token).unwrap();
        assert_eq!(id, k.row.id);
        assert_eq!(hash_secret(secret), k.row.secret_hash);
        assert!(!k.token.contains(&k.row.secret_hash));
        assert!(parse_token("dk__x").is_none() && parse_token("bearer").is_none());
        assert!(Role::Admin.allows(Role::Ingest) && !Role::Ingest.allows(Role::Decide));
    }
}
