//! Gradient-boosted trees: a nonlinear truth a linear model cannot learn, the increasing-in-depth
//! constraint, and exact round-trip through an artifact.

use std::collections::BTreeMap;

use discount_models::artifact::{Artifact, ArtifactStore, PropensityModel, TrainingSummary};
use discount_models::propensity::metrics::roc_auc;
use discount_models::propensity::{
    synthetic, GbdtConfig, GradientBoostedTrees, Learner, LogisticConfig, LogisticRegression,
    Matrix, Model,
};
use rand::{Rng, SeedableRng};

/// Two uniform features in [-1, 1] and a label that is 1 when they share a sign, flipped for 10% of rows:
/// the best possible AUC is well above 0.85, and no linear score does better than chance.
fn noisy_xor(rows: usize, seed: u64) -> anyhow::Result<(Matrix, Vec<f64>)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut data = Vec::with_capacity(rows * 2);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let (a, b): (f64, f64) = (rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0));
        let label = (a * b > 0.0) != rng.gen_bool(0.1);
        data.extend([a, b]);
        y.push(f64::from(label));
    }
    Ok((Matrix::new(rows, 2, data)?, y))
}

#[test]
fn trees_learn_xor_that_a_linear_model_cannot() -> anyhow::Result<()> {
    let (x, y) = noisy_xor(4_000, 1)?;
    let (x_test, y_test) = noisy_xor(2_000, 2)?;
    let mut trees = GradientBoostedTrees::new(GbdtConfig::default())?;
    trees.fit(&x, &y, None)?;
    let mut linear = LogisticRegression::new(LogisticConfig::default())?;
    linear.fit(&x, &y, None)?;
    let trees_auc = roc_auc(&trees.predict(&x_test)?, &y_test)?;
    let linear_auc = roc_auc(&linear.predict(&x_test)?, &y_test)?;
    println!("XOR held-out AUC: trees {trees_auc:.4}, logistic {linear_auc:.4}");
    assert!(trees_auc > 0.85, "trees AUC {trees_auc}");
    assert!(linear_auc < 0.6, "logistic AUC {linear_auc}");
    Ok(())
}

/// Offers whose true purchase probability rises with depth; with the constraint, every customer's
/// prediction is non-decreasing along a fine grid of depths, and the effect of depth is still learned.
#[test]
fn constrained_trees_never_sell_less_at_a_deeper_discount() -> anyhow::Result<()> {
    let train = synthetic::offers(20_000, 21)?;
    let customers = synthetic::offers(300, 22)?;
    let depth = synthetic::DEPTH_COLUMN;
    let config = GbdtConfig::default()
        .increasing_in_feature(&train.features[depth].name, &train.features)?;
    assert_eq!(config.increasing_in, Some(depth));
    let mut model = GradientBoostedTrees::new(config)?;
    model.fit(&train.x, &train.y, None)?;
    let grid: Vec<f64> = (0..=40).map(|k| k as f64 * 0.01).collect();
    let mut at_depths = Vec::with_capacity(grid.len());
    for &d in &grid {
        let mut x = customers.x.clone();
        for i in 0..x.rows() {
            x.set(i, depth, d);
        }
        at_depths.push(model.predict(&x)?);
    }
    for (k, pair) in at_depths.windows(2).enumerate() {
        for (i, (lower, deeper)) in pair[0].iter().zip(&pair[1]).enumerate() {
            assert!(
                deeper >= lower,
                "customer {i} buys less at depth {} ({deeper}) than at {} ({lower})",
                grid[k + 1],
                grid[k]
            );
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mean(&at_depths[30]) > mean(&at_depths[0]) + 0.05,
        "depth 0.3: {}, depth 0: {}",
        mean(&at_depths[30]),
        mean(&at_depths[0])
    );
    assert!(GbdtConfig::default()
        .increasing_in_feature("no such feature", &train.features)
        .is_err());
    Ok(())
}

#[test]
fn trees_round_trip_through_an_artifact_with_identical_predictions() -> anyhow::Result<()> {
    let data = synthetic::offers(3_000, 23)?;
    let mut trees = GradientBoostedTrees::new(GbdtConfig {
        increasing_in: Some(synthetic::DEPTH_COLUMN),
        ..Default::default()
    })?;
    trees.fit(&data.x, &data.y, None)?;
    let served = PropensityModel {
        model: Model::Gbdt(trees),
        monotone: None,
        calibrator: None,
    };
    let before = served.predict(&data.x)?;
    let json = serde_json::to_string(&served)?;
    let back: PropensityModel = serde_json::from_str(&json)?;
    assert_eq!(back, served);
    assert_eq!(back.predict(&data.x)?, before, "bit-identical from JSON");

    let dir = tempfile::tempdir()?;
    let store = ArtifactStore::new(dir.path());
    let mut artifact = Artifact::new(
        "offer-gbdt",
        data.features.clone(),
        TrainingSummary::today("synthetic offers", data.x.rows() as u64, None),
        BTreeMap::new(),
        served,
    );
    store.save(&mut artifact)?;
    let loaded: Artifact<PropensityModel> = store.load_latest("offer-gbdt")?;
    assert_eq!(
        loaded.model.predict(&data.x)?,
        before,
        "bit-identical from the store"
    );
    Ok(())
}

/// The squared-loss trees are a regression: they recover a step function of one feature.
#[test]
fn regression_trees_fit_a_step() -> anyhow::Result<()> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(24);
    let x: Vec<f64> = (0..2_000).map(|_| rng.gen_range(0.0..1.0)).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|v| if *v < 0.5 { 10.0 } else { 30.0 } + rng.gen_range(-1.0..1.0))
        .collect();
    let x = Matrix::new(2_000, 1, x)?;
    let mut trees = GradientBoostedTrees::new(GbdtConfig::regression())?;
    trees.fit(&x, &y, None)?;
    let predicted = trees.predict(&Matrix::new(2, 1, vec![0.2, 0.8])?)?;
    assert!((predicted[0] - 10.0).abs() < 0.5, "{predicted:?}");
    assert!((predicted[1] - 30.0).abs() < 0.5, "{predicted:?}");
    assert_eq!(trees.name(), "gbdt-regression");
    Ok(())
}
