//! One self-contained HTML report with inline SVG charts, readable without the code: every chart has a title,
//! labelled axes and a sentence saying what it shows and how to read it, followed by the figures as a table.
//!
//! Build a [`Report`] section by section (or call [`standard_report`] with whatever results you have) and
//! [`Report::write`] it.

use std::fmt::Write as _;
use std::path::Path;

use crate::ab::SequentialPoint;
use crate::calibration::CalibrationReport;
use crate::error::{EvalError, Result};
use crate::experiment::ExperimentAnalysis;
use crate::obd::ObdExperimentResult;
use crate::ope::EstimateResult;
use crate::svg::{escape, BarChart, LineChart, Series};
use crate::uplift::{self, Curve};

const CHART_WIDTH: u32 = 760;
const CHART_HEIGHT: u32 = 380;

/// One section: heading, explanation, chart and table.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub heading: String,
    /// Plain-language sentences explaining the chart (HTML-escaped on output).
    pub explanation: String,
    /// Inline SVG (already rendered).
    pub svg: Option<String>,
    /// Table header and rows (HTML-escaped on output).
    pub table: Option<(Vec<String>, Vec<Vec<String>>)>,
}

/// An HTML report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub title: String,
    pub introduction: String,
    pub sections: Vec<Section>,
}

fn figure(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v.is_infinite() {
        if v > 0.0 { "∞" } else { "−∞" }.into()
    } else if v != 0.0 && v.abs() < 0.01 {
        format!("{v:.6}")
    } else {
        format!("{v:.4}")
    }
}

impl Report {
    pub fn new(title: &str, introduction: &str) -> Self {
        Report {
            title: title.to_string(),
            introduction: introduction.to_string(),
            sections: Vec::new(),
        }
    }

    /// Adds any section.
    pub fn push(&mut self, section: Section) {
        self.sections.push(section);
    }

    /// Off-policy estimates with their intervals; `truth` (e.g. an on-policy mean) is drawn as a reference line.
    pub fn add_ope(
        &mut self,
        heading: &str,
        context: &str,
        results: &[EstimateResult],
        truth: Option<(&str, f64)>,
    ) {
        let mut chart = BarChart::new(heading, "estimated value (mean reward per round)").dots();
        for r in results {
            chart = chart.with_bar(
                &r.estimator,
                r.estimate,
                Some((r.interval.lower, r.interval.upper)),
            );
        }
        if let Some((label, value)) = truth {
            chart = chart.with_reference(label, value);
        }
        let coverage = results
            .first()
            .map(|r| 100.0 * (1.0 - r.interval.alpha))
            .unwrap_or(95.0);
        let mut header = vec![
            "estimator".to_string(),
            "estimate".into(),
            format!("{coverage:.0}% interval"),
            "effective sample size".into(),
        ];
        if truth.is_some() {
            header.push("relative error".into());
        }
        let rows = results
            .iter()
            .map(|r| {
                let mut row = vec![
                    r.estimator.clone(),
                    figure(r.estimate),
                    format!(
                        "[{}, {}]",
                        figure(r.interval.lower),
                        figure(r.interval.upper)
                    ),
                    format!("{:.0} of {}", r.effective_sample_size, r.n_rounds),
                ];
                if let Some((_, t)) = truth {
                    row.push(format!("{:.1}%", 100.0 * ((r.estimate - t) / t).abs()));
                }
                row
            })
            .collect();
        self.push(Section {
            heading: heading.to_string(),
            explanation: format!(
                "{context} Each dot is one estimator's estimate of the policy's value; the whiskers are its {coverage:.0}% \
                 bootstrap interval. Where a dashed red line is drawn it is the value actually observed when the policy ran, \
                 so a good estimator's dot lies close to it and its whiskers cross it. A small effective sample size means a \
                 few rounds with large importance weights dominate the estimate: trust it less."
            ),
            svg: Some(chart.render(CHART_WIDTH, CHART_HEIGHT)),
            table: Some((header, rows)),
        });
    }

