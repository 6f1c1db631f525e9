//! Seeded k-fold assignment, written to and read from a CSV (`row,fold`) so other tools can use the same
//! folds, and test splits read from a CSV (`row`) of the test rows. Row numbers are 0-based data rows of the
//! source file (the header is not a row).

use std::path::Path;

use crate::ModelError;

/// Fold of each of `n` rows: a seeded shuffle dealt round-robin into `k` folds
/// ([`discount_eval::folds::kfold_assignment`], the one assignment every learner uses).
pub fn kfold_assignment(n: usize, k: usize, seed: u64) -> Result<Vec<usize>, ModelError> {
    discount_eval::folds::kfold_assignment(n, k, seed).ok_or_else(|| ModelError::InvalidHyper {
        name: "folds",
        value: k.to_string(),
        reason: format!("must be between 2 and the number of rows ({n})"),
    })
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

/// A CSV file of row numbers, read line by line so every error names its line.
struct RowFile {
    path: String,
    /// (line number, fields) of each data line.
    lines: Vec<(u64, Vec<String>)>,
    rows: usize,
}

impl RowFile {
    /// Reads `path`, whose first line must be exactly `header`; `rows` is the number of data rows the
    /// row numbers refer to.
    fn read(path: &Path, header: &[&str], rows: usize) -> Result<Self, ModelError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: shown.clone(),
            source,
        })?;
        let fields = |line: &str| -> Vec<String> {
            line.trim_start_matches('\u{feff}')
                .split(',')
                .map(|f| f.trim().to_string())
                .collect()
        };
        let mut lines = text.lines();
        let found = lines.next().map(fields).unwrap_or_default();
        if found != header {
            return Err(ModelError::Input {
                path: shown,
                line: 1,
                message: format!(
                    "expected the header `{}`, found {:?}",
                    header.join(","),
                    text.lines().next().unwrap_or("")
                ),
            });
        }
        let mut data = Vec::new();
        for (index, line) in lines.enumerate() {
            let line_no = index as u64 + 2;
            let values = fields(line);
            if values.len() != header.len() || values.iter().any(String::is_empty) {
                return Err(ModelError::Input {
                    path: shown,
                    line: line_no,
                    message: format!("expected `{}`, found {line:?}", header.join(",")),
                });
            }
            data.push((line_no, values));
        }
        Ok(RowFile {
            path: shown,
            lines: data,
            rows,
        })
    }

    fn error(&self, line: u64, message: String) -> ModelError {
        ModelError::Input {
            path: self.path.clone(),
            line,
            message,
        }
    }

    fn number(&self, line: u64, field: &str, text: &str) -> Result<usize, ModelError> {
        text.parse().map_err(|_| {
            self.error(
                line,
                format!("{field} {text:?} is not a non-negative integer"),
            )
        })
    }

    /// The data row of each line, checked against the data and for duplicates.
    fn data_rows(&self) -> Result<Vec<usize>, ModelError> {
        let mut first_seen: Vec<Option<u64>> = vec![None; self.rows];
        let mut rows = Vec::with_capacity(self.lines.len());
        for (line, values) in &self.lines {
            let row = self.number(*line, "row", &values[0])?;
            let seen = first_seen.get_mut(row).ok_or_else(|| {
                self.error(
                    *line,
                    format!(
                        "row {row} is out of range: the data has {} rows, numbered 0 to {}",
                        self.rows,
                        self.rows.saturating_sub(1)
                    ),
                )
            })?;
            if let Some(first) = seen {
                return Err(self.error(
                    *line,
                    format!("row {row} is listed twice (first at line {first})"),
                ));
            }
            *seen = Some(*line);
            rows.push(row);
        }
        Ok(rows)
    }

    /// Line number to blame for what is missing from the whole file: its last line.
    fn last_line(&self) -> u64 {
        self.lines.last().map_or(1, |(line, _)| *line)
    }
}

/// Reads a `row,fold` file (as [`write_assignment`] writes, rows in any order) for `rows` data rows: every
/// row exactly once, folds numbered 0..k without gaps, k at least 2.
pub fn read_folds(path: &Path, rows: usize) -> Result<Vec<usize>, ModelError> {
    let file = RowFile::read(path, &["row", "fold"], rows)?;
    let data_rows = file.data_rows()?;
    let mut folds = vec![usize::MAX; rows];
    // Where each fold first appears, to point at the line that skips a fold number.
    let mut fold_lines: Vec<Option<u64>> = Vec::new();
    for ((line, values), row) in file.lines.iter().zip(&data_rows) {
        let fold = file.number(*line, "fold", &values[1])?;
        if fold >= rows {
            return Err(file.error(
                *line,
                format!("fold {fold} is larger than the number of rows ({rows})"),
            ));
        }
        if fold >= fold_lines.len() {
            fold_lines.resize(fold + 1, None);
        }
        fold_lines[fold].get_or_insert(*line);
        folds[*row] = fold;
    }
    if let Some(row) = folds.iter().position(|f| *f == usize::MAX) {
        let missing = folds.iter().filter(|f| **f == usize::MAX).count();
        return Err(file.error(
            file.last_line(),
            format!(
                "{missing} of the {rows} data rows have no fold (the first is row {row}); list every row"
            ),
        ));
    }
    if let Some(gap) = fold_lines.iter().position(Option::is_none) {
        let last = fold_lines.len() - 1;
        return Err(file.error(
            fold_lines[last].unwrap_or(1),
            format!("fold {last} is used but fold {gap} has no rows; number folds 0 to k-1"),
        ));
    }
    if fold_lines.len() < 2 {
        return Err(file.error(
            file.last_line(),
            "every row is in fold 0; cross-validation needs at least 2 folds".into(),
        ));
    }
    Ok(folds)
}

