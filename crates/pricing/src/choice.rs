//! Household price sensitivity: conditional logit models of which alternative a household buys.
//!
//! Utility of alternative j at an occasion:
//! `a_j + b_price price_j + b_feature feature_j + b_display display_j + b_loyalty loyalty_hj`, with brand
//! constants `a_j` (the first alternative is the base) and loyalty the exponentially smoothed past choices
//! of the household (Guadagni and Little:
//! `L <- decay L + (1 - decay) 1[chosen]`, starting from equal loyalty to every alternative). Models:
//! - `shares`: each alternative's share of the training choices (the baseline);
//! - `logit`: one pooled conditional logit (by Newton's method);
//! - `latent classes`: C classes of households, each with its own coefficients, fitted by EM; a household's
//!   class probabilities come from its training occasions, and its price coefficient is their average.
//!
//! Evaluation holds out each household's last 20% of occasions (in file order) and reports the
//! log-likelihood per held-out occasion and the hit rate (the most likely alternative was the one bought).

use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::error::{invalid, not_identified, Result};
use crate::occasions::ChoiceData;

/// Settings of the choice models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChoiceConfig {
    /// Share of each household's occasions held out at the end.
    pub test_share: f64,
    /// Loyalty smoothing: weight of the past.
    pub loyalty_decay: f64,
    /// Latent classes.
    pub classes: usize,
    pub em_iterations: usize,
    pub seed: u64,
}

impl Default for ChoiceConfig {
    fn default() -> Self {
        ChoiceConfig {
            test_share: 0.2,
            loyalty_decay: 0.75,
            classes: 3,
            em_iterations: 100,
            seed: 7,
        }
    }
}

/// Hold-out figures of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelFit {
    pub model: String,
    pub parameters: usize,
    pub train_log_likelihood: f64,
    pub test_log_likelihood_per_occasion: f64,
    pub test_hit_rate: f64,
    /// Price coefficient (utility per currency unit); the class-weighted mean for latent classes.
    pub price_coefficient: Option<f64>,
}

/// One latent class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatentClass {
    pub share: f64,
    pub coefficients: Vec<(String, f64)>,
}

/// A household's price sensitivity from the latent-class model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdSensitivity {
    pub household: String,
    pub train_occasions: usize,
    pub price_coefficient: f64,
    pub class_probabilities: Vec<f64>,
}

/// Everything the choice command reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChoiceResult {
    pub alternatives: Vec<String>,
    pub households: usize,
    pub train_occasions: usize,
    pub test_occasions: usize,
    pub models: Vec<ModelFit>,
    /// Coefficients of the pooled logit.
    pub logit_coefficients: Vec<(String, f64)>,
    pub classes: Vec<LatentClass>,
    pub household_sensitivity: Vec<HouseholdSensitivity>,
}

/// One occasion as numbers: a feature row per offered alternative.
#[derive(Debug, Clone, PartialEq)]
struct Prepared {
    x: Vec<Vec<f64>>,
    alternatives: Vec<usize>,
    chosen: usize,
    household: usize,
    test: bool,
}

