//! `discount train cf`: matrix factorisation on the shop's views, carts and orders, or on
//! MovieLens 100K.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use discount_core::Config;
use discount_models::artifact::{Artifact, ArtifactStore, FeatureInfo, TrainingSummary};
use discount_models::cf::{
    cross_validate_assigned, evaluate_top_k, implicit_split, read_recbole_inter, AlsParams,
    BiasedMf, Bpr, BprParams, CfModel, FoldScore, ImplicitAls, ImplicitWeights, Popularity,
    RankingReport, Rating, RatingModel, Ratings, ServedCf, SgdParams, ShopInteractions,
    SvdPlusPlus,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::output::{print_json, Table};

/// Which collaborative-filtering model to fit.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum CfModelArg {
    /// Biased matrix factorisation of explicit ratings (SGD).
    Svd,
    /// Biased matrix factorisation with the implicit signal of rated items (SVD++).
    Svdpp,
    /// Implicit-feedback alternating least squares with confidence weights.
    Als,
    /// Bayesian personalised ranking of implicit feedback.
    Bpr,
}

/// A public data set to fit on instead of the shop's store.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum CfDataset {
    /// MovieLens 100K ratings (RecBole's ml-100k.inter).
    #[value(name = "movielens-100k")]
    Movielens100k,
}

/// Fit a collaborative-filtering model.
///
/// By default on the shop's own events in the store (--store or store.url), as implicit
/// feedback (als, the default, or bpr): each customer-item pair's strength is the sum of its
/// events before the cut-off, weighted
///   product view          1
///   unit added to cart    3
///   unit ordered          5
/// (other events do not count). The model is trained on the events up to --cutoff (default: the
/// last 20% of the span from the first to the last event is held out) and scored by
/// precision@10 and NDCG@10 against what each customer ordered after the cut-off, next to a
/// popularity baseline. Orders of items the customer had already touched, and of customers or
/// items without a training event, are left out of the test (the output counts them).
///
/// With --dataset movielens-100k: rating models (svd, the default there, and svdpp) are scored
/// by k-fold cross-validated RMSE on seeded folds; implicit models (als, bpr) by precision@10
/// and NDCG@10 on a seeded 80/20 split of the ratings >= 4, next to a popularity baseline.
///
/// With --models-dir the model is then refitted on all the data (the store: every event up to
/// the last; MovieLens: every rating, for als and bpr every rating of at least 4) and saved as a
/// versioned artifact <models-dir>/cf-<model>/<version>.json (cf-shop-<model> for the store)
/// with the external user and item ids and the evaluation's figures as its metrics.
///
/// Examples:
///   discount --store shop.sqlite train cf
///   discount train cf --model bpr --cutoff 2024-06-01 --json
///   discount train cf --dataset movielens-100k --model svd
///   discount train cf --dataset movielens-100k --model svdpp --folds 5 --json
///   discount train cf --dataset movielens-100k --model als
///   discount train cf --dataset movielens-100k --model bpr --write-split split.csv
///   discount train cf --model als --split ml100k_split.csv --json
///   discount train cf --dataset movielens-100k --model svd --models-dir models
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct CfArgs {
    /// Fit on a public data set instead of the store.
    #[arg(long, value_enum)]
    pub dataset: Option<CfDataset>,
    /// The model [default: als on the store, svd on MovieLens].
    #[arg(long, value_enum)]
    pub model: Option<CfModelArg>,
    /// Train on the store's events up to this time, test on the orders after it [default: the
    /// last 20% of the span is test].
    #[arg(long, value_name = "DATE", conflicts_with = "dataset")]
    pub cutoff: Option<String>,
    /// Cross-validation folds (rating models): a number of seeded folds, or a `row,fold` CSV file
    /// (0-based data rows of ml-100k.inter, folds 0..k), so that other tools score the same folds.
    #[arg(long, default_value = "5", value_parser = super::propensity::parse_folds, value_name = "K|FILE")]
    pub folds: super::propensity::FoldsArg,
    /// Seed of the folds or of the 80/20 split.
    #[arg(long, default_value_t = 42)]
    pub split_seed: u64,
    /// Folder holding `movielens-100k/` (default: $DISCOUNT_DATA_DIR, else ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Write the folds (rating models: user,item,rating,fold) or the split (implicit models:
    /// user,item,set) as CSV, so other tools can be scored on the same rows.
    #[arg(long)]
    pub write_split: Option<PathBuf>,
    /// Refit on all the data and save a versioned artifact: <models-dir>/cf-<model>/<version>.json.
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
    /// Score als or bpr on this split instead of the seeded one: a CSV with columns
    /// user_raw,item_raw,set (MovieLens ids; set is train or test; other columns ignored), as
    /// benchmarks/cf/implicit_split.py writes it. Prints precision@10 both as hits / (10 x users)
    /// and as hits / sum(min(10, test items)) (implicit's definition), and NDCG@10.
    #[arg(long, conflicts_with_all = ["write_split", "models_dir"])]
    pub split: Option<PathBuf>,
    /// Store: fit and report, register nothing (by default the refit on all the data is
    /// registered as kind `cf`; once promoted, its customer vectors extend the response model's
    /// features).
    #[arg(long)]
    pub dry_run: bool,
    /// ALS: latent factors [default: 32].
    #[arg(long)]
    pub factors: Option<usize>,
    /// ALS: the L2 penalty λ [default: 30].
    #[arg(long)]
    pub regularisation: Option<f64>,
    /// ALS: α of the confidence 1 + α·strength [default: 5].
    #[arg(long)]
    pub alpha: Option<f64>,
    /// ALS: alternating sweeps [default: 15].
    #[arg(long)]
    pub iterations: Option<usize>,
}

