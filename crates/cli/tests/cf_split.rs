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
