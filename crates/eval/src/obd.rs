//! The Open Bandit Dataset (Saito et al., NeurIPS 2021 Datasets & Benchmarks): reader, the production
//! Bernoulli Thompson Sampling policy's action distribution, and the standard experiment.
//!
//! Layout under the data directory (`$DISCOUNT_DATA_DIR`, else `../shared/data` relative to the repository
//! root): `open-bandit-dataset/{random,bts}/{campaign}/{campaign}.csv`, `.../item_context.csv` and
//! `open-bandit-dataset/bts_prior_{campaign}.csv`.
//!
//! The experiment (the paper's protocol): estimate the value of the BTS policy from the log of the uniform
//! random policy, and compare with the BTS log's on-policy mean click rate; and the reverse (the random policy,
//! uniform 1/80 at every position, estimated from the BTS log, against the random log's mean click rate).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand_distr::{Beta, Distribution};

use crate::error::{EvalError, Result};
use crate::ope::{
    self, cross_fit, BanditLog, BootstrapConfig, EmpiricalMeanRewardModel, EstimateResult,
    Estimator, LogisticRewardModel, Matrix, OpeInputs, RewardModel, RoundTensor,
};

/// Number of slots in ZOZOTOWN's recommendation interface.
pub const OBD_LEN_LIST: usize = 3;

/// The data directory: `$DISCOUNT_DATA_DIR` when set; otherwise `../shared/data` relative to the repository root,
/// found by walking up from the current directory to the first folder with a `Cargo.toml` that has a sibling
/// `shared/data`; otherwise `../shared/data` relative to the current directory.
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DISCOUNT_DATA_DIR") {
        return PathBuf::from(dir);
    }
    if let Ok(current) = std::env::current_dir() {
        for ancestor in current.ancestors() {
            let candidate = ancestor.join("../shared/data");
            if ancestor.join("Cargo.toml").is_file() && candidate.is_dir() {
                return candidate;
            }
        }
    }
    PathBuf::from("../shared/data")
}

/// Which logging policy produced an Open Bandit Dataset log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BehaviorPolicy {
    /// Uniform random over the 80 items.
    Random,
    /// Bernoulli Thompson Sampling.
    Bts,
}

impl BehaviorPolicy {
    pub fn as_str(&self) -> &'static str {
        match self {
            BehaviorPolicy::Random => "random",
            BehaviorPolicy::Bts => "bts",
        }
    }
}

impl std::str::FromStr for BehaviorPolicy {
    type Err = EvalError;
    fn from_str(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "random" => Ok(BehaviorPolicy::Random),
            "bts" => Ok(BehaviorPolicy::Bts),
            _ => Err(EvalError::setting(
                "behavior",
                format!("`{text}`: expected `random` or `bts`"),
            )),
        }
    }
}

/// Paths of one campaign of the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct ObdPaths {
    pub root: PathBuf,
    pub campaign: String,
}

impl ObdPaths {
    /// Paths under `data_dir/open-bandit-dataset`.
    pub fn new(data_dir: &Path, campaign: &str) -> Self {
        ObdPaths {
            root: data_dir.join("open-bandit-dataset"),
            campaign: campaign.to_string(),
        }
    }
    /// The log of `behavior`.
    pub fn log(&self, behavior: BehaviorPolicy) -> PathBuf {
        self.root
            .join(behavior.as_str())
            .join(&self.campaign)
            .join(format!("{}.csv", self.campaign))
    }
    /// The item features next to the log of `behavior`.
    pub fn item_context(&self, behavior: BehaviorPolicy) -> PathBuf {
        self.root
            .join(behavior.as_str())
            .join(&self.campaign)
            .join("item_context.csv")
    }
    /// The BTS prior of the campaign.
    pub fn bts_prior(&self) -> PathBuf {
        self.root.join(format!("bts_prior_{}.csv", self.campaign))
    }
}

use crate::csv_file::{column, open_with_headers};

fn parse_field<T: std::str::FromStr>(
    record: &csv::StringRecord,
    index: usize,
    path: &Path,
    field: &str,
    expected: &str,
) -> Result<T> {
    let line = record.position().map(|p| p.line()).unwrap_or(0);
    let raw = record.get(index).unwrap_or("");
    raw.trim().parse().map_err(|_| EvalError::BadValue {
        path: path.to_path_buf(),
        line,
        field: field.to_string(),
        value: raw.to_string(),
        message: format!("expected {expected}"),
    })
}

