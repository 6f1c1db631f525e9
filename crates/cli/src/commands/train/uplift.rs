//! `discount train uplift`: S-, T-, X- and DR-learners on the Hillstrom e-mail experiment.

use std::path::PathBuf;

use discount_models::propensity::folds;
use discount_models::uplift::evaluation::{
    evaluate, stratified_holdout_split, ArmMetrics, BaseLearner, EvaluationConfig, Outcome,
    UpliftReport,
};
use discount_models::uplift::{hillstrom, MetaLearner, OfferCost};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::output::{print_json, Table};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum UpliftDataset {
    /// MineThatData e-mail experiment: Mens e-mail, Womens e-mail, none (64,000 customers).
    Hillstrom,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum HistoryArg {
    Log,
    AsGiven,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum OutcomeArg {
    /// Visited the website within two weeks.
    Visit,
    /// Bought within two weeks.
    Conversion,
    /// Dollars spent within two weeks (in cents).
    Spend,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum BaseArg {
    /// Logistic regression for binary outcomes, ridge regression for spend and effects.
    Linear,
    /// Gradient-boosted trees (log-loss for binary outcomes, squared loss for spend and effects).
    Gbdt,
}

/// Fit the response model that decides, from the shop's own store (the default), or the uplift
/// meta-learners on a public experiment (--dataset).
///
/// On the store: the joined decision log (every decision with its outcome), each decision's
/// features as of the moment it was made (the function the service decides with, so nothing that
/// happened later leaks in), one order model (logistic) and profit and discount models (ridge) per
/// offer of the active policy's ladder. Trained before the cut-off (default: the last 20% of the
/// log is held out), judged after it: AUC and log-loss of the order model, and the profit per
/// decision the model's choice would have earned (self-normalised IPS on the logged propensities)
/// against what the logging policy earned. The result is registered as a candidate; `discount
/// models promote ID` makes it decide, in every serving process, without a restart.
///
/// With --dataset hillstrom: fit the S/T/X/DR meta-learners on a seeded 70% of the randomised
/// experiment and score them on the other 30%: Qini and AUUC per e-mail, uplift@30%, and the IPS
/// value (assignment probability 1/3) of "send each customer the best e-mail for them, to the top
/// k%" against sending everyone one e-mail.
///
/// The held-out 30% is stratified by arm and outcome (each e-mail keeps its share and its outcome rate on
/// both sides). `--split` reads the held-out rows from a file instead (`row`, 0-based data rows of the
/// source CSV); `--folds` reads a `row,fold` file and scores every fold in turn, fitted on the others.
/// `--base` picks the base model of the T-, X- and DR-learners; the S-learner is always linear.
///
/// Examples:
///   discount train uplift
///   discount train uplift --cutoff 2026-11-20 --l2 3 --json
///   discount models promote uplift-20261203T101500-1a2b3c4d
///   discount train uplift --dataset hillstrom
///   discount train uplift --dataset hillstrom --outcome visit --base gbdt
///   discount train uplift --dataset hillstrom --outcome spend --margin 0.3 --cost-per-send 10
///   discount train uplift --dataset hillstrom --write-split benchmarks/uplift/split.csv --json
///   discount train uplift --dataset hillstrom --split test-rows.csv
///   discount train uplift --dataset hillstrom --folds folds.csv --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct UpliftArgs {
    /// A public experiment instead of the shop's store.
    #[arg(long, value_enum)]
    pub dataset: Option<UpliftDataset>,
    #[command(flatten)]
    pub store: super::response::StoreFitArgs,
    #[arg(long, value_enum, default_value = "conversion")]
    pub outcome: OutcomeArg,
    /// Hillstrom: the past year's spend as `log` (ln(1 + dollars)) or `as-given` (dollars).
    #[arg(long, value_enum, default_value = "log")]
    pub history: HistoryArg,
    /// Base model of the T-, X- and DR-learners (linear ranks the Hillstrom effects better; see
    /// docs/models.md).
    #[arg(long, value_enum, default_value = "linear")]
    pub base: BaseArg,
    /// Seed of the held-out split.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Share of customers held out.
    #[arg(long, default_value_t = 0.3)]
    pub holdout: f64,
    /// Margin on spend (spend outcome): the share of revenue that is profit.
    #[arg(long, default_value_t = 1.0)]
    pub margin: f64,
    /// Cost of each e-mail sent, in cents (spend outcome).
    #[arg(long, default_value_t = 0)]
    pub cost_per_send: i64,
    /// Cost paid only when a customer who got an e-mail buys, in cents (spend outcome).
    #[arg(long, default_value_t = 0)]
    pub cost_per_redemption: i64,
    /// Folder holding `hillstrom-minethatdata/` (default: $DISCOUNT_DATA_DIR, else ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Write the split (`row,holdout`, 1 = held out) here, for other tools to use the same split.
    #[arg(long)]
    pub write_split: Option<PathBuf>,
    /// A `row` CSV file of the held-out rows (instead of the seeded split).
    #[arg(long, value_name = "FILE", conflicts_with = "folds")]
    pub split: Option<PathBuf>,
    /// A `row,fold` CSV file: hold out each fold in turn (every row once, folds 0..k).
    #[arg(long, value_name = "FILE")]
    pub folds: Option<PathBuf>,
}

/// One held-out fold's report.
#[derive(Serialize)]
struct FoldReport {
    fold: usize,
    #[serde(flatten)]
    report: UpliftReport,
}

/// Mean over the folds of one learner's figures on one e-mail.
#[derive(Serialize)]
struct MeanArmMetrics {
    learner: String,
    arm: String,
    qini_auc: Option<f64>,
    auuc: f64,
    uplift_at_30: f64,
}

#[derive(Serialize)]
struct FoldsOutput {
    outcome: Outcome,
    base: BaseLearner,
    folds: Vec<FoldReport>,
    mean: Vec<MeanArmMetrics>,
}

fn mean_over_folds(folds: &[FoldReport]) -> Vec<MeanArmMetrics> {
    let Some(first) = folds.first() else {
        return Vec::new();
    };
    let mut means = Vec::new();
    for (l, learner) in first.report.learners.iter().enumerate() {
        for (a, arm) in learner.arms.iter().enumerate() {
            // Every fold fits the same learners on the same arms, in the same order.
            let each: Vec<&ArmMetrics> = folds
                .iter()
                .filter_map(|f| f.report.learners.get(l)?.arms.get(a))
                .collect();
            let mean = |value: &dyn Fn(&ArmMetrics) -> f64| {
                each.iter().map(|m| value(m)).sum::<f64>() / each.len().max(1) as f64
            };
            means.push(MeanArmMetrics {
                learner: learner.learner.clone(),
                arm: arm.arm.clone(),
                qini_auc: arm
                    .qini_auc
                    .map(|_| mean(&|m| m.qini_auc.unwrap_or(f64::NAN))),
                auuc: mean(&|m| m.auuc),
                uplift_at_30: mean(&|m| m.uplift_at_30),
            });
        }
    }
    means
}

pub fn run(args: &UpliftArgs, json: bool) -> anyhow::Result<()> {
    let path = super::data_dir(args.data_dir.as_deref()).join(hillstrom::RELATIVE_PATH);
    let experiment = hillstrom::load_with(
        &path,
        match args.history {
            HistoryArg::Log => hillstrom::HistoryScale::Log,
            HistoryArg::AsGiven => hillstrom::HistoryScale::AsGiven,
        },
    )?;
    if !(args.holdout > 0.0 && args.holdout < 1.0) {
        anyhow::bail!("--holdout must be in (0, 1), got {}", args.holdout);
    }
    let outcome = match args.outcome {
        OutcomeArg::Visit => Outcome::Visit,
        OutcomeArg::Conversion => Outcome::Conversion,
        OutcomeArg::Spend => Outcome::Spend,
    };
    let rows = experiment.arms.len();
    // Each evaluation is (fold, held-out flags); a single split is fold 0.
    let (splits, described): (Vec<(usize, Vec<bool>)>, String) = match (&args.split, &args.folds) {
        (Some(file), _) => (
            vec![(0, folds::read_split(file, rows)?)],
            format!("held-out rows from {}", file.display()),
        ),
        (None, Some(file)) => {
            let assignment = folds::read_folds(file, rows)?;
            let k = assignment.iter().max().map_or(0, |m| m + 1);
            (
                (0..k)
                    .map(|f| (f, assignment.iter().map(|a| *a == f).collect()))
                    .collect(),
                format!("each of {k} folds from {} held out in turn", file.display()),
            )
        }
        (None, None) => (
            vec![(
                0,
                stratified_holdout_split(
                    &experiment.arms,
                    &outcome.values(&experiment),
                    args.holdout,
                    args.seed,
                )?,
            )],
            format!(
                "a seeded {:.0}% held out, stratified by arm and outcome (seed {})",
                args.holdout * 100.0,
                args.seed
            ),
        ),
    };
    if let Some(out) = &args.write_split {
        if splits.len() != 1 {
            anyhow::bail!("--write-split writes one split; it cannot be used with --folds");
        }
        let flags: Vec<usize> = splits[0].1.iter().map(|h| usize::from(*h)).collect();
        folds::write_assignment(out, &flags, "holdout")?;
    }
    let mut config = EvaluationConfig::new(outcome);
    config.holdout_share = args.holdout;
    config.seed = args.seed;
    config.margin = args.margin;
    config.cost = OfferCost {
        per_send_minor: args.cost_per_send,
        per_redemption_minor: args.cost_per_redemption,
    };
    config.base = match args.base {
        BaseArg::Linear => BaseLearner::Linear,
        BaseArg::Gbdt => BaseLearner::Gbdt,
    };
    let bar = if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new((MetaLearner::ALL.len() * splits.len()) as u64);
        bar.set_style(
            ProgressStyle::with_template("fitting learners [{bar:30}] {pos}/{len} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let mut reports = Vec::with_capacity(splits.len());
    for (fold, holdout) in &splits {
        let report = evaluate(
            &experiment,
            holdout,
            &config,
            &MetaLearner::ALL,
            &mut |_| bar.inc(1),
        )?;
        reports.push(FoldReport {
            fold: *fold,
            report,
        });
    }
    bar.finish_and_clear();
    if json {
        if args.folds.is_some() {
            return print_json(&FoldsOutput {
                outcome,
                base: config.base,
                mean: mean_over_folds(&reports),
                folds: reports,
            });
        }
        return print_json(&reports[0].report);
    }
    println!(
        "Hillstrom, outcome {:?}, T/X/DR base {}: {described}\n",
        outcome,
        config.base.as_str()
    );
    for FoldReport { fold, report } in &reports {
        if args.folds.is_some() {
            println!("fold {fold}");
        }
        print_report(report, outcome);
    }
    if args.folds.is_some() {
        let mut table = Table::new(&["learner", "e-mail", "Qini", "AUUC", "uplift@30%"]);
        for m in mean_over_folds(&reports) {
            table.row(vec![
                m.learner,
                m.arm,
                m.qini_auc.map_or("-".into(), |q| format!("{q:.4}")),
                format!("{:.4}", m.auuc),
                format!("{:.5}", m.uplift_at_30),
            ]);
        }
        println!(
            "\nMean over the {} folds:\n{}",
            reports.len(),
            table.render()
        );
    }
    Ok(())
}

fn print_report(report: &UpliftReport, outcome: Outcome) {
    let unit = match outcome {
        Outcome::Visit => "visits per customer",
        Outcome::Conversion => "conversions per customer",
        Outcome::Spend => "net margin per customer, cents",
    };
    println!(
        "{} customers to fit, {} held out\n",
        report.train_rows, report.test_rows
    );
    let mut table = Table::new(&[
        "learner",
        "base",
        "e-mail",
        "Qini",
        "AUUC",
        "uplift@30%",
        "ATE",
        "fit s",
    ]);
    for l in &report.learners {
        for a in &l.arms {
            table.row(vec![
                l.learner.clone(),
                l.base.as_str().to_string(),
                a.arm.clone(),
                a.qini_auc.map_or("-".into(), |q| format!("{q:.4}")),
                format!("{:.4}", a.auuc),
                format!("{:.5}", a.uplift_at_30),
                format!("{:.5}", a.average_effect),
                format!("{:.2}", l.fit_seconds),
            ]);
        }
    }
    println!("{}", table.render());
    if outcome == Outcome::Spend {
        println!("AUUC for spend is the gain over random targeting per customer (cents).");
    }
    let mut targeting = Table::new(&[
        "learner",
        "top k%",
        "best e-mail (IPS)",
        "random e-mail",
        "sent",
    ]);
    for l in &report.learners {
        for t in &l.targeting {
            targeting.row(vec![
                l.learner.clone(),
                format!("{:.0}%", t.share * 100.0),
                format!("{:.5}", t.value),
                format!("{:.5}", t.random_value),
                format!("{:.1}%", t.sent * 100.0),
            ]);
        }
    }
    println!(
        "\nTargeting value on the held-out customers ({unit}):\n{}",
        targeting.render()
    );
    for (arm, value) in &report.everyone {
        println!("everyone gets {arm}: {value:.5}");
    }
}
