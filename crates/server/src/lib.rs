//! The decision service (`discount serve`): an HTTP API over the policy engine with a durable
//! decision log, the outcome join, API keys with roles, budgets shared by several processes, and
//! Prometheus metrics.
//!
//! ```no_run
//! # async fn run() -> Result<(), discount_server::ServerError> {
//! let config = discount_core::Config::load(None).map_err(|e| discount_server::ServerError::Config(e.to_string()))?;
//! let state = discount_server::build(discount_server::Options::new(config, None))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await
//!     .map_err(|source| discount_server::ServerError::Io { context: "binding".into(), source })?;
//! discount_server::serve(listener, state, discount_server::shutdown_signal()).await
//! # }
//! ```
//!
//! - [`app`]: state, the route table, `serve` with graceful shutdown.
//! - [`routes`]: the handlers; [`error`]: every failure as a JSON body with a 4xx or 5xx.
//! - [`writer`]: group commit: a decision is in the store before its response is sent.
//! - [`join`]: orders and reported outcomes joined to decisions inside the attribution window.
//! - [`auth`]: API keys (hashed, constant-time compared), roles, per-key rate limits.
//! - [`ledger`]: budget holds in the store (shared on PostgreSQL, owned on SQLite).
//! - [`policies`]: the registry of policies: activate, roll back, apprentice mode; and the
//!   registry's active response model, checked by [`models`] before it scores; [`drift`]: what
//!   it is fed, against its training window.
//! - [`openapi`]: the OpenAPI document, generated from the request and response types;
//!   [`page`]: `limit` and `cursor` pagination of the list endpoints.
//! - [`profiles`]: customers' profile states, kept up to date as events arrive, in memory or in
//!   Redis ([`redis_shared`], which also holds the rate limits shared by several processes).
//! - [`ui`]: the dashboard at `/ui`, reading [`routes::live`] and the rest of the API.
//! - [`nats_intake`]: records from a NATS JetStream stream, acknowledged after their commit.
//! - [`client`]: a small keep-alive HTTP/1.1 client for tests and `discount bench serve`.

pub mod app;
pub mod auth;
pub mod client;
pub mod clock;
pub mod drift;
pub mod error;
pub mod join;
pub mod ledger;
pub mod metrics;
pub mod models;
pub mod nats_intake;
pub mod openapi;
pub mod page;
pub mod policies;
pub mod pool;
pub mod profiles;
pub mod redis_shared;
pub mod routes;
pub mod ui;
pub mod writer;

pub use app::{build, router, serve, shutdown_signal, Options, Shared};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ApiError, ServerError};
