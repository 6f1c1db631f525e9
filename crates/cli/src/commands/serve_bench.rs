//! `discount bench serve` and `discount bench soak`: POST /v1/decisions against the service
//! started in this process on a loopback port, over a store holding real customer histories.
//!
//! `bench serve` measures the peak: every client sends its next request as soon as the last is
//! answered. `bench soak` first measures that peak, then holds a share of it for a long run and
//! reports each window's throughput, latency and resident memory, so that a leak or an unbounded
//! cache shows as a slope. The load clients keep their figures in histograms allocated before
//! the run, so that their own memory does not grow with it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use discount_core::Config;
use discount_policy::EngineConfig;
use discount_server::client::HttpClient;
use discount_server::profiles::ProfileStates;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::ingest::redact;
use super::serve::{keep_heap_flat, runtime, EXAMPLE_ENGINE};
use crate::output::{print_json, Table};

/// The store, the service and the customers a load runs against.
#[derive(clap::Args, Clone, Debug)]
pub struct LoadArgs {
    /// Measure on this PostgreSQL server (a fresh schema is created on it and dropped after)
    /// instead of a fresh SQLite file in a temp dir.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Client connections (one thread each, keep-alive).
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Server worker threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Distinct customers the requests are drawn from.
    #[arg(long, default_value_t = 100_000)]
    pub customers: u64,
    /// Mean events per customer stored before the run (views, carts, orders, refunds, coupons
    /// over 180 days), so that each profile is built from a real history.
    #[arg(long, default_value_t = 20)]
    pub history_events: u32,
    /// Profile states kept in memory (server.profile_cache_entries); 0 rebuilds every profile
    /// from the history, for comparison.
    #[arg(long)]
    pub profile_cache_entries: Option<usize>,
    /// Keep profile states and rate limits in this Redis (server.redis_url).
    #[arg(long)]
    pub redis: Option<String>,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// `discount bench serve`.
#[derive(clap::Args, Clone, Debug)]
pub struct ServeBenchArgs {
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Load for this long before measuring (fills the profile cache).
    #[arg(long, default_value_t = 0.0)]
    pub warmup_seconds: f64,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// `discount bench soak`.
#[derive(clap::Args, Clone, Debug)]
pub struct SoakArgs {
    /// Length of the soak at the held rate.
    #[arg(long, default_value_t = 600.0)]
    pub seconds: f64,
    /// Share of the measured peak throughput to hold.
    #[arg(long, default_value_t = 0.8)]
    pub share: f64,
    /// Unmeasured load before the peak is measured (fills the profile cache).
    #[arg(long, default_value_t = 30.0)]
    pub warmup_seconds: f64,
    /// Length of the peak measurement.
    #[arg(long, default_value_t = 20.0)]
    pub peak_seconds: f64,
    /// Length of each reported window of the soak.
    #[arg(long, default_value_t = 60.0)]
    pub window_seconds: f64,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// A fresh store for one run: a SQLite file in a temp dir, or a schema of its own on the
/// PostgreSQL server; removed when dropped.
struct BenchStore {
    url: String,
    dir: std::path::PathBuf,
    postgres: Option<(String, String)>,
}

impl BenchStore {
    fn create(postgres: Option<&str>) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("discount-bench-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let (url, postgres) = match postgres {
            Some(u) => {
                let schema = format!("bench_serve_{}", std::process::id());
                discount_store::postgres::AdminClient::connect(u)?.batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                ))?;
                let sep = if u.contains('?') { '&' } else { '?' };
                (
                    format!("{u}{sep}options=-csearch_path%3D{schema}"),
                    Some((u.to_string(), schema)),
                )
            }
            None => (
                format!("sqlite://{}", dir.join("serve.sqlite").display()),
                None,
            ),
        };
        Ok(Self { url, dir, postgres })
    }
}

