//! `discount serve` (the decision service) and `discount bench serve` (its load benchmark).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use discount_core::Config;
use discount_policy::EngineConfig;
use discount_server::client::HttpClient;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::ingest::redact;
use crate::output::print_json;

/// Run the decision service: JSON over HTTP under /v1 (see docs/api.md and /v1/openapi.json).
///
/// Every decision is in the store before it is answered; orders sent to /v1/events are joined
/// to the decisions they follow within server.attribution_window_days. Several processes may
/// serve from one PostgreSQL store and share its budgets. Stops on Ctrl-C or SIGTERM after the
/// requests in flight are answered.
///
/// Examples:
///   discount serve --example-engine > engine.toml     # a starting point to edit
///   discount keys create --name admin --role admin
///   discount serve --engine engine.toml --bind 127.0.0.1:8080
///   discount --store postgres://postgres@127.0.0.1:5432/test serve --engine engine.toml
///   DISCOUNT_SERVER__ATTRIBUTION_WINDOW_DAYS=14 discount serve
///   discount serve --engine engine.toml --risk-scores scores.jsonl
///   discount serve --engine engine.toml --events-from nats://127.0.0.1:4222/EVENTS/discount
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ServeArgs {
    /// Address to listen on (overrides server.bind); port 0 picks a free port.
    #[arg(long)]
    pub bind: Option<String>,
    /// Engine configuration (TOML) to install as a policy (overrides server.engine). Without
    /// one, the store's active policy is used.
    #[arg(long)]
    pub engine: Option<PathBuf>,
    /// Worker threads of the HTTP server (default: one per CPU).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Fraud scores (JSON Lines of `discount fraud scan --scores-out`) for the offer gate
    /// (overrides server.risk_scores). Reloaded when the file's modification time changes; a
    /// reload that fails is logged and the previous scores stay in force.
    #[arg(long = "risk-scores", value_name = "FILE")]
    pub risk_scores: Option<PathBuf>,
    /// Print an example engine configuration (an offer ladder with a budget, commented) and exit.
    #[arg(long = "example-engine")]
    pub example_engine: bool,
    /// Also store the records of a NATS JetStream stream, nats://HOST:PORT[/STREAM[/CONSUMER]]
    /// (overrides intake.events_from): one record per message, validated and written as
    /// POST /v1/events writes them, acknowledged once their transaction committed (docs/ingest.md).
    #[arg(long = "events-from", value_name = "URL")]
    pub events_from: Option<String>,
    /// The stream to read when the URL names none (overrides intake.nats_stream); created over
    /// the subject if it does not exist.
    #[arg(long = "nats-stream", value_name = "NAME")]
    pub nats_stream: Option<String>,
    /// The subject a new stream is created over and the consumer reads (overrides
    /// intake.nats_subject).
    #[arg(long = "nats-subject", value_name = "SUBJECT")]
    pub nats_subject: Option<String>,
    /// The durable consumer when the URL names none (overrides intake.nats_consumer).
    #[arg(long = "nats-consumer", value_name = "NAME")]
    pub nats_consumer: Option<String>,
}

/// How often the score file's modification time is checked.
const RISK_RELOAD_INTERVAL: Duration = Duration::from_secs(2);

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Loads the score file and starts a thread that reloads it whenever its modification time
/// changes; the thread ends once the service drops the table.
fn watch_risk_scores(path: PathBuf) -> anyhow::Result<Arc<discount_fraud::SharedScoreTable>> {
    let mut seen = modified(&path);
    let table = super::decide::load_risk_scores(&path)?;
    let shared = Arc::new(discount_fraud::SharedScoreTable::new(table));
    let weak = Arc::downgrade(&shared);
    std::thread::Builder::new()
        .name("risk-scores-reload".into())
        .spawn(move || loop {
            std::thread::sleep(RISK_RELOAD_INTERVAL);
            let Some(shared) = weak.upgrade() else {
                return;
            };
            let now = modified(&path);
            if now == seen {
                continue;
            }
            seen = now;
            match discount_fraud::ScoreTable::load_jsonl(&path) {
                Ok(table) => {
                    let customers = table.len();
                    shared.replace(table);
                    eprintln!(
                        "discount serve: reloaded {customers} risk scores from {}",
                        path.display()
                    );
                }
                Err(e) => eprintln!(
                    "discount serve: error: reloading the risk scores (keeping the previous ones): {e}"
                ),
            }
        })
        .context("starting the risk score reload thread")?;
    Ok(shared)
}

