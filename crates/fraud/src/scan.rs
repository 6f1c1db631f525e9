//! The scan: rules, rings and learned scores over one event history, the score table for the
//! gate, the threshold that meets the false-positive budget, and the evaluation against labels.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use discount_core::RiskAssessment;
use discount_core::{FraudKind, FraudLabel};
use serde::{Deserialize, Serialize};

use crate::activity::Activity;
use crate::calibration::{Calibration, Isotonic, Platt};
use crate::features::{self, FeatureRow, N_BEHAVIOUR, N_FEATURES};
use crate::identity::{Rings, DEFAULT_LINK_ATTRIBUTES};
use crate::iforest::{IsolationForest, IsolationForestConfig};
use crate::logistic::{Logistic, LogisticConfig};
use crate::rules::{self, RuleHit, RulesConfig, RULE_NAMES};
use crate::scores::ScoreTable;
use crate::threshold::{threshold_for_budget, threshold_for_labels};
use crate::FraudError;

/// How scores become probabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationMethod {
    Platt,
    Isotonic,
}

/// Everything a scan can be told (the `--config` TOML file of `discount fraud scan`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanConfig {
    pub rules: RulesConfig,
    /// `User.attributes` that link accounts.
    pub link_attributes: Vec<String>,
    /// Largest share of good customers (labelled) or of all customers (unlabelled) the gate
    /// may affect.
    pub false_positive_budget: f64,
    pub calibration: CalibrationMethod,
    pub isolation_forest: IsolationForestConfig,
    pub logistic: LogisticConfig,
    /// Accounts listed in the report, riskiest first.
    pub report_accounts: usize,
    pub report_rings: usize,
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            rules: RulesConfig::default(),
            link_attributes: DEFAULT_LINK_ATTRIBUTES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            false_positive_budget: 0.005,
            calibration: CalibrationMethod::Platt,
            isolation_forest: IsolationForestConfig::default(),
            logistic: LogisticConfig::default(),
            report_accounts: 20,
            report_rings: 10,
        }
    }
}

