//! `discount price`: shelf prices, stock and household price sensitivity from weekly sales and purchase
//! occasions (docs/pricing.md).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use discount_core::Config;
use discount_eval::report::{Report, Section};
use discount_eval::svg::{BarChart, LineChart, Series};
use discount_pricing::bandit::{self, BanditConfig};
use discount_pricing::choice::{self, ChoiceConfig};
use discount_pricing::datasets;
use discount_pricing::dml::{self, DmlConfig, Nuisance};
use discount_pricing::elasticity::{self, ElasticityConfig, Estimate};
use discount_pricing::forecast::{self, ForecastConfig};
use discount_pricing::markdown::{MarkdownProblem, WeeklyDemand};
use discount_pricing::occasions::ChoiceData;
use discount_pricing::optimize::{self, PricingRules};
use discount_pricing::order_sales::{self, OrderSales};
use discount_pricing::weekly::{WeeklyRow, WeeklySales};
use serde::Serialize;

use crate::commands::ingest::redact;
use crate::output::{count, print_json, Table};

const CHART_WIDTH: u32 = 760;
const CHART_HEIGHT: u32 = 380;

/// Prices and stock: elasticities, demand forecasts, price optimisation, markdowns, price experiments and
/// household price sensitivity.
///
/// Weekly sales are a CSV `series,date,units,price` with optional `product,market,promo,feature,display,
/// cost,stock` and covariate columns; choice occasions a CSV `occasion,household,alternative,chosen,price`.
/// The public scanner panels convert into them (`discount price import`), or pass `--dataset NAME`;
/// the shop's own order events aggregate into weekly sales (`discount price weekly`, or `--from-store`).
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
///   discount price weekly --out shop.csv
///   discount price elasticity --from-store
///   discount price stock-offers --seeds 5
#[derive(clap::Subcommand, Debug)]
#[command(verbatim_doc_comment)]
pub enum PriceCommand {
    /// Convert a public scanner panel (orange-juice, tuna, margarine) into the input formats.
    Import(ImportArgs),
    /// Own- and cross-price elasticities and promotion lift (fixed effects and double machine learning).
    Elasticity(ElasticityArgs),
    /// Household price sensitivity: conditional logit, latent classes, hold-out log-likelihood and hit rate.
    Choice(ChoiceArgs),
    /// Weekly demand forecasts with rolling-origin backtests against seasonal naive.
    Forecast(ForecastArgs),
    /// Profit-maximising shelf prices under price rules, robust to elasticity uncertainty.
    Optimize(OptimizeArgs),
    /// Optimal markdown schedule for a finite stock against fixed 30/50/70% rules, in simulation.
    Markdown(MarkdownArgs),
    /// Thompson sampling over a price grid with the demand model as prior, regret in simulation.
    Bandit(BanditArgs),
    /// Aggregate the store's order events into weekly sales per item (the weekly-sales CSV).
    Weekly(WeeklyArgs),
    /// Stock-aware offers in simulation: the offer engine with and without the stock's shadow price.
    StockOffers(StockOffersArgs),
}