fn read_engine(path: &Path) -> anyhow::Result<EngineConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the engine configuration {}", path.display()))?;
    Ok(EngineConfig::from_toml_str(
        &text,
        &path.display().to_string(),
    )?)
}

fn runtime(workers: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(w) = workers {
        b.worker_threads(w.max(1));
    }
    Ok(b.enable_all().build()?)
}

/// The engine configuration `--example-engine` prints (the one the serving benchmark uses).
pub const EXAMPLE_ENGINE: &str = include_str!("../../../../benchmarks/serve/engine.toml");

pub fn run(config: &Config, args: &ServeArgs, json: bool) -> anyhow::Result<()> {
    if args.example_engine {
        print!("{EXAMPLE_ENGINE}");
        return Ok(());
    }
    let mut config = config.clone();
    if let Some(b) = &args.bind {
        config.server.bind = b.clone();
    }
    init_logging(&config.server)?;
    let intake = intake_config(&config, args);
    let engine_path = args
        .engine
        .clone()
        .or_else(|| config.server.engine.as_ref().map(PathBuf::from));
    let engine = engine_path.as_deref().map(read_engine).transpose()?;
    let risk_path = args
        .risk_scores
        .clone()
        .or_else(|| config.server.risk_scores.as_ref().map(PathBuf::from));
    let risk = risk_path.map(watch_risk_scores).transpose()?;
    let rt = runtime(args.workers)?;
    let store = redact(&config.store.url);
    let bind = config.server.bind.clone();
    let mut options = discount_server::Options::new(config, engine);
    options.risk = risk.map(|r| r as Arc<dyn discount_core::RiskScores>);
    // The store's clients block: open them before entering the async runtime.
    let state = discount_server::build(options)
        .with_context(|| format!("starting the service on the store {store}"))?;
    if state.policies.active().is_none() {
        eprintln!(
            "discount serve: warning: no policy is active, so POST /v1/decisions answers 503 until \
             one is. Start with --engine FILE (`discount serve --example-engine > engine.toml` \
             writes one to edit), or register and activate one through /v1/policies."
        );
    }
    rt.block_on(async move {
        let (stop_intake, intake_stopped) = tokio::sync::watch::channel(false);
        let intake = discount_server::nats_intake::start(&state, &intake, intake_stopped)
            .await
            .context("starting the NATS intake")?;
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .with_context(|| format!("listening on {bind}"))?;
        let addr = listener.local_addr()?;
        if json {
            print_json(&serde_json::json!({ "listening": addr.to_string(), "store": store }))?;
        } else {
            println!("listening on http://{addr} (store {store})");
        }
        let shutdown = async move {
            discount_server::shutdown_signal().await;
            let _ = stop_intake.send(true);
        };
        discount_server::serve(listener, state, shutdown).await?;
        // The intake finishes the batch in hand: written and acknowledged, or not acknowledged.
        if let Some((_, running)) = intake {
            running.await.context("the NATS intake")?;
        }
        anyhow::Ok(())
    })
}

/// `[intake]` with the command line's flags over it.
fn intake_config(config: &Config, args: &ServeArgs) -> discount_core::config::IntakeConfig {
    let mut intake = config.intake.clone();
    if let Some(url) = &args.events_from {
        intake.events_from = Some(url.clone());
    }
    for (flag, key) in [
        (&args.nats_stream, &mut intake.nats_stream),
        (&args.nats_subject, &mut intake.nats_subject),
        (&args.nats_consumer, &mut intake.nats_consumer),
    ] {
        if let Some(value) = flag {
            *key = value.clone();
        }
    }
    intake
}

/// What `discount bench serve` measured.
#[derive(Debug, Serialize)]
pub struct ServeBench {
    pub store: String,
    pub seconds: f64,
    pub connections: usize,
    pub server_workers: usize,
    pub customers: u64,
    /// Events stored before the run (about `history_events` per customer).
    pub history_events: u64,
    /// `server.profile_cache_entries` (0: every decision rebuilds the profile from the history).
    pub profile_cache_entries: usize,
    /// Whether the profile states and rate limits were in Redis.
    pub redis: bool,
    pub warmup_seconds: f64,
    pub decisions: u64,
    pub errors: u64,
    pub decisions_per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Profile lookups during the measured run, by result (hit, miss, stale, off).
    pub profile_lookups: std::collections::BTreeMap<String, u64>,
    /// Resident memory of the process (server and load together), MiB, sampled each second.
    pub rss_mib_first: f64,
    pub rss_mib_last: f64,
    pub rss_mib_peak: f64,
    pub rss_mib_samples: Vec<f64>,
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

/// How `discount bench serve` runs.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub seconds: f64,
    /// Load before the measured run (its decisions are not counted).
    pub warmup_seconds: f64,
    pub connections: usize,
    pub workers: usize,
    pub customers: u64,
    /// Mean events per customer stored before the run.
    pub history_events: u32,
    /// `server.profile_cache_entries`; `None`: the default.
    pub profile_cache_entries: Option<usize>,
    /// `server.redis_url`.
    pub redis_url: Option<String>,
    pub seed: u64,
}

