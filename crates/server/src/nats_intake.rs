//! Event intake from a NATS JetStream stream: `discount serve --events-from nats://HOST:PORT`.
//!
//! A durable pull consumer reads the stream; each message is one record (one JSON object, as a
//! line of `discount ingest`'s JSON Lines). The messages that are ready, up to
//! `intake.nats_batch`, are written in one transaction through the same path as
//! `POST /v1/events` ([`crate::routes::events::write_records`]), and acknowledged only after that
//! transaction committed. So a process killed at any point loses nothing: what it had not
//! acknowledged is delivered again, and what it had already stored comes back as a duplicate
//! (records are idempotent by id) and is acknowledged then.
//!
//! A message the records' validation refuses is logged (stream sequence, field, reason),
//! counted, and terminated (`+TERM`): it is never delivered again. A batch the store could not
//! write (the store, not the messages, failed) is handed back (`-NAK` with a delay) and tried
//! again. Every message read is counted once under `discount_nats_messages_total{result}`:
//! read = stored + duplicate + rejected.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, consumer::AckPolicy, AckKind};
use discount_core::config::IntakeConfig;
use futures_util::StreamExt;
use prometheus::{IntCounter, IntCounterVec, Opts};
use tokio::sync::watch;

use crate::app::Shared;
use crate::error::ServerError;

/// Where the intake reads from, resolved from `[intake]` and `--events-from`.
#[derive(Clone, Debug, PartialEq)]
pub struct IntakeSettings {
    /// The server, as the client connects to it: `nats://HOST:PORT`.
    pub server: String,
    pub stream: String,
    pub subject: String,
    pub consumer: String,
    pub batch: usize,
    pub ack_wait: Duration,
}