impl CfArgs {
    /// The ALS settings: the defaults, with the flags given.
    fn als(&self) -> AlsParams {
        let d = AlsParams::default();
        AlsParams {
            factors: self.factors.unwrap_or(d.factors),
            regularisation: self.regularisation.unwrap_or(d.regularisation),
            alpha: self.alpha.unwrap_or(d.alpha),
            iterations: self.iterations.unwrap_or(d.iterations),
            ..d
        }
    }
}

/// Where an artifact was saved.
#[derive(Serialize)]
struct SavedArtifact {
    artifact: PathBuf,
    version: u64,
    content_hash: String,
}

fn save_cf(
    models_dir: &Path,
    name: &str,
    ratings: &Ratings,
    trained_on: &[Rating],
    model: CfModel,
    metrics: BTreeMap<String, f64>,
) -> anyhow::Result<SavedArtifact> {
    let features = vec![
        FeatureInfo {
            name: "user".into(),
            meaning: "MovieLens user id (external; the artifact maps it to the model's index)"
                .into(),
        },
        FeatureInfo {
            name: "item".into(),
            meaning: "MovieLens item id (external; the artifact maps it to the model's index)"
                .into(),
        },
    ];
    let mut artifact = Artifact::new(
        &format!("cf-{name}"),
        features,
        TrainingSummary::today("movielens-100k", trained_on.len() as u64, None),
        metrics,
        ServedCf::new(ratings, model),
    );
    let path = ArtifactStore::new(models_dir)
        .save(&mut artifact)
        .with_context(|| format!("saving the {name} artifact under {}", models_dir.display()))?;
    Ok(SavedArtifact {
        artifact: path,
        version: artifact.version,
        content_hash: artifact.content_hash,
    })
}

fn print_saved(saved: &Option<SavedArtifact>) {
    if let Some(s) = saved {
        println!(
            "\nsaved {} (version {}, sha256 {}), fitted on all the data",
            s.artifact.display(),
            s.version,
            s.content_hash
        );
    }
}

#[derive(Serialize)]
struct RatingOutput {
    model: &'static str,
    params: SgdParams,
    folds: Vec<FoldScore>,
    mean_rmse: f64,
    mean_mae: f64,
    total_fit_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    saved: Option<SavedArtifact>,
}

#[derive(Serialize)]
struct RankingOutput {
    model: &'static str,
    train_interactions: usize,
    test_interactions: usize,
    report: RankingReport,
    popularity: RankingReport,
    fit_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    saved: Option<SavedArtifact>,
}

