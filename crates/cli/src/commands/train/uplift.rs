//! `discount train uplift`: S-, T-, X- and DR-learners on the Hillstrom e-mail experiment.

use std::path::PathBuf;

use discount_models::propensity::folds;
use discount_models::uplift::evaluation::{evaluate, holdout_split, EvaluationConfig, Outcome};
use discount_models::uplift::{hillstrom, MetaLearner, OfferCost};
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::{print_json, Table};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum UpliftDataset {
    /// MineThatData e-mail experiment: Mens e-mail, Womens e-mail, none (64,000 customers).
    Hillstrom,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum OutcomeArg {
    Conversion,
    Spend,
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
/// Examples:
///   discount train uplift
///   discount train uplift --cutoff 2026-11-20 --l2 3 --json
///   discount models promote uplift-20261203T101500-1a2b3c4d
///   discount train uplift --dataset hillstrom
///   discount train uplift --outcome spend --margin 0.3 --cost-per-send 10
///   discount train uplift --write-split benchmarks/uplift/split.csv --json
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
}

pub fn run(args: &UpliftArgs, json: bool) -> anyhow::Result<()> {
    let path = super::data_dir(args.data_dir.as_deref()).join(hillstrom::RELATIVE_PATH);
    let experiment = hillstrom::load(&path)?;
    if !(args.holdout > 0.0 && args.holdout < 1.0) {
        anyhow::bail!("--holdout must be in (0, 1), got {}", args.holdout);
    }
    let holdout = holdout_split(experiment.arms.len(), args.holdout, args.seed);
    if let Some(out) = &args.write_split {
        let flags: Vec<usize> = holdout.iter().map(|h| usize::from(*h)).collect();
        folds::write_assignment(out, &flags, "holdout")?;
    }
    let outcome = match args.outcome {
        OutcomeArg::Conversion => Outcome::Conversion,
        OutcomeArg::Spend => Outcome::Spend,
    };
    let mut config = EvaluationConfig::new(outcome);
    config.holdout_share = args.holdout;
    config.seed = args.seed;
    config.margin = args.margin;
    config.cost = OfferCost {
        per_send_minor: args.cost_per_send,
        per_redemption_minor: args.cost_per_redemption,
    };
    let bar = if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(MetaLearner::ALL.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("fitting learners [{bar:30}] {pos}/{len} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let report = evaluate(
        &experiment,
        &holdout,
        &config,
        &MetaLearner::ALL,
        &mut |_| bar.inc(1),
    )?;
    bar.finish_and_clear();
    if json {
        return print_json(&report);
    }
    let unit = match outcome {
        Outcome::Conversion => "conversions per customer",
        Outcome::Spend => "net margin per customer, cents",
    };
    println!(
        "Hillstrom, outcome {:?}: {} customers to fit, {} held out (seed {})\n",
        outcome, report.train_rows, report.test_rows, args.seed
    );
    let mut table = Table::new(&[
        "learner",
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
                a.arm.clone(),
                a.qini.map_or("-".into(), |q| format!("{q:.4}")),
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
    Ok(())
}
