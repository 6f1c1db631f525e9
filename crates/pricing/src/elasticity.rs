//! Price elasticities and promotion lift from a weekly sales panel: log-log regressions with series and
//! week fixed effects and robust standard errors.
//!
//! Per product: `ln units = a_series + b_week + e_own ln price + sum_k e_k ln price_k + d promo + f feature +
//! g display + u`, where `price_k` are the other products' prices in the same market and week (cross-price
//! elasticities). Pooled: one own-price elasticity for all products, with the mean log price of the other
//! products as the cross term. Week effects are used when a product is sold in two series or more (with a
//! single series they would absorb the prices). Errors are clustered by market when there are enough markets
//! (`min_clusters`), Newey-West for a single series, HC1 otherwise.

// Index loops over rows, columns and states read like the formulas they implement.
#![allow(clippy::needless_range_loop)]

use serde::Serialize;

use crate::error::{invalid, not_identified, Result};
use crate::fixed_effects::absorb;
use crate::linalg::{ols, z_for_level, CovarianceKind, Design};
use crate::panel::{dense_index, Panel, PanelRow};
use crate::weekly::WeeklySales;

/// Settings of the fixed-effects regressions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElasticityConfig {
    /// Interval level (0.95 = 95%).
    pub level: f64,
    /// Cluster errors by market when there are at least this many markets.
    pub min_clusters: usize,
    /// Include the other products' prices (cross-price elasticities).
    pub cross_prices: bool,
}

impl Default for ElasticityConfig {
    fn default() -> Self {
        ElasticityConfig {
            level: 0.95,
            min_clusters: 20,
            cross_prices: true,
        }
    }
}

/// An estimate with its standard error and interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub name: String,
    pub estimate: f64,
    pub std_error: f64,
    pub lower: f64,
    pub upper: f64,
}

impl Estimate {
    pub fn new(name: &str, estimate: f64, std_error: f64, z: f64) -> Self {
        Estimate {
            name: name.to_string(),
            estimate,
            std_error,
            lower: estimate - z * std_error,
            upper: estimate + z * std_error,
        }
    }

    /// The relative lift `exp(b) - 1` of a log-scale coefficient, its delta-method error and the
    /// transformed interval.
    pub fn lift(&self) -> Estimate {
        Estimate {
            name: self.name.clone(),
            estimate: self.estimate.exp() - 1.0,
            std_error: self.estimate.exp() * self.std_error,
            lower: self.lower.exp() - 1.0,
            upper: self.upper.exp() - 1.0,
        }
    }
}

/// A fitted log-log demand model of one product (or the pool), enough to predict and to draw from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemandModel {
    /// Coefficient names: `ln_price`, `ln_price[OTHER]` (or `ln_price_others`), `promo`, `feature`, `display`.
    pub names: Vec<String>,
    pub beta: Vec<f64>,
    /// Coefficient covariance, row-major.
    pub covariance: Vec<f64>,
    /// Per series: mean of `ln units - x b` (its level in an average week), by series name.
    pub series_levels: Vec<(String, f64)>,
    /// Residual variance on the log scale.
    pub residual_variance: f64,
}

impl DemandModel {
    pub fn coefficient(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|j| self.beta[j])
    }
    pub fn level_of(&self, series: &str) -> Option<f64> {
        self.series_levels
            .iter()
            .find(|(s, _)| s == series)
            .map(|(_, l)| *l)
    }
}

/// Elasticities of one product (or of the pool).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductElasticity {
    pub product: String,
    pub n_obs: usize,
    pub n_series: usize,
    pub n_weeks: usize,
    pub week_effects: bool,
    /// How the errors were estimated.
    pub errors: String,
    pub own_price: Estimate,
    pub cross_price: Vec<Estimate>,
    /// Relative lift of units when on promotion, `exp(d) - 1`.
    pub promo_lift: Option<Estimate>,
    pub feature_lift: Option<Estimate>,
    pub display_lift: Option<Estimate>,
    /// R^2 of the demeaned regression (variation within series and weeks explained).
    pub r2_within: f64,
    pub model: DemandModel,
}

