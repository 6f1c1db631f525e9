//! Starts the real service in this process on a loopback port, over SQLite or PostgreSQL, with a
//! manual clock.
#![allow(dead_code)]

use std::net::SocketAddr;

/// Runs a test function `fn name(backend: &str)` as two tests, `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name("sqlite")
            }
            #[test]
            fn postgres() {
                super::$name("postgres")
            }
        }
    };
}
use std::sync::Arc;

use discount_core::{Config, Timestamp};
use discount_policy::EngineConfig;
use discount_server::auth::{new_key, Role};
use discount_server::client::{HttpClient, HttpResponse};
use discount_server::{ManualClock, Options, Shared};

/// Two rungs (none, 5.00 off) and heavy exploration, so that offers are given without training.
pub const TEST_ENGINE: &str = r#"
name = "test-v1"
[[ladder]]
id = "none"
offer = { kind = "no_offer" }
[[ladder]]
id = "amt500"
offer = { kind = "amount_off", amount = 500, min_spend = 0 }
[rules]
margin_floor = { percent_of_cost = 0.0, minor_per_unit = 0, unknown_cost_ratio = 0.5 }
[[budgets]]
campaign = "default"
amount = 100000
[exploration]
kind = "epsilon_greedy"
epsilon = 0.9
[model]
features = ["bias", "orders_total"]
"#;

pub fn engine(budget: i64) -> EngineConfig {
    let mut e = EngineConfig::from_toml_str(TEST_ENGINE, "test engine").unwrap();
    e.budgets[0].amount = budget;
    e
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: Shared,
    pub clock: Arc<ManualClock>,
    pub url: String,
    rt: Option<tokio::runtime::Runtime>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
}

/// A store URL for `backend` (`sqlite` or `postgres`); `None` when PostgreSQL is unreachable
/// outside CI.
pub fn store_url(backend: &str, label: &str) -> Option<(String, Option<tempfile::TempDir>)> {
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("serve.sqlite").display());
            Some((url, Some(dir)))
        }
        _ => discount_store::postgres::scratch_schema_url(label)
            .unwrap()
            .map(|u| (u, None)),
    }
}

pub const START: &str = "2026-01-05T00:00:00Z";

impl TestServer {
    pub fn start(backend: &str, label: &str, budget: i64) -> Option<Self> {
        let (url, dir) = store_url(backend, label)?;
        Some(Self::start_on(&url, dir, budget))
    }

    pub fn start_on(url: &str, dir: Option<tempfile::TempDir>, budget: i64) -> Self {
        Self::start_with(url, dir, engine(budget), |_| {}).unwrap()
    }

    /// Starts on `url` with `engine`, after `configure` has adjusted the test configuration; the
    /// start-up error when the service refuses to start.
    pub fn start_with(
        url: &str,
        dir: Option<tempfile::TempDir>,
        engine: EngineConfig,
        configure: impl FnOnce(&mut Config),
    ) -> Result<Self, discount_server::ServerError> {
        let mut config = Config::default();
        config.store.url = url.to_string();
        config.server.attribution_window_days = 7.0;
        config.server.body_limit_bytes = 64 * 1024;
        config.server.rate_limit_per_second = 100_000;
        configure(&mut config);
        let clock = Arc::new(ManualClock::new(Timestamp::parse("start", START).unwrap()));
        let mut options = Options::new(config, Some(engine));
        options.clock = clock.clone();
        options.background_join = false;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = discount_server::build(options)?;
        let (addr, state) = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let s = state.clone();
            tokio::spawn(async move {
                discount_server::serve(listener, s, async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
            });
            (addr, state)
        });
        Ok(Self {
            addr,
            state,
            clock,
            url: url.to_string(),
            rt: Some(rt),
            shutdown: Some(tx),
            _dir: dir,
        })
    }

    /// A fresh key with `role`; its token.
    pub fn key(&self, role: Role) -> String {
        self.key_with_rate(role, None)
    }

    pub fn key_with_rate(&self, role: Role, rate: Option<i64>) -> String {
        let k = new_key("test", role, rate, 0);
        let row = k.row.clone();
        self.state
            .pool
            .with(move |log| log.create_key(&row))
            .unwrap();
        k.token
    }

    pub fn client(&self) -> Api {
        Api(HttpClient::new(self.addr))
    }

    /// Shuts down gracefully; the store's folder (SQLite) outlives the server.
    pub fn stop(mut self) -> Option<tempfile::TempDir> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
        }
        self._dir.take()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

pub struct Api(pub HttpClient);

impl Api {
    pub fn call(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> HttpResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        self.0
            .request(method, path, &headers, body.as_bytes())
            .unwrap()
    }

    pub fn call_with(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> HttpResponse {
        self.0
            .request(method, path, headers, body.as_bytes())
            .unwrap()
    }

    pub fn post(&mut self, path: &str, token: &str, body: &str) -> HttpResponse {
        self.call("POST", path, Some(token), body)
    }

    pub fn get(&mut self, path: &str, token: &str) -> HttpResponse {
        self.call("GET", path, Some(token), "")
    }

    /// A decision for `customer`; asserts 200.
    pub fn decide(&mut self, token: &str, customer: &str) -> serde_json::Value {
        let r = self.post(
            "/v1/decisions",
            token,
            &format!(r#"{{"customer_id":"{customer}","context":{{"placement":"checkout","basket":[{{"item_id":"i1","quantity":1,"unit_price":4000}}]}}}}"#),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }
}

/// Asserts a JSON error with `status`, returning its `error` object.
pub fn expect_error(r: &HttpResponse, status: u16) -> serde_json::Value {
    assert_eq!(r.status, status, "{}", r.text());
    let body = r.json();
    assert!(
        body["error"]["code"].is_string(),
        "not a JSON error: {}",
        r.text()
    );
    assert!(body["error"]["message"].is_string(), "{}", r.text());
    body["error"].clone()
}
