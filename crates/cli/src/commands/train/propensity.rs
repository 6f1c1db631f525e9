//! `discount train propensity --dataset online-shoppers`: purchase-propensity models on the UCI online
//! shoppers sessions (the store's own path is in `shop_propensity`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use discount_eval::calibration::calibration;
use discount_eval::report::Report;
use discount_models::artifact::{Artifact, ArtifactStore, PropensityModel, TrainingSummary};
use discount_models::calibration::Calibrator;
use discount_models::propensity::{
    cv, folds, shoppers, GbdtConfig, GradientBoostedTrees, Learner, Model, ModelKind,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::output::{print_json, Table};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum PropensityDataset {
    /// UCI Online Shoppers Purchasing Intention (12,330 sessions, label Revenue).
    OnlineShoppers,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum ModelArg {
    Logistic,
    Fm,
    Mlp,
    /// Gradient-boosted trees (histogram splits, log-loss).
    Gbdt,
    All,
}

impl ModelArg {
    fn kinds(self) -> Vec<ModelKind> {
        match self {
            ModelArg::Logistic => vec![ModelKind::Logistic],
            ModelArg::Fm => vec![ModelKind::Fm],
            ModelArg::Mlp => vec![ModelKind::Mlp],
            ModelArg::Gbdt => vec![ModelKind::Gbdt],
            ModelArg::All => ModelKind::ALL.to_vec(),
        }
    }
}

/// How the rows are split for evaluation: `--folds` takes a number of seeded folds or a `row,fold` file.
#[derive(Clone, Debug, PartialEq)]
pub enum FoldsArg {
    Count(usize),
    File(PathBuf),
}

/// A number is a fold count; anything else is a file (write `./5` for a file called `5`).
pub fn parse_folds(text: &str) -> Result<FoldsArg, String> {
    if text.is_empty() {
        return Err("expected a number of folds or a CSV file".into());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map(FoldsArg::Count)
            .map_err(|e| format!("{text}: {e}"));
    }
    Ok(FoldsArg::File(PathBuf::from(text)))
}

/// Hyper-parameters of the gradient-boosted trees (`--model gbdt`); unset flags keep the defaults.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GbdtArgs {
    /// Boosting iterations, one tree each [default: 300].
    #[arg(long)]
    pub trees: Option<usize>,
    /// Shrinkage of every tree [default: 0.05].
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Depth of each tree [default: 3].
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Smallest leaf, as a sum of loss hessians p(1-p) (about 0.1 per session at the shoppers' base rate)
    /// [default: 5].
    #[arg(long)]
    pub min_leaf: Option<f64>,
    /// L2 penalty on the leaf values [default: 1].
    #[arg(long)]
    pub l2: Option<f64>,
    /// Make the purchase probability non-decreasing in this feature (e.g. the discount depth; see the
    /// feature names in the artifact or `discount datasets`).
    #[arg(long, value_name = "FEATURE")]
    pub increasing_in: Option<String>,
}

impl GbdtArgs {
    /// The trees' configuration over `features` (to resolve `--increasing-in`).
    pub fn config(
        &self,
        features: &[discount_models::artifact::FeatureInfo],
    ) -> anyhow::Result<GbdtConfig> {
        let defaults = GbdtConfig::default();
        let config = GbdtConfig {
            trees: self.trees.unwrap_or(defaults.trees),
            learning_rate: self.learning_rate.unwrap_or(defaults.learning_rate),
            max_depth: self.max_depth.unwrap_or(defaults.max_depth),
            min_leaf_weight: self.min_leaf.unwrap_or(defaults.min_leaf_weight),
            l2: self.l2.unwrap_or(defaults.l2),
            ..defaults
        };
        let config = match &self.increasing_in {
            Some(name) => config.increasing_in_feature(name, features)?,
            None => config,
        };
        config.validate()?;
        Ok(config)
    }
}

/// Purchase propensity: on the shop's store (the default), whether each customer orders within
/// --horizon days of weekly snapshots, features as of each snapshot (the service's function),
/// trained on the earlier snapshots and judged (AUC, log-loss) on the later ones, then registered
/// in the model registry (see discount models). With --dataset online-shoppers:
///
/// Cross-validate purchase-propensity models (logistic regression, factorisation machine, MLP,
/// gradient-boosted trees) on seeded folds: AUC, log-loss, and calibration error before and after Platt and
/// isotonic calibration. Then refit on all rows, calibrate (isotonic, on the out-of-fold predictions) and
/// save a versioned artifact.
///
/// The folds can come from a file (`row,fold`, 0-based data rows of the source CSV, header not counted),
/// so other tools score the same folds; `--split` instead lists the test rows (`row`) and trains on the
/// rest.
///
/// Examples:
///   discount train propensity --model gbdt --horizon 14
///   discount train propensity --dataset online-shoppers
///   discount train propensity --dataset online-shoppers --model mlp --folds 5 --seed 2026
///   discount train propensity --dataset online-shoppers --model all --write-folds benchmarks/propensity/folds.csv --report shoppers.html
///   discount train propensity --dataset online-shoppers --model gbdt --trees 500 --learning-rate 0.02 --max-depth 3
///   discount train propensity --dataset online-shoppers --model gbdt --folds benchmarks/propensity/folds.csv --json
///   discount train propensity --dataset online-shoppers --model gbdt --increasing-in PageValues
///   discount train propensity --dataset online-shoppers --model logistic --split test-rows.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct PropensityArgs {
    /// A public data set instead of the shop's store.
    #[arg(long, value_enum)]
    pub dataset: Option<PropensityDataset>,
    /// Store: predict an order within this many days of a snapshot.
    #[arg(long, default_value_t = 14)]
    pub horizon: u32,
    /// Store: days between snapshots of every customer.
    #[arg(long, default_value_t = 7)]
    pub every: u32,
    /// Store: snapshots at or after this time validate; earlier ones whose horizon ends before it
    /// train [default: the last quarter of the snapshots validates].
    #[arg(long, value_name = "DATE")]
    pub cutoff: Option<String>,
    /// Store: fit and report, register nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The model [default: gbdt on the store, logistic on a public data set].
    #[arg(long, value_enum)]
    pub model: Option<ModelArg>,
    /// Number of seeded folds, or a `row,fold` CSV file of folds (every row once, folds 0..k).
    #[arg(long, default_value = "5", value_parser = parse_folds, value_name = "K|FILE")]
    pub folds: FoldsArg,
    /// A `row` CSV file of test rows: fit on the other rows, score these (instead of folds).
    #[arg(long, value_name = "FILE", conflicts_with = "folds")]
    pub split: Option<PathBuf>,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    #[command(flatten)]
    pub gbdt: GbdtArgs,
    /// Folder holding `uci-online-shoppers-intention/` (default: $DISCOUNT_DATA_DIR, else ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Where artifacts are stored: <models-dir>/<name>/<version>.json.
    #[arg(long, default_value = "models")]
    pub models_dir: PathBuf,
    /// Write the fold of each row (`row,fold`) here, for other tools to use the same folds (with --split:
    /// fold 0 is the test rows, fold 1 the training rows).
    #[arg(long)]
    pub write_folds: Option<PathBuf>,
    /// Write an HTML report with reliability diagrams here.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Serialize)]
struct ModelOutcome {
    #[serde(flatten)]
    cv: cv::CvReport,
    artifact: PathBuf,
    version: u64,
    content_hash: String,
}

pub fn run(args: &PropensityArgs, json: bool) -> anyhow::Result<()> {
    let path = super::data_dir(args.data_dir.as_deref()).join(shoppers::RELATIVE_PATH);
    let data = shoppers::load(&path)?;
    let rows = data.x.rows();
    let (assignment, tested, described) = match (&args.split, &args.folds) {
        (Some(file), _) => {
            let test = folds::read_split(file, rows)?;
            let count = test.iter().filter(|t| **t).count();
            (
                folds::split_as_folds(&test),
                vec![0],
                format!("{count} test rows from {}", file.display()),
            )
        }
        (None, FoldsArg::File(file)) => {
            let assignment = folds::read_folds(file, rows)?;
            let k = assignment.iter().max().map_or(0, |m| m + 1);
            (
                assignment,
                (0..k).collect(),
                format!("{k} folds from {}", file.display()),
            )
        }
        (None, FoldsArg::Count(k)) => (
            folds::kfold_assignment(rows, *k, args.seed)?,
            (0..*k).collect(),
            format!("{k} seeded folds (seed {})", args.seed),
        ),
    };
    if let Some(out) = &args.write_folds {
        folds::write_assignment(out, &assignment, "fold")?;
    }
    let kinds = args.model.unwrap_or(ModelArg::Logistic).kinds();
    let gbdt = args.gbdt.config(&data.features)?;
    let positives = data.y.iter().filter(|y| **y == 1.0).count() as u64;
    let store = ArtifactStore::new(&args.models_dir);
    let bar = if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new((kinds.len() * (tested.len() + 1)) as u64);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} fits ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let mut outcomes = Vec::new();
    let mut html = Report::new(
        "Purchase propensity on UCI online shoppers",
        "Out-of-fold reliability of each model before and after isotonic calibration.",
    );
    for kind in &kinds {
        bar.set_message(kind.as_str());
        let build_model = || -> Result<Model, discount_models::ModelError> {
            match kind {
                ModelKind::Gbdt => Ok(Model::Gbdt(GradientBoostedTrees::new(gbdt.clone())?)),
                _ => kind.build(),
            }
        };
        let build = || -> Result<Box<dyn Learner>, discount_models::ModelError> {
            Ok(Box::new(build_model()?))
        };
        let report =
            cv::validate_folds(&data.x, &data.y, &assignment, &tested, &build, &mut |_| {
                bar.inc(1)
            })?;
        let tested_y = report.at_tested(&data.y);

        let mut model = build_model()?;
        model.fit(&data.x, &data.y, None)?;
        bar.inc(1);
        let served = PropensityModel {
            model,
            monotone: None,
            calibrator: Some(Calibrator::fit_isotonic(
                &report.at_tested(&report.out_of_fold),
                &tested_y,
            )?),
        };
        let metrics = BTreeMap::from([
            ("cv_auc".to_string(), report.mean_auc),
            ("cv_log_loss".to_string(), report.mean_log_loss),
            ("cv_ece".to_string(), report.mean_ece),
            ("cv_ece_isotonic".to_string(), report.mean_ece_isotonic),
        ]);
        let mut artifact = Artifact::new(
            &format!("propensity-online-shoppers-{}", kind.as_str()),
            data.features.clone(),
            TrainingSummary::today(
                "uci-online-shoppers-intention",
                data.x.rows() as u64,
                Some(positives),
            ),
            metrics,
            served,
        );
        let saved = store.save(&mut artifact)?;
        if args.report.is_some() {
            let before = calibration(
                &report.at_tested(&report.out_of_fold),
                &tested_y,
                cv::CALIBRATION_BINS,
            )?;
            let after = calibration(
                &report.at_tested(&report.out_of_fold_isotonic),
                &tested_y,
                cv::CALIBRATION_BINS,
            )?;
            html.add_calibration(&format!("{}: uncalibrated", kind.as_str()), &before);
            html.add_calibration(&format!("{}: isotonic", kind.as_str()), &after);
        }
        outcomes.push(ModelOutcome {
            cv: report,
            artifact: saved,
            version: artifact.version,
            content_hash: artifact.content_hash,
        });
    }
    bar.finish_and_clear();
    if let Some(out) = &args.report {
        html.write(out)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if json {
        return print_json(&outcomes);
    }
    println!(
        "{} sessions, {} purchases, {} features, {described}\n",
        data.x.rows(),
        positives,
        data.x.cols(),
    );
    for o in &outcomes {
        let mut table = Table::new(&[
            "fold", "AUC", "log-loss", "ECE", "ECE 80%", "Platt", "isotonic", "fit s",
        ]);
        for f in &o.cv.folds {
            table.row(vec![
                f.fold.to_string(),
                format!("{:.4}", f.auc),
                format!("{:.4}", f.log_loss),
                format!("{:.4}", f.ece),
                format!("{:.4}", f.ece_uncalibrated),
                format!("{:.4}", f.ece_platt),
                format!("{:.4}", f.ece_isotonic),
                format!("{:.2}", f.fit_seconds),
            ]);
        }
        table.row(vec![
            "mean".into(),
            format!("{:.4}", o.cv.mean_auc),
            format!("{:.4}", o.cv.mean_log_loss),
            format!("{:.4}", o.cv.mean_ece),
            format!("{:.4}", o.cv.mean_ece_uncalibrated),
            format!("{:.4}", o.cv.mean_ece_platt),
            format!("{:.4}", o.cv.mean_ece_isotonic),
            format!("{:.2}", o.cv.fit_seconds),
        ]);
        println!("{}\n{}", o.cv.model, table.render());
        println!(
            "saved {} (version {}, sha256 {})\n",
            o.artifact.display(),
            o.version,
            &o.content_hash[..12]
        );
    }
    println!("ECE 80%: a copy fitted on 80% of the training folds; Platt and isotonic are fitted on the other 20%.");
    Ok(())
}

/// Arguments of `discount bench train`.
///
/// Examples:
///   discount bench train
///   discount bench train --rows 1000000 --model mlp --epochs 3
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct BenchTrainArgs {
    /// Simulated customer-offer pairs to train on.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    #[arg(long, value_enum, default_value = "all")]
    pub model: ModelArg,
    /// Passes over the data for the factorisation machine and the MLP.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

#[derive(Serialize)]
struct BenchOutput {
    #[serde(flatten)]
    report: discount_models::propensity::bench::TrainBenchReport,
    /// Peak resident memory of the whole run (data, every model), MiB.
    peak_rss_mib: Option<f64>,
}

/// `discount bench train`: time to fit each propensity model on simulated offers and pairs scored per second.
pub fn bench(args: &BenchTrainArgs, json: bool) -> anyhow::Result<()> {
    let kinds = args.model.kinds();
    let spinner = if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    spinner.set_message("generating offers");
    let report = discount_models::propensity::bench::bench_training(
        args.rows,
        args.epochs,
        &kinds,
        args.seed,
        &mut |name| spinner.set_message(format!("fitting {name}")),
    )?;
    spinner.finish_and_clear();
    let output = BenchOutput {
        report,
        peak_rss_mib: crate::commands::ingest::peak_rss_mib(),
    };
    if json {
        return print_json(&output);
    }
    println!(
        "{} simulated customer-offer pairs, {} features (generated in {:.2}s)",
        output.report.rows, output.report.features, output.report.generate_seconds
    );
    let mut table = Table::new(&["model", "passes", "fit s", "pairs/s", "monotone pairs/s"]);
    for m in &output.report.models {
        table.row(vec![
            m.model.clone(),
            m.passes.to_string(),
            format!("{:.2}", m.fit_seconds),
            format!("{:.0}", m.pairs_per_second),
            format!("{:.0}", m.monotone_pairs_per_second),
        ]);
    }
    println!("{}", table.render());
    if let Some(mib) = output.peak_rss_mib {
        println!("peak resident memory of the run: {mib:.1} MiB (run one --model at a time for per-model figures)");
    }
    Ok(())
}
