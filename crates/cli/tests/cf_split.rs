//! `discount train cf --split FILE` on a hand-made split: both precision definitions and the errors.

use std::process::Command;

fn discount(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_discount"))
        .args(args)
        .output()
        .expect("the discount binary runs")
}

#[test]
fn both_precisions_follow_their_definitions() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("split.csv");
    // 4 items, so the top 10 ranks every item not in train: every test item is a hit.
    // User 1 has 2 test items, user 2 one, user 3 none (not counted).
    std::fs::write(
        &path,
        "user_raw,item_raw,set,rating\n1,a,train,5\n1,b,test,4\n1,c,test,4\n2,a,train,5\n2,d,test,5\n3,b,train,4\n",
    )?;
    // What `--write-split` writes (columns user, item, set) reads back the same, and the ALS
    // settings are flags.
    let written = dir.path().join("written.csv");
    std::fs::write(
        &written,
        "user,item,set\n1,a,train\n1,b,test\n1,c,test\n2,a,train\n2,d,test\n3,b,train\n",
    )?;
    let tuned = discount(&[
        "train",
        "cf",
        "--model",
        "als",
        "--split",
        written.to_str().unwrap(),
        "--factors",
        "4",
        "--regularisation",
        "1",
        "--json",
    ]);
    assert!(
        tuned.status.success(),
        "{}",
        String::from_utf8_lossy(&tuned.stderr)
    );
    let t: serde_json::Value = serde_json::from_slice(&tuned.stdout)?;
    assert_eq!(
        (
            t["train_interactions"].as_u64(),
            t["test_interactions"].as_u64()
        ),
        (Some(3), Some(3))
    );
    let out = discount(&[
        "train",
        "cf",
        "--model",
        "als",
        "--split",
        path.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["users"], 2);
    assert_eq!(v["train_interactions"], 3);
    assert_eq!(v["test_interactions"], 3);
    // 3 hits / (10 × 2 users) and 3 hits / (min(10, 2) + min(10, 1)).
    let p = v["precision_at_10"].as_f64().unwrap();
    let p_implicit = v["precision_at_10_implicit"].as_f64().unwrap();
    assert!((p - 0.15).abs() < 1e-12, "{v}");
    assert!((p_implicit - 1.0).abs() < 1e-12, "{v}");
    assert!(v["ndcg_at_10"].as_f64().unwrap() > 0.0);
    assert!(
        (v["popularity"]["precision_at_10_implicit"]
            .as_f64()
            .unwrap()
            - 1.0)
            .abs()
            < 1e-12
    );

    std::fs::write(&path, "user_raw,item_raw,set\n1,a,train\n1,b,holdout\n")?;
    let out = discount(&[
        "train",
        "cf",
        "--model",
        "als",
        "--split",
        path.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("split.csv:3") && err.contains("holdout"),
        "{err}"
    );
    Ok(())
}

/// `--folds FILE` for the rating models: the folds come from the file (row,fold over the rows of
/// ml-100k.inter), a file that leaves rows out is refused with its line.
#[test]
fn rating_models_score_the_folds_of_a_file() -> anyhow::Result<()> {
    #[path = "common/mod.rs"]
    mod common;
    let Some(root) = common::data_root_holding("movielens-100k/ml-100k.inter") else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let folds = dir.path().join("folds.csv");
    let mut text = String::from("row,fold\n");
    for row in 0..100_000 {
        text.push_str(&format!("{row},{}\n", row % 4));
    }
    std::fs::write(&folds, text)?;
    let root = root.to_str().unwrap_or_default();
    let out = discount(&[
        "train",
        "cf",
        "--dataset",
        "movielens-100k",
        "--data-dir",
        root,
        "--model",
        "svd",
        "--folds",
        folds.to_str().unwrap_or_default(),
        "--json",
    ]);
    common::assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["folds"].as_array().map(Vec::len), Some(4), "{v}");
    let rmse = v["mean_rmse"].as_f64().unwrap_or(f64::NAN);
    assert!(rmse > 0.85 && rmse < 0.95, "{rmse}");
    std::fs::write(&folds, "row,fold\n0,0\n")?;
    let out = discount(&[
        "train",
        "cf",
        "--dataset",
        "movielens-100k",
        "--data-dir",
        root,
        "--model",
        "svd",
        "--folds",
        folds.to_str().unwrap_or_default(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("folds.csv:2") && err.contains("no fold"),
        "{err}"
    );
    Ok(())
}
