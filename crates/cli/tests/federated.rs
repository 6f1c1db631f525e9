//! `discount train federated`: two simulated shops that keep their rows, and the regions of UCI
//! online shoppers; the federation against pooled training on the same rows.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{assert_success, data_root_holding, success_json as json};

fn discount(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_discount"))
        .current_dir(dir)
        .env_remove("DISCOUNT_STORE__URL")
        .args(args)
        .output()
        .unwrap()
}

fn shop(dir: &Path, name: &str, seed: &str) -> String {
    let out = format!("sim-{name}");
    assert_success(&discount(
        dir,
        &[
            "simulate", "--users", "1500", "--days", "150", "--seed", seed, "--out", &out,
        ],
    ));
    let url = format!("sqlite://{}", dir.join(format!("{name}.sqlite")).display());
    assert_success(&discount(
        dir,
        &["--store", &url, "ingest", &format!("{out}/events.jsonl")],
    ));
    url
}

fn close_to_pooled(v: &serde_json::Value, tolerance: f64) {
    let pooled = v["pooled_log_loss"].as_f64().unwrap();
    let federated = v["federated_log_loss"].as_f64().unwrap();
    assert!(pooled.is_finite() && pooled > 0.0, "{v}");
    assert!(
        federated <= pooled * (1.0 + tolerance),
        "federated {federated} vs pooled {pooled}"
    );
    // The path improves on the first round.
    let first = v["rounds"][0]["log_loss"].as_f64().unwrap();
    assert!(federated < first, "{v}");
}

#[test]
fn two_shops_train_together_without_pooling_rows() {
    let dir = tempfile::tempdir().unwrap();
    let north = shop(dir.path(), "north", "11");
    let south = shop(dir.path(), "south", "12");
    let v = json(&discount(
        dir.path(),
        &[
            "--json",
            "train",
            "federated",
            "--store",
            &north,
            "--store",
            &south,
            "--rounds",
            "40",
            "--local-epochs",
            "3",
        ],
    ));
    let sites = v["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 2, "{v}");
    assert!(
        sites
            .iter()
            .all(|s| s["training_rows"].as_u64() > Some(100)),
        "{v}"
    );
    close_to_pooled(&v, 0.05);
    // One store is not a federation.
    let out = discount(dir.path(), &["train", "federated", "--store", &north]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("two or more --store"));
}

#[test]
fn online_shoppers_regions_reach_the_pooled_fit() {
    let Some(root) =
        data_root_holding("uci-online-shoppers-intention/online_shoppers_intention.csv")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let v = json(&discount(
        dir.path(),
        &[
            "--json",
            "train",
            "federated",
            "--dataset",
            "online-shoppers",
            "--data-dir",
            root.to_str().unwrap(),
            "--rounds",
            "30",
            "--local-epochs",
            "5",
            "--learning-rate",
            "0.1",
        ],
    ));
    assert_eq!(v["sites"].as_array().unwrap().len(), 9, "{v}");
    close_to_pooled(&v, 0.01);
    assert!(v["rounds_to_within_1pct"].as_u64().is_some(), "{v}");
    // Every region's model alone does worse on everyone's held-out rows than the federation.
    let federated = v["federated_log_loss"].as_f64().unwrap();
    for site in v["sites"].as_array().unwrap() {
        assert!(
            site["alone_log_loss"].as_f64().unwrap() > federated,
            "{site}"
        );
    }
}