/// Reads a `row` file listing the test rows of `rows` data rows: `true` for a listed (test) row. The
/// list may not be empty, nor hold every row (nothing would be left to train on).
pub fn read_split(path: &Path, rows: usize) -> Result<Vec<bool>, ModelError> {
    let file = RowFile::read(path, &["row"], rows)?;
    let mut test = vec![false; rows];
    for row in file.data_rows()? {
        test[row] = true;
    }
    let listed = file.lines.len();
    if listed == 0 {
        return Err(file.error(1, "no test rows are listed".into()));
    }
    if listed == rows {
        return Err(file.error(
            file.last_line(),
            format!("all {rows} rows are listed as test rows; none is left to train on"),
        ));
    }
    Ok(test)
}

/// A test/train split as two folds: the test rows are fold 0, the training rows fold 1.
pub fn split_as_folds(test: &[bool]) -> Vec<usize> {
    test.iter().map(|t| usize::from(!*t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_round_trip_through_their_file() {
        // Balance and seeding are tested with the assignment itself (discount_eval::folds).
        let a = kfold_assignment(103, 5, 7).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("folds.csv");
        write_assignment(&path, &a, "fold").unwrap();
        assert_eq!(read_folds(&path, 103).unwrap(), a);
        assert!(kfold_assignment(3, 5, 1).is_err());
    }

    fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let path = dir.path().join("rows.csv");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The error message for `text` read as folds (or a split) of `rows` rows, which must name the line.
    fn error(text: &str, rows: usize, split: bool) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, text);
        let message = if split {
            read_split(&path, rows).map(|_| ()).unwrap_err().to_string()
        } else {
            read_folds(&path, rows).map(|_| ()).unwrap_err().to_string()
        };
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        message
    }

    #[test]
    fn folds_in_any_order_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "row,fold\r\n2,1\r\n0,0\r\n1,1\r\n3,0\r\n");
        assert_eq!(read_folds(&path, 4).unwrap(), vec![0, 1, 1, 0]);
    }

    #[test]
    fn bad_fold_files_say_what_and_where() {
        let m = error("row,fold\n0,0\n4,1\n", 4, false);
        assert!(m.contains(":3:") && m.contains("out of range"), "{m}");
        let m = error("row,fold\n0,0\n1,1\n0,1\n2,0\n", 3, false);
        assert!(
            m.contains(":4:") && m.contains("listed twice (first at line 2)"),
            "{m}"
        );
        let m = error("row,fold\n0,0\n1,2\n2,2\n", 3, false);
        assert!(m.contains(":3:") && m.contains("fold 1 has no rows"), "{m}");
        let m = error("row,fold\n0,0\n1,1\n", 3, false);
        assert!(m.contains("have no fold (the first is row 2)"), "{m}");
        let m = error("row;fold\n0;0\n", 1, false);
        assert!(m.contains(":1:") && m.contains("header"), "{m}");
        let m = error("row,fold\n0,0\n1,x\n", 2, false);
        assert!(m.contains(":3:") && m.contains("\"x\""), "{m}");
        let m = error("row,fold\n0,0\n1\n", 2, false);
        assert!(m.contains(":3:"), "{m}");
        let m = error("row,fold\n0,0\n1,0\n", 2, false);
        assert!(m.contains("at least 2 folds"), "{m}");
        assert!(error("", 2, false).contains(":1:"));
    }

    #[test]
    fn splits_list_test_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "row\n3\n1\n");
        let test = read_split(&path, 5).unwrap();
        assert_eq!(test, vec![false, true, false, true, false]);
        assert_eq!(split_as_folds(&test), vec![1, 0, 1, 0, 1]);
        let m = error("row\n1\n5\n", 5, true);
        assert!(m.contains(":3:") && m.contains("out of range"), "{m}");
        let m = error("row\n1\n1\n", 5, true);
        assert!(m.contains(":3:") && m.contains("twice"), "{m}");
        let m = error("row,fold\n1\n", 5, true);
        assert!(m.contains(":1:") && m.contains("`row`"), "{m}");
        assert!(error("row\n", 5, true).contains("no test rows"));
        assert!(error("row\n0\n1\n", 2, true).contains("none is left to train on"));
    }
}
