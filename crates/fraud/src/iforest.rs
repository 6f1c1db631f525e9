//! Isolation forest (Liu, Ting & Zhou 2008): anomalies are isolated by few random axis-aligned
//! splits. Written here because the Rust crate that implements it (`extended-isolation-forest`)
//! draws from the thread-local generator and so cannot be seeded, which a reproducible scan needs.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::FraudError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IsolationForestConfig {
    pub trees: usize,
    /// Rows drawn (without replacement) per tree; 256 in the paper.
    pub sample_size: usize,
    pub seed: u64,
}

impl Default for IsolationForestConfig {
    fn default() -> Self {
        Self {
            trees: 100,
            sample_size: 256,
            seed: 7,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Node {
    Split {
        feature: usize,
        value: f64,
        left: u32,
        right: u32,
    },
    Leaf {
        size: u32,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Tree {
    nodes: Vec<Node>,
}

/// A fitted forest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IsolationForest {
    trees: Vec<Tree>,
    /// Average path length of an unsuccessful BST search over `sample_size` rows.
    norm: f64,
}

/// `c(n)`: average path length of an unsuccessful search in a binary search tree of n points.
fn average_path(n: f64) -> f64 {
    if n <= 1.0 {
        0.0
    } else if n < 3.0 {
        1.0
    } else {
        2.0 * ((n - 1.0).ln() + 0.577_215_664_9) - 2.0 * (n - 1.0) / n
    }
}

impl IsolationForest {
    pub fn fit(rows: &[&[f64]], config: &IsolationForestConfig) -> Result<Self, FraudError> {
        if config.trees == 0 {
            return Err(FraudError::config(
                "isolation_forest.trees",
                0,
                "must be at least 1",
            ));
        }
        if config.sample_size < 2 {
            return Err(FraudError::config(
                "isolation_forest.sample_size",
                config.sample_size,
                "must be at least 2",
            ));
        }
        if rows.len() < 2 {
            return Err(FraudError::Fit {
                model: "isolation forest",
                reason: format!("needs at least 2 rows, got {}", rows.len()),
            });
        }
        let dims = rows[0].len();
        let sample = config.sample_size.min(rows.len());
        let max_depth = (sample as f64).log2().ceil() as usize;
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut trees = Vec::with_capacity(config.trees);
        for _ in 0..config.trees {
            let idx = rand::seq::index::sample(&mut rng, rows.len(), sample).into_vec();
            let mut nodes = Vec::new();
            build(rows, idx, 0, max_depth, dims, &mut rng, &mut nodes);
            trees.push(Tree { nodes });
        }
        Ok(Self {
            trees,
            norm: average_path(sample as f64),
        })
    }

    /// Anomaly score in (0, 1): near 1 for anomalies, about 0.5 or less for ordinary rows.
    pub fn score(&self, row: &[f64]) -> f64 {
        let mut total = 0.0;
        for tree in &self.trees {
            let mut node = 0usize;
            let mut depth = 0.0;
            loop {
                match tree.nodes[node] {
                    Node::Leaf { size } => {
                        total += depth + average_path(f64::from(size));
                        break;
                    }
                    Node::Split {
                        feature,
                        value,
                        left,
                        right,
                    } => {
                        depth += 1.0;
                        node = if row[feature] < value { left } else { right } as usize;
                    }
                }
            }
        }
        let mean = total / self.trees.len() as f64;
        if self.norm > 0.0 {
            2f64.powf(-mean / self.norm)
        } else {
            0.5
        }
    }
}

fn build(
    rows: &[&[f64]],
    idx: Vec<usize>,
    depth: usize,
    max_depth: usize,
    dims: usize,
    rng: &mut StdRng,
    nodes: &mut Vec<Node>,
) -> u32 {
    let me = nodes.len() as u32;
    nodes.push(Node::Leaf {
        size: idx.len() as u32,
    });
    if idx.len() <= 1 || depth >= max_depth {
        return me;
    }
    // Features that still vary in this node; a constant node is a leaf.
    let varying: Vec<(usize, f64, f64)> = (0..dims)
        .filter_map(|f| {
            let (lo, hi) = idx
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
                    (lo.min(rows[i][f]), hi.max(rows[i][f]))
                });
            (hi > lo).then_some((f, lo, hi))
        })
        .collect();
    if varying.is_empty() {
        return me;
    }
    let (feature, lo, hi) = varying[rng.gen_range(0..varying.len())];
    let value = rng.gen_range(lo..hi).max(lo + f64::EPSILON * lo.abs());
    let (l, r): (Vec<usize>, Vec<usize>) = idx.into_iter().partition(|&i| rows[i][feature] < value);
    let left = build(rows, l, depth + 1, max_depth, dims, rng, nodes);
    let right = build(rows, r, depth + 1, max_depth, dims, rng, nodes);
    nodes[me as usize] = Node::Split {
        feature,
        value,
        left,
        right,
    };
    me
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_score_higher_than_the_crowd() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut data: Vec<[f64; 3]> = (0..2000)
            .map(|_| [rng.gen::<f64>(), rng.gen::<f64>(), rng.gen::<f64>()])
            .collect();
        data.push([8.0, 0.5, 0.5]);
        data.push([0.5, -6.0, 9.0]);
        let rows: Vec<&[f64]> = data.iter().map(|r| r.as_slice()).collect();
        let forest = IsolationForest::fit(&rows, &IsolationForestConfig::default()).unwrap();
        let inlier = forest.score(&[0.5, 0.5, 0.5]);
        assert!(forest.score(&[8.0, 0.5, 0.5]) > inlier + 0.1, "{inlier}");
        assert!(forest.score(&[0.5, -6.0, 9.0]) > inlier + 0.1);
        let again = IsolationForest::fit(&rows, &IsolationForestConfig::default()).unwrap();
        assert_eq!(
            again.score(&[0.2, 0.9, 0.1]),
            forest.score(&[0.2, 0.9, 0.1])
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let rows: Vec<&[f64]> = vec![&[1.0], &[2.0]];
        let c = IsolationForestConfig {
            trees: 0,
            ..Default::default()
        };
        assert!(IsolationForest::fit(&rows, &c).is_err());
        assert!(IsolationForest::fit(&rows[..1], &IsolationForestConfig::default()).is_err());
    }
}