    /// Qini curve of a model's uplift ranking against random targeting.
    pub fn add_qini(&mut self, heading: &str, curve: &Curve, qini_coefficient: Option<f64>) {
        let last = (
            curve.x.last().copied().unwrap_or(0.0),
            curve.y.last().copied().unwrap_or(0.0),
        );
        let chart = LineChart::new(
            heading,
            "customers targeted (highest predicted uplift first)",
            "incremental responders (Qini)",
        )
        .with_series(Series::line(
            "model ranking",
            curve
                .x
                .iter()
                .copied()
                .zip(curve.y.iter().copied())
                .collect(),
        ))
        .with_series(
            Series::line("random targeting", vec![(0.0, 0.0), last])
                .dashed()
                .with_color("#777"),
        )
        .including_y(0.0);
        let mut explanation = "The Qini curve counts how many extra responders the offer creates when it goes to the customers \
            the model ranks highest, compared with the control group scaled to the same size. The dashed line is what random \
            targeting would give. The higher the curve above the line, the better the model finds persuadable customers; a curve \
            that ends lower than it peaks means targeting everyone wastes offers on people who would have bought anyway or are put off."
            .to_string();
        if let Some(q) = qini_coefficient {
            let _ = write!(
                explanation,
                " Qini coefficient: {} (1 = perfect ranking, 0 = random).",
                figure(q)
            );
        }
        self.push(Section {
            heading: heading.to_string(),
            explanation,
            svg: Some(chart.render(CHART_WIDTH, CHART_HEIGHT)),
            table: None,
        });
    }

    /// Incremental profit as a function of the budget spent on offers.
    pub fn add_profit_curve(
        &mut self,
        heading: &str,
        budget_and_profit: &[(f64, f64)],
        currency: &str,
    ) {
        let best = budget_and_profit
            .iter()
            .copied()
            .filter(|p| p.1.is_finite())
            .fold(None, |best: Option<(f64, f64)>, p| match best {
                Some(b) if b.1 >= p.1 => Some(b),
                _ => Some(p),
            });
        let chart = LineChart::new(
            heading,
            &format!("budget spent on offers ({currency})"),
            &format!("incremental profit ({currency})"),
        )
        .with_series(Series::line(
            "incremental profit",
            budget_and_profit.to_vec(),
        ))
        .with_reference("break-even", 0.0);
        let mut explanation = "Offers go to customers in order of predicted uplift. For each budget, the curve shows the profit \
            the offers add over not sending them: the extra margin from incremental purchases minus the cost of the offers. \
            It rises while offers go to persuadable customers and falls once the budget reaches customers who do not respond \
            to the offer; the best budget is at the peak."
            .to_string();
        if let Some((budget, profit)) = best {
            let _ = write!(
                explanation,
                " Peak: profit {} {currency} at a budget of {} {currency}.",
                figure(profit),
                figure(budget)
            );
        }
        self.push(Section {
            heading: heading.to_string(),
            explanation,
            svg: Some(chart.render(CHART_WIDTH, CHART_HEIGHT)),
            table: None,
        });
    }

