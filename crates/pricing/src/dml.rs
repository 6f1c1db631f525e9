//! Double machine learning of the own-price elasticity (partially linear model): the log units and the log
//! price are each predicted from everything else (other prices, promotions, week, store covariates) by a
//! flexible nuisance model fitted on the other folds (cross-fitting); the elasticity is the regression of the
//! outcome residual on the price residual (orthogonalised), so errors of the nuisance models enter only to
//! second order. Heterogeneity: the price residual is also interacted with a centred covariate (e.g. store
//! income), giving `elasticity(z) = theta0 + theta1 (z - mean z)`, as EconML's LinearDML does.
//!
//! Nuisance models: gradient-boosted trees (forust-ml, squared loss) or ridge regression.

// Index loops over rows, columns and states read like the formulas they implement.
#![allow(clippy::needless_range_loop)]

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

use crate::elasticity::Estimate;
use crate::error::{invalid, not_identified, PricingError, Result};
use crate::linalg::{ols, ridge, z_for_level, CovarianceKind, Design};
use crate::panel::{dense_index, Panel, PanelRow};
use crate::weekly::WeeklySales;

/// The nuisance learner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Nuisance {
    /// Gradient-boosted trees with squared loss.
    Gbdt {
        iterations: usize,
        max_depth: usize,
        learning_rate: f32,
    },
    /// Ridge regression on the same features (missing values as 0).
    Ridge { lambda: f64 },
}

impl Nuisance {
    pub fn describe(&self) -> String {
        match self {
            Nuisance::Gbdt {
                iterations,
                max_depth,
                learning_rate,
            } => format!("GBDT ({iterations} trees, depth {max_depth}, rate {learning_rate})"),
            Nuisance::Ridge { lambda } => format!("ridge (lambda {lambda})"),
        }
    }
}

/// Settings of the double machine learning estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DmlConfig {
    pub folds: usize,
    pub seed: u64,
    pub nuisance: Nuisance,
    /// Covariate whose effect on the elasticity is estimated (e.g. `INCOME`); none for a constant effect.
    pub heterogeneity: Option<String>,
    pub level: f64,
    /// Cluster the final-stage errors by market when there are at least this many markets.
    pub min_clusters: usize,
}

impl Default for DmlConfig {
    fn default() -> Self {
        DmlConfig {
            folds: 5,
            seed: 42,
            nuisance: Nuisance::Gbdt {
                iterations: 100,
                max_depth: 5,
                learning_rate: 0.1,
            },
            heterogeneity: None,
            level: 0.95,
            min_clusters: 20,
        }
    }
}

/// The elasticity at one value of the heterogeneity covariate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElasticityAt {
    pub covariate_value: f64,
    pub label: String,
    pub elasticity: Estimate,
}

/// The DML estimate for one product (or pooled).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DmlEstimate {
    pub product: String,
    pub n_obs: usize,
    pub nuisance: String,
    pub errors: String,
    /// Own-price elasticity at the covariate's mean (the average effect).
    pub elasticity: Estimate,
    /// Change of the elasticity per unit of the covariate.
    pub heterogeneity: Option<Estimate>,
    pub covariate: Option<String>,
    pub covariate_mean: Option<f64>,
    /// Elasticity at the covariate's quartiles (25%, 50%, 75%).
    pub at_quartiles: Vec<ElasticityAt>,
    /// Out-of-fold R^2 of the nuisance models.
    pub outcome_r2: f64,
    pub price_r2: f64,
}

/// Per-product and pooled DML estimates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DmlResult {
    pub folds: usize,
    pub per_product: Vec<DmlEstimate>,
    pub pooled: DmlEstimate,
}

