//! The fraud scores in decisions: `discount decide --risk-scores` and `discount serve
//! --risk-scores` gate the offer of a flagged customer (withhold above `rules.gate.withhold_above`,
//! cap above `rules.gate.cap_above`) and record why; an unflagged customer is decided as usual.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use discount_server::client::HttpClient;
use serde_json::Value;

mod serve_process;
use serve_process::{admin_key, bin, serve};

/// Three rungs so that a cap (at most 500) leaves one discount and a withhold leaves none; heavy
/// exploration so that an ungated customer would often be given a discount.
const ENGINE: &str = r#"
name = "gate-v1"
[[ladder]]
id = "none"
offer = { kind = "no_offer" }
[[ladder]]
id = "amt500"
offer = { kind = "amount_off", amount = 500, min_spend = 0 }
[[ladder]]
id = "amt1000"
offer = { kind = "amount_off", amount = 1000, min_spend = 0 }
[[budgets]]
campaign = "default"
amount = 1000000
[exploration]
kind = "epsilon_greedy"
epsilon = 0.9
[model]
features = ["bias"]
[rules.gate]
withhold_above = 0.8
cap_above = 0.5
cap_discount = 500
"#;

fn write_scores(path: &Path, rows: &[(&str, f64, &[&str])]) {
    let text: String = rows
        .iter()
        .map(|(id, score, reasons)| {
            format!(
                "{}\n",
                serde_json::json!({"customer_id": id, "score": score, "reasons": reasons})
            )
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let engine = dir.join("engine.toml");
    std::fs::write(&engine, ENGINE).unwrap();
    let scores = dir.join("scores.jsonl");
    write_scores(
        &scores,
        &[
            ("ring-7", 0.93, &["ring of 4 accounts sharing a device"]),
            ("grey-2", 0.6, &["new account, first order discounted"]),
            ("regular-1", 0.1, &[]),
        ],
    );
    (engine, scores)
}

fn rung<'a>(decision: &'a Value, id: &str) -> &'a Value {
    decision["scores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["offer_id"] == id)
        .unwrap_or_else(|| panic!("no rung {id} in {decision}"))
}

#[test]
fn decide_withholds_or_caps_flagged_customers_and_records_why() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, scores) = setup(dir.path());
    let basket = serde_json::json!([{"item_id": "i1", "category": "books", "quantity": 1,
                                     "unit_price": 5000, "unit_cost": 1000}]);
    let requests: String = ["ring-7", "grey-2", "regular-1"]
        .iter()
        .map(|id| {
            let line = serde_json::json!({
                "request": {"customer_id": id, "context": {"placement": "cart", "basket": basket}},
                "customer": {"features": [1.0], "orders": 3}
            });
            format!("{line}\n")
        })
        .collect();
    let requests_path = dir.path().join("requests.jsonl");
    std::fs::write(&requests_path, requests).unwrap();
    let out = Command::new(bin())
        .arg("decide")
        .arg("--engine")
        .arg(&engine)
        .arg("--risk-scores")
        .arg(&scores)
        .arg("--requests")
        .arg(&requests_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decisions: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(decisions.len(), 3);

    let ring = &decisions[0];
    assert_eq!(ring["offer_id"], "none", "{ring}");
    assert_eq!(ring["gate"]["action"], "withhold", "{ring}");
    assert_eq!(ring["gate"]["score"], 0.93);
    let reasons = ring["gate"]["reasons"].to_string();
    assert!(reasons.contains("ring of 4 accounts"), "{reasons}");
    assert!(reasons.contains("withhold threshold 0.8"), "{reasons}");
    for id in ["amt500", "amt1000"] {
        assert_eq!(rung(ring, id)["ineligible"], "risk_gate", "{ring}");
        assert_eq!(rung(ring, id)["probability"], 0.0);
    }

    let grey = &decisions[1];
    assert_eq!(grey["gate"]["action"], "cap", "{grey}");
    assert!(grey["gate"]["reasons"]
        .to_string()
        .contains("cap threshold 0.5"));
    assert_eq!(rung(grey, "amt1000")["ineligible"], "risk_gate", "{grey}");
    assert!(rung(grey, "amt500")["ineligible"].is_null(), "{grey}");
    assert!(rung(grey, "amt500")["probability"].as_f64().unwrap() > 0.0);

    let regular = &decisions[2];
    assert!(regular["gate"].is_null(), "{regular}");
    for id in ["amt500", "amt1000"] {
        assert!(rung(regular, id)["ineligible"].is_null(), "{regular}");
        assert!(rung(regular, id)["probability"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn decide_names_the_bad_row_of_a_score_file() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, scores) = setup(dir.path());
    std::fs::write(&scores, "{\"customer_id\": \"u1\", \"score\": \"high\"}\n").unwrap();
    let out = Command::new(bin())
        .arg("decide")
        .arg("--engine")
        .arg(&engine)
        .arg("--risk-scores")
        .arg(&scores)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scores.jsonl:1"), "{err}");
}

fn decide(client: &mut HttpClient, token: &str, customer: &str) -> Value {
    let body = serde_json::json!({
        "customer_id": customer,
        "context": {"placement": "cart", "basket": [{"item_id": "i1", "category": "books",
            "quantity": 1, "unit_price": 5000, "unit_cost": 1000}]}
    });
    let auth = format!("Bearer {token}");
    let r = client
        .request(
            "POST",
            "/v1/decisions",
            &[("authorization", &auth)],
            body.to_string().as_bytes(),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[test]
fn serve_gates_flagged_customers_and_follows_a_rewritten_score_file() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, scores) = setup(dir.path());
    let url = format!("sqlite://{}", dir.path().join("s.sqlite").display());
    let token = admin_key(&url);
    let server = serve(
        &url,
        &engine,
        &["--workers", "1", "--risk-scores", scores.to_str().unwrap()],
    );
    let mut client = HttpClient::new(server.addr);

    let ring = decide(&mut client, &token, "ring-7");
    assert_eq!(ring["offer_id"], "none", "{ring}");
    assert_eq!(ring["gate"]["action"], "withhold", "{ring}");
    assert!(ring["gate"]["reasons"]
        .to_string()
        .contains("ring of 4 accounts"));
    let regular = decide(&mut client, &token, "regular-1");
    assert!(regular.get("gate").is_none(), "{regular}");

    // A rescan flags regular-1: the service picks the new file up without a restart. The pause
    // keeps the new modification time distinct on file systems with coarse timestamps.
    std::thread::sleep(Duration::from_millis(1100));
    let next = dir.path().join("scores.next.jsonl");
    write_scores(&next, &[("regular-1", 0.97, &["shared payment card"])]);
    std::fs::rename(&next, &scores).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = decide(&mut client, &token, "regular-1");
        if d["gate"]["action"] == "withhold" {
            assert_eq!(d["offer_id"], "none", "{d}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rewritten score file was not picked up: {d}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // The rewritten file no longer lists ring-7: it is unscored now.
    let ring = decide(&mut client, &token, "ring-7");
    assert!(ring.get("gate").is_none(), "{ring}");
}
