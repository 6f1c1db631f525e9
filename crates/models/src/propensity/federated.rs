//! Federated training of the propensity model across sites (shops, regions) that cannot pool
//! their raw rows: federated averaging (FedAvg, McMahan et al., AISTATS 2017) of an L2-penalised
//! logistic regression.
//!
//! What leaves a site is aggregate only: first its row count and per-column sums and sums of
//! squares (so that every site standardises with the same global mean and scale), then, each
//! round, its locally updated coefficients. A round: every site starts from the global model,
//! runs `local_epochs` epochs of mini-batch SGD on its own rows, and the new global model is the
//! row-weighted mean of the sites' models. The objective is the pooled one,
//! (1/N) Σ log-loss + l2/(2N) ‖w‖² (scikit-learn's scale, as [`super::LogisticRegression`]), so
//! with enough rounds FedAvg approaches the pooled fit; with sites whose data differ (non-IID)
//! local epochs pull towards each site's own optimum, which is what the comparison measures.
//!
//! Written here because no crate of the workspace's stack does federated averaging; it is a loop
//! over the same logistic model.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::linear::{LogisticConfig, LogisticRegression};
use super::matrix::{sigmoid, Matrix, Standardiser};
use super::metrics::{log_loss, roc_auc};
use super::Learner;
use crate::ModelError;

/// One site's rows.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub x: Matrix,
    pub y: Vec<f64>,
}

/// Settings of a federated fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FederatedConfig {
    pub rounds: usize,
    pub local_epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// L2 penalty on the standardised coefficients, on the pooled sum-of-losses scale.
    pub l2: f64,
    pub seed: u64,
}

impl Default for FederatedConfig {
    fn default() -> Self {
        FederatedConfig {
            rounds: 30,
            local_epochs: 1,
            batch_size: 64,
            learning_rate: 0.05,
            l2: 1.0,
            seed: 7,
        }
    }
}

impl FederatedConfig {
    fn validate(&self) -> Result<(), ModelError> {
        let bad = |name: &'static str, value: String, reason: &str| ModelError::InvalidHyper {
            name,
            value,
            reason: reason.into(),
        };
        if self.rounds == 0 {
            return Err(bad("rounds", "0".into(), "must be at least 1"));
        }
        if self.local_epochs == 0 {
            return Err(bad("local_epochs", "0".into(), "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(bad("batch_size", "0".into(), "must be at least 1"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(bad(
                "learning_rate",
                self.learning_rate.to_string(),
                "must be finite and positive",
            ));
        }
        if !(self.l2.is_finite() && self.l2 > 0.0) {
            return Err(bad(
                "l2",
                self.l2.to_string(),
                "must be finite and positive",
            ));
        }
        Ok(())
    }
}

/// The global model's figures after one round, on the held-out rows of every site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundFigures {
    pub round: usize,
    pub log_loss: f64,
    pub auc: f64,
}

/// A federated fit: the model and its path.
#[derive(Debug, Clone, Serialize)]
pub struct FederatedFit {
    pub model: LogisticRegression,
    pub rounds: Vec<RoundFigures>,
    /// Numbers each site sent over the whole fit (statistics plus one model per round).
    pub values_sent_per_site: usize,
}

/// The global mean and scale from each site's count, sums and sums of squares.
fn federated_standardiser(sites: &[Site]) -> Result<Standardiser, ModelError> {
    let d = sites[0].x.cols();
    let (mut n, mut sum, mut sum_sq) = (0.0, vec![0.0; d], vec![0.0; d]);
    for site in sites {
        if site.x.cols() != d {
            return Err(ModelError::Data(format!(
                "site `{}` has {} columns, the first site {d}",
                site.name,
                site.x.cols()
            )));
        }
        n += site.x.rows() as f64;
        for i in 0..site.x.rows() {
            for (j, v) in site.x.row(i).iter().enumerate() {
                sum[j] += v;
                sum_sq[j] += v * v;
            }
        }
    }
    let means: Vec<f64> = sum.iter().map(|s| s / n.max(1.0)).collect();
    let scales = sum_sq
        .iter()
        .zip(&means)
        .map(|(q, m)| {
            let var = (q / n.max(1.0) - m * m).max(0.0);
            let sd = var.sqrt();
            if sd > 1e-12 {
                sd
            } else {
                1.0
            }
        })
        .collect();
    Ok(Standardiser { means, scales })
}

