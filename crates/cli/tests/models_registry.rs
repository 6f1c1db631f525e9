//! Trained models decide, on SQLite and on PostgreSQL: a simulated shop is ingested, a real
//! `discount serve` explores and its decisions get outcomes, `discount train uplift` fits the
//! response model on the store, `discount models promote` activates it, and the service answers
//! decisions naming that model; promotion over HTTP swaps models without a restart, an edited
//! artifact is refused while the previous model keeps serving, and roll-backs restore the earlier
//! models.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use discount_server::client::HttpClient;
use discount_store::decision_log::open_decision_log;
use discount_store::model_registry::content_hash;

mod serve_process;
use serve_process::{admin_key, bin, run_in as run, serve, two_rung_engine};

/// One test per backend for a flow taking the store's URL: a temporary SQLite file, and a
/// scratch schema on the PostgreSQL server (skipped outside CI when it cannot be reached).
macro_rules! on_both_backends {
    ($sqlite:ident, $postgres:ident, $label:literal, $flow:ident) => {
        #[test]
        fn $sqlite() {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("shop.sqlite").display());
            $flow(&url);
        }

        #[test]
        fn $postgres() {
            let Some(url) = discount_store::postgres::scratch_schema_url($label).unwrap() else {
                return;
            };
            $flow(&url);
        }
    };
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Customers of the simulated shop: those with events (who, in this test, buy anyway) and those
/// without (whom the offer moves).
fn customers(events: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let mut all = BTreeSet::new();
    let mut active = BTreeSet::new();
    for line in std::fs::read_to_string(events).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        match (v["type"].as_str(), v["user_id"].as_str(), v["id"].as_str()) {
            (Some("user"), _, Some(id)) => {
                all.insert(id.to_string());
            }
            (Some("item"), _, _) => {}
            (_, Some(user), _) => {
                active.insert(user.to_string());
            }
            _ => {}
        }
    }
    let quiet = all.difference(&active).cloned().collect();
    (active.into_iter().collect(), quiet)
}

struct Api {
    client: HttpClient,
    auth: String,
}

impl Api {
    fn call(&mut self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        let r = self
            .client
            .request(
                method,
                path,
                &[("authorization", &self.auth)],
                body.as_bytes(),
            )
            .unwrap();
        let v = serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
        (r.status, v)
    }