impl CfArgs {
    /// --model, else svd on MovieLens (its rating models are the reference figures) and als
    /// elsewhere (the store and split files hold implicit feedback).
    fn chosen_model(&self) -> CfModelArg {
        self.model.unwrap_or(match self.dataset {
            Some(CfDataset::Movielens100k) => CfModelArg::Svd,
            None => CfModelArg::Als,
        })
    }
}

pub fn run(config: &Config, args: &CfArgs, json: bool) -> anyhow::Result<()> {
    if let Some(split) = &args.split {
        return given_split(args, split, json);
    }
    if args.dataset.is_none() {
        return shop_model(config, args, json);
    }
    let path = super::data_dir(args.data_dir.as_deref()).join("movielens-100k/ml-100k.inter");
    let ratings = read_recbole_inter(&path)
        .with_context(|| format!("reading MovieLens 100K from {}", path.display()))?;
    match args.chosen_model() {
        CfModelArg::Svd => rating_model(args, &ratings, RatingModel::BiasedMf, json),
        CfModelArg::Svdpp => rating_model(args, &ratings, RatingModel::SvdPlusPlus, json),
        CfModelArg::Als | CfModelArg::Bpr => ranking_model(args, &ratings, json),
    }
}

fn rating_model(
    args: &CfArgs,
    ratings: &Ratings,
    model: RatingModel,
    json: bool,
) -> anyhow::Result<()> {
    let (name, params) = match model {
        RatingModel::BiasedMf => ("svd", SgdParams::movielens_svd()),
        RatingModel::SvdPlusPlus => ("svdpp", SgdParams::movielens_svdpp()),
    };
    let assignment = match &args.folds {
        super::propensity::FoldsArg::Count(k) => discount_models::cf::split::kfold_assignment(
            ratings.entries.len(),
            *k,
            args.split_seed,
        )?,
        super::propensity::FoldsArg::File(path) => {
            discount_models::propensity::folds::read_folds(path, ratings.entries.len())?
        }
    };
    let fold_count = assignment.iter().max().map_or(0, |m| m + 1);
    if let Some(out) = &args.write_split {
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
        );
        writeln!(w, "user,item,rating,fold")?;
        for (r, f) in ratings.entries.iter().zip(&assignment) {
            writeln!(
                w,
                "{},{},{},{f}",
                ratings.user_ids[r.user as usize], ratings.item_ids[r.item as usize], r.value
            )?;
        }
        w.flush()?;
    }
    let bar = if json {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(fold_count as u64);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] fold {pos}/{len} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(name);
        bar
    };
    let folds = cross_validate_assigned(ratings, &assignment, model, &params, |_| bar.inc(1))?;
    bar.finish_and_clear();
    let n = folds.len() as f64;
    let mean_rmse = folds.iter().map(|f| f.rmse).sum::<f64>() / n;
    let mean_mae = folds.iter().map(|f| f.mae).sum::<f64>() / n;
    let saved = match &args.models_dir {
        Some(dir) => {
            let (users, items) = (ratings.users(), ratings.items());
            let fitted = match model {
                RatingModel::BiasedMf => {
                    CfModel::BiasedMf(BiasedMf::fit(users, items, &ratings.entries, &params)?)
                }
                RatingModel::SvdPlusPlus => {
                    CfModel::SvdPlusPlus(SvdPlusPlus::fit(users, items, &ratings.entries, &params)?)
                }
            };
            let metrics = BTreeMap::from([
                ("cv_rmse".to_string(), mean_rmse),
                ("cv_mae".to_string(), mean_mae),
                ("cv_folds".to_string(), fold_count as f64),
            ]);
            Some(save_cf(
                dir,
                name,
                ratings,
                &ratings.entries,
                fitted,
                metrics,
            )?)
        }
        None => None,
    };
    let out = RatingOutput {
        model: name,
        params,
        mean_rmse,
        mean_mae,
        total_fit_seconds: folds.iter().map(|f| f.fit_seconds).sum(),
        folds,
        saved,
    };
    if json {
        return print_json(&out);
    }
    println!(
        "{name} on MovieLens 100K ({} ratings), {}-fold cross-validation (seed {}):",
        ratings.entries.len(),
        fold_count,
        args.split_seed
    );
    println!(
        "factors {}, epochs {}, learning rate {}, reg bias {}, reg factors {}\n",
        params.factors, params.epochs, params.learning_rate, params.reg_bias, params.reg_factors
    );
    let mut t = Table::new(&["fold", "train", "test", "RMSE", "MAE", "fit s"]);
    for f in &out.folds {
        t.row(vec![
            (f.fold + 1).to_string(),
            f.train.to_string(),
            f.test.to_string(),
            format!("{:.4}", f.rmse),
            format!("{:.4}", f.mae),
            format!("{:.2}", f.fit_seconds),
        ]);
    }
    t.row(vec![
        "mean".into(),
        String::new(),
        String::new(),
        format!("{:.4}", out.mean_rmse),
        format!("{:.4}", out.mean_mae),
        format!("{:.2}", out.total_fit_seconds),
    ]);
    print!("{}", t.render());
    print_saved(&out.saved);
    Ok(())
}

