//! Weekly demand forecasts per series with price and promotion covariates and yearly seasonality, checked by
//! rolling-origin backtests against the seasonal naive forecast.
//!
//! Model of one series: `ln(1 + units_t) = b'x_t + u_t` with `x_t` = (1, ln price, promo, feature, display,
//! sine and cosine terms of the week of the year), fitted by least squares with a small ridge, and `u_t` an
//! AR(1) in the weeks (`u_t = phi u_{t-1} + e_t`). A forecast `k` weeks after the last observation is
//! `b'x + phi^k u_T` with the planned prices and promotions of that week; its log-scale variance is
//! `s^2 (1 + phi^2 + ... + phi^(2(k-1)))`, which gives the prediction intervals (their coverage is measured
//! in the backtest, not assumed).
//!
//! Accuracy: WAPE (sum of absolute errors over the sum of units) and MASE (mean absolute error over the
//! in-sample mean absolute error of the seasonal naive forecast, or of the last-week forecast when the
//! history is shorter than a season and ten weeks).

use std::collections::HashMap;

use serde::Serialize;

use crate::error::{invalid, Result};
use crate::linalg::{normal_quantile, ridge, Design};
use crate::weekly::{WeeklyRow, WeeklySales};

/// Weeks in a year.
const YEAR: f64 = 365.25 / 7.0;

/// Settings of forecasts and backtests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastConfig {
    /// Weeks ahead.
    pub horizon: usize,
    /// Pairs of yearly sine/cosine terms.
    pub harmonics: usize,
    /// Season length of the seasonal naive forecast, in weeks.
    pub season: usize,
    /// Backtest origins (the last one leaves `horizon` weeks after it).
    pub origins: usize,
    /// Weeks between origins.
    pub origin_step: usize,
    /// Fewest training weeks a series needs at an origin.
    pub min_train: usize,
    /// Ridge penalty (on standardised covariates).
    pub ridge: f64,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig {
            horizon: 4,
            harmonics: 3,
            season: 52,
            origins: 8,
            origin_step: 4,
            min_train: 40,
            ridge: 1.0,
        }
    }
}

/// One forecast week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastPoint {
    pub week: i64,
    pub date: String,
    /// Weeks after the last observation.
    pub step: usize,
    /// Median forecast of units.
    pub units: f64,
    pub lower_80: f64,
    pub upper_80: f64,
    pub lower_95: f64,
    pub upper_95: f64,
}

/// A fitted series model.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesModel {
    intercept: f64,
    beta: Vec<f64>,
    scale: Vec<f64>,
    phi: f64,
    sigma: f64,
    last_week: i64,
    last_residual: f64,
    harmonics: usize,
}

/// What a future week's covariates are (the planned price and promotions).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub week: i64,
    pub price: f64,
    pub promo: f64,
    pub feature: f64,
    pub display: f64,
}

impl Plan {
    fn of(row: &WeeklyRow) -> Plan {
        Plan {
            week: row.week,
            price: row.price,
            promo: row.promo,
            feature: row.feature,
            display: row.display,
        }
    }
}

fn covariates(plan: &Plan, harmonics: usize) -> Vec<f64> {
    let mut x = vec![plan.price.ln(), plan.promo, plan.feature, plan.display];
    for k in 1..=harmonics {
        let angle = 2.0 * std::f64::consts::PI * k as f64 * plan.week as f64 / YEAR;
        x.push(angle.sin());
        x.push(angle.cos());
    }
    x
}

