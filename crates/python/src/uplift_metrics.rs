//! Uplift metrics under scikit-uplift's names (`sklift.metrics`, version 0.5). The curves and scores are
//! [`discount_eval::uplift`]'s; this module converts the treatment flags and adds the per-percentile table
//! and its weighted average, defined exactly as scikit-uplift defines them.

use discount_eval::uplift;

use crate::error::{BindingError, Result};

/// Scores with -0.0 made 0.0: NumPy's sort, which scikit-uplift ranks with, treats the two as equal, so they
/// must tie here too (a total order would rank -0.0 below 0.0 and cut ties differently at k).
pub fn numpy_scores(scores: &[f64]) -> Vec<f64> {
    scores.iter().map(|&s| s + 0.0).collect()
}

/// Treatment flags as `u8`, each 0 or 1.
pub fn treatment_flags(treatment: &[i64]) -> Result<Vec<u8>> {
    treatment
        .iter()
        .enumerate()
        .map(|(i, &t)| match t {
            0 => Ok(0),
            1 => Ok(1),
            _ => Err(BindingError::value("treatment", i, t, "must be 0 or 1")),
        })
        .collect()
}

/// How customers are split into bins: by rank over everyone, or by rank within each group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinStrategy {
    /// Bins of the whole ranking; each bin's treated and control customers are compared.
    Overall,
    /// The treated and the control customers are ranked and binned separately; bin `k` of each is compared.
    ByGroup,
}

impl BinStrategy {
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "overall" => Ok(BinStrategy::Overall),
            "by_group" => Ok(BinStrategy::ByGroup),
            _ => Err(BindingError::argument(
                "strategy",
                format!("must be 'overall' or 'by_group', got '{text}'"),
            )),
        }
    }
}

/// scikit-uplift's `uplift_by_percentile` table, one entry per bin, best-ranked bin first.
#[derive(Debug, Clone, PartialEq)]
pub struct PercentileTable {
    pub n_treatment: Vec<usize>,
    pub n_control: Vec<usize>,
    pub response_rate_treatment: Vec<f64>,
    pub response_rate_control: Vec<f64>,
    /// `response_rate_treatment − response_rate_control`.
    pub uplift: Vec<f64>,
}

/// Indices by score descending; ties in reverse index order (NumPy `argsort(kind="mergesort")[::-1]`, which
/// scikit-uplift uses). As in NumPy, -0.0 and 0.0 tie; NaN is refused before.
fn descending_order(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        scores[a]
            .partial_cmp(&scores[b])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    order.reverse();
    order
}

/// Splits `len` items into `bins` consecutive parts as `numpy.array_split` does: the first `len % bins`
/// parts have one item more.
fn array_split_bounds(len: usize, bins: usize) -> Vec<(usize, usize)> {
    let (size, extra) = (len / bins, len % bins);
    let mut start = 0;
    (0..bins)
        .map(|k| {
            let end = start + size + usize::from(k < extra);
            let bounds = (start, end);
            start = end;
            bounds
        })
        .collect()
}

fn mean_of(values: impl Iterator<Item = f64>, what: &str, bin: usize) -> Result<(f64, usize)> {
    let (mut sum, mut count) = (0.0, 0usize);
    for v in values {
        sum += v;
        count += 1;
    }
    if count == 0 {
        return Err(BindingError::argument(
            "bins",
            format!("bin {bin} has no {what} customer, so its response rate is undefined; use fewer bins"),
        ));
    }
    Ok((sum / count as f64, count))
}

fn check(outcome: &[f64], uplift: &[f64], treatment: &[u8], bins: usize) -> Result<()> {
    let n = outcome.len();
    if uplift.len() != n || treatment.len() != n {
        return Err(BindingError::argument(
            "uplift/treatment",
            format!(
                "y_true has {n} values, uplift {}, treatment {}",
                uplift.len(),
                treatment.len()
            ),
        ));
    }
    if let Some(i) = outcome.iter().position(|y| !y.is_finite()) {
        return Err(BindingError::value(
            "y_true",
            i,
            outcome[i],
            "must be finite",
        ));
    }
    if let Some(i) = uplift.iter().position(|u| u.is_nan()) {
        return Err(BindingError::value(
            "uplift",
            i,
            uplift[i],
            "must not be NaN",
        ));
    }
    if bins == 0 || bins >= n {
        return Err(BindingError::argument(
            "bins",
            format!("must be in 1..{n} (fewer than the customers), got {bins}"),
        ));
    }
    Ok(())
}

