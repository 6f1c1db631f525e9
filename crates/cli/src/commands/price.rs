//! `discount price`: shelf prices, stock and household price sensitivity from weekly sales and purchase
//! occasions (docs/pricing.md).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use discount_eval::report::{Report, Section};
use discount_eval::svg::{BarChart, LineChart, Series};
use discount_pricing::datasets;
use discount_pricing::dml::{self, DmlConfig, Nuisance};
use discount_pricing::elasticity::{self, ElasticityConfig, Estimate};
use discount_pricing::weekly::WeeklySales;
use serde::Serialize;

use crate::output::{count, print_json, Table};

const CHART_WIDTH: u32 = 760;
const CHART_HEIGHT: u32 = 380;

/// Prices and stock: elasticities, demand forecasts, price optimisation, markdowns, price experiments and
/// household price sensitivity.
///
/// Weekly sales are a CSV `series,date,units,price` with optional `product,market,promo,feature,display,
/// cost,stock` and covariate columns; choice occasions a CSV `occasion,household,alternative,chosen,price`.
/// The public scanner panels convert into them (`discount price import`), or pass `--dataset NAME`.
///
/// Examples:
///   discount price import orange-juice --out oj.csv
///   discount price elasticity --dataset orange-juice --method both --heterogeneity INCOME
///   discount price elasticity --file oj.csv --json
///   discount price choice --dataset margarine
///   discount price forecast --dataset tuna --horizon 4
///   discount price optimize --dataset tuna --max-change 0.1 --min-margin 0.2
///   discount price markdown --stock 60 --weeks 8
///   discount price bandit --rounds 52
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum PriceCommand {
    /// Convert a public scanner panel (orange-juice, tuna, margarine) into the input formats.
    Import(ImportArgs),
    /// Own- and cross-price elasticities and promotion lift (fixed effects and double machine learning).
    Elasticity(ElasticityArgs),
}

pub fn run(cmd: &PriceCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        PriceCommand::Import(args) => run_import(args, json),
        PriceCommand::Elasticity(args) => run_elasticity(args, json),
    }
}

/// The scanner-panel folder: the flag, else `$DISCOUNT_DATA_DIR/bayesm-scanner-panels`, else
/// `../shared/data/bayesm-scanner-panels`.
fn panels_dir(flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os("DISCOUNT_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("../shared/data"))
            .join("bayesm-scanner-panels"),
    }
}

/// Converts a named panel into `output`.
fn convert(name: &str, from: &Path, output: &Path) -> anyhow::Result<datasets::ConvertSummary> {
    let summary = match name {
        "orange-juice" => datasets::convert_orange_juice(
            &from.join("orangeJuice_yx.csv"),
            &from.join("orangeJuice_storedemo.csv"),
            output,
        )?,
        "tuna" => datasets::convert_tuna(&from.join("tuna.csv"), output)?,
        "margarine" => datasets::convert_margarine(
            &from.join("margarine_choicePrice.csv"),
            &from.join("margarine_demos.csv"),
            output,
        )?,
        other => bail!("unknown dataset `{other}` (orange-juice, tuna, margarine)"),
    };
    Ok(summary)
}

/// A converted copy of a named panel in the temporary folder, removed when dropped.
struct Converted(PathBuf);