fn ranking_model(args: &CfArgs, ratings: &Ratings, json: bool) -> anyhow::Result<()> {
    let (train, test) = implicit_split(ratings, 4.0, 0.2, args.split_seed)?;
    if let Some(out) = &args.write_split {
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
        );
        writeln!(w, "user,item,set")?;
        for (set, rows) in [("train", &train), ("test", &test)] {
            for r in rows.iter() {
                writeln!(
                    w,
                    "{},{},{set}",
                    ratings.user_ids[r.user as usize], ratings.item_ids[r.item as usize]
                )?;
            }
        }
        w.flush()?;
    }
    let (users, items) = (ratings.users(), ratings.items());
    let spinner = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    spinner.set_message("fitting");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let start = Instant::now();
    let (name, report) = match args.chosen_model() {
        CfModelArg::Bpr => {
            let m = Bpr::fit(users, items, &train, &BprParams::default())?;
            let fit = start.elapsed().as_secs_f64();
            (
                "bpr",
                (evaluate_top_k(&m, users, items, &train, &test, 10)?, fit),
            )
        }
        _ => {
            let m = ImplicitAls::fit(users, items, &train, &args.als())?;
            let fit = start.elapsed().as_secs_f64();
            (
                "als",
                (evaluate_top_k(&m, users, items, &train, &test, 10)?, fit),
            )
        }
    };
    spinner.finish_and_clear();
    let popularity = evaluate_top_k(
        &Popularity::fit(items, &train)?,
        users,
        items,
        &train,
        &test,
        10,
    )?;
    let saved = match &args.models_dir {
        Some(dir) => {
            let all: Vec<Rating> = train.iter().chain(test.iter()).copied().collect();
            let fitted = match args.chosen_model() {
                CfModelArg::Bpr => {
                    CfModel::Bpr(Bpr::fit(users, items, &all, &BprParams::default())?)
                }
                _ => CfModel::Als(ImplicitAls::fit(users, items, &all, &args.als())?),
            };
            let metrics = BTreeMap::from([
                ("holdout_precision_at_10".to_string(), report.0.precision),
                ("holdout_ndcg_at_10".to_string(), report.0.ndcg),
                (
                    "popularity_precision_at_10".to_string(),
                    popularity.precision,
                ),
                ("popularity_ndcg_at_10".to_string(), popularity.ndcg),
            ]);
            Some(save_cf(dir, name, ratings, &all, fitted, metrics)?)
        }
        None => None,
    };
    let out = RankingOutput {
        model: name,
        train_interactions: train.len(),
        test_interactions: test.len(),
        report: report.0,
        popularity,
        fit_seconds: report.1,
        saved,
    };
    if json {
        return print_json(&out);
    }
    println!(
        "{name} on MovieLens 100K ratings >= 4: {} train, {} test interactions (seed {}), {} test users\n",
        out.train_interactions, out.test_interactions, args.split_seed, out.report.users
    );
    let mut t = Table::new(&["model", "precision@10", "NDCG@10", "fit s"]);
    t.row(vec![
        name.into(),
        format!("{:.4}", out.report.precision),
        format!("{:.4}", out.report.ndcg),
        format!("{:.2}", out.fit_seconds),
    ]);
    t.row(vec![
        "popularity".into(),
        format!("{:.4}", out.popularity.precision),
        format!("{:.4}", out.popularity.ndcg),
        String::new(),
    ]);
    print!("{}", t.render());
    print_saved(&out.saved);
    Ok(())
}