    /// Reliability diagram of predicted probabilities.
    pub fn add_calibration(&mut self, heading: &str, report: &CalibrationReport) {
        let points: Vec<(f64, f64)> = report
            .bins
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| (b.mean_predicted, b.mean_observed))
            .collect();
        let chart = LineChart::new(heading, "predicted probability", "observed frequency")
            .with_series(Series::line("model", points).with_markers())
            .with_series(
                Series::line("perfect calibration", vec![(0.0, 0.0), (1.0, 1.0)])
                    .dashed()
                    .with_color("#777"),
            );
        let rows = report
            .bins
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| {
                vec![
                    format!("{:.2}–{:.2}", b.lower, b.upper),
                    b.count.to_string(),
                    figure(b.mean_predicted),
                    figure(b.mean_observed),
                ]
            })
            .collect();
        self.push(Section {
            heading: heading.to_string(),
            explanation: format!(
                "Predictions are grouped into bins; each dot compares the average prediction in a bin with how often the event \
                 actually happened. Dots on the dashed diagonal mean the probabilities can be taken at face value; dots below it \
                 mean the model is over-confident. Expected calibration error: {} (the average gap, weighted by bin size); \
                 Brier score: {}.",
                figure(report.expected_calibration_error),
                figure(report.brier_score)
            ),
            svg: Some(chart.render(CHART_WIDTH, CHART_HEIGHT)),
            table: Some((
                vec!["bin".into(), "customers".into(), "mean predicted".into(), "observed".into()],
                rows,
            )),
        });
    }

    /// A/B test results: summary table and, per treatment, the effect with fixed and always-valid intervals over time.
    pub fn add_experiment(&mut self, heading: &str, analysis: &ExperimentAnalysis) {
        let coverage = 100.0 * (1.0 - analysis.alpha);
        let mut rows: Vec<Vec<String>> = analysis
            .arms
            .iter()
            .map(|a| {
                vec![
                    a.arm.clone(),
                    a.n.to_string(),
                    figure(a.mean),
                    "".into(),
                    "".into(),
                    "".into(),
                ]
            })
            .collect();
        for c in &analysis.comparisons {
            if let Some(row) = rows.iter_mut().find(|r| r[0] == c.treatment) {
                row[3] = format!(
                    "{} ({:+.1}%)",
                    figure(c.means.difference),
                    100.0 * c.means.relative_difference
                );
                row[4] = format!(
                    "[{}, {}]",
                    figure(c.means.ci_lower),
                    figure(c.means.ci_upper)
                );
                row[5] = format!(
                    "{} (always-valid {})",
                    figure(c.means.p_value),
                    c.sequential
                        .last()
                        .map(|s| figure(s.p_value))
                        .unwrap_or_else(|| "–".into())
                );
            }
        }
        let srm = &analysis.srm;
        let mut explanation = format!(
            "Each row is one arm: customers, mean outcome, and for treatments the difference from control with its {coverage:.0}% \
             interval and p-value. Sample-ratio check: p = {} ({}).",
            figure(srm.p_value),
            if srm.mismatch {
                "MISMATCH: the arms did not receive the planned traffic; fix assignment or logging before trusting any result"
            } else {
                "the traffic split matches the plan"
            }
        );
        for c in &analysis.comparisons {
            if let Some(cuped) = &c.cuped {
                let _ = write!(
                    explanation,
                    " CUPED for {} used the pre-period values to remove {:.0}% of the variance: effect {} [{}, {}].",
                    c.treatment,
                    100.0 * cuped.variance_reduction,
                    figure(cuped.adjusted.difference),
                    figure(cuped.adjusted.ci_lower),
                    figure(cuped.adjusted.ci_upper)
                );
            }
        }
        self.push(Section {
            heading: heading.to_string(),
            explanation,
            svg: None,
            table: Some((
                vec![
                    "arm".into(),
                    "customers".into(),
                    "mean outcome".into(),
                    "difference vs control".into(),
                    format!("{coverage:.0}% interval"),
                    "p-value".into(),
                ],
                rows,
            )),
        });
        for c in &analysis.comparisons {
            self.add_sequential(
                &format!("{}: {} vs {} over time", heading, c.treatment, c.control),
                &c.sequential,
                coverage,
            );
        }
    }

    /// The effect estimate over time with the always-valid confidence sequence and the fixed-horizon interval.
    pub fn add_sequential(&mut self, heading: &str, points: &[SequentialPoint], coverage: f64) {
        let chart = LineChart::new(
            heading,
            "customers in the experiment",
            "difference (treatment − control)",
        )
        .with_band(
            "always-valid interval",
            points
                .iter()
                .map(|p| (p.n as f64, p.ci_lower, p.ci_upper))
                .collect(),
            Some("#0072B2"),
        )
        .with_band(
            "fixed-horizon interval",
            points
                .iter()
                .map(|p| (p.n as f64, p.fixed_ci_lower, p.fixed_ci_upper))
                .collect(),
            Some("#E69F00"),
        )
        .with_series(
            Series::line(
                "estimated difference",
                points.iter().map(|p| (p.n as f64, p.difference)).collect(),
            )
            .with_color("#000000"),
        )
        .with_reference("no effect", 0.0);
        self.push(Section {
            heading: heading.to_string(),
            explanation: format!(
                "The black line is the estimated effect as customers accumulate. The blue band is the always-valid {coverage:.0}% \
                 interval: it stays valid however often you look, so you may stop as soon as it excludes zero. The orange band is \
                 the usual fixed-horizon interval, valid only at the one sample size planned in advance; checking it repeatedly and \
                 stopping when it first excludes zero inflates false positives."
            ),
            svg: Some(chart.render(CHART_WIDTH, CHART_HEIGHT)),
            table: None,
        });
    }

    /// The report as one HTML document (no external resources).
    pub fn to_html(&self) -> String {
        let mut html = String::new();
        let _ = write!(
            html,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>\
             body{{font-family:sans-serif;max-width:860px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}}\
             h1{{font-size:1.6em}}h2{{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}}\
             table{{border-collapse:collapse;margin:1em 0;font-size:0.9em}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
             th{{background:#f4f4f4}}td:first-child,th:first-child{{text-align:left}}svg{{max-width:100%;height:auto}}\
             </style></head><body><h1>{t}</h1><p>{intro}</p>",
            t = escape(&self.title),
            intro = escape(&self.introduction)
        );
        for section in &self.sections {
            let _ = write!(
                html,
                "<section><h2>{}</h2><p>{}</p>",
                escape(&section.heading),
                escape(&section.explanation)
            );
            if let Some(svg) = &section.svg {
                html.push_str(svg);
            }
            if let Some((header, rows)) = &section.table {
                html.push_str("<table><thead><tr>");
                for h in header {
                    let _ = write!(html, "<th>{}</th>", escape(h));
                }
                html.push_str("</tr></thead><tbody>");
                for row in rows {
                    html.push_str("<tr>");
                    for cell in row {
                        let _ = write!(html, "<td>{}</td>", escape(cell));
                    }
                    html.push_str("</tr>");
                }
                html.push_str("</tbody></table>");
            }
            html.push_str("</section>");
        }
        html.push_str("</body></html>\n");
        html
    }

    /// Writes the HTML file.
    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_html()).map_err(|source| EvalError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// A model's uplift scores on an experiment's customers, for the Qini, profit and calibration sections.
#[derive(Debug, Clone, PartialEq)]
pub struct UpliftEvaluation {
    /// 1 if the customer bought (or the revenue, for `revenue`), per customer.
    pub outcome: Vec<f64>,
    /// 1 if the customer received the offer.
    pub treatment: Vec<u8>,
    /// Predicted uplift (difference in purchase probability with and without the offer).
    pub predicted_uplift: Vec<f64>,
    /// Predicted purchase probability under the arm the customer was in (for calibration), if available.
    pub predicted_probability: Option<Vec<f64>>,
    /// Margin earned per incremental purchase.
    pub margin_per_conversion: f64,
    /// Cost of one offer.
    pub cost_per_offer: f64,
    pub currency: String,
}

/// Profit versus budget: targeting the top `k` customers by predicted uplift costs `k · cost_per_offer` and earns
/// `uplift_curve(k) · margin_per_conversion` (the uplift curve's incremental conversions at depth k).
pub fn profit_curve(evaluation: &UpliftEvaluation) -> Result<Vec<(f64, f64)>> {
    let curve = uplift::uplift_curve(
        &evaluation.outcome,
        &evaluation.predicted_uplift,
        &evaluation.treatment,
    )?;
    Ok(curve
        .x
        .iter()
        .zip(&curve.y)
        .map(|(k, incremental)| {
            let budget = k * evaluation.cost_per_offer;
            (
                budget,
                incremental * evaluation.margin_per_conversion - budget,
            )
        })
        .collect())
}

/// Whatever results are available for a standard report.
#[derive(Debug, Clone, Default)]
pub struct StandardReportInputs {
    pub obd: Option<ObdExperimentResult>,
    pub uplift: Option<UpliftEvaluation>,
    pub experiment: Option<ExperimentAnalysis>,
}

/// Builds the standard report from the available parts (each part adds its sections).
pub fn standard_report(title: &str, inputs: &StandardReportInputs) -> Result<Report> {
    let mut report = Report::new(
        title,
        "This report answers two questions: would a new targeting policy have earned more than the current one \
         (estimated from past logs, without running it), and did the offers that were run actually earn more than \
         not running them (from controlled experiments). Every figure comes with its uncertainty.",
    );
    if let Some(obd) = &inputs.obd {
        for direction in &obd.directions {
            let results: Vec<EstimateResult> = direction
                .estimates
                .iter()
                .map(|e| e.result.clone())
                .collect();
            report.add_ope(
                &format!(
                    "Value of the {} policy estimated from the {} policy's log",
                    direction.evaluation.as_str(),
                    direction.behavior.as_str()
                ),
                &format!(
                    "Open Bandit Dataset (campaign {}, {} logged rounds). Reward model: {}, {}-fold cross-fitting.",
                    obd.campaign, direction.n_rounds, obd.reward_model, obd.n_folds
                ),
                &results,
                Some(("observed click rate when it ran", direction.ground_truth)),
            );
        }
    }
    if let Some(evaluation) = &inputs.uplift {
        let binary = evaluation.outcome.iter().all(|y| *y == 0.0 || *y == 1.0);
        let qini = uplift::qini_curve(
            &evaluation.outcome,
            &evaluation.predicted_uplift,
            &evaluation.treatment,
        )?;
        let coefficient = if binary {
            uplift::qini_auc_score(
                &evaluation.outcome,
                &evaluation.predicted_uplift,
                &evaluation.treatment,
                true,
            )
            .ok()
        } else {
            None
        };
        report.add_qini("Who responds to the offer: Qini curve", &qini, coefficient);
        report.add_profit_curve(
            "Profit versus budget",
            &profit_curve(evaluation)?,
            &evaluation.currency,
        );
        if let Some(probability) = &evaluation.predicted_probability {
            let calibration =
                crate::calibration::calibration(probability, &evaluation.outcome, 10)?;
            report.add_calibration(
                "Are the predicted purchase probabilities right? Calibration",
                &calibration,
            );
        }
    }
    if let Some(analysis) = &inputs.experiment {
        report.add_experiment("Experiment", analysis);
    }
    if report.sections.is_empty() {
        return Err(EvalError::Insufficient(
            "nothing to report: no results were given".into(),
        ));
    }
    Ok(report)
}

/// Formats a number the way the report's tables do (exposed for command-line tables).
pub fn format_figure(v: f64) -> String {
    figure(v)
}