impl Drop for BenchStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((url, schema)) = &self.postgres {
            if let Ok(mut admin) = discount_store::postgres::AdminClient::connect(url) {
                let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// The service running on a loopback port over a store with the customers' histories.
struct BenchServer {
    /// Runs the service until dropped.
    _runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    authorization: String,
    profiles: Arc<ProfileStates>,
    history_events: u64,
    cache_entries: usize,
}

impl BenchServer {
    fn start(store_url: &str, load: &LoadArgs) -> anyhow::Result<Self> {
        let mut config = Config::default();
        config.store.url = store_url.to_string();
        config.server.bind = "127.0.0.1:0".into();
        config.server.rate_limit_per_second = 1_000_000;
        if let Some(entries) = load.profile_cache_entries {
            config.server.profile_cache_entries = entries;
        }
        config.server.redis_url = load.redis.clone();
        // A prefix of this run only, so that no state of an earlier run is read.
        config.server.redis_prefix =
            format!("discount-bench-{}-{}:", std::process::id(), load.seed);
        let cache_entries = config.server.profile_cache_entries;
        let now = chrono::Utc::now().timestamp_micros();
        let history_events = write_histories(
            store_url,
            load.customers,
            load.history_events,
            now,
            load.seed,
        )?;
        let mut engine =
            EngineConfig::from_toml_str(EXAMPLE_ENGINE, "benchmarks/serve/engine.toml")?;
        // A budget the run cannot exhaust, so that every decision pays for its hold.
        for b in &mut engine.budgets {
            b.amount = i64::MAX / 4;
        }
        engine.name = format!("bench-{}", load.seed);
        let runtime = runtime(Some(load.workers))?;
        let state = discount_server::build(discount_server::Options::new(config, Some(engine)))?;
        let profiles = Arc::clone(&state.profiles);
        let version = format!("bench-{}", load.seed);
        let key =
            discount_server::auth::new_key("bench", discount_server::auth::Role::Admin, None, 0);
        let row = key.row.clone();
        state.pool.with(move |log| {
            log.activate_policy(&version)?;
            log.create_key(&row)
        })?;
        state.policies.refresh()?;
        let addr = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr: SocketAddr = listener.local_addr()?;
            tokio::spawn(discount_server::serve(
                listener,
                state,
                std::future::pending(),
            ));
            anyhow::Ok(addr)
        })?;
        Ok(Self {
            _runtime: runtime,
            addr,
            authorization: format!("Bearer {}", key.token),
            profiles,
            history_events,
            cache_entries,
        })
    }

    /// Starts `connections` clients, each posting decisions until `stop`, at `rate` decisions
    /// per second over all of them (as fast as answered when `None`). Each answer goes to
    /// `record` with the client's index, when the request was sent and its outcome.
    fn load<F>(
        &self,
        load: &LoadArgs,
        rate: Option<f64>,
        stop: &Arc<AtomicBool>,
        record: F,
    ) -> Vec<std::thread::JoinHandle<()>>
    where
        F: Fn(usize, Instant, bool) + Send + Sync + 'static,
    {
        let record = Arc::new(record);
        let connections = load.connections.max(1);
        (0..connections)
            .map(|t| {
                let (stop, record) = (Arc::clone(stop), Arc::clone(&record));
                let (addr, auth) = (self.addr, self.authorization.clone());
                let (customers, seed) = (load.customers.max(1), load.seed);
                // Each client's share of the rate, its first request offset so that the
                // clients do not send together.
                let interval = rate.map(|r| Duration::from_secs_f64(connections as f64 / r));
                std::thread::spawn(move || {
                    let mut client = HttpClient::new(addr);
                    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ (t as u64 + 1));
                    let mut next = Instant::now()
                        + interval
                            .map_or(Duration::ZERO, |i| i.mul_f64(t as f64 / connections as f64));
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(interval) = interval {
                            let now = Instant::now();
                            if next > now {
                                std::thread::sleep(next - now);
                            } else if now - next > Duration::from_secs(1) {
                                // Far behind (the service stalled): no burst to catch up.
                                next = now;
                            }
                            next += interval;
                        }
                        let body = decision_request(&mut rng, customers);
                        let sent = Instant::now();
                        let answer = client.request(
                            "POST",
                            "/v1/decisions",
                            &[("authorization", &auth)],
                            body.as_bytes(),
                        );
                        record(t, sent, matches!(answer, Ok(r) if r.status == 200));
                    }
                })
            })
            .collect()
    }
}

