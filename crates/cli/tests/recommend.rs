//! `discount recommend` on a store filled by `discount ingest`: exclusions, cold start, the logged propensity.

use std::process::Command;

fn discount(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_discount"))
        .args(args)
        .output()
        .expect("the discount binary runs")
}

#[test]
fn recommends_from_the_store_with_exclusions_and_cold_start() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        r#"{"type":"view","id":"v1","user_id":"ann","time":"2024-05-01","item_id":"tea"}
{"type":"view","id":"v2","user_id":"ann","time":"2024-05-02","item_id":"mug"}
{"type":"view","id":"v3","user_id":"bob","time":"2024-05-02","item_id":"tea"}
{"type":"order","id":"o1","user_id":"bob","time":"2024-05-04","order_id":"o1","lines":[{"item_id":"pot","quantity":1,"list_price":2500,"paid":2500}]}
{"type":"view","id":"v4","user_id":"cat","time":"2024-05-04","item_id":"pot"}
{"type":"view","id":"v5","user_id":"cat","time":"2024-05-04","item_id":"mug"}
"#,
    )?;
    let catalog = dir.path().join("items.csv");
    std::fs::write(
        &catalog,
        "item_id,category,price,unit_cost,stock\ntea,drinks,800,400,10\nmug,kitchen,1200,500,\npot,kitchen,2500,1200,4\ncup,kitchen,900,,\ncoffee,drinks,1500,700,0\n",
    )?;
    let store = format!("sqlite://{}", dir.path().join("s.sqlite").display());
    let out = discount(&["--store", &store, "ingest", events.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cat = catalog.to_str().unwrap();

    // Bob bought the pot 6 days before: left out; coffee is out of stock.
    let out = discount(&[
        "--store",
        &store,
        "--json",
        "recommend",
        "bob",
        "--catalog",
        cat,
        "--at",
        "2024-05-10",
        "--k",
        "5",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let ids: Vec<&str> = v["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["item_id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"pot") && !ids.contains(&"coffee"), "{ids:?}");
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(v["excluded"]["just_bought"], 1);
    assert_eq!(v["excluded"]["out_of_stock"], 1);
    assert_eq!(v["source"]["kind"], "personal");
    assert_eq!(v["propensity"], 1.0);

    // A newcomer gets popularity; with a temperature the slate's probability is the product of its slots'.
    let out = discount(&[
        "--store",
        &store,
        "--json",
        "recommend",
        "newcomer",
        "--catalog",
        cat,
        "--at",
        "2024-05-10",
        "--k",
        "2",
        "--temperature",
        "0.5",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["source"]["kind"], "popularity");
    let product: f64 = v["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["conditional_propensity"].as_f64().unwrap())
        .product();
    let p = v["propensity"].as_f64().unwrap();
    assert!(p > 0.0 && p < 1.0 && (product - p).abs() < 1e-12, "{v}");

    // A bad catalogue row is named by file, line, field and value.
    std::fs::write(&catalog, "item_id,category,price\ntea,drinks,eight\n")?;
    let out = discount(&["--store", &store, "recommend", "bob", "--catalog", cat]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("items.csv:2") && err.contains("price") && err.contains("eight"),
        "{err}"
    );
    Ok(())
}
