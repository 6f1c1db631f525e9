//! Model artifacts: versions, content hashes and exact round-trip of predictions.

use std::collections::BTreeMap;

use discount_models::artifact::{
    load_file, Artifact, ArtifactStore, PropensityModel, TrainingSummary,
};
use discount_models::calibration::Calibrator;
use discount_models::propensity::{
    synthetic, Learner, Model, ModelKind, MonotoneInDepth, RidgeConfig, RidgeRegression,
};
use discount_models::uplift::{MetaLearner, UpliftModel};

#[test]
fn every_propensity_model_round_trips_with_identical_predictions() -> anyhow::Result<()> {
    let data = synthetic::offers(3_000, 5)?;
    let dir = tempfile::tempdir()?;
    let store = ArtifactStore::new(dir.path());
    for kind in ModelKind::ALL {
        let mut model = kind.build()?;
        model.fit(&data.x, &data.y, None)?;
        let scores = model.predict(&data.x)?;
        let served = PropensityModel {
            model,
            monotone: Some(MonotoneInDepth::new(
                synthetic::DEPTH_COLUMN,
                vec![0.0, 0.1, 0.2, 0.3],
            )?),
            calibrator: Some(Calibrator::fit_isotonic(&scores, &data.y)?),
        };
        let before = served.predict(&data.x)?;
        let positives = data.y.iter().filter(|y| **y == 1.0).count() as u64;
        let mut metrics = BTreeMap::new();
        metrics.insert("train_rows".to_string(), data.x.rows() as f64);
        let mut artifact = Artifact::new(
            &format!("offer-{}", kind.as_str()),
            data.features.clone(),
            TrainingSummary::today("synthetic offers", data.x.rows() as u64, Some(positives)),
            metrics,
            served,
        );
        let first = store.save(&mut artifact)?;
        let first_hash = artifact.content_hash.clone();
        let second = store.save(&mut artifact)?;
        assert_eq!(artifact.version, 2);
        assert_ne!(first, second);
        assert_eq!(artifact.content_hash, first_hash, "same content, same hash");
        assert_eq!(store.versions(&artifact.name)?, vec![1, 2]);

        let started = std::time::Instant::now();
        let loaded: Artifact<PropensityModel> = store.load_latest(&artifact.name)?;
        println!("{}: loaded in {:?}", artifact.name, started.elapsed());
        assert_eq!(loaded, artifact);
        assert_eq!(
            loaded.model.predict(&data.x)?,
            before,
            "predictions must be bit-identical"
        );
    }
    Ok(())
}

#[test]
fn an_edited_artifact_is_rejected() -> anyhow::Result<()> {
    let data = synthetic::offers(500, 6)?;
    let mut model = ModelKind::Logistic.build()?;
    model.fit(&data.x, &data.y, None)?;
    let dir = tempfile::tempdir()?;
    let store = ArtifactStore::new(dir.path());
    let mut artifact = Artifact::new(
        "tampered",
        data.features.clone(),
        TrainingSummary::today("synthetic offers", 500, None),
        BTreeMap::new(),
        model,
    );
    let path = store.save(&mut artifact)?;
    let text = std::fs::read_to_string(&path)?.replace("\"rows\": 500", "\"rows\": 501");
    std::fs::write(&path, text)?;
    let error = load_file::<Model>(&path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("content hash"), "{error}");
    assert!(store.load::<Model>("../escape", 1).is_err());
    Ok(())
}

#[test]
fn an_uplift_model_round_trips() -> anyhow::Result<()> {
    let data = synthetic::offers(2_000, 8)?;
    // Arms from the depth column: 0 -> control, 0.3 -> arm 2, otherwise arm 1.
    let arms: Vec<usize> = (0..data.x.rows())
        .map(|i| {
            let depth = data.x.get(i, synthetic::DEPTH_COLUMN);
            if depth == 0.0 {
                0
            } else if depth >= 0.3 {
                2
            } else {
                1
            }
        })
        .collect();
    let logistic = ModelKind::Logistic.build()?;
    let ridge = Model::Ridge(RidgeRegression::new(RidgeConfig::default())?);
    let model = UpliftModel::fit(
        MetaLearner::X,
        &logistic,
        &ridge,
        &data.x,
        &arms,
        &data.y,
        3,
    )?;
    let before = model.predict(&data.x)?;
    let dir = tempfile::tempdir()?;
    let store = ArtifactStore::new(dir.path());
    let mut artifact = Artifact::new(
        "uplift-x",
        data.features.clone(),
        TrainingSummary::today("synthetic offers", 2_000, None),
        BTreeMap::new(),
        model,
    );
    store.save(&mut artifact)?;
    let loaded: Artifact<UpliftModel<Model>> = store.load("uplift-x", 1)?;
    assert_eq!(loaded.model.predict(&data.x)?, before);
    Ok(())
}