/// Estimates every product's and the pooled own-price elasticity by DML.
pub fn estimate(sales: &WeeklySales, config: &DmlConfig) -> Result<DmlResult> {
    if config.folds < 2 {
        return Err(invalid("folds", "at least 2 folds"));
    }
    if !(0.0 < config.level && config.level < 1.0) {
        return Err(invalid(
            "level",
            format!("{} is not between 0 and 1", config.level),
        ));
    }
    if let Nuisance::Gbdt {
        iterations,
        max_depth,
        learning_rate,
    } = config.nuisance
    {
        if iterations == 0 || max_depth == 0 || !(learning_rate > 0.0 && learning_rate <= 1.0) {
            return Err(invalid(
                "nuisance",
                "trees need iterations >= 1, depth >= 1 and a rate in (0, 1]",
            ));
        }
    }
    let covariate = match &config.heterogeneity {
        Some(name) => Some(sales.covariate(name).ok_or_else(|| {
            invalid(
                "heterogeneity",
                format!(
                    "no covariate column `{name}` (have: {})",
                    sales.covariate_names.join(", ")
                ),
            )
        })?),
        None => None,
    };
    let panel = Panel::build(sales)?;
    let mut per_product = Vec::new();
    for product in 0..panel.products.len() {
        let rows: Vec<&PanelRow> = panel.rows.iter().filter(|r| r.product == product).collect();
        per_product.push(fit(sales, &panel, &rows, Some(product), covariate, config)?);
    }
    let all: Vec<&PanelRow> = panel.rows.iter().collect();
    let pooled = fit(sales, &panel, &all, None, covariate, config)?;
    Ok(DmlResult {
        folds: config.folds,
        per_product,
        pooled,
    })
}

/// Nuisance features of a row: every product's log price (own as missing), promotions, week, market and
/// the covariates.
fn features(sales: &WeeklySales, panel: &Panel, row: &PanelRow, pooled: bool) -> Vec<f64> {
    let mut x: Vec<f64> = (0..panel.products.len())
        .map(|k| {
            if k == row.product {
                f64::NAN
            } else {
                row.log_prices[k]
            }
        })
        .collect();
    x.extend([
        row.promo,
        row.feature,
        row.display,
        row.week as f64,
        row.market as f64,
    ]);
    if pooled {
        x.push(row.product as f64);
    }
    x.extend(sales.rows[row.source].covariates.iter().copied());
    x
}

