//! The service: its shared state, the route table (from which both the router and the OpenAPI
//! check are built), and `serve` with graceful shutdown.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use discount_core::config::{Config, ServerConfig};
use discount_policy::EngineConfig;
use discount_store::Store;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::auth::{Authenticator, Caller};
use crate::clock::{Clock, SystemClock};
use crate::error::{ApiError, ServerError};
use crate::metrics::Metrics;
use crate::policies::Registry;
use crate::pool::{LogPool, OffRuntime};
use crate::routes;
use crate::writer::DecisionWriter;

pub type Shared = Arc<AppState>;

pub struct AppState {
    pub config: Config,
    pub pool: Arc<LogPool>,
    pub writer: DecisionWriter,
    pub events: Arc<Mutex<OffRuntime<Box<dyn Store>>>>,
    pub auth: Authenticator,
    /// How customer ids from requests map to stored ids (pseudonyms when a key is configured).
    pub customer_ids: discount_core::CustomerIds,
    /// Held for the life of the process on the embedded store: a second `discount serve` on the
    /// same file is refused (its in-memory budget ledger would not see this one's holds).
    _single_writer: Option<std::fs::File>,
    pub policies: Registry,
    /// The registry's active `recommend` model, for `POST /v1/recommendations`.
    pub recommendations: routes::recommendations::Recommendations,
    pub metrics: Metrics,
    pub clock: Arc<dyn Clock>,
    /// Distinguishes this process's decision ids from every other's.
    pub instance: String,
    pub counter: AtomicU64,
    pub shutting_down: AtomicBool,
    /// The PostgreSQL client blocks on its own runtime, so engine calls that may touch the
    /// shared ledger run on the blocking pool.
    pub blocking_ledger: bool,
    background_join: bool,
    /// Customers' profile states (in memory, or in Redis when `server.redis_url` is set).
    pub profiles: Arc<crate::profiles::ProfileStates>,
}

impl AppState {
    pub fn server(&self) -> &ServerConfig {
        &self.config.server
    }

    pub async fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let header = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        self.auth.authenticate(header).await
    }

    pub fn next_decision_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::AcqRel);
        format!("d-{}-{n:x}", self.instance)
    }

    pub fn window_micros(&self) -> i64 {
        (self.server().attribution_window_days * discount_core::time::MICROS_PER_DAY as f64) as i64
    }
}

/// How a service is started.
pub struct Options {
    pub config: Config,
    /// The engine to install (registered as a policy, activated if none is active).
    pub engine: Option<EngineConfig>,
    pub clock: Arc<dyn Clock>,
    /// Run the attribution sweep in the background every `join_interval_seconds`.
    pub background_join: bool,
    /// Fraud scores for every policy's offer gate (none: every customer is unscored).
    pub risk: Option<Arc<dyn discount_core::RiskScores>>,
}

impl Options {
    pub fn new(config: Config, engine: Option<EngineConfig>) -> Self {
        Self {
            config,
            engine,
            clock: Arc::new(SystemClock),
            background_join: true,
            risk: None,
        }
    }
}

/// One route: method, path (OpenAPI style, `{id}`), handler.
pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub handler: MethodRouter<Shared>,
}

/// Every route the service answers. The router and the OpenAPI check both read this table.
pub fn route_table() -> Vec<RouteDef> {
    let r = |method: Method, path: &'static str, handler: MethodRouter<Shared>| RouteDef {
        method,
        path,
        handler,
    };
    vec![
        r(Method::GET, "/healthz", get(routes::health::healthz)),
        r(Method::GET, "/readyz", get(routes::health::readyz)),
        r(Method::GET, "/metrics", get(routes::health::metrics)),
        r(
            Method::GET,
            "/v1/openapi.json",
            get(routes::health::openapi),
        ),
        r(
            Method::POST,
            "/v1/decisions",
            post(routes::decisions::create),
        ),
        r(
            Method::GET,
            "/v1/decisions/{id}",
            get(routes::decisions::read),
        ),
        r(Method::POST, "/v1/events", post(routes::events::ingest)),
        r(Method::POST, "/v1/outcomes", post(routes::outcomes::report)),
        r(
            Method::POST,
            "/v1/outcomes/settle",
            post(routes::outcomes::settle),
        ),
        r(
            Method::GET,
            "/v1/customers/{id}/profile",
            get(routes::admin::profile),
        ),
        r(
            Method::DELETE,
            "/v1/customers/{id}",
            axum::routing::delete(routes::admin::erase),
        ),
        r(
            Method::GET,
            "/v1/policies",
            get(routes::admin::list_policies),
        ),
        r(
            Method::POST,
            "/v1/policies",
            post(routes::admin::register_policy),
        ),
        r(
            Method::POST,
            "/v1/policies/{version}/activate",
            post(routes::admin::activate),
        ),
        r(
            Method::POST,
            "/v1/policies/rollback",
            post(routes::admin::roll_back),
        ),
        r(
            Method::POST,
            "/v1/policies/{version}/apprentice",
            post(routes::admin::apprentice),
        ),
        r(Method::GET, "/v1/models", get(routes::models::list)),
        r(
            Method::POST,
            "/v1/models/{id}/promote",
            post(routes::models::promote),
        ),
        r(
            Method::POST,
            "/v1/models/rollback",
            post(routes::models::roll_back),
        ),
        r(Method::GET, "/v1/budgets", get(routes::admin::budgets)),
        r(
            Method::POST,
            "/v1/recommendations",
            post(routes::recommendations::create),
        ),
        r(Method::GET, "/v1/budgets/{id}", get(routes::admin::budget)),
        r(Method::GET, "/v1/stats/live", get(routes::live::live)),
        r(Method::GET, "/v1/stats/recent", get(routes::live::recent)),
        r(
            Method::GET,
            "/v1/fraud/alerts",
            get(routes::live::fraud_alerts),
        ),
    ]
}

