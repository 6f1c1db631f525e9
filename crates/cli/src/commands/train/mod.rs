//! `discount train`: fit the learning models on real data and print their figures.

use discount_core::Config;

pub mod cf;
pub mod ltv;
pub mod propensity;
pub mod response;
pub mod sequence;
pub mod uplift;

/// Fit a model on a public data set and print its parameters and held-out figures.
///
/// Examples:
///   discount train ltv
///   discount train ltv --data-dir ../shared/data --json
///   discount train cf --model svd --folds 5
///   discount train cf --model svdpp
///   discount train cf --model als
///   discount train cf --model bpr --json
///   discount train sequence
///   discount train propensity --dataset online-shoppers --model all
///   discount train uplift --dataset hillstrom --outcome spend
///   discount train uplift            (the shop's own decision log; see discount models)
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum TrainCommand {
    /// BG/NBD and Gamma-Gamma lifetime value on CDNOW: parameters, log-likelihood, holdout metrics.
    Ltv(ltv::LtvArgs),
    /// Collaborative filtering on MovieLens 100K: cross-validated RMSE or precision/NDCG@10.
    Cf(cf::CfArgs),
    /// GRU over purchase sequences on CDNOW, compared with BG/NBD and RFM logistic.
    Sequence(sequence::SequenceArgs),
    /// Purchase propensity on UCI online shoppers: per-fold AUC, log-loss, ECE before/after calibration.
    Propensity(propensity::PropensityArgs),
    /// The response model that decides, from the store's joined decision log (registered as a
    /// candidate); or uplift S/T/X/DR-learners on Hillstrom (--dataset hillstrom).
    Uplift(uplift::UpliftArgs),
}

pub fn run(config: &Config, cmd: &TrainCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        TrainCommand::Uplift(args) if args.dataset.is_none() => response::run(config, args, json),
        TrainCommand::Ltv(args) => ltv::run(args, json),
        TrainCommand::Cf(args) => cf::run(args, json),
        TrainCommand::Sequence(args) => sequence::run(args, json),
        TrainCommand::Propensity(args) => propensity::run(args, json),
        TrainCommand::Uplift(args) => uplift::run(args, json),
    }
}

/// The data folder: the flag, else `$DISCOUNT_DATA_DIR`, else `../shared/data`.
pub(crate) fn data_dir(flag: Option<&std::path::Path>) -> std::path::PathBuf {
    match flag {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os("DISCOUNT_DATA_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::PathBuf::from("../shared/data")),
    }
}
