//! Profit-maximising shelf prices from the fitted log-log demand models, under a merchant's rules, robust to
//! the elasticities' uncertainty.
//!
//! For each market, the products sold there get prices from a ladder (price points whose minor units end in
//! one of the allowed endings), within a maximum change from the current price and above a minimum margin
//! over unit cost. Demand of product j: `ln q_j = level_j + e_jj ln p_j + sum_k e_jk ln p_k` (no promotion),
//! with the lognormal mean correction. Cross-effects couple the products, so prices are chosen jointly by
//! coordinate ascent on the category's total profit; cross-effects whose interval includes zero are left out
//! (a noisy cross term would otherwise steer every price). A product whose own-price elasticity is not
//! clearly negative keeps its current price: its demand curve gives no interior optimum. Uncertainty:
//! coefficient vectors are drawn from each product's estimated normal distribution, and the objective is a
//! quantile of the total profit over the draws (the median by default; 0.1 for a cautious merchant) — the
//! mean would be dominated by the few draws with extreme elasticities. The current price is the median of
//! the last `recent_weeks` weeks.

// Index loops over rows, columns and states read like the formulas they implement.
#![allow(clippy::needless_range_loop)]

use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use crate::elasticity::{DemandModel, ElasticityResult};
use crate::error::{invalid, not_identified, Result};
use crate::weekly::WeeklySales;

/// A merchant's pricing rules and the optimiser's settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PricingRules {
    /// Allowed endings of the price in minor units (e.g. "9" or "49","99"); empty: every minor unit.
    pub endings: Vec<String>,
    /// Largest relative change from the current price (0.1 = 10%).
    pub max_change: f64,
    /// Smallest margin (price - cost) / price.
    pub min_margin: f64,
    /// Draws of the coefficients.
    pub draws: usize,
    /// Objective: this quantile of the total profit over the draws (0.5: the median; 0.1: cautious).
    pub quantile: f64,
    /// z-score a cross-effect needs to be used (1.96: its 95% interval excludes zero).
    pub cross_min_z: f64,
    /// Weeks whose median price is the current price.
    pub recent_weeks: usize,
    pub seed: u64,
    /// Minor units per currency unit (100 for cents).
    pub minor_per_unit: f64,
}

impl Default for PricingRules {
    fn default() -> Self {
        PricingRules {
            endings: vec!["9".into()],
            max_change: 0.15,
            min_margin: 0.1,
            draws: 200,
            quantile: 0.5,
            cross_min_z: 1.96,
            recent_weeks: 13,
            seed: 1,
            minor_per_unit: 100.0,
        }
    }
}

/// The recommendation for one product in one market.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceRecommendation {
    pub market: String,
    pub series: String,
    pub product: String,
    pub unit_cost: f64,
    pub current_price_minor: i64,
    pub recommended_price_minor: i64,
    /// Own-price elasticity used.
    pub elasticity: f64,
    pub expected_units_current: f64,
    pub expected_units_recommended: f64,
    /// Expected profit per week at the point estimates.
    pub expected_profit_current: f64,
    pub expected_profit_recommended: f64,
    /// Whether a rule (ladder edge, maximum change, margin) stopped the price.
    pub bound: Option<String>,
}

/// The category's recommendation in one market.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketRecommendation {
    pub market: String,
    pub products: Vec<PriceRecommendation>,
    /// Total expected profit per week over the coefficient draws: median and 5%/95% quantiles.
    pub profit_current: ProfitSummary,
    pub profit_recommended: ProfitSummary,
    /// Mean weekly profit actually earned over the recent weeks at the historic prices.
    pub historic_profit_per_week: f64,
    /// Profit curve of the first product: (price, expected total profit) with the others at the recommendation.
    pub profit_curve: Vec<(f64, f64)>,
}

/// A profit distribution over coefficient draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfitSummary {
    pub median: f64,
    pub q05: f64,
    pub q95: f64,
}

struct Item {
    series: String,
    product: String,
    model_index: usize,
    cost: f64,
    current: f64,
    level: f64,
    candidates: Vec<i64>,
    historic_profit: f64,
    /// Kept at its current price (own elasticity not clearly negative).
    held: bool,
}