/// The train and test interactions of a split file, with dense indices over both.
fn read_split(path: &Path) -> anyhow::Result<(Ratings, Vec<Rating>, Vec<Rating>)> {
    let mut reader = csv::Reader::from_path(path)
        .with_context(|| format!("opening the split {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}:1: reading the header", path.display()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| format!("{}:1: no column `{name}` in {headers:?}", path.display()))
    };
    // `--write-split` names the id columns `user` and `item`; both spellings are read.
    let either = |raw: &str, plain: &str| column(raw).or_else(|_| column(plain));
    let (cu, ci, cs) = (
        either("user_raw", "user")?,
        either("item_raw", "item")?,
        column("set")?,
    );
    let mut triples = Vec::new();
    let mut is_test = Vec::new();
    for (k, record) in reader.records().enumerate() {
        let line = k + 2;
        let record = record.with_context(|| format!("{}:{line}: malformed row", path.display()))?;
        let field = |c: usize, name: &str| {
            record
                .get(c)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .with_context(|| format!("{}:{line}: field `{name}` is empty", path.display()))
        };
        let set = field(cs, "set")?;
        is_test.push(match set {
            "train" => false,
            "test" => true,
            other => anyhow::bail!(
                "{}:{line}: field `set` = {other:?}: must be train or test",
                path.display()
            ),
        });
        triples.push((
            field(cu, "user_raw")?.to_string(),
            field(ci, "item_raw")?.to_string(),
            1.0,
        ));
    }
    let ratings = Ratings::from_triples(triples)?;
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (r, t) in ratings.entries.iter().zip(is_test) {
        if t {
            test.push(*r);
        } else {
            train.push(*r);
        }
    }
    if train.is_empty() || test.is_empty() {
        anyhow::bail!(
            "{}: the split needs both train and test rows ({} train, {} test)",
            path.display(),
            train.len(),
            test.len()
        );
    }
    Ok((ratings, train, test))
}

/// Precision@k in both definitions and NDCG@k of one scorer on a split.
#[derive(Serialize)]
struct SplitScores {
    /// hits / (k x users with a test item).
    precision_at_10: f64,
    /// hits / sum over those users of min(k, their test items): implicit's `ranking_metrics_at_k`.
    precision_at_10_implicit: f64,
    ndcg_at_10: f64,
    users: usize,
}

fn split_scores(
    model: &dyn discount_models::cf::Scorer,
    ratings: &Ratings,
    train: &[Rating],
    test: &[Rating],
) -> anyhow::Result<SplitScores> {
    const K: usize = 10;
    let (users, items) = (ratings.users(), ratings.items());
    let report = evaluate_top_k(model, users, items, train, test, K)?;
    let mut per_user = vec![0usize; users];
    for r in test {
        per_user[r.user as usize] += 1;
    }
    let ideal: usize = per_user.iter().map(|&n| n.min(K)).sum();
    // precision is the mean of hits / K over the tested users.
    let hits = (report.precision * (K * report.users) as f64).round();
    Ok(SplitScores {
        precision_at_10: report.precision,
        precision_at_10_implicit: hits / ideal as f64,
        ndcg_at_10: report.ndcg,
        users: report.users,
    })
}

#[derive(Serialize)]
struct SplitOutput {
    model: &'static str,
    split: PathBuf,
    train_interactions: usize,
    test_interactions: usize,
    #[serde(flatten)]
    scores: SplitScores,
    popularity: SplitScores,
    fit_seconds: f64,
}