    fn decide(&mut self, customer: &str) -> serde_json::Value {
        let (status, d) = self.call(
            "POST",
            "/v1/decisions",
            &format!(r#"{{"customer_id":"{customer}"}}"#),
        );
        assert_eq!(status, 200, "{d}");
        d
    }

    /// Waits until the service scores with `want` (within a few seconds).
    fn serving(&mut self, want: Option<&str>) -> serde_json::Value {
        let start = Instant::now();
        loop {
            let (status, v) = self.call("GET", "/v1/models", "");
            assert_eq!(status, 200, "{v}");
            if v["serving"].as_str() == want || start.elapsed() > Duration::from_secs(10) {
                assert_eq!(v["serving"].as_str(), want, "{v}");
                return v;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// `discount decide --model active` for one customer: the decision as JSON. With `given`, the
/// request carries the engine's features (the profile comes from the store); without, every fact
/// comes from the store.
fn decide_with_active_model(
    dir: &std::path::Path,
    url: &str,
    engine: &std::path::Path,
    customer: &str,
    given: bool,
) -> serde_json::Value {
    let requests = dir.join("requests.jsonl");
    let facts = if given {
        r#","customer":{"features":[1.0]}"#
    } else {
        ""
    };
    std::fs::write(
        &requests,
        format!("{{\"request\":{{\"customer_id\":\"{customer}\"}}{facts}}}\n"),
    )
    .unwrap();
    let decided = run(
        dir,
        url,
        &[
            "decide",
            "--engine",
            engine.to_str().unwrap(),
            "--model",
            "active",
            "--requests",
            requests.to_str().unwrap(),
        ],
    );
    serde_json::from_slice(&decided.stdout).unwrap()
}

/// The simulator lab's decisions (`discount_lab::closed_loop::RecordedShop`, what the closed loop
/// decides with) on the records `discount simulate` wrote and the store ingested, with the
/// engine of `engine` and the store's active response model.
struct LabShop {
    shop: discount_lab::closed_loop::RecordedShop,
    engine: discount_policy::engine::DecisionEngine,
    model_id: String,
}

impl LabShop {
    fn new(dir: &std::path::Path, url: &str, engine: &std::path::Path) -> Self {
        let records =
            discount_ingest::jsonl::JsonlSource::open(&dir.join("sim/events.jsonl"), 1 << 20)
                .unwrap()
                .map(|row| row.unwrap().1);
        let shop = discount_lab::closed_loop::RecordedShop::from_records(records);
        let text = std::fs::read_to_string(engine).unwrap();
        let config =
            discount_policy::engine::EngineConfig::from_toml_str(&text, "engine.toml").unwrap();
        let engine = discount_policy::engine::DecisionEngine::new(config).unwrap();
        let row = open_decision_log(url)
            .unwrap()
            .active_model(discount_server::models::RESPONSE_KIND)
            .unwrap()
            .unwrap();
        let model = discount_server::models::load_response_model(&row, None).unwrap();
        engine.set_response_model(&row.id, model).unwrap();
        Self {
            shop,
            engine,
            model_id: row.id,
        }
    }

    /// The lab's decision for a customer who had no offer before, now.
    fn decide(&self, customer: &str) -> discount_policy::engine::Decision {
        use rand::SeedableRng;
        let now = discount_core::Timestamp(chrono::Utc::now().timestamp_micros());
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let (_, decision) = self
            .shop
            .decide(&self.engine, customer, &[], now, &mut rng)
            .unwrap();
        decision
    }
}

/// A simulated shop in the store whose decision log a real serve filled by exploring: customers
/// with a history buy 60% of the time whatever they get; the others 40% with the coupon and 5%
/// without.
struct ExploredShop {
    dir: tempfile::TempDir,
    engine: std::path::PathBuf,
    auth: String,
    quiet: Vec<String>,
    /// Decisions made.
    decisions: usize,
}

fn explored_shop(url: &str, users: &str, days: &str) -> ExploredShop {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        url,
        &[
            "simulate", "--users", users, "--days", days, "--seed", "11", "--out", "sim",
        ],
    );
    run(dir.path(), url, &["ingest", "sim/events.jsonl"]);
    let (active, quiet) = customers(&dir.path().join("sim/events.jsonl"));
    assert!(
        active.len() >= 60 && quiet.len() >= 60,
        "{} {}",
        active.len(),
        quiet.len()
    );
    let engine = dir.path().join("engine.toml");
    std::fs::write(
        &engine,
        two_rung_engine("explore-v1", 10_000_000, r#"["bias"]"#),
    )
    .unwrap();
    let auth = format!("Bearer {}", admin_key(url));
    let picked: Vec<&String> = active
        .iter()
        .take(150)
        .chain(quiet.iter().take(150))
        .collect();
    let server = serve(url, &engine, &[]);
    let mut api = Api {
        client: HttpClient::new(server.addr),
        auth: auth.clone(),
    };
    for (i, customer) in picked.iter().enumerate() {
        let d = api.decide(customer.as_str());
        assert!(d.get("model_id").is_none(), "no model is active yet: {d}");
        let offered = d["offer_id"] == "amt500";
        let converted = if active.contains(*customer) {
            i % 10 < 6
        } else if offered {
            i % 10 < 4
        } else {
            i % 20 == 0
        };
        let discount = if converted && offered { 500 } else { 0 };
        let outcome = format!(
            r#"{{"decision_id":"{}","converted":{converted},"revenue":{},"discount":{discount},"profit":{}}}"#,
            d["decision_id"].as_str().unwrap(),
            if converted { 4000 } else { 0 },
            if converted { 1500 - discount } else { 0 },
        );
        let (status, v) = api.call("POST", "/v1/outcomes", &outcome);
        assert_eq!(status, 200, "{v}");
    }
    let decisions = picked.len();
    drop(server);
    ExploredShop {
        dir,
        engine,
        auth,
        quiet,
        decisions,
    }
}

fn trained_models_decide(url: &str) {
    let ExploredShop {
        dir,
        engine,
        auth,
        quiet,
        decisions,
    } = explored_shop(url, "800", "20");

    // Fit on the store; a candidate is registered, nothing decides with it yet.
    let first = json_of(&run(
        dir.path(),
        url,
        &[
            "--json",
            "train",
            "uplift",
            "--min-rows",
            "20",
            "--min-orders",
            "3",
        ],
    ));
    let a = first["model_id"].as_str().unwrap().to_string();
    assert_eq!(first["log"]["decisions"], decisions, "{first}");
    assert_eq!(
        first["training_rows"].as_u64().unwrap() + first["validation"]["rows"].as_u64().unwrap(),
        decisions as u64,
        "{first}"
    );
    assert!(
        first["validation"]["auc"].as_f64().unwrap() > 0.6,
        "{first}"
    );
    let listed = json_of(&run(dir.path(), url, &["--json", "models", "list"]));
    assert_eq!(listed["models"][0]["status"], "candidate", "{listed}");
    let listed_count = listed["models"].as_array().unwrap().len();
    assert_eq!(listed_count, 1);
    run(dir.path(), url, &["models", "promote", &a]);
    // The active model's global explanation, on the decisions after its training window: every
    // input with its importance and interval (these explored customers are newcomers, so their
    // profile columns barely vary and the offer carries the AUC).
    let explained = json_of(&run(
        dir.path(),
        url,
        &["--json", "models", "explain", "active", "--repeats", "3"],
    ));
    assert_eq!(explained["model"].as_str(), Some(a.as_str()), "{explained}");
    let explanation = &explained["explanation"];
    assert!(explanation["rows"].as_u64() > Some(0), "{explained}");
    assert!(
        explanation["baseline"]["auc"].as_f64() > Some(0.5),
        "{explained}"
    );
    let features = explanation["features"].as_array().unwrap();
    assert!(features.len() >= 20, "{explained}");
    for f in features {
        let drop = &f["auc_drop"];
        let (lo, mean, hi) = (
            drop["lower"].as_f64().unwrap(),
            drop["mean"].as_f64().unwrap(),
            drop["upper"].as_f64().unwrap(),
        );
        assert!(lo <= mean && mean <= hi && mean.is_finite(), "{f}");
    }

    // The retraining gate: a candidate made worse on purpose (penalised flat, so it gives everyone
    // the same offer) is judged off-policy against a on the held-out window and not promoted.
    let worse = json_of(&run(
        dir.path(),
        url,
        &[
            "--json",
            "retrain",
            "--min-rows",
            "20",
            "--min-orders",
            "3",
            "--l2",
            "1e6",
            "--ridge",
            "1e6",
            "--bootstrap",
            "300",
        ],
    ));
    assert_eq!(worse["promoted"], false, "{worse}");
    assert_eq!(worse["incumbent"].as_str(), Some(a.as_str()), "{worse}");
    assert!(
        worse["gate"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("kept the incumbent"),
        "{worse}"
    );
    let rejected = worse["candidate"].as_str().unwrap();
    let shown = json_of(&run(
        dir.path(),
        url,
        &["--json", "models", "show", rejected],
    ));
    assert_eq!(shown["model"]["status"], "rejected", "{shown}");
    let listed = json_of(&run(
        dir.path(),
        url,
        &["--json", "models", "list", "--kind", "uplift"],
    ));
    let active_ids: Vec<&str> = listed["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["status"] == "active")
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(active_ids, [a.as_str()], "{listed}");

    // The service decides with it, names it, and follows the registry without a restart.
    let server = serve(url, &engine, &[]);
    let mut api = Api {
        client: HttpClient::new(server.addr),
        auth: auth.clone(),
    };
    api.serving(Some(&a));
    let d = api.decide(&quiet[200]);
    assert_eq!(d["model_id"].as_str(), Some(a.as_str()), "{d}");

    let second = json_of(&run(
        dir.path(),
        url,
        &[
            "--json",
            "train",
            "uplift",
            "--min-rows",
            "20",
            "--min-orders",
            "3",
            "--l2",
            "5",
        ],
    ));
    let b = second["model_id"].as_str().unwrap().to_string();
    assert_ne!(a, b);
    assert_eq!(second["parent"].as_str(), Some(a.as_str()), "{second}");
    let (status, v) = api.call("POST", &format!("/v1/models/{b}/promote"), "");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["serving"].as_str(), Some(b.as_str()), "{v}");
    assert_eq!(
        api.decide(&quiet[201])["model_id"].as_str(),
        Some(b.as_str())
    );

    // An artifact edited after registration is refused; the previous model keeps serving.
    let mut log = open_decision_log(url).unwrap();
    let mut edited = log.model(&b).unwrap().unwrap();
    edited.id = "uplift-edited".into();
    edited.artifact = edited.artifact.replacen("0.", "9.", 1);
    assert_ne!(content_hash(&edited.artifact), edited.content_hash);
    assert!(log.register_model(&edited).unwrap());
    assert!(log.promote_model("uplift-edited").unwrap());
    let start = Instant::now();
    let refused = loop {
        let (_, v) = api.call("GET", "/v1/models", "");
        if !v["refused"].is_null() || start.elapsed() > Duration::from_secs(10) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(refused["refused"]["model_id"], "uplift-edited", "{refused}");
    assert!(
        refused["refused"]["reason"]
            .as_str()
            .unwrap()
            .contains("SHA-256"),
        "{refused}"
    );
    assert_eq!(refused["serving"].as_str(), Some(b.as_str()), "{refused}");
    assert_eq!(
        api.decide(&quiet[202])["model_id"].as_str(),
        Some(b.as_str())
    );
    let show = Command::new(bin())
        .args(["--store", url, "models", "promote", "uplift-edited"])
        .output()
        .unwrap();
    assert!(!show.status.success(), "the CLI refuses it too");
    assert!(String::from_utf8_lossy(&show.stderr).contains("SHA-256"));
    let metrics = api
        .client
        .request("GET", "/metrics", &[], b"")
        .unwrap()
        .text();
    assert!(
        metrics.contains(&format!(
            "discount_response_model{{model_id=\"{b}\",state=\"serving\"}} 1"
        )),
        "{metrics}"
    );
    // Drift of what b is fed, against the decisions of its training window: a gauge per served
    // feature and one for the score, labelled with b.
    let psi: Vec<f64> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("discount_feature_psi{") && l.contains(&format!("model_id=\"{b}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(
        !psi.is_empty() && psi.iter().all(|p| p.is_finite() && *p >= 0.0),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("discount_score_psi{{model_id=\"{b}\"}}")),
        "{metrics}"
    );
    // The monitor compares with the active model's training window too.
    let monitored = json_of(&run(
        dir.path(),
        url,
        &[
            "--json",
            "monitor",
            "--until",
            "2100-01-01",
            "--days",
            "80000",
        ],
    ));
    assert!(
        monitored["drift_reference"]
            .as_str()
            .is_some_and(|r| r.starts_with("training window of model")),
        "{monitored}"
    );

    // Roll back past the refused model to b, then to a.
    let back = json_of(&run(dir.path(), url, &["--json", "models", "rollback"]));
    assert_eq!(back["active"].as_str(), Some(b.as_str()), "{back}");
    let v = api.serving(Some(&b));
    assert!(v["refused"].is_null(), "{v}");
    let back = json_of(&run(dir.path(), url, &["--json", "models", "rollback"]));
    assert_eq!(back["active"].as_str(), Some(a.as_str()), "{back}");
    api.serving(Some(&a));
    assert_eq!(
        api.decide(&quiet[203])["model_id"].as_str(),
        Some(a.as_str())
    );
    // The CLI decides with the same model and the same features.
    let d = decide_with_active_model(dir.path(), url, &engine, &quiet[204], true);
    assert_eq!(d["model_id"].as_str(), Some(a.as_str()), "{d}");
    // One path: for customers with a history, the simulator lab (from the records the store
    // ingested, in memory), the service and `discount decide` (every fact from the store) value
    // each offer the same, through the same function.
    let (with_history, _) = customers(&dir.path().join("sim/events.jsonl"));
    let lab = LabShop::new(dir.path(), url, &engine);
    assert_eq!(lab.model_id, a);
    for customer in with_history.iter().rev().take(3) {
        let in_lab = lab.decide(customer);
        let (status, served) = api.call(
            "POST",
            "/v1/decisions",
            &format!(r#"{{"customer_id":"{customer}","explain":true}}"#),
        );
        assert_eq!(status, 200, "{served}");
        let cli = decide_with_active_model(dir.path(), url, &engine, customer, false);
        // One field of decide's score for an offer.
        let scored = |offer: &str, field: &str| {
            cli["scores"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["offer_id"].as_str() == Some(offer))
                .unwrap_or_else(|| panic!("{offer} not scored: {cli}"))[field]
                .as_f64()
                .unwrap()
        };
        let value = |offer: &str| scored(offer, "value");
        // The service's margin between its choice and the runner-up, from decide's values.
        let e = &served["explanation"];
        let (chosen, runner_up) = (
            served["offer_id"].as_str().unwrap(),
            e["runner_up"].as_str().unwrap(),
        );
        let margin = value(chosen) - value(runner_up);
        assert!(
            (e["margin"].as_f64().unwrap() - margin).abs() < 1e-6 * (1.0 + margin.abs()),
            "{customer}: served {served}, decide {cli}"
        );
        assert!(
            margin.abs() > 1.0,
            "a history that moves nothing proves nothing: {cli}"
        );
        assert_eq!(cli["model_id"].as_str(), Some(a.as_str()), "{cli}");
        // The lab: the same model, every offer valued alike and chosen with the same
        // probability (the engine explores, so the draw itself may differ).
        assert_eq!(in_lab.model_id.as_deref(), Some(a.as_str()));
        assert_eq!(in_lab.scores.len(), cli["scores"].as_array().unwrap().len());
        for score in &in_lab.scores {
            let v = value(&score.offer_id);
            assert!(
                (score.value - v).abs() < 1e-6 * (1.0 + v.abs()),
                "{customer}: {} is worth {} in the lab, {v} to decide",
                score.offer_id,
                score.value
            );
            assert!((score.probability - scored(&score.offer_id, "probability")).abs() < 1e-9);
        }
    }
    let out = Command::new(bin())
        .args(["--store", url, "models", "rollback"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "nothing before the first model");
}

on_both_backends!(
    trained_models_decide_on_sqlite,
    trained_models_decide_on_postgres,
    "models",
    trained_models_decide
);

#[test]
fn too_little_data_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shop.sqlite").display());
    let engine = dir.path().join("engine.toml");
    std::fs::write(&engine, two_rung_engine("tiny-v1", 1_000, r#"["bias"]"#)).unwrap();
    let out = Command::new(bin())
        .args(["--store", &url, "train", "uplift"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no policy is active"), "{err}");
    {
        let _server = serve(&url, &engine, &[]);
    }
    let out = Command::new(bin())
        .args(["--store", &url, "train", "uplift"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("too little data") && err.contains("table `decisions`"),
        "{err}"
    );
    let listed = Command::new(bin())
        .args(["--store", &url, "--json", "models", "list"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        v["models"].as_array().unwrap().len(),
        0,
        "nothing registered"
    );
}

/// Promotes the model a `train` command registered (its `--json` output `fitted`) and checks the
/// registry lists it as the active one of `kind`, with the fit's `metric` recorded.
fn promote_and_check(
    dir: &std::path::Path,
    url: &str,
    fitted: &serde_json::Value,
    kind: &str,
    metric: &str,
) {
    let id = fitted["model_id"].as_str().unwrap();
    run(dir, url, &["models", "promote", id]);
    let listed = json_of(&run(
        dir,
        url,
        &["--json", "models", "list", "--kind", kind],
    ));
    assert_eq!(listed["models"][0]["status"], "active", "{listed}");
    assert_eq!(
        listed["models"][0]["metrics"][metric].as_f64(),
        fitted[metric].as_f64()
    );
}

/// Purchase propensity fitted on the store's events (weekly snapshots, point-in-time features) and
/// lifetime value (BG/NBD + Gamma-Gamma), registered and promoted; a failed fit is refused and
/// registers nothing.
fn propensity_on_the_store(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        url,
        &[
            "simulate", "--users", "3000", "--days", "120", "--seed", "11", "--out", "sim",
        ],
    );
    run(dir.path(), url, &["ingest", "sim/events.jsonl"]);
    let fitted = json_of(&run(dir.path(), url, &["--json", "train", "propensity"]));
    assert_eq!(fitted["model"], "gbdt", "{fitted}");
    assert!(fitted["auc"].as_f64().unwrap() > 0.75, "{fitted}");
    assert!(
        fitted["log_loss"].as_f64().unwrap() < 0.08,
        "better than the base rate: {fitted}"
    );
    promote_and_check(dir.path(), url, &fitted, "propensity", "auc");
    // Lifetime value on the same store, registered and promoted as kind `ltv`.
    let ltv = json_of(&run(dir.path(), url, &["--json", "train", "ltv"]));
    assert!(ltv["new_buyer_value"].as_f64().unwrap() > 0.0, "{ltv}");
    promote_and_check(dir.path(), url, &ltv, "ltv", "new_buyer_value");
    // The GRU sequence model on the same store is registered too (kind `sequence`).
    let sequence = json_of(&run(
        dir.path(),
        url,
        &["--json", "train", "sequence", "--epochs", "2"],
    ));
    let sequence_id = sequence["model_id"].as_str().unwrap();
    let shown = json_of(&run(
        dir.path(),
        url,
        &["--json", "models", "show", sequence_id],
    ));
    assert_eq!(shown["model"]["kind"], "sequence", "{shown}");
    // A logistic fit without enough penalty extrapolates the later snapshots into nonsense: it
    // fails the base-rate check and the registry is unchanged.
    let failed = Command::new(bin())
        .current_dir(dir.path())
        .args([
            "--store",
            url,
            "train",
            "propensity",
            "--model",
            "logistic",
            "--l2",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(err.contains("nothing registered"), "{err}");
    let after = json_of(&run(
        dir.path(),
        url,
        &["--json", "models", "list", "--kind", "propensity"],
    ));
    assert_eq!(after["models"].as_array().unwrap().len(), 1, "{after}");
}

on_both_backends!(
    propensity_on_sqlite,
    propensity_on_postgres,
    "propensity",
    propensity_on_the_store
);

/// A CF model fitted on the store's events and promoted extends the feature vector with each
/// customer's vector: the response model trained after it records the extended spec, the service
/// accepts it and decides with it, and so does `discount decide`.
fn cf_vectors_reach_the_decision(url: &str) {
    let ExploredShop {
        dir,
        engine,
        auth,
        quiet,
        ..
    } = explored_shop(url, "3000", "120");
    let cf = json_of(&run(dir.path(), url, &["--json", "train", "cf"]));
    let cf_id = cf["model_id"].as_str().unwrap().to_string();
    run(dir.path(), url, &["models", "promote", &cf_id]);
    let shown = json_of(&run(dir.path(), url, &["--json", "models", "show", &cf_id]));
    let cf_spec = shown["model"]["feature_spec"].as_str().unwrap().to_string();
    let fitted = json_of(&run(
        dir.path(),
        url,
        &[
            "--json",
            "train",
            "uplift",
            "--min-rows",
            "20",
            "--min-orders",
            "3",
        ],
    ));
    assert_eq!(
        fitted["feature_spec"].as_str(),
        Some(cf_spec.as_str()),
        "{fitted}"
    );
    let id = fitted["model_id"].as_str().unwrap().to_string();
    run(dir.path(), url, &["models", "promote", &id]);
    let server = serve(url, &engine, &[]);
    let mut api = Api {
        client: HttpClient::new(server.addr),
        auth,
    };
    api.serving(Some(&id));
    for customer in quiet.iter().take(3) {
        assert_eq!(api.decide(customer)["model_id"].as_str(), Some(id.as_str()));
    }
    let d = decide_with_active_model(dir.path(), url, &engine, &quiet[0], true);
    assert_eq!(d["model_id"].as_str(), Some(id.as_str()), "{d}");
}

on_both_backends!(
    cf_vectors_on_sqlite,
    cf_vectors_on_postgres,
    "cfvectors",
    cf_vectors_reach_the_decision
);