impl IntakeSettings {
    /// The intake `config` asks for, or `None` when `events_from` is unset. The stream and
    /// consumer named in the URL's path take the place of `nats_stream` and `nats_consumer`.
    pub fn from_config(config: &IntakeConfig) -> Result<Option<Self>, ServerError> {
        let Some(url) = &config.events_from else {
            return Ok(None);
        };
        let bad = |why: &str| {
            ServerError::Config(format!(
                "intake.events_from = {url:?}: {why}; expected nats://HOST:PORT[/STREAM[/CONSUMER]]"
            ))
        };
        let rest = url
            .strip_prefix("nats://")
            .ok_or_else(|| bad("not a nats:// URL"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        if parts.len() > 2 {
            return Err(bad("more than a stream and a consumer in the path"));
        }
        let stream = parts
            .first()
            .copied()
            .unwrap_or(config.nats_stream.as_str())
            .to_string();
        let consumer = parts
            .get(1)
            .copied()
            .unwrap_or(config.nats_consumer.as_str())
            .to_string();
        for (what, name) in [("stream", &stream), ("consumer", &consumer)] {
            check_name(what, name)?;
        }
        if config.nats_subject.trim().is_empty() || config.nats_subject.contains(' ') {
            return Err(ServerError::Config(format!(
                "intake.nats_subject = {:?}: expected a NATS subject such as discount.events",
                config.nats_subject
            )));
        }
        if config.nats_batch == 0 {
            return Err(ServerError::Config(
                "intake.nats_batch = 0: at least one message per transaction".into(),
            ));
        }
        if !(config.nats_ack_wait_seconds.is_finite() && config.nats_ack_wait_seconds >= 0.1) {
            return Err(ServerError::Config(format!(
                "intake.nats_ack_wait_seconds = {}: expected at least 0.1",
                config.nats_ack_wait_seconds
            )));
        }
        Ok(Some(Self {
            server: format!("nats://{authority}"),
            stream,
            subject: config.nats_subject.clone(),
            consumer,
            batch: config.nats_batch,
            ack_wait: Duration::from_secs_f64(config.nats_ack_wait_seconds),
        }))
    }
}

/// Stream and consumer names may not hold subject tokens' separators or wildcards.
fn check_name(what: &str, name: &str) -> Result<(), ServerError> {
    let bad = name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'));
    if bad {
        return Err(ServerError::Config(format!(
            "NATS {what} name {name:?}: expected letters, digits, `-` or `_` (no `.`, `*`, `>`, \
             slashes or spaces)"
        )));
    }
    Ok(())
}

/// What the intake has read, by result, as `/metrics` shows it.
#[derive(Clone)]
pub struct IntakeCounters {
    /// `discount_nats_messages_total{result="stored|duplicate|rejected"}`.
    pub messages: IntCounterVec,
    /// `discount_nats_batch_retries_total`: batches handed back because the store failed.
    pub retries: IntCounter,
}

impl IntakeCounters {
    fn register(registry: &prometheus::Registry) -> Result<Self, ServerError> {
        let metric = |e: prometheus::Error| ServerError::Config(format!("intake metrics: {e}"));
        let messages = IntCounterVec::new(
            Opts::new(
                "discount_nats_messages_total",
                "Messages read from the NATS stream, by result (stored, duplicate, rejected)",
            ),
            &["result"],
        )
        .map_err(metric)?;
        let retries = IntCounter::new(
            "discount_nats_batch_retries_total",
            "Batches of NATS messages handed back for redelivery because the store failed",
        )
        .map_err(metric)?;
        registry
            .register(Box::new(messages.clone()))
            .map_err(metric)?;
        registry
            .register(Box::new(retries.clone()))
            .map_err(metric)?;
        // Every result shows from the start (at 0), so that a rate over it is defined.
        for result in ["stored", "duplicate", "rejected"] {
            messages.with_label_values(&[result]);
        }
        Ok(Self { messages, retries })
    }

    /// Messages read so far with `result`.
    pub fn count(&self, result: &str) -> u64 {
        self.messages.with_label_values(&[result]).get()
    }

    /// Messages read so far: stored + duplicate + rejected.
    pub fn read(&self) -> u64 {
        ["stored", "duplicate", "rejected"]
            .iter()
            .map(|r| self.count(r))
            .sum()
    }
}

/// A connected intake, ready to run.
pub struct NatsIntake {
    settings: IntakeSettings,
    client: async_nats::Client,
    consumer: jetstream::consumer::PullConsumer,
    counters: IntakeCounters,
}

/// How long a batch the store could not write waits before it is delivered again.
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// How long one pull waits for messages when none are ready: the most a record published to
/// an idle stream waits before it is read.
const IDLE_WAIT: Duration = Duration::from_millis(500);
/// The pause after a pull that failed or was refused, so that the intake does not spin.
const PULL_PAUSE: Duration = Duration::from_millis(50);

impl NatsIntake {
    /// Connects, creates the stream (over `subject`) if it does not exist, and creates or
    /// updates the durable consumer; registers the counters in the service's metrics.
    pub async fn connect(state: &Shared, settings: IntakeSettings) -> Result<Self, ServerError> {
        let nats = |what: &str, e: &dyn std::fmt::Display| {
            ServerError::Config(format!("NATS intake ({}): {what}: {e}", settings.server))
        };
        let client = async_nats::ConnectOptions::new()
            .name("discount serve")
            .connection_timeout(Duration::from_secs(5))
            .connect(settings.server.as_str())
            .await
            .map_err(|e| nats("connecting", &e))?;
        let js = jetstream::new(client.clone());
        let stream = js
            .get_or_create_stream(jetstream::stream::Config {
                name: settings.stream.clone(),
                subjects: vec![settings.subject.clone()],
                ..Default::default()
            })
            .await
            .map_err(|e| {
                nats(
                    &format!(
                        "opening the stream {} (is JetStream enabled? nats-server needs -js)",
                        settings.stream
                    ),
                    &e,
                )
            })?;
        // One batch is in flight at a time; room for a few more, e.g. those a killed process
        // held, which wait for their acknowledgement wait to run out.
        let in_flight = i64::try_from(settings.batch.saturating_mul(4)).unwrap_or(i64::MAX);
        // Created, or updated to these settings (a new acknowledgement wait, say) when it exists.
        let consumer: jetstream::consumer::PullConsumer = stream
            .create_consumer(pull::Config {
                durable_name: Some(settings.consumer.clone()),
                filter_subject: settings.subject.clone(),
                ack_policy: AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                // Unlimited: a message is only ever given up on when it is invalid.
                max_deliver: -1,
                max_ack_pending: in_flight,
                ..Default::default()
            })
            .await
            .map_err(|e| nats(&format!("opening the consumer {}", settings.consumer), &e))?;
        let counters = IntakeCounters::register(&state.metrics.registry)?;
        Ok(Self {
            settings,
            client,
            consumer,
            counters,
        })
    }

    pub fn counters(&self) -> IntakeCounters {
        self.counters.clone()
    }

    /// Reads until `stop` turns true, finishing the batch in hand (written and acknowledged).
    pub async fn run(self, state: Shared, mut stop: watch::Receiver<bool>) {
        let s = &self.settings;
        tracing::info!(
            target: "discount::nats",
            "reading records from NATS {} (stream {}, subject {}, consumer {}, up to {} a transaction)",
            s.server, s.stream, s.subject, s.consumer, s.batch
        );
        loop {
            if *stop.borrow() {
                return;
            }
            // What is there now, without waiting; when nothing is, wait up to IDLE_WAIT for
            // more. Each pull is one request that ends (the server's reply or its expiry), so
            // a request the server dropped (one over max_ack_pending, say) cannot stall the
            // intake.
            let mut batch = tokio::select! {
                b = self.pull(true) => b,
                _ = stop.changed() => return,
            };
            if batch.is_empty() {
                batch = tokio::select! {
                    b = self.pull(false) => b,
                    _ = stop.changed() => return,
                };
            }
            if batch.is_empty() {
                continue;
            }
            if !self.write(&state, batch).await {
                // The store failed: the batch was handed back; give it a moment.
                if wait_or_stop(&mut stop, RETRY_DELAY).await {
                    return;
                }
            }
        }
    }

    /// Up to `batch` messages: those ready now (`now_only`), or those that arrive within
    /// IDLE_WAIT. A failed pull is logged and gives none (after a pause, so as not to spin).
    async fn pull(&self, now_only: bool) -> Vec<jetstream::Message> {
        let s = &self.settings;
        let request = if now_only {
            self.consumer.fetch().max_messages(s.batch).messages().await
        } else {
            self.consumer
                .batch()
                .max_messages(s.batch)
                .expires(IDLE_WAIT)
                .messages()
                .await
        };
        let mut messages = match request {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(target: "discount::nats", "pulling from {}: {e}; retrying", s.stream);
                tokio::time::sleep(PULL_PAUSE).await;
                return Vec::new();
            }
        };
        let mut batch = Vec::new();
        while let Some(item) = messages.next().await {
            match item {
                Ok(m) => batch.push(m),
                Err(e) => {
                    // A status ending the request early (e.g. too many unacknowledged
                    // messages): keep what came, pull again shortly.
                    tracing::debug!(target: "discount::nats", "pulling from {}: {e}", s.stream);
                    if batch.is_empty() {
                        tokio::time::sleep(PULL_PAUSE).await;
                    }
                    break;
                }
            }
        }
        batch
    }

    /// Writes one batch and acknowledges it. False when the store failed and the batch was
    /// handed back for redelivery.
    async fn write(&self, state: &Shared, batch: Vec<jetstream::Message>) -> bool {
        let stream = &self.settings.stream;
        let seq = |m: &jetstream::Message| m.info().map_or(0, |i| i.stream_sequence);
        // Each message's text, or why it has none.
        let mut texts = Vec::with_capacity(batch.len());
        let mut positions = Vec::with_capacity(batch.len());
        let mut unreadable = Vec::new();
        for (i, m) in batch.iter().enumerate() {
            match std::str::from_utf8(&m.payload) {
                Ok(t) => {
                    texts.push(t.to_string());
                    positions.push(i);
                }
                Err(e) => unreadable.push((i, format!("the message is not UTF-8 text ({e})"))),
            }
        }
        let results = match crate::routes::events::write_records(state, &texts).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(
                    target: "discount::nats",
                    "writing {} messages from {stream} (sequences {} to {}): {}; they will be \
                     delivered again",
                    batch.len(),
                    batch.first().map_or(0, seq),
                    batch.last().map_or(0, seq),
                    e.message
                );
                self.counters.retries.inc();
                for m in &batch {
                    if let Err(e) = m.ack_with(AckKind::Nak(Some(RETRY_DELAY))).await {
                        tracing::warn!(target: "discount::nats", "handing back message {}: {e}", seq(m));
                    }
                }
                return false;
            }
        };
        // The transaction committed: every message of the batch can be acknowledged.
        let mut rejected: Vec<(usize, String)> = unreadable;
        for r in &results {
            let Some(&i) = positions.get(r.index) else {
                continue;
            };
            match r.status {
                "rejected" => {
                    let reason = r.reason.as_deref().unwrap_or("invalid record");
                    let why = match &r.field {
                        Some(f) => format!("field `{f}`: {reason}"),
                        None => reason.to_string(),
                    };
                    rejected.push((i, why));
                }
                status => self.counters.messages.with_label_values(&[status]).inc(),
            }
        }
        let mut terminated = vec![false; batch.len()];
        for (i, why) in &rejected {
            let m = &batch[*i];
            tracing::warn!(
                target: "discount::nats",
                "rejected message {} of stream {stream}: {why}; it is terminated, not retried",
                seq(m)
            );
            self.counters
                .messages
                .with_label_values(&["rejected"])
                .inc();
            terminated[*i] = true;
            if let Err(e) = m.ack_with(AckKind::Term).await {
                tracing::warn!(target: "discount::nats", "terminating message {}: {e}", seq(m));
            }
        }
        for (m, _) in batch.iter().zip(&terminated).filter(|(_, t)| !**t) {
            if let Err(e) = m.ack().await {
                tracing::warn!(target: "discount::nats", "acknowledging message {}: {e}", seq(m));
            }
        }
        // Send the acknowledgements now rather than with the next batch. One lost is harmless:
        // its message comes back and is acknowledged as a duplicate.
        if let Err(e) = self.client.flush().await {
            tracing::warn!(target: "discount::nats", "sending acknowledgements: {e}");
        }
        true
    }
}

