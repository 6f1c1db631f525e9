//! `discount train sequence`: the GRU sequence model on CDNOW, next to BG/NBD and RFM logistic.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use discount_models::sequence::cdnow::{self, Comparison};
use discount_models::sequence::GruConfig;
use serde::Serialize;

use crate::output::{print_json, Table};

/// Train a GRU over each CDNOW customer's purchase sequence (type, amount and time gap of each
/// event, embedded) and compare its forecast of weeks 40-78 with BG/NBD and an RFM logistic
/// model: correlation with the actual purchases, mean absolute error, and AUC of "buys again".
///
/// The GRU and the RFM models learn within the 39 calibration weeks (history weeks 1-26, target
/// weeks 27-39), then forecast from weeks 1-39. BG/NBD is fitted on weeks 1-39.
///
/// Examples:
///   discount train sequence
///   discount train sequence --epochs 20 --hidden 32 --seed 3
///   discount --json train sequence | jq '.comparison.rows'
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
}

#[derive(Serialize)]
struct SequenceOutput {
    comparison: Comparison,
    seconds: f64,
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
    let result = cdnow::compare(&sample, config)
        .with_context(|| format!("the CDNOW comparison on {}", sample.display()));
    spinner.finish_and_clear();
    let comparison = result?;
    let seconds = started.elapsed().as_secs_f64();
    if json {
        return print_json(&SequenceOutput {
            comparison,
            seconds,
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
    Ok(())
}