fn given_split(args: &CfArgs, path: &Path, json: bool) -> anyhow::Result<()> {
    let (ratings, train, test) = read_split(path)?;
    let (users, items) = (ratings.users(), ratings.items());
    let start = Instant::now();
    let (name, scores, fit_seconds) = match args.chosen_model() {
        CfModelArg::Als => {
            let m = ImplicitAls::fit(users, items, &train, &args.als())?;
            let fit = start.elapsed().as_secs_f64();
            ("als", split_scores(&m, &ratings, &train, &test)?, fit)
        }
        CfModelArg::Bpr => {
            let m = Bpr::fit(users, items, &train, &BprParams::default())?;
            let fit = start.elapsed().as_secs_f64();
            ("bpr", split_scores(&m, &ratings, &train, &test)?, fit)
        }
        CfModelArg::Svd | CfModelArg::Svdpp => {
            anyhow::bail!("--split scores the implicit models: use --model als or --model bpr")
        }
    };
    let popularity = split_scores(&Popularity::fit(items, &train)?, &ratings, &train, &test)?;
    let out = SplitOutput {
        model: name,
        split: path.to_path_buf(),
        train_interactions: train.len(),
        test_interactions: test.len(),
        scores,
        popularity,
        fit_seconds,
    };
    if json {
        return print_json(&out);
    }
    println!(
        "{name} on the split {}: {} train, {} test interactions, {} test users\n",
        path.display(),
        out.train_interactions,
        out.test_interactions,
        out.scores.users
    );
    let mut t = Table::new(&[
        "model",
        "P@10 hits/(10 users)",
        "P@10 implicit",
        "NDCG@10",
        "fit s",
    ]);
    for (label, s, fit) in [
        (name, &out.scores, format!("{:.2}", out.fit_seconds)),
        ("popularity", &out.popularity, String::new()),
    ] {
        t.row(vec![
            label.into(),
            format!("{:.4}", s.precision_at_10),
            format!("{:.4}", s.precision_at_10_implicit),
            format!("{:.4}", s.ndcg_at_10),
            fit,
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

/// Training pairs and customers with test orders below which the figures mean nothing.
const MIN_TRAIN_PAIRS: usize = 20;
const MIN_TEST_CUSTOMERS: usize = 1;

#[derive(Serialize)]
struct ShopRankingOutput {
    model: &'static str,
    store: String,
    events: u64,
    cutoff: String,
    weights: ImplicitWeights,
    /// Events before the cut-off that trained the model, by kind.
    train_events: BTreeMap<&'static str, usize>,
    train_customers: usize,
    train_items: usize,
    train_interactions: usize,
    /// Customer-item pairs ordered after the cut-off.
    ordered_pairs_after_cutoff: usize,
    test_interactions: usize,
    dropped_already_known: usize,
    dropped_cold: usize,
    report: RankingReport,
    popularity: RankingReport,
    fit_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    saved: Option<SavedArtifact>,
    /// The registry id (kind `cf`), unless --dry-run.
    #[serde(skip_serializing_if = "Option::is_none")]
    model_id: Option<String>,
}

fn fit_implicit(
    model: CfModelArg,
    als: &AlsParams,
    users: usize,
    items: usize,
    train: &[Rating],
) -> anyhow::Result<CfModel> {
    Ok(match model {
        CfModelArg::Bpr => CfModel::Bpr(Bpr::fit(users, items, train, &BprParams::default())?),
        CfModelArg::Als => CfModel::Als(ImplicitAls::fit(users, items, train, als)?),
        CfModelArg::Svd | CfModelArg::Svdpp => anyhow::bail!(
            "the store holds implicit feedback (views, carts, orders), not ratings: use --model \
             als or --model bpr (svd and svdpp run on --dataset movielens-100k)"
        ),
    })
}

fn scorer(model: &CfModel) -> anyhow::Result<&dyn discount_models::cf::Scorer> {
    match model {
        CfModel::Bpr(m) => Ok(m),
        CfModel::Als(m) => Ok(m),
        CfModel::BiasedMf(_) | CfModel::SvdPlusPlus(_) => {
            anyhow::bail!("only the implicit models rank the store's items")
        }
    }
}

/// Registers the store's CF model as kind `cf`: its customers' vectors (the user factors) as
/// [`discount_features::CustomerEmbeddings`], with the held-out ranking figures.
fn register_cf(
    config: &Config,
    served: &ServedCf,
    rows: usize,
    report: &discount_models::cf::RankingReport,
    popularity: &discount_models::cf::RankingReport,
) -> anyhow::Result<String> {
    use discount_models::cf::CfModel;
    let (factors, k) = match &served.model {
        CfModel::Als(m) => (&m.user_factors, m.params.factors),
        CfModel::Bpr(m) => (&m.user_factors, m.params.factors),
        _ => anyhow::bail!("only ALS and BPR models are registered from the store"),
    };
    let vectors = served
        .user_ids
        .iter()
        .enumerate()
        .filter_map(|(u, id)| {
            let v = factors.get(u * k..(u + 1) * k)?;
            Some((id.clone(), v.iter().map(|x| *x as f32).collect()))
        })
        .collect();
    let embeddings = discount_features::CustomerEmbeddings { dim: k, vectors };
    embeddings.validate()?;
    super::registry::register(
        &config.store.url,
        super::registry::Registration {
            kind: "cf",
            feature_spec: Some(embeddings.spec()?.id()),
            window_from: None,
            window_to: None,
            training_rows: rows,
            metrics: vec![
                ("holdout_precision_at_10", Some(report.precision)),
                ("holdout_ndcg_at_10", Some(report.ndcg)),
                ("popularity_precision_at_10", Some(popularity.precision)),
                ("dim", Some(k as f64)),
            ],
            artifact: serde_json::to_string(&embeddings)?,
        },
    )
}

fn shop_model(config: &Config, args: &CfArgs, json: bool) -> anyhow::Result<()> {
    let model = args.chosen_model();
    let name = match model {
        CfModelArg::Bpr => "bpr",
        _ => "als",
    };
    let weights = ImplicitWeights::default();
    let mut interactions = ShopInteractions::new(weights);
    let scanned = super::shop::scan(config, &mut |e| {
        interactions.push(e);
    })?;
    let store = &scanned.store;
    let cutoff = match super::shop::day_flag("--cutoff", args.cutoff.as_deref())? {
        Some(t) => t,
        None => interactions.default_cutoff(0.2).with_context(|| {
            format!(
                "too little data for CF: the store {store} holds {} events in table `events`, \
                 none of them a product view, a cart or an order",
                scanned.events
            )
        })?,
    };
    let split = interactions.split(cutoff);
    let test_customers = {
        let mut u: Vec<u32> = split.test.iter().map(|r| r.user).collect();
        u.sort_unstable();
        u.dedup();
        u.len()
    };
    if split.train.len() < MIN_TRAIN_PAIRS || test_customers < MIN_TEST_CUSTOMERS {
        anyhow::bail!(
            "too little data for CF: the store {store} (table `events`, {} events) has {} \
             customer-item pairs viewed, carted or ordered up to the cut-off {} and {} customers \
             ordering a new item after it ({} ordered pairs after it: {} already known, {} of a \
             customer or item without earlier events); the model needs at least \
             {MIN_TRAIN_PAIRS} training pairs and {MIN_TEST_CUSTOMERS} customer with test orders \
             (see --cutoff)",
            scanned.events,
            split.train.len(),
            cutoff.to_rfc3339(),
            test_customers,
            split.ordered_pairs_after,
            split.dropped_already_known,
            split.dropped_cold
        );
    }
    let (users, items) = (split.ids.users(), split.ids.items());
    let start = Instant::now();
    let fitted = fit_implicit(model, &args.als(), users, items, &split.train)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    let report = evaluate_top_k(
        scorer(&fitted)?,
        users,
        items,
        &split.train,
        &split.test,
        10,
    )?;
    let popularity = evaluate_top_k(
        &Popularity::fit(items, &split.train)?,
        users,
        items,
        &split.train,
        &split.test,
        10,
    )?;
    if let Some(out) = &args.write_split {
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
        );
        writeln!(w, "user,item,set,strength")?;
        for (set, rows) in [("train", &split.train), ("test", &split.test)] {
            for r in rows.iter() {
                writeln!(
                    w,
                    "{},{},{set},{}",
                    split.ids.user_ids[r.user as usize],
                    split.ids.item_ids[r.item as usize],
                    r.value
                )?;
            }
        }
        w.flush()?;
    }
    // Everything up to the last event trains the saved and registered model.
    let refit = if args.models_dir.is_some() || !args.dry_run {
        let all = match interactions.span() {
            Some((_, last)) => interactions.split(last),
            None => split.clone(),
        };
        let refitted = fit_implicit(
            model,
            &args.als(),
            all.ids.users(),
            all.ids.items(),
            &all.train,
        )?;
        Some((all.train.len(), ServedCf::new(&all.ids, refitted)))
    } else {
        None
    };
    let model_id = match &refit {
        Some((rows, served)) if !args.dry_run => {
            Some(register_cf(config, served, *rows, &report, &popularity)?)
        }
        _ => None,
    };
    let saved = match (&args.models_dir, refit) {
        (Some(dir), Some((rows, served))) => {
            let metrics = BTreeMap::from([
                ("holdout_precision_at_10".to_string(), report.precision),
                ("holdout_ndcg_at_10".to_string(), report.ndcg),
                (
                    "popularity_precision_at_10".to_string(),
                    popularity.precision,
                ),
                ("popularity_ndcg_at_10".to_string(), popularity.ndcg),
            ]);
            let features = vec![
                FeatureInfo {
                    name: "user".into(),
                    meaning: "customer id as stored (the artifact maps it to the model's index)"
                        .into(),
                },
                FeatureInfo {
                    name: "item".into(),
                    meaning: "item id as stored (the artifact maps it to the model's index)".into(),
                },
            ];
            let mut artifact = Artifact::new(
                &format!("cf-shop-{name}"),
                features,
                TrainingSummary::today("shop", rows as u64, None),
                metrics,
                served,
            );
            let path = ArtifactStore::new(dir)
                .save(&mut artifact)
                .with_context(|| format!("saving the {name} artifact under {}", dir.display()))?;
            Some(SavedArtifact {
                artifact: path,
                version: artifact.version,
                content_hash: artifact.content_hash,
            })
        }
        _ => None,
    };
    let out = ShopRankingOutput {
        model: name,
        store: store.clone(),
        events: scanned.events,
        cutoff: cutoff.to_rfc3339(),
        weights,
        train_events: split.events_before.clone(),
        train_customers: users,
        train_items: items,
        train_interactions: split.train.len(),
        ordered_pairs_after_cutoff: split.ordered_pairs_after,
        test_interactions: split.test.len(),
        dropped_already_known: split.dropped_already_known,
        dropped_cold: split.dropped_cold,
        report,
        popularity,
        fit_seconds,
        saved,
        model_id,
    };
    if json {
        return print_json(&out);
    }
    println!(
        "{name} on the store {store}: {} customers and {} items with events up to {}",
        out.train_customers, out.train_items, out.cutoff
    );
    let kinds: Vec<String> = out
        .train_events
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    println!(
        "training: {} customer-item pairs from {} (weights: view {}, cart {} per unit, order {} per unit)",
        out.train_interactions,
        kinds.join(", "),
        weights.view,
        weights.add_to_cart,
        weights.order
    );
    println!(
        "test: {} new customer-item orders after the cut-off, {} test customers ({} pairs already known and {} cold left out)\n",
        out.test_interactions,
        out.report.users,
        out.dropped_already_known,
        out.dropped_cold
    );
    let mut t = Table::new(&["model", "precision@10", "NDCG@10", "fit s"]);
    t.row(vec![
        name.into(),
        format!("{:.4}", out.report.precision),
        format!("{:.4}", out.report.ndcg),
        format!("{:.2}", out.fit_seconds),
    ]);
    t.row(vec![
        "popularity".into(),
        format!("{:.4}", out.popularity.precision),
        format!("{:.4}", out.popularity.ndcg),
        String::new(),
    ]);
    print!("{}", t.render());
    print_saved(&out.saved);
    Ok(())
}