impl SeriesModel {
    /// Fits a series from its rows (sorted by week).
    pub fn fit(rows: &[&WeeklyRow], harmonics: usize, lambda: f64) -> Result<SeriesModel> {
        let p = 4 + 2 * harmonics;
        let mut design = Design::new((0..p).map(|j| format!("x{j}")).collect());
        let mut y = Vec::with_capacity(rows.len());
        for r in rows {
            design.push_row(&covariates(&Plan::of(r), harmonics));
            y.push(r.units.ln_1p());
        }
        let scale: Vec<f64> = (0..p)
            .map(|j| {
                let col = design.column(j);
                let n = col.len().max(1) as f64;
                let mean = col.iter().sum::<f64>() / n;
                let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
                if sd > 1e-12 {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        for (k, v) in design.values.iter_mut().enumerate() {
            *v /= scale[k % p];
        }
        let (intercept, beta) = ridge(&design, &y, lambda)?;
        let residuals: Vec<f64> = (0..rows.len())
            .map(|i| {
                y[i] - intercept
                    - design
                        .row(i)
                        .iter()
                        .zip(&beta)
                        .map(|(x, b)| x * b)
                        .sum::<f64>()
            })
            .collect();
        // AR(1) on consecutive weeks only.
        let (mut num, mut den) = (0.0, 0.0);
        for i in 1..rows.len() {
            if rows[i].week - rows[i - 1].week == 1 {
                num += residuals[i] * residuals[i - 1];
                den += residuals[i - 1] * residuals[i - 1];
            }
        }
        let phi = if den > 0.0 {
            (num / den).clamp(0.0, 0.95)
        } else {
            0.0
        };
        let mut innovations = Vec::new();
        for i in 1..rows.len() {
            let gap = rows[i].week - rows[i - 1].week;
            if gap >= 1 {
                innovations.push(residuals[i] - phi.powi(gap as i32) * residuals[i - 1]);
            }
        }
        let dof = (innovations.len() as f64 - p as f64 - 2.0).max(1.0);
        let sigma = (innovations.iter().map(|e| e * e).sum::<f64>() / dof).sqrt();
        Ok(SeriesModel {
            intercept,
            beta,
            scale,
            phi,
            sigma,
            last_week: rows.last().map_or(0, |r| r.week),
            last_residual: residuals.last().copied().unwrap_or(0.0),
            harmonics,
        })
    }

    /// Forecast for a planned week after the last observation.
    pub fn forecast(&self, plan: &Plan) -> ForecastPoint {
        let x = covariates(plan, self.harmonics);
        let mean_log = self.intercept
            + x.iter()
                .zip(&self.beta)
                .zip(&self.scale)
                .map(|((v, b), s)| v / s * b)
                .sum::<f64>();
        let step = (plan.week - self.last_week).max(1) as usize;
        let centre = mean_log + self.phi.powi(step as i32) * self.last_residual;
        let variance: f64 =
            (0..step).map(|i| self.phi.powi(2 * i as i32)).sum::<f64>() * self.sigma.powi(2);
        let sd = variance.sqrt();
        let back = |v: f64| (v.exp() - 1.0).max(0.0);
        let z80 = normal_quantile(0.9);
        let z95 = normal_quantile(0.975);
        ForecastPoint {
            week: plan.week,
            date: String::new(),
            step,
            units: back(centre),
            lower_80: back(centre - z80 * sd),
            upper_80: back(centre + z80 * sd),
            lower_95: back(centre - z95 * sd),
            upper_95: back(centre + z95 * sd),
        }
    }
}

/// Backtest accuracy of one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesAccuracy {
    pub series: String,
    pub points: usize,
    pub wape: f64,
    pub wape_seasonal_naive: f64,
    pub mase: f64,
    pub mase_seasonal_naive: f64,
    pub coverage_80: f64,
    pub coverage_95: f64,
}

/// Accuracy at one step ahead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepAccuracy {
    pub step: usize,
    pub points: usize,
    pub wape: f64,
    pub wape_seasonal_naive: f64,
}

/// Rolling-origin backtest over all series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    pub horizon: usize,
    pub origins: Vec<String>,
    pub series: usize,
    pub points: usize,
    pub wape: f64,
    pub wape_seasonal_naive: f64,
    /// Mean over series.
    pub mase: f64,
    pub mase_seasonal_naive: f64,
    pub coverage_80: f64,
    pub coverage_95: f64,
    /// Forecasts where the seasonal naive had no value a season back and used the last week instead.
    pub naive_fallbacks: usize,
    pub by_step: Vec<StepAccuracy>,
    pub per_series: Vec<SeriesAccuracy>,
}

#[derive(Default, Clone)]
struct Tally {
    points: usize,
    abs_error: f64,
    abs_error_naive: f64,
    actual: f64,
    inside_80: usize,
    inside_95: usize,
}

