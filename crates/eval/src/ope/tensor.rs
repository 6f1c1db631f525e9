//! Values indexed by (round, action, position): an evaluation policy's action distribution, or a reward
//! model's predictions. Same index order as Open Bandit Pipeline's `action_dist`
//! (`n_rounds x n_actions x n_positions`).

use crate::error::{EvalError, Result};

/// How rounds map to stored tables of `n_actions x n_positions` values.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TensorLayout {
    /// One table per round (a contextual policy or model).
    PerRound,
    /// One table for every round (a context-free policy such as uniform random or BTS).
    Shared,
    /// Round `i` uses table `group[i]` (cross-fitted context-free models: one table per fold).
    Grouped(Vec<u32>),
}

/// A `n_rounds x n_actions x n_positions` array that stores only the distinct tables it needs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RoundTensor {
    n_rounds: usize,
    n_actions: usize,
    n_positions: usize,
    layout: TensorLayout,
    /// Tables one after another, each in `[action][position]` order.
    values: Vec<f64>,
}

impl RoundTensor {
    /// A full tensor in row-major `[round][action][position]` order (the order of NumPy's C layout).
    pub fn per_round(
        n_rounds: usize,
        n_actions: usize,
        n_positions: usize,
        values: Vec<f64>,
    ) -> Result<Self> {
        let expected = n_rounds * n_actions * n_positions;
        if values.len() != expected {
            return Err(EvalError::shape(
                "per-round tensor values",
                expected,
                values.len(),
            ));
        }
        Ok(RoundTensor {
            n_rounds,
            n_actions,
            n_positions,
            layout: TensorLayout::PerRound,
            values,
        })
    }

    /// The same `[action][position]` table for every round.
    pub fn shared(
        n_rounds: usize,
        n_actions: usize,
        n_positions: usize,
        table: Vec<f64>,
    ) -> Result<Self> {
        if table.len() != n_actions * n_positions {
            return Err(EvalError::shape(
                "shared table values",
                n_actions * n_positions,
                table.len(),
            ));
        }
        Ok(RoundTensor {
            n_rounds,
            n_actions,
            n_positions,
            layout: TensorLayout::Shared,
            values: table,
        })
    }

    /// Round `i` uses table `group[i]`; `tables` holds the tables one after another.
    pub fn grouped(
        n_actions: usize,
        n_positions: usize,
        group: Vec<u32>,
        tables: Vec<f64>,
    ) -> Result<Self> {
        let table_len = n_actions * n_positions;
        if table_len == 0 || !tables.len().is_multiple_of(table_len) {
            return Err(EvalError::shape("grouped tables", table_len, tables.len()));
        }
        let n_tables = tables.len() / table_len;
        if let Some((i, g)) = group
            .iter()
            .enumerate()
            .find(|(_, g)| **g as usize >= n_tables)
        {
            return Err(EvalError::invalid(
                "group",
                i,
                *g as f64,
                format!("only {n_tables} tables"),
            ));
        }
        Ok(RoundTensor {
            n_rounds: group.len(),
            n_actions,
            n_positions,
            layout: TensorLayout::Grouped(group),
            values: tables,
        })
    }

    /// Uniform random policy: probability `1 / n_actions` for every action at every position.
    pub fn uniform(n_rounds: usize, n_actions: usize, n_positions: usize) -> Self {
        RoundTensor {
            n_rounds,
            n_actions,
            n_positions,
            layout: TensorLayout::Shared,
            values: vec![1.0 / n_actions as f64; n_actions * n_positions],
        }
    }

    pub fn n_rounds(&self) -> usize {
        self.n_rounds
    }
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }
    pub fn n_positions(&self) -> usize {
        self.n_positions
    }
    pub fn layout(&self) -> &TensorLayout {
        &self.layout
    }

    /// Index of the table that round `round` uses.
    #[inline]
    pub fn table_index(&self, round: usize) -> usize {
        match &self.layout {
            TensorLayout::PerRound => round,
            TensorLayout::Shared => 0,
            TensorLayout::Grouped(group) => group[round] as usize,
        }
    }

    /// Number of distinct stored tables.
    pub fn n_tables(&self) -> usize {
        self.values.len() / (self.n_actions * self.n_positions).max(1)
    }

    /// Offset of the table that round `round` uses.
    #[inline]
    fn table_offset(&self, round: usize) -> usize {
        self.table_index(round) * self.n_actions * self.n_positions
    }

    /// Value at `(round, action, position)`.
    #[inline]
    pub fn get(&self, round: usize, action: usize, position: usize) -> f64 {
        self.values[self.table_offset(round) + action * self.n_positions + position]
    }

    /// The `[action][position]` table of one round.
    #[inline]
    pub fn table(&self, round: usize) -> &[f64] {
        let offset = self.table_offset(round);
        &self.values[offset..offset + self.n_actions * self.n_positions]
    }

    /// Materialises the full `[round][action][position]` array (for export and comparison).
    pub fn to_dense(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.n_rounds * self.n_actions * self.n_positions);
        for round in 0..self.n_rounds {
            out.extend_from_slice(self.table(round));
        }
        out
    }

    /// Checks that this is a probability distribution over actions at every position of every round
    /// (values in `[0, 1]`, each `(round, position)` column summing to 1 within `tolerance`).
    pub fn validate_distribution(&self, tolerance: f64) -> Result<()> {
        let n_tables = self.n_tables();
        let table_len = self.n_actions * self.n_positions;
        for t in 0..n_tables {
            let table = &self.values[t * table_len..(t + 1) * table_len];
            for p in 0..self.n_positions {
                let mut total = 0.0;
                for a in 0..self.n_actions {
                    let v = table[a * self.n_positions + p];
                    if !(0.0..=1.0).contains(&v) {
                        return Err(EvalError::invalid(
                            "action_dist",
                            t * table_len + a * self.n_positions + p,
                            v,
                            "a probability must be in [0, 1]",
                        ));
                    }
                    total += v;
                }
                if (total - 1.0).abs() > tolerance {
                    return Err(EvalError::invalid(
                        "action_dist",
                        t,
                        total,
                        format!("probabilities at position {p} must sum to 1"),
                    ));
                }
            }
        }
        Ok(())
    }
}
