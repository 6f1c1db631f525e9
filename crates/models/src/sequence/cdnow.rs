//! The CDNOW forecast comparison: the GRU against BG/NBD and an RFM logistic model, on the
//! 2,357-customer sample with the paper's 39 calibration and 39 holdout weeks.
//!
//! The GRU and the RFM models learn inside the calibration period only: features from weeks
//! 1-26, target the purchases of weeks 27-39 (13 weeks). They are then applied to weeks 1-39 to
//! forecast weeks 40-78; their weekly rates are multiplied by 39 for the count forecast, which
//! assumes the rate of the next 13 weeks holds for 39 (it ignores further drop-out). BG/NBD is
//! fitted on weeks 1-39, as in the paper.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{Duration, NaiveDate};
use discount_core::{Currency, Event, EventKind, OrderLine, Timestamp};
use serde::Serialize;

use super::encode::{steps_of_events, CategoryVocab, Step};
use super::gru::{GruConfig, SequenceModel};
use crate::ltv::holdout::{evaluate, roc_auc};
use crate::ltv::{cdnow, rfm, BgNbd, CustomerSummary, Transaction};
use crate::propensity::{
    Learner, LogisticConfig, LogisticRegression, Matrix, RidgeConfig, RidgeRegression,
};
use crate::ModelError;

/// Weeks of history the training sequences cover, and of the target that follows them.
pub const TRAIN_HISTORY_WEEKS: i64 = 26;
pub const TRAIN_TARGET_WEEKS: i64 = 13;
pub const HOLDOUT_WEEKS: i64 = 39;

/// One model's holdout figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparisonRow {
    pub model: String,
    /// Pearson correlation of forecast and actual holdout purchases per customer.
    pub correlation: f64,
    /// Mean absolute error of the purchase forecast per customer.
    pub mae: f64,
    pub predicted_total: f64,
    pub actual_total: f64,
    /// ROC AUC of the model's score for "buys at least once in weeks 40-78".
    pub auc_buys_again: f64,
    /// What the AUC ranks by.
    pub auc_score: String,
}

/// The comparison table and how the GRU trained.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub customers: usize,
    pub buyers_in_holdout: usize,
    pub rows: Vec<ComparisonRow>,
    pub gru_config: GruConfig,
    /// Training loss before training, then after each epoch.
    pub gru_loss_history: Vec<f64>,
}

/// Purchase days per customer, amounts of the same day added up.
fn purchase_days(log: &[Transaction]) -> BTreeMap<u64, BTreeMap<NaiveDate, i64>> {
    let mut days: BTreeMap<u64, BTreeMap<NaiveDate, i64>> = BTreeMap::new();
    for t in log {
        *days
            .entry(t.customer)
            .or_default()
            .entry(t.day)
            .or_insert(0) += t.amount_minor;
    }
    days
}

/// The customer's purchase days as order events, the form live data has.
fn order_events(customer: u64, days: &BTreeMap<NaiveDate, i64>) -> Vec<Event> {
    days.iter()
        .filter_map(|(day, amount)| {
            let time = Timestamp::from_date(
                chrono::Datelike::year(day),
                chrono::Datelike::month(day),
                chrono::Datelike::day(day),
            )?;
            Some(Event {
                id: format!("{customer}-{day}"),
                user_id: customer.to_string(),
                time,
                kind: EventKind::Order {
                    order_id: format!("{customer}-{day}"),
                    currency: Currency::USD,
                    lines: vec![OrderLine {
                        item_id: "cd".into(),
                        quantity: 1,
                        list_price: *amount,
                        paid: *amount,
                        retail_discount: 0,
                        coupon_discount: 0,
                    }],
                },
            })
        })
        .collect()
}

/// The last microsecond of `day`: a cut-off that includes the whole day.
fn end_of(day: NaiveDate) -> Timestamp {
    let next = day + Duration::days(1);
    Timestamp::from_date(
        chrono::Datelike::year(&next),
        chrono::Datelike::month(&next),
        chrono::Datelike::day(&next),
    )
    .map_or(Timestamp(0), |t| Timestamp(t.0 - 1))
}

/// RFM features of a calibration summary: repeat purchases, weeks first-to-last purchase,
/// weeks since the last purchase, age in weeks, log mean repeat spend.
fn rfm_row(c: &CustomerSummary) -> [f64; 5] {
    let r = c.rfm;
    [
        r.x,
        r.t_x,
        r.t - r.t_x,
        r.t,
        c.mean_repeat_amount_minor
            .map_or(0.0, |m| (m / 100.0).ln_1p()),
    ]
}

fn matrix(rows: &[[f64; 5]]) -> Result<Matrix, ModelError> {
    Matrix::new(rows.len(), 5, rows.iter().flatten().copied().collect())
}

fn row(
    model: &str,
    predicted: &[f64],
    actual: &[f64],
    score: &[f64],
    auc_score: &str,
) -> Result<ComparisonRow, ModelError> {
    let report = evaluate(predicted, actual)?;
    let labels: Vec<bool> = actual.iter().map(|a| *a > 0.0).collect();
    Ok(ComparisonRow {
        model: model.to_string(),
        correlation: report.correlation,
        mae: report.mae,
        predicted_total: report.predicted_total,
        actual_total: report.actual_total,
        auc_buys_again: roc_auc(score, &labels)?,
        auc_score: auc_score.to_string(),
    })
}

/// The comparison with the GRU it trained, for saving.
pub struct FittedComparison {
    pub comparison: Comparison,
    pub model: SequenceModel,
    /// Customers (sequences) the GRU was trained on.
    pub training_sequences: usize,
}

/// Runs the comparison on `CDNOW_sample.txt` at `path`.
pub fn compare(path: &Path, config: GruConfig) -> Result<Comparison, ModelError> {
    compare_keeping_model(path, config).map(|fitted| fitted.comparison)
}

