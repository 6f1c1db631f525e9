//! The dashboard at `/ui` in a real headless Chromium against a real `discount serve`: a
//! simulated shop is ingested, decisions are made (two of them for customers the fraud gate
//! stops) and get outcomes, two response models are trained and promoted. The page, signed in
//! through its address, loads with the service's data and draws its charts; its roll-back
//! action, run by the page's own script, makes the earlier model active again (checked through
//! the API); and a screenshot is written.
//!
//! Chromium is Debian's `chromium` (or `$CHROMIUM`). Without it the test skips, saying so,
//! except under `CI=true`, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use discount_server::client::HttpClient;

mod serve_process;
use serve_process::{admin_key, run_in as run, serve_with};

/// Two rungs, heavy exploration (so that both arms are randomised), a budget paced over a
/// period that is under way, and the fraud gate's thresholds.
fn engine(period_start: &str) -> String {
    format!(
        r#"
name = "shop-v1"
[[ladder]]
id = "none"
offer = {{ kind = "no_offer" }}
[[ladder]]
id = "amt500"
offer = {{ kind = "amount_off", amount = 500, min_spend = 0 }}
[[budgets]]
campaign = "default"
amount = 5000000
period_start = "{period_start}"
period_days = 30
[exploration]
kind = "epsilon_greedy"
epsilon = 0.9
[model]
features = ["bias"]
[rules.gate]
withhold_above = 0.8
cap_above = 0.5
cap_discount = 500
"#
    )
}

const RISK_SCORES: &str = concat!(
    r#"{"customer_id":"ring-7","score":0.93,"reasons":["ring of 4 accounts sharing a device"]}"#,
    "\n",
    r#"{"customer_id":"grey-2","score":0.6,"reasons":["new account, first order discounted"]}"#,
    "\n",
);

/// Chromium's path, or `None` (the test skips) when it is missing outside CI.
fn chromium() -> Option<PathBuf> {
    let candidates = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            ["chromium", "chromium-browser", "google-chrome"]
                .iter()
                .filter_map(|name| {
                    std::env::var_os("PATH").and_then(|paths| {
                        std::env::split_paths(&paths)
                            .map(|dir| dir.join(name))
                            .find(|p| p.is_file())
                    })
                }),
        );
    for candidate in candidates {
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "chromium is missing under CI (.ci/run installs Debian's `chromium`)"
    );
    eprintln!("skipping: no chromium on PATH (apt-get install chromium, or set CHROMIUM)");
    None
}

/// Runs headless Chromium on `url` with `extra` flags; its standard output.
fn headless(chromium: &Path, profile: &Path, url: &str, extra: &[&str]) -> String {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--hide-scrollbars",
            "--disable-dev-shm-usage",
            // The page polls every 2 s; 12 s of its time covers the first reads, a second
            // sample for the rate chart, and the admin action.
            "--virtual-time-budget=12000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("starting chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Api {
    client: HttpClient,
    auth: String,
}

impl Api {
    fn call(&mut self, method: &str, path: &str, body: &str) -> serde_json::Value {
        let r = self
            .client
            .request(
                method,
                path,
                &[("authorization", &self.auth)],
                body.as_bytes(),
            )
            .unwrap();
        assert_eq!(r.status, 200, "{method} {path}: {}", r.text());
        serde_json::from_slice(&r.body).unwrap()
    }
}

/// The ids of the `user` records of the simulated shop.
fn customers(events: &Path) -> Vec<String> {
    std::fs::read_to_string(events)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            (v["type"] == "user").then(|| v["id"].as_str().map(str::to_string))?
        })
        .collect()
}

/// Decisions with outcomes: offered customers buy 40% of the time, the others 10%.
fn decide_and_settle(api: &mut Api, customers: &[String]) {
    for (i, customer) in customers.iter().enumerate() {
        let d = api.call(
            "POST",
            "/v1/decisions",
            &format!(r#"{{"customer_id":"{customer}"}}"#),
        );
        let offered = d["offer_id"] == "amt500";
        let converted = if offered { i % 10 < 4 } else { i % 10 < 1 };
        let discount = if converted && offered { 500 } else { 0 };
        let outcome = format!(
            r#"{{"decision_id":"{}","converted":{converted},"revenue":{},"discount":{discount},"profit":{}}}"#,
            d["decision_id"].as_str().unwrap(),
            if converted { 4000 } else { 0 },
            if converted { 1500 - discount } else { 0 },
        );
        api.call("POST", "/v1/outcomes", &outcome);
    }
}

fn train(dir: &Path, url: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "--json",
        "train",
        "uplift",
        "--min-rows",
        "20",
        "--min-orders",
        "3",
    ];
    args.extend_from_slice(extra);
    let out = run(dir, url, &args);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["model_id"].as_str().unwrap().to_string()
}

