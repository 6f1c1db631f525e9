//! Artifacts of the collaborative-filtering, sequence and lifetime-value models: each saves with
//! a version and content hash, reloads to bit-identical predictions, and an edited file is
//! refused. Also the feature-spec check of models trained on profile vectors.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use discount_models::artifact::{
    load_file, load_file_for_spec, save_file, Artifact, ArtifactStore, FeatureInfo, TrainingSummary,
};
use discount_models::cf::{
    read_recbole_inter, AlsParams, BiasedMf, Bpr, BprParams, CfModel, ImplicitAls, Ratings,
    ServedCf, SgdParams, SvdPlusPlus,
};
use discount_models::ltv::{BgNbd, GammaGamma, LtvModel, Rfm, SpendObservation};
use discount_models::sequence::{GruConfig, SequenceModel, Step, END_KIND};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Replaces the first occurrence of `from` in the file and checks that loading now fails on the
/// content hash.
fn assert_edit_is_refused<M>(path: &Path, from: &str, to: &str) -> anyhow::Result<()>
where
    M: serde::Serialize + serde::de::DeserializeOwned,
{
    let text = std::fs::read_to_string(path)?;
    anyhow::ensure!(text.contains(from), "{from:?} is not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1))?;
    let error = load_file::<M>(path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("content hash"), "edit accepted: {error}");
    Ok(())
}

/// 40 users rating 25 items, each user's taste a seeded mix of two item groups.
fn synthetic_ratings() -> anyhow::Result<Ratings> {
    let mut rng = StdRng::seed_from_u64(11);
    let mut triples = Vec::new();
    for u in 0..40 {
        let likes_low = u % 2 == 0;
        for i in 0..25 {
            if rng.gen_bool(0.5) {
                let fits = (i < 12) == likes_low;
                let base: f32 = if fits { 4.0 } else { 2.0 };
                let value = (base + rng.gen_range(-1.0f32..=1.0))
                    .round()
                    .clamp(1.0, 5.0);
                triples.push((format!("u{u}"), format!("i{i}"), value));
            }
        }
    }
    Ok(Ratings::from_triples(triples)?)
}

#[test]
fn every_cf_model_round_trips_with_identical_scores() -> anyhow::Result<()> {
    let ratings = synthetic_ratings()?;
    let (users, items) = (ratings.users(), ratings.items());
    let liked: Vec<_> = ratings
        .entries
        .iter()
        .filter(|r| r.value >= 4.0)
        .map(|r| discount_models::cf::Rating { value: 1.0, ..*r })
        .collect();
    let sgd = SgdParams {
        epochs: 5,
        ..SgdParams::default()
    };
    let models = [
        (
            "cf-svd",
            CfModel::BiasedMf(BiasedMf::fit(users, items, &ratings.entries, &sgd)?),
        ),
        (
            "cf-svdpp",
            CfModel::SvdPlusPlus(SvdPlusPlus::fit(users, items, &ratings.entries, &sgd)?),
        ),
        (
            "cf-als",
            CfModel::Als(ImplicitAls::fit(
                users,
                items,
                &liked,
                &AlsParams::default(),
            )?),
        ),
        (
            "cf-bpr",
            CfModel::Bpr(Bpr::fit(users, items, &liked, &BprParams::default())?),
        ),
    ];
    let dir = tempfile::tempdir()?;
    let store = ArtifactStore::new(dir.path());
    for (name, model) in models {
        let served = ServedCf::new(&ratings, model);
        let before: Vec<Vec<f64>> = (0..users as u32).map(|u| served.item_scores(u)).collect();
        let top_before = served.top_items("u3", 5);
        let mut artifact = Artifact::new(
            name,
            vec![
                FeatureInfo {
                    name: "user".into(),
                    meaning: "external user id".into(),
                },
                FeatureInfo {
                    name: "item".into(),
                    meaning: "external item id".into(),
                },
            ],
            TrainingSummary::today("synthetic ratings", ratings.entries.len() as u64, None),
            metrics(&[("synthetic", 1.0)]),
            served,
        );
        let path = store.save(&mut artifact)?;
        let started = Instant::now();
        let loaded: Artifact<ServedCf> = store.load_latest(name)?;
        println!("{name}: loaded in {:?}", started.elapsed());
        assert_eq!(loaded, artifact);
        let after: Vec<Vec<f64>> = (0..users as u32)
            .map(|u| loaded.model.item_scores(u))
            .collect();
        assert_eq!(after, before, "{name}: scores must be bit-identical");
        assert_eq!(loaded.model.top_items("u3", 5), top_before);
        assert!(top_before.is_some_and(|t| t.len() == 5));
        assert_eq!(loaded.model.top_items("nobody", 5), None);
        assert_edit_is_refused::<ServedCf>(&path, "\"u3\"", "\"u3x\"")?;
    }
    Ok(())
}

/// Seeded purchase sequences: frequent buyers and lapsed ones, with their next-period counts.
fn synthetic_sequences() -> (Vec<Vec<Step>>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(5);
    let mut sequences = Vec::new();
    let mut targets = Vec::new();
    for c in 0..120 {
        let frequent = c % 3 != 0;
        let orders = if frequent { rng.gen_range(3..8) } else { 1 };
        let gap = if frequent { 7.0 } else { 60.0 };
        let mut seq: Vec<Step> = (0..orders)
            .map(|i| Step {
                kind: 3,
                category: rng.gen_range(0..3),
                amount: rng.gen_range(5.0..60.0),
                gap_days: if i == 0 { 0.0 } else { gap },
                age_days: gap * (orders - i) as f32,
            })
            .collect();
        seq.push(Step {
            kind: END_KIND,
            category: 0,
            amount: 0.0,
            gap_days: gap,
            age_days: 0.0,
        });
        sequences.push(seq);
        targets.push(if frequent {
            f64::from(rng.gen_range(1..4))
        } else {
            0.0
        });
    }
    (sequences, targets)
}

#[test]
fn the_sequence_model_round_trips_with_identical_predictions() -> anyhow::Result<()> {
    let (sequences, targets) = synthetic_sequences();
    let config = GruConfig {
        epochs: 3,
        hidden_dim: 8,
        ..GruConfig::default()
    };
    let model = SequenceModel::fit(&sequences, &targets, 13.0, 3, config)?;
    let before = model.predict(&sequences)?;
    let dir = tempfile::tempdir()?;
    let store = ArtifactStore::new(dir.path());
    let mut artifact = Artifact::new(
        "sequence-gru",
        Vec::new(),
        TrainingSummary::today("synthetic sequences", sequences.len() as u64, None),
        metrics(&[("final_loss", *model.loss_history.last().unwrap_or(&0.0))]),
        model,
    );
    let path = store.save(&mut artifact)?;
    let started = Instant::now();
    let loaded: Artifact<SequenceModel> = store.load("sequence-gru", 1)?;
    println!("sequence-gru: loaded in {:?}", started.elapsed());
    assert_eq!(loaded.model.config, artifact.model.config);
    assert_eq!(loaded.model.categories(), 3);
    assert_eq!(loaded.content_hash, artifact.content_hash);
    let after = loaded.model.predict(&sequences)?;
    assert_eq!(after, before, "predictions must be bit-identical");

    // A weight matrix whose shape does not fit the configuration is refused, hash or not.
    let mut value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    value["model"]["weights"][4]["shape"] = serde_json::json!([8, 23]);
    let shape_error = serde_json::from_value::<Artifact<SequenceModel>>(value)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(shape_error.contains("w_hidden"), "{shape_error}");

    assert_edit_is_refused::<SequenceModel>(
        &path,
        "\"target_weeks\": 13.0",
        "\"target_weeks\": 14.0",
    )?;
    Ok(())
}

#[test]
fn the_lifetime_value_models_round_trip_to_one_file() -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(9);
    let mut rfm = Vec::new();
    let mut spend = Vec::new();
    for _ in 0..400 {
        let t: f64 = rng.gen_range(10.0..39.0);
        let x = f64::from(rng.gen_range(0u32..6));
        let t_x = if x == 0.0 { 0.0 } else { rng.gen_range(0.0..t) };
        rfm.push(Rfm::new(x, t_x, t)?);
        if x > 0.0 {
            spend.push(SpendObservation::new(x, rng.gen_range(10.0..80.0))?);
        }
    }
    let model = LtvModel {
        bgnbd: BgNbd::fit(&rfm)?,
        gamma_gamma: GammaGamma::fit(&spend)?,
    };
    let value = |m: &LtvModel| -> anyhow::Result<Vec<f64>> {
        rfm.iter()
            .map(|r| Ok(m.lifetime_value(r, None, 52, 0.002)?))
            .collect()
    };
    let before = value(&model)?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ltv.json");
    let mut artifact = Artifact::new(
        "ltv",
        Vec::new(),
        TrainingSummary::today("synthetic rfm", rfm.len() as u64, None),
        metrics(&[("bgnbd_log_likelihood", model.bgnbd.log_likelihood)]),
        model,
    );
    assert_eq!(save_file(&path, &mut artifact)?, 1);
    assert_eq!(
        save_file(&path, &mut artifact)?,
        2,
        "a re-save bumps the version"
    );
    let started = Instant::now();
    let loaded: Artifact<LtvModel> = load_file(&path)?;
    println!("ltv: loaded in {:?}", started.elapsed());
    assert_eq!(loaded, artifact);
    assert_eq!(
        value(&loaded.model)?,
        before,
        "values must be bit-identical"
    );
    assert_edit_is_refused::<LtvModel>(&path, "\"rows\": 400", "\"rows\": 401")?;
    Ok(())
}

