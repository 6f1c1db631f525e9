//! `discount price ...` through the binary: JSON shapes, rejected rows, HTML reports.

mod common;

use std::process::Command;

use common::{assert_success, data_root_holding};

fn discount() -> Command {
    Command::new(env!("CARGO_BIN_EXE_discount"))
}

#[test]
fn choice_on_margarine_prints_each_models_hold_out_figures() {
    let Some(root) = data_root_holding("bayesm-scanner-panels/margarine_choicePrice.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("choice.html");
    let out = discount()
        .args([
            "--json",
            "price",
            "choice",
            "--dataset",
            "margarine",
            "--data-dir",
        ])
        .arg(root.join("bayesm-scanner-panels"))
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let models = json["models"].as_array().unwrap();
    let names: Vec<&str> = models
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "shares",
            "logit without loyalty",
            "logit",
            "latent classes (3)"
        ]
    );
    for m in models {
        let ll = m["test_log_likelihood_per_occasion"].as_f64().unwrap();
        let hit = m["test_hit_rate"].as_f64().unwrap();
        assert!(ll < 0.0 && ll > -10f64.ln() - 1.0, "{m}");
        assert!(hit > 0.0 && hit < 1.0, "{m}");
    }
    assert_eq!(json["households"], 516);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.contains("Hold-out fit"));
}

#[test]
fn a_choice_file_with_bad_occasions_fits_on_the_rest_and_says_how_many_were_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("occasions.csv");
    let mut text = String::from("occasion,household,alternative,chosen,price\n");
    // Ten households, eight good occasions each; household h0's third occasion has no chosen row and
    // h1's fourth a price of zero.
    for h in 0..10 {
        for k in 0..8 {
            let id = format!("{h}-{k}");
            let cheap = (h + k) % 3;
            for a in 0..3 {
                let price = if h == 1 && k == 3 && a == 0 {
                    0.0
                } else {
                    1.0 + 0.2 * a as f64
                };
                let chosen = u8::from(a == cheap && !(h == 0 && k == 2));
                text += &format!("{id},h{h},alt{a},{chosen},{price}\n");
            }
        }
    }
    std::fs::write(&file, text).unwrap();
    let out = discount()
        .args(["--json", "price", "choice", "--classes", "2", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 of 80 occasions rejected"), "{stderr}");
    assert!(
        stderr.contains("line 8") && stderr.contains("no chosen alternative"),
        "{stderr}"
    );
    assert!(stderr.contains("price must be above zero"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["occasions_kept"], 78);
    assert_eq!(json["summary"]["rows_rejected"], 6);
}

#[test]
fn elasticity_reports_rejected_rows_and_recovers_a_synthetic_curve() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sales.csv");
    let mut text = String::from("series,market,date,units,price,promo\n");
    // units = 1000 price^-2 exactly, with prices moving over weeks in 5 stores; one bad row.
    for s in 0..5 {
        for w in 0..20 {
            let price = 1.0 + 0.05 * ((w * 7 + s * 3) % 11) as f64;
            let units = 1000.0 * (1.0 + 0.1 * s as f64) * price.powf(-2.0);
            let date = chrono_date(w);
            text += &format!("s{s},s{s},{date},{units:.6},{price},0\n");
        }
    }
    text += "s0,s0,2024-13-01,5,1.0,0\n";
    std::fs::write(&file, text).unwrap();
    let report = dir.path().join("elasticity.html");
    let out = discount()
        .args(["--json", "price", "elasticity", "--file"])
        .arg(&file)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 of 101 rows rejected") && stderr.contains("line 102"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let own = json["fixed_effects"]["pooled"]["own_price"]["estimate"]
        .as_f64()
        .unwrap();
    assert!((own + 2.0).abs() < 1e-6, "{own}");
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("Demand curves"));
}

fn chrono_date(week: usize) -> String {
    // 2024-01-04 plus whole weeks, without a date library.
    let days = 4 + 7 * week;
    let months = [31, 29, 31, 30, 31, 30];
    let (mut month, mut day) = (0, days);
    while day > months[month] {
        day -= months[month];
        month += 1;
    }
    format!("2024-{:02}-{:02}", month + 1, day)
}

#[test]
fn markdown_json_has_the_optimum_above_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("markdown.html");
    let out = discount()
        .args([
            "--json", "price", "markdown", "--stock", "40", "--weeks", "6", "--runs", "200",
            "--report",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let policies = json["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 6);
    let best = policies[0]["expected_revenue_minor"].as_f64().unwrap();
    for p in &policies[1..] {
        assert!(
            p["expected_revenue_minor"].as_f64().unwrap() <= best + 1e-6,
            "{p}"
        );
    }
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("Markdown paths"));
}

#[test]
fn bandit_and_help_texts_teach_with_examples() {
    let out = discount()
        .args(["--json", "price", "bandit", "--runs", "20", "--weeks", "26"])
        .output()
        .unwrap();
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["policies"].as_array().unwrap().len(), 3);
    for command in [
        "import",
        "elasticity",
        "choice",
        "forecast",
        "optimize",
        "markdown",
        "bandit",
        "weekly",
        "stock-offers",
    ] {
        let out = discount()
            .args(["price", command, "--help"])
            .output()
            .unwrap();
        assert_success(&out);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("discount price"), "{command}: {help}");
    }
}

