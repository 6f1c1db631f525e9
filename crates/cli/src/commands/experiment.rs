//! `discount experiment`: plan, assign and analyse A/B tests.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use discount_eval::ab::{self, Allocation};
use discount_eval::experiment::{analyze, read_observations, AnalysisConfig};
use discount_eval::report::{format_figure, Report};
use serde::Serialize;

use crate::output::{print_json, Table};

/// A/B tests: how many customers you need, who gets which arm, and what the result says.
///
/// Examples:
///   # How many customers per arm to detect a conversion lift from 10% to 12%?
///   discount experiment sample-size --p1 0.10 --p2 0.12
///
///   # ...or a revenue difference of 1.50 when revenue per customer has a standard deviation of 20:
///   discount experiment sample-size --delta 1.5 --sd 20
///
///   # Power of a test with 5000 customers per arm:
///   discount experiment power --p1 0.10 --p2 0.12 --n 5000
///
///   # Assign customers (stable: the same id always gets the same arm for the same salt):
///   discount experiment assign --salt spring-sale --arms control,offer --shares 0.5,0.5 alice bob
///   cut -d, -f1 customers.csv | discount experiment assign --salt spring-sale --arms control,offer
///
///   # Analyse results from a CSV with columns customer,arm,outcome[,pre_period]:
///   discount experiment analyze results.csv --control control --report experiment.html
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum ExperimentArgs {
    /// Analyse a finished or running experiment from customer,arm,outcome[,pre_period] rows.
    ///
    /// Prints each arm's mean, the difference from control with a Welch t interval (and a two-proportion
    /// z test when outcomes are 0/1), CUPED when a pre_period column is present (same effect, narrower
    /// interval), the sample-ratio-mismatch check, and the always-valid (mSPRT) p-value that stays valid
    /// however often you look. Rows should be in the order customers entered the experiment.
    #[command(verbatim_doc_comment)]
    Analyze {
        /// CSV with header: customer,arm,outcome[,pre_period].
        file: PathBuf,
        /// Control arm (default: the first arm in the file).
        #[arg(long)]
        control: Option<String>,
        /// Planned traffic shares for the sample-ratio check, e.g. control=0.5,offer=0.5 (default: equal).
        #[arg(long)]
        shares: Option<String>,
        /// Interval level: intervals cover 1 - alpha.
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Mixing variance tau^2 of the sequential test: the squared effect size you care about
        /// (default: (10% of the control mean)^2).
        #[arg(long)]
        mixing_variance: Option<f64>,
        /// Number of evenly spaced looks for the sequential results.
        #[arg(long, default_value_t = 20)]
        looks: usize,
        /// Also write a self-contained HTML report to this file.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Customers per arm needed to detect a difference (two-sided test, equal arms).
    ///
    /// Proportions: n = [z(1-a/2) sqrt(2 pbar (1-pbar)) + z(power) sqrt(p1(1-p1) + p2(1-p2))]^2 / (p1-p2)^2.
    /// Means: n = 2 sd^2 (z(1-a/2) + z(power))^2 / delta^2.
    #[command(verbatim_doc_comment)]
    SampleSize {
        #[command(flatten)]
        effect: EffectArgs,
        /// Probability of detecting the effect if it is real.
        #[arg(long, default_value_t = 0.8)]
        power: f64,
    },
    /// Power of a test with a given number of customers per arm.
    Power {
        #[command(flatten)]
        effect: EffectArgs,
        /// Customers per arm.
        #[arg(long)]
        n: u64,
    },
    /// Deterministic assignment: SHA-256 of the salt and the customer id picks the arm.
    ///
    /// Customer ids come from the arguments, or one per line on standard input. Output: customer,arm.
    #[command(verbatim_doc_comment)]
    Assign {
        /// Experiment salt: a new salt re-shuffles customers independently of other experiments.
        #[arg(long)]
        salt: String,
        /// Arm names, comma-separated.
        #[arg(long, default_value = "control,treatment")]
        arms: String,
        /// Traffic shares, comma-separated, same order as --arms (default: equal).
        #[arg(long)]
        shares: Option<String>,
        /// Customer ids (default: read from standard input).
        customers: Vec<String>,
    },
}

/// The effect to detect: conversion rates (--p1, --p2) or a difference in means (--delta, --sd).
#[derive(clap::Args, Debug)]
pub struct EffectArgs {
    /// Control conversion rate.
    #[arg(long, requires = "p2", conflicts_with_all = ["delta", "sd"])]
    pub p1: Option<f64>,
    /// Treatment conversion rate.
    #[arg(long, requires = "p1")]
    pub p2: Option<f64>,
    /// Difference in means to detect (e.g. revenue per customer).
    #[arg(long, requires = "sd")]
    pub delta: Option<f64>,
    /// Standard deviation of the outcome.
    #[arg(long, requires = "delta")]
    pub sd: Option<f64>,
    /// Significance level (two-sided).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
}

#[derive(Serialize)]
struct PlanOutput {
    kind: &'static str,
    alpha: f64,
    power: f64,
    n_per_arm: u64,
    p1: Option<f64>,
    p2: Option<f64>,
    delta: Option<f64>,
    sd: Option<f64>,
}

fn parse_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_shares(text: &str) -> anyhow::Result<Vec<f64>> {
    parse_list(text)
        .iter()
        .map(|s| {
            s.parse::<f64>()
                .with_context(|| format!("share `{s}` is not a number"))
        })
        .collect()
}

/// Runs `discount experiment ...`.
pub fn run(args: &ExperimentArgs, json: bool) -> anyhow::Result<()> {
    match args {
        ExperimentArgs::SampleSize { effect, power } => {
            let output = plan(effect, Some(*power), None)?;
            if json {
                return print_json(&output);
            }
            println!(
                "{} customers per arm ({} in total) for {:.0}% power at alpha = {} (two-sided).",
                output.n_per_arm,
                2 * output.n_per_arm,
                100.0 * output.power,
                output.alpha
            );
            Ok(())
        }
        ExperimentArgs::Power { effect, n } => {
            let output = plan(effect, None, Some(*n))?;
            if json {
                return print_json(&output);
            }
            println!(
                "Power {:.1}% with {} customers per arm at alpha = {} (two-sided).",
                100.0 * output.power,
                output.n_per_arm,
                output.alpha
            );
            Ok(())
        }
        ExperimentArgs::Assign {
            salt,
            arms,
            shares,
            customers,
        } => {
            let arms = parse_list(arms);
            let allocation = match shares {
                Some(s) => Allocation::new(arms, parse_shares(s)?)?,
                None => Allocation::even(arms)?,
            };
            let ids: Vec<String> = if customers.is_empty() {
                std::io::stdin()
                    .lock()
                    .lines()
                    .map(|l| l.map(|l| l.trim().to_string()))
                    .filter(|l| l.as_ref().map(|l| !l.is_empty()).unwrap_or(true))
                    .collect::<Result<_, _>>()
                    .context("reading customer ids from standard input")?
            } else {
                customers.clone()
            };
            if json {
                #[derive(Serialize)]
                struct Assignment<'a> {
                    customer: &'a str,
                    arm: &'a str,
                }
                let rows: Vec<Assignment> = ids
                    .iter()
                    .map(|c| Assignment {
                        customer: c,
                        arm: allocation.assign_name(salt, c),
                    })
                    .collect();
                return print_json(&rows);
            }
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            writeln!(out, "customer,arm")?;
            for id in &ids {
                writeln!(out, "{id},{}", allocation.assign_name(salt, id))?;
            }
            Ok(())
        }
        ExperimentArgs::Analyze {
            file,
            control,
            shares,
            alpha,
            mixing_variance,
            looks,
            report,
        } => {
            let observations =
                read_observations(file).with_context(|| format!("reading {}", file.display()))?;
            let planned_shares = shares
                .as_deref()
                .map(|text| {
                    parse_list(text)
                        .iter()
                        .map(|pair| {
                            let (arm, share) = pair
                                .split_once('=')
                                .with_context(|| format!("`{pair}`: write shares as arm=share"))?;
                            Ok((
                                arm.to_string(),
                                share.parse::<f64>().with_context(|| format!("`{pair}`"))?,
                            ))
                        })
                        .collect::<anyhow::Result<Vec<_>>>()
                })
                .transpose()?;
            let config = AnalysisConfig {
                control: control.clone(),
                planned_shares,
                alpha: *alpha,
                mixing_variance: *mixing_variance,
                n_looks: *looks,
                ..AnalysisConfig::default()
            };
            let analysis = analyze(&observations, &config)?;
            if let Some(path) = report {
                let mut html = Report::new(
                    "Experiment results",
                    &format!(
                        "A/B test read from {} ({} customers).",
                        file.display(),
                        observations.len()
                    ),
                );
                html.add_experiment("Experiment", &analysis);
                html.write(path)?;
                if !json {
                    eprintln!("report written to {}", path.display());
                }
            }
            if json {
                return print_json(&analysis);
            }
            let coverage = 100.0 * (1.0 - alpha);
            let mut table = Table::new(&[
                "arm",
                "customers",
                "mean",
                "difference",
                "lower",
                "upper",
                "p-value",
                "always-valid p",
            ]);
            for arm in &analysis.arms {
                let comparison = analysis.comparisons.iter().find(|c| c.treatment == arm.arm);
                let cell = |f: &dyn Fn(&discount_eval::experiment::Comparison) -> f64| {
                    comparison.map(|c| format_figure(f(c))).unwrap_or_default()
                };
                table.row(vec![
                    arm.arm.clone(),
                    arm.n.to_string(),
                    format_figure(arm.mean),
                    cell(&|c| c.means.difference),
                    cell(&|c| c.means.ci_lower),
                    cell(&|c| c.means.ci_upper),
                    cell(&|c| c.means.p_value),
                    cell(&|c| c.sequential.last().map(|s| s.p_value).unwrap_or(f64::NAN)),
                ]);
            }
            println!("Welch t test of the difference from control, {coverage:.0}% intervals:\n");
            print!("{}", table.render());
            for c in &analysis.comparisons {
                if let Some(p) = &c.proportions {
                    println!(
                        "{}: conversion {} vs {}, z = {:.3}, p = {}, {coverage:.0}% interval [{}, {}]",
                        c.treatment,
                        format_figure(p.treatment_mean),
                        format_figure(p.control_mean),
                        p.statistic,
                        format_figure(p.p_value),
                        format_figure(p.ci_lower),
                        format_figure(p.ci_upper)
                    );
                }
                if let Some(cuped) = &c.cuped {
                    println!(
                        "{}: CUPED (theta = {:.4}) removed {:.1}% of the variance: difference {} [{}, {}], p = {}",
                        c.treatment,
                        cuped.theta,
                        100.0 * cuped.variance_reduction,
                        format_figure(cuped.adjusted.difference),
                        format_figure(cuped.adjusted.ci_lower),
                        format_figure(cuped.adjusted.ci_upper),
                        format_figure(cuped.adjusted.p_value)
                    );
                }
            }
            let srm = &analysis.srm;
            println!(
                "\nSample-ratio check: chi-square = {:.3}, p = {} -> {}",
                srm.chi_square,
                format_figure(srm.p_value),
                if srm.mismatch {
                    "MISMATCH: traffic did not follow the plan; do not trust these results until assignment is fixed"
                } else {
                    "traffic split as planned"
                }
            );
            Ok(())
        }
    }
}