#[test]
fn dashboard_loads_draws_rolls_back_and_is_screenshotted() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shop.sqlite").display());
    run(
        dir.path(),
        &url,
        &[
            "simulate", "--users", "400", "--days", "10", "--seed", "5", "--out", "sim",
        ],
    );
    run(dir.path(), &url, &["ingest", "sim/events.jsonl"]);
    let shop_customers = customers(&dir.path().join("sim/events.jsonl"));
    assert!(shop_customers.len() >= 200, "{}", shop_customers.len());

    // The budget's period began ten days ago: the plan has spent a third of it.
    let ten_days_ago = discount_core::Timestamp::from_datetime(chrono::Utc::now()).plus_days(-10.0);
    let engine_path = dir.path().join("engine.toml");
    std::fs::write(&engine_path, engine(&ten_days_ago.to_rfc3339())).unwrap();
    let scores = dir.path().join("scores.jsonl");
    std::fs::write(&scores, RISK_SCORES).unwrap();
    let token = admin_key(&url);
    let auth = format!("Bearer {token}");
    let serve_args = ["--risk-scores", scores.to_str().unwrap()];

    let server = serve_with(
        &url,
        &engine_path,
        &serve_args,
        &[],
        std::process::Stdio::null(),
    );
    let mut api = Api {
        client: HttpClient::new(server.addr),
        auth: auth.clone(),
    };
    decide_and_settle(&mut api, &shop_customers[..200]);
    let flagged = ["ring-7".to_string(), "grey-2".to_string()];
    decide_and_settle(&mut api, &flagged);
    drop(server);

    // Two models, both promoted: the second is active, the first is what a roll-back restores.
    let first = train(dir.path(), &url, &[]);
    run(dir.path(), &url, &["models", "promote", &first]);
    let second = train(dir.path(), &url, &["--l2", "5"]);
    assert_ne!(first, second);
    run(dir.path(), &url, &["models", "promote", &second]);

    let server = serve_with(
        &url,
        &engine_path,
        &serve_args,
        &[],
        std::process::Stdio::null(),
    );
    let mut api = Api {
        client: HttpClient::new(server.addr),
        auth,
    };
    // A few decisions by this process, so that its live counters and latency have samples.
    decide_and_settle(&mut api, &shop_customers[200..240]);
    let models = api.call("GET", "/v1/models", "");
    assert_eq!(
        models["serving"].as_str(),
        Some(second.as_str()),
        "{models}"
    );

    // The JSON the page reads.
    let live = api.call("GET", "/v1/stats/live", "");
    assert_eq!(live["decisions"], 40, "{live}");
    assert_eq!(live["latency"]["count"], 40, "{live}");
    assert!(live["latency"]["p50_ms"].as_f64() > Some(0.0), "{live}");
    let budget = &live["budgets"][0];
    let share = budget["plan_share"].as_f64().unwrap();
    assert!((share - 1.0 / 3.0).abs() < 0.01, "{live}");
    assert_eq!(live["policy"]["control_offer"], "none", "{live}");
    let recent = api.call("GET", "/v1/stats/recent?limit=1000", "");
    assert_eq!(recent["decisions"], 242, "{recent}");
    assert_eq!(recent["settled"], 242, "{recent}");
    let arms = recent["experiment"]["arms"].as_array().unwrap();
    let offered = arms.iter().find(|a| a["offer_id"] == "amt500").unwrap();
    // Offered customers bought 4 times in 10 at 1,000 profit, the others once in 10 at 1,500.
    let difference = &offered["difference"];
    assert!(
        difference["lower"].as_f64() > Some(0.0) && difference["value"].as_f64() < Some(500.0),
        "{recent}"
    );
    // One registered policy decided them all, however often its engine learned.
    let policies = recent["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 1, "{recent}");
    let policy = &policies[0];
    assert_eq!(policy["version"], "shop-v1", "{recent}");
    assert_eq!(policy["settled"], 242, "{recent}");
    assert!(policy["greedy"]["n"].as_u64() > Some(20), "{recent}");
    let logged = &policy["logged"];
    assert!(
        logged["lower"].as_f64() < logged["value"].as_f64()
            && logged["value"].as_f64() < logged["upper"].as_f64(),
        "{recent}"
    );
    let alerts = api.call("GET", "/v1/fraud/alerts", "");
    assert_eq!(alerts["withheld"], 1, "{alerts}");
    assert_eq!(alerts["capped"], 1, "{alerts}");
    assert_eq!(alerts["alerts"][0]["customer_id"], "grey-2", "{alerts}");

    // Checkout keeps asking while the page is open, so that its rate and latency charts move.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (stop, addr, auth) = (Arc::clone(&stop), server.addr, api.auth.clone());
        let customers = shop_customers[240..].to_vec();
        std::thread::spawn(move || {
            let mut api = Api {
                client: HttpClient::new(addr),
                auth,
            };
            for batch in customers.chunks(5).cycle() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                decide_and_settle(&mut api, batch);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    // The page, signed in through the fragment, rolling back the response model.
    let profile = dir.path().join("chromium-profile");
    let page = format!(
        "http://{}/ui/#key={token}&action=rollback&kind=uplift",
        server.addr
    );
    let dom = headless(&chromium, &profile, &page, &["--dump-dom"]);
    let expect = |needle: &str| {
        assert!(
            dom.contains(needle),
            "the page lacks {needle:?}; it rendered:\n{dom}"
        );
    };
    expect(r#"data-state="loaded""#);
    expect("policy shop-v1");
    // Charts drawn by the script: the rate and latency series, the budget bar with its plan
    // marker, the offer mix bars, the interval plots.
    expect(r#"data-series="decisions / s""#);
    expect(r#"data-series="p99""#);
    expect(r#"data-budget="default""#);
    expect(r#"class="plan-marker""#);
    expect("plan 33%");
    expect(r#"data-offer="amt500""#);
    expect(r#"id="policy-value-chart""#);
    expect(r#"id="experiment-chart""#);
    expect("amt500 − none");
    expect(r#"id="fraud-table""#);
    expect("ring of 4 accounts sharing a device");
    expect(&format!(r#"data-model="{first}""#));
    expect(r#"data-action="promote""#);
    // The roll-back the address asked for, run by the page's script.
    expect(r#"data-outcome="ok""#);
    expect(&format!("{first} is active again"));
    assert!(!dom.contains("Refresh failed"), "{dom}");
    // Nothing of the key is left in the page.
    assert!(!dom.contains(&token), "the key leaked into the page");

    let start = Instant::now();
    loop {
        let models = api.call("GET", "/v1/models", "");
        // The registry as a page (`items`) or as one list (`models`).
        let listed = models.get("items").unwrap_or(&models["models"]);
        let active: Vec<&str> = listed
            .as_array()
            .unwrap_or_else(|| panic!("no models listed: {models}"))
            .iter()
            .filter(|m| m["status"] == "active" && m["kind"] == "uplift")
            .filter_map(|m| m["id"].as_str())
            .collect();
        assert_eq!(active, [first.as_str()], "{models}");
        if models["serving"].as_str() == Some(first.as_str()) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the service still scores with {}",
            models["serving"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // A screenshot of the page as an admin sees it (no action this time).
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    headless(
        &chromium,
        &profile,
        &format!("http://{}/ui/#key={token}", server.addr),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,2100",
        ],
    );
    let png = std::fs::read(&shot).expect("chromium wrote no screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    // A blank 1400x2100 page compresses to a few kilobytes; the drawn dashboard does not.
    assert!(
        png.len() > 60_000 && png.len() < 5_000_000,
        "{} bytes",
        png.len()
    );
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    assert_eq!(width, 1400, "PNG width");
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    eprintln!("dashboard screenshot: {}", shot.display());
}