/// Sleeps `delay` unless `stop` turns true first; true when it did.
async fn wait_or_stop(stop: &mut watch::Receiver<bool>, delay: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

/// Connects the intake `config` asks for and runs it on the current runtime until `stop` turns
/// true; `None` when no intake is configured. Await the handle after setting `stop` so that the
/// batch in hand is written and acknowledged before the process ends.
pub async fn start(
    state: &Shared,
    config: &IntakeConfig,
    stop: watch::Receiver<bool>,
) -> Result<Option<(IntakeCounters, tokio::task::JoinHandle<()>)>, ServerError> {
    let Some(settings) = IntakeSettings::from_config(config)? else {
        return Ok(None);
    };
    let intake = NatsIntake::connect(state, settings).await?;
    let counters = intake.counters();
    let handle = tokio::spawn(intake.run(Arc::clone(state), stop));
    Ok(Some((counters, handle)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> IntakeConfig {
        IntakeConfig {
            events_from: Some(url.to_string()),
            ..IntakeConfig::default()
        }
    }

    #[test]
    fn the_url_names_the_server_stream_and_consumer() {
        let s = IntakeSettings::from_config(&config("nats://127.0.0.1:4222/SHOP/intake-1"))
            .unwrap()
            .unwrap();
        assert_eq!(s.server, "nats://127.0.0.1:4222");
        assert_eq!(
            (s.stream.as_str(), s.consumer.as_str()),
            ("SHOP", "intake-1")
        );
        let d = IntakeSettings::from_config(&config("nats://127.0.0.1:4222"))
            .unwrap()
            .unwrap();
        let defaults = IntakeConfig::default();
        assert_eq!(d.stream, defaults.nats_stream);
        assert_eq!(d.consumer, defaults.nats_consumer);
        assert_eq!(d.subject, defaults.nats_subject);
        assert!(IntakeSettings::from_config(&IntakeConfig::default())
            .unwrap()
            .is_none());
    }

    #[test]
    fn bad_urls_and_names_are_refused_with_what_to_write() {
        for url in [
            "http://127.0.0.1:4222",
            "nats:///S",
            "nats://h:1/a/b/c",
            "nats://h:1/a.b",
            "nats://h:1/S/c*",
        ] {
            let e = IntakeSettings::from_config(&config(url))
                .unwrap_err()
                .to_string();
            assert!(e.contains("expected"), "{url}: {e}");
        }
        let mut c = config("nats://h:1");
        c.nats_batch = 0;
        let e = IntakeSettings::from_config(&c).unwrap_err().to_string();
        assert!(e.contains("nats_batch"), "{e}");
    }
}