#[test]
fn a_missing_column_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, "series,date,price\na,2024-01-04,1.0\n").unwrap();
    let out = discount()
        .args(["price", "forecast", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing column `units`"));
}

/// The binary in `dir` with the store `store`, free of any outside configuration.
fn discount_on(dir: &std::path::Path, store: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_discount"))
        .current_dir(dir)
        .env_remove("DISCOUNT_STORE__URL")
        .env_remove("DISCOUNT_CONFIG")
        .args(["--store", store])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn weekly_sales_from_the_stores_orders_sum_by_item_and_week() {
    let dir = tempfile::tempdir().unwrap();
    // 2024-01-01 is a Monday. Orange juice: week 1 sells 2 (a coupon of 100 on 600) and 1 at 300;
    // week 2 nothing; week 3 sells 3 with a retail discount of 90. Tea sells 1 in week 1.
    let log = [
        r#"{"type":"item","id":"oj","category":"juice","list_price":300}"#,
        r#"{"type":"item","id":"tea","category":"drinks","list_price":200}"#,
        r#"{"type":"order","id":"o1","user_id":"ann","time":"2024-01-02T10:00:00Z","order_id":"o1","lines":[{"item_id":"oj","quantity":2,"list_price":300,"paid":500,"coupon_discount":100},{"item_id":"tea","quantity":1,"list_price":200,"paid":200}]}"#,
        r#"{"type":"order","id":"o2","user_id":"bob","time":"2024-01-05T18:00:00Z","order_id":"o2","lines":[{"item_id":"oj","quantity":1,"list_price":300,"paid":300}]}"#,
        r#"{"type":"view","id":"v1","user_id":"bob","time":"2024-01-09T18:00:00Z","item_id":"oj"}"#,
        r#"{"type":"order","id":"o3","user_id":"ann","time":"2024-01-16T09:00:00Z","order_id":"o3","lines":[{"item_id":"oj","quantity":3,"list_price":300,"paid":810,"retail_discount":90}]}"#,
    ];
    std::fs::write(dir.path().join("log.jsonl"), log.join("\n")).unwrap();
    // The catalogue knows the juice's unit cost only.
    std::fs::write(
        dir.path().join("items.csv"),
        "item_id,category,price,unit_cost\noj,juice,300,150\ntea,drinks,200,\n",
    )
    .unwrap();
    let store = format!("sqlite://{}", dir.path().join("shop.sqlite").display());
    assert_success(&discount_on(dir.path(), &store, &["ingest", "log.jsonl"]));
    let out = discount_on(
        dir.path(),
        &store,
        &[
            "--json",
            "price",
            "weekly",
            "--out",
            "weekly.csv",
            "--catalog",
            "items.csv",
        ],
    );
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["orders"], 3);
    assert_eq!(json["order_lines"], 4);
    assert_eq!(json["items"], 2);
    assert_eq!(json["rows"], 4);
    assert_eq!(json["zero_weeks"], 1);
    let text = std::fs::read_to_string(dir.path().join("weekly.csv")).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0],
        ["series", "product", "market", "date", "units", "price", "promo", "cost"]
    );
    let row = |series: &str, date: &str| {
        rows.iter()
            .find(|r| r[0] == series && r[3] == date)
            .unwrap_or_else(|| panic!("no row {series} {date} in\n{text}"))
    };
    let number = |v: &str| v.parse::<f64>().unwrap();
    let oj1 = row("oj", "2024-01-01");
    assert_eq!((oj1[2], oj1[4]), ("juice", "3"));
    assert!((number(oj1[5]) - 8.0 / 3.0).abs() < 1e-9, "{oj1:?}");
    assert!((number(oj1[6]) - 2.0 / 3.0).abs() < 1e-9, "{oj1:?}");
    let oj2 = row("oj", "2024-01-08");
    assert_eq!((oj2[4], number(oj2[5]), number(oj2[6])), ("0", 3.0, 0.0));
    let oj3 = row("oj", "2024-01-15");
    assert_eq!((oj3[4], number(oj3[5]), number(oj3[6])), ("3", 2.7, 1.0));
    let tea = row("tea", "2024-01-01");
    assert_eq!((tea[2], tea[4], number(tea[5])), ("drinks", "1", 2.0));
    assert_eq!((oj1[7], oj2[7], tea[7]), ("1.5", "1.5", ""));
    // The books balance: units and paid revenue over all rows are the orders' totals.
    let units: f64 = rows[1..].iter().map(|r| number(r[4])).sum();
    let paid: f64 = rows[1..].iter().map(|r| number(r[4]) * number(r[5])).sum();
    assert_eq!(units, 7.0);
    assert!((paid - 18.10).abs() < 1e-9, "{paid}");

    // The price commands read the same rows straight from the store.
    let out = discount_on(
        dir.path(),
        &store,
        &[
            "--json",
            "price",
            "forecast",
            "--from-store",
            "--horizon",
            "1",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("3 orders -> 4 weekly rows of 2 items"),
        "{stderr}"
    );
}