/// Writes each customer's history ([`super::synthetic_shop::Histories`]) and the catalogue they
/// name. Returns how many events were written.
fn write_histories(
    store_url: &str,
    customers: u64,
    mean: u32,
    now: i64,
    seed: u64,
) -> anyhow::Result<u64> {
    use super::synthetic_shop;
    use discount_core::Record;
    let mut store = discount_store::open(store_url)?;
    let items: Vec<Record> = synthetic_shop::catalogue()
        .into_iter()
        .map(Record::Item)
        .collect();
    store.write_batch(&items, discount_core::config::UnknownItems::Register)?;
    let mut written = 0u64;
    let mut batch: Vec<Record> = Vec::with_capacity(20_000);
    let mut histories = synthetic_shop::Histories::new(customers, mean, now, seed).peekable();
    while let Some(history) = histories.next() {
        batch.extend(history.into_iter().map(Record::Event));
        if batch.len() >= 10_000 || histories.peek().is_none() {
            store.write_batch(&batch, discount_core::config::UnknownItems::Register)?;
            written += batch.len() as u64;
            batch.clear();
        }
    }
    Ok(written)
}

/// Load benchmark: starts the service in this process on a loopback port over `store_url`, writes
/// the customers' histories, then `connections` client threads post decisions (keep-alive) for
/// `warmup_seconds` unmeasured and `seconds` measured.
pub fn bench(store_url: &str, options: &BenchOptions, json: bool) -> anyhow::Result<()> {
    let BenchOptions {
        seconds,
        warmup_seconds,
        connections,
        workers,
        customers,
        seed,
        ..
    } = options.clone();
    let mut config = Config::default();
    config.store.url = store_url.to_string();
    config.server.bind = "127.0.0.1:0".into();
    config.server.rate_limit_per_second = 1_000_000;
    if let Some(entries) = options.profile_cache_entries {
        config.server.profile_cache_entries = entries;
    }
    config.server.redis_url = options.redis_url.clone();
    // A prefix of this run only, so that no state of an earlier run is read.
    config.server.redis_prefix = format!("discount-bench-{}-{seed}:", std::process::id());
    let cache_entries = config.server.profile_cache_entries;
    let now = chrono::Utc::now().timestamp_micros();
    let history_events = write_histories(store_url, customers, options.history_events, now, seed)?;
    let mut engine = EngineConfig::from_toml_str(EXAMPLE_ENGINE, "benchmarks/serve/engine.toml")?;
    // A budget the run cannot exhaust, so that every decision pays for its hold.
    for b in &mut engine.budgets {
        b.amount = i64::MAX / 4;
    }
    engine.name = format!("bench-{seed}");
    let rt = runtime(Some(workers))?;
    let state = discount_server::build(discount_server::Options::new(config, Some(engine)))?;
    let profiles = Arc::clone(&state.profiles);
    let version = format!("bench-{seed}");
    let key = discount_server::auth::new_key("bench", discount_server::auth::Role::Admin, None, 0);
    let row = key.row.clone();
    state.pool.with(move |log| {
        log.activate_policy(&version)?;
        log.create_key(&row)
    })?;
    state.policies.refresh()?;
    let (addr, token) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        tokio::spawn(discount_server::serve(
            listener,
            state,
            std::future::pending(),
        ));
        anyhow::Ok((addr, key.token))
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(warmup_seconds <= 0.0));
    let auth = format!("Bearer {token}");
    let threads: Vec<_> = (0..connections)
        .map(|t| {
            let (stop, measuring, auth) = (Arc::clone(&stop), Arc::clone(&measuring), auth.clone());
            std::thread::spawn(move || {
                let mut client = HttpClient::new(addr);
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ (t as u64 + 1));
                let mut latencies: Vec<u32> = Vec::with_capacity(1 << 20);
                let mut errors = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let customer = rng.gen_range(0..customers.max(1));
                    let price = rng.gen_range(500..8_000);
                    let body = format!(
                        r#"{{"customer_id":"c{customer}","context":{{"placement":"checkout","device":"web","basket":[{{"item_id":"i{}","category":"shoes","quantity":1,"unit_price":{price}}}]}}}}"#,
                        customer % super::synthetic_shop::ITEMS
                    );
                    let start = Instant::now();
                    let answer = client.request(
                        "POST",
                        "/v1/decisions",
                        &[("authorization", &auth)],
                        body.as_bytes(),
                    );
                    if !measuring.load(Ordering::Relaxed) {
                        continue;
                    }
                    match answer {
                        Ok(r) if r.status == 200 => {
                            latencies.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32)
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    if warmup_seconds > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(warmup_seconds));
        measuring.store(true, Ordering::Relaxed);
    }
    let lookups_before = profiles.lookup_counts();
    let start = Instant::now();
    let mut samples = vec![rss_mib()];
    while start.elapsed().as_secs_f64() < seconds {
        std::thread::sleep(Duration::from_secs_f64(1.0_f64.min(seconds)));
        samples.push(rss_mib());
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (l, e) = t
            .join()
            .map_err(|_| anyhow::anyhow!("a load thread panicked"))?;
        all.extend(l);
        errors += e;
    }
    let mut lookups = profiles.lookup_counts();
    for (result, n) in &mut lookups {
        *n -= lookups_before.get(result).copied().unwrap_or(0);
    }
    all.sort_unstable();
    let report = ServeBench {
        store: redact(store_url),
        seconds: elapsed,
        connections,
        server_workers: workers,
        customers,
        history_events,
        profile_cache_entries: cache_entries,
        redis: options.redis_url.is_some(),
        warmup_seconds,
        decisions: all.len() as u64,
        errors,
        decisions_per_second: all.len() as f64 / elapsed,
        p50_ms: percentile(&all, 0.5),
        p90_ms: percentile(&all, 0.9),
        p99_ms: percentile(&all, 0.99),
        p999_ms: percentile(&all, 0.999),
        max_ms: all.last().map_or(0.0, |m| f64::from(*m) / 1000.0),
        profile_lookups: lookups,
        rss_mib_first: samples.first().copied().unwrap_or(0.0),
        rss_mib_last: samples.last().copied().unwrap_or(0.0),
        rss_mib_peak: samples.iter().copied().fold(0.0, f64::max),
        rss_mib_samples: samples,
    };
    drop(rt);
    if json {
        return print_json(&report);
    }
    println!(
        "POST /v1/decisions on {} ({} connections, {} server threads, {:.1} s after {:.1} s of warm-up)",
        report.store, report.connections, report.server_workers, report.seconds, warmup_seconds
    );
    println!(
        "  {} customers, {} history events; profile cache: {}",
        report.customers,
        report.history_events,
        if report.redis {
            "Redis".to_string()
        } else if cache_entries == 0 {
            "off".to_string()
        } else {
            format!("{cache_entries} entries in memory")
        }
    );
    println!(
        "  {:.0} decisions/s ({} decisions, {} errors)",
        report.decisions_per_second, report.decisions, report.errors
    );
    println!(
        "  latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        report.p50_ms, report.p90_ms, report.p99_ms, report.p999_ms, report.max_ms
    );
    let lookups: Vec<String> = report
        .profile_lookups
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    println!("  profile lookups: {}", lookups.join(", "));
    println!(
        "  RSS MiB: first {:.1}  peak {:.1}  last {:.1}",
        report.rss_mib_first, report.rss_mib_peak, report.rss_mib_last
    );
    Ok(())
}

/// Logs go to standard error at `server.log_level`, as text or one JSON object per line
/// (`server.log_format`); every line a request causes carries its `request_id`.
fn init_logging(server: &discount_core::config::ServerConfig) -> anyhow::Result<()> {
    let level: tracing::Level = match server.log_level.as_str() {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "info" => tracing::Level::INFO,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        other => anyhow::bail!(
            "server.log_level = {other:?}: expected error, warn, info, debug or trace"
        ),
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(false);
    // A second initialisation (the subscriber is process-wide) keeps the first.
    let _ = match server.log_format.as_str() {
        "text" => builder.try_init(),
        "json" => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        other => anyhow::bail!("server.log_format = {other:?}: expected text or json"),
    };
    Ok(())
}
