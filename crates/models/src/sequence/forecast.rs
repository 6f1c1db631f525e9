//! The forecast comparison on any purchase log: the GRU against BG/NBD and an RFM logistic model.
//!
//! The GRU and the RFM models learn inside the calibration period only: features from its start
//! to the training cut-off, target the purchases from there to the calibration end. They are then
//! applied to the whole calibration period to forecast the holdout period; their weekly rates are
//! multiplied by the holdout's length for the count forecast, which assumes the rate of the
//! training target period holds that long (it ignores further drop-out). BG/NBD is fitted on the
//! calibration period.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use discount_core::{Event, Timestamp};
use serde::Serialize;

use super::encode::{steps_of_events, CategoryVocab, Step};
use super::gru::{GruConfig, SequenceModel};
use crate::ltv::holdout::{evaluate, roc_auc};
use crate::ltv::{rfm, BgNbd, CustomerSummary, Periods, Transaction};
use crate::propensity::{
    Learner, LogisticConfig, LogisticRegression, Matrix, RidgeConfig, RidgeRegression,
};
use crate::ModelError;

/// The three periods: training history up to and including `train_cutoff`, training target to
/// `calibration_end`, holdout to `holdout_end` (each end day included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ComparisonPeriods {
    pub train_cutoff: NaiveDate,
    pub calibration_end: NaiveDate,
    pub holdout_end: NaiveDate,
}

impl ComparisonPeriods {
    /// The periods of a log's calibration and holdout: the training history is the first two
    /// thirds of the calibration period (CDNOW: 26 of 39 weeks), its target the last third.
    pub fn of(p: &Periods) -> Self {
        let calibration_days = (p.calibration_end - p.first_day).num_days();
        Self {
            train_cutoff: p.first_day + Duration::days(calibration_days * 2 / 3),
            calibration_end: p.calibration_end,
            holdout_end: p.holdout_end,
        }
    }

    /// Weeks from the training cut-off to the calibration end.
    pub fn target_weeks(&self) -> f64 {
        (self.calibration_end - self.train_cutoff).num_days() as f64 / 7.0
    }

    /// Weeks of the holdout period.
    pub fn holdout_weeks(&self) -> f64 {
        (self.holdout_end - self.calibration_end).num_days() as f64 / 7.0
    }
}

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
    /// ROC AUC of the model's score for "buys at least once in the holdout period".
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
    /// The forecast customers' sequences (as of the calibration end) and whether each bought in
    /// the holdout: what the GRU's AUC is measured on.
    pub holdout_sequences: Vec<Vec<Step>>,
    pub holdout_bought: Vec<bool>,
}

/// Runs the comparison on `log` (purchases, one customer number each) over `periods`; `events`
/// holds each customer's events for the GRU, `category_of` names an item's category.
pub fn compare_periods(
    log: &[Transaction],
    events: &BTreeMap<u64, Vec<Event>>,
    periods: &ComparisonPeriods,
    config: GruConfig,
    category_of: &dyn Fn(&str) -> Option<String>,
) -> Result<FittedComparison, ModelError> {
    config.validate()?;
    let (target_weeks, holdout_weeks) = (periods.target_weeks(), periods.holdout_weeks());
    if !(periods.train_cutoff < periods.calibration_end
        && target_weeks > 0.0
        && holdout_weeks > 0.0)
    {
        return Err(ModelError::Data(format!(
            "the periods must follow each other: training cut-off {} < calibration end {} < holdout end {}",
            periods.train_cutoff, periods.calibration_end, periods.holdout_end
        )));
    }
    // Calibration summaries: training (history -> target) and forecasting (calibration -> holdout).
    let train = rfm::summarise(log, periods.train_cutoff, periods.calibration_end)?;
    let apply = rfm::summarise(log, periods.calibration_end, periods.holdout_end)?;
    if apply.is_empty() || train.is_empty() {
        return Err(ModelError::Data(
            "no customers with purchases in the calibration period".into(),
        ));
    }
    let actual: Vec<f64> = apply
        .iter()
        .map(|c| f64::from(c.holdout_purchases))
        .collect();
    let scale = holdout_weeks / target_weeks;
    let mut rows = Vec::new();

    // (a) BG/NBD on the calibration period.
    let rfms: Vec<rfm::Rfm> = apply.iter().map(|c| c.rfm).collect();
    let bgnbd = BgNbd::fit(&rfms)?;
    let forecast = rfms
        .iter()
        .map(|r| bgnbd.expected_purchases(r, holdout_weeks))
        .collect::<Result<Vec<_>, _>>()?;
    rows.push(row(
        "BG/NBD",
        &forecast,
        &actual,
        &forecast,
        "expected purchases",
    )?);

    // (b) RFM logistic (buys again) and RFM ridge (purchase count), trained on the history up to
    // the training cut-off -> the rest of the calibration period.
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
    let mut vocab = CategoryVocab::new();
    let mut sequences = |cutoff: NaiveDate, customers: &[u64]| -> Vec<Vec<Step>> {
        customers
            .iter()
            .map(|c| {
                let own = events.get(c).map(Vec::as_slice).unwrap_or_default();
                steps_of_events(own, end_of(cutoff), &mut vocab, category_of)
            })
            .collect()
    };
    let train_ids: Vec<u64> = train.iter().map(|c| c.customer).collect();
    let train_seq = sequences(periods.train_cutoff, &train_ids);
    let apply_ids: Vec<u64> = apply.iter().map(|c| c.customer).collect();
    let apply_seq = sequences(periods.calibration_end, &apply_ids);
    vocab.freeze();
    let model = SequenceModel::fit(
        &train_seq,
        &train_counts,
        target_weeks,
        vocab.size(),
        config.clone(),
    )?;
    let predictions = model.predict(&apply_seq)?;
    let count_gru: Vec<f64> = predictions
        .iter()
        .map(|p| p.weekly_rate * holdout_weeks)
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
        holdout_bought: actual.iter().map(|a| *a > 0.0).collect(),
        holdout_sequences: apply_seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_training_history_is_two_thirds_of_the_calibration_period() {
        let day = |m, d| NaiveDate::from_ymd_opt(2024, m, d).unwrap();
        // CDNOW's proportions: 39 calibration weeks (273 days), history 26 weeks, target 13.
        let p = Periods {
            first_day: day(1, 1),
            calibration_end: day(1, 1) + Duration::days(273),
            holdout_end: day(1, 1) + Duration::days(273 + 91),
        };
        let c = ComparisonPeriods::of(&p);
        assert_eq!(c.train_cutoff, day(1, 1) + Duration::days(182));
        assert_eq!(c.target_weeks(), 13.0);
        assert_eq!(c.holdout_weeks(), 13.0);
    }
}