/// One Open Bandit Dataset log, read like Open Bandit Pipeline's `OpenBanditDataset`: rows sorted by
/// timestamp, `action = item_id`, `position` = dense rank of the position column minus one (0, 1, 2),
/// `reward = click`, `pscore = propensity_score`, and context = one-hot `user_feature_*` columns with the first
/// category of each dropped (pandas `get_dummies(drop_first=True)`, categories in sorted order).
#[derive(Debug, Clone)]
pub struct ObdLog {
    pub log: BanditLog,
    /// Names of the context columns, e.g. `user_feature_0=<hash>`.
    pub context_columns: Vec<String>,
    pub timestamps: Vec<String>,
}

/// Reads an Open Bandit Dataset log (`all.csv` layout). `n_actions` is the number of items (80 in OBD); when
/// `None`, it is the largest item id plus one.
pub fn read_obd_log(path: &Path, n_actions: Option<usize>) -> Result<ObdLog> {
    let (mut reader, headers) = open_with_headers(path)?;
    let timestamp_col = column(&headers, path, "timestamp")?;
    let item_col = column(&headers, path, "item_id")?;
    let position_col = column(&headers, path, "position")?;
    let click_col = column(&headers, path, "click")?;
    let pscore_col = column(&headers, path, "propensity_score")?;
    let user_cols: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| h.starts_with("user_feature"))
        .map(|(i, h)| (i, h.to_string()))
        .collect();

    struct Row {
        timestamp: String,
        item: u32,
        position: i64,
        click: f64,
        pscore: f64,
        users: Vec<String>,
    }
    let mut rows = Vec::new();
    for record in crate::csv_file::records(&mut reader, path) {
        let record = record?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let pscore: f64 = parse_field(&record, pscore_col, path, "propensity_score", "a number")?;
        if !(pscore > 0.0 && pscore <= 1.0) {
            return Err(EvalError::BadValue {
                path: path.to_path_buf(),
                line,
                field: "propensity_score".into(),
                value: pscore.to_string(),
                message: "a propensity must be in (0, 1]".into(),
            });
        }
        let click: f64 = parse_field(&record, click_col, path, "click", "0 or 1")?;
        rows.push(Row {
            timestamp: record.get(timestamp_col).unwrap_or("").to_string(),
            item: parse_field(&record, item_col, path, "item_id", "a non-negative integer")?,
            position: parse_field(&record, position_col, path, "position", "an integer")?,
            click,
            pscore,
            users: user_cols
                .iter()
                .map(|(i, _)| record.get(*i).unwrap_or("").to_string())
                .collect(),
        });
    }
    if rows.is_empty() {
        return Err(EvalError::Insufficient(format!(
            "{} has no rows",
            path.display()
        )));
    }
    // Stable sort, so rows with equal timestamps keep their file order.
    rows.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));

    let distinct_positions: Vec<i64> = {
        let mut p: Vec<i64> = rows.iter().map(|r| r.position).collect();
        p.sort_unstable();
        p.dedup();
        p
    };
    let n_positions = distinct_positions.len();
    let max_item = rows.iter().map(|r| r.item).max().unwrap_or(0) as usize;
    let n_actions = n_actions.unwrap_or(max_item + 1);

    // One-hot user features with the first (sorted) category of each column dropped.
    let mut context_columns = Vec::new();
    let mut category_index: Vec<BTreeMap<String, Option<usize>>> = Vec::new();
    for (j, (_, name)) in user_cols.iter().enumerate() {
        let mut categories: Vec<&str> = rows.iter().map(|r| r.users[j].as_str()).collect();
        categories.sort_unstable();
        categories.dedup();
        let mut map = BTreeMap::new();
        for (k, category) in categories.iter().enumerate() {
            if k == 0 {
                map.insert(category.to_string(), None);
            } else {
                map.insert(category.to_string(), Some(context_columns.len()));
                context_columns.push(format!("{name}={category}"));
            }
        }
        category_index.push(map);
    }
    let d = context_columns.len();
    let mut context = vec![0.0; rows.len() * d];
    for (i, row) in rows.iter().enumerate() {
        for (j, value) in row.users.iter().enumerate() {
            if let Some(Some(c)) = category_index[j].get(value) {
                context[i * d + c] = 1.0;
            }
        }
    }
    let n = rows.len();
    let log = BanditLog::new(
        n_actions,
        n_positions,
        rows.iter().map(|r| r.item).collect(),
        Some(
            rows.iter()
                .map(|r| distinct_positions.partition_point(|p| *p < r.position) as u32)
                .collect(),
        ),
        rows.iter().map(|r| r.click).collect(),
        rows.iter().map(|r| r.pscore).collect(),
        if d > 0 {
            Some(Matrix::new(n, d, context)?)
        } else {
            None
        },
    )
    .map_err(|e| match e {
        EvalError::InvalidInput {
            field,
            index,
            value,
            message,
        } => EvalError::BadValue {
            path: path.to_path_buf(),
            line: 0,
            field,
            value: value.to_string(),
            message: format!("{message} (row {index} after sorting by timestamp)"),
        },
        other => other,
    })?;
    Ok(ObdLog {
        log,
        context_columns,
        timestamps: rows.into_iter().map(|r| r.timestamp).collect(),
    })
}