/// Column `name` of a header line.
fn column(header: &str, name: &str) -> usize {
    header
        .split(',')
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {header}"))
}

/// The data lines of a file, split on commas (the bayesm files and the imports quote nothing).
fn records(path: &std::path::Path) -> (String, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn datasets_import_writes_each_scanner_panel_with_the_sources_counts_and_sums() {
    let Some(root) = data_root_holding("bayesm-scanner-panels/orangeJuice_yx.csv") else {
        return;
    };
    let panels = root.join("bayesm-scanner-panels");
    let dir = tempfile::tempdir().unwrap();
    let import = |name: &str| {
        let out_file = dir.path().join(format!("{name}.csv"));
        let out = discount()
            .args(["--json", "datasets", "import", name, "--from"])
            .arg(&panels)
            .arg("--out")
            .arg(&out_file)
            .output()
            .unwrap();
        assert_success(&out);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (json, records(&out_file))
    };
    let number = |v: &str| v.parse::<f64>().unwrap();

    // Orange juice: one row per source row; units = exp(logmove).
    let (h, source) = records(&panels.join("orangeJuice_yx.csv"));
    let logmove = column(&h, "logmove");
    let source_units: f64 = source
        .iter()
        .map(|r| number(&r[logmove]).exp().round())
        .sum();
    let (json, (h, rows)) = import("orange-juice");
    assert_eq!(json["rows_read"], source.len());
    assert_eq!(rows.len(), source.len());
    assert_eq!(source.len(), 106_139);
    let units: f64 = rows.iter().map(|r| number(&r[column(&h, "units")])).sum();
    assert_eq!(units, source_units);

    // Tuna: one row per week and brand; units = MOVE1..7.
    let (h, source) = records(&panels.join("tuna.csv"));
    let moves: Vec<usize> = (1..=7).map(|k| column(&h, &format!("MOVE{k}"))).collect();
    let source_units: f64 = source
        .iter()
        .map(|r| moves.iter().map(|&c| number(&r[c])).sum::<f64>())
        .sum();
    let (_, (h, rows)) = import("tuna");
    assert_eq!(rows.len(), 7 * source.len());
    let units: f64 = rows.iter().map(|r| number(&r[column(&h, "units")])).sum();
    assert_eq!(units, source_units);

    // Margarine: ten alternatives per purchase, exactly one chosen; the prices are the source's.
    let (h, source) = records(&panels.join("margarine_choicePrice.csv"));
    let prices: Vec<usize> = h
        .split(',')
        .enumerate()
        .filter(|(_, n)| n.starts_with('P'))
        .map(|(i, _)| i)
        .collect();
    let source_prices: f64 = source
        .iter()
        .map(|r| prices.iter().map(|&c| number(&r[c])).sum::<f64>())
        .sum();
    let (_, (h, rows)) = import("margarine");
    assert_eq!(rows.len(), 10 * source.len());
    assert_eq!(source.len(), 4_470);
    let chosen: f64 = rows.iter().map(|r| number(&r[column(&h, "chosen")])).sum();
    assert_eq!(chosen, source.len() as f64);
    let price_sum: f64 = rows.iter().map(|r| number(&r[column(&h, "price")])).sum();
    assert!(
        (price_sum - source_prices).abs() < 1e-6,
        "{price_sum} vs {source_prices}"
    );

    // --out belongs to the panels, and the panels need it.
    let out = discount()
        .args(["datasets", "import", "tuna", "--from"])
        .arg(&panels)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --out FILE"));
}

#[test]
fn stock_offers_prints_both_engines_over_the_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("stock.html");
    let out = discount()
        .args([
            "--json",
            "price",
            "stock-offers",
            "--seeds",
            "2",
            "--visits",
            "150",
            "--items-per-category",
            "3",
            "--warmup-days",
            "14",
            "--days",
            "21",
            "--report",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["seeds"].as_array().unwrap().len(), 2);
    let summary = json["summary"].as_array().unwrap();
    assert_eq!(summary[0]["metric"], "profit");
    for s in json["seeds"].as_array().unwrap() {
        for arm in ["without_stock", "with_stock"] {
            let f = &s[arm];
            assert_eq!(
                f["clearance_sold"].as_u64().unwrap() + f["clearance_salvaged"].as_u64().unwrap(),
                f["clearance_stock"].as_u64().unwrap(),
                "{s}"
            );
        }
    }
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.contains("Lost sales"));
}
