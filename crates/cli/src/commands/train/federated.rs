//! `discount train federated`: the propensity model trained by federated averaging across shops
//! (several stores) or regions (a public data set split by its region column), against pooled
//! training on the same rows.

use anyhow::{bail, Context};
use discount_models::propensity::federated::{
    fed_avg, rounds_to_reach, score, stack, FederatedConfig, Site,
};
use discount_models::propensity::folds::kfold_assignment;
use discount_models::propensity::{shoppers, Learner, LogisticConfig, LogisticRegression, Matrix};
use serde::Serialize;

use super::propensity::PropensityDataset;
use crate::commands::ingest::redact;
use crate::output::{print_json, Table};

/// Train the purchase-propensity model (logistic) by federated averaging across sites that cannot
/// pool their raw rows, and compare it with pooled training on the same rows.
///
/// Sites are either several stores (--store, one per shop or region; each builds its weekly
/// snapshot rows as `discount train propensity` does, trains on its earlier snapshots and holds
/// out its later ones) or the regions of a public data set (--dataset online-shoppers: its nine
/// Region codes; 20% of each region's rows, seeded, held out). Only aggregates leave a site:
/// its row count with per-column sums and sums of squares once (the shared standardisation),
/// then its coefficients once per round. Each round every site runs --local-epochs epochs of
/// mini-batch SGD from the global model and the new global model is the row-weighted mean.
///
/// Printed: the federated model's held-out log-loss and AUC per round, the pooled model's (the
/// same logistic regression fitted on all rows at once), the rounds FedAvg needs to come within
/// 1% of the pooled log-loss, and each site's model trained alone, scored on every site's
/// held-out rows.
///
/// Examples:
///   discount train federated --dataset online-shoppers --rounds 50
///   discount train federated --store sqlite://north.sqlite --store sqlite://south.sqlite
///   discount --json train federated --dataset online-shoppers --local-epochs 5
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct FederatedArgs {
    /// A public data set whose regions are the sites.
    #[arg(long, value_enum, conflicts_with = "store")]
    pub dataset: Option<PropensityDataset>,
    /// A site's store URL (give two or more).
    #[arg(long)]
    pub store: Vec<String>,
    #[arg(long, default_value_t = 30)]
    pub rounds: usize,
    #[arg(long, default_value_t = 1)]
    pub local_epochs: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0.05)]
    pub learning_rate: f64,
    /// L2 on the standardised coefficients (pooled sum-of-losses scale) for both fits.
    #[arg(long, default_value_t = 1.0)]
    pub l2: f64,
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Store sites: the label is an order within this many days of a snapshot.
    #[arg(long, default_value_t = 14)]
    pub horizon: u32,
    /// Store sites: days between snapshots.
    #[arg(long, default_value_t = 7)]
    pub every: u32,
    /// Folder of the public data sets (default: $DISCOUNT_DATA_DIR or ../shared/data).
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
}

#[derive(Serialize)]
struct SiteFigures {
    site: String,
    training_rows: usize,
    held_out_rows: usize,
    /// The site's own model (trained on its rows alone) on every site's held-out rows.
    alone_log_loss: Option<f64>,
    alone_auc: Option<f64>,
}

#[derive(Serialize)]
struct FederatedOutput {
    sites: Vec<SiteFigures>,
    held_out_rows: usize,
    pooled_log_loss: f64,
    pooled_auc: f64,
    federated_log_loss: f64,
    federated_auc: f64,
    /// First round within 1% of the pooled log-loss.
    rounds_to_within_1pct: Option<usize>,
    rounds: Vec<discount_models::propensity::federated::RoundFigures>,
    values_sent_per_site: usize,
    config: FederatedConfig,
}

struct Split {
    train: Vec<Site>,
    held_out: Vec<(Matrix, Vec<f64>)>,
}

pub fn run(args: &FederatedArgs, json: bool) -> anyhow::Result<()> {
    let config = FederatedConfig {
        rounds: args.rounds,
        local_epochs: args.local_epochs,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        l2: args.l2,
        seed: args.seed,
    };
    let split = match (&args.dataset, args.store.len()) {
        (Some(PropensityDataset::OnlineShoppers), _) => shopper_regions(args)?,
        (None, n) if n >= 2 => store_sites(args)?,
        (None, _) => bail!(
            "name the sites: two or more --store URLs (one per shop or region), or \
             --dataset online-shoppers (its regions)"
        ),
    };
    let held: Vec<(&Matrix, &[f64])> = split.held_out.iter().map(|(x, y)| (x, &y[..])).collect();
    let (test_x, test_y) = stack(&held)?;
    if test_y.iter().all(|y| *y > 0.5) || test_y.iter().all(|y| *y < 0.5) {
        bail!("the held-out rows have a single class; no log-loss or AUC to compare");
    }
    let fit = fed_avg(&split.train, (&test_x, &test_y), &config)?;
    let parts: Vec<(&Matrix, &[f64])> = split.train.iter().map(|s| (&s.x, &s.y[..])).collect();
    let (all_x, all_y) = stack(&parts)?;
    let logistic = || {
        LogisticRegression::new(LogisticConfig {
            l2: args.l2,
            ..Default::default()
        })
    };
    let mut pooled = logistic()?;
    pooled.fit(&all_x, &all_y, None)?;
    let (pooled_log_loss, pooled_auc) = score(&pooled, &test_x, &test_y)?;
    let mut sites = Vec::new();
    for (site, (held_x, _)) in split.train.iter().zip(&split.held_out) {
        let classes = site.y.iter().any(|y| *y > 0.5) && site.y.iter().any(|y| *y < 0.5);
        let alone = if classes {
            let mut m = logistic()?;
            m.fit(&site.x, &site.y, None)?;
            Some(score(&m, &test_x, &test_y)?)
        } else {
            None
        };
        sites.push(SiteFigures {
            site: site.name.clone(),
            training_rows: site.x.rows(),
            held_out_rows: held_x.rows(),
            alone_log_loss: alone.map(|a| a.0),
            alone_auc: alone.map(|a| a.1),
        });
    }
    let last = fit
        .rounds
        .last()
        .context("federated training ran no round")?
        .clone();
    let out = FederatedOutput {
        sites,
        held_out_rows: test_y.len(),
        pooled_log_loss,
        pooled_auc,
        federated_log_loss: last.log_loss,
        federated_auc: last.auc,
        rounds_to_within_1pct: rounds_to_reach(&fit.rounds, pooled_log_loss, 0.01),
        rounds: fit.rounds,
        values_sent_per_site: fit.values_sent_per_site,
        config,
    };
    if json {
        return print_json(&out);
    }
    print_output(&out);
    Ok(())
}