/// Per-product and pooled elasticities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElasticityResult {
    pub level: f64,
    pub rows_used: usize,
    pub zero_unit_rows: usize,
    pub per_product: Vec<ProductElasticity>,
    pub pooled: ProductElasticity,
}

/// Estimates the elasticities of every product and pooled.
pub fn estimate(sales: &WeeklySales, config: &ElasticityConfig) -> Result<ElasticityResult> {
    if !(0.0 < config.level && config.level < 1.0) {
        return Err(invalid(
            "level",
            format!("{} is not between 0 and 1", config.level),
        ));
    }
    let panel = Panel::build(sales)?;
    let z = z_for_level(config.level);
    let mut per_product = Vec::new();
    for product in 0..panel.products.len() {
        let rows: Vec<&PanelRow> = panel.rows.iter().filter(|r| r.product == product).collect();
        per_product.push(fit_product(&panel, &rows, Some(product), config, z)?);
    }
    let all: Vec<&PanelRow> = panel.rows.iter().collect();
    let pooled = fit_product(&panel, &all, None, config, z)?;
    Ok(ElasticityResult {
        level: config.level,
        rows_used: panel.rows.len(),
        zero_unit_rows: panel.zero_unit_rows,
        per_product,
        pooled,
    })
}

/// Regressors of one row: own log price, cross terms, promo, feature, display.
fn regressors(panel: &Panel, row: &PanelRow, product: Option<usize>, cross: bool) -> Vec<f64> {
    let own = row.log_prices[row.product];
    let mut x = vec![own];
    if cross {
        match product {
            Some(p) => x.extend(
                (0..panel.products.len())
                    .filter(|&k| k != p)
                    .map(|k| row.log_prices[k]),
            ),
            None => {
                let others: Vec<f64> = (0..panel.products.len())
                    .filter(|&k| k != row.product)
                    .map(|k| row.log_prices[k])
                    .collect();
                if !others.is_empty() {
                    x.push(others.iter().sum::<f64>() / others.len() as f64);
                }
            }
        }
    }
    x.extend([row.promo, row.feature, row.display]);
    x
}

fn regressor_names(panel: &Panel, product: Option<usize>, cross: bool) -> Vec<String> {
    let mut names = vec!["ln_price".to_string()];
    if cross {
        match product {
            Some(p) => names.extend(
                (0..panel.products.len())
                    .filter(|&k| k != p)
                    .map(|k| format!("ln_price[{}]", panel.products[k])),
            ),
            None if panel.products.len() > 1 => names.push("ln_price_others".into()),
            None => {}
        }
    }
    names.extend(["promo".into(), "feature".into(), "display".into()]);
    names
}