/// `{id}` (OpenAPI) to `:id` (axum 0.7).
pub fn axum_path(path: &str) -> String {
    path.split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => format!(":{name}"),
                None => seg.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

pub fn router(state: Shared) -> Router {
    let mut router: Router<Shared> = Router::new();
    let mut by_path: Vec<(String, Vec<Method>, MethodRouter<Shared>)> = Vec::new();
    for def in route_table() {
        let path = axum_path(def.path);
        match by_path.iter_mut().find(|(p, _, _)| *p == path) {
            Some((_, methods, existing)) => {
                let merged = std::mem::take(existing).merge(def.handler);
                *existing = merged;
                methods.push(def.method);
            }
            None => by_path.push((path, vec![def.method], def.handler)),
        }
    }
    for (path, methods, handler) in by_path {
        // A method the path does not take answers the JSON error too, naming what it takes.
        let handler = handler.fallback(move || {
            let methods = methods.clone();
            async move { crate::error::method_not_allowed(&methods) }
        });
        router = router.route(&path, handler);
    }
    // The dashboard's pages (the JSON they read is in the route table).
    router = router.merge(crate::ui::router());
    let limit = state.server().body_limit_bytes;
    router
        .fallback(|| async {
            ApiError::not_found("no such route; the API is described at /v1/openapi.json")
                .in_field("path")
        })
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// The caller's request id when it is a sane token (1 to 64 of `A-Za-z0-9._-`), else a new one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
        .map_or_else(|| format!("{:016x}", rand::random::<u64>()), str::to_string)
}

/// The key id a request presents (the part of `dk_<id>_<secret>` before the secret), for the
/// access log; never the secret. Not yet checked: the route's authentication decides.
fn presented_key_id(headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let (id, _) = crate::auth::parse_token(token.trim())?;
    (id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .then(|| id.to_string())
}

/// Gives every request an id (the caller's `X-Request-Id` or a new one, echoed in the response),
/// runs it inside a span carrying that id so that every log line it causes names it, writes one
/// access line (route, status, latency, key id), and counts and times it by route and status.
async fn observe(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_string(), |p| p.as_str().to_string());
    let id = request_id(req.headers());
    let key_id = presented_key_id(req.headers());
    let method = req.method().clone();
    let span = tracing::info_span!("request", request_id = %id);
    let start = Instant::now();
    let limit = Duration::from_secs_f64(state.server().request_timeout_seconds.max(0.01));
    let mut response =
        match tokio::time::timeout(limit, next.run(req).instrument(span.clone())).await {
            Ok(response) => response,
            Err(_) => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!(
                    "the request took longer than server.request_timeout_seconds = {}",
                    state.server().request_timeout_seconds
                ),
            )
            .into_response(),
        };
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            target: "discount::access",
            method = %method,
            route = %route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1e3,
            key_id = key_id.as_deref().unwrap_or("-"),
            "request"
        );
    });
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = status.to_string();
    let m = &state.metrics;
    m.requests.with_label_values(&[&route, &status]).inc();
    m.latency
        .with_label_values(&[&route, &status])
        .observe(elapsed.as_secs_f64());
    response
}