/// `local_epochs` of mini-batch SGD on one site from `beta` (intercept first) on the standardised
/// rows `z`; the penalty is the site's share of the pooled one.
fn local_update(
    z: &Matrix,
    y: &[f64],
    beta: &mut [f64],
    config: &FederatedConfig,
    total_rows: f64,
    rng: &mut rand::rngs::StdRng,
) {
    let mut order: Vec<usize> = (0..z.rows()).collect();
    let mut gradient = vec![0.0; beta.len()];
    let penalty = config.l2 / total_rows;
    for _ in 0..config.local_epochs {
        order.shuffle(rng);
        for batch in order.chunks(config.batch_size) {
            gradient.iter_mut().for_each(|g| *g = 0.0);
            for &i in batch {
                let row = z.row(i);
                let eta = beta[0] + beta[1..].iter().zip(row).map(|(b, x)| b * x).sum::<f64>();
                let residual = sigmoid(eta) - y[i];
                gradient[0] += residual;
                for (g, x) in gradient[1..].iter_mut().zip(row) {
                    *g += residual * x;
                }
            }
            let m = batch.len() as f64;
            beta[0] -= config.learning_rate * gradient[0] / m;
            for (b, g) in beta[1..].iter_mut().zip(&gradient[1..]) {
                *b -= config.learning_rate * (g / m + penalty * *b);
            }
        }
    }
}

fn as_model(
    standardiser: &Standardiser,
    beta: &[f64],
    l2: f64,
) -> Result<LogisticRegression, ModelError> {
    let mut model = LogisticRegression::new(LogisticConfig {
        l2,
        ..Default::default()
    })?;
    model.standardiser = Some(standardiser.clone());
    model.intercept = beta[0];
    model.coefficients = beta[1..].to_vec();
    Ok(model)
}

/// Rows of several matrices as one.
pub fn stack(parts: &[(&Matrix, &[f64])]) -> Result<(Matrix, Vec<f64>), ModelError> {
    let d = parts.first().map_or(0, |(x, _)| x.cols());
    let mut data = Vec::new();
    let mut y = Vec::new();
    for (x, labels) in parts {
        for i in 0..x.rows() {
            data.extend_from_slice(x.row(i));
        }
        y.extend_from_slice(labels);
    }
    Ok((Matrix::new(y.len(), d, data)?, y))
}

/// Evaluates a model on held-out rows: (log-loss, AUC).
pub fn score(model: &impl Learner, x: &Matrix, y: &[f64]) -> Result<(f64, f64), ModelError> {
    let p = model.predict(x)?;
    Ok((log_loss(&p, y)?, roc_auc(&p, y)?))
}

/// Federated averaging over `sites`, scored after every round on `test` (rows no site trains on).
pub fn fed_avg(
    sites: &[Site],
    test: (&Matrix, &[f64]),
    config: &FederatedConfig,
) -> Result<FederatedFit, ModelError> {
    config.validate()?;
    let sites: Vec<&Site> = sites.iter().filter(|s| s.x.rows() > 0).collect();
    if sites.is_empty() {
        return Err(ModelError::Data(
            "federated training needs a site with rows".into(),
        ));
    }
    let owned: Vec<Site> = sites.iter().map(|s| (*s).clone()).collect();
    let standardiser = federated_standardiser(&owned)?;
    let standardised: Vec<Matrix> = owned.iter().map(|s| standardiser.transform(&s.x)).collect();
    let total: f64 = owned.iter().map(|s| s.x.rows() as f64).sum();
    let d = owned[0].x.cols();
    let positives: f64 = owned.iter().flat_map(|s| &s.y).sum();
    let rate = (positives / total).clamp(1e-6, 1.0 - 1e-6);
    let mut global = vec![0.0; d + 1];
    global[0] = (rate / (1.0 - rate)).ln();
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let mut rounds = Vec::with_capacity(config.rounds);
    for round in 1..=config.rounds {
        let mut next = vec![0.0; d + 1];
        for (site, z) in owned.iter().zip(&standardised) {
            let mut local = global.clone();
            local_update(z, &site.y, &mut local, config, total, &mut rng);
            let weight = site.x.rows() as f64 / total;
            for (n, l) in next.iter_mut().zip(&local) {
                *n += weight * l;
            }
        }
        global = next;
        let model = as_model(&standardiser, &global, config.l2)?;
        let (loss, auc) = score(&model, test.0, test.1)?;
        rounds.push(RoundFigures {
            round,
            log_loss: loss,
            auc,
        });
    }
    Ok(FederatedFit {
        model: as_model(&standardiser, &global, config.l2)?,
        rounds,
        values_sent_per_site: 1 + 2 * d + config.rounds * (d + 1),
    })
}

