//! `discount train ltv`: BG/NBD and Gamma-Gamma on the CDNOW sample.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use discount_models::ltv::{
    cdnow, holdout, rfm, BgNbd, BgNbdParams, GammaGamma, GammaGammaParams, HoldoutReport,
};
use serde::Serialize;

use crate::output::{count, print_json, Table};

/// Fit BG/NBD (repeat purchases and silent drop-out) and Gamma-Gamma (spend per purchase) on the
/// CDNOW sample of Fader, Hardie & Lee (2005): 2,357 customers, 39 calibration weeks; then
/// forecast each customer's purchases in weeks 40-78 and compare with what they bought.
///
/// Examples:
///   discount train ltv
///   discount train ltv --data-dir ../shared/data --json
///   discount train ltv --save-model ltv.json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct LtvArgs {
    /// Folder holding `cdnow/` (default: $DISCOUNT_DATA_DIR, else ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Write the fitted models as JSON to this file.
    #[arg(long)]
    pub save_model: Option<PathBuf>,
}

#[derive(Serialize)]
struct FittedLtv {
    bgnbd: BgNbd,
    gamma_gamma: GammaGamma,
}

#[derive(Serialize)]
struct LtvOutput {
    customers: usize,
    repeat_customers: usize,
    bgnbd: BgNbdParams,
    bgnbd_log_likelihood: f64,
    bgnbd_published: BgNbdParams,
    bgnbd_published_log_likelihood: f64,
    gamma_gamma: GammaGammaParams,
    gamma_gamma_published: GammaGammaParams,
    population_mean_spend: f64,
    holdout_weeks: f64,
    holdout: HoldoutReport,
    fit_seconds: f64,
}

pub fn run(args: &LtvArgs, json: bool) -> anyhow::Result<()> {
    let dir = super::data_dir(args.data_dir.as_deref()).join("cdnow");
    let sample = dir.join("CDNOW_sample.txt");
    let log = cdnow::read_sample(&sample).with_context(|| {
        format!(
            "reading the CDNOW sample (expected in {}; see --data-dir)",
            dir.display()
        )
    })?;
    let customers = rfm::summarise(&log, cdnow::calibration_end(), cdnow::holdout_end())?;
    let rfm: Vec<_> = customers.iter().map(|c| c.rfm).collect();

    let start = Instant::now();
    let bgnbd = BgNbd::fit(&rfm).context("fitting BG/NBD")?;
    let spend = rfm::repeat_spend(&customers)?;
    let gamma_gamma = GammaGamma::fit(&spend).context("fitting Gamma-Gamma")?;
    let fit_seconds = start.elapsed().as_secs_f64();

    let horizon = (cdnow::holdout_end() - cdnow::calibration_end()).num_days() as f64 / 7.0;
    let predicted: Vec<f64> = rfm
        .iter()
        .map(|c| bgnbd.expected_purchases(c, horizon))
        .collect::<Result<_, _>>()?;
    let actual: Vec<f64> = customers
        .iter()
        .map(|c| c.holdout_purchases as f64)
        .collect();
    let report = holdout::evaluate(&predicted, &actual)?;

    let published = BgNbdParams::new(0.243, 4.414, 0.793, 2.426)?;
    let out = LtvOutput {
        customers: customers.len(),
        repeat_customers: spend.len(),
        bgnbd: bgnbd.params,
        bgnbd_log_likelihood: bgnbd.log_likelihood,
        bgnbd_published: published,
        bgnbd_published_log_likelihood: -9582.4,
        gamma_gamma: gamma_gamma.params,
        gamma_gamma_published: GammaGammaParams {
            p: 6.25,
            q: 3.74,
            v: 15.44,
        },
        population_mean_spend: gamma_gamma.population_mean_spend(),
        holdout_weeks: horizon,
        holdout: report,
        fit_seconds,
    };
    if let Some(path) = &args.save_model {
        let text = serde_json::to_string_pretty(&FittedLtv { bgnbd, gamma_gamma })?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        return print_json(&out);
    }
    println!(
        "CDNOW sample: {} customers, {} with repeat purchases in the 39 calibration weeks\n",
        count(out.customers as i64),
        count(out.repeat_customers as i64)
    );
    let mut t = Table::new(&["model", "parameter", "fitted", "published"]);
    let p = &out.bgnbd;
    for (name, ours, theirs) in [
        ("r", p.r, published.r),
        ("alpha", p.alpha, published.alpha),
        ("a", p.a, published.a),
        ("b", p.b, published.b),
        ("log-likelihood", out.bgnbd_log_likelihood, -9582.4),
    ] {
        t.row(vec![
            "BG/NBD".into(),
            name.into(),
            format!("{ours:.4}"),
            format!("{theirs}"),
        ]);
    }
    let g = &out.gamma_gamma;
    for (name, ours, theirs) in [("p", g.p, 6.25), ("q", g.q, 3.74), ("v", g.v, 15.44)] {
        t.row(vec![
            "Gamma-Gamma".into(),
            name.into(),
            format!("{ours:.4}"),
            format!("{theirs}"),
        ]);
    }
    print!("{}", t.render());
    println!(
        "\nMean spend per purchase (population): ${:.2}",
        out.population_mean_spend
    );
    let h = &out.holdout;
    println!(
        "\nForecast of weeks 40-78 ({:.0} weeks) against actual purchases:",
        out.holdout_weeks
    );
    let mut t = Table::new(&["metric", "value"]);
    t.row(vec![
        "forecast total".into(),
        format!("{:.1}", h.predicted_total),
    ]);
    t.row(vec![
        "actual total".into(),
        format!("{:.0}", h.actual_total),
    ]);
    t.row(vec![
        "correlation per customer".into(),
        format!("{:.4}", h.correlation),
    ]);
    t.row(vec!["MAE per customer".into(), format!("{:.4}", h.mae)]);
    t.row(vec!["RMSE per customer".into(), format!("{:.4}", h.rmse)]);
    t.row(vec![
        "AUC of buys again".into(),
        format!("{:.4}", h.auc_buys_again),
    ]);
    print!("{}", t.render());
    println!("\nFitted both models in {:.3} s", out.fit_seconds);
    Ok(())
}