#[test]
fn a_model_on_profile_features_checks_the_serving_spec() -> anyhow::Result<()> {
    let trained_on = "profile-v1+0123456789abcdef";
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("on-profiles.json");
    let mut artifact = Artifact::new(
        "on-profiles",
        Vec::new(),
        TrainingSummary::today("profiles", 10, None),
        BTreeMap::new(),
        vec![0.5f64, -1.25],
    )
    .with_feature_spec(trained_on);
    save_file(&path, &mut artifact)?;
    let loaded: Artifact<Vec<f64>> = load_file_for_spec(&path, trained_on)?;
    assert_eq!(loaded.feature_spec.as_deref(), Some(trained_on));

    let other = load_file_for_spec::<Vec<f64>>(&path, "profile-v2+fedcba9876543210")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        other.contains(trained_on) && other.contains("profile-v2+fedcba9876543210"),
        "{other}"
    );

    // An artifact without a spec is refused where serving needs one.
    let mut plain = Artifact::new(
        "plain",
        Vec::new(),
        TrainingSummary::today("profiles", 10, None),
        BTreeMap::new(),
        vec![1.0f64],
    );
    let plain_path = dir.path().join("plain.json");
    save_file(&plain_path, &mut plain)?;
    assert!(load_file_for_spec::<Vec<f64>>(&plain_path, trained_on).is_err());
    assert!(!std::fs::read_to_string(&plain_path)?.contains("feature_spec"));

    // The spec id is part of the content hash: rewriting it in the file is refused.
    assert_edit_is_refused::<Vec<f64>>(&path, trained_on, "profile-v2+fedcba9876543210")?;
    Ok(())
}