fn fit_product(
    panel: &Panel,
    rows: &[&PanelRow],
    product: Option<usize>,
    config: &ElasticityConfig,
    z: f64,
) -> Result<ProductElasticity> {
    let label = product.map_or("pooled".to_string(), |p| panel.products[p].clone());
    let model_name = format!("elasticity of {label}");
    if rows.is_empty() {
        return Err(not_identified(&model_name, "no rows"));
    }
    // Pooled over a single market, the mean of the other products' prices is the week's total less the own
    // price: the week effects absorb the total, so the cross term would repeat the own price.
    let cross = config.cross_prices && (product.is_some() || panel.markets.len() > 1);
    let names = regressor_names(panel, product, cross);
    let raw: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| regressors(panel, r, product, cross))
        .collect();
    let series_ids = dense_index(rows.iter().map(|r| r.series));
    let week_ids = dense_index(rows.iter().map(|r| r.week));
    let market_ids = dense_index(rows.iter().map(|r| r.market));
    let n_series = series_ids.iter().max().map_or(0, |m| m + 1);
    let n_weeks = week_ids.iter().max().map_or(0, |m| m + 1);
    let n_markets = market_ids.iter().max().map_or(0, |m| m + 1);
    let week_effects = n_series >= 2;

    // Columns: y then each regressor, demeaned together.
    let mut columns: Vec<Vec<f64>> = Vec::with_capacity(names.len() + 1);
    columns.push(rows.iter().map(|r| r.log_units).collect());
    for j in 0..names.len() {
        columns.push(raw.iter().map(|x| x[j]).collect());
    }
    let factors: Vec<&[usize]> = if week_effects {
        vec![&series_ids, &week_ids]
    } else {
        vec![&series_ids]
    };
    let absorbed = absorb(&mut columns, &factors, 1e-10);
    let n = rows.len();
    // Regressors without variation left (no promotions in this data...) are dropped.
    let keep: Vec<usize> = (0..names.len())
        .filter(|&j| columns[j + 1].iter().map(|v| v * v).sum::<f64>() > 1e-10 * n as f64)
        .collect();
    if !keep.contains(&0) {
        return Err(not_identified(
            &model_name,
            "the own price does not vary within series and weeks",
        ));
    }
    let mut design = Design::new(keep.iter().map(|&j| names[j].clone()).collect());
    for i in 0..n {
        let row: Vec<f64> = keep.iter().map(|&j| columns[j + 1][i]).collect();
        design.push_row(&row);
    }
    let y = &columns[0];
    let (kind, errors) = if n_markets >= config.min_clusters {
        (
            CovarianceKind::Cluster(&market_ids),
            format!("clustered by market ({n_markets} clusters)"),
        )
    } else if n_series == 1 {
        let lags = (4.0 * (n as f64 / 100.0).powf(2.0 / 9.0)).floor() as usize;
        (
            CovarianceKind::NeweyWest(lags),
            format!("Newey-West ({lags} lags)"),
        )
    } else {
        (
            CovarianceKind::Hc1,
            "HC1 (heteroskedasticity-robust)".to_string(),
        )
    };
    let mut ordered: Vec<usize> = (0..n).collect();
    let fit = if matches!(kind, CovarianceKind::NeweyWest(_)) {
        // Newey-West needs time order.
        ordered.sort_by_key(|&i| rows[i].week);
        let mut sorted = Design::new(design.names.clone());
        for &i in &ordered {
            sorted.push_row(design.row(i));
        }
        let ys: Vec<f64> = ordered.iter().map(|&i| y[i]).collect();
        ols(&model_name, &sorted, &ys, kind, absorbed)?
    } else {
        ols(&model_name, &design, y, kind, absorbed)?
    };

    let estimate_of = |name: &str| -> Option<Estimate> {
        design
            .names
            .iter()
            .position(|n| n == name)
            .map(|j| Estimate::new(name, fit.beta[j], fit.std_error(j), z))
    };
    let own_price = estimate_of("ln_price")
        .ok_or_else(|| not_identified(&model_name, "no own-price coefficient"))?;
    let cross_price = design
        .names
        .iter()
        .filter(|n| n.starts_with("ln_price[") || *n == "ln_price_others")
        .filter_map(|n| estimate_of(n))
        .map(|mut e| {
            e.name = e
                .name
                .trim_start_matches("ln_price[")
                .trim_end_matches(']')
                .to_string();
            e
        })
        .collect();

    // Levels per series from the undemeaned data.
    let mut level_sum = vec![(0.0, 0.0); n_series];
    let mut series_of_id = vec![0; n_series];
    for (i, r) in rows.iter().enumerate() {
        let xb: f64 = keep
            .iter()
            .zip(&fit.beta)
            .map(|(&j, b)| raw[i][j] * b)
            .sum();
        let s = series_ids[i];
        level_sum[s].0 += r.log_units - xb;
        level_sum[s].1 += 1.0;
        series_of_id[s] = r.series;
    }
    let series_levels = level_sum
        .iter()
        .enumerate()
        .map(|(s, (sum, count))| (panel.series[series_of_id[s]].clone(), sum / count))
        .collect();
    let dof = (n as f64 - (design.columns() + absorbed) as f64).max(1.0);
    let residual_variance = fit.residuals.iter().map(|e| e * e).sum::<f64>() / dof;
    Ok(ProductElasticity {
        product: label,
        n_obs: n,
        n_series,
        n_weeks,
        week_effects,
        errors,
        own_price,
        cross_price,
        promo_lift: estimate_of("promo").map(|e| e.lift()),
        feature_lift: estimate_of("feature").map(|e| e.lift()),
        display_lift: estimate_of("display").map(|e| e.lift()),
        r2_within: fit.r2,
        model: DemandModel {
            names: design.names.clone(),
            beta: fit.beta.clone(),
            covariance: fit.covariance.clone(),
            series_levels,
            residual_variance,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, Normal};

    /// A synthetic panel with known elasticities: 30 stores x 2 brands x 60 weeks.
    pub(crate) fn synthetic_panel(seed: u64) -> WeeklySales {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let noise = Normal::new(0.0, 0.1).unwrap();
        let mut text = String::from("series,product,market,date,units,price,promo\n");
        let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 5).unwrap();
        for store in 0..30 {
            let store_level = rng.gen_range(4.0..6.0);
            for week in 0..60 {
                let week_shock = ((week * 7919 % 13) as f64 - 6.0) * 0.02;
                let pa: f64 = rng.gen_range(2.0..3.0);
                let pb: f64 = rng.gen_range(1.5..2.5);
                let promo_a = u8::from(rng.gen_bool(0.3));
                let promo_b = u8::from(rng.gen_bool(0.3));
                let date = start + chrono::Duration::days(7 * week);
                // Brand A: own -2.5, cross +0.8, promo log-lift 0.4. Brand B: own -1.5, cross +0.5.
                let ua = (store_level + week_shock - 2.5 * pa.ln()
                    + 0.8 * pb.ln()
                    + 0.4 * f64::from(promo_a)
                    + noise.sample(&mut rng))
                .exp();
                let ub = (store_level - 0.5 + week_shock - 1.5 * pb.ln()
                    + 0.5 * pa.ln()
                    + 0.4 * f64::from(promo_b)
                    + noise.sample(&mut rng))
                .exp();
                text += &format!("s{store}/A,A,s{store},{date},{ua:.4},{pa:.4},{promo_a}\n");
                text += &format!("s{store}/B,B,s{store},{date},{ub:.4},{pb:.4},{promo_b}\n");
            }
        }
        WeeklySales::parse("synthetic.csv", &text).unwrap()
    }

    #[test]
    fn a_synthetic_demand_curve_recovers_its_elasticities() {
        let sales = synthetic_panel(7);
        let result = estimate(&sales, &ElasticityConfig::default()).unwrap();
        let a = &result.per_product[0];
        let b = &result.per_product[1];
        assert_eq!((a.product.as_str(), b.product.as_str()), ("A", "B"));
        for (e, truth) in [
            (&a.own_price, -2.5),
            (&a.cross_price[0], 0.8),
            (&b.own_price, -1.5),
            (&b.cross_price[0], 0.5),
        ] {
            assert!(
                e.lower < truth && truth < e.upper,
                "{} {truth} outside [{}, {}]",
                e.name,
                e.lower,
                e.upper
            );
            assert!((e.estimate - truth).abs() < 0.1, "{e:?}");
        }
        let lift = a.promo_lift.as_ref().unwrap();
        assert!(
            (lift.estimate - (0.4f64.exp() - 1.0)).abs() < 0.05,
            "{lift:?}"
        );
        assert!(a.errors.contains("30 clusters"));
        assert!(a.week_effects);
        // Pooled own-price lies between the two brands' elasticities.
        let pooled = result.pooled.own_price.estimate;
        assert!(pooled < -1.4 && pooled > -2.6, "{pooled}");
    }

    #[test]
    fn a_single_series_uses_newey_west_and_no_week_effects() {
        let sales = synthetic_panel(3);
        let one: Vec<_> = sales
            .rows
            .iter()
            .filter(|r| r.market == "s0")
            .cloned()
            .collect();
        let subset = WeeklySales {
            rows: one,
            ..sales.clone()
        };
        let result = estimate(&subset, &ElasticityConfig::default()).unwrap();
        let a = &result.per_product[0];
        assert!(!a.week_effects);
        assert!(a.errors.starts_with("Newey-West"), "{}", a.errors);
        assert!(
            (a.own_price.estimate + 2.5).abs() < 0.6,
            "{:?}",
            a.own_price
        );
    }
}