/// Fits the shares baseline, the pooled logit and the latent-class logit, and evaluates them on the held-out
/// occasions.
pub fn fit(data: &ChoiceData, config: &ChoiceConfig) -> Result<ChoiceResult> {
    if !(0.0..1.0).contains(&config.test_share) {
        return Err(invalid("test_share", "must be in [0, 1)"));
    }
    if !(0.0..1.0).contains(&config.loyalty_decay) {
        return Err(invalid("loyalty_decay", "must be in [0, 1)"));
    }
    if config.classes == 0 {
        return Err(invalid("classes", "at least one class"));
    }
    let n_alt = data.alternatives.len();
    if n_alt < 2 {
        return Err(not_identified(
            "choice model",
            "fewer than two alternatives",
        ));
    }
    let has_feature = data
        .occasions
        .iter()
        .any(|o| o.offered.iter().any(|a| a.feature != 0.0));
    let has_display = data
        .occasions
        .iter()
        .any(|o| o.offered.iter().any(|a| a.display != 0.0));
    let mut names: Vec<String> = data.alternatives[1..]
        .iter()
        .map(|a| format!("const[{a}]"))
        .collect();
    names.push("price".into());
    if has_feature {
        names.push("feature".into());
    }
    if has_display {
        names.push("display".into());
    }
    names.push("loyalty".into());
    let k = names.len();
    let price_index = n_alt - 1;

    // Occasions per household in order; the last share of each household is held out.
    let mut per_household: Vec<Vec<usize>> = vec![Vec::new(); data.households.len()];
    for (i, o) in data.occasions.iter().enumerate() {
        per_household[o.household].push(i);
    }
    let mut test = vec![false; data.occasions.len()];
    for list in &per_household {
        let n_test = (list.len() as f64 * config.test_share).round() as usize;
        for &i in &list[list.len() - n_test..] {
            test[i] = true;
        }
    }
    let mut prepared: Vec<Prepared> = Vec::with_capacity(data.occasions.len());
    let mut loyalty: Vec<Vec<f64>> = vec![vec![1.0 / n_alt as f64; n_alt]; data.households.len()];
    for (i, o) in data.occasions.iter().enumerate() {
        let l = &mut loyalty[o.household];
        let x = o
            .offered
            .iter()
            .map(|a| {
                let mut row = vec![0.0; k];
                if a.alternative > 0 {
                    row[a.alternative - 1] = 1.0;
                }
                let mut j = price_index;
                row[j] = a.price;
                if has_feature {
                    j += 1;
                    row[j] = a.feature;
                }
                if has_display {
                    j += 1;
                    row[j] = a.display;
                }
                row[k - 1] = l[a.alternative];
                row
            })
            .collect();
        prepared.push(Prepared {
            x,
            alternatives: o.offered.iter().map(|a| a.alternative).collect(),
            chosen: o.chosen,
            household: o.household,
            test: test[i],
        });
        let bought = o.offered[o.chosen].alternative;
        for (j, v) in l.iter_mut().enumerate() {
            *v = config.loyalty_decay * *v
                + (1.0 - config.loyalty_decay) * f64::from(u8::from(j == bought));
        }
    }
    let train: Vec<&Prepared> = prepared.iter().filter(|p| !p.test).collect();
    let held_out: Vec<&Prepared> = prepared.iter().filter(|p| p.test).collect();
    if train.is_empty() || held_out.is_empty() {
        return Err(not_identified(
            "choice model",
            "no training or no held-out occasions",
        ));
    }

    let mut models = Vec::new();
    // Shares baseline (add-one smoothing so that nothing has probability zero).
    let mut shares = vec![1.0; n_alt];
    for p in &train {
        shares[p.alternatives[p.chosen]] += 1.0;
    }
    let share_probabilities = |p: &Prepared| -> Vec<f64> {
        let raw: Vec<f64> = p.alternatives.iter().map(|&a| shares[a]).collect();
        let total: f64 = raw.iter().sum();
        raw.iter().map(|v| v / total).collect()
    };
    models.push(evaluate(
        "shares",
        n_alt - 1,
        &train,
        &held_out,
        share_probabilities,
        None,
    ));

    // Pooled logit without loyalty, then with it.
    let no_loyalty_mask: Vec<bool> = (0..k).map(|j| j != k - 1).collect();
    let ones_train = vec![1.0; train.len()];
    let beta_plain = newton(&train, &ones_train, vec![0.0; k], &no_loyalty_mask, 50)?;
    models.push(evaluate(
        "logit without loyalty",
        k - 1,
        &train,
        &held_out,
        |p| probabilities(p, &beta_plain),
        Some(beta_plain[price_index]),
    ));
    let all_mask = vec![true; k];
    let beta = newton(&train, &ones_train, beta_plain.clone(), &all_mask, 50)?;
    models.push(evaluate(
        "logit",
        k,
        &train,
        &held_out,
        |p| probabilities(p, &beta),
        Some(beta[price_index]),
    ));

    // Latent classes by EM over households.
    let c = config.classes;
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let mut class_beta: Vec<Vec<f64>> = (0..c)
        .map(|_| {
            beta.iter()
                .enumerate()
                .map(|(j, b)| {
                    let spread = if j == price_index || j == k - 1 {
                        0.5
                    } else {
                        0.2
                    };
                    b * (1.0 + rng.gen_range(-spread..spread)) + rng.gen_range(-0.1..0.1)
                })
                .collect()
        })
        .collect();
    let mut class_share = vec![1.0 / c as f64; c];
    let n_households = data.households.len();
    let mut posterior = vec![class_share.clone(); n_households];
    let mut previous = f64::NEG_INFINITY;
    let mut train_ll = 0.0;
    for _ in 0..config.em_iterations {
        // E-step: class probabilities of each household from its training occasions.
        let mut log_like = vec![vec![0.0; c]; n_households];
        for p in &train {
            for (cl, b) in class_beta.iter().enumerate() {
                log_like[p.household][cl] += probabilities(p, b)[p.chosen].max(1e-300).ln();
            }
        }
        train_ll = 0.0;
        for h in 0..n_households {
            let logs: Vec<f64> = (0..c)
                .map(|cl| class_share[cl].max(1e-300).ln() + log_like[h][cl])
                .collect();
            let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = logs.iter().map(|l| (l - max).exp()).sum();
            posterior[h] = logs.iter().map(|l| (l - max).exp() / sum).collect();
            if log_like[h].iter().any(|v| *v != 0.0) {
                train_ll += max + sum.ln();
            }
        }
        // M-step.
        let with_data: Vec<usize> = (0..n_households)
            .filter(|&h| log_like[h].iter().any(|v| *v != 0.0))
            .collect();
        for cl in 0..c {
            class_share[cl] = with_data.iter().map(|&h| posterior[h][cl]).sum::<f64>()
                / with_data.len().max(1) as f64;
            let weights: Vec<f64> = train.iter().map(|p| posterior[p.household][cl]).collect();
            class_beta[cl] = newton(&train, &weights, class_beta[cl].clone(), &all_mask, 5)?;
        }
        if (train_ll - previous).abs() < 1e-6 * train_ll.abs() {
            break;
        }
        previous = train_ll;
    }
    let mixture = |p: &Prepared| -> Vec<f64> {
        let weights = &posterior[p.household];
        let mut out = vec![0.0; p.alternatives.len()];
        for (cl, b) in class_beta.iter().enumerate() {
            for (o, q) in out.iter_mut().zip(probabilities(p, b)) {
                *o += weights[cl] * q;
            }
        }
        out
    };
    let mean_price = (0..c)
        .map(|cl| class_share[cl] * class_beta[cl][price_index])
        .sum();
    let mut latent = evaluate(
        &format!("latent classes ({c})"),
        c * k + c - 1,
        &train,
        &held_out,
        mixture,
        Some(mean_price),
    );
    latent.train_log_likelihood = train_ll;
    models.push(latent);

    let mut train_count = vec![0; n_households];
    for p in &train {
        train_count[p.household] += 1;
    }
    let household_sensitivity = (0..n_households)
        .map(|h| HouseholdSensitivity {
            household: data.households[h].clone(),
            train_occasions: train_count[h],
            price_coefficient: (0..c)
                .map(|cl| posterior[h][cl] * class_beta[cl][price_index])
                .sum(),
            class_probabilities: posterior[h].clone(),
        })
        .collect();
    let named = |b: &[f64]| -> Vec<(String, f64)> {
        names.iter().cloned().zip(b.iter().copied()).collect()
    };
    Ok(ChoiceResult {
        alternatives: data.alternatives.clone(),
        households: n_households,
        train_occasions: train.len(),
        test_occasions: held_out.len(),
        models,
        logit_coefficients: named(&beta),
        classes: (0..c)
            .map(|cl| LatentClass {
                share: class_share[cl],
                coefficients: named(&class_beta[cl]),
            })
            .collect(),
        household_sensitivity,
    })
}