/// Number of items listed in an `item_context.csv`.
pub fn count_items(path: &Path) -> Result<usize> {
    let (mut reader, _) = open_with_headers(path)?;
    let count =
        crate::csv_file::records(&mut reader, path).try_fold(0, |n, record| record.map(|_| n + 1));
    count
}

/// Reads a BTS prior file (`item_id,alpha,beta`), returning `(alpha, beta)` indexed by item id.
pub fn read_bts_prior(path: &Path) -> Result<Vec<(f64, f64)>> {
    let (mut reader, headers) = open_with_headers(path)?;
    let item_col = column(&headers, path, "item_id")?;
    let alpha_col = column(&headers, path, "alpha")?;
    let beta_col = column(&headers, path, "beta")?;
    let mut prior: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
    for record in crate::csv_file::records(&mut reader, path) {
        let record = record?;
        let item: usize =
            parse_field(&record, item_col, path, "item_id", "a non-negative integer")?;
        let alpha: f64 = parse_field(&record, alpha_col, path, "alpha", "a positive number")?;
        let beta: f64 = parse_field(&record, beta_col, path, "beta", "a positive number")?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if !(alpha > 0.0 && beta > 0.0 && alpha.is_finite() && beta.is_finite()) {
            return Err(EvalError::BadValue {
                path: path.to_path_buf(),
                line,
                field: "alpha/beta".into(),
                value: format!("{alpha}/{beta}"),
                message: "Beta parameters must be positive and finite".into(),
            });
        }
        if prior.insert(item, (alpha, beta)).is_some() {
            return Err(EvalError::BadValue {
                path: path.to_path_buf(),
                line,
                field: "item_id".into(),
                value: item.to_string(),
                message: "duplicate item".into(),
            });
        }
    }
    let n = prior.len();
    if prior.keys().copied().ne(0..n) {
        return Err(EvalError::BadValue {
            path: path.to_path_buf(),
            line: 0,
            field: "item_id".into(),
            value: String::new(),
            message: format!("item ids must be exactly 0..{n}"),
        });
    }
    Ok(prior.into_values().collect())
}

