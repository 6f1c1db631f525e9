//! Gradient-boosted decision trees (histogram splits, forust-ml) behind the [`Learner`] trait.
//!
//! forust-ml grows the trees; the fitted ensemble is then copied into this module's own tree type, so an
//! artifact holds only what prediction needs (split feature, threshold, children, leaf value), owns its
//! JSON format, and compares and clones like the other models. A prediction walks each tree exactly as
//! forust-ml does (`value < threshold` goes left) and sums the leaf values in the same order onto the same
//! base score, so without a constraint it is the booster's own prediction to the bit.
//!
//! Log-loss fits a classifier (predictions are probabilities), squared loss a regression (the uplift
//! learners' effect stage). An optional constraint makes the prediction non-decreasing in one feature
//! (the discount depth: nobody buys less at a lower price): forust-ml keeps it while splitting, and the
//! copy clamps the leaves it lets stray (see `Tree::from_forust`).

use std::collections::HashMap;

use forust_ml::constraints::Constraint;
use forust_ml::GradientBooster;
use serde::{Deserialize, Serialize};

use super::matrix::{check_training, sigmoid, Matrix};
use super::Learner;
use crate::artifact::FeatureInfo;
use crate::ModelError;

/// The loss the trees are grown on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GbdtObjective {
    /// Binary outcomes; predictions are probabilities.
    LogLoss,
    /// Real outcomes; predictions are means.
    SquaredLoss,
}

/// Hyper-parameters of [`GradientBoostedTrees`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtConfig {
    pub objective: GbdtObjective,
    /// Boosting iterations, one tree each.
    pub trees: usize,
    /// Shrinkage of every leaf value.
    pub learning_rate: f64,
    pub max_depth: usize,
    /// Smallest sum of loss hessians in a leaf: rows for squared loss, Σ p(1 − p) for log-loss (so about
    /// 0.09 per row at a 10% base rate).
    pub min_leaf_weight: f64,
    /// L2 penalty on the leaf values.
    pub l2: f64,
    /// Histogram bins per feature (at most 256; fewer when a feature has fewer distinct values).
    pub bins: u16,
    /// Feature column the prediction must be non-decreasing in (e.g. the discount depth).
    pub increasing_in: Option<usize>,
    pub seed: u64,
}

impl Default for GbdtConfig {
    /// Settings that reach a 5-fold AUC of 0.93 on the UCI online shoppers sessions (docs/models.md).
    fn default() -> Self {
        GbdtConfig {
            objective: GbdtObjective::LogLoss,
            trees: 300,
            learning_rate: 0.05,
            max_depth: 3,
            min_leaf_weight: 5.0,
            l2: 1.0,
            bins: 256,
            increasing_in: None,
            seed: 2026,
        }
    }
}

impl GbdtConfig {
    /// The default regression (squared loss) settings.
    pub fn regression() -> Self {
        GbdtConfig {
            objective: GbdtObjective::SquaredLoss,
            ..Default::default()
        }
    }

    /// Constrains the prediction to be non-decreasing in the feature called `name` in `features`.
    pub fn increasing_in_feature(
        mut self,
        name: &str,
        features: &[FeatureInfo],
    ) -> Result<Self, ModelError> {
        let column = features
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| ModelError::InvalidHyper {
                name: "increasing_in",
                value: name.to_string(),
                reason: format!(
                    "no such feature; the features are {:?}",
                    features.iter().map(|f| f.name.as_str()).collect::<Vec<_>>()
                ),
            })?;
        self.increasing_in = Some(column);
        Ok(self)
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let invalid = |name: &'static str, value: String, reason: &str| {
            Err(ModelError::InvalidHyper {
                name,
                value,
                reason: reason.into(),
            })
        };
        if self.trees == 0 {
            return invalid("trees", "0".into(), "must be at least 1");
        }
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= 1.0)
        {
            return invalid(
                "learning_rate",
                self.learning_rate.to_string(),
                "must be in (0, 1]",
            );
        }
        if self.max_depth == 0 {
            return invalid("max_depth", "0".into(), "must be at least 1");
        }
        if !(self.min_leaf_weight.is_finite() && self.min_leaf_weight >= 0.0) {
            return invalid(
                "min_leaf_weight",
                self.min_leaf_weight.to_string(),
                "must be finite and non-negative",
            );
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return invalid("l2", self.l2.to_string(), "must be finite and non-negative");
        }
        if !(2..=256).contains(&self.bins) {
            return invalid("bins", self.bins.to_string(), "must be between 2 and 256");
        }
        Ok(())
    }
}