impl ScanConfig {
    pub fn load(path: &Path) -> Result<Self, FraudError> {
        let text = std::fs::read_to_string(path).map_err(|source| FraudError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let config: ScanConfig = toml::from_str(&text).map_err(|source| FraudError::Toml {
            path: path.display().to_string(),
            source,
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), FraudError> {
        self.rules.validate()?;
        if !(0.0..1.0).contains(&self.false_positive_budget) {
            return Err(FraudError::config(
                "false_positive_budget",
                self.false_positive_budget,
                "must be in [0, 1)",
            ));
        }
        if self.link_attributes.len() > 8 {
            return Err(FraudError::config(
                "link_attributes",
                self.link_attributes.join(","),
                "at most 8 identifier kinds",
            ));
        }
        Ok(())
    }
}

/// Fraud labels by account id (from a simulator's `ground_truth.json`).
#[derive(Clone, Debug, Default)]
pub struct Labels {
    pub by_account: HashMap<String, FraudLabel>,
}

impl Labels {
    /// Reads the `fraud` list of a `ground_truth.json`; other fields are skipped.
    pub fn load(path: &Path) -> Result<Self, FraudError> {
        #[derive(Deserialize)]
        struct Truth {
            #[serde(default)]
            fraud: Vec<FraudLabel>,
        }
        let file = std::fs::File::open(path).map_err(|source| FraudError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let truth: Truth =
            serde_json::from_reader(std::io::BufReader::new(file)).map_err(|source| {
                FraudError::Json {
                    path: path.display().to_string(),
                    source,
                }
            })?;
        Ok(Self::from_labels(truth.fraud))
    }

    pub fn from_labels(labels: Vec<FraudLabel>) -> Self {
        Self {
            by_account: labels.into_iter().map(|l| (l.user_id.clone(), l)).collect(),
        }
    }

    pub fn kind(&self, account: &str) -> FraudKind {
        self.by_account
            .get(account)
            .map_or(FraudKind::None, |l| l.kind)
    }
}

/// One account of the report.
#[derive(Clone, Debug, Serialize)]
pub struct FlaggedAccount {
    pub account: String,
    pub risk: f64,
    pub above_threshold: bool,
    pub rules: Vec<RuleHit>,
    /// Features that raised the score most (name = value).
    pub features: Vec<String>,
    pub ring_size: u32,
    pub shared_identifiers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// One ring of the report.
#[derive(Clone, Debug, Serialize)]
pub struct RingReport {
    /// The ring's earliest-listed account.
    pub ring: String,
    pub size: u32,
    pub new_account_share: f64,
    pub signup_spread_days: f64,
    pub shared_identifiers: Vec<String>,
    pub flagged_accounts: usize,
    pub rules: BTreeMap<String, usize>,
}

/// Precision and recall for one fraud type at the gate threshold.
#[derive(Clone, Debug, Serialize)]
pub struct KindMetrics {
    pub kind: String,
    pub accounts: usize,
    pub caught: usize,
    pub recall: f64,
    /// caught / (caught + good customers affected).
    pub precision: f64,
    /// The same figures for the rules alone (any rule fired).
    pub rules_recall: f64,
    pub rules_precision: f64,
}

/// One rule's record against the labels.
#[derive(Clone, Debug, Serialize)]
pub struct RuleMetrics {
    pub rule: String,
    pub fired: usize,
    pub fired_on_good: usize,
    pub precision: f64,
    pub by_kind: BTreeMap<String, usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    pub fraud_accounts: usize,
    pub good_accounts: usize,
    pub good_affected: usize,
    pub good_affected_share: f64,
    pub precision: f64,
    pub recall: f64,
    pub by_kind: Vec<KindMetrics>,
    pub rules: Vec<RuleMetrics>,
    /// Coupon discount received by all fraud accounts (minor units).
    pub fraud_discount_spend: i64,
    /// ... by the fraud accounts at or above the threshold: what the gate withholds from them
    /// when their scores are fresh at decision time.
    pub fraud_discount_spend_flagged: i64,
    /// Coupon discount received by the good customers the gate would affect.
    pub good_discount_spend_affected: i64,
    /// Brier score of the calibrated risk, and expected calibration error over 10 bins.
    pub brier: f64,
    pub calibration_error: f64,
}

/// The scan's result: per-account risks, the threshold, and the report.
#[derive(Debug)]
pub struct Scan {
    pub account_ids: Vec<String>,
    pub risk: Vec<f64>,
    pub reasons: Vec<Vec<String>>,
    pub threshold: f64,
    pub report: ScanReport,
}

impl Scan {
    /// The score table the gate reads.
    pub fn score_table(&self) -> ScoreTable {
        self.account_ids
            .iter()
            .zip(self.risk.iter().zip(&self.reasons))
            .map(|(id, (&score, reasons))| {
                (
                    id.clone(),
                    RiskAssessment {
                        score,
                        reasons: reasons.clone(),
                    },
                )
            })
            .collect()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ScanReport {
    pub accounts: usize,
    pub order_lines: usize,
    pub rings: usize,
    pub accounts_in_rings: usize,
    /// `calibrated` (labels were given: a supervised model with its calibration) or
    /// `population_rank` (no labels: the isolation-forest score's rank in the population).
    pub score: String,
    pub threshold: f64,
    pub false_positive_budget: f64,
    pub above_threshold: usize,
    /// Accounts at least one rule fired for.
    pub flagged_by_rules: usize,
    pub rule_counts: BTreeMap<String, usize>,
    pub top_accounts: Vec<FlaggedAccount>,
    pub top_rings: Vec<RingReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
}

fn fold_of(component: u32) -> usize {
    // Accounts of one ring share a fold, so a ring never trains its own score.
    (discount_core::hash::mix64(u64::from(component) ^ 0x9e37_79b9) & 1) as usize
}

/// Runs the whole scan over a filled [`Activity`].
pub fn scan(
    mut activity: Activity,
    labels: Option<&Labels>,
    config: &ScanConfig,
) -> Result<Scan, FraudError> {
    config.validate()?;
    let n = activity.len();
    if n == 0 {
        return Err(FraudError::Input("no accounts in the input".into()));
    }
    let rings = activity.rings();
    let hits = rules::evaluate(&config.rules, &activity, &rings);
    let rows = features::build(&activity, &rings, &hits);
    let behaviour: Vec<&[f64]> = rows.iter().map(|r| &r[..N_BEHAVIOUR]).collect();
    let anomaly: Vec<f64> = if n >= 2 {
        let forest = IsolationForest::fit(&behaviour, &config.isolation_forest)?;
        behaviour.iter().map(|r| forest.score(r)).collect()
    } else {
        vec![0.5; n]
    };
    let is_fraud: Option<Vec<bool>> = labels.map(|l| {
        activity
            .account_ids
            .iter()
            .map(|id| l.kind(id) != FraudKind::None)
            .collect()
    });
    let (risk, contributions, score_kind, threshold) = match &is_fraud {
        Some(y) if y.iter().any(|&f| f) && y.iter().any(|&f| !f) => {
            supervised(&rows, &anomaly, y, &rings, config)?
        }
        _ => {
            let risk = population_rank(&anomaly);
            let threshold = threshold_for_budget(&risk, config.false_positive_budget)?;
            let z = zscores(&behaviour);
            (risk, z, "population_rank", threshold)
        }
    };
    let names = features::feature_names();
    let reasons: Vec<Vec<String>> = (0..n)
        .map(|a| {
            let mut r: Vec<String> = hits[a].iter().map(|h| h.rule.clone()).collect();
            r.extend(
                top_features(&contributions[a], &rows[a], &names, 2)
                    .into_iter()
                    .map(|(name, _)| name),
            );
            r
        })
        .collect();
    let report = build_report(
        &activity,
        &rings,
        &hits,
        &rows,
        &risk,
        &contributions,
        threshold,
        score_kind,
        labels,
        config,
    );
    Ok(Scan {
        account_ids: std::mem::take(&mut activity.account_ids),
        risk,
        reasons,
        threshold,
        report,
    })
}

type Scored = (Vec<f64>, Vec<Vec<f64>>, &'static str, f64);

fn with_anomaly(row: &FeatureRow, anomaly: f64) -> Vec<f64> {
    let mut v = row.to_vec();
    v.push(anomaly);
    v
}

/// Two-fold cross-fitting by ring: each account is scored by a model that never saw its ring;
/// the out-of-fold scores are then calibrated and the threshold is set on the good customers.
fn supervised(
    rows: &[FeatureRow],
    anomaly: &[f64],
    y: &[bool],
    rings: &Rings,
    config: &ScanConfig,
) -> Result<Scored, FraudError> {
    let n = rows.len();
    let x: Vec<Vec<f64>> = rows
        .iter()
        .zip(anomaly)
        .map(|(r, &s)| with_anomaly(r, s))
        .collect();
    let fold: Vec<usize> = (0..n).map(|a| fold_of(rings.component[a])).collect();
    let mut logit = vec![0.0; n];
    let mut contributions = vec![Vec::new(); n];
    for f in 0..2 {
        let train: Vec<usize> = (0..n).filter(|&a| fold[a] != f).collect();
        let train_rows: Vec<&[f64]> = train.iter().map(|&a| x[a].as_slice()).collect();
        let train_y: Vec<bool> = train.iter().map(|&a| y[a]).collect();
        let model = Logistic::fit(&train_rows, &train_y, &config.logistic)?;
        for a in (0..n).filter(|&a| fold[a] == f) {
            logit[a] = model.logit(&x[a]);
            contributions[a] = model.contributions(&x[a]);
        }
    }
    let calibration = match config.calibration {
        CalibrationMethod::Platt => Calibration::Platt(Platt::fit(&logit, y)?),
        CalibrationMethod::Isotonic => Calibration::Isotonic(Isotonic::fit(&logit, y)?),
    };
    let risk: Vec<f64> = logit.iter().map(|&s| calibration.probability(s)).collect();
    let threshold = threshold_for_labels(&risk, y, config.false_positive_budget)?;
    Ok((risk, contributions, "calibrated", threshold))
}

/// Each score's rank in the population, in [0, 1] (ties share the mean rank).
fn population_rank(scores: &[f64]) -> Vec<f64> {
    let n = scores.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let r = if n > 1 {
            (i + j) as f64 / 2.0 / (n - 1) as f64
        } else {
            0.5
        };
        for &k in &order[i..=j] {
            rank[k] = r;
        }
        i = j + 1;
    }
    rank
}

/// Standardised behaviour features (the explanation of an unsupervised score).
fn zscores(rows: &[&[f64]]) -> Vec<Vec<f64>> {
    let n = rows.len() as f64;
    let d = rows.first().map_or(0, |r| r.len());
    let mut mean = vec![0.0; d];
    let mut var = vec![0.0; d];
    for r in rows {
        for j in 0..d {
            mean[j] += r[j] / n;
        }
    }
    for r in rows {
        for j in 0..d {
            var[j] += (r[j] - mean[j]).powi(2) / n;
        }
    }
    rows.iter()
        .map(|r| {
            (0..d)
                .map(|j| {
                    if var[j] > 1e-12 {
                        (r[j] - mean[j]) / var[j].sqrt()
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// The `k` features that raised the score most (positive contributions only).
fn top_features(
    contribution: &[f64],
    row: &FeatureRow,
    names: &[String],
    k: usize,
) -> Vec<(String, f64)> {
    let mut order: Vec<usize> = (0..contribution.len().min(N_FEATURES))
        .filter(|&j| contribution[j] > 0.5)
        .collect();
    order.sort_by(|&a, &b| contribution[b].total_cmp(&contribution[a]));
    order
        .into_iter()
        .take(k)
        .map(|j| (names[j].clone(), row[j]))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    activity: &Activity,
    rings: &Rings,
    hits: &rules::RuleHits,
    rows: &[FeatureRow],
    risk: &[f64],
    contributions: &[Vec<f64>],
    threshold: f64,
    score_kind: &str,
    labels: Option<&Labels>,
    config: &ScanConfig,
) -> ScanReport {
    let n = activity.len();
    let names = features::feature_names();
    let mut rule_counts: BTreeMap<String, usize> =
        RULE_NAMES.iter().map(|r| (r.to_string(), 0)).collect();
    for h in hits.iter().flatten() {
        *rule_counts.entry(h.rule.clone()).or_insert(0) += 1;
    }
    let above: Vec<bool> = risk.iter().map(|&r| r >= threshold).collect();
    let flagged_by_rules = hits.iter().filter(|h| !h.is_empty()).count();
    let mut order: Vec<usize> = (0..n)
        .filter(|&a| above[a] || !hits[a].is_empty())
        .collect();
    order.sort_by(|&a, &b| {
        risk[b]
            .total_cmp(&risk[a])
            .then(hits[b].len().cmp(&hits[a].len()))
    });
    let account = |a: usize| FlaggedAccount {
        account: activity.account_ids[a].clone(),
        risk: risk[a],
        above_threshold: above[a],
        rules: hits[a].clone(),
        features: top_features(&contributions[a], &rows[a], &names, 3)
            .into_iter()
            .map(|(name, v)| format!("{name}={v:.2}"))
            .collect(),
        ring_size: rings.size[a],
        shared_identifiers: rings
            .shared_kind_names(a)
            .into_iter()
            .map(str::to_string)
            .collect(),
        label: labels.map(|l| l.kind(&activity.account_ids[a]).as_str().to_string()),
    };
    let top_accounts = order
        .iter()
        .take(config.report_accounts)
        .map(|&a| account(a))
        .collect();
    // Rings with their members' flags.
    let mut members: HashMap<u32, Vec<usize>> = HashMap::new();
    for a in 0..n {
        if rings.in_ring(a) {
            members.entry(rings.component[a]).or_default().push(a);
        }
    }
    let mut ring_list: Vec<RingReport> = members
        .values()
        .map(|m| {
            let mut shared: Vec<String> = m
                .iter()
                .flat_map(|&a| rings.shared_kind_names(a))
                .map(str::to_string)
                .collect();
            shared.sort();
            shared.dedup();
            let mut rules: BTreeMap<String, usize> = BTreeMap::new();
            for h in m.iter().flat_map(|&a| &hits[a]) {
                *rules.entry(h.rule.clone()).or_insert(0) += 1;
            }
            let signups: Vec<i64> = m
                .iter()
                .filter_map(|&a| {
                    activity.accounts[a]
                        .signup
                        .or(activity.accounts[a].first_seen)
                })
                .collect();
            let spread = match (signups.iter().min(), signups.iter().max()) {
                (Some(lo), Some(hi)) => (hi - lo) as f64 / 86_400e6,
                _ => 0.0,
            };
            RingReport {
                ring: activity.account_ids[m[0]].clone(),
                size: m.len() as u32,
                new_account_share: m
                    .iter()
                    .filter(|&&a| activity.signed_up_in_window(a))
                    .count() as f64
                    / m.len() as f64,
                signup_spread_days: spread,
                shared_identifiers: shared,
                flagged_accounts: m
                    .iter()
                    .filter(|&&a| above[a] || !hits[a].is_empty())
                    .count(),
                rules,
            }
        })
        .collect();
    let ring_count = ring_list.len();
    let accounts_in_rings = ring_list.iter().map(|r| r.size as usize).sum();
    ring_list.retain(|r| r.flagged_accounts > 0);
    ring_list.sort_by(|a, b| {
        b.flagged_accounts
            .cmp(&a.flagged_accounts)
            .then(b.size.cmp(&a.size))
            .then(a.ring.cmp(&b.ring))
    });
    ring_list.truncate(config.report_rings);
    let evaluation = labels.map(|l| evaluate(activity, hits, risk, &above, l));
    ScanReport {
        accounts: n,
        order_lines: activity.orders.len(),
        rings: ring_count,
        accounts_in_rings,
        score: score_kind.to_string(),
        threshold,
        false_positive_budget: config.false_positive_budget,
        above_threshold: above.iter().filter(|&&x| x).count(),
        flagged_by_rules,
        rule_counts,
        top_accounts,
        top_rings: ring_list,
        evaluation,
    }
}

fn share(a: usize, b: usize) -> f64 {
    if b > 0 {
        a as f64 / b as f64
    } else {
        0.0
    }
}

fn evaluate(
    activity: &Activity,
    hits: &rules::RuleHits,
    risk: &[f64],
    above: &[bool],
    labels: &Labels,
) -> Evaluation {
    let n = activity.len();
    let kind: Vec<FraudKind> = activity
        .account_ids
        .iter()
        .map(|id| labels.kind(id))
        .collect();
    let good = |a: usize| kind[a] == FraudKind::None;
    let ruled = |a: usize| !hits[a].is_empty();
    let good_accounts = (0..n).filter(|&a| good(a)).count();
    let good_affected = (0..n).filter(|&a| good(a) && above[a]).count();
    let good_ruled = (0..n).filter(|&a| good(a) && ruled(a)).count();
    let fraud_accounts = n - good_accounts;
    let caught = (0..n).filter(|&a| !good(a) && above[a]).count();
    let by_kind = [
        FraudKind::CouponFarmer,
        FraudKind::OrderBrusher,
        FraudKind::Reseller,
    ]
    .into_iter()
    .map(|k| {
        let accounts = (0..n).filter(|&a| kind[a] == k).count();
        let caught = (0..n).filter(|&a| kind[a] == k && above[a]).count();
        let ruled_k = (0..n).filter(|&a| kind[a] == k && ruled(a)).count();
        KindMetrics {
            kind: k.as_str().to_string(),
            accounts,
            caught,
            recall: share(caught, accounts),
            precision: share(caught, caught + good_affected),
            rules_recall: share(ruled_k, accounts),
            rules_precision: share(ruled_k, ruled_k + good_ruled),
        }
    })
    .collect();
    let rules = RULE_NAMES
        .iter()
        .map(|&r| {
            let fired: Vec<usize> = (0..n)
                .filter(|&a| hits[a].iter().any(|h| h.rule == r))
                .collect();
            let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
            for &a in &fired {
                *by_kind.entry(kind[a].as_str().to_string()).or_insert(0) += 1;
            }
            let on_good = fired.iter().filter(|&&a| good(a)).count();
            RuleMetrics {
                rule: r.to_string(),
                fired: fired.len(),
                fired_on_good: on_good,
                precision: share(fired.len() - on_good, fired.len()),
                by_kind,
            }
        })
        .collect();
    let spend = |f: &dyn Fn(usize) -> bool| -> i64 {
        (0..n)
            .filter(|&a| f(a))
            .map(|a| activity.accounts[a].coupon_discount)
            .sum()
    };
    let brier = (0..n)
        .map(|a| (risk[a] - f64::from(u8::from(!good(a)))).powi(2))
        .sum::<f64>()
        / n as f64;
    let mut bins = [(0.0, 0.0, 0usize); 10];
    for (a, &r) in risk.iter().enumerate() {
        let b = ((r * 10.0) as usize).min(9);
        bins[b].0 += r;
        bins[b].1 += f64::from(u8::from(!good(a)));
        bins[b].2 += 1;
    }
    let calibration_error = bins
        .iter()
        .map(|&(p, y, c)| if c > 0 { (p - y).abs() } else { 0.0 })
        .sum::<f64>()
        / n as f64;
    Evaluation {
        fraud_accounts,
        good_accounts,
        good_affected,
        good_affected_share: share(good_affected, good_accounts),
        precision: share(caught, caught + good_affected),
        recall: share(caught, fraud_accounts),
        by_kind,
        rules,
        fraud_discount_spend: spend(&|a| !good(a)),
        fraud_discount_spend_flagged: spend(&|a| !good(a) && above[a]),
        good_discount_spend_affected: spend(&|a| good(a) && above[a]),
        brier,
        calibration_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_read_from_a_ground_truth_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ground_truth.json");
        std::fs::write(
            &path,
            r#"{"customers":[{"anything":1}],"fraud":[{"user_id":"u9","kind":"order_brusher","ring":"r3"}]}"#,
        )
        .unwrap();
        let labels = Labels::load(&path).unwrap();
        assert_eq!(labels.kind("u9"), FraudKind::OrderBrusher);
        assert_eq!(labels.kind("u1"), FraudKind::None);
        std::fs::write(&path, "{\"fraud\": [1,").unwrap();
        let e = Labels::load(&path).unwrap_err().to_string();
        assert!(e.contains("ground_truth.json"), "{e}");
    }

    #[test]
    fn scan_settings_load_and_validate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fraud.toml");
        std::fs::write(
            &path,
            "false_positive_budget = 0.01\n[rules.refund_rate]\nmax_rate = 0.3\n",
        )
        .unwrap();
        let c = ScanConfig::load(&path).unwrap();
        assert_eq!(c.false_positive_budget, 0.01);
        assert_eq!(c.rules.refund_rate.max_rate, 0.3);
        assert_eq!(
            c.rules.order_brushing,
            crate::rules::BrushingRule::default()
        );
        std::fs::write(&path, "false_positive_budget = 2.0\n").unwrap();
        let e = ScanConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("false_positive_budget"), "{e}");
    }

    #[test]
    fn population_ranks_share_ties() {
        let r = population_rank(&[0.3, 0.1, 0.3, 0.9]);
        assert_eq!(r, vec![0.5, 0.0, 0.5, 1.0]);
    }
}