fn plan(effect: &EffectArgs, power: Option<f64>, n: Option<u64>) -> anyhow::Result<PlanOutput> {
    let alpha = effect.alpha;
    match (effect.p1, effect.p2, effect.delta, effect.sd) {
        (Some(p1), Some(p2), None, None) => {
            let (n_per_arm, power) = match (power, n) {
                (Some(power), _) => (ab::sample_size_proportions(p1, p2, alpha, power)?, power),
                (None, Some(n)) => (n, ab::power_proportions(p1, p2, n, alpha)?),
                (None, None) => bail!("give --power or --n"),
            };
            Ok(PlanOutput {
                kind: "proportions",
                alpha,
                power,
                n_per_arm,
                p1: Some(p1),
                p2: Some(p2),
                delta: None,
                sd: None,
            })
        }
        (None, None, Some(delta), Some(sd)) => {
            let (n_per_arm, power) = match (power, n) {
                (Some(power), _) => (ab::sample_size_means(delta, sd, alpha, power)?, power),
                (None, Some(n)) => (n, ab::power_means(delta, sd, n, alpha)?),
                (None, None) => bail!("give --power or --n"),
            };
            Ok(PlanOutput {
                kind: "means",
                alpha,
                power,
                n_per_arm,
                p1: None,
                p2: None,
                delta: Some(delta),
                sd: Some(sd),
            })
        }
        _ => bail!(
            "describe the effect with --p1 and --p2 (conversion rates) or --delta and --sd (means)"
        ),
    }
}
