//! `discount ope`: estimate what a policy would have earned, from the log of another policy.

use std::path::PathBuf;

use anyhow::{bail, Context};
use discount_eval::obd::{
    self, default_data_dir, load_campaign_log, policy_action_dist, read_obd_log, BehaviorPolicy,
    ObdPaths, RewardModelChoice,
};
use discount_eval::ope::{
    self, cross_fit, parse_estimator_list, BootstrapConfig, OpeInputs, RoundTensor,
};
use discount_eval::report::{format_figure, Report};
use serde::Serialize;

use crate::output::{print_json, Table};

/// Off-policy evaluation: what would a policy have earned, estimated from a log of another one.
///
/// The log is a CSV in the Open Bandit Dataset layout (timestamp, item_id, position, click,
/// propensity_score, user_feature_*), either a file (--log) or the dataset itself (--dataset obd).
/// Each estimator prints its estimate of the mean reward per round, a bootstrap interval and the
/// effective sample size of its importance weights (small = a few rounds dominate: trust it less).
///
/// Examples:
///   # The standard experiment: value of Thompson Sampling estimated from the random policy's log.
///   # The "observed" column is the click rate BTS actually had when it ran.
///   discount ope --dataset obd --behavior random --policy bts
///
///   # The reverse: the uniform random policy estimated from the BTS log.
///   discount ope --dataset obd --behavior bts --policy random
///
///   # Your own log and policy (action,position,probability CSV), a few estimators, JSON output:
///   discount ope --log mylog.csv --policy policy.csv --estimators ips,snips,dr --json
///
///   # This shop's own log: what would "always no offer" have earned, in profit per decision?
///   discount export decisions --out decisions.jsonl
///   discount ope --decisions decisions.jsonl --policy offer:none --estimators ips,snips,dr
///
///   # Write an HTML report with the estimates and their intervals:
///   discount ope --dataset obd --behavior random --policy bts --report ope.html
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct OpeArgs {
    /// Logged data: CSV in the Open Bandit Dataset layout.
    #[arg(long, conflicts_with = "dataset")]
    pub log: Option<PathBuf>,

    /// This shop's decision log as `discount export decisions` writes it (JSON Lines or CSV):
    /// the rounds are the decisions with an outcome, the actions the rungs served (in name
    /// order), the context their feature vectors. Evaluate `--policy uniform` or `offer:ID`.
    /// Without --decisions, --log or --dataset, the store's own decision log is read.
    #[arg(long, conflicts_with_all = ["log", "dataset"])]
    pub decisions: Option<PathBuf>,

    /// With --decisions: the reward, `profit` (minor units) or `converted` (0 or 1).
    #[arg(long, default_value = "profit", value_parser = ["profit", "converted"])]
    pub reward: String,

    /// A public dataset instead of --log. Only `obd` (Open Bandit Dataset) is known.
    #[arg(long, value_parser = ["obd"])]
    pub dataset: Option<String>,

    /// Campaign of the Open Bandit Dataset.
    #[arg(long, default_value = "all")]
    pub campaign: String,

    /// Which log of the Open Bandit Dataset to read: `random` or `bts`.
    #[arg(long, default_value = "random")]
    pub behavior: String,

    /// Data directory holding open-bandit-dataset/ (default: $DISCOUNT_DATA_DIR or ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// The policy to evaluate: `bts` (Thompson Sampling with the dataset's prior), `random` or `uniform`
    /// (1/n_actions everywhere), `offer:ID` (always the action named ID; with --decisions), or a
    /// CSV file with columns action,position,probability (or round,action,position,probability).
    #[arg(long, default_value = "bts")]
    pub policy: String,

    /// BTS prior file (item_id,alpha,beta) for --policy bts with --log (default: the dataset's prior).
    #[arg(long)]
    pub bts_prior: Option<PathBuf>,

    /// Estimators, comma-separated: replay, ips[:clip], snips, dm, dr[:clip], sndr, switch-dr[:tau], dr-os[:lambda].
    #[arg(long, default_value = "ips,snips,dm,dr,sndr,switch-dr:100,dr-os:100")]
    pub estimators: String,

    /// Bootstrap resamples for the intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,

    /// Interval level: the intervals cover 1 - alpha.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,

    /// Seed of the Monte Carlo, the cross-fitting folds and the bootstrap.
    #[arg(long, default_value_t = 12345)]
    pub seed: u64,

    /// Monte Carlo simulations for the BTS action distribution.
    #[arg(long, default_value_t = 100_000)]
    pub n_sim: usize,

    /// Folds of reward-model cross-fitting (for dm and the dr family).
    #[arg(long, default_value_t = 3)]
    pub folds: usize,

    /// Reward model: `mean` (per item and position, shrunk by a Beta prior) or `logistic` (adds user features).
    #[arg(long, default_value = "mean", value_parser = ["mean", "logistic"])]
    pub reward_model: String,

    /// Strength of the Beta prior of the reward model, in pseudo-rounds.
    #[arg(long, default_value_t = 10.0)]
    pub prior_strength: f64,

    /// Also write a self-contained HTML report to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Serialize)]
struct OpeOutput {
    log: String,
    policy: String,
    n_rounds: usize,
    reward_model: String,
    /// Mean reward of the evaluated policy's own log, when the dataset has it.
    observed_value: Option<f64>,
    logged_policy_value: f64,
    estimates: Vec<ope::EstimateResult>,
}

/// Runs `discount ope`.
pub fn run(config: &discount_core::Config, args: &OpeArgs, json: bool) -> anyhow::Result<()> {
    let estimators = parse_estimator_list(&args.estimators)?;
    if estimators.is_empty() {
        bail!("--estimators lists no estimator");
    }
    let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    let paths = ObdPaths::new(&data_dir, &args.campaign);
    let mut action_names: Vec<String> = Vec::new();
    let (log, log_name, behavior) = match (&args.log, &args.dataset) {
        _ if args.decisions.is_some() => {
            let path = args
                .decisions
                .as_deref()
                .unwrap_or(std::path::Path::new(""));
            let rows = super::export::read_decisions(path)?;
            let (log, names) = decisions_log(rows, &path.display().to_string(), &args.reward)?;
            action_names = names;
            (log, path.display().to_string(), None)
        }
        (Some(path), _) => (
            read_obd_log(path, None)
                .with_context(|| format!("reading the log {}", path.display()))?
                .log,
            path.display().to_string(),
            None,
        ),
        (None, Some(_)) => {
            let behavior: BehaviorPolicy = args.behavior.parse()?;
            (
                load_campaign_log(&paths, behavior).with_context(|| {
                    format!("reading the Open Bandit Dataset under {} (set --data-dir or DISCOUNT_DATA_DIR)", data_dir.display())
                })?
                .log,
                format!("obd/{}/{}", behavior.as_str(), args.campaign),
                Some(behavior),
            )
        }
        (None, None) => {
            // The shop's own joined decision log, straight from the store.
            let url = &config.store.url;
            let origin = format!("the store {}", super::ingest::redact(url));
            let rows = super::export::store_decisions(url, i64::MIN, i64::MAX)?;
            let (log, names) = decisions_log(rows, &origin, &args.reward).with_context(|| {
                "evaluating the store's decision log (or give --decisions FILE, --log FILE or \
                 --dataset obd)"
            })?;
            action_names = names;
            (log, origin, None)
        }
    };
    let log = &log;
    let (action_dist, evaluated): (RoundTensor, Option<BehaviorPolicy>) = match args.policy.as_str()
    {
        "uniform" => (
            RoundTensor::uniform(log.n_rounds(), log.n_actions, log.n_positions),
            None,
        ),
        "random" => (
            RoundTensor::uniform(log.n_rounds(), log.n_actions, log.n_positions),
            Some(BehaviorPolicy::Random),
        ),
        "bts" => {
            let table = match &args.bts_prior {
                Some(prior) => {
                    let prior = obd::read_bts_prior(prior)?;
                    RoundTensor::shared(
                        log.n_rounds(),
                        log.n_actions,
                        log.n_positions,
                        obd::bts_action_dist(&prior, log.n_positions, args.n_sim, args.seed)?,
                    )?
                }
                None => policy_action_dist(&paths, BehaviorPolicy::Bts, log, args.n_sim, args.seed)
                    .context("computing the BTS action distribution (needs the dataset's bts_prior file or --bts-prior)")?,
            };
            (table, Some(BehaviorPolicy::Bts))
        }
        named if named.starts_with("offer:") => {
            let id = &named["offer:".len()..];
            let Some(index) = action_names.iter().position(|a| a == id) else {
                bail!(
                    "--policy {named}: no decision in the log served `{id}` (actions: {}); offer:ID needs --decisions",
                    action_names.join(", ")
                );
            };
            let mut table = vec![0.0; log.n_actions * log.n_positions];
            table[index * log.n_positions] = 1.0;
            (
                RoundTensor::shared(log.n_rounds(), log.n_actions, log.n_positions, table)?,
                None,
            )
        }
        file => (
            ope::read_action_dist_csv(
                std::path::Path::new(file),
                log.n_rounds(),
                log.n_actions,
                log.n_positions,
            )
            .with_context(|| format!("reading the policy file {file}"))?,
            None,
        ),
    };
    // The evaluated policy's own on-policy value, when the dataset has its log (and it is not the same log).
    let observed_value = match (behavior, evaluated) {
        (Some(b), Some(e)) if b != e => Some(load_campaign_log(&paths, e)?.log.mean_reward()),
        _ => None,
    };
    let reward_model = match args.reward_model.as_str() {
        "logistic" => RewardModelChoice::Logistic {
            prior_strength: args.prior_strength,
            l2: 1.0,
        },
        _ => RewardModelChoice::EmpiricalMean {
            prior_strength: args.prior_strength,
        },
    };
    let model = reward_model.build()?;
    let estimated_rewards = if estimators.iter().any(|e| e.needs_reward_model()) {
        Some(cross_fit(model.as_ref(), log, args.folds, args.seed)?)
    } else {
        None
    };
    let inputs = OpeInputs::prepare(log, &action_dist, estimated_rewards.as_ref())?;
    let bootstrap = BootstrapConfig::new(args.bootstrap, args.alpha, args.seed);
    let estimates = ope::evaluate(&inputs, &estimators, &bootstrap)?;
    let output = OpeOutput {
        log: log_name,
        policy: args.policy.clone(),
        n_rounds: log.n_rounds(),
        reward_model: model.name(),
        observed_value,
        logged_policy_value: log.mean_reward(),
        estimates,
    };
    if let Some(path) = &args.report {
        let mut report = Report::new(
            "Off-policy evaluation",
            &format!(
                "Estimated value of policy `{}` from the log {}.",
                output.policy, output.log
            ),
        );
        report.add_ope(
            &format!("Value of `{}` estimated from {}", output.policy, output.log),
            &format!(
                "{} logged rounds; reward model {} with {}-fold cross-fitting; the logging policy itself averaged {}.",
                output.n_rounds,
                output.reward_model,
                args.folds,
                format_figure(output.logged_policy_value)
            ),
            &output.estimates,
            observed_value.map(|v| ("observed when it ran", v)),
        );
        report.write(path)?;
        if !json {
            eprintln!("report written to {}", path.display());
        }
    }
    if json {
        return print_json(&output);
    }
    println!(
        "Policy `{}` evaluated on {} ({} rounds; the logging policy's own mean reward: {})",
        output.policy,
        output.log,
        output.n_rounds,
        format_figure(output.logged_policy_value)
    );
    println!(
        "Reward model: {}; {:.0}% bootstrap intervals from {} resamples.\n",
        output.reward_model,
        100.0 * (1.0 - args.alpha),
        args.bootstrap
    );
    let mut header = vec!["estimator", "estimate", "lower", "upper", "effective n"];
    if observed_value.is_some() {
        header.push("relative error");
    }
    let mut table = Table::new(&header);
    for e in &output.estimates {
        let mut row = vec![
            e.estimator.clone(),
            format_figure(e.estimate),
            format_figure(e.interval.lower),
            format_figure(e.interval.upper),
            format!("{:.0}", e.effective_sample_size),
        ];
        if let Some(truth) = observed_value {
            row.push(format!(
                "{:.1}%",
                100.0 * ((e.estimate - truth) / truth).abs()
            ));
        }
        table.row(row);
    }
    print!("{}", table.render());
    if let Some(truth) = observed_value {
        println!(
            "\nObserved when `{}` ran (its own log's mean reward): {}",
            output.policy,
            format_figure(truth)
        );
    }
    Ok(())
}

/// A bandit log from an exported decision log: the decisions with an outcome, one position, the
/// rungs served as actions (in name order, returned), the reward chosen, the features as context.
fn decisions_log(
    rows: Vec<super::export::LoggedDecision>,
    origin: &str,
    reward: &str,
) -> anyhow::Result<(discount_eval::ope::BanditLog, Vec<String>)> {
    let rows: Vec<_> = rows.into_iter().filter(|r| r.joined).collect();
    if rows.is_empty() {
        bail!(
            "{origin}: no decision with a known outcome to evaluate (outcomes are joined when their attribution window closes)"
        );
    }
    let mut names: Vec<String> = rows.iter().map(|r| r.action.clone()).collect();
    names.sort();
    names.dedup();
    let index = |a: &str| names.iter().position(|n| n == a).unwrap_or(0) as u32;
    let width = rows[0].features.len();
    let context = (width > 0 && rows.iter().all(|r| r.features.len() == width))
        .then(|| {
            discount_eval::ope::Matrix::new(
                rows.len(),
                width,
                rows.iter()
                    .flat_map(|r| r.features.iter().copied())
                    .collect(),
            )
        })
        .transpose()?;
    let log = discount_eval::ope::BanditLog::new(
        names.len(),
        1,
        rows.iter().map(|r| index(&r.action)).collect(),
        None,
        rows.iter()
            .map(|r| match reward {
                "converted" => f64::from(u8::from(r.converted.unwrap_or(false))),
                _ => r.profit.unwrap_or(0) as f64,
            })
            .collect(),
        rows.iter().map(|r| r.propensity).collect(),
        context,
    )
    .with_context(|| format!("{origin}: building the log"))?;
    Ok((log, names))
}