/// Recommends prices for every market of the sales data.
pub fn optimize(
    sales: &WeeklySales,
    elasticities: &ElasticityResult,
    rules: &PricingRules,
) -> Result<Vec<MarketRecommendation>> {
    if !(0.0..1.0).contains(&rules.min_margin) || rules.max_change <= 0.0 || rules.draws == 0 {
        return Err(invalid(
            "rules",
            "min margin in [0, 1), max change above 0 and at least one draw",
        ));
    }
    if rules
        .endings
        .iter()
        .any(|e| e.is_empty() || !e.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(invalid("endings", "each ending is one or more digits"));
    }
    let products: Vec<String> = elasticities
        .per_product
        .iter()
        .map(|p| p.product.clone())
        .collect();
    let mut markets: Vec<String> = sales.rows.iter().map(|r| r.market.clone()).collect();
    markets.sort();
    markets.dedup();
    let mut rng = rand::rngs::StdRng::seed_from_u64(rules.seed);
    let models: Vec<DemandModel> = elasticities
        .per_product
        .iter()
        .map(|p| without_weak_cross_effects(&p.model, rules.cross_min_z))
        .collect();
    // A product's own-price elasticity is usable when its upper 95% bound is below zero.
    let usable: Vec<bool> = elasticities
        .per_product
        .iter()
        .map(|p| p.own_price.upper < 0.0)
        .collect();
    // Coefficient draws per product (same draws for every market).
    let draws: Vec<Vec<Vec<f64>>> = models
        .iter()
        .map(|m| draw_coefficients(m, rules.draws, &mut rng))
        .collect::<Result<_>>()?;
    let by_series = sales.by_series();
    let mut out = Vec::new();
    for market in &markets {
        let mut items = Vec::new();
        for (series, rows) in &by_series {
            let Some(first) = rows.first() else { continue };
            if &first.market != market {
                continue;
            }
            let Some(model_index) = products.iter().position(|p| p == &first.product) else {
                continue;
            };
            let model = &elasticities.per_product[model_index].model;
            let Some(level) = model.level_of(series) else {
                continue;
            };
            let recent: Vec<_> = rows.iter().rev().take(rules.recent_weeks).collect();
            let mut prices: Vec<f64> = recent.iter().map(|r| r.price).collect();
            prices.sort_by(f64::total_cmp);
            let current = prices[prices.len() / 2];
            let costs: Vec<f64> = recent.iter().filter_map(|r| r.cost).collect();
            if costs.is_empty() {
                return Err(not_identified(
                    "price optimisation",
                    format!("series {series} has no unit cost in its recent weeks"),
                ));
            }
            let cost = costs.iter().sum::<f64>() / costs.len() as f64;
            let historic_profit = recent
                .iter()
                .map(|r| (r.price - r.cost.unwrap_or(cost)) * r.units)
                .sum::<f64>()
                / recent.len() as f64;
            let mut candidates = ladder(current, cost, rules);
            if !usable[model_index] {
                // Held: the nearest allowed price to the current one.
                let nearest = candidates
                    .iter()
                    .copied()
                    .min_by(|a, b| {
                        (*a as f64 - current * rules.minor_per_unit)
                            .abs()
                            .total_cmp(&(*b as f64 - current * rules.minor_per_unit).abs())
                    })
                    .unwrap_or((current * rules.minor_per_unit).round() as i64);
                candidates = vec![nearest];
            }
            if candidates.is_empty() {
                return Err(not_identified(
                    "price optimisation",
                    format!("no allowed price for {series}: the margin and change rules exclude every price"),
                ));
            }
            items.push(Item {
                series: series.clone(),
                product: first.product.clone(),
                model_index,
                cost,
                current,
                level,
                candidates,
                historic_profit,
                held: !usable[model_index],
            });
        }
        if items.is_empty() {
            continue;
        }
        out.push(optimize_market(
            market, &items, &products, &models, &draws, rules,
        )?);
    }
    Ok(out)
}

/// Allowed price points in minor units around the current price.
fn ladder(current: f64, cost: f64, rules: &PricingRules) -> Vec<i64> {
    let low = (current * (1.0 - rules.max_change) * rules.minor_per_unit).ceil() as i64;
    let high = (current * (1.0 + rules.max_change) * rules.minor_per_unit).floor() as i64;
    (low.max(1)..=high)
        .filter(|p| {
            let text = p.to_string();
            rules.endings.is_empty() || rules.endings.iter().any(|e| text.ends_with(e.as_str()))
        })
        .filter(|&p| {
            let price = p as f64 / rules.minor_per_unit;
            (price - cost) / price >= rules.min_margin
        })
        .collect()
}

