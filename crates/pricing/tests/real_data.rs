//! The bayesm scanner panels through the converters and models: the figures docs/pricing.md quotes.

use std::path::PathBuf;

use discount_pricing::choice::{self, ChoiceConfig};
use discount_pricing::datasets;
use discount_pricing::elasticity::{self, ElasticityConfig};
use discount_pricing::forecast::{self, ForecastConfig};
use discount_pricing::occasions::ChoiceData;
use discount_pricing::optimize::{self, PricingRules};
use discount_pricing::weekly::WeeklySales;

/// The panels' folder, or `None` (the test skips, saying why) when missing outside CI.
fn panels() -> Option<PathBuf> {
    let root = std::env::var_os("DISCOUNT_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let dir = root.join("bayesm-scanner-panels");
    if dir.join("tuna.csv").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "bayesm-scanner-panels missing in {} under CI",
        root.display()
    );
    eprintln!("skipping: {} not found", dir.display());
    None
}

#[test]
fn orange_juice_converts_whole_and_its_elasticities_are_negative_and_plausible() {
    let Some(dir) = panels() else { return };
    let out = tempfile_path("oj.csv");
    let summary = datasets::convert_orange_juice(
        &dir.join("orangeJuice_yx.csv"),
        &dir.join("orangeJuice_storedemo.csv"),
        &out,
    )
    .unwrap();
    assert_eq!(
        (summary.rows_read, summary.rows_written),
        (106_139, 106_139)
    );
    let sales = WeeklySales::read(&out).unwrap();
    assert_eq!(sales.summary.rows_kept, 106_139);
    assert_eq!(sales.summary.rows_rejected, 0);
    assert_eq!(sales.products().len(), 11);
    assert!(sales.covariate("INCOME").is_some());
    let promo_rows = sales.rows.iter().filter(|r| r.promo == 1.0).count();
    assert_eq!(promo_rows, 47_444, "deal=1 rows per SOURCE.txt");

    let result = elasticity::estimate(&sales, &ElasticityConfig::default()).unwrap();
    let pooled = &result.pooled.own_price;
    assert!(
        pooled.estimate < -2.0 && pooled.estimate > -4.5,
        "{pooled:?}"
    );
    assert!(pooled.upper < 0.0);
    assert!(result.pooled.errors.contains("83 clusters"));
    // Most brands have a clearly negative own-price elasticity.
    let negative = result
        .per_product
        .iter()
        .filter(|p| p.own_price.upper < 0.0)
        .count();
    assert!(negative >= 9, "{negative}");
    let _ = std::fs::remove_file(out);
}

#[test]
fn margarine_latent_classes_beat_the_pooled_logit_and_the_shares_on_held_out_occasions() {
    let Some(dir) = panels() else { return };
    let out = tempfile_path("margarine.csv");
    let summary = datasets::convert_margarine(
        &dir.join("margarine_choicePrice.csv"),
        &dir.join("margarine_demos.csv"),
        &out,
    )
    .unwrap();
    assert_eq!(summary.rows_read, 4_470);
    let data = ChoiceData::read(&out).unwrap();
    assert_eq!(data.summary.occasions_kept, 4_470);
    assert_eq!(data.households.len(), 516);
    assert_eq!(data.alternatives.len(), 10);
    let result = choice::fit(&data, &ChoiceConfig::default()).unwrap();
    let model = |name: &str| {
        result
            .models
            .iter()
            .find(|m| m.model.starts_with(name))
            .unwrap()
    };
    let (shares, logit, latent) = (model("shares"), model("logit"), model("latent"));
    assert!(logit.test_log_likelihood_per_occasion > shares.test_log_likelihood_per_occasion);
    assert!(latent.test_log_likelihood_per_occasion > logit.test_log_likelihood_per_occasion);
    assert!(latent.test_hit_rate > shares.test_hit_rate);
    assert!(logit.price_coefficient.unwrap() < 0.0);
    let _ = std::fs::remove_file(out);
}

#[test]
fn tuna_forecasts_beat_seasonal_naive_and_prices_respect_the_rules() {
    let Some(dir) = panels() else { return };
    let out = tempfile_path("tuna.csv");
    datasets::convert_tuna(&dir.join("tuna.csv"), &out).unwrap();
    let sales = WeeklySales::read(&out).unwrap();
    assert_eq!(sales.rows.len(), 338 * 7);
    assert!(sales.rows.iter().all(|r| r.cost.is_some()));

    let backtest = forecast::backtest(&sales, &ForecastConfig::default()).unwrap();
    assert_eq!(backtest.series, 7);
    assert!(backtest.wape < backtest.wape_seasonal_naive, "{backtest:?}");
    assert!(backtest.coverage_95 > 0.8 && backtest.coverage_95 <= 1.0);

    let elasticities = elasticity::estimate(&sales, &ElasticityConfig::default()).unwrap();
    let rules = PricingRules {
        max_change: 0.1,
        min_margin: 0.25,
        ..PricingRules::default()
    };
    let markets = optimize::optimize(&sales, &elasticities, &rules).unwrap();
    assert_eq!(markets.len(), 1);
    for p in &markets[0].products {
        let price = p.recommended_price_minor as f64 / 100.0;
        let current = p.current_price_minor as f64 / 100.0;
        assert_eq!(p.recommended_price_minor % 10, 9, "{p:?}");
        if p.bound.as_deref().is_some_and(|b| b.starts_with("held")) {
            continue;
        }
        assert!((price - current).abs() <= 0.1 * current + 0.011, "{p:?}");
        assert!((price - p.unit_cost) / price >= 0.25, "{p:?}");
    }
    assert!(markets[0].profit_recommended.median >= markets[0].profit_current.median);
    let _ = std::fs::remove_file(out);
}

fn tempfile_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "discount-pricing-test-{}-{name}",
        std::process::id()
    ))
}