#[test]
fn full_size_artifacts_load_in_milliseconds() -> anyhow::Result<()> {
    // MovieLens 100K with the benchmark's SVD settings (100 factors): the largest CF artifact.
    let Some(inter) = common::data_file("movielens-100k/ml-100k.inter") else {
        return Ok(());
    };
    let Some(cdnow) = common::data_file("cdnow/CDNOW_sample.txt") else {
        return Ok(());
    };
    let ratings = read_recbole_inter(&inter)?;
    let svd = BiasedMf::fit(
        ratings.users(),
        ratings.items(),
        &ratings.entries,
        &SgdParams::movielens_svd(),
    )?;
    let served = ServedCf::new(&ratings, CfModel::BiasedMf(svd));
    let before = served.top_items("196", 10);
    let dir = tempfile::tempdir()?;
    let store = ArtifactStore::new(dir.path());
    let mut artifact = Artifact::new(
        "cf-svd",
        Vec::new(),
        TrainingSummary::today("movielens-100k", ratings.entries.len() as u64, None),
        BTreeMap::new(),
        served,
    );
    let path = store.save(&mut artifact)?;
    let started = Instant::now();
    let loaded: Artifact<ServedCf> = store.load_latest("cf-svd")?;
    println!(
        "cf-svd on MovieLens 100K ({} bytes): loaded in {:?}",
        std::fs::metadata(&path)?.len(),
        started.elapsed()
    );
    assert_eq!(loaded.model.top_items("196", 10), before);
    assert!(before.is_some());

    // The GRU trained in the CDNOW comparison (default configuration).
    let fitted = discount_models::sequence::cdnow::compare_keeping_model(
        &cdnow,
        GruConfig {
            epochs: 2,
            ..GruConfig::default()
        },
    )?;
    let probe = synthetic_sequences().0;
    let before = fitted.model.predict(&probe)?;
    let mut artifact = Artifact::new(
        "sequence-gru-cdnow",
        Vec::new(),
        TrainingSummary::today("cdnow", fitted.training_sequences as u64, None),
        BTreeMap::new(),
        fitted.model,
    );
    let path = store.save(&mut artifact)?;
    let started = Instant::now();
    let loaded: Artifact<SequenceModel> = store.load_latest("sequence-gru-cdnow")?;
    println!(
        "sequence-gru-cdnow ({} bytes): loaded in {:?}",
        std::fs::metadata(&path)?.len(),
        started.elapsed()
    );
    assert_eq!(loaded.model.predict(&probe)?, before);
    Ok(())
}