fn print_output(out: &FederatedOutput) {
    let fmt = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.4}"));
    let mut t = Table::new(&[
        "site",
        "training rows",
        "held out",
        "alone: log-loss",
        "alone: AUC",
    ]);
    for s in &out.sites {
        t.row(vec![
            s.site.clone(),
            s.training_rows.to_string(),
            s.held_out_rows.to_string(),
            fmt(s.alone_log_loss),
            fmt(s.alone_auc),
        ]);
    }
    print!("{}", t.render());
    let mut t = Table::new(&["round", "log-loss", "AUC"]);
    let n = out.rounds.len();
    for r in out
        .rounds
        .iter()
        .filter(|r| r.round <= 5 || r.round % 5 == 0 || r.round == n)
    {
        t.row(vec![
            r.round.to_string(),
            format!("{:.4}", r.log_loss),
            format!("{:.4}", r.auc),
        ]);
    }
    print!("{}", t.render());
    println!(
        "pooled: log-loss {:.4}, AUC {:.4}; federated after {n} rounds: log-loss {:.4}, AUC {:.4}; \
         within 1% of pooled after {} rounds; {} values sent per site, on {} held-out rows",
        out.pooled_log_loss,
        out.pooled_auc,
        out.federated_log_loss,
        out.federated_auc,
        out.rounds_to_within_1pct
            .map_or("(not reached)".into(), |r| r.to_string()),
        out.values_sent_per_site,
        out.held_out_rows
    );
}

/// The online shoppers sessions, one site per Region code; 20% of each region held out.
fn shopper_regions(args: &FederatedArgs) -> anyhow::Result<Split> {
    let path = super::data_dir(args.data_dir.as_deref()).join(shoppers::RELATIVE_PATH);
    let data = shoppers::load(&path).with_context(|| format!("reading {}", path.display()))?;
    let regions: Vec<(usize, String)> = data
        .features
        .iter()
        .enumerate()
        .filter_map(|(j, f)| f.name.strip_prefix("Region=").map(|r| (j, r.to_string())))
        .collect();
    if regions.is_empty() {
        bail!("{}: no Region column to split by", path.display());
    }
    let mut split = Split {
        train: Vec::new(),
        held_out: Vec::new(),
    };
    // Fold 0 of a seeded 5-fold assignment is held out, in every region.
    let folds = kfold_assignment(data.x.rows(), 5, args.seed)?;
    for (column, region) in &regions {
        let rows: Vec<usize> = (0..data.x.rows())
            .filter(|&i| data.x.get(i, *column) > 0.5)
            .collect();
        let (held, kept): (Vec<usize>, Vec<usize>) = rows.iter().partition(|&&i| folds[i] == 0);
        let take = |idx: &[usize]| {
            (
                data.x.select_rows(idx),
                idx.iter().map(|&i| data.y[i]).collect::<Vec<f64>>(),
            )
        };
        let (x, y) = take(&kept);
        split.train.push(Site {
            name: format!("region {region}"),
            x,
            y,
        });
        split.held_out.push(take(&held));
    }
    Ok(split)
}

/// One site per store: its snapshot rows before its cut-off train, the later ones are held out.
fn store_sites(args: &FederatedArgs) -> anyhow::Result<Split> {
    let mut split = Split {
        train: Vec::new(),
        held_out: Vec::new(),
    };
    let mut width = None;
    for url in &args.store {
        let mut config = discount_core::Config::default();
        config.store.url = url.clone();
        let rows = super::shop_propensity::snapshot_rows(&config, args.horizon, args.every, None)
            .with_context(|| format!("the site {}", redact(url)))?;
        if let Some(w) = width.filter(|w| *w != rows.train.cols()) {
            bail!(
                "the site {} builds {} features, the first site {w}: all sites must run the same version",
                redact(url),
                rows.train.cols()
            );
        }
        width = Some(rows.train.cols());
        split.train.push(Site {
            name: redact(url),
            x: rows.train,
            y: rows.train_y,
        });
        split.held_out.push((rows.valid, rows.valid_y));
    }
    Ok(split)
}