fn fit(
    sales: &WeeklySales,
    panel: &Panel,
    rows: &[&PanelRow],
    product: Option<usize>,
    covariate: Option<usize>,
    config: &DmlConfig,
) -> Result<DmlEstimate> {
    let label = product.map_or("pooled".to_string(), |p| panel.products[p].clone());
    let model_name = format!("DML elasticity of {label}");
    let n = rows.len();
    if n < 10 * config.folds {
        return Err(not_identified(
            &model_name,
            format!("{n} rows for {} folds", config.folds),
        ));
    }
    let x: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| features(sales, panel, r, product.is_none()))
        .collect();
    let y: Vec<f64> = rows.iter().map(|r| r.log_units).collect();
    let d: Vec<f64> = rows.iter().map(|r| r.log_prices[r.product]).collect();
    let market_ids = dense_index(rows.iter().map(|r| r.market));
    let n_markets = market_ids.iter().max().map_or(0, |m| m + 1);

    // Folds: whole markets when there are enough (no store is in its own training data), else
    // contiguous blocks of weeks.
    let fold_of: Vec<usize> = if n_markets >= config.folds {
        let mut order: Vec<usize> = (0..n_markets).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
        order.shuffle(&mut rng);
        let mut fold_of_market = vec![0; n_markets];
        for (i, m) in order.iter().enumerate() {
            fold_of_market[*m] = i % config.folds;
        }
        market_ids.iter().map(|m| fold_of_market[*m]).collect()
    } else {
        let mut weeks: Vec<i64> = rows.iter().map(|r| r.week).collect();
        weeks.sort_unstable();
        weeks.dedup();
        rows.iter()
            .map(|r| {
                let position = weeks.partition_point(|w| *w < r.week);
                position * config.folds / weeks.len()
            })
            .collect()
    };

    let mut y_hat = vec![0.0; n];
    let mut d_hat = vec![0.0; n];
    for fold in 0..config.folds {
        let train: Vec<usize> = (0..n).filter(|&i| fold_of[i] != fold).collect();
        let test: Vec<usize> = (0..n).filter(|&i| fold_of[i] == fold).collect();
        if test.is_empty() || train.is_empty() {
            continue;
        }
        for (target, out) in [(&y, &mut y_hat), (&d, &mut d_hat)] {
            let predictions =
                predict_nuisance(&config.nuisance, &x, target, &train, &test, config.seed)?;
            for (i, p) in test.iter().zip(predictions) {
                out[*i] = p;
            }
        }
    }
    let y_res: Vec<f64> = y.iter().zip(&y_hat).map(|(a, b)| a - b).collect();
    let d_res: Vec<f64> = d.iter().zip(&d_hat).map(|(a, b)| a - b).collect();
    let r2 = |target: &[f64], residual: &[f64]| {
        let mean = target.iter().sum::<f64>() / n as f64;
        let total: f64 = target.iter().map(|v| (v - mean).powi(2)).sum();
        1.0 - residual.iter().map(|e| e * e).sum::<f64>() / total.max(f64::MIN_POSITIVE)
    };

    let z_values: Option<Vec<f64>> = covariate.map(|c| {
        rows.iter()
            .map(|r| sales.rows[r.source].covariates[c])
            .collect()
    });
    let z_mean = z_values.as_ref().map(|z| z.iter().sum::<f64>() / n as f64);
    let mut names = vec!["price_residual".to_string()];
    if z_values.is_some() {
        names.push("price_residual_x_covariate".into());
    }
    let mut design = Design::new(names);
    for i in 0..n {
        match (&z_values, z_mean) {
            (Some(z), Some(m)) => design.push_row(&[d_res[i], d_res[i] * (z[i] - m)]),
            _ => design.push_row(&[d_res[i]]),
        }
    }
    let (kind, errors) = if n_markets >= config.min_clusters {
        (
            CovarianceKind::Cluster(&market_ids),
            format!("clustered by market ({n_markets} clusters)"),
        )
    } else {
        (
            CovarianceKind::Hc1,
            "HC1 (heteroskedasticity-robust)".to_string(),
        )
    };
    let final_fit = ols(&model_name, &design, &y_res, kind, 0)?;
    let z = z_for_level(config.level);
    let elasticity = Estimate::new("elasticity", final_fit.beta[0], final_fit.std_error(0), z);
    let heterogeneity = (design.columns() > 1).then(|| {
        Estimate::new(
            "heterogeneity",
            final_fit.beta[1],
            final_fit.std_error(1),
            z,
        )
    });
    let mut at_quartiles = Vec::new();
    if let (Some(values), Some(mean)) = (&z_values, z_mean) {
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for (q, label) in [(0.25, "25%"), (0.5, "50%"), (0.75, "75%")] {
            let v = sorted[((sorted.len() - 1) as f64 * q).round() as usize];
            let c = v - mean;
            let estimate = final_fit.beta[0] + final_fit.beta[1] * c;
            let cov = &final_fit.covariance;
            let variance = cov[0] + 2.0 * c * cov[1] + c * c * cov[3];
            at_quartiles.push(ElasticityAt {
                covariate_value: v,
                label: label.to_string(),
                elasticity: Estimate::new("elasticity", estimate, variance.max(0.0).sqrt(), z),
            });
        }
    }
    Ok(DmlEstimate {
        product: label,
        n_obs: n,
        nuisance: config.nuisance.describe(),
        errors,
        elasticity,
        heterogeneity,
        covariate: covariate.map(|c| sales.covariate_names[c].clone()),
        covariate_mean: z_mean,
        at_quartiles,
        outcome_r2: r2(&y, &y_res),
        price_r2: r2(&d, &d_res),
    })
}