/// Builds the state: opens the store, starts the decision writer, installs the engine. Call it
/// outside the async runtime (the store's clients block).
pub fn build(options: Options) -> Result<Shared, ServerError> {
    let config = options.config;
    let url = config.store.url.clone();
    let backend = discount_store::Backend::of(&url)?;
    let postgres = backend.is_shared();
    let customer_ids =
        discount_core::CustomerIds::from_key(config.privacy.pseudonymise_key.as_deref())
            .map_err(|e| ServerError::Config(e.to_string()))?;
    let single_writer = match backend {
        discount_store::Backend::Sqlite(path) => Some(single_writer_lock(path)?),
        discount_store::Backend::Postgres(_) => None,
    };
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let instance = hex::encode(
        &Sha256::digest(format!("{}:{start}:{url}", std::process::id()).as_bytes())[..5],
    );
    // On PostgreSQL budgets are shared: this process's holds are counted under its instance id.
    let holder = postgres.then(|| instance.clone());
    let pool = LogPool::open(&url)?;
    let writer = DecisionWriter::start(&url, holder.clone())?;
    let events = discount_store::open(&url)?;
    if !postgres {
        start_checkpointer(Arc::downgrade(&pool));
    }
    let policies = Registry::new(Arc::clone(&pool), holder, &config.server.currency)
        .with_cost_ratio(config.server.unknown_cost_ratio)
        .with_risk(options.risk.clone());
    if let Some(engine) = &options.engine {
        policies.install(engine)?;
    } else {
        policies.refresh()?;
    }
    let recommendations = routes::recommendations::Recommendations::default();
    recommendations.refresh(&pool)?;
    let redis = match &config.server.redis_url {
        Some(url) => Some(Arc::new(crate::redis_shared::RedisShared::connect(
            url,
            &config.server.redis_prefix,
        )?)),
        None => None,
    };
    let metrics = Metrics::new();
    let profiles = Arc::new(
        crate::profiles::ProfileStates::new(
            config.server.profile_cache_entries,
            redis.clone(),
            &metrics.registry,
        )
        .map_err(|e| ServerError::Config(format!("the profile cache's metrics: {e}")))?,
    );
    crate::profiles::start_saver(Arc::clone(&profiles), Arc::downgrade(&pool));
    let state = Arc::new(AppState {
        auth: Authenticator::new(Arc::clone(&pool), config.server.rate_limit_per_second)
            .with_redis(redis),
        customer_ids,
        _single_writer: single_writer,
        config,
        pool,
        writer,
        events: Arc::new(Mutex::new(OffRuntime::new(events))),
        policies,
        recommendations,
        metrics,
        clock: options.clock,
        instance,
        counter: AtomicU64::new(0),
        shutting_down: AtomicBool::new(false),
        blocking_ledger: postgres,
        background_join: options.background_join,
        profiles,
    });
    Ok(state)
}

/// Takes the embedded store's serving lock (`<file>.serve.lock`, an OS file lock that a killed
/// process gives up at once), or says which file another process is serving.
fn single_writer_lock(path: &str) -> Result<std::fs::File, ServerError> {
    let lock_path = format!("{path}.serve.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| ServerError::Io {
            context: format!("opening the serving lock {lock_path}"),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(ServerError::Config(format!(
            "another `discount serve` is already serving {path} (it holds {lock_path}); the embedded \
             store admits one serving process, because its budget ledger lives in that process. \
             Stop the other one, or run several processes on PostgreSQL (store.url = \"postgres://...\")"
        ))),
        Err(std::fs::TryLockError::Error(source)) => Err(ServerError::Io {
            context: format!("locking {lock_path}"),
            source,
        }),
    }
}

/// Checkpoints the SQLite write-ahead log twice a second on its own thread (rewinding it every
/// two seconds), so that the decision writer does not stop for checkpoints; ends with the pool.
fn start_checkpointer(pool: std::sync::Weak<LogPool>) {
    let spawned = std::thread::Builder::new()
        .name("wal-checkpoint".into())
        .spawn(move || {
            for tick in 1u64.. {
                std::thread::sleep(Duration::from_millis(500));
                let Some(pool) = pool.upgrade() else { break };
                if let Err(e) = pool.with(|log| log.checkpoint(tick % 4 == 0)) {
                    tracing::error!("checkpointing the log: {e}");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no checkpoint thread ({e}); SQLite checkpoints on close");
    }
}

fn spawn_background(state: Shared) {
    if state.background_join {
        spawn_join(Arc::clone(&state));
    }
    spawn_pacing(Arc::clone(&state));
    if let Some(days) = state.config.privacy.retention_days {
        spawn_retention(Arc::clone(&state), days);
    }
    spawn_refresh(state);
}

/// Runs `work` every `interval` on the runtime until the service shuts down.
fn spawn_every<F, Fut>(state: Shared, interval: Duration, work: F)
where
    F: Fn(Shared) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            if state.shutting_down.load(Ordering::Acquire) {
                break;
            }
            work(Arc::clone(&state)).await;
        }
    });
}

/// Paces the active policy's budgets that have a period, every `server.pacing_interval_seconds`:
/// the shadow price each decision weighs spend with follows spend against the even curve.
fn spawn_pacing(state: Shared) {
    let interval = Duration::from_secs_f64(state.server().pacing_interval_seconds.max(0.05));
    spawn_every(state, interval, move |state| async move {
        pace(&state, interval)
    });
}