/// Runs the comparison on `CDNOW_sample.txt` at `path` and keeps the trained GRU.
pub fn compare_keeping_model(
    path: &Path,
    config: GruConfig,
) -> Result<FittedComparison, ModelError> {
    config.validate()?;
    let log = cdnow::read_sample(path)?;
    let calibration_end = cdnow::calibration_end();
    let holdout_end = cdnow::holdout_end();
    let first_day = calibration_end - Duration::weeks(HOLDOUT_WEEKS) + Duration::days(1);
    let train_cutoff = first_day + Duration::weeks(TRAIN_HISTORY_WEEKS) - Duration::days(1);

    // Calibration summaries: training (weeks 1-26, target 27-39) and forecasting (1-39, 40-78).
    let train = rfm::summarise(&log, train_cutoff, calibration_end)?;
    let apply = rfm::summarise(&log, calibration_end, holdout_end)?;
    let train_by_customer: HashMap<u64, &CustomerSummary> =
        train.iter().map(|c| (c.customer, c)).collect();
    if apply.is_empty() || train.is_empty() {
        return Err(ModelError::Data(format!(
            "{}: no customers with purchases in the calibration period",
            path.display()
        )));
    }
    // Every forecast customer needs a training row (in CDNOW all first purchases are in weeks
    // 1-12).
    let missing = apply
        .iter()
        .filter(|c| !train_by_customer.contains_key(&c.customer))
        .count();
    if missing > 0 {
        return Err(ModelError::Data(format!(
            "{missing} customers first bought after week {TRAIN_HISTORY_WEEKS}; the training split does not cover them"
        )));
    }
    let actual: Vec<f64> = apply
        .iter()
        .map(|c| f64::from(c.holdout_purchases))
        .collect();
    let scale = HOLDOUT_WEEKS as f64 / TRAIN_TARGET_WEEKS as f64;
    let mut rows = Vec::new();

    // (a) BG/NBD on weeks 1-39.
    let rfms: Vec<rfm::Rfm> = apply.iter().map(|c| c.rfm).collect();
    let bgnbd = BgNbd::fit(&rfms)?;
    let forecast = rfms
        .iter()
        .map(|r| bgnbd.expected_purchases(r, HOLDOUT_WEEKS as f64))
        .collect::<Result<Vec<_>, _>>()?;
    rows.push(row(
        "BG/NBD",
        &forecast,
        &actual,
        &forecast,
        "expected purchases",
    )?);

    // (b) RFM logistic (buys again) and RFM ridge (purchase count), trained on weeks 1-26 -> 27-39.
    let train_x: Vec<[f64; 5]> = train.iter().map(rfm_row).collect();
    let train_counts: Vec<f64> = train
        .iter()
        .map(|c| f64::from(c.holdout_purchases))
        .collect();
    let train_buy: Vec<f64> = train_counts
        .iter()
        .map(|&n| f64::from(u8::from(n > 0.0)))
        .collect();
    let apply_x = matrix(&apply.iter().map(rfm_row).collect::<Vec<_>>())?;
    let mut logistic = LogisticRegression::new(LogisticConfig::default())?;
    logistic.fit(&matrix(&train_x)?, &train_buy, None)?;
    let p_logistic = logistic.predict(&apply_x)?;
    let mut ridge = RidgeRegression::new(RidgeConfig::default())?;
    ridge.fit(&matrix(&train_x)?, &train_counts, None)?;
    let count_ridge: Vec<f64> = ridge
        .predict(&apply_x)?
        .into_iter()
        .map(|n| n.max(0.0) * scale)
        .collect();
    rows.push(row(
        "RFM logistic (buy) + ridge (count)",
        &count_ridge,
        &actual,
        &p_logistic,
        "P(buy), logistic",
    )?);

    // (c) The GRU over each customer's purchase sequence.
    let days = purchase_days(&log);
    let no_category = |_: &str| -> Option<String> { None };
    let mut vocab = CategoryVocab::new();
    let mut sequences = |cutoff: NaiveDate, customers: &[u64]| -> Vec<Vec<Step>> {
        customers
            .iter()
            .map(|c| {
                let events = days.get(c).map(|d| order_events(*c, d)).unwrap_or_default();
                steps_of_events(&events, end_of(cutoff), &mut vocab, &no_category)
            })
            .collect()
    };
    let train_ids: Vec<u64> = train.iter().map(|c| c.customer).collect();
    let train_seq = sequences(train_cutoff, &train_ids);
    let apply_ids: Vec<u64> = apply.iter().map(|c| c.customer).collect();
    let apply_seq = sequences(calibration_end, &apply_ids);
    vocab.freeze();
    let model = SequenceModel::fit(
        &train_seq,
        &train_counts,
        TRAIN_TARGET_WEEKS as f64,
        vocab.size(),
        config.clone(),
    )?;
    let predictions = model.predict(&apply_seq)?;
    let count_gru: Vec<f64> = predictions
        .iter()
        .map(|p| p.weekly_rate * HOLDOUT_WEEKS as f64)
        .collect();
    let p_gru: Vec<f64> = predictions.iter().map(|p| p.p_buy).collect();
    rows.push(row(
        "GRU sequence model",
        &count_gru,
        &actual,
        &p_gru,
        "P(buy), GRU",
    )?);
    let comparison = Comparison {
        customers: apply.len(),
        buyers_in_holdout: actual.iter().filter(|a| **a > 0.0).count(),
        rows,
        gru_config: config,
        gru_loss_history: model.loss_history.clone(),
    };
    Ok(FittedComparison {
        comparison,
        model,
        training_sequences: train_seq.len(),
    })
}