/// The action distribution of Bernoulli Thompson Sampling with fixed Beta priors, by Monte Carlo (Open Bandit
/// Pipeline's `BernoulliTS.compute_batch_action_dist` with `is_zozotown_prior=True`): in each of `n_sim`
/// simulations draw θ_i ~ Beta(α_i, β_i) for every item, rank items by θ descending, and count which item lands
/// at each of the first `len_list` positions. Returns the `[item][position]` table of frequencies.
///
/// The simulations are split into 64 blocks, block `b` seeded from `(seed, b)`, and the blocks run on all
/// cores: the result depends on the seed only.
pub fn bts_action_dist(
    prior: &[(f64, f64)],
    len_list: usize,
    n_sim: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    let n_items = prior.len();
    if len_list == 0 || len_list > n_items {
        return Err(EvalError::setting(
            "len_list",
            format!("must be between 1 and the number of items ({n_items})"),
        ));
    }
    if n_sim == 0 {
        return Err(EvalError::setting("n_sim", "must be at least 1"));
    }
    let distributions = prior
        .iter()
        .enumerate()
        .map(|(i, &(a, b))| {
            Beta::new(a, b).map_err(|e| EvalError::invalid("bts prior", i, a, e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    const BLOCKS: usize = 64;
    let block_sizes: Vec<usize> = (0..BLOCKS)
        .map(|b| n_sim / BLOCKS + usize::from(b < n_sim % BLOCKS))
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1);
    let per_thread = BLOCKS.div_ceil(threads);
    let counts: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let distributions = &distributions;
                let block_sizes = &block_sizes;
                scope.spawn(move || {
                    let mut counts = vec![0u64; n_items * len_list];
                    let mut theta = vec![0.0; n_items];
                    let mut top: Vec<usize> = Vec::with_capacity(len_list + 1);
                    let first = (t * per_thread).min(BLOCKS);
                    let last = ((t + 1) * per_thread).min(BLOCKS);
                    for (b, &block_size) in block_sizes.iter().enumerate().take(last).skip(first) {
                        let mut rng = ope::bootstrap::resample_rng(seed, b as u64);
                        for _ in 0..block_size {
                            for (value, distribution) in theta.iter_mut().zip(distributions) {
                                *value = distribution.sample(&mut rng);
                            }
                            // Keep the len_list largest draws in descending order.
                            top.clear();
                            for (i, value) in theta.iter().enumerate() {
                                let rank = top.partition_point(|&j| theta[j] >= *value);
                                if rank < len_list {
                                    top.insert(rank, i);
                                    top.truncate(len_list);
                                }
                            }
                            for (position, &item) in top.iter().enumerate() {
                                counts[item * len_list + position] += 1;
                            }
                        }
                    }
                    counts
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut table = vec![0.0; n_items * len_list];
    for thread_counts in &counts {
        if thread_counts.len() != table.len() {
            return Err(EvalError::Insufficient(
                "a Monte Carlo worker thread failed".into(),
            ));
        }
        for (t, c) in table.iter_mut().zip(thread_counts) {
            *t += *c as f64;
        }
    }
    table.iter_mut().for_each(|t| *t /= n_sim as f64);
    Ok(table)
}

/// Which reward model the experiment fits for DM and the DR family.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RewardModelChoice {
    /// [`EmpiricalMeanRewardModel`].
    EmpiricalMean { prior_strength: f64 },
    /// [`LogisticRewardModel`] on the one-hot user features.
    Logistic { prior_strength: f64, l2: f64 },
}

impl RewardModelChoice {
    /// Builds the model, validating its hyper-parameters.
    pub fn build(&self) -> Result<Box<dyn RewardModel>> {
        Ok(match *self {
            RewardModelChoice::EmpiricalMean { prior_strength } => {
                Box::new(EmpiricalMeanRewardModel::new(prior_strength)?)
            }
            RewardModelChoice::Logistic { prior_strength, l2 } => Box::new(
                LogisticRewardModel::new(EmpiricalMeanRewardModel::new(prior_strength)?, l2, 25)?,
            ),
        })
    }
}

/// Settings of the Open Bandit Dataset experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct ObdExperimentConfig {
    pub data_dir: PathBuf,
    pub campaign: String,
    /// Monte Carlo simulations for the BTS action distribution (Open Bandit Pipeline's default: 100 000).
    pub n_sim: usize,
    pub estimators: Vec<Estimator>,
    pub bootstrap: BootstrapConfig,
    /// Folds of reward-model cross-fitting.
    pub n_folds: usize,
    pub reward_model: RewardModelChoice,
    /// Seed of the Monte Carlo and the folds (the bootstrap has its own seed).
    pub seed: u64,
}

impl ObdExperimentConfig {
    /// Defaults: campaign `all`, 100 000 simulations, the standard estimators, 1000 bootstrap resamples,
    /// 3 folds, empirical-mean reward model with prior strength 10, seed 12345.
    pub fn new(data_dir: PathBuf) -> Self {
        ObdExperimentConfig {
            data_dir,
            campaign: "all".into(),
            n_sim: 100_000,
            estimators: Estimator::standard_set(),
            bootstrap: BootstrapConfig::default(),
            n_folds: 3,
            reward_model: RewardModelChoice::EmpiricalMean {
                prior_strength: 10.0,
            },
            seed: 12345,
        }
    }
}

/// One estimator's result and its error against the on-policy ground truth.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EstimateWithError {
    #[serde(flatten)]
    pub result: EstimateResult,
    /// |estimate − ground truth| / ground truth.
    pub relative_error: f64,
}

/// One direction of the experiment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ObdDirectionResult {
    /// The policy that logged the data the estimators read.
    pub behavior: BehaviorPolicy,
    /// The policy whose value is estimated.
    pub evaluation: BehaviorPolicy,
    pub n_rounds: usize,
    /// On-policy value of the evaluation policy: mean click in its own log.
    pub ground_truth: f64,
    /// Rounds in the evaluation policy's own log.
    pub ground_truth_rounds: usize,
    pub estimates: Vec<EstimateWithError>,
}

/// The whole experiment, serialisable for `--json` and reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ObdExperimentResult {
    pub campaign: String,
    pub n_sim: usize,
    pub n_folds: usize,
    pub reward_model: String,
    pub bootstrap: BootstrapConfig,
    pub seed: u64,
    pub directions: Vec<ObdDirectionResult>,
}

