//! Training time and scoring throughput of the propensity models on simulated customer-offer pairs.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::linear::{Interactions, LogisticConfig, LogisticRegression};
use super::monotone::MonotoneInDepth;
use super::{
    synthetic, FactorisationMachine, FmConfig, GbdtConfig, GradientBoostedTrees, Learner, Mlp,
    MlpConfig, ModelKind,
};
use crate::ModelError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelTiming {
    pub model: String,
    pub rows: usize,
    /// Passes over the data (Newton iterations for logistic regression).
    pub passes: usize,
    pub fit_seconds: f64,
    /// Customer-offer pairs scored per second by the bare model.
    pub pairs_per_second: f64,
    /// Pairs per second with the monotone-in-depth envelope (the model runs once per grid depth).
    pub monotone_pairs_per_second: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainBenchReport {
    pub rows: usize,
    pub features: usize,
    pub generate_seconds: f64,
    pub models: Vec<ModelTiming>,
}

/// Generates `rows` simulated offers and fits and scores each model in `kinds`; FM and MLP run `epochs`.
pub fn bench_training(
    rows: usize,
    epochs: usize,
    kinds: &[ModelKind],
    seed: u64,
    on_model: &mut dyn FnMut(&str),
) -> Result<TrainBenchReport, ModelError> {
    let started = Instant::now();
    let data = synthetic::offers(rows, seed)?;
    let generate_seconds = started.elapsed().as_secs_f64();
    let depth = synthetic::DEPTH_COLUMN;
    let monotone = MonotoneInDepth::new(depth, synthetic::DEPTHS.to_vec())?;
    let score_rows = rows.min(200_000);
    let indices: Vec<usize> = (0..score_rows).collect();
    let to_score = data.x.select_rows(&indices);
    let mut models = Vec::new();
    for &kind in kinds {
        on_model(kind.as_str());
        let started = Instant::now();
        let (model, passes): (Box<dyn Learner>, usize) = match kind {
            ModelKind::Logistic => {
                let mut m = LogisticRegression::new(LogisticConfig {
                    interactions: Interactions::all_with(depth, data.x.cols()),
                    ..Default::default()
                })?;
                m.fit(&data.x, &data.y, None)?;
                let iterations = m.iterations;
                (Box::new(m), iterations)
            }
            ModelKind::Fm => {
                let mut config = FmConfig::default();
                config.sgd.epochs = epochs;
                config.sgd.batch_size = 512;
                let mut m = FactorisationMachine::new(config)?;
                m.fit(&data.x, &data.y, None)?;
                (Box::new(m), epochs)
            }
            ModelKind::Mlp => {
                let mut config = MlpConfig::default();
                config.sgd.epochs = epochs;
                config.sgd.batch_size = 512;
                let mut m = Mlp::new(config)?;
                m.fit(&data.x, &data.y, None)?;
                (Box::new(m), epochs)
            }
            ModelKind::Gbdt => {
                let config = GbdtConfig {
                    increasing_in: Some(depth),
                    ..Default::default()
                };
                let trees = config.trees;
                let mut m = GradientBoostedTrees::new(config)?;
                m.fit(&data.x, &data.y, None)?;
                (Box::new(m), trees)
            }
        };
        let fit_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let scores = model.predict(&to_score)?;
        let bare = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let monotone_scores = monotone.predict(model.as_ref(), &to_score)?;
        let wrapped = started.elapsed().as_secs_f64();
        if scores.len() != score_rows || monotone_scores.len() != score_rows {
            return Err(ModelError::Data(
                "scoring returned the wrong number of rows".into(),
            ));
        }
        models.push(ModelTiming {
            model: kind.as_str().to_string(),
            rows,
            passes,
            fit_seconds,
            pairs_per_second: score_rows as f64 / bare.max(1e-9),
            monotone_pairs_per_second: score_rows as f64 / wrapped.max(1e-9),
        });
    }
    Ok(TrainBenchReport {
        rows,
        features: data.x.cols(),
        generate_seconds,
        models,
    })
}
