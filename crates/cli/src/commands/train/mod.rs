//! `discount train`: fit the learning models on real data and print their figures.

use discount_core::Config;

pub mod cf;
pub mod federated;
pub mod ltv;
pub mod propensity;
pub mod registry;
pub mod response;
pub mod sequence;
mod shop;
pub mod shop_propensity;
pub mod uplift;

/// Fit a model on the shop's store (ltv, cf, sequence) or a public data set and print its
/// parameters and held-out figures.
///
/// Examples:
///   discount --store shop.sqlite train ltv
///   discount train ltv --dataset cdnow --data-dir ../shared/data --json
///   discount train cf --model bpr
///   discount train cf --dataset movielens-100k --model svd --folds 5
///   discount train cf --dataset movielens-100k --model als --json
///   discount train sequence
///   discount train sequence --dataset cdnow
///   discount train propensity --dataset online-shoppers --model all
///   discount train uplift --dataset hillstrom --outcome spend
///   discount train uplift            (the shop's own decision log; see discount models)
///   discount train federated --store sqlite://north.sqlite --store sqlite://south.sqlite
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum TrainCommand {
    Ltv(ltv::LtvArgs),
    Cf(cf::CfArgs),
    Sequence(sequence::SequenceArgs),
    /// Purchase propensity on UCI online shoppers: per-fold AUC, log-loss, ECE before/after calibration.
    Propensity(propensity::PropensityArgs),
    /// The response model that decides, from the store's joined decision log (registered as a
    /// candidate); or uplift S/T/X/DR-learners on Hillstrom (--dataset hillstrom).
    Uplift(uplift::UpliftArgs),
    /// The propensity model by federated averaging across stores or regions, against pooled
    /// training.
    Federated(federated::FederatedArgs),
}

pub fn run(config: &Config, cmd: &TrainCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        TrainCommand::Uplift(args) if args.dataset.is_none() => response::run(config, args, json),
        TrainCommand::Ltv(args) => ltv::run(config, args, json),
        TrainCommand::Cf(args) => cf::run(config, args, json),
        TrainCommand::Sequence(args) => sequence::run(config, args, json),
        TrainCommand::Propensity(args) if args.dataset.is_none() => {
            shop_propensity::run(config, args, json)
        }
        TrainCommand::Propensity(args) => propensity::run(args, json),
        TrainCommand::Uplift(args) => uplift::run(args, json),
        TrainCommand::Federated(args) => federated::run(args, json),
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