/// Rolling-origin backtest: at each origin every series is fitted on its weeks up to the origin and
/// forecasts the next `horizon` weeks with their actual prices and promotions as the plan.
pub fn backtest(sales: &WeeklySales, config: &ForecastConfig) -> Result<Backtest> {
    validate(config)?;
    let by_series = sales.by_series();
    let last_week = sales.rows.iter().map(|r| r.week).max().unwrap_or(0);
    let last_origin = last_week - config.horizon as i64;
    let origins: Vec<i64> = (0..config.origins)
        .map(|i| last_origin - (i * config.origin_step) as i64)
        .rev()
        .collect();
    let date_of: HashMap<i64, String> = sales
        .rows
        .iter()
        .map(|r| (r.week, r.date.to_string()))
        .collect();
    let mut per_series = Vec::new();
    let mut total = Tally::default();
    let mut by_step = vec![Tally::default(); config.horizon];
    let mut naive_fallbacks = 0;
    let mut mase_sum = (0.0, 0.0, 0usize);
    for (name, rows) in &by_series {
        let mut tally = Tally::default();
        let mut scale_sum = (0.0, 0usize);
        for &origin in &origins {
            let train: Vec<&WeeklyRow> =
                rows.iter().copied().filter(|r| r.week <= origin).collect();
            if train.len() < config.min_train {
                continue;
            }
            let model = SeriesModel::fit(&train, config.harmonics, config.ridge)?;
            let units_at: HashMap<i64, f64> = train.iter().map(|r| (r.week, r.units)).collect();
            if let Some(scale) = naive_scale(&train, config.season) {
                scale_sum.0 += scale;
                scale_sum.1 += 1;
            }
            let last_units = train.last().map_or(0.0, |r| r.units);
            for row in rows
                .iter()
                .filter(|r| r.week > origin && r.week <= origin + config.horizon as i64)
            {
                let point = model.forecast(&Plan::of(row));
                let naive = match units_at.get(&(row.week - config.season as i64)) {
                    Some(v) => *v,
                    None => {
                        naive_fallbacks += 1;
                        last_units
                    }
                };
                let step = (row.week - origin) as usize;
                for t in [&mut tally, &mut by_step[step - 1]] {
                    t.points += 1;
                    t.abs_error += (row.units - point.units).abs();
                    t.abs_error_naive += (row.units - naive).abs();
                    t.actual += row.units;
                    t.inside_80 +=
                        usize::from(point.lower_80 <= row.units && row.units <= point.upper_80);
                    t.inside_95 +=
                        usize::from(point.lower_95 <= row.units && row.units <= point.upper_95);
                }
            }
        }
        if tally.points == 0 {
            continue;
        }
        let scale = if scale_sum.1 > 0 {
            scale_sum.0 / scale_sum.1 as f64
        } else {
            f64::NAN
        };
        let mae = tally.abs_error / tally.points as f64;
        let mae_naive = tally.abs_error_naive / tally.points as f64;
        let accuracy = SeriesAccuracy {
            series: name.clone(),
            points: tally.points,
            wape: ratio(tally.abs_error, tally.actual),
            wape_seasonal_naive: ratio(tally.abs_error_naive, tally.actual),
            mase: ratio(mae, scale),
            mase_seasonal_naive: ratio(mae_naive, scale),
            coverage_80: tally.inside_80 as f64 / tally.points as f64,
            coverage_95: tally.inside_95 as f64 / tally.points as f64,
        };
        if accuracy.mase.is_finite() && accuracy.mase_seasonal_naive.is_finite() {
            mase_sum.0 += accuracy.mase;
            mase_sum.1 += accuracy.mase_seasonal_naive;
            mase_sum.2 += 1;
        }
        total.points += tally.points;
        total.abs_error += tally.abs_error;
        total.abs_error_naive += tally.abs_error_naive;
        total.actual += tally.actual;
        total.inside_80 += tally.inside_80;
        total.inside_95 += tally.inside_95;
        per_series.push(accuracy);
    }
    if total.points == 0 {
        return Err(invalid(
            "origins",
            format!(
                "no series has {} weeks before the first origin",
                config.min_train
            ),
        ));
    }
    let count = mase_sum.2.max(1) as f64;
    Ok(Backtest {
        horizon: config.horizon,
        origins: origins
            .iter()
            .map(|w| {
                date_of.get(w).cloned().unwrap_or_else(|| {
                    // Week indices count weeks from 1970-01-01.
                    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
                    (epoch + chrono::Duration::days(7 * w)).to_string()
                })
            })
            .collect(),
        series: per_series.len(),
        points: total.points,
        wape: ratio(total.abs_error, total.actual),
        wape_seasonal_naive: ratio(total.abs_error_naive, total.actual),
        mase: mase_sum.0 / count,
        mase_seasonal_naive: mase_sum.1 / count,
        coverage_80: total.inside_80 as f64 / total.points as f64,
        coverage_95: total.inside_95 as f64 / total.points as f64,
        naive_fallbacks,
        by_step: by_step
            .iter()
            .enumerate()
            .map(|(i, t)| StepAccuracy {
                step: i + 1,
                points: t.points,
                wape: ratio(t.abs_error, t.actual),
                wape_seasonal_naive: ratio(t.abs_error_naive, t.actual),
            })
            .collect(),
        per_series,
    })
}

