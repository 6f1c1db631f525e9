//! Uplift metrics, defined as in scikit-uplift (`sklift.metrics`, version 0.5).
//!
//! Customers are sorted by predicted uplift, highest first. At each distinct score threshold, with n_t and n_c
//! the treated and control customers ranked so far and Y_t, Y_c the sums of their outcomes:
//!
//! * uplift curve: (Y_t / n_t − Y_c / n_c) · (n_t + n_c) — the incremental outcome if the top customers had
//!   been treated (a ratio is 0 when its group is empty);
//! * Qini curve: Y_t − Y_c · n_t / n_c — the incremental outcome scaled to the treated group.
//!
//! Both start at (0, 0). Areas are trapezoidal (`sklearn.metrics.auc`). The scores subtract the area under the
//! straight line from the origin to the curve's last point (random targeting) and divide by the same quantity for
//! the perfect ranking:
//!
//! * [`uplift_auc_score`] = (AUUC − AUUC_random) / (AUUC_perfect − AUUC_random) (binary outcomes);
//! * [`qini_auc_score`] = the same with Qini curves (the Qini coefficient); with `negative_effect = true` the
//!   perfect ranking puts treated responders first and control responders last; with `false` it assumes no
//!   customer is hurt by treatment.
//! * [`uplift_at_k`]: mean outcome of treated minus mean outcome of control among the top `k` customers
//!   (`overall`), or among the top `k` of each group separately (`by_group`).
//!
//! For revenue (continuous outcomes) the curves are defined by the same formulas; the perfect curve is not,
//! so [`auuc_gain`] reports the area between the uplift curve and random targeting per customer squared.

use crate::error::{EvalError, Result};

/// A curve as x (customers targeted) and y values.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Curve {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

fn check_inputs(outcome: &[f64], uplift: &[f64], treatment: &[u8], binary: bool) -> Result<()> {
    let n = outcome.len();
    if n == 0 {
        return Err(EvalError::Insufficient("no customers to score".into()));
    }
    if uplift.len() != n {
        return Err(EvalError::shape("uplift scores", n, uplift.len()));
    }
    if treatment.len() != n {
        return Err(EvalError::shape("treatment flags", n, treatment.len()));
    }
    if let Some(i) = treatment.iter().position(|t| *t > 1) {
        return Err(EvalError::invalid(
            "treatment",
            i,
            treatment[i] as f64,
            "must be 0 or 1",
        ));
    }
    if let Some(i) = uplift.iter().position(|u| u.is_nan()) {
        return Err(EvalError::invalid(
            "uplift",
            i,
            uplift[i],
            "must not be NaN",
        ));
    }
    if binary {
        if let Some(i) = outcome.iter().position(|y| *y != 0.0 && *y != 1.0) {
            return Err(EvalError::invalid(
                "outcome",
                i,
                outcome[i],
                "must be 0 or 1 for this metric",
            ));
        }
    } else if let Some(i) = outcome.iter().position(|y| !y.is_finite()) {
        return Err(EvalError::invalid(
            "outcome",
            i,
            outcome[i],
            "must be finite",
        ));
    }
    Ok(())
}

/// Indices by score descending; ties in reverse index order (NumPy `argsort(kind="mergesort")[::-1]`).
fn descending_order(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    order.reverse();
    order
}

/// Cumulative counts at each distinct threshold: (n_all, n_t, y_t, y_c).
fn cumulative_at_thresholds(
    outcome: &[f64],
    uplift: &[f64],
    treatment: &[u8],
) -> Vec<(f64, f64, f64, f64)> {
    let order = descending_order(uplift);
    let mut points = Vec::new();
    let (mut n_t, mut y_t, mut y_c) = (0.0, 0.0, 0.0);
    for (rank, &i) in order.iter().enumerate() {
        if treatment[i] == 1 {
            n_t += 1.0;
            y_t += outcome[i];
        } else {
            y_c += outcome[i];
        }
        let is_last_of_tie = rank + 1 == order.len() || uplift[order[rank + 1]] != uplift[i];
        if is_last_of_tie {
            points.push(((rank + 1) as f64, n_t, y_t, y_c));
        }
    }
    points
}

fn start_at_origin(mut x: Vec<f64>, mut y: Vec<f64>) -> Curve {
    if x.is_empty() || x[0] != 0.0 || y[0] != 0.0 {
        x.insert(0, 0.0);
        y.insert(0, 0.0);
    }
    Curve { x, y }
}