pub fn run(config: &Config, cmd: &PriceCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        PriceCommand::Import(args) => run_import(args, json),
        PriceCommand::Elasticity(args) => run_elasticity(config, args, json),
        PriceCommand::Choice(args) => run_choice(args, json),
        PriceCommand::Forecast(args) => run_forecast(config, args, json),
        PriceCommand::Optimize(args) => run_optimize(config, args, json),
        PriceCommand::Markdown(args) => run_markdown(args, json),
        PriceCommand::Bandit(args) => run_bandit(args, json),
        PriceCommand::Weekly(args) => run_weekly(config, args, json),
        PriceCommand::StockOffers(args) => run_stock_offers(args, json),
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
    /// The store's own order events, aggregated per item and week (see `discount price weekly`).
    #[arg(long, conflicts_with_all = ["file", "dataset"])]
    pub from_store: bool,
    #[command(flatten)]
    pub store_options: StoreWeeklyOptions,
    /// Folder holding the bayesm CSV files (default: $DISCOUNT_DATA_DIR/bayesm-scanner-panels).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl WeeklyInput {
    fn load(&self, config: &Config) -> anyhow::Result<(WeeklySales, String)> {
        if self.from_store {
            let (rows, summary) = store_weekly_rows(config, &self.store_options)?;
            let name = format!("store {}", redact(&config.store.url));
            eprintln!(
                "{name}: {} orders -> {} weekly rows of {} items ({} left out below --min-weeks)",
                count(summary.orders),
                count(summary.rows as u64),
                count(summary.items as u64),
                count(summary.items_below_min_weeks as u64)
            );
            return Ok((order_sales::to_weekly_sales(&rows, &name)?, name));
        }
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
                bail!(
                    "give weekly sales with --file FILE, --dataset orange-juice|tuna or --from-store"
                )
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
    import_panel(&args.dataset, args.data_dir.as_deref(), &args.out, json)
}

/// The scanner panels that convert into the pricing formats (`discount datasets import NAME --out FILE`).
pub(crate) const PANELS: [(&str, &str); 3] = [
    (
        "orange-juice",
        "Dominick's orange juice: weekly sales per store and brand with deals, features, cost and store demographics",
    ),
    (
        "tuna",
        "Dominick's canned tuna: weekly sales per brand with wholesale cost and display",
    ),
    (
        "margarine",
        "margarine household purchase occasions with the 10 products' prices",
    ),
];

/// Converts a scanner panel (from `from`, default the panels folder) into `out` and says what it wrote.
pub(crate) fn import_panel(
    name: &str,
    from: Option<&Path>,
    out: &Path,
    json: bool,
) -> anyhow::Result<()> {
    let from = panels_dir(from);
    let summary = convert(name, &from, out)
        .with_context(|| format!("converting {name} from {}", from.display()))?;
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

fn run_elasticity(config: &Config, args: &ElasticityArgs, json: bool) -> anyhow::Result<()> {
    let (sales, input) = args.input.load(config)?;
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

// ---------------------------------------------------------------------------------------------- choice

/// Household price sensitivity from purchase occasions: which alternative a household buys.
///
/// Models: the shares baseline, a pooled conditional logit (brand constants, price, feature, display,
/// loyalty = exponentially smoothed past choices), without and with loyalty, and a latent-class logit whose
/// households each get a price coefficient (--households-out writes them for the offer engine). Each
/// household's last 20% of occasions are held out; the table gives the log-likelihood per held-out occasion
/// and the hit rate.
///
/// Examples:
///   discount price choice --dataset margarine
///   discount price choice --file occasions.csv --classes 4 --json
///   discount price choice --dataset margarine --households-out sensitivity.csv --report choice.html
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ChoiceArgs {
    /// Choice occasions CSV (occasion,household,alternative,chosen,price[,feature,display,...]).
    #[arg(long, conflicts_with = "dataset")]
    pub file: Option<PathBuf>,
    /// A public panel instead of --file: margarine.
    #[arg(long, value_parser = ["margarine"])]
    pub dataset: Option<String>,
    /// Folder holding the bayesm CSV files (default: $DISCOUNT_DATA_DIR/bayesm-scanner-panels).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Latent classes.
    #[arg(long, default_value_t = 3)]
    pub classes: usize,
    /// Loyalty smoothing (weight of the past).
    #[arg(long, default_value_t = 0.75)]
    pub loyalty_decay: f64,
    /// Share of each household's last occasions held out.
    #[arg(long, default_value_t = 0.2)]
    pub test_share: f64,
    /// Seed of the latent-class starting values.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Write each household's price coefficient to this CSV.
    #[arg(long)]
    pub households_out: Option<PathBuf>,
    /// Write an HTML report to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Serialize)]
struct ChoiceOutput {
    input: String,
    summary: discount_pricing::occasions::ChoiceSummary,
    alternatives: Vec<String>,
    households: usize,
    train_occasions: usize,
    test_occasions: usize,
    models: Vec<choice::ModelFit>,
    logit_coefficients: Vec<(String, f64)>,
    classes: Vec<choice::LatentClass>,
    household_price_coefficient_quartiles: Vec<f64>,
    seconds: f64,
}

fn run_choice(args: &ChoiceArgs, json: bool) -> anyhow::Result<()> {
    let (data, input) = match (&args.file, &args.dataset) {
        (Some(path), _) => (
            ChoiceData::read(path).with_context(|| format!("reading {}", path.display()))?,
            path.display().to_string(),
        ),
        (None, Some(name)) => {
            let file = converted(name, args.data_dir.as_deref())?;
            (ChoiceData::read(&file.0)?, name.clone())
        }
        (None, None) => bail!("give choice occasions with --file FILE or --dataset margarine"),
    };
    let s = &data.summary;
    if s.occasions_rejected > 0 {
        eprintln!(
            "{} of {} occasions rejected ({} of {} rows); fitting on the {} kept:",
            count(s.occasions_rejected as u64),
            count(s.occasions_read as u64),
            count(s.rows_rejected as u64),
            count(s.rows_read as u64),
            count(s.occasions_kept as u64)
        );
        for r in s.rejections.iter().take(10) {
            eprintln!("  {r}");
        }
    }
    let started = Instant::now();
    let config = ChoiceConfig {
        test_share: args.test_share,
        loyalty_decay: args.loyalty_decay,
        classes: args.classes,
        seed: args.seed,
        ..ChoiceConfig::default()
    };
    let result = choice::fit(&data, &config)?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &args.households_out {
        let mut writer =
            csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
        writer.write_record(["household", "train_occasions", "price_coefficient"])?;
        for h in &result.household_sensitivity {
            writer.write_record([
                h.household.clone(),
                h.train_occasions.to_string(),
                format!("{:.6}", h.price_coefficient),
            ])?;
        }
        writer.flush()?;
    }
    let mut coefficients: Vec<f64> = result
        .household_sensitivity
        .iter()
        .map(|h| h.price_coefficient)
        .collect();
    coefficients.sort_by(f64::total_cmp);
    let quartiles = [0.25, 0.5, 0.75]
        .iter()
        .map(|q| coefficients[((coefficients.len() - 1) as f64 * q).round() as usize])
        .collect();
    let output = ChoiceOutput {
        input,
        summary: data.summary.clone(),
        alternatives: result.alternatives.clone(),
        households: result.households,
        train_occasions: result.train_occasions,
        test_occasions: result.test_occasions,
        models: result.models.clone(),
        logit_coefficients: result.logit_coefficients.clone(),
        classes: result.classes.clone(),
        household_price_coefficient_quartiles: quartiles,
        seconds,
    };
    if let Some(path) = &args.report {
        write_report(&choice_report(&output, &result), path, json)?;
    }
    if json {
        return print_json(&output);
    }
    println!(
        "{}: {} households, {} training and {} held-out occasions (last {:.0}% of each household), {:.2} s\n",
        output.input,
        count(output.households as u64),
        count(output.train_occasions as u64),
        count(output.test_occasions as u64),
        100.0 * args.test_share,
        seconds
    );
    let mut table = Table::new(&[
        "model",
        "parameters",
        "train LL",
        "test LL/occasion",
        "test hit rate",
        "price coef.",
    ]);
    for m in &output.models {
        table.row(vec![
            m.model.clone(),
            m.parameters.to_string(),
            format!("{:.1}", m.train_log_likelihood),
            format!("{:.4}", m.test_log_likelihood_per_occasion),
            format!("{:.3}", m.test_hit_rate),
            m.price_coefficient
                .map(|p| format!("{p:.3}"))
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    print!("{}", table.render());
    println!("\nLatent classes:");
    let mut table = Table::new(&["class", "share", "price", "loyalty"]);
    for (i, c) in output.classes.iter().enumerate() {
        let get = |name: &str| {
            c.coefficients
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| format!("{v:.3}"))
                .unwrap_or_default()
        };
        table.row(vec![
            (i + 1).to_string(),
            format!("{:.3}", c.share),
            get("price"),
            get("loyalty"),
        ]);
    }
    print!("{}", table.render());
    println!(
        "Household price coefficients: quartiles {:.3} / {:.3} / {:.3}",
        output.household_price_coefficient_quartiles[0],
        output.household_price_coefficient_quartiles[1],
        output.household_price_coefficient_quartiles[2]
    );
    Ok(())
}

fn choice_report(output: &ChoiceOutput, result: &choice::ChoiceResult) -> Report {
    let mut report = Report::new(
        &format!("Household price sensitivity: {}", output.input),
        "Which product a household buys, from prices, brand preferences and loyalty. Models are scored on each \
         household's last 20% of purchases, which they did not see.",
    );
    let mut chart = BarChart::new(
        "Held-out log-likelihood per occasion (higher is better)",
        "log-likelihood",
    )
    .dots();
    for m in &output.models {
        chart = chart.with_bar(&m.model, m.test_log_likelihood_per_occasion, None);
    }
    report.push(Section {
        heading: "Hold-out fit".into(),
        explanation: "Average log-probability each model gave to the product actually bought, and how often its most \
                      likely product was the one bought."
            .into(),
        svg: Some(chart.render(CHART_WIDTH, CHART_HEIGHT)),
        table: Some((
            vec!["model".into(), "test LL/occasion".into(), "test hit rate".into()],
            output
                .models
                .iter()
                .map(|m| {
                    vec![
                        m.model.clone(),
                        format!("{:.4}", m.test_log_likelihood_per_occasion),
                        format!("{:.3}", m.test_hit_rate),
                    ]
                })
                .collect(),
        )),
    });
    let mut coefficients: Vec<f64> = result
        .household_sensitivity
        .iter()
        .map(|h| h.price_coefficient)
        .collect();
    coefficients.sort_by(f64::total_cmp);
    let n = coefficients.len().max(1) as f64;
    let points = coefficients
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, (i + 1) as f64 / n))
        .collect();
    let curve = LineChart::new(
        "Households' price coefficients (cumulative share)",
        "price coefficient (utility per currency unit)",
        "share of households",
    )
    .with_series(Series::line("households", points));
    report.push(Section {
        heading: "Price sensitivity across households".into(),
        explanation: "Each household's price coefficient is the average of the latent classes' coefficients weighted by \
                      how likely the household belongs to each class; more negative is more price sensitive."
            .into(),
        svg: Some(curve.render(CHART_WIDTH, CHART_HEIGHT)),
        table: None,
    });
    report
}

// -------------------------------------------------------------------------------------------- forecast

/// Weekly demand forecasts per series with price and promotion covariates and yearly seasonality.
///
/// The backtest fits every series at each of --origins origins (--step weeks apart, the last one
/// --horizon weeks before the data end) and forecasts the next --horizon weeks with their actual prices
/// and promotions. It reports WAPE, MASE and the seasonal naive forecast's, and how often the 80% and 95%
/// prediction intervals held the actual units. The report draws fan charts of the next --horizon weeks.
///
/// Examples:
///   discount price forecast --dataset tuna --horizon 4
///   discount price forecast --dataset orange-juice --series "store2/" --json
///   discount price forecast --file sales.csv --horizon 8 --origins 12 --report forecast.html
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ForecastArgs {
    #[command(flatten)]
    pub input: WeeklyInput,
    /// Weeks ahead.
    #[arg(long, default_value_t = 4)]
    pub horizon: usize,
    /// Backtest origins.
    #[arg(long, default_value_t = 8)]
    pub origins: usize,
    /// Weeks between origins.
    #[arg(long, default_value_t = 4)]
    pub step: usize,
    /// Season length in weeks (seasonal naive and MASE).
    #[arg(long, default_value_t = 52)]
    pub season: usize,
    /// Pairs of yearly sine/cosine terms.
    #[arg(long, default_value_t = 3)]
    pub harmonics: usize,
    /// Only series whose name contains this text.
    #[arg(long)]
    pub series: Option<String>,
    /// Write an HTML report (fan charts, accuracy by step) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Serialize)]
struct ForecastOutput {
    input: String,
    backtest: forecast::Backtest,
    seconds: f64,
}

fn run_forecast(config: &Config, args: &ForecastArgs, json: bool) -> anyhow::Result<()> {
    let (mut sales, input) = args.input.load(config)?;
    print_rejections(&sales.summary);
    if let Some(filter) = &args.series {
        sales.rows.retain(|r| r.series.contains(filter.as_str()));
        if sales.rows.is_empty() {
            bail!("no series contains {filter:?}");
        }
    }
    let config = ForecastConfig {
        horizon: args.horizon,
        origins: args.origins,
        origin_step: args.step,
        season: args.season,
        harmonics: args.harmonics,
        ..ForecastConfig::default()
    };
    let started = Instant::now();
    let backtest = forecast::backtest(&sales, &config)?;
    let output = ForecastOutput {
        input,
        backtest,
        seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(path) = &args.report {
        write_report(&forecast_report(&output, &sales, &config)?, path, json)?;
    }
    if json {
        return print_json(&output);
    }
    let b = &output.backtest;
    println!(
        "Rolling-origin backtest of {}: {} series, {} origins ({} .. {}), horizon {} weeks, {} forecasts, {:.2} s\n",
        output.input,
        b.series,
        b.origins.len(),
        b.origins.first().cloned().unwrap_or_default(),
        b.origins.last().cloned().unwrap_or_default(),
        b.horizon,
        count(b.points as u64),
        output.seconds
    );
    let mut table = Table::new(&["forecast", "WAPE", "MASE", "80% coverage", "95% coverage"]);
    table.row(vec![
        "model (price, promotion, season, AR(1))".into(),
        format!("{:.3}", b.wape),
        format!("{:.3}", b.mase),
        format!("{:.1}%", 100.0 * b.coverage_80),
        format!("{:.1}%", 100.0 * b.coverage_95),
    ]);
    table.row(vec![
        "seasonal naive".into(),
        format!("{:.3}", b.wape_seasonal_naive),
        format!("{:.3}", b.mase_seasonal_naive),
        "-".into(),
        "-".into(),
    ]);
    print!("{}", table.render());
    println!();
    let mut table = Table::new(&["weeks ahead", "forecasts", "WAPE", "WAPE seasonal naive"]);
    for s in &b.by_step {
        table.row(vec![
            s.step.to_string(),
            count(s.points as u64),
            format!("{:.3}", s.wape),
            format!("{:.3}", s.wape_seasonal_naive),
        ]);
    }
    print!("{}", table.render());
    if b.naive_fallbacks > 0 {
        println!(
            "\n{} seasonal naive forecasts had no value a season back and used the last week.",
            count(b.naive_fallbacks as u64)
        );
    }
    Ok(())
}

fn forecast_report(
    output: &ForecastOutput,
    sales: &WeeklySales,
    config: &ForecastConfig,
) -> anyhow::Result<Report> {
    let mut report = Report::new(
        &format!("Demand forecasts: {}", output.input),
        "Weekly units per series forecast from price, promotions and the time of year; accuracy measured by \
         forecasting past weeks from the data before them.",
    );
    let b = &output.backtest;
    let chart = LineChart::new("WAPE by weeks ahead", "weeks ahead", "WAPE")
        .with_series(
            Series::line(
                "model",
                b.by_step.iter().map(|s| (s.step as f64, s.wape)).collect(),
            )
            .with_markers(),
        )
        .with_series(
            Series::line(
                "seasonal naive",
                b.by_step
                    .iter()
                    .map(|s| (s.step as f64, s.wape_seasonal_naive))
                    .collect(),
            )
            .dashed()
            .with_markers(),
        )
        .including_y(0.0);
    report.push(Section {
        heading: "Backtest accuracy".into(),
        explanation: format!(
            "Weighted absolute percentage error by forecast step over {} origins. The 80% and 95% intervals held the \
             actual units {:.1}% and {:.1}% of the time.",
            b.origins.len(),
            100.0 * b.coverage_80,
            100.0 * b.coverage_95
        ),
        svg: Some(chart.render(CHART_WIDTH, CHART_HEIGHT)),
        table: Some((
            vec!["forecast".into(), "WAPE".into(), "MASE".into()],
            vec![
                vec!["model".into(), format!("{:.3}", b.wape), format!("{:.3}", b.mase)],
                vec![
                    "seasonal naive".into(),
                    format!("{:.3}", b.wape_seasonal_naive),
                    format!("{:.3}", b.mase_seasonal_naive),
                ],
            ],
        )),
    });
    // Fan charts of the largest series.
    let by_series = sales.by_series();
    let mut largest: Vec<(&String, f64)> = by_series
        .iter()
        .map(|(name, rows)| (name, rows.iter().map(|r| r.units).sum::<f64>()))
        .collect();
    largest.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, _) in largest.into_iter().take(3) {
        let rows: Vec<&WeeklyRow> = by_series[name].clone();
        let points = forecast::forecast_series(&rows, config)?;
        let history: Vec<(f64, f64)> = rows
            .iter()
            .rev()
            .take(52)
            .rev()
            .map(|r| (r.week as f64, r.units))
            .collect();
        let chart = LineChart::new(
            &format!("{name}: last year and the next {} weeks", config.horizon),
            "week",
            "units",
        )
        .with_band(
            "95% interval",
            points
                .iter()
                .map(|p| (p.week as f64, p.lower_95, p.upper_95))
                .collect(),
            None,
        )
        .with_band(
            "80% interval",
            points
                .iter()
                .map(|p| (p.week as f64, p.lower_80, p.upper_80))
                .collect(),
            None,
        )
        .with_series(Series::line("actual", history))
        .with_series(
            Series::line(
                "forecast",
                points.iter().map(|p| (p.week as f64, p.units)).collect(),
            )
            .with_markers(),
        )
        .including_y(0.0);
        report.push(Section {
            heading: format!("Forecast: {name}"),
            explanation: "Fan chart: the median forecast at the last price without promotion, with the 80% and 95% \
                          prediction intervals (weeks counted from 1970)."
                .into(),
            svg: Some(chart.render(CHART_WIDTH, CHART_HEIGHT)),
            table: Some((
                vec!["date".into(), "units".into(), "80% interval".into(), "95% interval".into()],
                points
                    .iter()
                    .map(|p| {
                        vec![
                            p.date.clone(),
                            format!("{:.0}", p.units),
                            format!("{:.0} - {:.0}", p.lower_80, p.upper_80),
                            format!("{:.0} - {:.0}", p.lower_95, p.upper_95),
                        ]
                    })
                    .collect(),
            )),
        });
    }
    Ok(report)
}

// -------------------------------------------------------------------------------------------- optimize

/// Profit-maximising shelf prices per market from the fixed-effects demand models and unit costs.
///
/// Rules: prices whose minor units end in one of --endings (e.g. 9 or 49,99), at most --max-change
/// from the current price (the median of the last 13 weeks), at least --min-margin over cost. Prices of
/// a market's products are chosen jointly (cross-price effects whose 95% interval excludes zero). The
/// objective is the --quantile (default the median) of the category's profit over --draws draws of the
/// elasticities; 0.1 is a cautious choice. A product whose own elasticity is not clearly negative keeps
/// its price. Expected profit at the recommendation is compared with the historic prices.
///
/// Examples:
///   discount price optimize --dataset tuna
///   discount price optimize --dataset tuna --max-change 0.1 --min-margin 0.25 --endings 9 --quantile 0.1
///   discount price optimize --file sales.csv --market store5 --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct OptimizeArgs {
    #[command(flatten)]
    pub input: WeeklyInput,
    /// Allowed endings of prices in minor units, comma-separated (empty: any).
    #[arg(long, default_value = "9")]
    pub endings: String,
    /// Largest change from the current price (0.15 = 15%).
    #[arg(long, default_value_t = 0.15)]
    pub max_change: f64,
    /// Smallest margin over unit cost (0.1 = 10% of the price).
    #[arg(long, default_value_t = 0.1)]
    pub min_margin: f64,
    /// Draws of the elasticities.
    #[arg(long, default_value_t = 200)]
    pub draws: usize,
    /// Maximise this quantile of profit over the draws (0.5: median; 0.1: cautious).
    #[arg(long, default_value_t = 0.5)]
    pub quantile: f64,
    /// Only this market.
    #[arg(long)]
    pub market: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write an HTML report (profit curves) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Serialize)]
struct OptimizeOutput {
    input: String,
    rules: PricingRules,
    markets: Vec<optimize::MarketRecommendation>,
}

fn run_optimize(config: &Config, args: &OptimizeArgs, json: bool) -> anyhow::Result<()> {
    let (sales, input) = args.input.load(config)?;
    print_rejections(&sales.summary);
    let elasticities = elasticity::estimate(&sales, &ElasticityConfig::default())?;
    let mut subset = sales.clone();
    if let Some(market) = &args.market {
        subset.rows.retain(|r| &r.market == market);
        if subset.rows.is_empty() {
            bail!("no rows of market {market:?}");
        }
    }
    let rules = PricingRules {
        endings: args
            .endings
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect(),
        max_change: args.max_change,
        min_margin: args.min_margin,
        draws: args.draws,
        quantile: args.quantile,
        seed: args.seed,
        ..PricingRules::default()
    };
    let markets = optimize::optimize(&subset, &elasticities, &rules)?;
    let output = OptimizeOutput {
        input,
        rules,
        markets,
    };
    if let Some(path) = &args.report {
        write_report(&optimize_report(&output), path, json)?;
    }
    if json {
        return print_json(&output);
    }
    for m in &output.markets {
        println!("Market {}:\n", m.market);
        let mut table = Table::new(&[
            "product",
            "cost",
            "current",
            "recommended",
            "elasticity",
            "units now",
            "units rec.",
            "profit now",
            "profit rec.",
            "bound",
        ]);
        for p in &m.products {
            table.row(vec![
                p.product.clone(),
                format!("{:.2}", p.unit_cost),
                format!("{:.2}", p.current_price_minor as f64 / 100.0),
                format!("{:.2}", p.recommended_price_minor as f64 / 100.0),
                format!("{:.2}", p.elasticity),
                format!("{:.0}", p.expected_units_current),
                format!("{:.0}", p.expected_units_recommended),
                format!("{:.0}", p.expected_profit_current),
                format!("{:.0}", p.expected_profit_recommended),
                p.bound.clone().unwrap_or_default(),
            ]);
        }
        print!("{}", table.render());
        println!(
            "\nMedian expected weekly profit over {} elasticity draws: historic prices {:.0} [{:.0}, {:.0}], recommended {:.0} \
             [{:.0}, {:.0}] (5%-95%); earned at historic prices in the last 13 weeks: {:.0}\n",
            output.rules.draws,
            m.profit_current.median,
            m.profit_current.q05,
            m.profit_current.q95,
            m.profit_recommended.median,
            m.profit_recommended.q05,
            m.profit_recommended.q95,
            m.historic_profit_per_week
        );
    }
    Ok(())
}

fn optimize_report(output: &OptimizeOutput) -> Report {
    let mut report = Report::new(
        &format!("Price recommendations: {}", output.input),
        "Shelf prices that maximise expected profit under the price rules, from the estimated demand curves and unit \
         costs.",
    );
    for m in output.markets.iter().take(5) {
        let Some(first) = m.products.first() else {
            continue;
        };
        let chart = LineChart::new(
            &format!(
                "{}: category profit as {}'s price moves",
                m.market, first.product
            ),
            "price",
            "expected weekly profit",
        )
        .with_series(Series::line("expected profit", m.profit_curve.clone()))
        .with_reference("profit at historic prices", m.profit_current.median);
        report.push(Section {
            heading: format!("Market {}", m.market),
            explanation: format!(
                "Expected weekly profit of the category at historic prices {:.0} (5%-95% over the elasticity draws: \
                 {:.0} to {:.0}) and at the recommended prices {:.0} ({:.0} to {:.0}).",
                m.profit_current.median,
                m.profit_current.q05,
                m.profit_current.q95,
                m.profit_recommended.median,
                m.profit_recommended.q05,
                m.profit_recommended.q95
            ),
            svg: Some(chart.render(CHART_WIDTH, CHART_HEIGHT)),
            table: Some((
                vec!["product".into(), "cost".into(), "current".into(), "recommended".into(), "profit now".into(), "profit rec.".into()],
                m.products
                    .iter()
                    .map(|p| {
                        vec![
                            p.product.clone(),
                            format!("{:.2}", p.unit_cost),
                            format!("{:.2}", p.current_price_minor as f64 / 100.0),
                            format!("{:.2}", p.recommended_price_minor as f64 / 100.0),
                            format!("{:.0}", p.expected_profit_current),
                            format!("{:.0}", p.expected_profit_recommended),
                        ]
                    })
                    .collect(),
            )),
        });
    }
    report
}

// -------------------------------------------------------------------------------------------- markdown

/// Optimal markdowns for a finite stock before an end date, against fixed rules, with known demand.
///
/// Weekly demand is Poisson with mean --base-rate x (1 - discount)^--elasticity; unsold units are worth
/// --salvage each at the end. The optimal schedule comes from dynamic programming over (weeks left,
/// stock, current discount); discounts only go down. Every policy is valued exactly and simulated
/// --runs times.
///
/// Examples:
///   discount price markdown --stock 60 --weeks 8
///   discount price markdown --stock 200 --weeks 12 --base-rate 10 --elasticity -2.5 --price 4999 --salvage 800 --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct MarkdownArgs {
    /// Units in stock at the start.
    #[arg(long, default_value_t = 60)]
    pub stock: usize,
    /// Weeks until the end date.
    #[arg(long, default_value_t = 8)]
    pub weeks: usize,
    /// List price in minor units.
    #[arg(long, default_value_t = 4000)]
    pub price: i64,
    /// Salvage value per unsold unit in minor units.
    #[arg(long, default_value_t = 500)]
    pub salvage: i64,
    /// Mean weekly demand at the list price.
    #[arg(long, default_value_t = 4.0)]
    pub base_rate: f64,
    /// Price elasticity of demand.
    #[arg(long, default_value_t = -3.0, allow_hyphen_values = true)]
    pub elasticity: f64,
    /// Discount ladder in percent, comma-separated.
    #[arg(long, default_value = "0,10,20,30,40,50,60,70")]
    pub ladder: String,
    /// Simulated seasons per policy.
    #[arg(long, default_value_t = 2000)]
    pub runs: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write an HTML report (stock and discount paths) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Serialize)]
struct MarkdownRow {
    policy: String,
    expected_revenue_minor: f64,
    simulated: discount_pricing::markdown::SimulatedPolicy,
    schedule: Option<Vec<f64>>,
}

#[derive(Serialize)]
struct MarkdownOutput {
    problem: MarkdownProblem,
    policies: Vec<MarkdownRow>,
}

fn run_markdown(args: &MarkdownArgs, json: bool) -> anyhow::Result<()> {
    let discounts = args
        .ladder
        .split(',')
        .map(|d| {
            d.trim()
                .parse::<f64>()
                .map(|v| v / 100.0)
                .with_context(|| format!("--ladder: {d:?} is not a percentage"))
        })
        .collect::<anyhow::Result<Vec<f64>>>()?;
    let problem = MarkdownProblem {
        list_price_minor: args.price,
        salvage_minor: args.salvage,
        stock: args.stock,
        weeks: args.weeks,
        discounts,
        demand: WeeklyDemand::Poisson {
            base_rate: args.base_rate,
            elasticity: args.elasticity,
        },
        monotone: true,
    };
    let optimal = problem.solve()?;
    let mut policies = vec![MarkdownRow {
        policy: "optimal (dynamic programming)".into(),
        expected_revenue_minor: optimal.expected_revenue(&problem),
        simulated: problem.simulate(&optimal, args.runs, args.seed)?,
        schedule: None,
    }];
    for rule in problem.rules() {
        policies.push(MarkdownRow {
            policy: rule.name.clone(),
            expected_revenue_minor: problem.evaluate(&rule)?,
            simulated: problem.simulate(&rule, args.runs, args.seed)?,
            schedule: Some(rule.levels.iter().map(|&k| problem.discounts[k]).collect()),
        });
    }
    let output = MarkdownOutput { problem, policies };
    if let Some(path) = &args.report {
        write_report(&markdown_report(&output), path, json)?;
    }
    if json {
        return print_json(&output);
    }
    println!(
        "{} units, {} weeks, list price {:.2}, salvage {:.2}, demand Poisson({} x (1 - discount)^{})\n",
        args.stock,
        args.weeks,
        args.price as f64 / 100.0,
        args.salvage as f64 / 100.0,
        args.base_rate,
        args.elasticity
    );
    let mut table = Table::new(&[
        "policy",
        "expected revenue",
        "simulated",
        "std. error",
        "units left",
        "vs optimal",
    ]);
    let best = output.policies[0].expected_revenue_minor;
    for p in &output.policies {
        table.row(vec![
            p.policy.clone(),
            format!("{:.2}", p.expected_revenue_minor / 100.0),
            format!("{:.2}", p.simulated.mean_revenue_minor / 100.0),
            format!("{:.2}", p.simulated.std_error_minor / 100.0),
            format!("{:.1}", p.simulated.mean_leftover_units),
            format!("{:+.1}%", 100.0 * (p.expected_revenue_minor / best - 1.0)),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}

fn markdown_report(output: &MarkdownOutput) -> Report {
    let mut report = Report::new(
        "Markdowns",
        "Selling a finite stock before an end date: the optimal markdown policy against fixed discount rules, with \
         the demand known (simulation).",
    );
    let mut stock =
        LineChart::new("Mean stock left by week", "week", "units in stock").including_y(0.0);
    let mut discount = LineChart::new("Mean discount by week", "week", "discount").including_y(0.0);
    for p in &output.policies {
        let s = Series::line(
            &p.policy,
            p.simulated
                .mean_stock_by_week
                .iter()
                .enumerate()
                .map(|(w, v)| (w as f64, *v))
                .collect(),
        );
        let d = Series::line(
            &p.policy,
            p.simulated
                .mean_discount_by_week
                .iter()
                .enumerate()
                .map(|(w, v)| ((w + 1) as f64, *v))
                .collect(),
        );
        let (s, d) = if p.schedule.is_some() {
            (s.dashed(), d.dashed())
        } else {
            (s, d)
        };
        stock = stock.with_series(s);
        discount = discount.with_series(d);
    }
    report.push(Section {
        heading: "Markdown paths".into(),
        explanation: "Average units left at the start of each week over the simulated seasons; the solid line is the \
                      optimal policy."
            .into(),
        svg: Some(stock.render(CHART_WIDTH, CHART_HEIGHT)),
        table: Some((
            vec!["policy".into(), "expected revenue".into(), "units left".into()],
            output
                .policies
                .iter()
                .map(|p| {
                    vec![
                        p.policy.clone(),
                        format!("{:.2}", p.expected_revenue_minor / 100.0),
                        format!("{:.1}", p.simulated.mean_leftover_units),
                    ]
                })
                .collect(),
        )),
    });
    report.push(Section {
        heading: "Discounts over the season".into(),
        explanation: "Average discount in each week; the optimal policy marks down as the stock and weeks left require."
            .into(),
        svg: Some(discount.render(CHART_WIDTH, CHART_HEIGHT)),
        table: None,
    });
    report
}

// ---------------------------------------------------------------------------------------------- bandit

/// A price experiment in simulation: Thompson sampling over a price grid.
///
/// True weekly demand is Poisson(--scale x price^--elasticity). The demand-model prior centres each
/// price's demand on a curve with --prior-elasticity (an estimate, possibly wrong) with the weight of
/// --prior-weeks weeks; the flat prior knows nothing; the historic price never moves. Regret is the
/// expected profit lost against the best grid price, summed over weeks and averaged over --runs.
///
/// Examples:
///   discount price bandit --weeks 52
///   discount price bandit --elasticity -2.5 --prior-elasticity -2.0 --prior-weeks 4 --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct BanditArgs {
    /// Price grid, comma-separated (currency units).
    #[arg(long, default_value = "1.49,1.69,1.89,2.09,2.29,2.49,2.69,2.89")]
    pub grid: String,
    #[arg(long, default_value_t = 1.0)]
    pub cost: f64,
    /// True demand scale (units at price 1).
    #[arg(long, default_value_t = 400.0)]
    pub scale: f64,
    /// True elasticity.
    #[arg(long, default_value_t = -2.5, allow_hyphen_values = true)]
    pub elasticity: f64,
    /// Elasticity of the demand-model prior.
    #[arg(long, default_value_t = -2.3, allow_hyphen_values = true)]
    pub prior_elasticity: f64,
    /// Weight of the prior in weeks.
    #[arg(long, default_value_t = 1.0)]
    pub prior_weeks: f64,
    /// Historic price (must be on the grid).
    #[arg(long, default_value_t = 2.49)]
    pub historic: f64,
    #[arg(long, default_value_t = 52)]
    pub weeks: usize,
    #[arg(long, default_value_t = 200)]
    pub runs: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write an HTML report (regret curves) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

fn run_bandit(args: &BanditArgs, json: bool) -> anyhow::Result<()> {
    let grid = args
        .grid
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<f64>()
                .with_context(|| format!("--grid: {p:?} is not a price"))
        })
        .collect::<anyhow::Result<Vec<f64>>>()?;
    let Some(historic) = grid.iter().position(|p| (p - args.historic).abs() < 1e-9) else {
        bail!("--historic {} is not on the grid", args.historic);
    };
    // The prior's scale matches the true demand at the historic price (what the shop has seen).
    let observed = args.scale * args.historic.powf(args.elasticity);
    let config = BanditConfig {
        grid,
        unit_cost: args.cost,
        scale: args.scale,
        elasticity: args.elasticity,
        prior_elasticity: args.prior_elasticity,
        prior_scale: observed / args.historic.powf(args.prior_elasticity),
        prior_weeks: args.prior_weeks,
        historic,
        weeks: args.weeks,
        runs: args.runs,
        seed: args.seed,
    };
    let result = bandit::run(&config)?;
    if let Some(path) = &args.report {
        let mut chart = LineChart::new(
            "Cumulative regret (expected profit lost against the best price)",
            "week",
            "regret",
        )
        .including_y(0.0);
        for p in &result.policies {
            chart = chart.with_series(Series::line(
                &p.policy,
                p.cumulative_regret
                    .iter()
                    .enumerate()
                    .map(|(w, r)| ((w + 1) as f64, *r))
                    .collect(),
            ));
        }
        let curve = LineChart::new(
            "Expected weekly profit per grid price (true demand)",
            "price",
            "profit",
        )
        .with_series(Series::line("profit", result.expected_profit.clone()).with_markers());
        let mut report = Report::new(
            "Price experiments",
            "Thompson sampling over a price grid in a simulated market with known demand.",
        );
        report.push(Section {
            heading: "Regret".into(),
            explanation: format!(
                "Mean over {} runs of the cumulative profit lost against always charging the best price {:.2}.",
                args.runs, result.best_price
            ),
            svg: Some(chart.render(CHART_WIDTH, CHART_HEIGHT)),
            table: None,
        });
        report.push(Section {
            heading: "Demand curve".into(),
            explanation: "Expected weekly profit at each price of the grid under the true demand."
                .into(),
            svg: Some(curve.render(CHART_WIDTH, CHART_HEIGHT)),
            table: None,
        });
        write_report(&report, path, json)?;
    }
    if json {
        return print_json(&result);
    }
    println!(
        "Best price {:.2} (expected profit {:.1} per week); {} weeks, {} runs\n",
        result.best_price, result.best_expected_profit, args.weeks, args.runs
    );
    let mut table = Table::new(&[
        "policy",
        "regret",
        "std. error",
        "best price share (last quarter)",
    ]);
    for p in &result.policies {
        table.row(vec![
            p.policy.clone(),
            format!("{:.1}", p.final_regret),
            format!("{:.1}", p.final_regret_std_error),
            format!("{:.1}%", 100.0 * p.best_price_share_late),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}

// ------------------------------------------------------------------------------------------------ weekly

/// Aggregate the store's order events into weekly sales: one row per item and ISO week (date = the
/// Monday), series and product = the item id, market = its category, units = quantity ordered,
/// price = units-weighted mean paid price per unit (currency units), promo = share of the units sold
/// with a discount. Weeks without sales between an item's first and last sale are rows of 0 units at
/// its last list price. The store is the configured one (`--store URL` or store.url).
///
/// The elasticity, forecast and optimize commands read the same rows directly with --from-store.
/// Order events carry no cost: --catalog adds each item's unit cost (today's, for every week).
///
/// Examples:
///   discount --store sqlite://shop.sqlite price weekly --out shop-weekly.csv
///   discount price weekly --out shop-weekly.csv --catalog items.csv --json
///   discount price elasticity --from-store --no-cross
///   discount price optimize --from-store --catalog items.csv --market-per-item
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct WeeklyArgs {
    /// Output CSV (series,product,market,date,units,price,promo,cost).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub store_options: StoreWeeklyOptions,
}

/// How the store's orders become weekly sales.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreWeeklyOptions {
    /// Catalogue CSV (item_id,category,price[,unit_cost][,stock], minor units): unit costs for the
    /// cost column (which price optimisation needs) and categories the store lacks.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Each item its own market (no cross-prices): for categories with more items than weeks.
    #[arg(long)]
    pub market_per_item: bool,
    /// Leave out items that sold in fewer weeks than this (counted in the summary).
    #[arg(long, default_value_t = 1)]
    pub min_weeks: usize,
}

/// The store's order events as weekly rows per item.
fn store_weekly_rows(
    config: &Config,
    options: &StoreWeeklyOptions,
) -> anyhow::Result<(Vec<order_sales::OrderWeek>, order_sales::OrderSalesSummary)> {
    let store = redact(&config.store.url);
    let mut handle = discount_store::open(&config.store.url)
        .with_context(|| format!("opening the store {store} (see --store)"))?;
    let mut sales = OrderSales::new();
    let mut failure = None;
    handle
        .scan_events(&mut |event| match sales.add(&event) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        })
        .with_context(|| format!("reading the events of the store {store}"))?;
    if let Some(e) = failure {
        return Err(e).with_context(|| format!("aggregating the orders of the store {store}"));
    }
    let mut items: HashMap<String, order_sales::ItemInfo> = handle
        .item_categories(&sales.items())
        .with_context(|| format!("reading item categories from the store {store}"))?
        .into_iter()
        .map(|(id, category)| {
            let info = order_sales::ItemInfo {
                category: Some(category),
                unit_cost: None,
            };
            (id, info)
        })
        .collect();
    if let Some(path) = &options.catalog {
        let catalogue = discount_recommend::Catalogue::read_csv(path)
            .with_context(|| format!("reading the catalogue {}", path.display()))?;
        for item in catalogue.items() {
            let info = items.entry(item.id.clone()).or_default();
            info.unit_cost = item.unit_cost;
            if info.category.as_deref().is_none_or(str::is_empty) {
                info.category = Some(item.category.clone());
            }
        }
    }
    let (rows, summary) = sales.finish(&items, options.market_per_item, options.min_weeks);
    if rows.is_empty() {
        bail!("the store {store} holds no orders to aggregate");
    }
    Ok((rows, summary))
}

fn run_weekly(config: &Config, args: &WeeklyArgs, json: bool) -> anyhow::Result<()> {
    let (rows, summary) = store_weekly_rows(config, &args.store_options)?;
    order_sales::write_csv(&rows, &args.out)?;
    if json {
        #[derive(Serialize)]
        struct WeeklyOutput<'a> {
            store: String,
            output: &'a Path,
            #[serde(flatten)]
            summary: &'a order_sales::OrderSalesSummary,
        }
        return print_json(&WeeklyOutput {
            store: redact(&config.store.url),
            output: &args.out,
            summary: &summary,
        });
    }
    let mut table = Table::new(&[
        "events",
        "orders",
        "order lines",
        "items",
        "items below --min-weeks",
        "weekly rows",
        "weeks without sales",
    ]);
    table.row(vec![
        count(summary.events_read),
        count(summary.orders),
        count(summary.order_lines),
        count(summary.items as u64),
        count(summary.items_below_min_weeks as u64),
        count(summary.rows as u64),
        count(summary.zero_weeks as u64),
    ]);
    print!("{}", table.render());
    println!("Weekly sales written to {}", args.out.display());
    Ok(())
}

// ------------------------------------------------------------------------------------------ stock-offers

/// Stock-aware offers in a simulated shop with finite stock. The simulator's catalogue is stocked so
/// that some items run short before their weekly replenishment and some have far too much; a share is
/// end-of-line stock salvaged below cost at the season's end. Per seed one engine is trained on a
/// warm-up of random offers, then the season is played twice over the same customers: without stock
/// positions, and with each item's stock shadow price (a unit is worth its list price when demand
/// would empty the shelf before replenishment, its salvage value or cost less holding when it would be
/// left over). Profit = revenue - cost of goods - salvage loss - holding cost.
///
/// Examples:
///   discount price stock-offers
///   discount price stock-offers --seeds 10 --visits 600 --json
///   discount price stock-offers --report stock.html
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct StockOffersArgs {
    /// Number of seeds (runs), from --seed on.
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Visits per day.
    #[arg(long, default_value_t = 400)]
    pub visits: u32,
    /// Items per category (8 categories).
    #[arg(long, default_value_t = 6)]
    pub items_per_category: u32,
    /// Days of random offers that train the engine.
    #[arg(long, default_value_t = 28)]
    pub warmup_days: u32,
    /// Days of the season.
    #[arg(long, default_value_t = 56)]
    pub days: u32,
    /// Replenished items are restocked every this many days.
    #[arg(long, default_value_t = 7)]
    pub restock_every: u32,
    /// Share of the items that are end-of-line stock (never replenished).
    #[arg(long, default_value_t = 0.25)]
    pub clearance_share: f64,
    /// Salvage value of a leftover end-of-line unit, as a share of its cost.
    #[arg(long, default_value_t = 0.3)]
    pub salvage: f64,
    /// Write an HTML report (profit, lost sales and salvaged units per seed, the summary table).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

fn run_stock_offers(args: &StockOffersArgs, json: bool) -> anyhow::Result<()> {
    if args.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let config = discount_lab::stock_lab::StockLabConfig {
        seeds: (args.seed..args.seed.saturating_add(args.seeds)).collect(),
        visits_per_day: args.visits,
        items_per_category: args.items_per_category,
        warmup_days: args.warmup_days,
        season_days: args.days,
        restock_every_days: args.restock_every,
        clearance_share: args.clearance_share,
        salvage_share: args.salvage,
        ..Default::default()
    };
    let started = Instant::now();
    let progress = !json && std::io::stderr().is_terminal();
    let report = discount_lab::stock_lab::run(&config, |done, total| {
        if progress {
            eprint!("\rseed {done} of {total}");
        }
    })?;
    if progress {
        eprintln!();
    }
    if let Some(path) = &args.report {
        write_report(&stock_offers_report(&report), path, json)?;
    }
    if json {
        return print_json(&report);
    }
    println!(
        "{} seeds, {} items, {} visits a day, {} days (after {} days of warm-up), in {:.1} s\n",
        report.seeds.len(),
        report.seeds.first().map_or(0, |s| s.items),
        args.visits,
        args.days,
        args.warmup_days,
        started.elapsed().as_secs_f64()
    );
    let money = |metric: &str| {
        metric == "profit"
            || metric == "revenue"
            || metric.contains("cost")
            || metric.contains("spend")
    };
    let show = |metric: &str, v: f64| {
        if money(metric) {
            format!("{:.2}", v / 100.0)
        } else {
            format!("{v:.1}")
        }
    };
    let mut table = Table::new(&[
        "mean per season",
        "without stock",
        "with stock price",
        "difference",
        "sd",
        "seeds better",
    ]);
    for r in &report.summary {
        table.row(vec![
            r.metric.clone(),
            show(&r.metric, r.without_stock),
            show(&r.metric, r.with_stock),
            show(&r.metric, r.difference),
            show(&r.metric, r.difference_sd),
            format!("{} of {}", r.seeds_better, report.seeds.len()),
        ]);
    }
    print!("{}", table.render());
    println!("(money in currency units)");
    Ok(())
}

fn stock_offers_report(report: &discount_lab::stock_lab::StockLabReport) -> Report {
    use discount_lab::stock_lab::SeasonFigures;
    let mut out = Report::new(
        "Stock-aware offers",
        "The same engine and customers over one season, without and with the shadow price of each item's stock.",
    );
    let per_seed = |title: &str, label: &str, value: fn(&SeasonFigures) -> f64| {
        let mut chart = BarChart::new(title, label);
        for s in &report.seeds {
            chart = chart
                .with_bar(
                    &format!("{} without", s.seed),
                    value(&s.without_stock),
                    None,
                )
                .with_bar(&format!("{} with", s.seed), value(&s.with_stock), None);
        }
        chart.render(CHART_WIDTH, CHART_HEIGHT)
    };
    let sections = [
        (
            "Profit",
            "Revenue less cost of goods, salvage loss and holding cost per seed (currency units), without and with the stock price.",
            per_seed("Profit per seed", "profit", |f| f.profit as f64 / 100.0),
        ),
        (
            "Lost sales",
            "Visitors who would have bought at the list price and found the shelf empty.",
            per_seed("Lost sales per seed", "units", |f| f.lost_sales as f64),
        ),
        (
            "End-of-line stock salvaged",
            "End-of-line units left at the season's end and sold for salvage below cost.",
            per_seed("Units salvaged per seed", "units", |f| f.clearance_salvaged as f64),
        ),
    ];
    for (heading, explanation, svg) in sections {
        out.push(Section {
            heading: heading.into(),
            explanation: explanation.into(),
            svg: Some(svg),
            table: None,
        });
    }
    let header = [
        "metric",
        "without stock",
        "with stock price",
        "difference",
        "sd",
        "seeds better",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    let rows = report
        .summary
        .iter()
        .map(|r| {
            vec![
                r.metric.clone(),
                format!("{:.1}", r.without_stock),
                format!("{:.1}", r.with_stock),
                format!("{:.1}", r.difference),
                format!("{:.1}", r.difference_sd),
                format!("{} of {}", r.seeds_better, report.seeds.len()),
            ]
        })
        .collect();
    out.push(Section {
        heading: "Summary".into(),
        explanation: "Means per season over the seeds (money in minor units).".into(),
        svg: None,
        table: Some((header, rows)),
    });
    out
}