/// One pacing step of the active policy at the service's clock; the new prices go to `/metrics`.
pub fn pace(state: &AppState, interval: Duration) {
    let Some(policy) = state.policies.active() else {
        return;
    };
    let now = state.clock.now().0;
    for (index, budget) in policy.engine.config().budgets.iter().enumerate() {
        if let Ok(Some((start, end))) = budget.period(index) {
            let share = (now - start) as f64 / (end - start).max(1) as f64;
            state
                .metrics
                .budget_plan_share
                .with_label_values(&[&budget.campaign])
                .set(share.clamp(0.0, 1.0));
        }
    }
    for (campaign, lambda) in policy
        .engine
        .pace_by_clock(now, interval.as_micros() as i64)
    {
        state
            .metrics
            .shadow_price
            .with_label_values(&[&campaign])
            .set(lambda);
    }
}

/// Erases what is older than `days` once an hour (privacy.retention_days).
fn spawn_retention(state: Shared, days: u32) {
    spawn_every(state, Duration::from_secs(3600), move |state| async move {
        let now = state.clock.now().0;
        let cutoff = now - i64::from(days) * discount_core::time::MICROS_PER_DAY;
        let salt = crate::routes::admin::erasure_salt();
        match state
            .pool
            .run(move |log| log.erase_before(cutoff, &salt, now))
            .await
        {
            Ok(e) if e.events + e.decisions > 0 => {
                tracing::info!(
                "retention ({days} days): deleted {} events, anonymised {} decisions (audit {})",
                e.events, e.decisions, e.audit_id
            )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("retention: {}", e.message),
        }
    });
}

fn spawn_join(state: Shared) {
    let interval = Duration::from_secs_f64(state.server().join_interval_seconds.max(0.05));
    spawn_every(state, interval, |state| async move {
        if let Err(e) = crate::join::settle_due(&state).await {
            tracing::warn!("settling closed windows: {}", e.message);
        }
    });
}

fn spawn_refresh(state: Shared) {
    // Other processes activate policies and move shared budgets: follow them. On a shared
    // store, also say this process is alive and give back the in-flight holds of processes that
    // are not (killed between holding budget and logging the decision).
    spawn_every(state, Duration::from_secs(1), |s| async move {
        let refreshed = tokio::task::spawn_blocking(move || {
            if s.blocking_ledger {
                expire_holds(&s);
            }
            if let Err(e) = s.recommendations.refresh(&s.pool) {
                tracing::warn!("following the recommend model: {e}");
            }
            s.policies.refresh()
        })
        .await;
        if let Ok(Err(e)) = refreshed {
            tracing::warn!("refreshing policies: {e}");
        }
    });
}

/// Heartbeats this process's in-flight holds and expires those of silent processes.
fn expire_holds(state: &AppState) {
    let now = crate::policies::now_micros();
    let expiry = (state.server().hold_expiry_seconds.max(1.0) * 1e6) as i64;
    let result = state.pool.with(|log| {
        log.heartbeat_holds(&state.instance, now)?;
        log.expire_holds(now - expiry)
    });
    match result {
        Ok(0) => {}
        Ok(released) => tracing::info!(
            "released {released} of budget held by a process that stopped \
             mid-decision (no heartbeat for {} s)",
            state.server().hold_expiry_seconds
        ),
        Err(e) => tracing::warn!("expiring stale budget holds: {e}"),
    }
}

/// Serves on `listener` until `shutdown` resolves, then stops accepting and lets in-flight
/// requests finish. Each of them answered only after its writes committed, so nothing
/// acknowledged is left to flush.
///
/// Connections are served by hyper directly (not `axum::serve`) so that a client that never
/// finishes its headers is cut off after `server.header_timeout_seconds`; a slow body is bounded
/// by `server.request_timeout_seconds` in the router.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Shared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;
    use hyper_util::service::TowerToHyperService;

    spawn_background(Arc::clone(&state));
    let app = router(Arc::clone(&state));
    let header_timeout = Duration::from_secs_f64(state.server().header_timeout_seconds.max(0.01));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!("accepting a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let watched = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = watched.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    state.shutting_down.store(true, Ordering::Release);
    drop(listener);
    graceful.shutdown().await;
    // The profile states changed since the last save, so that a restart starts from them.
    let (profiles, pool) = (Arc::clone(&state.profiles), Arc::clone(&state.pool));
    let _ = tokio::task::spawn_blocking(move || crate::profiles::save_now(&profiles, &pool)).await;
    Ok(())
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// A JSON 200 response.
pub fn json<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(e) => ApiError::internal("encoding the response", e).into_response(),
    }
}
