//! Fixed effects absorbed by demeaning: one factor exactly, two factors (series and week) by alternating
//! projections until the means stop moving.

/// Subtracts the group means of every factor from each column, in place, until convergence.
/// Returns the number of parameters absorbed (levels of the factors, less one per extra factor).
pub fn absorb(columns: &mut [Vec<f64>], factors: &[&[usize]], tolerance: f64) -> usize {
    let n = columns.first().map_or(0, Vec::len);
    let levels: Vec<usize> = factors
        .iter()
        .map(|f| f.iter().copied().max().map_or(0, |m| m + 1))
        .collect();
    let counts: Vec<Vec<f64>> = factors
        .iter()
        .zip(&levels)
        .map(|(f, &l)| {
            let mut c = vec![0.0; l];
            for &g in f.iter() {
                c[g] += 1.0;
            }
            c
        })
        .collect();
    let max_passes = if factors.len() <= 1 { 1 } else { 10_000 };
    for column in columns.iter_mut() {
        for _ in 0..max_passes {
            let mut largest_change: f64 = 0.0;
            for (k, factor) in factors.iter().enumerate() {
                let mut sums = vec![0.0; levels[k]];
                for i in 0..n {
                    sums[factor[i]] += column[i];
                }
                for (s, c) in sums.iter_mut().zip(&counts[k]) {
                    if *c > 0.0 {
                        *s /= c;
                    }
                    largest_change = largest_change.max(s.abs());
                }
                for i in 0..n {
                    column[i] -= sums[factor[i]];
                }
            }
            if largest_change < tolerance {
                break;
            }
        }
    }
    let used: usize = counts
        .iter()
        .map(|c| c.iter().filter(|v| **v > 0.0).count())
        .sum();
    used.saturating_sub(factors.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_way_demeaning_removes_additive_effects_exactly() {
        // y = a_series + b_week on an unbalanced panel: after absorbing both, nothing is left.
        let series = [0, 0, 0, 1, 1, 2, 2, 2];
        let weeks = [0, 1, 2, 0, 2, 0, 1, 2];
        let a = [1.0, 5.0, -2.0];
        let b = [0.5, 3.0, -1.0];
        let mut columns = vec![(0..8)
            .map(|i| a[series[i]] + b[weeks[i]])
            .collect::<Vec<f64>>()];
        let absorbed = absorb(&mut columns, &[&series, &weeks], 1e-12);
        assert!(
            columns[0].iter().all(|v| v.abs() < 1e-9),
            "{:?}",
            columns[0]
        );
        assert_eq!(absorbed, 5);
    }
}
