//! `discount profile` through the binary: a hand-made log with known answers, and MovieLens
//! 100K checked against counts computed here from the raw file.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::{assert_success, data_root_holding};

fn discount(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_discount"))
        .current_dir(dir)
        .env_remove("DISCOUNT_STORE__URL")
        .env_remove("DISCOUNT_CONFIG")
        .args(args)
        .output()
        .unwrap()
}

fn features(report: &serde_json::Value) -> HashMap<String, f64> {
    report["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_hand_made_log_gives_known_features() {
    let dir = tempfile::tempdir().unwrap();
    let log = [
        r#"{"type":"item","id":"shoe","category":"shoes","list_price":5000}"#,
        r#"{"type":"item","id":"hat","category":"hats","list_price":2000}"#,
        r#"{"type":"view","id":"v1","user_id":"ann","time":"2024-05-25T00:00:00Z","item_id":"shoe"}"#,
        r#"{"type":"view","id":"v2","user_id":"ann","time":"2024-05-02T00:00:00Z","item_id":"hat"}"#,
        r#"{"type":"coupon_issued","id":"c1","user_id":"ann","time":"2024-05-01","coupon_id":"k1","offer":{"kind":"percent_off","percent":20}}"#,
        r#"{"type":"order","id":"o1","user_id":"ann","time":"2024-05-28T00:00:00Z","order_id":"o1","lines":[{"item_id":"shoe","quantity":1,"list_price":5000,"paid":4000,"coupon_discount":1000}]}"#,
        r#"{"type":"coupon_redeemed","id":"c2","user_id":"ann","time":"2024-05-28T00:00:00Z","coupon_id":"k1","order_id":"o1","amount":1000}"#,
        r#"{"type":"order","id":"o2","user_id":"ann","time":"2024-03-01T00:00:00Z","order_id":"o2","lines":[{"item_id":"hat","quantity":1,"list_price":2000,"paid":2000}]}"#,
        r#"{"type":"view","id":"late","user_id":"ann","time":"2024-07-01T00:00:00Z","item_id":"hat"}"#,
        r#"{"type":"view","id":"b1","user_id":"bob","time":"2024-05-30T00:00:00Z","item_id":"hat"}"#,
    ];
    std::fs::write(dir.path().join("log.jsonl"), log.join("\n")).unwrap();
    let out = discount(dir.path(), &["ingest", "log.jsonl"]);
    assert_success(&out);

    let out = discount(
        dir.path(),
        &["--json", "profile", "ann", "--at", "2024-06-01T00:00:00Z"],
    );
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["events_used"].as_u64(), Some(6));
    assert_eq!(report["events_after_as_of"].as_u64(), Some(1));
    let f = features(&report);
    assert_eq!(f["orders_total"], 2.0);
    assert_eq!(f["days_since_last_order"], 4.0);
    assert_eq!(f["spend_total"], 6000.0);
    assert_eq!(f["spend_mean_order"], 3000.0);
    // v1 is exactly 7 days old and v2 exactly 30: each has just left that window.
    assert_eq!(f["views_7d"], 0.0);
    assert_eq!(f["views_30d"], 1.0);
    assert_eq!(f["views_90d"], 2.0);
    assert_eq!(f["orders_7d"], 1.0);
    // o2 is 92 days old: out of every window, still in the lifetime counts.
    assert_eq!(f["orders_90d"], 1.0);
    assert_eq!(f["discounted_order_share"], 0.5);
    // The depth is summed in fixed point (order-independent): exact to 1e-12, not bit for bit.
    assert!(
        (f["mean_discount_depth"] - 0.2).abs() < 1e-12,
        "{}",
        f["mean_discount_depth"]
    );
    assert_eq!(f["coupon_redemption_rate"], 1.0);
    assert_eq!(f["top1_category_share"], 0.5);
    assert_eq!(f["distinct_categories"], 2.0);
    assert_eq!(f.len(), 30);

    // The table names every feature with its window and meaning.
    let out = discount(dir.path(), &["profile", "ann", "--at", "2024-06-01"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_success(&out);
    assert!(
        text.contains("views_30d") && text.contains("product or page views in the last 30 days"),
        "{text}"
    );
    assert!(
        text.contains("top categories: hats 50%, shoes 50%"),
        "{text}"
    );

    let out = discount(dir.path(), &["profile", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no events for user `nobody`"));
    let out = discount(dir.path(), &["profile", "ann", "--at", "yesterday-ish"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--at"));
}

#[test]
fn movielens_profiles_match_the_raw_ratings() {
    let Some(data) = data_root_holding("movielens-100k") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data_arg = data.to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_discount"))
        .current_dir(dir.path())
        .env_remove("DISCOUNT_STORE__URL")
        .env("DISCOUNT_DATA_DIR", data_arg)
        .args(["--json", "datasets", "import", "movielens-100k"])
        .output()
        .unwrap();
    assert_success(&out);

    // Independently: user 1's rating times and the first genre of each rated movie.
    let genre: HashMap<String, String> =
        std::fs::read_to_string(data.join("movielens-100k/ml-100k.item"))
            .unwrap()
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let first = f.get(3)?.split(' ').next()?.to_string();
                Some((f[0].to_string(), first))
            })
            .collect();
    let mut times = Vec::new();
    let mut by_genre: HashMap<String, u32> = HashMap::new();
    for l in std::fs::read_to_string(data.join("movielens-100k/ml-100k.inter"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let f: Vec<&str> = l.split('\t').collect();
        if f[0] == "1" {
            times.push(f[3].parse::<i64>().unwrap());
            *by_genre.entry(genre[f[1]].clone()).or_default() += 1;
        }
    }
    // As of 20 days after the first rating: windows cut the history.
    let at = times.iter().min().unwrap() + 20 * 86_400;
    let within = |days: i64| {
        times
            .iter()
            .filter(|&&t| t > at - days * 86_400 && t <= at)
            .count()
    };
    let profile_of_user_1 = |at: i64| -> serde_json::Value {
        let at = at.to_string();
        let out = discount(
            dir.path(),
            &["--json", "profile", "ml100k:user:1", "--at", &at],
        );
        assert_success(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let report = profile_of_user_1(at);
    let f = features(&report);
    assert_eq!(f["reviews_7d"], within(7) as f64);
    assert_eq!(f["reviews_30d"], within(30) as f64);
    assert_eq!(f["reviews_90d"], within(90) as f64);
    assert_eq!(report["events_used"].as_u64(), Some(within(100_000) as u64));

    // As of after the last rating: every rating, and the genre shares of all of them.
    let last = times.iter().max().unwrap() + 1;
    let report = profile_of_user_1(last);
    let f = features(&report);
    assert_eq!(report["events_used"].as_u64(), Some(times.len() as u64));
    let top = *by_genre.values().max().unwrap() as f64 / times.len() as f64;
    assert!((f["top1_category_share"] - top).abs() < 1e-12);
    assert_eq!(f["distinct_categories"], by_genre.len() as f64);
}

#[test]
fn a_raw_id_finds_its_pseudonymised_events() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("log.jsonl"),
        r#"{"type":"view","id":"v1","user_id":"carol","time":"2024-05-30T00:00:00Z"}"#,
    )
    .unwrap();
    let with_key = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_discount"))
            .current_dir(dir.path())
            .env_remove("DISCOUNT_STORE__URL")
            .env_remove("DISCOUNT_CONFIG")
            .env(
                "DISCOUNT_PRIVACY__PSEUDONYMISE_KEY",
                "0123456789abcdef-test-key",
            )
            .args(args)
            .output()
            .unwrap()
    };
    let out = with_key(&["ingest", "log.jsonl"]);
    assert_success(&out);
    let out = with_key(&["--json", "profile", "carol", "--at", "2024-06-01"]);
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stored = report["user_id"].as_str().unwrap();
    assert_ne!(stored, "carol", "the store holds the pseudonym");
    assert_eq!(features(&report)["views_7d"], 1.0);
    // The pseudonym itself works too.
    let out = with_key(&["--json", "profile", stored, "--at", "2024-06-01"]);
    assert_success(&out);
    // Without the key the raw id is unknown to the store.
    let out = discount(dir.path(), &["profile", "carol"]);
    assert_eq!(out.status.code(), Some(1));
}