fn uplift_curve_unchecked(outcome: &[f64], uplift: &[f64], treatment: &[u8]) -> Curve {
    let points = cumulative_at_thresholds(outcome, uplift, treatment);
    let x: Vec<f64> = points.iter().map(|p| p.0).collect();
    let y = points
        .iter()
        .map(|&(n_all, n_t, y_t, y_c)| {
            let n_c = n_all - n_t;
            let rate_t = if n_t != 0.0 { y_t / n_t } else { 0.0 };
            let rate_c = if n_c != 0.0 { y_c / n_c } else { 0.0 };
            (rate_t - rate_c) * n_all
        })
        .collect();
    start_at_origin(x, y)
}

fn qini_curve_unchecked(outcome: &[f64], uplift: &[f64], treatment: &[u8]) -> Curve {
    let points = cumulative_at_thresholds(outcome, uplift, treatment);
    let x: Vec<f64> = points.iter().map(|p| p.0).collect();
    let y = points
        .iter()
        .map(|&(n_all, n_t, y_t, y_c)| {
            let n_c = n_all - n_t;
            y_t - y_c * if n_c != 0.0 { n_t / n_c } else { 0.0 }
        })
        .collect();
    start_at_origin(x, y)
}

/// Uplift curve (`sklift.metrics.uplift_curve`); outcomes may be binary or continuous.
pub fn uplift_curve(outcome: &[f64], uplift: &[f64], treatment: &[u8]) -> Result<Curve> {
    check_inputs(outcome, uplift, treatment, false)?;
    Ok(uplift_curve_unchecked(outcome, uplift, treatment))
}

/// Qini curve (`sklift.metrics.qini_curve`); outcomes may be binary or continuous.
pub fn qini_curve(outcome: &[f64], uplift: &[f64], treatment: &[u8]) -> Result<Curve> {
    check_inputs(outcome, uplift, treatment, false)?;
    Ok(qini_curve_unchecked(outcome, uplift, treatment))
}

/// The uplift curve of the best possible ranking for binary outcomes (`sklift.metrics.perfect_uplift_curve`).
pub fn perfect_uplift_curve(outcome: &[f64], treatment: &[u8]) -> Result<Curve> {
    let zeros = vec![0.0; outcome.len()];
    check_inputs(outcome, &zeros, treatment, true)?;
    let control_responders = outcome
        .iter()
        .zip(treatment)
        .filter(|(y, t)| **y == 1.0 && **t == 0)
        .count();
    let treated_non_responders = outcome
        .iter()
        .zip(treatment)
        .filter(|(y, t)| **y == 0.0 && **t == 1)
        .count();
    let perfect: Vec<f64> = outcome
        .iter()
        .zip(treatment)
        .map(|(y, t)| {
            let agrees = if (*y == 1.0) == (*t == 1) { 2.0 } else { 0.0 };
            let summand = if control_responders > treated_non_responders {
                *y
            } else {
                *t as f64
            };
            agrees + summand
        })
        .collect();
    Ok(uplift_curve_unchecked(outcome, &perfect, treatment))
}

/// The Qini curve of the best possible ranking for binary outcomes (`sklift.metrics.perfect_qini_curve`).
pub fn perfect_qini_curve(
    outcome: &[f64],
    treatment: &[u8],
    negative_effect: bool,
) -> Result<Curve> {
    let zeros = vec![0.0; outcome.len()];
    check_inputs(outcome, &zeros, treatment, true)?;
    if negative_effect {
        let perfect: Vec<f64> = outcome
            .iter()
            .zip(treatment)
            .map(|(y, t)| if *t == 1 { *y } else { -*y })
            .collect();
        Ok(qini_curve_unchecked(outcome, &perfect, treatment))
    } else {
        let n_t = treatment.iter().filter(|t| **t == 1).count() as f64;
        let n_c = treatment.len() as f64 - n_t;
        let y_t: f64 = outcome
            .iter()
            .zip(treatment)
            .filter(|(_, t)| **t == 1)
            .map(|(y, _)| y)
            .sum();
        let y_c: f64 = outcome
            .iter()
            .zip(treatment)
            .filter(|(_, t)| **t == 0)
            .map(|(y, _)| y)
            .sum();
        let ratio_random = y_t - n_t * y_c / n_c;
        Ok(Curve {
            x: vec![0.0, ratio_random, outcome.len() as f64],
            y: vec![0.0, ratio_random, ratio_random],
        })
    }
}