/// A checkout decision for a random customer with one item in the basket.
fn decision_request(rng: &mut rand::rngs::StdRng, customers: u64) -> String {
    let customer = rng.gen_range(0..customers);
    let price = rng.gen_range(500..8_000);
    format!(
        r#"{{"customer_id":"c{customer}","context":{{"placement":"checkout","device":"web","basket":[{{"item_id":"i{}","category":"shoes","quantity":1,"unit_price":{price}}}]}}}}"#,
        customer % super::synthetic_shop::ITEMS
    )
}

fn join(threads: Vec<std::thread::JoinHandle<()>>) -> anyhow::Result<()> {
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a load thread panicked"))?;
    }
    Ok(())
}

/// Latencies in logarithmic buckets (64 to a doubling: 1.1% apart) of microseconds, counted
/// from any thread; fixed size.
struct LatencyHistogram {
    buckets: Vec<AtomicU64>,
    errors: AtomicU64,
}

impl LatencyHistogram {
    const PER_DOUBLING: f64 = 64.0;
    const BUCKETS: usize = 64 * 40;

    fn new() -> Self {
        Self {
            buckets: (0..Self::BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            errors: AtomicU64::new(0),
        }
    }

    fn record(&self, micros: u64) {
        let i = ((micros as f64 + 1.0).log2() * Self::PER_DOUBLING) as usize;
        self.buckets[i.min(Self::BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile in milliseconds (the upper edge of its bucket).
    fn quantile_ms(&self, q: f64) -> f64 {
        let n = self.count();
        if n == 0 {
            return 0.0;
        }
        let rank = ((n as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                return ((i as f64 + 1.0) / Self::PER_DOUBLING).exp2() / 1000.0;
            }
        }
        0.0
    }
}

/// The store, service and customers a load ran against.
#[derive(Debug, Serialize)]
pub struct LoadSetup {
    pub store: String,
    pub connections: usize,
    pub server_workers: usize,
    pub customers: u64,
    /// Events stored before the run (about `history_events` per customer).
    pub history_events: u64,
    /// `server.profile_cache_entries` (0: every decision rebuilds the profile from the history).
    pub profile_cache_entries: usize,
    /// Whether the profile states and rate limits were in Redis.
    pub redis: bool,
}

impl LoadSetup {
    fn of(store: &BenchStore, load: &LoadArgs, server: &BenchServer) -> Self {
        Self {
            store: redact(&store.url),
            connections: load.connections,
            server_workers: load.workers,
            customers: load.customers,
            history_events: server.history_events,
            profile_cache_entries: server.cache_entries,
            redis: load.redis.is_some(),
        }
    }

    /// `C customers, E history events; profile cache: ...`
    fn describe(&self) -> String {
        let cache = if self.redis {
            "Redis".to_string()
        } else if self.profile_cache_entries == 0 {
            "off".to_string()
        } else {
            format!("{} entries in memory", self.profile_cache_entries)
        };
        format!(
            "{} customers, {} history events; profile cache: {cache}",
            self.customers, self.history_events
        )
    }
}

/// What `discount bench serve` measured.
#[derive(Debug, Serialize)]
pub struct ServeBench {
    #[serde(flatten)]
    pub setup: LoadSetup,
    pub seconds: f64,
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

/// `discount bench serve`: `connections` clients post decisions for `warmup_seconds` unmeasured
/// and `seconds` measured, each as soon as the last is answered.
pub fn bench(args: &ServeBenchArgs, json: bool) -> anyhow::Result<()> {
    keep_heap_flat();
    let load = &args.load;
    let store = BenchStore::create(load.postgres.as_deref())?;
    let server = BenchServer::start(&store.url, load)?;
    let measuring = Arc::new(AtomicBool::new(args.warmup_seconds <= 0.0));
    let latencies: Arc<Vec<std::sync::Mutex<Vec<u32>>>> = Arc::new(
        (0..load.connections.max(1))
            .map(|_| std::sync::Mutex::new(Vec::with_capacity(1 << 20)))
            .collect(),
    );
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let threads = {
        let (measuring, latencies, errors) = (
            Arc::clone(&measuring),
            Arc::clone(&latencies),
            Arc::clone(&errors),
        );
        server.load(load, None, &stop, move |t, sent, ok| {
            if !measuring.load(Ordering::Relaxed) {
                return;
            }
            if ok {
                let micros = sent.elapsed().as_micros().min(u32::MAX as u128) as u32;
                if let Ok(mut l) = latencies[t].lock() {
                    l.push(micros);
                }
            } else {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    if args.warmup_seconds > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(args.warmup_seconds));
        measuring.store(true, Ordering::Relaxed);
    }
    let lookups_before = server.profiles.lookup_counts();
    let start = Instant::now();
    let mut samples = vec![rss_mib()];
    while start.elapsed().as_secs_f64() < args.seconds {
        std::thread::sleep(Duration::from_secs_f64(1.0_f64.min(args.seconds)));
        samples.push(rss_mib());
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    join(threads)?;
    let mut all: Vec<u32> = Vec::new();
    for l in latencies.iter() {
        if let Ok(mut l) = l.lock() {
            all.append(&mut l);
        }
    }
    let lookups = lookups_since(&server.profiles, &lookups_before);
    all.sort_unstable();
    let report = ServeBench {
        setup: LoadSetup::of(&store, load, &server),
        seconds: elapsed,
        warmup_seconds: args.warmup_seconds,
        decisions: all.len() as u64,
        errors: errors.load(Ordering::Relaxed),
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
    drop(server);
    if json {
        return print_json(&report);
    }
    let setup = &report.setup;
    println!(
        "POST /v1/decisions on {} ({} connections, {} server threads, {:.1} s after {:.1} s of warm-up)",
        setup.store, setup.connections, setup.server_workers, report.seconds, args.warmup_seconds
    );
    println!("  {}", setup.describe());
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

fn lookups_since(
    profiles: &ProfileStates,
    before: &std::collections::BTreeMap<String, u64>,
) -> std::collections::BTreeMap<String, u64> {
    let mut lookups = profiles.lookup_counts();
    for (result, n) in &mut lookups {
        *n -= before.get(result).copied().unwrap_or(0);
    }
    lookups
}

/// One window of a soak.
#[derive(Debug, Serialize)]
pub struct SoakWindow {
    /// Seconds from the start of the soak to the window's end.
    pub end_seconds: f64,
    pub decisions: u64,
    pub errors: u64,
    pub decisions_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Resident memory at the window's end (server and load together), MiB, and its parts:
    /// the heap and other private memory, mapped files, and shared memory (SQLite's WAL index).
    pub rss_mib: f64,
    pub rss_anon_mib: f64,
    pub rss_file_mib: f64,
    pub rss_shmem_mib: f64,
    /// Of the heap, what SQLite holds (its page caches over every connection), MiB.
    pub sqlite_mib: f64,
    /// Size of the SQLite store's write-ahead log at the window's end (absent on PostgreSQL).
    pub wal_mib: Option<f64>,
    /// Profile states held in memory at the window's end (bounded by `server.profile_cache_entries`).
    pub cached_profiles: Option<usize>,
}

/// What `discount bench soak` measured.
#[derive(Debug, Serialize)]
pub struct SoakBench {
    #[serde(flatten)]
    pub setup: LoadSetup,
    /// Decisions per second of the unpaced run before the soak.
    pub peak_decisions_per_second: f64,
    pub share: f64,
    /// The rate held: `share * peak`.
    pub target_decisions_per_second: f64,
    pub seconds: f64,
    pub decisions: u64,
    pub errors: u64,
    pub decisions_per_second: f64,
    pub windows: Vec<SoakWindow>,
    /// Resident memory at the end of the first window (after its warm-up) and at the end.
    pub rss_mib_after_first_window: f64,
    pub rss_mib_last: f64,
    pub rss_mib_peak: f64,
    /// Least-squares slope of the window-end resident memory from the first window's end on,
    /// MiB per minute.
    pub rss_slope_mib_per_minute: f64,
    pub rss_mib_samples: Vec<f64>,
}

/// `discount bench soak`: the peak (unpaced, after a warm-up), then `share` of it held for
/// `seconds`, reported by window.
pub fn soak(args: &SoakArgs, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.share > 0.0 && args.share <= 1.0,
        "--share {}: must be in (0, 1]",
        args.share
    );
    anyhow::ensure!(
        args.window_seconds > 0.0 && args.seconds >= args.window_seconds,
        "--window-seconds {} and --seconds {}: need 0 < window <= seconds",
        args.window_seconds,
        args.seconds
    );
    keep_heap_flat();
    let load = &args.load;
    let store = BenchStore::create(load.postgres.as_deref())?;
    let server = BenchServer::start(&store.url, load)?;
    let progress = |what: &str| {
        if !json {
            eprintln!("{what}");
        }
    };

    // The peak, as `bench serve` measures it.
    progress(&format!(
        "warm-up {:.0} s, then the peak over {:.0} s ...",
        args.warmup_seconds, args.peak_seconds
    ));
    let answered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let threads = {
        let answered = Arc::clone(&answered);
        server.load(load, None, &stop, move |_, _, ok| {
            if ok {
                answered.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    std::thread::sleep(Duration::from_secs_f64(args.warmup_seconds));
    let (before, start) = (answered.load(Ordering::Relaxed), Instant::now());
    std::thread::sleep(Duration::from_secs_f64(args.peak_seconds));
    let peak = (answered.load(Ordering::Relaxed) - before) as f64 / start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    join(threads)?;
    let target = peak * args.share;
    progress(&format!(
        "peak {peak:.0} decisions/s; holding {target:.0}/s for {:.0} s ...",
        args.seconds
    ));

    // The soak: one histogram per window, allocated before it starts.
    let windows = (args.seconds / args.window_seconds).ceil() as usize;
    let histograms: Arc<Vec<LatencyHistogram>> =
        Arc::new((0..windows).map(|_| LatencyHistogram::new()).collect());
    let window_length = Duration::from_secs_f64(args.window_seconds);
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let threads = {
        let histograms = Arc::clone(&histograms);
        server.load(load, Some(target), &stop, move |_, sent, ok| {
            let window =
                (sent.duration_since(start).as_secs_f64() / window_length.as_secs_f64()) as usize;
            let Some(h) = histograms.get(window) else {
                return;
            };
            if ok {
                h.record(sent.elapsed().as_micros() as u64);
            } else {
                h.errors.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut samples = Vec::new();
    let mut ends = Vec::with_capacity(windows);
    let bar = if json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(windows as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("soak [{bar:30}] window {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for w in 0..windows {
        let end = start
            + window_length
                .mul_f64((w + 1) as f64)
                .min(Duration::from_secs_f64(args.seconds));
        while Instant::now() < end {
            std::thread::sleep(Duration::from_secs(1).min(end - Instant::now()));
            samples.push(rss_mib());
        }
        ends.push((
            start.elapsed().as_secs_f64(),
            memory(),
            server.profiles.cached_states(),
            wal_mib(&store),
        ));
        bar.inc(1);
    }
    stop.store(true, Ordering::Relaxed);
    join(threads)?;
    bar.finish_and_clear();
    let mut previous_end = 0.0;
    let report_windows: Vec<SoakWindow> = ends
        .iter()
        .zip(histograms.iter())
        .map(|(&(end, rss, cached, wal), h)| {
            let decisions = h.count();
            let length = (end - previous_end).max(1e-9);
            previous_end = end;
            SoakWindow {
                end_seconds: end,
                decisions,
                errors: h.errors.load(Ordering::Relaxed),
                decisions_per_second: decisions as f64 / length,
                p50_ms: h.quantile_ms(0.5),
                p99_ms: h.quantile_ms(0.99),
                rss_mib: rss.resident,
                rss_anon_mib: rss.anonymous,
                rss_file_mib: rss.file,
                rss_shmem_mib: rss.shared,
                sqlite_mib: rss.sqlite,
                wal_mib: wal,
                cached_profiles: cached,
            }
        })
        .collect();
    let decisions: u64 = report_windows.iter().map(|w| w.decisions).sum();
    let errors: u64 = report_windows.iter().map(|w| w.errors).sum();
    let seconds = ends.last().map_or(0.0, |e| e.0);
    let after_warmup: Vec<(f64, f64)> = report_windows
        .iter()
        .map(|w| (w.end_seconds / 60.0, w.rss_mib))
        .collect();
    let report = SoakBench {
        setup: LoadSetup::of(&store, load, &server),
        peak_decisions_per_second: peak,
        share: args.share,
        target_decisions_per_second: target,
        seconds,
        decisions,
        errors,
        decisions_per_second: decisions as f64 / seconds.max(1e-9),
        rss_mib_after_first_window: report_windows.first().map_or(0.0, |w| w.rss_mib),
        rss_mib_last: report_windows.last().map_or(0.0, |w| w.rss_mib),
        rss_mib_peak: samples.iter().copied().fold(0.0, f64::max),
        rss_slope_mib_per_minute: slope(&after_warmup),
        windows: report_windows,
        rss_mib_samples: samples,
    };
    drop(server);
    if json {
        return print_json(&report);
    }
    let setup = &report.setup;
    println!(
        "soak of POST /v1/decisions on {} ({} connections, {} server threads; {})",
        setup.store,
        setup.connections,
        setup.server_workers,
        setup.describe()
    );
    println!(
        "  peak {:.0} decisions/s; held {:.0}% of it: target {:.0}/s, achieved {:.0}/s over {:.0} s ({} decisions, {} errors)",
        report.peak_decisions_per_second,
        100.0 * report.share,
        report.target_decisions_per_second,
        report.decisions_per_second,
        report.seconds,
        report.decisions,
        report.errors
    );
    let mut table = Table::new(&[
        "window end s",
        "decisions/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "RSS MiB",
        "heap / files / shared MiB",
        "of the heap SQLite MiB",
        "WAL MiB",
        "cached profiles",
    ]);
    for w in &report.windows {
        table.row(vec![
            format!("{:.0}", w.end_seconds),
            format!("{:.0}", w.decisions_per_second),
            format!("{:.2}", w.p50_ms),
            format!("{:.2}", w.p99_ms),
            w.errors.to_string(),
            format!("{:.1}", w.rss_mib),
            format!(
                "{:.1} / {:.1} / {:.1}",
                w.rss_anon_mib, w.rss_file_mib, w.rss_shmem_mib
            ),
            format!("{:.1}", w.sqlite_mib),
            w.wal_mib.map_or("-".into(), |m| format!("{m:.1}")),
            w.cached_profiles.map_or("-".into(), |n| n.to_string()),
        ]);
    }
    print!("{}", table.render());
    println!(
        "  RSS MiB: after the first window {:.1}, last {:.1}, peak {:.1}; slope {:+.2} MiB/min from the first window's end",
        report.rss_mib_after_first_window,
        report.rss_mib_last,
        report.rss_mib_peak,
        report.rss_slope_mib_per_minute
    );
    Ok(())
}

/// Least-squares slope of `y` on `x` (0 with fewer than two points).
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx > 0.0 {
        sxy / sxx
    } else {
        0.0
    }
}

/// Resident memory and its parts, MiB (`/proc/self/status`; zeros where it cannot be read).
#[derive(Clone, Copy, Default)]
struct Memory {
    resident: f64,
    anonymous: f64,
    file: f64,
    shared: f64,
    sqlite: f64,
}

fn memory() -> Memory {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    Memory {
        resident: field("VmRSS:"),
        anonymous: field("RssAnon:"),
        file: field("RssFile:"),
        shared: field("RssShmem:"),
        sqlite: discount_store::sqlite::memory_used() as f64 / (1024.0 * 1024.0),
    }
}

fn wal_mib(store: &BenchStore) -> Option<f64> {
    if store.postgres.is_some() {
        return None;
    }
    let wal = store.dir.join("serve.sqlite-wal");
    Some(std::fs::metadata(wal).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_land_within_a_bucket() {
        let h = LatencyHistogram::new();
        for micros in 1..=10_000u64 {
            h.record(micros);
        }
        assert_eq!(h.count(), 10_000);
        for (q, exact_ms) in [(0.5, 5.0), (0.99, 9.9)] {
            let got = h.quantile_ms(q);
            assert!(
                got >= exact_ms && got <= exact_ms * 1.02,
                "{q}: {got} against {exact_ms}"
            );
        }
        assert_eq!(LatencyHistogram::new().quantile_ms(0.5), 0.0);
    }

    #[test]
    fn slope_is_the_least_squares_line() {
        assert_eq!(slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]), 2.0);
        assert_eq!(slope(&[(1.0, 7.0)]), 0.0);
    }
}
