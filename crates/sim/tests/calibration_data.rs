//! Recomputes the calibration figures from the public data files and checks them against
//! [`Targets::from_public_data`] and the defaults of [`SimConfig`]. Reads `../shared/data` next
//! to the workspace, or `DISCOUNT_DATA_DIR`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use discount_sim::calibration::Targets;
use discount_sim::SimConfig;

fn data_dir() -> PathBuf {
    match std::env::var_os("DISCOUNT_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn reader(rel: &str) -> anyhow::Result<csv::Reader<std::fs::File>> {
    let path = data_dir().join(rel);
    csv::Reader::from_path(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    eprintln!("{what}: {got:.5}");
    assert!(
        (got - want).abs() <= tol,
        "{what}: data gives {got:.5}, Targets says {want:.5}"
    );
}

#[test]
fn hillstrom_conversion_and_visits_by_arm() -> anyhow::Result<()> {
    let mut rdr = reader("hillstrom-minethatdata/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv")?;
    let headers = rdr.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::anyhow!("no column {name}"))
    };
    let (seg, visit, conv) = (col("segment")?, col("visit")?, col("conversion")?);
    let mut arms: HashMap<String, [u64; 3]> = HashMap::new();
    for row in rdr.records() {
        let row = row?;
        let a = arms.entry(row[seg].to_string()).or_default();
        a[0] += 1;
        a[1] += row[visit].parse::<u64>()?;
        a[2] += row[conv].parse::<u64>()?;
    }
    let rate = |arm: &str, k: usize| arms[arm][k] as f64 / arms[arm][0] as f64;
    let t = Targets::from_public_data();
    close(
        "hillstrom conversion, no e-mail",
        rate("No E-Mail", 2),
        t.conversion_14d_no_offer,
        5e-5,
    );
    close(
        "hillstrom conversion, womens",
        rate("Womens E-Mail", 2),
        t.conversion_14d_offer_low,
        5e-5,
    );
    close(
        "hillstrom conversion, mens",
        rate("Mens E-Mail", 2),
        t.conversion_14d_offer_high,
        5e-5,
    );
    close(
        "hillstrom visits, no e-mail",
        rate("No E-Mail", 1),
        t.visit_14d_no_offer,
        5e-4,
    );
    Ok(())
}

#[test]
fn complete_journey_redemption_rate() -> anyhow::Result<()> {
    let mut received = HashSet::new();
    for row in reader("dunnhumby-completejourney/campaigns.csv")?.records() {
        let row = row?;
        received.insert((row[1].to_string(), row[0].to_string()));
    }
    let mut redeemed = HashSet::new();
    for row in reader("dunnhumby-completejourney/coupon_redemptions.csv")?.records() {
        let row = row?;
        let key = (row[0].to_string(), row[2].to_string());
        if received.contains(&key) {
            redeemed.insert(key);
        }
    }
    let rate = redeemed.len() as f64 / received.len() as f64;
    close(
        "complete journey redemption rate",
        rate,
        Targets::from_public_data().redemption_rate,
        5e-4,
    );
    Ok(())
}

#[test]
fn cdnow_repeat_purchases() -> anyhow::Result<()> {
    let path = data_dir().join("cdnow/CDNOW_master.txt");
    let text =
        std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut days: HashMap<String, HashSet<i64>> = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let d = f[1];
        let (y, m, dd): (i32, u32, u32) = (d[..4].parse()?, d[4..6].parse()?, d[6..8].parse()?);
        let t = discount_core::Timestamp::from_date(y, m, dd)
            .ok_or_else(|| anyhow::anyhow!("bad date {d}"))?;
        days.entry(f[0].to_string())
            .or_default()
            .insert(t.0 / discount_core::time::MICROS_PER_DAY);
    }
    let end = days
        .values()
        .flat_map(|s| s.iter().copied())
        .max()
        .unwrap_or(0);
    let (mut base, mut hits, mut first_base, mut first_hits) = (0u64, 0u64, 0u64, 0u64);
    for set in days.values() {
        let mut d: Vec<i64> = set.iter().copied().collect();
        d.sort_unstable();
        for (k, &x) in d.iter().enumerate() {
            if end - x < 30 {
                continue;
            }
            let again = d.get(k + 1).is_some_and(|&n| n - x <= 30);
            base += 1;
            hits += again as u64;
            if k == 0 {
                first_base += 1;
                first_hits += again as u64;
            }
        }
    }
    let t = Targets::from_public_data();
    close(
        "cdnow repeat within 30 days (per order)",
        hits as f64 / base as f64,
        t.repeat_30d,
        5e-4,
    );
    close(
        "cdnow first repeat within 30 days",
        first_hits as f64 / first_base as f64,
        t.first_repeat_30d,
        5e-4,
    );
    // The default dropout after an order is the mean of the published BG/NBD fit, a / (a + b).
    let (a, b) = (0.793, 2.426);
    let dropout = SimConfig::default().population.dropout_after_order;
    assert!((dropout - a / (a + b)).abs() < 1e-3);
    Ok(())
}

#[test]
fn orange_juice_price_elasticities() -> anyhow::Result<()> {
    // Own-price elasticity: log units on log own price within each store x brand (fixed effects).
    let mut rdr = reader("bayesm-scanner-panels/orangeJuice_yx.csv")?;
    let headers = rdr.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::anyhow!("no column {name}"))
    };
    let (store, brand, logmove) = (col("store")?, col("brand")?, col("logmove")?);
    let price_cols: Vec<usize> = (1..=11)
        .map(|b| col(&format!("price{b}")))
        .collect::<Result<_, _>>()?;
    let mut groups: HashMap<(String, usize), Vec<(f64, f64)>> = HashMap::new();
    for row in rdr.records() {
        let row = row?;
        let b: usize = row[brand].parse::<f64>()? as usize;
        let p: f64 = row[price_cols[b - 1]].parse()?;
        groups
            .entry((row[store].to_string(), b))
            .or_default()
            .push((p.ln(), row[logmove].parse()?));
    }
    let mut per_brand = [(0.0f64, 0.0f64); 12];
    let (mut sxy_all, mut sxx_all) = (0.0, 0.0);
    for ((_, b), obs) in &groups {
        let n = obs.len() as f64;
        let mx = obs.iter().map(|o| o.0).sum::<f64>() / n;
        let my = obs.iter().map(|o| o.1).sum::<f64>() / n;
        let sxy: f64 = obs.iter().map(|o| (o.0 - mx) * (o.1 - my)).sum();
        let sxx: f64 = obs.iter().map(|o| (o.0 - mx).powi(2)).sum();
        per_brand[*b].0 += sxy;
        per_brand[*b].1 += sxx;
        sxy_all += sxy;
        sxx_all += sxx;
    }
    let pooled = -sxy_all / sxx_all;
    let brands: Vec<f64> = (1..=11).map(|b| -per_brand[b].0 / per_brand[b].1).collect();
    let lo = brands.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = brands.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let t = Targets::from_public_data();
    close(
        "orange juice pooled elasticity",
        pooled,
        t.elasticity_pooled,
        0.005,
    );
    close(
        "orange juice smallest brand elasticity",
        lo,
        t.elasticity_min,
        0.005,
    );
    close(
        "orange juice largest brand elasticity",
        hi,
        t.elasticity_max,
        0.005,
    );
    let r = SimConfig::default().response;
    assert!((r.elasticity_mean - t.elasticity_pooled).abs() < 0.05);
    assert!(
        (r.elasticity_min - t.elasticity_min).abs() < 0.05
            && (r.elasticity_max - t.elasticity_max).abs() < 0.05
    );
    Ok(())
}