fn draw_coefficients(
    model: &DemandModel,
    n: usize,
    rng: &mut rand::rngs::StdRng,
) -> Result<Vec<Vec<f64>>> {
    let p = model.beta.len();
    let cov = DMatrix::from_row_slice(p, p, &model.covariance);
    let chol = (cov + DMatrix::identity(p, p) * 1e-12)
        .cholesky()
        .ok_or_else(|| {
            not_identified(
                "price optimisation",
                "coefficient covariance not positive definite",
            )
        })?;
    let l = chol.l();
    Ok((0..n)
        .map(|_| {
            let z: Vec<f64> = (0..p).map(|_| StandardNormal.sample(rng)).collect();
            (0..p)
                .map(|a| model.beta[a] + (0..=a).map(|b| l[(a, b)] * z[b]).sum::<f64>())
                .collect()
        })
        .collect())
}

/// Expected units of item `i` given everyone's prices and a coefficient vector.
fn units(
    items: &[Item],
    i: usize,
    prices: &[f64],
    products: &[String],
    model: &DemandModel,
    beta: &[f64],
) -> f64 {
    let mut log_q = items[i].level + model.residual_variance / 2.0;
    for (name, b) in model.names.iter().zip(beta) {
        if name == "ln_price" {
            log_q += b * prices[i].ln();
        } else if let Some(other) = name
            .strip_prefix("ln_price[")
            .and_then(|s| s.strip_suffix(']'))
        {
            // The other product's price in this market, or its usual level (absorbed in the level) if absent.
            if let Some(j) = items.iter().position(|it| it.product == other) {
                log_q += b * prices[j].ln();
            } else if products.iter().any(|p| p == other) {
                continue;
            }
        }
    }
    log_q.exp()
}

fn total_profit(
    items: &[Item],
    prices: &[f64],
    products: &[String],
    models: &[&DemandModel],
    betas: &[&[f64]],
) -> f64 {
    (0..items.len())
        .map(|i| {
            (prices[i] - items[i].cost) * units(items, i, prices, products, models[i], betas[i])
        })
        .sum()
}