/// Trapezoidal area under a curve (`sklearn.metrics.auc`; x must be monotonic).
pub fn auc(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2)
        .zip(y.windows(2))
        .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
        .sum()
}

fn normalised_area(actual: &Curve, perfect: &Curve) -> Result<f64> {
    let last_x = perfect.x.last().copied().unwrap_or(0.0);
    let last_y = perfect.y.last().copied().unwrap_or(0.0);
    let baseline = auc(&[0.0, last_x], &[0.0, last_y]);
    let perfect_gain = auc(&perfect.x, &perfect.y) - baseline;
    if perfect_gain == 0.0 {
        return Err(EvalError::Insufficient(
            "the perfect ranking is no better than random (e.g. no responders); the score is undefined".into(),
        ));
    }
    Ok((auc(&actual.x, &actual.y) - baseline) / perfect_gain)
}

/// Normalised area under the uplift curve (`sklift.metrics.uplift_auc_score`), binary outcomes.
pub fn uplift_auc_score(outcome: &[f64], uplift: &[f64], treatment: &[u8]) -> Result<f64> {
    check_inputs(outcome, uplift, treatment, true)?;
    let actual = uplift_curve_unchecked(outcome, uplift, treatment);
    normalised_area(&actual, &perfect_uplift_curve(outcome, treatment)?)
}

/// Qini coefficient, the normalised area under the Qini curve (`sklift.metrics.qini_auc_score`), binary outcomes.
pub fn qini_auc_score(
    outcome: &[f64],
    uplift: &[f64],
    treatment: &[u8],
    negative_effect: bool,
) -> Result<f64> {
    check_inputs(outcome, uplift, treatment, true)?;
    let actual = qini_curve_unchecked(outcome, uplift, treatment);
    normalised_area(
        &actual,
        &perfect_qini_curve(outcome, treatment, negative_effect)?,
    )
}

/// Area between the uplift curve and random targeting, divided by n² — the average, over all targeting depths,
/// of the extra outcome per customer that the ranking earns over random targeting. Works for revenue.
pub fn auuc_gain(outcome: &[f64], uplift: &[f64], treatment: &[u8]) -> Result<f64> {
    check_inputs(outcome, uplift, treatment, false)?;
    let curve = uplift_curve_unchecked(outcome, uplift, treatment);
    let n = outcome.len() as f64;
    let last_y = curve.y.last().copied().unwrap_or(0.0);
    Ok((auc(&curve.x, &curve.y) - auc(&[0.0, n], &[0.0, last_y])) / (n * n))
}

/// How `uplift_at_k` counts the top customers.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpliftAtKStrategy {
    /// Top `k` of all customers, then compare treated and control among them.
    Overall,
    /// Top `k` of the treated and top `k` of the control separately.
    ByGroup,
}

/// `k` as a count or as a fraction in (0, 1).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TopK {
    Count(usize),
    Fraction(f64),
}

