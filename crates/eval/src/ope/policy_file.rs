//! Evaluation policies stored as CSV files.
//!
//! Two layouts, chosen by the header:
//!
//! * `action,position,probability` — the same distribution in every round (a context-free policy);
//! * `round,action,position,probability` — a distribution per round.
//!
//! Actions, positions and rounds are 0-based; pairs that are not listed have probability 0. Each round's
//! probabilities at each position must sum to 1 (within 1e-6).

use std::path::Path;

use super::tensor::RoundTensor;
use crate::csv_file::column;
use crate::error::{EvalError, Result};

/// Reads an action distribution for a log of `n_rounds x n_actions x n_positions`.
pub fn read_action_dist_csv(
    path: &Path,
    n_rounds: usize,
    n_actions: usize,
    n_positions: usize,
) -> Result<RoundTensor> {
    let (mut reader, headers) = crate::csv_file::open_with_headers(path)?;
    let action_col = column(&headers, path, "action")?;
    let position_col = column(&headers, path, "position")?;
    let probability_col = column(&headers, path, "probability")?;
    let round_col = headers.iter().position(|h| h == "round");
    let table_len = n_actions * n_positions;
    let mut values = vec![
        0.0;
        if round_col.is_some() {
            n_rounds * table_len
        } else {
            table_len
        }
    ];
    for record in crate::csv_file::records(&mut reader, path) {
        let record = record?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let bad = |field: &str, message: String| EvalError::BadValue {
            path: path.to_path_buf(),
            line,
            field: field.to_string(),
            value: record
                .get(headers.iter().position(|h| h == field).unwrap_or(0))
                .unwrap_or("")
                .to_string(),
            message,
        };
        let index = |col: usize, field: &str, limit: usize| -> Result<usize> {
            let value: usize = record
                .get(col)
                .unwrap_or("")
                .parse()
                .map_err(|_| bad(field, "expected a non-negative integer".into()))?;
            if value >= limit {
                return Err(bad(field, format!("must be below {limit}")));
            }
            Ok(value)
        };
        let action = index(action_col, "action", n_actions)?;
        let position = index(position_col, "position", n_positions)?;
        let round = match round_col {
            Some(col) => index(col, "round", n_rounds)?,
            None => 0,
        };
        let probability: f64 = record
            .get(probability_col)
            .unwrap_or("")
            .parse()
            .map_err(|_| bad("probability", "expected a number".into()))?;
        if !(0.0..=1.0).contains(&probability) {
            return Err(bad("probability", "must be in [0, 1]".into()));
        }
        values[round * table_len + action * n_positions + position] = probability;
    }
    let tensor = if round_col.is_some() {
        RoundTensor::per_round(n_rounds, n_actions, n_positions, values)?
    } else {
        RoundTensor::shared(n_rounds, n_actions, n_positions, values)?
    };
    tensor
        .validate_distribution(1e-6)
        .map_err(|e| EvalError::BadValue {
            path: path.to_path_buf(),
            line: 0,
            field: "probability".into(),
            value: String::new(),
            message: e.to_string(),
        })?;
    Ok(tensor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_shared_and_rejects_bad_sums() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good.csv");
        std::fs::write(&good, "action,position,probability\n0,0,0.25\n1,0,0.75\n").expect("write");
        let tensor = read_action_dist_csv(&good, 5, 2, 1).expect("read");
        assert_eq!(tensor.get(4, 1, 0), 0.75);
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "action,position,probability\n0,0,0.25\n1,0,0.5\n").expect("write");
        let error = read_action_dist_csv(&bad, 5, 2, 1).expect_err("sums to 0.75");
        assert!(error.to_string().contains("bad.csv"), "{error}");
        let out_of_range = dir.path().join("range.csv");
        std::fs::write(&out_of_range, "action,position,probability\n3,0,1\n").expect("write");
        let error = read_action_dist_csv(&out_of_range, 5, 2, 1).expect_err("action 3");
        assert!(error.to_string().contains("line 2"), "{error}");
    }
}