fn optimize_market(
    market: &str,
    items: &[Item],
    products: &[String],
    all_models: &[DemandModel],
    draws: &[Vec<Vec<f64>>],
    rules: &PricingRules,
) -> Result<MarketRecommendation> {
    let models: Vec<&DemandModel> = items.iter().map(|it| &all_models[it.model_index]).collect();
    let n_draws = rules.draws;
    let profits_over_draws = |prices: &[f64]| -> Vec<f64> {
        (0..n_draws)
            .map(|d| {
                let betas: Vec<&[f64]> = items
                    .iter()
                    .map(|it| draws[it.model_index][d].as_slice())
                    .collect();
                total_profit(items, prices, products, &models, &betas)
            })
            .collect()
    };
    let objective = |prices: &[f64]| -> f64 {
        let mut values = profits_over_draws(prices);
        quantile(&mut values, rules.quantile)
    };
    let to_price = |minor: i64| minor as f64 / rules.minor_per_unit;
    // Start from the ladder point nearest the current price.
    let mut choice: Vec<usize> = items
        .iter()
        .map(|it| {
            (0..it.candidates.len())
                .min_by(|a, b| {
                    (to_price(it.candidates[*a]) - it.current)
                        .abs()
                        .total_cmp(&(to_price(it.candidates[*b]) - it.current).abs())
                })
                .unwrap_or(0)
        })
        .collect();
    let prices_of = |choice: &[usize]| -> Vec<f64> {
        items
            .iter()
            .zip(choice)
            .map(|(it, &c)| to_price(it.candidates[c]))
            .collect()
    };
    let mut best = objective(&prices_of(&choice));
    for _ in 0..30 {
        let mut changed = false;
        for i in 0..items.len() {
            for c in 0..items[i].candidates.len() {
                if c == choice[i] {
                    continue;
                }
                let mut trial = choice.clone();
                trial[i] = c;
                let value = objective(&prices_of(&trial));
                if value > best + 1e-9 {
                    best = value;
                    choice = trial;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let recommended = prices_of(&choice);
    let current: Vec<f64> = items.iter().map(|it| it.current).collect();
    let point_betas: Vec<&[f64]> = models.iter().map(|m| m.beta.as_slice()).collect();
    let summary = |prices: &[f64]| {
        let mut values = profits_over_draws(prices);
        ProfitSummary {
            median: quantile(&mut values, 0.5),
            q05: quantile(&mut values, 0.05),
            q95: quantile(&mut values, 0.95),
        }
    };
    let products_out = items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let model = models[i];
            let profit = |prices: &[f64]| {
                (prices[i] - it.cost) * units(items, i, prices, products, model, &model.beta)
            };
            let c = choice[i];
            let bound = if it.held {
                Some("held: own elasticity not clearly negative".to_string())
            } else if it.candidates.len() == 1 {
                Some("only allowed price".to_string())
            } else if c == 0 || c + 1 == it.candidates.len() {
                Some(
                    if c == 0 {
                        "lowest allowed price"
                    } else {
                        "highest allowed price"
                    }
                    .to_string(),
                )
            } else {
                None
            };
            PriceRecommendation {
                market: market.to_string(),
                series: it.series.clone(),
                product: it.product.clone(),
                unit_cost: it.cost,
                current_price_minor: (it.current * rules.minor_per_unit).round() as i64,
                recommended_price_minor: it.candidates[c],
                elasticity: model.coefficient("ln_price").unwrap_or(f64::NAN),
                expected_units_current: units(items, i, &current, products, model, &model.beta),
                expected_units_recommended: units(
                    items,
                    i,
                    &recommended,
                    products,
                    model,
                    &model.beta,
                ),
                expected_profit_current: profit(&current),
                expected_profit_recommended: profit(&recommended),
                bound,
            }
        })
        .collect();
    let first = &items[0];
    let wide: Vec<f64> = (0..=30)
        .map(|s| first.current * (0.7 + 0.02 * s as f64))
        .collect();
    let profit_curve = wide
        .iter()
        .map(|&p| {
            let mut prices = recommended.clone();
            prices[0] = p;
            (
                p,
                total_profit(items, &prices, products, &models, &point_betas),
            )
        })
        .collect();
    Ok(MarketRecommendation {
        market: market.to_string(),
        products: products_out,
        profit_current: summary(&current),
        profit_recommended: summary(&recommended),
        historic_profit_per_week: items.iter().map(|it| it.historic_profit).sum(),
        profit_curve,
    })
}

/// The model with its cross-price terms set to zero (with no variance) unless |estimate / error| >= `min_z`.
fn without_weak_cross_effects(model: &DemandModel, min_z: f64) -> DemandModel {
    let p = model.beta.len();
    let mut out = model.clone();
    for j in 0..p {
        let cross = model.names[j].starts_with("ln_price[") || model.names[j] == "ln_price_others";
        let se = model.covariance[j * p + j].max(0.0).sqrt();
        if cross && !(se > 0.0 && (model.beta[j] / se).abs() >= min_z) {
            out.beta[j] = 0.0;
            for k in 0..p {
                out.covariance[j * p + k] = 0.0;
                out.covariance[k * p + j] = 0.0;
            }
        }
    }
    out
}

fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let position = ((values.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    values[position]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elasticity::{estimate, ElasticityConfig};
    use rand::Rng;

    /// One product with elasticity -3 and unit cost 1: the unconstrained optimum is p = c e / (1 + e) = 1.5.
    fn single_product(seed: u64) -> WeeklySales {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let start = chrono::NaiveDate::from_ymd_opt(2022, 1, 6).unwrap();
        let mut text = String::from("series,date,units,price,cost\n");
        for t in 0..150 {
            let price: f64 = rng.gen_range(1.3..1.7);
            let noise: f64 = rng.gen_range(-0.05..0.05);
            let units = (8.0 - 3.0 * price.ln() + noise).exp();
            let date = start + chrono::Duration::days(7 * t);
            text += &format!("a,{date},{units:.3},{price:.2},1.00\n");
        }
        WeeklySales::parse("single.csv", &text).unwrap()
    }

    #[test]
    fn the_optimum_is_the_markup_rule_and_respects_the_rules() {
        let sales = single_product(4);
        let elasticities = estimate(&sales, &ElasticityConfig::default()).unwrap();
        let rules = PricingRules {
            endings: vec![],
            max_change: 0.3,
            min_margin: 0.0,
            ..PricingRules::default()
        };
        let result = optimize(&sales, &elasticities, &rules).unwrap();
        let rec = &result[0].products[0];
        assert!((rec.recommended_price_minor - 150).abs() <= 3, "{rec:?}");
        assert!(result[0].profit_recommended.median >= result[0].profit_current.median - 1e-9);

        // A 45% minimum margin forbids 1.50 (33%): the lowest allowed price, 1.82, is chosen.
        let strict = PricingRules {
            min_margin: 0.45,
            max_change: 0.5,
            ..rules.clone()
        };
        let result = optimize(&sales, &elasticities, &strict).unwrap();
        let rec = &result[0].products[0];
        assert_eq!(rec.recommended_price_minor, 182);
        // Endings: only prices ending in 9.
        let nines = PricingRules {
            endings: vec!["9".into()],
            ..rules
        };
        let result = optimize(&sales, &elasticities, &nines).unwrap();
        assert_eq!(result[0].products[0].recommended_price_minor % 10, 9);
    }
}
