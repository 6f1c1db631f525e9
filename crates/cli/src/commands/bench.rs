//! `discount bench`: speed and memory figures, measured on this machine.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};
use discount_core::Config;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::output::{count, print_json, Table};

/// Measure throughput and peak memory. Each measurement runs `discount` in a child
/// process, so the peak resident memory is that of the measured work alone.
///
/// Examples:
///   discount bench ingest --events 1000000
///   discount bench ingest --events 250000 --backend sqlite
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum BenchCommand {
    /// Slates of --k items over --items items (ALS, exploration on): latency percentiles at
    /// --rate requests per second and back-to-back throughput, on one thread.
    Recommend(super::recommend::BenchRecommendArgs),
    /// The MLP and GRU scorers with int8 weights against the float ones: AUC, speed-up, size.
    Quantize(super::quantize::BenchQuantizeArgs),
    /// Events through a NATS JetStream stream into the store (`serve --events-from`'s intake):
    /// events per second from publish to commit and acknowledgement.
    Nats(super::nats::BenchNatsArgs),
    /// Decisions per second of the decision engine in process (one customer, 6 offers, 64
    /// features, exploration, logging to memory) and latency percentiles.
    Decide {
        #[arg(long, default_value_t = 1_000_000)]
        decisions: usize,
        #[arg(long, default_value_t = 64)]
        features: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// LinUCB and linear Thompson sampling: decisions per second on one thread (the engine's
    /// decision and the rule alone, 64 features, 6 offers) and regret on a simulated linear
    /// bandit over seeds.
    Bandit(super::bandit::BenchBanditArgs),
    /// Profile states of the synthetic shop's customers (the histories `bench serve` stores):
    /// memory per state held, serialised size, events folded per second, and a profile read from
    /// the state against a rebuild from the history.
    Profiles(super::profile_states::BenchProfilesArgs),
    /// `discount plan` (Lagrangian multiple-choice knapsack) over synthetic customers.
    Plan {
        #[arg(long, default_value_t = 1_000_000)]
        customers: usize,
        #[arg(long, default_value_t = 16)]
        features: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Ingest synthetic JSONL and CSV event files into SQLite and PostgreSQL.
    Ingest {
        /// Events per file.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Which stores to measure.
        #[arg(long, value_enum, default_value = "both")]
        backend: BackendArg,
        /// PostgreSQL server for the postgres measurement (a fresh schema is created on it).
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
        postgres: String,
        /// Seed of the synthetic data.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Working folder for the generated files and the SQLite database (default: a temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// All off-policy estimators with bootstrap intervals on a synthetic log.
    Ope {
        /// Logged rounds.
        #[arg(long, default_value_t = 10_000_000)]
        rounds: usize,
        /// Bootstrap resamples.
        #[arg(long, default_value_t = 200)]
        bootstrap: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Fraud scan of a simulated shop (seconds, peak memory) and gate lookup latency.
    /// 1,000,000 customers over 365 days give about 10,000,000 events.
    Fraud {
        #[arg(long, default_value_t = 1_000_000)]
        users: usize,
        #[arg(long, default_value_t = 365)]
        days: u32,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Propensity models on simulated customer-offer pairs: fit time, scoring throughput, peak memory.
    Train(super::train::propensity::BenchTrainArgs),
    /// Simulated customer-days per second.
    Sim {
        #[arg(long, default_value_t = 1_000_000)]
        users: usize,
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// POST /v1/decisions against `discount serve` on loopback: throughput, latency, memory.
    Serve(super::serve_bench::ServeBenchArgs),
    /// The peak of `bench serve`, then a share of it (default 80%) held for ten minutes:
    /// throughput, latency, resident memory and cached profiles per minute, and the memory's
    /// slope.
    Soak(super::serve_bench::SoakArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum BackendArg {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Serialize)]
struct Measurement {
    format: String,
    backend: String,
    events: usize,
    seconds: f64,
    events_per_second: f64,
    peak_rss_mib: f64,
}

pub fn run(_config: &Config, cmd: &BenchCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Recommend(args) => super::recommend::bench(args, json),
        BenchCommand::Quantize(args) => super::quantize::bench(args, json),
        BenchCommand::Nats(args) => super::nats::bench(args, json),
        BenchCommand::Decide {
            decisions,
            features,
            seed,
        } => super::plan::bench_decide(*decisions, *features, *seed, json),
        BenchCommand::Bandit(args) => super::bandit::bench(args, json),
        BenchCommand::Profiles(args) => super::profile_states::bench(args, json),
        BenchCommand::Plan {
            customers,
            features,
            seed,
        } => super::plan::bench_plan(*customers, *features, *seed, json),
        BenchCommand::Ope {
            rounds,
            bootstrap,
            seed,
        } => {
            let report = discount_eval::bench::bench_ope(*rounds, *bootstrap, *seed)?;
            if json {
                return print_json(&report);
            }
            println!("{report}");
            Ok(())
        }
        BenchCommand::Serve(args) => super::serve_bench::bench(args, json),
        BenchCommand::Soak(args) => super::serve_bench::soak(args, json),
        BenchCommand::Fraud { users, days, seed } => {
            let report = discount_lab::fraud_bench::run(*users, *days, *seed)?;
            if json {
                return print_json(&report);
            }
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchCommand::Train(args) => super::train::propensity::bench(args, json),
        BenchCommand::Sim { users, days, seed } => {
            let report = discount_sim::bench(*users, *days, *seed)?;
            if json {
                return print_json(&report);
            }
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchCommand::Ingest {
            events,
            backend,
            postgres,
            seed,
            dir,
        } => {
            let tmp;
            let dir = match dir {
                Some(d) => {
                    std::fs::create_dir_all(d)?;
                    d.clone()
                }
                None => {
                    tmp =
                        std::env::temp_dir().join(format!("discount-bench-{}", std::process::id()));
                    std::fs::create_dir_all(&tmp)?;
                    tmp
                }
            };
            let jsonl = dir.join("events.jsonl");
            let csv = dir.join("events.csv");
            eprintln!(
                "generating {} events as JSONL and CSV in {} ...",
                count(*events as i64),
                dir.display()
            );
            write_synthetic(&jsonl, &csv, *events, *seed)?;
            let mut results = Vec::new();
            for (format, file) in [("jsonl", &jsonl), ("csv", &csv)] {
                if *backend != BackendArg::Postgres {
                    let db = dir.join(format!("bench-{format}.sqlite"));
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                    }
                    let url = format!("sqlite://{}", db.display());
                    results.push(measure(format, "sqlite", &url, file, *events)?);
                }
                if *backend != BackendArg::Sqlite {
                    let url = fresh_schema(postgres, format)?;
                    results.push(measure(format, "postgres", &url, file, *events)?);
                }
            }
            if json {
                return print_json(&results);
            }
            let mut t = Table::new(&[
                "format",
                "store",
                "events",
                "seconds",
                "events/s",
                "peak RSS MiB",
            ]);
            for m in &results {
                t.row(vec![
                    m.format.clone(),
                    m.backend.clone(),
                    count(m.events as i64),
                    format!("{:.2}", m.seconds),
                    count(m.events_per_second as i64),
                    format!("{:.1}", m.peak_rss_mib),
                ]);
            }
            print!("{}", t.render());
            Ok(())
        }
    }
}

fn fresh_schema(base: &str, label: &str) -> anyhow::Result<String> {
    let mut client = postgres_client(base)?;
    let schema = format!("bench_{label}_{}", std::process::id());
    client.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options=-csearch_path%3D{schema}"))
}

fn postgres_client(url: &str) -> anyhow::Result<discount_store::postgres::AdminClient> {
    discount_store::postgres::AdminClient::connect(url)
        .with_context(|| format!("connecting to {url}"))
}

/// Runs `discount ingest` on `file` in a child process; returns its wall time and peak RSS.
fn measure(
    format: &str,
    backend: &str,
    url: &str,
    file: &Path,
    events: usize,
) -> anyhow::Result<Measurement> {
    let exe = std::env::current_exe()?;
    eprintln!("ingesting {format} into {backend} ...");
    let started = Instant::now();
    let out = Command::new(exe)
        .args(["--store", url, "--json", "ingest", "--batch-size", "10000"])
        .arg(file)
        .stderr(std::process::Stdio::inherit())
        .output()?;
    let seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("the measured ingest failed ({})", out.status);
    }
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading the measured run's report")?;
    if report["total"]["stored"].as_u64() != Some(events as u64) {
        bail!(
            "the measured run stored {} of {events} events",
            report["total"]["stored"]
        );
    }
    Ok(Measurement {
        format: format.into(),
        backend: backend.into(),
        events,
        seconds,
        events_per_second: events as f64 / seconds,
        peak_rss_mib: report["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
    })
}

/// Writes the same synthetic events as JSONL and CSV: views, carts, single-line orders,
/// reviews and coupons over 100,000 users and 5,000 items.
fn write_synthetic(jsonl: &Path, csv: &Path, events: usize, seed: u64) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut j = BufWriter::new(std::fs::File::create(jsonl)?);
    let mut c = BufWriter::new(std::fs::File::create(csv)?);
    writeln!(c, "type,id,user_id,time,item_id,order_id,coupon_id,quantity,list_price,paid,retail_discount,coupon_discount,rating,offer_spec")?;
    let start = 1_700_000_000i64;
    for n in 0..events {
        let user = rng.gen_range(0..100_000);
        let item = rng.gen_range(0..5_000);
        let time = start + (n as i64) * 3;
        let roll: f64 = rng.gen();
        let price = 500 + (item % 50) * 100;
        let (kind, extra_json, extra_csv) = if roll < 0.6 {
            (
                "view",
                format!(r#","item_id":"i{item}""#),
                format!("i{item},,,,,,,,,"),
            )
        } else if roll < 0.75 {
            (
                "add_to_cart",
                format!(r#","item_id":"i{item}","quantity":1"#),
                format!("i{item},,,1,,,,,,"),
            )
        } else if roll < 0.9 {
            let disc = if rng.gen_bool(0.3) { price / 10 } else { 0 };
            (
                "order",
                format!(
                    r#","order_id":"o{n}","lines":[{{"item_id":"i{item}","quantity":1,"list_price":{price},"paid":{},"coupon_discount":{disc}}}]"#,
                    price - disc
                ),
                format!("i{item},o{n},,1,{price},{},0,{disc},,", price - disc),
            )
        } else if roll < 0.95 {
            let rating = rng.gen_range(1..=5);
            (
                "review",
                format!(r#","item_id":"i{item}","rating":{rating}"#),
                format!("i{item},,,,,,,,{rating},"),
            )
        } else {
            (
                "coupon_issued",
                format!(r#","coupon_id":"c{n}","offer":{{"kind":"percent_off","percent":10}}"#),
                format!(",,c{n},,,,,,,percent_off:10"),
            )
        };
        writeln!(
            j,
            r#"{{"type":"{kind}","id":"e{n}","user_id":"u{user}","time":{time}{extra_json}}}"#
        )?;
        writeln!(c, "{kind},e{n},u{user},{time},{extra_csv}")?;
    }
    j.flush()?;
    c.flush()?;
    Ok(())
}