fn evaluate(
    model: &str,
    parameters: usize,
    train: &[&Prepared],
    test: &[&Prepared],
    predict: impl Fn(&Prepared) -> Vec<f64>,
    price_coefficient: Option<f64>,
) -> ModelFit {
    let train_log_likelihood = train
        .iter()
        .map(|p| predict(p)[p.chosen].max(1e-300).ln())
        .sum();
    let (mut ll, mut hits) = (0.0, 0usize);
    for p in test {
        let probs = predict(p);
        ll += probs[p.chosen].max(1e-300).ln();
        let best = probs
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        hits += usize::from(best == p.chosen);
    }
    ModelFit {
        model: model.to_string(),
        parameters,
        train_log_likelihood,
        test_log_likelihood_per_occasion: ll / test.len() as f64,
        test_hit_rate: hits as f64 / test.len() as f64,
        price_coefficient,
    }
}

fn probabilities(p: &Prepared, beta: &[f64]) -> Vec<f64> {
    let utilities: Vec<f64> =
        p.x.iter()
            .map(|row| row.iter().zip(beta).map(|(x, b)| x * b).sum())
            .collect();
    let max = utilities.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = utilities.iter().map(|u| (u - max).exp()).collect();
    let total: f64 = exp.iter().sum();
    exp.iter().map(|e| e / total).collect()
}

