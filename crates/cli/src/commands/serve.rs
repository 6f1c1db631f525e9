//! `discount serve` (the decision service) and `discount bench serve` (its load benchmark).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use discount_core::Config;
use discount_policy::EngineConfig;

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

/// Keeps a long-running service's heap flat and small (glibc; elsewhere nothing changes).
///
/// glibc gives threads that contend their own allocator arenas (up to eight per core), and with
/// many threads allocating and freeing, the resident memory of a long run grows:
/// `discount bench soak` at 80% of the peak grew 2.6 MiB a minute (23 MiB in ten minutes), with
/// or without trimming. Two arenas held it flat over ten minutes. Every ten seconds a thread of its
/// own also hands the arenas' free pages back to the system (`malloc_trim`), which halved the
/// resident memory in the same run. `MALLOC_ARENA_MAX` in the environment, which glibc reads
/// itself, overrides the cap.
pub(crate) fn keep_heap_flat() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static STARTED: std::sync::Once = std::sync::Once::new();
        STARTED.call_once(|| {
            if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
                // SAFETY: mallopt only sets an allocator parameter, before the service's threads
                // start.
                unsafe {
                    libc::mallopt(libc::M_ARENA_MAX, 2);
                }
            }
            let spawned = std::thread::Builder::new()
                .name("heap-trim".into())
                .spawn(|| loop {
                    std::thread::sleep(Duration::from_secs(10));
                    // SAFETY: malloc_trim only returns free memory of the allocator's arenas to
                    // the system; it is safe to call from any thread at any time.
                    unsafe {
                        libc::malloc_trim(0);
                    }
                });
            if let Err(e) = spawned {
                eprintln!("discount serve: warning: no heap trimming thread ({e})");
            }
        });
    }
}

pub(crate) fn runtime(workers: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
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
    keep_heap_flat();
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