/// Forecasts of a series for the `horizon` weeks after its last observation, holding its last price and no
/// promotion.
pub fn forecast_series(rows: &[&WeeklyRow], config: &ForecastConfig) -> Result<Vec<ForecastPoint>> {
    validate(config)?;
    let Some(last) = rows.last() else {
        return Err(invalid("series", "no rows"));
    };
    let model = SeriesModel::fit(rows, config.harmonics, config.ridge)?;
    Ok((1..=config.horizon as i64)
        .map(|k| {
            let mut point = model.forecast(&Plan {
                week: last.week + k,
                price: last.price,
                promo: 0.0,
                feature: 0.0,
                display: 0.0,
            });
            point.date = (last.date + chrono::Duration::days(7 * k)).to_string();
            point
        })
        .collect())
}

fn validate(config: &ForecastConfig) -> Result<()> {
    if config.horizon == 0 || config.origins == 0 || config.origin_step == 0 || config.season == 0 {
        return Err(invalid(
            "forecast",
            "horizon, origins, origin step and season must be at least 1",
        ));
    }
    if config.ridge < 0.0 {
        return Err(invalid("ridge", "must not be negative"));
    }
    Ok(())
}

/// In-sample mean absolute error of the seasonal naive forecast (of the last-week forecast when fewer than
/// ten pairs a season apart exist).
fn naive_scale(train: &[&WeeklyRow], season: usize) -> Option<f64> {
    let units: HashMap<i64, f64> = train.iter().map(|r| (r.week, r.units)).collect();
    for lag in [season as i64, 1] {
        let diffs: Vec<f64> = train
            .iter()
            .filter_map(|r| units.get(&(r.week - lag)).map(|v| (r.units - v).abs()))
            .collect();
        if diffs.len() >= 10 {
            return Some(diffs.iter().sum::<f64>() / diffs.len() as f64);
        }
    }
    None
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, Normal};

    /// Three years of weekly sales with a yearly cycle, elasticity -2 and a promotion lift.
    fn seasonal_series(seed: u64) -> WeeklySales {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let noise = Normal::new(0.0, 0.05).unwrap();
        let start = chrono::NaiveDate::from_ymd_opt(2021, 1, 7).unwrap();
        let mut text = String::from("series,date,units,price,promo\n");
        for t in 0..156 {
            let date = start + chrono::Duration::days(7 * t);
            let week = crate::weekly::week_index(date);
            let price: f64 = rng.gen_range(2.0..3.0);
            let promo = u8::from(rng.gen_bool(0.2));
            let season = 0.5 * (2.0 * std::f64::consts::PI * week as f64 / YEAR).sin();
            let log_units =
                6.0 + season - 2.0 * price.ln() + 0.3 * f64::from(promo) + noise.sample(&mut rng);
            text += &format!("a,{date},{:.0},{price:.3},{promo}\n", log_units.exp());
        }
        WeeklySales::parse("seasonal.csv", &text).unwrap()
    }

    #[test]
    fn the_model_beats_seasonal_naive_and_its_intervals_cover() {
        let sales = seasonal_series(5);
        let result = backtest(&sales, &ForecastConfig::default()).unwrap();
        assert_eq!(result.points, 32);
        assert_eq!(result.by_step.len(), 4);
        assert!(result.wape < 0.1, "{}", result.wape);
        assert!(result.wape < result.wape_seasonal_naive, "{result:?}");
        assert!(result.mase < result.mase_seasonal_naive);
        assert!(result.coverage_95 >= 0.8, "{}", result.coverage_95);
        assert_eq!(result.naive_fallbacks, 0);
    }

    #[test]
    fn forecasts_fan_out_with_the_horizon() {
        let sales = seasonal_series(6);
        let rows: Vec<&WeeklyRow> = sales.rows.iter().collect();
        let points = forecast_series(
            &rows,
            &ForecastConfig {
                horizon: 6,
                ..ForecastConfig::default()
            },
        )
        .unwrap();
        assert_eq!(points.len(), 6);
        for p in &points {
            assert!(p.lower_95 <= p.lower_80 && p.lower_80 <= p.units && p.units <= p.upper_80);
            assert!(p.upper_80 <= p.upper_95);
        }
        let width = |p: &ForecastPoint| p.upper_95.ln_1p() - p.lower_95.ln_1p();
        assert!(width(&points[5]) >= width(&points[0]) - 1e-9);
    }
}
