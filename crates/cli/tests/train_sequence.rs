//! `discount train sequence` through the binary: the comparison table as JSON, and the saved GRU
//! artifact.

mod common;

use std::process::Command;

use common::{assert_success, data_root_holding};
use discount_models::artifact::{load_file, Artifact};
use discount_models::sequence::SequenceModel;

#[test]
fn train_sequence_prints_the_three_models() {
    let Some(root) = data_root_holding("cdnow/CDNOW_sample.txt") else {
        return;
    };
    let models_dir = tempfile::tempdir().unwrap();
    let file = models_dir.path().join("gru.json");
    let out = Command::new(env!("CARGO_BIN_EXE_discount"))
        .args([
            "--json",
            "train",
            "sequence",
            "--dataset",
            "cdnow",
            "--epochs",
            "3",
            "--data-dir",
        ])
        .arg(&root)
        .arg("--models-dir")
        .arg(models_dir.path())
        .arg("--save-model")
        .arg(&file)
        .output()
        .unwrap();
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = report["comparison"]["rows"].as_array().unwrap();
    let models: Vec<&str> = rows.iter().map(|r| r["model"].as_str().unwrap()).collect();
    assert_eq!(
        models,
        [
            "BG/NBD",
            "RFM logistic (buy) + ridge (count)",
            "GRU sequence model"
        ]
    );
    for r in rows {
        let auc = r["auc_buys_again"].as_f64().unwrap();
        assert!(auc > 0.7 && auc <= 1.0, "{r}");
        assert_eq!(r["actual_total"].as_f64(), Some(1882.0));
    }
    assert_eq!(
        report["comparison"]["gru_loss_history"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // Both saves load back, with the GRU's holdout figures as metrics.
    let stored = models_dir.path().join("sequence-gru-cdnow").join("1.json");
    for path in [&stored, &file] {
        let started = std::time::Instant::now();
        let artifact: Artifact<SequenceModel> = load_file(path).unwrap();
        println!("{}: loaded in {:?}", path.display(), started.elapsed());
        assert_eq!(artifact.version, 1);
        assert_eq!(artifact.model.config.epochs, 3);
        assert!(artifact.metrics.contains_key("holdout_auc_buys_again"));
    }
    assert_eq!(report["saved"].as_array().map(Vec::len), Some(2));

    let out = Command::new(env!("CARGO_BIN_EXE_discount"))
        .args([
            "train",
            "sequence",
            "--dataset",
            "cdnow",
            "--epochs",
            "0",
            "--data-dir",
        ])
        .arg(&root)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("epochs"));
}