/// scikit-uplift's `uplift_by_percentile(y_true, uplift, treatment, strategy, bins)`. A bin without treated or
/// control customers is an error (scikit-uplift would report NaN).
pub fn uplift_by_percentile(
    outcome: &[f64],
    uplift: &[f64],
    treatment: &[u8],
    strategy: BinStrategy,
    bins: usize,
) -> Result<PercentileTable> {
    check(outcome, uplift, treatment, bins)?;
    let order = descending_order(uplift);
    let mut table = PercentileTable {
        n_treatment: Vec::with_capacity(bins),
        n_control: Vec::with_capacity(bins),
        response_rate_treatment: Vec::with_capacity(bins),
        response_rate_control: Vec::with_capacity(bins),
        uplift: Vec::with_capacity(bins),
    };
    let mut push = |treated: (f64, usize), control: (f64, usize)| {
        table.n_treatment.push(treated.1);
        table.n_control.push(control.1);
        table.response_rate_treatment.push(treated.0);
        table.response_rate_control.push(control.0);
        table.uplift.push(treated.0 - control.0);
    };
    match strategy {
        BinStrategy::Overall => {
            for (bin, (start, end)) in array_split_bounds(order.len(), bins)
                .into_iter()
                .enumerate()
            {
                let rows = &order[start..end];
                let treated = mean_of(
                    rows.iter()
                        .filter(|&&i| treatment[i] == 1)
                        .map(|&i| outcome[i]),
                    "treated",
                    bin,
                )?;
                let control = mean_of(
                    rows.iter()
                        .filter(|&&i| treatment[i] == 0)
                        .map(|&i| outcome[i]),
                    "control",
                    bin,
                )?;
                push(treated, control);
            }
        }
        BinStrategy::ByGroup => {
            let treated: Vec<usize> = order
                .iter()
                .copied()
                .filter(|&i| treatment[i] == 1)
                .collect();
            let control: Vec<usize> = order
                .iter()
                .copied()
                .filter(|&i| treatment[i] == 0)
                .collect();
            let treated_bins = array_split_bounds(treated.len(), bins);
            let control_bins = array_split_bounds(control.len(), bins);
            for (bin, ((ts, te), (cs, ce))) in
                treated_bins.into_iter().zip(control_bins).enumerate()
            {
                let t = mean_of(treated[ts..te].iter().map(|&i| outcome[i]), "treated", bin)?;
                let c = mean_of(control[cs..ce].iter().map(|&i| outcome[i]), "control", bin)?;
                push(t, c);
            }
        }
    }
    Ok(table)
}

/// scikit-uplift's `weighted_average_uplift`: the bins' uplifts averaged with the treated counts as weights.
pub fn weighted_average_uplift(
    outcome: &[f64],
    uplift: &[f64],
    treatment: &[u8],
    strategy: BinStrategy,
    bins: usize,
) -> Result<f64> {
    let table = uplift_by_percentile(outcome, uplift, treatment, strategy, bins)?;
    let weighted: f64 = table
        .n_treatment
        .iter()
        .zip(&table.uplift)
        .map(|(&n, u)| n as f64 * u)
        .sum();
    let total: usize = table.n_treatment.iter().sum();
    Ok(weighted / total as f64)
}

/// scikit-uplift's `uplift_at_k(y_true, uplift, treatment, strategy, k)`: `k` below 1 is a fraction of the
/// customers, an integer `k` ≥ 1 a count.
pub fn uplift_at_k(
    outcome: &[f64],
    uplift_scores: &[f64],
    treatment: &[u8],
    strategy: BinStrategy,
    k: KArgument,
) -> Result<f64> {
    let strategy = match strategy {
        BinStrategy::Overall => uplift::UpliftAtKStrategy::Overall,
        BinStrategy::ByGroup => uplift::UpliftAtKStrategy::ByGroup,
    };
    let k = match k {
        KArgument::Count(c) => uplift::TopK::Count(c),
        KArgument::Fraction(f) => uplift::TopK::Fraction(f),
    };
    Ok(uplift::uplift_at_k(
        outcome,
        uplift_scores,
        treatment,
        strategy,
        k,
    )?)
}

/// scikit-uplift's `k`: a fraction in (0, 1) or a count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KArgument {
    Count(usize),
    Fraction(f64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_split_matches_numpy() {
        // numpy.array_split(range(10), 3) → sizes 4, 3, 3.
        assert_eq!(array_split_bounds(10, 3), vec![(0, 4), (4, 7), (7, 10)]);
        assert_eq!(
            array_split_bounds(4, 4),
            vec![(0, 1), (1, 2), (2, 3), (3, 4)]
        );
    }

    #[test]
    fn weighted_average_uplift_by_hand() {
        // Ranked: scores 0.9 .. 0.2; two bins of four.
        let uplift = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
        let treatment = [1, 0, 1, 0, 1, 1, 0, 0];
        let outcome = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0];
        let table =
            uplift_by_percentile(&outcome, &uplift, &treatment, BinStrategy::Overall, 2).unwrap();
        // Bin 0: treated {1, 1} → 1.0; control {0, 1} → 0.5. Bin 1: treated {0, 1} → 0.5; control {1, 0} → 0.5.
        assert_eq!(table.n_treatment, vec![2, 2]);
        assert_eq!(table.uplift, vec![0.5, 0.0]);
        let wau = weighted_average_uplift(&outcome, &uplift, &treatment, BinStrategy::Overall, 2)
            .unwrap();
        assert!((wau - 0.25).abs() < 1e-12);
        // By group: treated ranked 0, 2, 4, 5 → bins {1, 1}, {0, 1}; control 1, 3, 6, 7 → {0, 1}, {1, 0}.
        let by_group =
            uplift_by_percentile(&outcome, &uplift, &treatment, BinStrategy::ByGroup, 2).unwrap();
        assert_eq!(by_group.uplift, vec![0.5, 0.0]);
    }

    #[test]
    fn negative_zero_ties_with_zero_as_in_numpy() {
        // NumPy: argsort([0.0, -0.0, 0.0], kind="mergesort")[::-1] == [2, 1, 0].
        assert_eq!(descending_order(&[0.0, -0.0, 0.0]), vec![2, 1, 0]);
        let scores = numpy_scores(&[-0.0, 1.0]);
        assert!(scores[0].is_sign_positive());
    }

    #[test]
    fn empty_bin_and_bad_flags_are_errors() {
        let uplift = [0.9, 0.8, 0.7, 0.6];
        let treatment = [1, 1, 0, 0];
        let outcome = [1.0, 0.0, 1.0, 0.0];
        let err = uplift_by_percentile(&outcome, &uplift, &treatment, BinStrategy::Overall, 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bin 0 has no control"), "{err}");
        let err = treatment_flags(&[0, 1, 2]).unwrap_err().to_string();
        assert!(err.contains("`treatment`, index 2"), "{err}");
        assert!(BinStrategy::parse("top").is_err());
    }
}
