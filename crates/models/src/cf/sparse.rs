//! Ratings grouped by row (user or item) in compressed sparse row form.

use super::data::Rating;

/// Row `r` holds `columns[offsets[r]..offsets[r + 1]]` with their `values`.
#[derive(Debug, Clone)]
pub struct Csr {
    pub offsets: Vec<usize>,
    pub columns: Vec<u32>,
    pub values: Vec<f32>,
}

impl Csr {
    /// Group ratings by user (`by_item = false`) or by item.
    pub fn from_ratings(rows: usize, ratings: &[Rating], by_item: bool) -> Self {
        let row_of = |r: &Rating| if by_item { r.item } else { r.user } as usize;
        let column_of = |r: &Rating| if by_item { r.user } else { r.item };
        let mut offsets = vec![0; rows + 1];
        for r in ratings {
            offsets[row_of(r) + 1] += 1;
        }
        for k in 0..rows {
            offsets[k + 1] += offsets[k];
        }
        let mut next = offsets.clone();
        let mut columns = vec![0; ratings.len()];
        let mut values = vec![0.0; ratings.len()];
        for r in ratings {
            let slot = &mut next[row_of(r)];
            columns[*slot] = column_of(r);
            values[*slot] = r.value;
            *slot += 1;
        }
        Self {
            offsets,
            columns,
            values,
        }
    }

    pub fn rows(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let range = self.offsets[r]..self.offsets[r + 1];
        (&self.columns[range.clone()], &self.values[range])
    }
}

/// Dot product of two equal-length slices.
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