fn weighted_log_likelihood(occasions: &[&Prepared], weights: &[f64], beta: &[f64]) -> f64 {
    occasions
        .iter()
        .zip(weights)
        .map(|(p, w)| w * probabilities(p, beta)[p.chosen].max(1e-300).ln())
        .sum()
}

/// Weighted conditional-logit maximum likelihood by Newton's method with step halving; coefficients whose
/// `mask` is false stay at zero.
fn newton(
    occasions: &[&Prepared],
    weights: &[f64],
    start: Vec<f64>,
    mask: &[bool],
    iterations: usize,
) -> Result<Vec<f64>> {
    let free: Vec<usize> = (0..mask.len()).filter(|&j| mask[j]).collect();
    let m = free.len();
    let mut beta = start;
    for (j, keep) in mask.iter().enumerate() {
        if !keep {
            beta[j] = 0.0;
        }
    }
    let mut current = weighted_log_likelihood(occasions, weights, &beta);
    for _ in 0..iterations {
        let mut gradient = DVector::<f64>::zeros(m);
        let mut hessian = DMatrix::<f64>::zeros(m, m);
        for (p, w) in occasions.iter().zip(weights) {
            if *w <= 0.0 {
                continue;
            }
            let probs = probabilities(p, &beta);
            let mean: Vec<f64> = free
                .iter()
                .map(|&j| p.x.iter().zip(&probs).map(|(row, q)| q * row[j]).sum())
                .collect();
            for (a, &j) in free.iter().enumerate() {
                gradient[a] += w * (p.x[p.chosen][j] - mean[a]);
            }
            for (row, q) in p.x.iter().zip(&probs) {
                let centred: Vec<f64> =
                    free.iter().zip(&mean).map(|(&j, mu)| row[j] - mu).collect();
                for a in 0..m {
                    for b in a..m {
                        hessian[(a, b)] += w * q * centred[a] * centred[b];
                    }
                }
            }
        }
        for a in 0..m {
            hessian[(a, a)] += 1e-8;
            for b in 0..a {
                hessian[(a, b)] = hessian[(b, a)];
            }
        }
        let Some(step) = hessian.cholesky().map(|c| c.solve(&gradient)) else {
            return Err(not_identified(
                "conditional logit",
                "singular information matrix",
            ));
        };
        let mut scale = 1.0;
        let mut improved = false;
        for _ in 0..30 {
            let mut candidate = beta.clone();
            for (a, &j) in free.iter().enumerate() {
                candidate[j] += scale * step[a];
            }
            let value = weighted_log_likelihood(occasions, weights, &candidate);
            if value >= current - 1e-12 {
                let gain = value - current;
                beta = candidate;
                current = value;
                improved = gain > 1e-9 * current.abs().max(1.0);
                break;
            }
            scale /= 2.0;
        }
        if !improved {
            break;
        }
    }
    Ok(beta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Gumbel};

    /// Households choosing among 3 brands with known utilities; `sensitive` households (half of them when
    /// `two_classes`) have a price coefficient of -6, the others -1.
    fn simulate(
        households: usize,
        per_household: usize,
        two_classes: bool,
        seed: u64,
    ) -> ChoiceData {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let gumbel = Gumbel::new(0.0, 1.0).unwrap();
        let constants = [0.0, 0.5, -0.3];
        let mut text = String::from("occasion,household,alternative,chosen,price\n");
        let mut occasion = 0;
        for h in 0..households {
            let price_coefficient = if two_classes && h % 2 == 0 {
                -6.0
            } else {
                -2.0
            };
            for _ in 0..per_household {
                occasion += 1;
                let prices: Vec<f64> = (0..3).map(|_| rng.gen_range(0.5..1.5)).collect();
                let utilities: Vec<f64> = (0..3)
                    .map(|j| constants[j] + price_coefficient * prices[j] + gumbel.sample(&mut rng))
                    .collect();
                let chosen = (0..3)
                    .max_by(|a, b| utilities[*a].total_cmp(&utilities[*b]))
                    .unwrap();
                for (j, price) in prices.iter().enumerate() {
                    text += &format!(
                        "{occasion},h{h},brand{j},{},{price:.4}\n",
                        u8::from(j == chosen)
                    );
                }
            }
        }
        ChoiceData::parse("simulated.csv", &text).unwrap()
    }

    #[test]
    fn the_pooled_logit_recovers_known_coefficients() {
        let data = simulate(300, 10, false, 1);
        let result = fit(
            &data,
            &ChoiceConfig {
                classes: 1,
                ..ChoiceConfig::default()
            },
        )
        .unwrap();
        let coef = |name: &str| {
            result
                .logit_coefficients
                .iter()
                .find(|(n, _)| n == name)
                .unwrap()
                .1
        };
        assert!((coef("price") + 2.0).abs() < 0.25, "{}", coef("price"));
        assert!((coef("const[brand1]") - 0.5).abs() < 0.15);
        assert!((coef("const[brand2]") + 0.3).abs() < 0.15);
        // Loyalty means nothing here (choices are independent over time).
        assert!(coef("loyalty").abs() < 0.5, "{}", coef("loyalty"));
        // Held out: each household's last 2 of 10 occasions.
        assert_eq!(result.test_occasions, 600);
        let shares = &result.models[0];
        let logit = &result.models[2];
        assert!(logit.test_log_likelihood_per_occasion > shares.test_log_likelihood_per_occasion);
        assert!(logit.test_hit_rate > shares.test_hit_rate);
    }

    #[test]
    fn latent_classes_find_two_price_sensitivities_and_beat_the_pooled_logit() {
        let data = simulate(300, 15, true, 2);
        let result = fit(
            &data,
            &ChoiceConfig {
                classes: 2,
                ..ChoiceConfig::default()
            },
        )
        .unwrap();
        let logit = result.models.iter().find(|m| m.model == "logit").unwrap();
        let latent = result
            .models
            .iter()
            .find(|m| m.model.starts_with("latent"))
            .unwrap();
        assert!(
            latent.test_log_likelihood_per_occasion > logit.test_log_likelihood_per_occasion,
            "{latent:?} vs {logit:?}"
        );
        let mut prices: Vec<f64> = result
            .classes
            .iter()
            .map(|c| c.coefficients.iter().find(|(n, _)| n == "price").unwrap().1)
            .collect();
        prices.sort_by(f64::total_cmp);
        assert!(
            (prices[0] + 6.0).abs() < 1.5 && (prices[1] + 2.0).abs() < 0.8,
            "{prices:?}"
        );
        // Sensitive households (even numbers) get the more negative coefficient on average.
        let mean = |even: bool| {
            let v: Vec<f64> = result
                .household_sensitivity
                .iter()
                .filter(|h| (h.household[1..].parse::<usize>().unwrap() % 2 == 0) == even)
                .map(|h| h.price_coefficient)
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(mean(true) < mean(false) - 1.5);
    }
}
