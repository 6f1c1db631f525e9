//! `discount report`: one self-contained HTML file a person can read without the code.

use std::path::PathBuf;

use anyhow::{bail, Context};
use discount_eval::experiment::{analyze, read_observations, AnalysisConfig};
use discount_eval::obd::{default_data_dir, run_obd_experiment, ObdExperimentConfig};
use discount_eval::report::{standard_report, StandardReportInputs, UpliftEvaluation};

/// Write one self-contained HTML report (inline SVG plots) with what the engine can
/// tell about its policies: off-policy estimates with intervals per estimator (Open
/// Bandit Dataset, both directions), Qini and profit-versus-budget curves with a
/// calibration plot (from an uplift scoring file), and experiment results with
/// intervals over time (from an experiment file).
///
/// Examples:
///   discount report                                   # OPE on the Open Bandit Dataset
///   discount report --experiment ab.csv --control A   # plus an A/B test (customer,arm,outcome[,pre_period])
///   discount report --uplift scores.csv --margin 2500 --offer-cost 300
///       # scores.csv: outcome,treatment,predicted_uplift[,predicted_probability]
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ReportArgs {
    /// Where to write the report.
    #[arg(long, default_value = "report.html")]
    pub out: PathBuf,
    /// Leave out the Open Bandit Dataset section.
    #[arg(long)]
    pub no_obd: bool,
    /// Monte Carlo simulations for the Thompson Sampling policy's action distribution.
    #[arg(long, default_value_t = 100_000)]
    pub obd_simulations: usize,
    /// An experiment file (customer,arm,outcome[,pre_period]) to analyse.
    #[arg(long)]
    pub experiment: Option<PathBuf>,
    /// The experiment's control arm (default: the first arm in the file).
    #[arg(long)]
    pub control: Option<String>,
    /// An uplift scoring file: outcome,treatment,predicted_uplift[,predicted_probability].
    #[arg(long)]
    pub uplift: Option<PathBuf>,
    /// Margin earned per incremental purchase, minor units (for the profit curve).
    #[arg(long, default_value_t = 2_500)]
    pub margin: i64,
    /// Cost of one offer, minor units.
    #[arg(long, default_value_t = 300)]
    pub offer_cost: i64,
}

fn read_uplift(args: &ReportArgs, path: &PathBuf) -> anyhow::Result<UpliftEvaluation> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(o), Some(t), Some(u)) = (
        column("outcome"),
        column("treatment"),
        column("predicted_uplift"),
    ) else {
        bail!(
            "{}: needs the columns outcome, treatment, predicted_uplift",
            path.display()
        );
    };
    let p = column("predicted_probability");
    let mut e = UpliftEvaluation {
        outcome: vec![],
        treatment: vec![],
        predicted_uplift: vec![],
        predicted_probability: p.map(|_| vec![]),
        margin_per_conversion: args.margin as f64,
        cost_per_offer: args.offer_cost as f64,
        currency: "USD".into(),
    };
    for (i, row) in reader.records().enumerate() {
        let row = row?;
        let line = i + 2;
        let num = |c: usize, name: &str| -> anyhow::Result<f64> {
            let text = row.get(c).unwrap_or("").trim();
            text.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .with_context(|| {
                    format!(
                        "{}:{line}: field `{name}`: not a number (value: {text})",
                        path.display()
                    )
                })
        };
        e.outcome.push(num(o, "outcome")?);
        let treated = num(t, "treatment")?;
        if treated != 0.0 && treated != 1.0 {
            bail!(
                "{}:{line}: field `treatment`: must be 0 or 1 (value: {treated})",
                path.display()
            );
        }
        e.treatment.push(treated as u8);
        e.predicted_uplift.push(num(u, "predicted_uplift")?);
        if let (Some(c), Some(v)) = (p, e.predicted_probability.as_mut()) {
            v.push(num(c, "predicted_probability")?);
        }
    }
    Ok(e)
}

pub fn run(args: &ReportArgs, json: bool) -> anyhow::Result<()> {
    let mut inputs = StandardReportInputs {
        obd: None,
        uplift: None,
        experiment: None,
    };
    if !args.no_obd {
        let mut config = ObdExperimentConfig::new(default_data_dir());
        config.n_sim = args.obd_simulations;
        eprintln!("estimating policy values on the Open Bandit Dataset ...");
        inputs.obd = Some(
            run_obd_experiment(&config)
                .context("the Open Bandit Dataset section (use --no-obd to leave it out)")?,
        );
    }
    if let Some(path) = &args.experiment {
        let observations = read_observations(path)?;
        let config = AnalysisConfig {
            control: args.control.clone(),
            ..AnalysisConfig::default()
        };
        inputs.experiment = Some(analyze(&observations, &config)?);
    }
    if let Some(path) = &args.uplift {
        inputs.uplift = Some(read_uplift(args, path)?);
    }
    if inputs.obd.is_none() && inputs.experiment.is_none() && inputs.uplift.is_none() {
        bail!(
            "nothing to report: give --experiment or --uplift, or leave the Open Bandit section on"
        );
    }
    let report = standard_report(
        "Discount engine: policy value and experiment report",
        &inputs,
    )?;
    report.write(&args.out)?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "report": args.out.display().to_string() })
        );
    } else {
        println!("report written to {}", args.out.display());
    }
    Ok(())
}