/// Fits the nuisance on `train` rows and predicts the `test` rows.
fn predict_nuisance(
    nuisance: &Nuisance,
    x: &[Vec<f64>],
    target: &[f64],
    train: &[usize],
    test: &[usize],
    seed: u64,
) -> Result<Vec<f64>> {
    let p = x.first().map_or(0, Vec::len);
    match nuisance {
        Nuisance::Gbdt {
            iterations,
            max_depth,
            learning_rate,
        } => {
            let column_major = |idx: &[usize]| -> Vec<f64> {
                let mut out = Vec::with_capacity(idx.len() * p);
                for j in 0..p {
                    out.extend(idx.iter().map(|&i| x[i][j]));
                }
                out
            };
            let train_x = column_major(train);
            let train_y: Vec<f64> = train.iter().map(|&i| target[i]).collect();
            let mut booster = forust_ml::GradientBooster::default()
                .set_objective_type(forust_ml::objective::ObjectiveType::SquaredLoss)
                .set_iterations(*iterations)
                .set_max_depth(*max_depth)
                .set_learning_rate(*learning_rate)
                .set_seed(seed)
                .set_parallel(true);
            booster
                .fit_unweighted(
                    &forust_ml::Matrix::new(&train_x, train.len(), p),
                    &train_y,
                    None,
                )
                .map_err(|e| PricingError::Nuisance(e.to_string()))?;
            let test_x = column_major(test);
            Ok(booster.predict(&forust_ml::Matrix::new(&test_x, test.len(), p), true))
        }
        Nuisance::Ridge { lambda } => {
            // Standardised columns so that one lambda suits all of them; missing values count as 0.
            let clean = |i: usize| -> Vec<f64> {
                x[i].iter()
                    .map(|v| if v.is_finite() { *v } else { 0.0 })
                    .collect()
            };
            let mut design = Design::new((0..p).map(|j| format!("x{j}")).collect());
            for &i in train {
                design.push_row(&clean(i));
            }
            let scale: Vec<f64> = (0..p)
                .map(|j| {
                    let col = design.column(j);
                    let mean = col.iter().sum::<f64>() / col.len() as f64;
                    let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                        / col.len() as f64)
                        .sqrt();
                    if sd > 0.0 {
                        sd
                    } else {
                        1.0
                    }
                })
                .collect();
            for (k, v) in design.values.iter_mut().enumerate() {
                *v /= scale[k % p];
            }
            let train_y: Vec<f64> = train.iter().map(|&i| target[i]).collect();
            let (intercept, beta) = ridge(&design, &train_y, *lambda)?;
            Ok(test
                .iter()
                .map(|&i| {
                    intercept
                        + clean(i)
                            .iter()
                            .zip(&beta)
                            .zip(&scale)
                            .map(|((v, b), s)| v / s * b)
                            .sum::<f64>()
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use rand_distr::{Distribution, Normal};

    /// Prices depend on a confounder (a store's income) that also moves demand; the elasticity is
    /// -2 + 0.5 (income - 10).
    fn confounded_panel(seed: u64) -> WeeklySales {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let noise = Normal::new(0.0, 0.1).unwrap();
        let mut text = String::from("series,product,market,date,units,price,promo,income\n");
        let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 5).unwrap();
        for store in 0..40 {
            let income: f64 = rng.gen_range(9.0..11.0);
            for week in 0..40 {
                let promo = u8::from(rng.gen_bool(0.3));
                let log_price =
                    0.3 * (income - 10.0) - 0.2 * f64::from(promo) + rng.gen_range(-0.2..0.2);
                let elasticity = -2.0 + 0.5 * (income - 10.0);
                let log_units = 3.0
                    + 1.0 * (income - 10.0)
                    + elasticity * log_price
                    + 0.3 * f64::from(promo)
                    + noise.sample(&mut rng);
                let date = start + chrono::Duration::days(7 * week);
                text += &format!(
                    "s{store},juice,s{store},{date},{:.5},{:.5},{promo},{income:.4}\n",
                    log_units.exp(),
                    log_price.exp()
                );
            }
        }
        WeeklySales::parse("confounded.csv", &text).unwrap()
    }

    #[test]
    fn dml_recovers_a_confounded_elasticity_and_its_slope_in_income() {
        let sales = confounded_panel(11);
        for nuisance in [
            Nuisance::Gbdt {
                iterations: 60,
                max_depth: 3,
                learning_rate: 0.2,
            },
            Nuisance::Ridge { lambda: 1.0 },
        ] {
            let config = DmlConfig {
                nuisance,
                heterogeneity: Some("income".into()),
                ..DmlConfig::default()
            };
            let result = estimate(&sales, &config).unwrap();
            let pooled = &result.pooled;
            assert!(
                pooled.elasticity.lower < -1.9 && pooled.elasticity.upper > -2.1
                    || (pooled.elasticity.estimate + 2.0).abs() < 0.1,
                "{:?}",
                pooled.elasticity
            );
            let slope = pooled.heterogeneity.as_ref().unwrap();
            assert!((slope.estimate - 0.5).abs() < 0.2, "{slope:?}");
            assert_eq!(pooled.at_quartiles.len(), 3);
            assert!(
                pooled.at_quartiles[0].elasticity.estimate
                    < pooled.at_quartiles[2].elasticity.estimate
            );
        }
    }

    #[test]
    fn an_unknown_covariate_is_an_error_naming_the_columns() {
        let sales = confounded_panel(1);
        let config = DmlConfig {
            heterogeneity: Some("wealth".into()),
            ..DmlConfig::default()
        };
        let err = estimate(&sales, &config).unwrap_err().to_string();
        assert!(err.contains("wealth") && err.contains("income"), "{err}");
    }
}
