//! `discount retrain`: fit a candidate response model from the joined decision log, judge it
//! against the incumbent off-policy on the most recent window, and promote it only if it wins.

use discount_core::Config;
use discount_eval::ope::BootstrapConfig;
use discount_models::retrain_gate::{judge_fitted, GateReport};
use discount_server::models::{active_embeddings, load_response_model};
use serde::Serialize;

use super::train::response::{fit_on_store, print_fit, register, StoreFitArgs, KIND};
use crate::output::{print_json, Table};

/// Retrain the response model and promote it only if the log says it earns more.
///
/// 1. Fit a candidate on the joined decision log before the cut-off (as `discount train uplift`).
/// 2. On the decisions after the cut-off, estimate the profit per decision of the candidate's and
///    the incumbent's (the active model's) greedy choice with SNIPS and doubly robust estimators
///    and percentile bootstrap intervals; the DR reward model is fitted on the training window
///    with default settings. Without an active model the incumbent is the logging policy.
/// 3. Promote when the lower bound of the candidate's advantage over the incumbent (the mean
///    per-decision difference of their DR values, with a paired bootstrap interval) is above
///    --margin (minor units per decision); otherwise register the candidate as rejected, keep the
///    incumbent, and say why. Running serve processes follow a promotion within a second.
///
/// Works the same on a real shop's store and on a simulated one.
///
/// Examples:
///   discount retrain
///   discount retrain --margin 5 --bootstrap 500 --json
///   discount retrain --validation-share 0.3 --dry-run
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RetrainArgs {
    #[command(flatten)]
    pub store: StoreFitArgs,
    /// Profit per decision (minor units) the lower bound of the candidate's advantage must exceed.
    #[arg(long, default_value_t = 0.0)]
    pub margin: f64,
    /// Bootstrap resamples of the intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Significance level: the intervals cover 1 - alpha.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

#[derive(Serialize)]
struct RetrainOutput {
    candidate: Option<String>,
    incumbent: Option<String>,
    /// Why the active model could not be judged (it is then treated as absent).
    incumbent_unusable: Option<String>,
    promoted: bool,
    gate: GateReport,
}

pub fn run(config: &Config, args: &RetrainArgs, json: bool) -> anyhow::Result<()> {
    if !(args.margin.is_finite() && args.margin >= 0.0) {
        anyhow::bail!("--margin must be a finite number >= 0, got {}", args.margin);
    }
    let mut fitted = fit_on_store(config, &args.store)?;
    let active = fitted.log.active_model(KIND)?;
    let emb = active_embeddings(fitted.log.as_mut()).map_err(|e| anyhow::anyhow!(e))?;
    let (incumbent, incumbent_unusable) = match &active {
        None => (None, None),
        Some(row) => match load_response_model(row, emb.as_ref().map(|(_, e)| e)) {
            Ok(m) => match m
                .index_offers(&fitted.offers.iter().map(String::as_str).collect::<Vec<_>>())
            {
                Ok(_) => (Some((row.id.clone(), m)), None),
                Err(e) => (None, Some(format!("{}: {e}", row.id))),
            },
            Err(why) => (None, Some(why)),
        },
    };
    let bootstrap = BootstrapConfig::new(args.bootstrap, args.alpha, args.seed);
    let features: Vec<String> = fitted.model.features.clone();
    let gate = judge_fitted(
        fitted.train(),
        fitted.held_out(),
        &fitted.offers,
        &features,
        &fitted.spec_id,
        &fitted.model,
        incumbent.as_ref().map(|(id, m)| (id.as_str(), m)),
        args.margin,
        &bootstrap,
    )?;
    let candidate = if args.store.dry_run {
        None
    } else {
        let extra = [
            ("gate_dr_estimate", Some(gate.candidate.dr.estimate)),
            ("gate_dr_lower", Some(gate.candidate.dr.interval.lower)),
            ("gate_snips_estimate", Some(gate.candidate.snips.estimate)),
            ("gate_bar", Some(gate.bar)),
            ("gate_advantage", Some(gate.advantage.estimate)),
            ("gate_advantage_lower", Some(gate.advantage.lower)),
        ];
        let id = register(config, &fitted, &extra)?;
        if gate.promote {
            fitted.log.promote_model(&id)?;
        } else {
            fitted.log.reject_model(&id)?;
        }
        Some(id)
    };
    let out = RetrainOutput {
        promoted: gate.promote && candidate.is_some(),
        candidate,
        incumbent: incumbent.map(|(id, _)| id),
        incumbent_unusable,
        gate,
    };
    if json {
        return print_json(&out);
    }
    print_fit(&fitted);
    let mut table = Table::new(&["policy", "SNIPS", "interval", "DR", "interval", "matches"]);
    let g = &out.gate;
    let mut row = |p: &discount_models::retrain_gate::PolicyEstimate| {
        table.row(vec![
            p.policy.clone(),
            format!("{:.2}", p.snips.estimate),
            format!(
                "[{:.2}, {:.2}]",
                p.snips.interval.lower, p.snips.interval.upper
            ),
            format!("{:.2}", p.dr.estimate),
            format!("[{:.2}, {:.2}]", p.dr.interval.lower, p.dr.interval.upper),
            p.matches.to_string(),
        ]);
    };
    row(&g.candidate);
    if let Some(i) = &g.incumbent {
        row(i);
    }
    println!(
        "\nOff-policy estimates on the {} held-out decisions (profit per decision; the logging \
         policy earned {:.2}):\n{}",
        g.rows,
        g.logged_value,
        table.render()
    );
    if let Some(why) = &out.incumbent_unusable {
        println!("the active model cannot be judged and counts as absent: {why}");
    }
    println!(
        "advantage of the candidate: {:.2} per decision, interval [{:.2}, {:.2}]",
        g.advantage.estimate, g.advantage.lower, g.advantage.upper
    );
    println!("{}", g.reason);
    match (&out.candidate, out.promoted) {
        (Some(id), true) => println!("promoted {id}; serving processes follow within a second"),
        (Some(id), false) => println!("registered {id} as rejected"),
        (None, _) => println!("--dry-run: nothing registered"),
    }
    Ok(())
}