impl Drop for Converted {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn converted(name: &str, data_dir: Option<&Path>) -> anyhow::Result<Converted> {
    let path =
        std::env::temp_dir().join(format!("discount-price-{name}-{}.csv", std::process::id()));
    let from = panels_dir(data_dir);
    convert(name, &from, &path).with_context(|| {
        format!(
            "converting {name} from {} (set --data-dir or DISCOUNT_DATA_DIR)",
            from.display()
        )
    })?;
    Ok(Converted(path))
}

/// Where weekly sales come from.
#[derive(clap::Args, Debug, Clone)]
pub struct WeeklyInput {
    /// Weekly sales CSV (series,date,units,price[,product,market,promo,feature,display,cost,stock,...]).
    #[arg(long, conflicts_with = "dataset")]
    pub file: Option<PathBuf>,
    /// A public panel instead of --file: orange-juice or tuna.
    #[arg(long, value_parser = ["orange-juice", "tuna"])]
    pub dataset: Option<String>,
    /// Folder holding the bayesm CSV files (default: $DISCOUNT_DATA_DIR/bayesm-scanner-panels).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl WeeklyInput {
    fn load(&self) -> anyhow::Result<(WeeklySales, String)> {
        match (&self.file, &self.dataset) {
            (Some(path), _) => Ok((
                WeeklySales::read(path).with_context(|| format!("reading {}", path.display()))?,
                path.display().to_string(),
            )),
            (None, Some(name)) => {
                let file = converted(name, self.data_dir.as_deref())?;
                Ok((WeeklySales::read(&file.0)?, name.clone()))
            }
            (None, None) => {
                bail!("give weekly sales with --file FILE or --dataset orange-juice|tuna")
            }
        }
    }
}

fn print_rejections(summary: &discount_pricing::weekly::ReadSummary) {
    if summary.rows_rejected == 0 {
        return;
    }
    eprintln!(
        "{} of {} rows rejected (kept {}):",
        count(summary.rows_rejected as u64),
        count(summary.rows_read as u64),
        count(summary.rows_kept as u64)
    );
    for r in summary.rejections.iter().take(10) {
        eprintln!("  {r}");
    }
    if summary.rejections.len() > 10 {
        eprintln!("  ... and {} more", summary.rejections.len() - 10);
    }
}

fn write_report(report: &Report, path: &Path, json: bool) -> anyhow::Result<()> {
    report
        .write(path)
        .with_context(|| format!("writing {}", path.display()))?;
    if !json {
        println!("\nReport written to {}", path.display());
    }
    Ok(())
}

fn interval(e: &Estimate) -> String {
    format!("[{:.3}, {:.3}]", e.lower, e.upper)
}

// ---------------------------------------------------------------------------------------------- import

/// Convert a public scanner panel into the weekly sales or choice occasions format.
///
///   orange-juice  Dominick's orange juice: one series per store and brand, price per package,
///                 promo = deal, feature, cost from the gross margin, store demographics as covariates
///   tuna          Dominick's canned tuna: one series per brand, cost = wholesale price, display
///   margarine     household purchase occasions with the 10 products' prices and household income
///
/// Examples:
///   discount price import orange-juice --out oj.csv
///   discount price import margarine --out margarine.csv --data-dir ../shared/data/bayesm-scanner-panels
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ImportArgs {
    /// orange-juice, tuna or margarine.
    #[arg(value_parser = ["orange-juice", "tuna", "margarine"])]
    pub dataset: String,
    /// Output CSV.
    #[arg(long)]
    pub out: PathBuf,
    /// Folder holding the bayesm CSV files (default: $DISCOUNT_DATA_DIR/bayesm-scanner-panels).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

fn run_import(args: &ImportArgs, json: bool) -> anyhow::Result<()> {
    let from = panels_dir(args.data_dir.as_deref());
    let summary = convert(&args.dataset, &from, &args.out)
        .with_context(|| format!("converting {} from {}", args.dataset, from.display()))?;
    if json {
        return print_json(&summary);
    }
    println!(
        "{}: {} source rows -> {} rows in {}",
        summary.dataset,
        count(summary.rows_read as u64),
        count(summary.rows_written as u64),
        summary.output.display()
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------ elasticity

/// Own- and cross-price elasticities and promotion lift, per product and pooled, with intervals.
///
/// fe:   ln units on ln prices (own and the other products' in the same market and week), promotion,
///       feature and display, with series and week fixed effects; errors clustered by market
///       (Newey-West for a single series).
/// dml:  double machine learning: ln units and ln price each predicted from everything else by
///       gradient-boosted trees fitted on other folds of markets; the elasticity is the regression of
///       the one residual on the other. --heterogeneity COLUMN lets the elasticity move with a covariate
///       (e.g. the store's INCOME) and prints it at the covariate's quartiles.
///
/// Examples:
///   discount price elasticity --dataset orange-juice
///   discount price elasticity --dataset orange-juice --method dml --heterogeneity INCOME
///   discount price elasticity --file sales.csv --method both --report elasticity.html --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ElasticityArgs {
    #[command(flatten)]
    pub input: WeeklyInput,
    /// fe (fixed effects), dml (double machine learning) or both.
    #[arg(long, default_value = "fe", value_parser = ["fe", "dml", "both"])]
    pub method: String,
    /// Covariate column whose effect on the elasticity DML estimates (e.g. INCOME).
    #[arg(long)]
    pub heterogeneity: Option<String>,
    /// DML nuisance model: gbdt or ridge.
    #[arg(long, default_value = "gbdt", value_parser = ["gbdt", "ridge"])]
    pub nuisance: String,
    /// Trees of the GBDT nuisance.
    #[arg(long, default_value_t = 100)]
    pub trees: usize,
    /// Cross-fitting folds of DML.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Interval level.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Seed of the DML folds and trees.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Leave out the cross-price terms.
    #[arg(long)]
    pub no_cross: bool,
    /// Write an HTML report (elasticities with intervals, demand curves) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Serialize)]
struct ElasticityOutput {
    input: String,
    rows_read: usize,
    rows_rejected: usize,
    fixed_effects: Option<elasticity::ElasticityResult>,
    fixed_effects_seconds: Option<f64>,
    dml: Option<dml::DmlResult>,
    dml_seconds: Option<f64>,
}

fn run_elasticity(args: &ElasticityArgs, json: bool) -> anyhow::Result<()> {
    let (sales, input) = args.input.load()?;
    print_rejections(&sales.summary);
    let want_fe = args.method != "dml";
    let want_dml = args.method != "fe";
    let (fixed_effects, fixed_effects_seconds) = if want_fe {
        let started = Instant::now();
        let config = ElasticityConfig {
            level: args.level,
            cross_prices: !args.no_cross,
            ..ElasticityConfig::default()
        };
        let result = elasticity::estimate(&sales, &config)?;
        (Some(result), Some(started.elapsed().as_secs_f64()))
    } else {
        (None, None)
    };
    let (dml_result, dml_seconds) = if want_dml {
        let started = Instant::now();
        let nuisance = match args.nuisance.as_str() {
            "ridge" => Nuisance::Ridge { lambda: 1.0 },
            _ => Nuisance::Gbdt {
                iterations: args.trees,
                max_depth: 5,
                learning_rate: 0.1,
            },
        };
        let config = DmlConfig {
            folds: args.folds,
            seed: args.seed,
            nuisance,
            heterogeneity: args.heterogeneity.clone(),
            level: args.level,
            ..DmlConfig::default()
        };
        let result = dml::estimate(&sales, &config)?;
        (Some(result), Some(started.elapsed().as_secs_f64()))
    } else {
        (None, None)
    };
    let output = ElasticityOutput {
        input,
        rows_read: sales.summary.rows_read,
        rows_rejected: sales.summary.rows_rejected,
        fixed_effects,
        fixed_effects_seconds,
        dml: dml_result,
        dml_seconds,
    };
    if let Some(path) = &args.report {
        write_report(&elasticity_report(&output, &sales), path, json)?;
    }
    if json {
        return print_json(&output);
    }
    if let Some(fe) = &output.fixed_effects {
        println!(
            "Fixed effects (series and week), {} rows, {:.0}% intervals, {:.2} s\n",
            count(fe.rows_used as u64),
            100.0 * fe.level,
            output.fixed_effects_seconds.unwrap_or(0.0)
        );
        let mut table = Table::new(&[
            "product",
            "rows",
            "own-price",
            "interval",
            "promo lift",
            "feature lift",
            "largest cross",
            "errors",
        ]);
        for p in fe.per_product.iter().chain(std::iter::once(&fe.pooled)) {
            let largest = p
                .cross_price
                .iter()
                .max_by(|a, b| a.estimate.abs().total_cmp(&b.estimate.abs()))
                .map(|c| format!("{} {:+.2}", c.name, c.estimate))
                .unwrap_or_default();
            let lift = |l: &Option<Estimate>| {
                l.as_ref()
                    .map(|l| format!("{:+.1}%", 100.0 * l.estimate))
                    .unwrap_or_else(|| "-".into())
            };
            table.row(vec![
                p.product.clone(),
                count(p.n_obs as u64),
                format!("{:.3}", p.own_price.estimate),
                interval(&p.own_price),
                lift(&p.promo_lift),
                lift(&p.feature_lift),
                largest,
                p.errors.clone(),
            ]);
        }
        print!("{}", table.render());
    }
    if let Some(d) = &output.dml {
        println!(
            "\nDouble machine learning, {} folds, nuisance {}, {:.2} s\n",
            d.folds,
            d.pooled.nuisance,
            output.dml_seconds.unwrap_or(0.0)
        );
        let mut header = vec![
            "product",
            "rows",
            "elasticity",
            "interval",
            "R2 units",
            "R2 price",
        ];
        if d.pooled.covariate.is_some() {
            header.extend(["slope in covariate", "at 25%", "at 75%"]);
        }
        let mut table = Table::new(&header);
        for p in d.per_product.iter().chain(std::iter::once(&d.pooled)) {
            let mut row = vec![
                p.product.clone(),
                count(p.n_obs as u64),
                format!("{:.3}", p.elasticity.estimate),
                interval(&p.elasticity),
                format!("{:.3}", p.outcome_r2),
                format!("{:.3}", p.price_r2),
            ];
            if let Some(h) = &p.heterogeneity {
                row.push(format!("{:+.3} {}", h.estimate, interval(h)));
                for q in [0, 2] {
                    row.push(
                        p.at_quartiles
                            .get(q)
                            .map(|a| format!("{:.3}", a.elasticity.estimate))
                            .unwrap_or_default(),
                    );
                }
            }
            table.row(row);
        }
        print!("{}", table.render());
    }
    Ok(())
}

fn elasticity_report(output: &ElasticityOutput, sales: &WeeklySales) -> Report {
    let mut report = Report::new(
        &format!("Price elasticities: {}", output.input),
        "How much demand moves with price. An own-price elasticity of -2 means that 1% higher price sells \
         about 2% fewer units. Intervals are 95% unless stated otherwise.",
    );
    if let Some(fe) = &output.fixed_effects {
        let mut chart = BarChart::new(
            "Own-price elasticity per product (fixed effects)",
            "elasticity",
        )
        .dots();
        for p in fe.per_product.iter().chain(std::iter::once(&fe.pooled)) {
            chart = chart.with_bar(
                &p.product,
                p.own_price.estimate,
                Some((p.own_price.lower, p.own_price.upper)),
            );
        }
        if let Some(d) = &output.dml {
            chart = chart.with_reference("DML pooled", d.pooled.elasticity.estimate);
        }
        report.push(Section {
            heading: "Own-price elasticities".into(),
            explanation: "Each dot is a product's own-price elasticity from the log-log regression with series and \
                          week fixed effects; whiskers are the interval. The last one pools all products."
                .into(),
            svg: Some(chart.render(CHART_WIDTH, CHART_HEIGHT)),
            table: Some((
                vec!["product".into(), "elasticity".into(), "lower".into(), "upper".into(), "promo lift".into()],
                fe.per_product
                    .iter()
                    .chain(std::iter::once(&fe.pooled))
                    .map(|p| {
                        vec![
                            p.product.clone(),
                            format!("{:.3}", p.own_price.estimate),
                            format!("{:.3}", p.own_price.lower),
                            format!("{:.3}", p.own_price.upper),
                            p.promo_lift
                                .as_ref()
                                .map(|l| format!("{:+.1}%", 100.0 * l.estimate))
                                .unwrap_or_default(),
                        ]
                    })
                    .collect(),
            )),
        });
        // Demand curves: units per week of an average series of each product against its price.
        let mut curves = LineChart::new(
            "Demand curves (average series of each product)",
            "price relative to the product's median",
            "units per week",
        );
        for p in &fe.per_product {
            let level = p.model.series_levels.iter().map(|(_, l)| l).sum::<f64>()
                / p.model.series_levels.len().max(1) as f64;
            let mut prices: Vec<f64> = sales
                .rows
                .iter()
                .filter(|r| r.product == p.product)
                .map(|r| r.price)
                .collect();
            prices.sort_by(f64::total_cmp);
            let Some(median) = prices.get(prices.len() / 2).copied() else {
                continue;
            };
            let points = (0..=20)
                .map(|i| {
                    let relative = 0.7 + 0.03 * i as f64;
                    let units = (level + p.own_price.estimate * (relative * median).ln()).exp();
                    (relative, units)
                })
                .collect();
            curves = curves.with_series(Series::line(&p.product, points));
        }
        report.push(Section {
            heading: "Demand curves".into(),
            explanation: "Expected units per week of a product's average series as its own price moves from 70% to \
                          130% of its median price, other prices at their usual level."
                .into(),
            svg: Some(curves.render(CHART_WIDTH, CHART_HEIGHT)),
            table: None,
        });
    }
    if let Some(d) = &output.dml {
        let mut chart = BarChart::new(
            "Own-price elasticity per product (double machine learning)",
            "elasticity",
        )
        .dots();
        for p in d.per_product.iter().chain(std::iter::once(&d.pooled)) {
            chart = chart.with_bar(
                &p.product,
                p.elasticity.estimate,
                Some((p.elasticity.lower, p.elasticity.upper)),
            );
        }
        let mut rows: Vec<Vec<String>> = Vec::new();
        for p in d.per_product.iter().chain(std::iter::once(&d.pooled)) {
            let mut row = vec![
                p.product.clone(),
                format!("{:.3}", p.elasticity.estimate),
                format!("{:.3}", p.elasticity.lower),
                format!("{:.3}", p.elasticity.upper),
            ];
            row.push(
                p.heterogeneity
                    .as_ref()
                    .map(|h| format!("{:+.3} [{:.3}, {:.3}]", h.estimate, h.lower, h.upper))
                    .unwrap_or_default(),
            );
            rows.push(row);
        }
        report.push(Section {
            heading: "Double machine learning".into(),
            explanation: format!(
                "Elasticities from cross-fitted, orthogonalised nuisance models ({}). The last column is the change \
                 of the elasticity per unit of {}.",
                d.pooled.nuisance,
                d.pooled.covariate.clone().unwrap_or_else(|| "the covariate (none given)".into())
            ),
            svg: Some(chart.render(CHART_WIDTH, CHART_HEIGHT)),
            table: Some((
                vec!["product".into(), "elasticity".into(), "lower".into(), "upper".into(), "slope in covariate".into()],
                rows,
            )),
        });
    }
    report
}