/// The first round whose log-loss is within `tolerance` (relative) of `target`, if any.
pub fn rounds_to_reach(rounds: &[RoundFigures], target: f64, tolerance: f64) -> Option<usize> {
    rounds
        .iter()
        .find(|r| r.log_loss <= target * (1.0 + tolerance))
        .map(|r| r.round)
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    /// Two sites with different feature ranges (non-IID) drawn from one logistic truth.
    fn sites(seed: u64) -> (Vec<Site>, Matrix, Vec<f64>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let truth = [-1.0, 1.5, -2.0, 0.5];
        let mut draw = |n: usize, shift: f64| {
            let mut data = Vec::new();
            let mut y = Vec::new();
            for _ in 0..n {
                let x: Vec<f64> = (0..3)
                    .map(|_| rng.gen::<f64>() * 2.0 - 1.0 + shift)
                    .collect();
                let eta = truth[0] + truth[1..].iter().zip(&x).map(|(b, v)| b * v).sum::<f64>();
                y.push(f64::from(u8::from(rng.gen::<f64>() < sigmoid(eta))));
                data.extend(x);
            }
            (Matrix::new(n, 3, data).unwrap(), y)
        };
        let (xa, ya) = draw(1_500, -0.5);
        let (xb, yb) = draw(500, 0.5);
        let (xt, yt) = draw(2_000, 0.0);
        (
            vec![
                Site {
                    name: "a".into(),
                    x: xa,
                    y: ya,
                },
                Site {
                    name: "b".into(),
                    x: xb,
                    y: yb,
                },
            ],
            xt,
            yt,
        )
    }

    #[test]
    fn federated_averaging_approaches_the_pooled_fit() {
        let (sites, xt, yt) = sites(3);
        let config = FederatedConfig {
            rounds: 40,
            ..Default::default()
        };
        let fit = fed_avg(&sites, (&xt, &yt), &config).unwrap();
        let parts: Vec<(&Matrix, &[f64])> = sites.iter().map(|s| (&s.x, &s.y[..])).collect();
        let (x, y) = stack(&parts).unwrap();
        let mut pooled = LogisticRegression::new(LogisticConfig::default()).unwrap();
        pooled.fit(&x, &y, None).unwrap();
        let (pooled_loss, _) = score(&pooled, &xt, &yt).unwrap();
        let last = fit.rounds.last().unwrap();
        assert!(
            last.log_loss <= pooled_loss * 1.01,
            "federated {} vs pooled {pooled_loss}",
            last.log_loss
        );
        // The path improves: the first round is worse than the last.
        assert!(fit.rounds[0].log_loss > last.log_loss);
        // Coefficients agree with the pooled ones in sign and roughly in size.
        for (f, p) in fit.model.coefficients.iter().zip(&pooled.coefficients) {
            assert!((f - p).abs() < 0.15 * p.abs().max(0.2), "{f} vs {p}");
        }
        assert!(rounds_to_reach(&fit.rounds, pooled_loss, 0.01).is_some());
    }

    #[test]
    fn a_site_alone_does_worse_than_the_federation_on_everyone() {
        let (sites, xt, yt) = sites(5);
        let fit = fed_avg(&sites, (&xt, &yt), &FederatedConfig::default()).unwrap();
        let mut alone = LogisticRegression::new(LogisticConfig::default()).unwrap();
        alone.fit(&sites[1].x, &sites[1].y, None).unwrap();
        let (alone_loss, _) = score(&alone, &xt, &yt).unwrap();
        assert!(fit.rounds.last().unwrap().log_loss < alone_loss);
    }

    #[test]
    fn bad_settings_are_named() {
        let (sites, xt, yt) = sites(1);
        let err = fed_avg(
            &sites,
            (&xt, &yt),
            &FederatedConfig {
                rounds: 0,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("rounds"), "{err}");
    }
}