/// Loads a log of the campaign and the number of items from its `item_context.csv`.
pub fn load_campaign_log(paths: &ObdPaths, behavior: BehaviorPolicy) -> Result<ObdLog> {
    let n_items = count_items(&paths.item_context(behavior))?;
    read_obd_log(&paths.log(behavior), Some(n_items))
}

/// The evaluation policy's action distribution for an OBD log: BTS (Monte Carlo from the campaign's prior)
/// or uniform random.
pub fn policy_action_dist(
    paths: &ObdPaths,
    policy: BehaviorPolicy,
    log: &BanditLog,
    n_sim: usize,
    seed: u64,
) -> Result<RoundTensor> {
    match policy {
        BehaviorPolicy::Random => Ok(RoundTensor::uniform(
            log.n_rounds(),
            log.n_actions,
            log.n_positions,
        )),
        BehaviorPolicy::Bts => {
            let prior = read_bts_prior(&paths.bts_prior())?;
            if prior.len() != log.n_actions {
                return Err(EvalError::shape(
                    "BTS prior items",
                    log.n_actions,
                    prior.len(),
                ));
            }
            let table = bts_action_dist(&prior, log.n_positions, n_sim, seed)?;
            RoundTensor::shared(log.n_rounds(), log.n_actions, log.n_positions, table)
        }
    }
}

/// Runs the standard experiment in both directions.
pub fn run_obd_experiment(config: &ObdExperimentConfig) -> Result<ObdExperimentResult> {
    let paths = ObdPaths::new(&config.data_dir, &config.campaign);
    let random = load_campaign_log(&paths, BehaviorPolicy::Random)?;
    let bts = load_campaign_log(&paths, BehaviorPolicy::Bts)?;
    let model = config.reward_model.build()?;
    let mut directions = Vec::new();
    for (behavior, logged, evaluation, truth_log) in [
        (BehaviorPolicy::Random, &random, BehaviorPolicy::Bts, &bts),
        (BehaviorPolicy::Bts, &bts, BehaviorPolicy::Random, &random),
    ] {
        let log = &logged.log;
        let action_dist = policy_action_dist(&paths, evaluation, log, config.n_sim, config.seed)?;
        let needs_model = config.estimators.iter().any(Estimator::needs_reward_model);
        let estimated_rewards = if needs_model {
            Some(cross_fit(model.as_ref(), log, config.n_folds, config.seed)?)
        } else {
            None
        };
        let inputs = OpeInputs::prepare(log, &action_dist, estimated_rewards.as_ref())?;
        let ground_truth = truth_log.log.mean_reward();
        let estimates = ope::evaluate(&inputs, &config.estimators, &config.bootstrap)?
            .into_iter()
            .map(|result| EstimateWithError {
                relative_error: ((result.estimate - ground_truth) / ground_truth).abs(),
                result,
            })
            .collect();
        directions.push(ObdDirectionResult {
            behavior,
            evaluation,
            n_rounds: log.n_rounds(),
            ground_truth,
            ground_truth_rounds: truth_log.log.n_rounds(),
            estimates,
        });
    }
    Ok(ObdExperimentResult {
        campaign: config.campaign.clone(),
        n_sim: config.n_sim,
        n_folds: config.n_folds,
        reward_model: model.name(),
        bootstrap: config.bootstrap,
        seed: config.seed,
        directions,
    })
}
