//! Seeded k-fold assignment, written to and read from a CSV (`row,fold`) so other tools can use the same folds.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::ModelError;

/// Fold of each of `n` rows: a seeded shuffle, then positions dealt round-robin into `k` folds.
pub fn kfold_assignment(n: usize, k: usize, seed: u64) -> Result<Vec<usize>, ModelError> {
    if k < 2 || k > n {
        return Err(ModelError::InvalidHyper {
            name: "folds",
            value: k.to_string(),
            reason: format!("must be between 2 and the number of rows ({n})"),
        });
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let mut folds = vec![0; n];
    for (position, &row) in order.iter().enumerate() {
        folds[row] = position % k;
    }
    Ok(folds)
}

/// Writes `row,fold` lines (0-based data rows, header included).
pub fn write_assignment(path: &Path, folds: &[usize], column: &str) -> Result<(), ModelError> {
    let io = |source| ModelError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut text = format!("row,{column}\n");
    for (row, fold) in folds.iter().enumerate() {
        text.push_str(&format!("{row},{fold}\n"));
    }
    std::fs::write(path, text).map_err(io)
}

/// Reads a file written by [`write_assignment`].
pub fn read_assignment(path: &Path) -> Result<Vec<usize>, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut folds = Vec::new();
    for (line_no, line) in text.lines().enumerate().skip(1) {
        let bad = |message: String| ModelError::Input {
            path: path.display().to_string(),
            line: line_no as u64 + 1,
            message,
        };
        let (row, fold) = line
            .split_once(',')
            .ok_or_else(|| bad(format!("expected `row,fold`, got {line:?}")))?;
        let row: usize = row
            .trim()
            .parse()
            .map_err(|_| bad(format!("row {row:?} is not a non-negative integer")))?;
        if row != folds.len() {
            return Err(bad(format!(
                "rows must be listed in order; expected {}",
                folds.len()
            )));
        }
        folds.push(
            fold.trim()
                .parse()
                .map_err(|_| bad(format!("fold {fold:?} is not a non-negative integer")))?,
        );
    }
    Ok(folds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_balanced_seeded_and_round_trip() {
        let a = kfold_assignment(103, 5, 7).unwrap();
        assert_eq!(a, kfold_assignment(103, 5, 7).unwrap());
        assert_ne!(a, kfold_assignment(103, 5, 8).unwrap());
        for f in 0..5 {
            let size = a.iter().filter(|x| **x == f).count();
            assert!(size == 20 || size == 21);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("folds.csv");
        write_assignment(&path, &a, "fold").unwrap();
        assert_eq!(read_assignment(&path).unwrap(), a);
        assert!(kfold_assignment(3, 5, 1).is_err());
    }
}
