//! `discount bench nats`: records through a NATS JetStream stream into the store, as
//! `discount serve --events-from` takes them.

use std::time::{Duration, Instant};

use anyhow::Context;
use discount_core::Config;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::ingest::redact;
use crate::output::print_json;

/// Records through NATS JetStream into the store: publishes generated events (views, carts
/// and orders of 1 to 3 lines) to a fresh stream on a running JetStream server, then runs the
/// intake of `discount serve --events-from` on them and times it until every message is
/// stored and acknowledged. The stream is deleted afterwards.
///
/// Examples:
///   nats-server -js &                      # a JetStream server on 127.0.0.1:4222
///   discount bench nats --events 200000
///   discount bench nats --events 200000 --batch 5000 --store postgres://postgres@127.0.0.1:5432/test
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct BenchNatsArgs {
    /// The JetStream server.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// Events published and read.
    #[arg(long, default_value_t = 100_000)]
    pub events: usize,
    /// Messages written per transaction (intake.nats_batch).
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
    /// The store written to (default: a new SQLite file in a temporary folder).
    #[arg(long)]
    pub store: Option<String>,
    /// Seed of the generated events.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// What `discount bench nats` measured.
#[derive(Debug, Serialize)]
pub struct NatsBench {
    pub store: String,
    pub events: usize,
    pub batch: usize,
    pub publish_seconds: f64,
    pub published_per_second: f64,
    /// From the intake's start (connected, consumer created) to the last message stored.
    pub intake_seconds: f64,
    pub events_per_second: f64,
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

/// One generated record: views and carts mostly, every fifth an order of 1 to 3 lines.
fn record(i: usize, rng: &mut rand::rngs::StdRng, users: usize) -> String {
    let user = rng.gen_range(0..users.max(1));
    let item = rng.gen_range(0..500);
    let time = 1_700_000_000 + i as i64;
    match i % 5 {
        0 => {
            let lines: Vec<String> = (0..rng.gen_range(1..=3))
                .map(|l| {
                    let price = rng.gen_range(300..9_000);
                    format!(
                        r#"{{"item_id":"i{}","quantity":{},"list_price":{price}}}"#,
                        (item + l) % 500,
                        rng.gen_range(1..3)
                    )
                })
                .collect();
            format!(
                r#"{{"type":"order","id":"e{i}","user_id":"u{user}","time":{time},"order_id":"o{i}","lines":[{}]}}"#,
                lines.join(",")
            )
        }
        1 => format!(
            r#"{{"type":"add_to_cart","id":"e{i}","user_id":"u{user}","time":{time},"item_id":"i{item}"}}"#
        ),
        _ => format!(
            r#"{{"type":"view","id":"e{i}","user_id":"u{user}","time":{time},"item_id":"i{item}"}}"#
        ),
    }
}

pub fn bench(args: &BenchNatsArgs, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(args.events > 0, "--events: at least one event");
    anyhow::ensure!(
        args.batch > 0,
        "--batch: at least one message per transaction"
    );
    let tag = format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    let stream = format!("BENCH_{tag}");
    let subject = format!("bench.{tag}");
    let tmp = std::env::temp_dir().join(format!("discount-bench-nats-{tag}"));
    let store_url = match &args.store {
        Some(s) => s.clone(),
        None => {
            std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
            format!("sqlite://{}", tmp.join("bench.sqlite").display())
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // The JetStream context starts tasks of its own: it is made inside the runtime.
    let _runtime = rt.enter();

    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let users = (args.events / 20).max(1);
    let records: Vec<String> = (0..args.events)
        .map(|i| record(i, &mut rng, users))
        .collect();
    let client = rt
        .block_on(async_nats::connect(args.nats.as_str()))
        .with_context(|| format!("connecting to {}", args.nats))?;
    let js = async_nats::jetstream::new(client);
    let publish_start = Instant::now();
    rt.block_on(async {
        js.create_stream(async_nats::jetstream::stream::Config {
            name: stream.clone(),
            subjects: vec![subject.clone()],
            ..Default::default()
        })
        .await
        .with_context(|| {
            format!(
                "creating the stream {stream} on {} (is JetStream enabled? nats-server -js)",
                args.nats
            )
        })?;
        for chunk in records.chunks(1_000) {
            let mut acks = Vec::with_capacity(chunk.len());
            for r in chunk {
                acks.push(
                    js.publish(subject.clone(), r.clone().into())
                        .await
                        .context("publishing")?,
                );
            }
            for a in acks {
                a.await
                    .context("the stream's acknowledgement of a publish")?;
            }
        }
        anyhow::Ok(())
    })?;
    let publish_seconds = publish_start.elapsed().as_secs_f64();

    let mut config = Config::default();
    config.store.url = store_url.clone();
    config.intake.events_from = Some(format!(
        "{}/{stream}/bench",
        args.nats.trim_end_matches('/')
    ));
    config.intake.nats_subject = subject.clone();
    config.intake.nats_batch = args.batch;
    let intake = config.intake.clone();
    let state = discount_server::build(discount_server::Options::new(config, None))
        .with_context(|| format!("opening the store {}", redact(&store_url)))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (counters, seconds) = rt.block_on(async {
        let start = Instant::now();
        let (counters, running) = discount_server::nats_intake::start(&state, &intake, stopped)
            .await?
            .context("no intake configured")?;
        let mut last_progress = (0, Instant::now());
        while counters.read() < args.events as u64 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let read = counters.read();
            if read != last_progress.0 {
                last_progress = (read, Instant::now());
            }
            anyhow::ensure!(
                last_progress.1.elapsed() < Duration::from_secs(30),
                "the intake stopped at {read} of {} messages",
                args.events
            );
        }
        let seconds = start.elapsed().as_secs_f64();
        let _ = stop.send(true);
        running.await?;
        js.delete_stream(&stream)
            .await
            .with_context(|| format!("deleting the stream {stream}"))?;
        anyhow::Ok((counters, seconds))
    })?;
    drop(state);
    if args.store.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let report = NatsBench {
        store: redact(&store_url),
        events: args.events,
        batch: args.batch,
        publish_seconds,
        published_per_second: args.events as f64 / publish_seconds,
        intake_seconds: seconds,
        events_per_second: args.events as f64 / seconds,
        stored: counters.count("stored"),
        duplicates: counters.count("duplicate"),
        rejected: counters.count("rejected"),
    };
    if json {
        return print_json(&report);
    }
    println!(
        "NATS JetStream -> {} ({} events, {} a transaction)",
        report.store, report.events, report.batch
    );
    println!(
        "  published {:.0} events/s ({:.2} s)",
        report.published_per_second, report.publish_seconds
    );
    println!(
        "  intake    {:.0} events/s ({:.2} s): {} stored, {} duplicates, {} rejected",
        report.events_per_second,
        report.intake_seconds,
        report.stored,
        report.duplicates,
        report.rejected
    );
    Ok(())
}
