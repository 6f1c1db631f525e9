//! `discount train ltv`: BG/NBD and Gamma-Gamma on the CDNOW sample.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use discount_models::artifact::{save_file, Artifact, ArtifactStore, FeatureInfo, TrainingSummary};
use discount_models::ltv::{
    cdnow, holdout, rfm, BgNbd, BgNbdParams, GammaGamma, GammaGammaParams, HoldoutReport, LtvModel,
};
use serde::Serialize;

use crate::output::{count, print_json, Table};

/// Fit BG/NBD (repeat purchases and silent drop-out) and Gamma-Gamma (spend per purchase) on the
/// CDNOW sample of Fader, Hardie & Lee (2005): 2,357 customers, 39 calibration weeks; then
/// forecast each customer's purchases in weeks 40-78 and compare with what they bought.
///
/// --save-model writes both fitted models as one artifact (version one more than the file's
/// previous one, content hash, training summary, holdout metrics); --models-dir stores it as
/// <models-dir>/ltv-cdnow/<version>.json.
///
/// Examples:
///   discount train ltv
///   discount train ltv --data-dir ../shared/data --json
///   discount train ltv --save-model ltv.json
///   discount train ltv --models-dir models
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct LtvArgs {
    /// Folder holding `cdnow/` (default: $DISCOUNT_DATA_DIR, else ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Write the fitted models as an artifact to this file.
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    /// Store the fitted models as a versioned artifact: <models-dir>/ltv-cdnow/<version>.json.
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
}

/// Where an artifact was saved.
#[derive(Serialize)]
struct SavedArtifact {
    artifact: PathBuf,
    version: u64,
    content_hash: String,
}

#[derive(Serialize)]
struct LtvOutput {
    customers: usize,
    repeat_customers: usize,
    bgnbd: BgNbdParams,
    bgnbd_log_likelihood: f64,
    bgnbd_published: BgNbdParams,
    bgnbd_published_log_likelihood: f64,
    gamma_gamma: GammaGammaParams,
    gamma_gamma_published: GammaGammaParams,
    population_mean_spend: f64,
    holdout_weeks: f64,
    holdout: HoldoutReport,
    fit_seconds: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    saved: Vec<SavedArtifact>,
}

