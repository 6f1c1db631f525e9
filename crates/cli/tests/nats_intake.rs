//! `discount serve --events-from nats://...`: records published to a JetStream stream are stored
//! once each and acknowledged after their commit, a process killed mid-stream loses and doubles
//! nothing when it comes back, and a bad message is rejected with its reason, not retried.
//!
//! Each test starts its own `nats-server -js` on a free loopback port with its own storage folder
//! (Debian's package `nats-server`; `NATS_SERVER` names another binary).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use discount_server::client::HttpClient;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_discount")
}

/// A `nats-server -js` of this test's own; killed when dropped.
struct NatsServer {
    child: Child,
    port: u16,
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nats_server_binary() -> PathBuf {
    if let Ok(p) = std::env::var("NATS_SERVER") {
        return PathBuf::from(p);
    }
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/usr/local/bin"])
    {
        let candidate = Path::new(dir).join("nats-server");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("nats-server not found: install it (apt-get install -y nats-server) or set NATS_SERVER");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_nats(storage: &Path) -> NatsServer {
    let port = free_port();
    let child = Command::new(nats_server_binary())
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(storage)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting nats-server");
    let server = NatsServer { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !nats_greets(port) {
        assert!(
            Instant::now() < deadline,
            "nats-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Whether a NATS server on `port` sends its `INFO` greeting. A bare TCP connect is not proof:
/// while nothing listens on a loopback port in the ephemeral range, the kernel can hand the probe
/// that same port as its own and the socket connects to itself.
fn nats_greets(port: u16) -> bool {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    if stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .is_err()
    {
        return false;
    }
    let mut greeting = String::new();
    BufReader::new(stream).read_line(&mut greeting).is_ok() && greeting.starts_with("INFO")
}

const STREAM: &str = "SHOP";
const SUBJECT: &str = "shop.events";
const CONSUMER: &str = "intake";

/// The test's side of NATS: publishes records and reads the consumer's state.
struct Publisher {
    rt: tokio::runtime::Runtime,
    js: jetstream::Context,
}

impl Publisher {
    fn connect(port: u16) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let js = rt.block_on(async {
            let client = async_nats::connect(format!("nats://127.0.0.1:{port}"))
                .await
                .unwrap();
            let js = jetstream::new(client);
            js.create_stream(jetstream::stream::Config {
                name: STREAM.into(),
                subjects: vec![SUBJECT.into()],
                ..Default::default()
            })
            .await
            .unwrap();
            js
        });
        Self { rt, js }
    }

    fn publish(&self, messages: &[String]) {
        self.rt.block_on(async {
            for chunk in messages.chunks(1_000) {
                let mut acks = Vec::new();
                for m in chunk {
                    acks.push(self.js.publish(SUBJECT, m.clone().into()).await.unwrap());
                }
                for a in acks {
                    a.await.unwrap();
                }
            }
        });
    }

    /// `(delivered stream sequence, acknowledged floor, not yet delivered, delivered and not
    /// yet acknowledged)` of the intake's consumer.
    fn consumer_state(&self) -> (u64, u64, u64, usize) {
        self.rt.block_on(async {
            let stream = self.js.get_stream(STREAM).await.unwrap();
            let info = stream.consumer_info(CONSUMER).await.unwrap();
            (
                info.delivered.stream_sequence,
                info.ack_floor.stream_sequence,
                info.num_pending,
                info.num_ack_pending,
            )
        })
    }
}

/// Record `i`: every fourth an order of two lines paying 100 + i and 250, else a view.
fn record(i: usize) -> String {
    let user = i % 97;
    let time = 1_700_000_000 + i;
    if i.is_multiple_of(4) {
        format!(
            r#"{{"type":"order","id":"e{i}","user_id":"u{user}","time":{time},"order_id":"o{i}","lines":[{{"item_id":"i{}","quantity":1,"list_price":{}}},{{"item_id":"i7","quantity":2,"list_price":125}}]}}"#,
            i % 13,
            100 + i
        )
    } else {
        format!(
            r#"{{"type":"view","id":"e{i}","user_id":"u{user}","time":{time},"item_id":"i{}"}}"#,
            i % 13
        )
    }
}

/// The revenue the first `n` records carry.
fn revenue_of(n: usize) -> i64 {
    (0..n)
        .filter(|i| i.is_multiple_of(4))
        .map(|i| 100 + i as i64 + 250)
        .sum()
}

/// A running `discount serve --events-from`, its address, and where its log goes.
struct Serving {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serving {
    fn start(store: &str, nats_port: u16, dir: &Path, name: &str, env: &[(&str, &str)]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let mut child = Command::new(bin())
            .args(["--store", store, "serve", "--bind", "127.0.0.1:0"])
            .arg("--events-from")
            .arg(format!("nats://127.0.0.1:{nats_port}/{STREAM}/{CONSUMER}"))
            .args(["--nats-subject", SUBJECT])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            // A file, not a pipe: the access lines of the polls must never block the server.
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| {
                panic!(
                    "no address in {line:?}; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .parse()
            .unwrap();
        Self { child, addr, log }
    }

    /// `discount_nats_messages_total{result}` from /metrics.
    fn messages(&self, client: &mut HttpClient, result: &str) -> u64 {
        let metrics = client.request("GET", "/metrics", &[], b"").unwrap().text();
        let key = format!("discount_nats_messages_total{{result=\"{result}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&key))
            .map_or(0, |v| v.trim().parse().unwrap())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Waits until `done` holds, for at most `seconds`.
fn wait_for(seconds: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stats(store: &str) -> discount_store::Stats {
    discount_store::open(store).unwrap().stats().unwrap()
}

#[test]
fn every_published_event_is_stored_and_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let nats = start_nats(&dir.path().join("nats"));
    let publisher = Publisher::connect(nats.port);
    let n = 600;
    let records: Vec<String> = (0..n).map(record).collect();
    publisher.publish(&records);
    let store = format!("sqlite://{}", dir.path().join("s.sqlite").display());
    let served = Serving::start(&store, nats.port, dir.path(), "serve", &[]);
    let mut client = HttpClient::new(served.addr);
    wait_for(20, "every message read", || {
        served.messages(&mut client, "stored") >= n as u64
    });
    wait_for(10, "every message acknowledged", || {
        publisher.consumer_state() == (n as u64, n as u64, 0, 0)
    });
    assert_eq!(served.messages(&mut client, "stored"), n as u64);
    assert_eq!(served.messages(&mut client, "duplicate"), 0);
    assert_eq!(served.messages(&mut client, "rejected"), 0);
    // Also counted with the events of POST /v1/events.
    let metrics = client.request("GET", "/metrics", &[], b"").unwrap().text();
    assert!(
        metrics.contains(&format!("discount_events_total{{result=\"stored\"}} {n}")),
        "{metrics}"
    );
    let s = stats(&store);
    assert_eq!(s.events, n as i64);
    assert_eq!(
        s.money.iter().map(|m| m.revenue).sum::<i64>(),
        revenue_of(n)
    );
    assert!(
        served.log().contains("reading records from NATS"),
        "{}",
        served.log()
    );
}

#[test]
fn a_process_killed_mid_stream_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let nats = start_nats(&dir.path().join("nats"));
    let publisher = Publisher::connect(nats.port);
    let n = 20_000;
    let records: Vec<String> = (0..n).map(record).collect();
    publisher.publish(&records);
    let store = format!("sqlite://{}", dir.path().join("s.sqlite").display());
    // Small transactions, so that the kill falls between many commits; redelivery after one
    // second rather than thirty.
    let env = [
        ("DISCOUNT_INTAKE__NATS_BATCH", "50"),
        ("DISCOUNT_INTAKE__NATS_ACK_WAIT_SECONDS", "1"),
    ];
    let mut first = Serving::start(&store, nats.port, dir.path(), "first", &env);
    let mut client = HttpClient::new(first.addr);
    let mut stored_seen = 0;
    wait_for(30, "some messages stored", || {
        stored_seen = first.messages(&mut client, "stored");
        stored_seen >= 2_000
    });
    first.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    first.child.wait().unwrap();
    let at_kill = stats(&store).events;
    assert!(
        at_kill >= stored_seen as i64 && at_kill < n as i64,
        "the kill was meant to fall mid-stream: {at_kill} of {n} stored ({stored_seen} seen)"
    );

    let second = Serving::start(&store, nats.port, dir.path(), "second", &env);
    let mut client = HttpClient::new(second.addr);
    wait_for(30, "every message acknowledged", || {
        publisher.consumer_state() == (n as u64, n as u64, 0, 0)
    });
    let s = stats(&store);
    assert_eq!(s.events, n as i64, "every event stored exactly once");
    assert_eq!(
        s.money.iter().map(|m| m.revenue).sum::<i64>(),
        revenue_of(n),
        "every order line stored exactly once"
    );
    // The second process stored exactly what the first had not committed; what the first
    // committed without acknowledging came back and was recognised.
    let stored = second.messages(&mut client, "stored");
    let duplicates = second.messages(&mut client, "duplicate");
    assert_eq!(stored, n as u64 - at_kill as u64);
    assert_eq!(second.messages(&mut client, "rejected"), 0);
    eprintln!(
        "killed at {at_kill} of {n} stored; the second process stored {stored} and recognised \
         {duplicates} redelivered duplicates"
    );
}

#[test]
fn a_bad_message_is_rejected_with_its_reason_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let nats = start_nats(&dir.path().join("nats"));
    let publisher = Publisher::connect(nats.port);
    let messages = vec![
        record(1),
        // Money as a decimal string: refused, naming the field.
        r#"{"type":"order","id":"bad-1","user_id":"u1","time":1700000000,"order_id":"o-bad","lines":[{"item_id":"i1","quantity":1,"list_price":"12.99"}]}"#.to_string(),
        "this is not JSON".to_string(),
        record(2),
        record(1),
    ];
    publisher.publish(&messages);
    let store = format!("sqlite://{}", dir.path().join("s.sqlite").display());
    let served = Serving::start(&store, nats.port, dir.path(), "serve", &[]);
    let mut client = HttpClient::new(served.addr);
    wait_for(20, "every message read", || {
        let read: u64 = ["stored", "duplicate", "rejected"]
            .iter()
            .map(|r| served.messages(&mut client, r))
            .sum();
        read >= 5
    });
    wait_for(10, "every message settled", || {
        publisher.consumer_state() == (5, 5, 0, 0)
    });
    assert_eq!(served.messages(&mut client, "stored"), 2);
    assert_eq!(served.messages(&mut client, "duplicate"), 1);
    assert_eq!(served.messages(&mut client, "rejected"), 2);
    assert_eq!(stats(&store).events, 2);
    let log = served.log();
    let line = |seq: u64| {
        log.lines()
            .find(|l| l.contains(&format!("rejected message {seq} of stream {STREAM}")))
            .unwrap_or_else(|| panic!("no rejection of message {seq} in\n{log}"))
            .to_string()
    };
    let decimal = line(2);
    assert!(decimal.contains("list_price"), "{decimal}");
    assert!(decimal.contains("not retried"), "{decimal}");
    let not_json = line(3);
    assert!(not_json.contains("malformed JSON"), "{not_json}");
    // Terminated messages stay terminated: nothing comes back to be read again.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(served.messages(&mut client, "rejected"), 2);
}
