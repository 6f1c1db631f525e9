//! `discount train sequence`: the GRU sequence model on CDNOW, next to BG/NBD and RFM logistic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use discount_models::artifact::{save_file, Artifact, ArtifactStore, FeatureInfo, TrainingSummary};
use discount_models::sequence::cdnow::{self, Comparison, FittedComparison};
use discount_models::sequence::{GruConfig, SequenceModel};
use serde::Serialize;

use crate::output::{print_json, Table};

/// Train a GRU over each CDNOW customer's purchase sequence (type, amount and time gap of each
/// event, embedded) and compare its forecast of weeks 40-78 with BG/NBD and an RFM logistic
/// model: correlation with the actual purchases, mean absolute error, and AUC of "buys again".
///
/// The GRU and the RFM models learn within the 39 calibration weeks (history weeks 1-26, target
/// weeks 27-39), then forecast from weeks 1-39. BG/NBD is fitted on weeks 1-39.
///
/// --models-dir saves the trained GRU as a versioned artifact
/// <models-dir>/sequence-gru-cdnow/<version>.json, --save-model to one file (its version one more
/// than the file's previous one); both hold the weights as plain numbers, the configuration and
/// the GRU's holdout figures as metrics.
///
/// Examples:
///   discount train sequence
///   discount train sequence --epochs 20 --hidden 32 --seed 3
///   discount --json train sequence | jq '.comparison.rows'
///   discount train sequence --models-dir models
///   discount train sequence --save-model gru.json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct SequenceArgs {
    /// Folder holding `cdnow/` (default: $DISCOUNT_DATA_DIR, else ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Passes over the training sequences.
    #[arg(long, default_value_t = GruConfig::default().epochs)]
    pub epochs: usize,
    /// Size of the GRU state (the customer embedding).
    #[arg(long, default_value_t = GruConfig::default().hidden_dim)]
    pub hidden: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = GruConfig::default().learning_rate)]
    pub learning_rate: f64,
    /// Seed of the weight initialisation and batch order.
    #[arg(long, default_value_t = GruConfig::default().seed)]
    pub seed: u64,
    /// Save the GRU as a versioned artifact: <models-dir>/sequence-gru-cdnow/<version>.json.
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
    /// Save the GRU as an artifact to this file.
    #[arg(long)]
    pub save_model: Option<PathBuf>,
}

/// Where an artifact was saved.
#[derive(Serialize)]
struct SavedArtifact {
    artifact: PathBuf,
    version: u64,
    content_hash: String,
}

#[derive(Serialize)]
struct SequenceOutput {
    comparison: Comparison,
    seconds: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    saved: Vec<SavedArtifact>,
}

const ARTIFACT_NAME: &str = "sequence-gru-cdnow";

fn artifact_of(fitted: FittedComparison) -> Artifact<SequenceModel> {
    let mut metrics = BTreeMap::new();
    if let Some(row) = fitted
        .comparison
        .rows
        .iter()
        .find(|r| r.model.starts_with("GRU"))
    {
        metrics.insert("holdout_correlation".to_string(), row.correlation);
        metrics.insert("holdout_mae".to_string(), row.mae);
        metrics.insert("holdout_auc_buys_again".to_string(), row.auc_buys_again);
    }
    if let Some(loss) = fitted.model.loss_history.last() {
        metrics.insert("final_training_loss".to_string(), *loss);
    }
    let features = vec![FeatureInfo {
        name: "purchase sequence".into(),
        meaning: "per step: event kind, category index, ln(1+amount)/5, ln(1+gap days)/6, ln(1+age days)/6 (see sequence::encode)".into(),
    }];
    Artifact::new(
        ARTIFACT_NAME,
        features,
        TrainingSummary::today("cdnow", fitted.training_sequences as u64, None),
        metrics,
        fitted.model,
    )
}

fn save(
    artifact: &mut Artifact<SequenceModel>,
    models_dir: Option<&Path>,
    file: Option<&Path>,
) -> anyhow::Result<Vec<SavedArtifact>> {
    let mut saved = Vec::new();
    if let Some(dir) = models_dir {
        let path = ArtifactStore::new(dir)
            .save(artifact)
            .with_context(|| format!("saving the GRU under {}", dir.display()))?;
        saved.push(SavedArtifact {
            artifact: path,
            version: artifact.version,
            content_hash: artifact.content_hash.clone(),
        });
    }
    if let Some(path) = file {
        save_file(path, artifact)
            .with_context(|| format!("saving the GRU to {}", path.display()))?;
        saved.push(SavedArtifact {
            artifact: path.to_path_buf(),
            version: artifact.version,
            content_hash: artifact.content_hash.clone(),
        });
    }
    Ok(saved)
}

pub fn run(args: &SequenceArgs, json: bool) -> anyhow::Result<()> {
    let sample = super::data_dir(args.data_dir.as_deref())
        .join("cdnow")
        .join("CDNOW_sample.txt");
    let config = GruConfig {
        epochs: args.epochs,
        hidden_dim: args.hidden,
        learning_rate: args.learning_rate,
        seed: args.seed,
        ..GruConfig::default()
    };
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message("fitting BG/NBD, RFM logistic and the GRU on CDNOW");
    spinner.enable_steady_tick(Duration::from_millis(120));
    let started = Instant::now();
    let result = cdnow::compare_keeping_model(&sample, config)
        .with_context(|| format!("the CDNOW comparison on {}", sample.display()));
    spinner.finish_and_clear();
    let fitted = result?;
    let seconds = started.elapsed().as_secs_f64();
    let comparison = fitted.comparison.clone();
    let saved = if args.models_dir.is_some() || args.save_model.is_some() {
        let mut artifact = artifact_of(fitted);
        save(
            &mut artifact,
            args.models_dir.as_deref(),
            args.save_model.as_deref(),
        )?
    } else {
        Vec::new()
    };
    if json {
        return print_json(&SequenceOutput {
            comparison,
            seconds,
            saved,
        });
    }
    println!(
        "CDNOW sample: {} customers, {} bought in weeks 40-78; forecast of weeks 40-78",
        comparison.customers, comparison.buyers_in_holdout
    );
    let mut t = Table::new(&[
        "model",
        "correlation",
        "MAE",
        "predicted",
        "actual",
        "AUC buys again",
        "AUC ranks by",
    ]);
    for r in &comparison.rows {
        t.row(vec![
            r.model.clone(),
            format!("{:.3}", r.correlation),
            format!("{:.3}", r.mae),
            format!("{:.0}", r.predicted_total),
            format!("{:.0}", r.actual_total),
            format!("{:.3}", r.auc_buys_again),
            r.auc_score.clone(),
        ]);
    }
    print!("{}", t.render());
    let losses: Vec<String> = comparison
        .gru_loss_history
        .iter()
        .map(|l| format!("{l:.3}"))
        .collect();
    println!(
        "GRU training loss (before, then per epoch): {}",
        losses.join(" ")
    );
    println!("{seconds:.1} s");
    for s in &saved {
        println!(
            "saved {} (version {}, sha256 {})",
            s.artifact.display(),
            s.version,
            s.content_hash
        );
    }
    Ok(())
}