/// One node of a fitted tree: a split (`value < threshold` goes to `left`) or a leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TreeNode {
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    Leaf {
        value: f64,
    },
}

/// A fitted tree; node 0 is the root and children always come after their parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<TreeNode>,
}

impl Tree {
    /// Checks what prediction relies on, so a damaged artifact is an error rather than a panic or a loop:
    /// children after their parent and inside the tree, split features inside the row.
    fn check(&self, features: usize) -> Result<(), ModelError> {
        if self.nodes.is_empty() {
            return Err(ModelError::Artifact("a tree has no nodes".into()));
        }
        for (index, node) in self.nodes.iter().enumerate() {
            if let TreeNode::Split {
                feature,
                left,
                right,
                threshold,
            } = node
            {
                let inside = |child: usize| child > index && child < self.nodes.len();
                if !(inside(*left) && inside(*right)) || *feature >= features || threshold.is_nan()
                {
                    return Err(ModelError::Artifact(format!(
                        "tree node {index} is malformed: {node:?} in a tree of {} nodes over {features} features",
                        self.nodes.len()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The leaf value for `row`; the tree must have passed [`Tree::check`].
    fn value(&self, row: &[f64]) -> f64 {
        let mut index = 0;
        loop {
            match &self.nodes[index] {
                TreeNode::Leaf { value } => return *value,
                TreeNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    index = if row[*feature] < *threshold {
                        *left
                    } else {
                        *right
                    }
                }
            }
        }
    }

    /// Copies a forust-ml tree. With a constrained feature, every leaf is also clamped into the bounds its
    /// ancestors set: below a split on that feature the left side may not exceed, and the right side not
    /// fall below, the mean of the two children's values. forust-ml 0.4 sets these bounds but enforces them
    /// only on the children of splits on the constrained feature itself, so a later split on another
    /// feature could leave them and break monotonicity; clamping every leaf (as XGBoost does while
    /// growing) makes each tree, and so the sum, non-decreasing in the feature.
    fn from_forust(tree: &forust_ml::tree::Tree, increasing_in: Option<usize>) -> Tree {
        let mut nodes: Vec<TreeNode> = tree
            .nodes
            .iter()
            .map(|n| {
                if n.is_leaf {
                    TreeNode::Leaf {
                        value: f64::from(n.weight_value),
                    }
                } else {
                    TreeNode::Split {
                        feature: n.split_feature,
                        threshold: n.split_value,
                        left: n.left_child,
                        right: n.right_child,
                    }
                }
            })
            .collect();
        let Some(constrained) = increasing_in else {
            return Tree { nodes };
        };
        let weight = |i: usize| tree.nodes.get(i).map_or(0.0, |n| f64::from(n.weight_value));
        let mut stack = vec![(0usize, f64::NEG_INFINITY, f64::INFINITY)];
        while let Some((index, low, high)) = stack.pop() {
            match nodes.get_mut(index) {
                Some(TreeNode::Leaf { value }) => *value = value.clamp(low, high),
                Some(TreeNode::Split {
                    feature,
                    left,
                    right,
                    ..
                }) => {
                    if *feature == constrained {
                        let mid = ((weight(*left) + weight(*right)) / 2.0).clamp(low, high);
                        stack.push((*left, low, mid));
                        stack.push((*right, mid, high));
                    } else {
                        stack.push((*left, low, high));
                        stack.push((*right, low, high));
                    }
                }
                None => {}
            }
        }
        Tree { nodes }
    }
}

/// A boosted ensemble: `f(x) = base_score + Σ trees`, through the logistic function for log-loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientBoostedTrees {
    pub config: GbdtConfig,
    /// Width of the rows it was fitted on (0 before fitting).
    pub features: usize,
    pub base_score: f64,
    pub trees: Vec<Tree>,
}

impl GradientBoostedTrees {
    pub fn new(config: GbdtConfig) -> Result<Self, ModelError> {
        config.validate()?;
        Ok(GradientBoostedTrees {
            config,
            features: 0,
            base_score: 0.0,
            trees: Vec::new(),
        })
    }

    /// The starting score: the weighted log-odds (log-loss, rate clipped away from 0 and 1 so a one-class
    /// sample still starts finite) or the weighted mean (squared loss).
    fn base_score(&self, y: &[f64], weights: &[f64]) -> f64 {
        let total: f64 = weights.iter().sum();
        let mean = y.iter().zip(weights).map(|(y, w)| y * w).sum::<f64>() / total;
        match self.config.objective {
            GbdtObjective::LogLoss => {
                let rate = mean.clamp(1e-6, 1.0 - 1e-6);
                (rate / (1.0 - rate)).ln()
            }
            GbdtObjective::SquaredLoss => mean,
        }
    }

    /// Grows the ensemble with forust-ml and returns the booster itself (the tests compare predictions).
    fn fit_booster(
        &self,
        x: &Matrix,
        y: &[f64],
        weights: Option<&[f64]>,
    ) -> Result<GradientBooster, ModelError> {
        self.config.validate()?;
        check_training(
            x,
            y,
            weights,
            self.config.objective == GbdtObjective::LogLoss,
        )?;
        if let Some(column) = self.config.increasing_in {
            if column >= x.cols() {
                return Err(ModelError::InvalidHyper {
                    name: "increasing_in",
                    value: column.to_string(),
                    reason: format!("the data has {} columns", x.cols()),
                });
            }
        }
        let weights = weights.map_or_else(|| vec![1.0; x.rows()], <[f64]>::to_vec);
        let forust_error = |e: forust_ml::errors::ForustError| {
            ModelError::Data(format!("gradient boosting failed: {e}"))
        };
        let mut booster = GradientBooster::default()
            .set_objective_type(match self.config.objective {
                GbdtObjective::LogLoss => forust_ml::objective::ObjectiveType::LogLoss,
                GbdtObjective::SquaredLoss => forust_ml::objective::ObjectiveType::SquaredLoss,
            })
            .set_iterations(self.config.trees)
            .set_learning_rate(self.config.learning_rate as f32)
            .set_max_depth(self.config.max_depth)
            .set_min_leaf_weight(self.config.min_leaf_weight as f32)
            .set_l2(self.config.l2 as f32)
            .set_nbins(self.config.bins)
            .set_seed(self.config.seed)
            .set_initialize_base_score(false)
            .set_base_score(self.base_score(y, &weights))
            .set_monotone_constraints(
                self.config
                    .increasing_in
                    .map(|c| HashMap::from([(c, Constraint::Positive)])),
            );
        // forust-ml reads columns: transpose the row-major features.
        let (rows, cols) = (x.rows(), x.cols());
        let mut by_column = vec![0.0; rows * cols];
        for i in 0..rows {
            for (j, v) in x.row(i).iter().enumerate() {
                by_column[j * rows + i] = *v;
            }
        }
        booster
            .fit(
                &forust_ml::Matrix::new(&by_column, rows, cols),
                y,
                &weights,
                None,
            )
            .map_err(forust_error)?;
        Ok(booster)
    }

    fn check_fitted(&self, x: &Matrix) -> Result<(), ModelError> {
        if self.features == 0 {
            return Err(ModelError::Data(
                "gradient-boosted trees were never fitted".into(),
            ));
        }
        if x.cols() != self.features {
            return Err(ModelError::Data(format!(
                "gradient-boosted trees were fitted on {} features, got {}",
                self.features,
                x.cols()
            )));
        }
        if !self.base_score.is_finite() {
            return Err(ModelError::Artifact(format!(
                "gradient-boosted trees have base score {}",
                self.base_score
            )));
        }
        self.trees.iter().try_for_each(|t| t.check(self.features))
    }

    /// The raw score (log-odds for log-loss) of each row.
    pub fn margin(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        self.check_fitted(x)?;
        Ok((0..x.rows())
            .map(|i| {
                let row = x.row(i);
                self.trees
                    .iter()
                    .fold(self.base_score, |sum, tree| sum + tree.value(row))
            })
            .collect())
    }
}

impl Learner for GradientBoostedTrees {
    fn fit(&mut self, x: &Matrix, y: &[f64], weights: Option<&[f64]>) -> Result<(), ModelError> {
        let booster = self.fit_booster(x, y, weights)?;
        self.trees = booster
            .trees
            .iter()
            .map(|t| Tree::from_forust(t, self.config.increasing_in))
            .collect();
        self.base_score = booster.base_score;
        self.features = x.cols();
        Ok(())
    }

    fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        let margin = self.margin(x)?;
        Ok(match self.config.objective {
            GbdtObjective::LogLoss => margin.into_iter().map(sigmoid).collect(),
            GbdtObjective::SquaredLoss => margin,
        })
    }

    fn name(&self) -> &'static str {
        match self.config.objective {
            GbdtObjective::LogLoss => "gbdt",
            GbdtObjective::SquaredLoss => "gbdt-regression",
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    fn noisy_xor(rows: usize, seed: u64) -> (Matrix, Vec<f64>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut data = Vec::with_capacity(rows * 2);
        let mut y = Vec::with_capacity(rows);
        for _ in 0..rows {
            let (a, b): (f64, f64) = (rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0));
            data.extend([a, b]);
            y.push(f64::from(a * b > 0.0));
        }
        (Matrix::new(rows, 2, data).unwrap(), y)
    }

    #[test]
    fn predictions_are_the_boosters_own() {
        let (x, y) = noisy_xor(2_000, 3);
        let mut model = GradientBoostedTrees::new(GbdtConfig {
            trees: 40,
            ..Default::default()
        })
        .unwrap();
        let booster = model.fit_booster(&x, &y, None).unwrap();
        model.fit(&x, &y, None).unwrap();
        let by_column: Vec<f64> = (0..2)
            .flat_map(|j| (0..x.rows()).map(move |i| (i, j)))
            .map(|(i, j)| x.get(i, j))
            .collect();
        let theirs = booster.predict(&forust_ml::Matrix::new(&by_column, x.rows(), 2), false);
        assert_eq!(model.margin(&x).unwrap(), theirs);
        assert_eq!(model.trees.len(), 40);
    }

    #[test]
    fn fitting_is_reproducible_and_checks_its_input() {
        let (x, y) = noisy_xor(1_000, 4);
        let fit = || {
            let mut m = GradientBoostedTrees::new(GbdtConfig::default()).unwrap();
            m.fit(&x, &y, None).unwrap();
            m
        };
        assert_eq!(fit(), fit());
        let unfitted = GradientBoostedTrees::new(GbdtConfig::default()).unwrap();
        assert!(unfitted.predict(&x).is_err());
        assert!(fit()
            .predict(&Matrix::new(1, 3, vec![0.0; 3]).unwrap())
            .is_err());
        let mut m = GradientBoostedTrees::new(GbdtConfig::default()).unwrap();
        assert!(m.fit(&x, &vec![2.0; x.rows()], None).is_err());
        for bad in [
            GbdtConfig {
                trees: 0,
                ..Default::default()
            },
            GbdtConfig {
                learning_rate: 0.0,
                ..Default::default()
            },
            GbdtConfig {
                bins: 1,
                ..Default::default()
            },
        ] {
            assert!(GradientBoostedTrees::new(bad).is_err());
        }
    }

    #[test]
    fn a_damaged_tree_is_an_error_not_a_loop() {
        let (x, y) = noisy_xor(500, 5);
        let mut m = GradientBoostedTrees::new(GbdtConfig {
            trees: 3,
            ..Default::default()
        })
        .unwrap();
        m.fit(&x, &y, None).unwrap();
        m.trees[1].nodes[0] = TreeNode::Split {
            feature: 0,
            threshold: 0.0,
            left: 0,
            right: 1,
        };
        assert!(matches!(m.predict(&x), Err(ModelError::Artifact(_))));
    }
}