pub fn run(args: &LtvArgs, json: bool) -> anyhow::Result<()> {
    let dir = super::data_dir(args.data_dir.as_deref()).join("cdnow");
    let sample = dir.join("CDNOW_sample.txt");
    let log = cdnow::read_sample(&sample).with_context(|| {
        format!(
            "reading the CDNOW sample (expected in {}; see --data-dir)",
            dir.display()
        )
    })?;
    let customers = rfm::summarise(&log, cdnow::calibration_end(), cdnow::holdout_end())?;
    let rfm: Vec<_> = customers.iter().map(|c| c.rfm).collect();

    let start = Instant::now();
    let bgnbd = BgNbd::fit(&rfm).context("fitting BG/NBD")?;
    let spend = rfm::repeat_spend(&customers)?;
    let gamma_gamma = GammaGamma::fit(&spend).context("fitting Gamma-Gamma")?;
    let fit_seconds = start.elapsed().as_secs_f64();

    let horizon = (cdnow::holdout_end() - cdnow::calibration_end()).num_days() as f64 / 7.0;
    let predicted: Vec<f64> = rfm
        .iter()
        .map(|c| bgnbd.expected_purchases(c, horizon))
        .collect::<Result<_, _>>()?;
    let actual: Vec<f64> = customers
        .iter()
        .map(|c| c.holdout_purchases as f64)
        .collect();
    let report = holdout::evaluate(&predicted, &actual)?;

    let published = BgNbdParams::new(0.243, 4.414, 0.793, 2.426)?;
    let mut saved = Vec::new();
    if args.save_model.is_some() || args.models_dir.is_some() {
        let metrics = BTreeMap::from([
            ("bgnbd_log_likelihood".to_string(), bgnbd.log_likelihood),
            (
                "gamma_gamma_log_likelihood".to_string(),
                gamma_gamma.log_likelihood,
            ),
            ("holdout_correlation".to_string(), report.correlation),
            ("holdout_mae".to_string(), report.mae),
            ("holdout_auc_buys_again".to_string(), report.auc_buys_again),
        ]);
        let features = vec![
            FeatureInfo {
                name: "x".into(),
                meaning: "repeat purchase days in the calibration period".into(),
            },
            FeatureInfo {
                name: "t_x".into(),
                meaning: "weeks from the first to the last purchase".into(),
            },
            FeatureInfo {
                name: "T".into(),
                meaning: "weeks from the first purchase to the end of calibration".into(),
            },
            FeatureInfo {
                name: "mean_spend".into(),
                meaning: "mean spend per repeat purchase, dollars (Gamma-Gamma)".into(),
            },
        ];
        let mut artifact = Artifact::new(
            "ltv-cdnow",
            features,
            TrainingSummary::today("cdnow", rfm.len() as u64, Some(spend.len() as u64)),
            metrics,
            LtvModel {
                bgnbd: bgnbd.clone(),
                gamma_gamma: gamma_gamma.clone(),
            },
        );
        if let Some(dir) = &args.models_dir {
            let path = ArtifactStore::new(dir)
                .save(&mut artifact)
                .with_context(|| format!("saving the LTV artifact under {}", dir.display()))?;
            saved.push(SavedArtifact {
                artifact: path,
                version: artifact.version,
                content_hash: artifact.content_hash.clone(),
            });
        }
        if let Some(path) = &args.save_model {
            save_file(path, &mut artifact)
                .with_context(|| format!("writing {}", path.display()))?;
            saved.push(SavedArtifact {
                artifact: path.clone(),
                version: artifact.version,
                content_hash: artifact.content_hash.clone(),
            });
        }
    }
    let out = LtvOutput {
        customers: customers.len(),
        repeat_customers: spend.len(),
        bgnbd: bgnbd.params,
        bgnbd_log_likelihood: bgnbd.log_likelihood,
        bgnbd_published: published,
        bgnbd_published_log_likelihood: -9582.4,
        gamma_gamma: gamma_gamma.params,
        gamma_gamma_published: GammaGammaParams {
            p: 6.25,
            q: 3.74,
            v: 15.44,
        },
        population_mean_spend: gamma_gamma.population_mean_spend(),
        holdout_weeks: horizon,
        holdout: report,
        fit_seconds,
        saved,
    };
    if json {
        return print_json(&out);
    }
    println!(
        "CDNOW sample: {} customers, {} with repeat purchases in the 39 calibration weeks\n",
        count(out.customers as i64),
        count(out.repeat_customers as i64)
    );
    let mut t = Table::new(&["model", "parameter", "fitted", "published"]);
    let p = &out.bgnbd;
    for (name, ours, theirs) in [
        ("r", p.r, published.r),
        ("alpha", p.alpha, published.alpha),
        ("a", p.a, published.a),
        ("b", p.b, published.b),
        ("log-likelihood", out.bgnbd_log_likelihood, -9582.4),
    ] {
        t.row(vec![
            "BG/NBD".into(),
            name.into(),
            format!("{ours:.4}"),
            format!("{theirs}"),
        ]);
    }
    let g = &out.gamma_gamma;
    for (name, ours, theirs) in [("p", g.p, 6.25), ("q", g.q, 3.74), ("v", g.v, 15.44)] {
        t.row(vec![
            "Gamma-Gamma".into(),
            name.into(),
            format!("{ours:.4}"),
            format!("{theirs}"),
        ]);
    }
    print!("{}", t.render());
    println!(
        "\nMean spend per purchase (population): ${:.2}",
        out.population_mean_spend
    );
    let h = &out.holdout;
    println!(
        "\nForecast of weeks 40-78 ({:.0} weeks) against actual purchases:",
        out.holdout_weeks
    );
    let mut t = Table::new(&["metric", "value"]);
    t.row(vec![
        "forecast total".into(),
        format!("{:.1}", h.predicted_total),
    ]);
    t.row(vec![
        "actual total".into(),
        format!("{:.0}", h.actual_total),
    ]);
    t.row(vec![
        "correlation per customer".into(),
        format!("{:.4}", h.correlation),
    ]);
    t.row(vec!["MAE per customer".into(), format!("{:.4}", h.mae)]);
    t.row(vec!["RMSE per customer".into(), format!("{:.4}", h.rmse)]);
    t.row(vec![
        "AUC of buys again".into(),
        format!("{:.4}", h.auc_buys_again),
    ]);
    print!("{}", t.render());
    println!("\nFitted both models in {:.3} s", out.fit_seconds);
    for s in &out.saved {
        println!(
            "saved {} (version {}, sha256 {})",
            s.artifact.display(),
            s.version,
            s.content_hash
        );
    }
    Ok(())
}