/// `sklift.metrics.uplift_at_k`: mean outcome of treated minus control among the top `k` by predicted uplift.
pub fn uplift_at_k(
    outcome: &[f64],
    uplift: &[f64],
    treatment: &[u8],
    strategy: UpliftAtKStrategy,
    k: TopK,
) -> Result<f64> {
    check_inputs(outcome, uplift, treatment, false)?;
    let n = outcome.len();
    match k {
        TopK::Count(c) if c == 0 || c >= n => {
            return Err(EvalError::setting(
                "k",
                format!("a count must be in 1..{n}, got {c}"),
            ))
        }
        TopK::Fraction(f) if !(f > 0.0 && f < 1.0) => {
            return Err(EvalError::setting(
                "k",
                format!("a fraction must be in (0, 1), got {f}"),
            ))
        }
        _ => {}
    }
    let order = descending_order(uplift);
    let mean_of = |rows: &mut dyn Iterator<Item = usize>| -> Result<f64> {
        let (mut sum, mut count) = (0.0, 0usize);
        for i in rows {
            sum += outcome[i];
            count += 1;
        }
        if count == 0 {
            return Err(EvalError::Insufficient(
                "uplift@k: one group has no customer among the top k".into(),
            ));
        }
        Ok(sum / count as f64)
    };
    match strategy {
        UpliftAtKStrategy::Overall => {
            let size = match k {
                TopK::Count(c) => c,
                TopK::Fraction(f) => (n as f64 * f) as usize,
            };
            let top = &order[..size.min(n)];
            let treated = mean_of(&mut top.iter().copied().filter(|&i| treatment[i] == 1))?;
            let control = mean_of(&mut top.iter().copied().filter(|&i| treatment[i] == 0))?;
            Ok(treated - control)
        }
        UpliftAtKStrategy::ByGroup => {
            let n_t = treatment.iter().filter(|t| **t == 1).count();
            let n_c = n - n_t;
            let (k_t, k_c) = match k {
                TopK::Count(c) => (c, c),
                TopK::Fraction(f) => ((n_t as f64 * f) as usize, (n_c as f64 * f) as usize),
            };
            if k_t > n_t || k_c > n_c {
                return Err(EvalError::setting(
                    "k",
                    "larger than the treated or control group",
                ));
            }
            let treated = mean_of(
                &mut order
                    .iter()
                    .copied()
                    .filter(|&i| treatment[i] == 1)
                    .take(k_t),
            )?;
            let control = mean_of(
                &mut order
                    .iter()
                    .copied()
                    .filter(|&i| treatment[i] == 0)
                    .take(k_c),
            )?;
            Ok(treated - control)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Six customers, scores all distinct. Sorted by score: ids 0..5 in order.
    // treatment: 1 0 1 0 1 0 ; outcome: 1 0 1 1 0 0
    const Y: [f64; 6] = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
    const T: [u8; 6] = [1, 0, 1, 0, 1, 0];
    const S: [f64; 6] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];

    #[test]
    fn qini_curve_by_hand() {
        let c = qini_curve(&Y, &S, &T).unwrap();
        // k=1: y_t=1, n_t=1, n_c=0 -> 1. k=2: 1 - 0*1/1 = 1. k=3: 2 - 0 = 2. k=4: 2 - 1*2/2 = 1.
        // k=5: 2 - 1*3/2 = 0.5. k=6: 2 - 1*3/3 = 1.
        assert_eq!(c.x, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(c.y, vec![0.0, 1.0, 1.0, 2.0, 1.0, 0.5, 1.0]);
    }

    #[test]
    fn uplift_curve_by_hand() {
        let c = uplift_curve(&Y, &S, &T).unwrap();
        // k=4: (2/2 - 1/2)*4 = 2. k=6: (2/3 - 1/3)*6 = 2.
        assert!((c.y[4] - 2.0).abs() < 1e-15);
        assert!((c.y[6] - 2.0).abs() < 1e-15);
        // k=1: only a treated responder: (1 - 0)*1 = 1.
        assert!((c.y[1] - 1.0).abs() < 1e-15);
    }

    #[test]
    fn ties_collapse_to_one_threshold() {
        let scores = [0.5, 0.5, 0.1, 0.1];
        let c = qini_curve(&[1.0, 0.0, 1.0, 0.0], &scores, &[1, 0, 0, 1]).unwrap();
        assert_eq!(c.x, vec![0.0, 2.0, 4.0]);
    }

    #[test]
    fn trapezoid_area() {
        assert!((auc(&[0.0, 1.0, 2.0], &[0.0, 1.0, 1.0]) - 1.5).abs() < 1e-15);
    }

    #[test]
    fn uplift_at_k_overall_by_hand() {
        // top 4: ids 0..3 -> treated {0,2}: mean 1; control {1,3}: mean 0.5 -> 0.5.
        let v = uplift_at_k(&Y, &S, &T, UpliftAtKStrategy::Overall, TopK::Count(4)).unwrap();
        assert!((v - 0.5).abs() < 1e-15);
        // by group, k = 0.5 -> int(3*0.5) = 1 of each: treated id 0 (1), control id 1 (0) -> 1.
        let v = uplift_at_k(&Y, &S, &T, UpliftAtKStrategy::ByGroup, TopK::Fraction(0.5)).unwrap();
        assert!((v - 1.0).abs() < 1e-15);
    }

    #[test]
    fn perfect_ranking_scores_one() {
        let perfect: Vec<f64> = Y
            .iter()
            .zip(&T)
            .map(|(y, t)| if *t == 1 { *y } else { -*y })
            .collect();
        let q = qini_auc_score(&Y, &perfect, &T, true).unwrap();
        assert!((q - 1.0).abs() < 1e-12);
    }
}
