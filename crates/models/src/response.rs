//! Fitting the engine's response model ([`discount_policy::response::ResponseModel`]) from the
//! shop's joined decision log, and judging it on a later window of that log.
//!
//! Per offer, on the decisions that served it: an L2 logistic regression for "ordered", and
//! ridge regressions for the profit and the coupon discount of the orders. Each regression
//! standardises on its own rows; its coefficients are then rewritten onto one standardisation of
//! all rows, so that the served model is plain numbers over one input scale.
//!
//! The validation window is judged two ways: how well the order model ranks and is calibrated on
//! the offers that were actually served (AUC, log-loss), and what the candidate's greedy choice
//! would have earned, estimated off-policy from the logged propensities (self-normalised IPS),
//! next to what the logging policy earned.

use std::collections::BTreeMap;

use discount_policy::response::{LinearTerm, OfferResponse, ResponseModel};
use serde::Serialize;

use crate::propensity::metrics::{log_loss, roc_auc};
use crate::propensity::{
    Learner, LogisticConfig, LogisticRegression, Matrix, RidgeConfig, RidgeRegression, Standardiser,
};
use crate::ModelError;

/// One joined decision, its features as of the decision.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRow {
    pub offer_id: String,
    /// Microseconds since the epoch.
    pub at: i64,
    /// The profile feature vector as of `at`.
    pub x: Vec<f64>,
    /// The probability the logging policy gave `offer_id`.
    pub propensity: f64,
    pub ordered: bool,
    /// Profit credited to the decision, minor units.
    pub profit: f64,
    /// Coupon discount paid, minor units.
    pub discount: f64,
}

/// Hyper-parameters of the fit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResponseFitConfig {
    /// L2 penalty of the order model (on standardised inputs).
    pub l2: f64,
    /// L2 penalty of the profit and discount regressions.
    pub ridge: f64,
    /// Fewest decisions an offer needs, and fewest orders and non-orders among them.
    pub min_rows: usize,
    pub min_orders: usize,
    /// Each offer's discount depth (share of the basket, 0 for no offer), in the order of the
    /// offer ids, when every offer has one: the model is then pooled over offers (see
    /// [`fit_response_model`]). Empty: one model per offer.
    pub depths: Vec<f64>,
}

impl Default for ResponseFitConfig {
    fn default() -> Self {
        Self {
            l2: 1.0,
            ridge: 10.0,
            min_rows: 30,
            min_orders: 5,
            depths: Vec::new(),
        }
    }
}

/// Fits the model on `rows`; `offer_ids` are the ladder's rungs, each of which must have
/// enough decisions (the error names the offer, what it has and what it needs).
///
/// With `config.depths` (every rung a percentage off, or none), the fit is pooled over offers,
/// which needs far fewer decisions per offer for the same precision: the order model is one
/// logistic regression over all decisions with an intercept per offer and the profile's effect
/// growing linearly with the depth (`logit = a_k + b . z + depth_k * c . z`); an order's margin
/// before the coupon and its list value are one regression each over all orders, so that
/// `profit_k = margin - depth_k * value` and `discount_k = depth_k * value`. It is still one
/// linear term per offer, served as any other.
pub fn fit_response_model(
    rows: &[DecisionRow],
    offer_ids: &[String],
    features: &[String],
    feature_spec: &str,
    config: &ResponseFitConfig,
) -> Result<ResponseModel, ModelError> {
    let d = features.len();
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.x.len() != d) {
        return Err(ModelError::Data(format!(
            "decision row {i} has {} features, expected {d}",
            r.x.len()
        )));
    }
    let all = matrix(rows.iter(), d)?;
    let global = Standardiser::fit(&all);
    check_rows(rows, offer_ids, config)?;
    let offers = if config.depths.is_empty() {
        per_offer(rows, offer_ids, d, config, &global)?
    } else {
        pooled(rows, offer_ids, d, config, &global)?
    };
    let model = ResponseModel {
        feature_spec: feature_spec.to_string(),
        features: features.to_vec(),
        centre: global.means.clone(),
        scale: global.scales.clone(),
        offers,
    };
    model
        .validate()
        .map_err(|e| ModelError::Data(format!("the fitted model is not usable: {e}")))?;
    Ok(model)
}

/// One T-learner per offer, on the decisions that served it.
fn per_offer(
    rows: &[DecisionRow],
    offer_ids: &[String],
    d: usize,
    config: &ResponseFitConfig,
    global: &Standardiser,
) -> Result<Vec<OfferResponse>, ModelError> {
    let mut offers = Vec::with_capacity(offer_ids.len());
    for id in offer_ids {
        let mine: Vec<&DecisionRow> = rows.iter().filter(|r| &r.offer_id == id).collect();
        let orders = mine.iter().filter(|r| r.ordered).count();
        let x = matrix(mine.iter().copied(), d)?;
        let y: Vec<f64> = mine
            .iter()
            .map(|r| f64::from(u8::from(r.ordered)))
            .collect();
        let mut order = LogisticRegression::new(LogisticConfig {
            l2: config.l2,
            ..LogisticConfig::default()
        })?;
        order.fit(&x, &y, None)?;
        let buyers: Vec<&DecisionRow> = mine.iter().copied().filter(|r| r.ordered).collect();
        let xb = matrix(buyers.iter().copied(), d)?;
        let ridge = |target: &dyn Fn(&DecisionRow) -> f64| -> Result<LinearTerm, ModelError> {
            let mut m = RidgeRegression::new(RidgeConfig {
                l2: config.ridge,
                ..RidgeConfig::default()
            })?;
            let y: Vec<f64> = buyers.iter().map(|r| target(r)).collect();
            m.fit(&xb, &y, None)?;
            Ok(onto(
                global,
                m.standardiser.as_ref(),
                m.intercept,
                &m.coefficients,
            ))
        };
        let non_buyers: Vec<f64> = mine
            .iter()
            .filter(|r| !r.ordered)
            .map(|r| r.profit)
            .collect();
        offers.push(OfferResponse {
            offer_id: id.clone(),
            rows: mine.len() as u64,
            orders: orders as u64,
            order: onto(
                global,
                order.standardiser.as_ref(),
                order.intercept,
                &order.coefficients,
            ),
            profit_if_order: ridge(&|r| r.profit)?,
            discount_if_order: ridge(&|r| r.discount)?,
            profit_if_none: non_buyers.iter().sum::<f64>() / non_buyers.len().max(1) as f64,
        });
    }
    Ok(offers)
}

/// Each offer needs `min_rows` decisions with `min_orders` orders and non-orders among them.
fn check_rows(
    rows: &[DecisionRow],
    offer_ids: &[String],
    config: &ResponseFitConfig,
) -> Result<(), ModelError> {
    for id in offer_ids {
        let n = rows.iter().filter(|r| &r.offer_id == id).count();
        let orders = rows
            .iter()
            .filter(|r| &r.offer_id == id && r.ordered)
            .count();
        if n < config.min_rows || orders < config.min_orders || n - orders < config.min_orders {
            return Err(ModelError::Data(format!(
                "too little data for offer `{id}`: the joined decision log has {n} decisions \
                 with it ({orders} ordered, {} did not) in the training window; at least {} \
                 decisions with {} of each are needed (explore longer, or widen --from/--cutoff)",
                n - orders,
                config.min_rows,
                config.min_orders
            )));
        }
    }
    Ok(())
}

/// `b + w . (c - m) / s` over design columns `c` (a regression's own standardisation):
/// the bias and each column's weight on the raw column.
fn unstandardise(own: Option<&Standardiser>, bias: f64, w: &[f64]) -> (f64, Vec<f64>) {
    let mut b = bias;
    let mut per_column = Vec::with_capacity(w.len());
    for (j, wj) in w.iter().enumerate() {
        let (m, s) = own.map_or((0.0, 1.0), |o| (o.means[j], o.scales[j]));
        b -= wj * m / s;
        per_column.push(wj / s);
    }
    (b, per_column)
}

/// The pooled fit (see [`fit_response_model`]).
/// One decision of a pooled fit: its offer's index, its standardised profile, the row.
struct Pooled<'a> {
    offer: usize,
    z: Vec<f64>,
    row: &'a DecisionRow,
}

fn pooled(
    rows: &[DecisionRow],
    offer_ids: &[String],
    d: usize,
    config: &ResponseFitConfig,
    global: &Standardiser,
) -> Result<Vec<OfferResponse>, ModelError> {
    let k = offer_ids.len();
    if config.depths.len() != k || config.depths.iter().any(|x| !(0.0..=1.0).contains(x)) {
        return Err(ModelError::Data(format!(
            "a pooled fit needs one depth in [0, 1] per offer ({k} offers, depths {:?})",
            config.depths
        )));
    }
    let index = |id: &str| offer_ids.iter().position(|o| o == id);
    let z_of = |r: &DecisionRow| -> Vec<f64> {
        (0..d)
            .map(|j| {
                ((r.x[j] - global.means[j]) / global.scales[j]).clamp(
                    -discount_policy::response::Z_LIMIT,
                    discount_policy::response::Z_LIMIT,
                )
            })
            .collect()
    };
    // The order model: [z, depth * z, one-hot offer (all but the first)].
    let width = 2 * d + k - 1;
    let mut design = Vec::with_capacity(rows.len() * width);
    let mut y = Vec::with_capacity(rows.len());
    let mut kept: Vec<Pooled> = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(o) = index(&r.offer_id) else {
            continue;
        };
        let z = z_of(r);
        let depth = config.depths[o];
        design.extend_from_slice(&z);
        design.extend(z.iter().map(|v| depth * v));
        design.extend((1..k).map(|h| f64::from(u8::from(h == o))));
        y.push(f64::from(u8::from(r.ordered)));
        kept.push(Pooled {
            offer: o,
            z,
            row: r,
        });
    }
    let x = Matrix::new(kept.len(), width, design)?;
    let mut order = LogisticRegression::new(LogisticConfig {
        l2: config.l2,
        ..LogisticConfig::default()
    })?;
    order.fit(&x, &y, None)?;
    let (order_bias, w) = unstandardise(
        order.standardiser.as_ref(),
        order.intercept,
        &order.coefficients,
    );
    let (base_w, depth_w, offer_w) = (&w[..d], &w[d..2 * d], &w[2 * d..]);
    // Margin before the coupon and list value of the orders.
    let ridge = |pick: &dyn Fn(&Pooled) -> Option<f64>| -> Result<LinearTerm, ModelError> {
        let mut data = Vec::new();
        let mut target = Vec::new();
        for row in &kept {
            if let Some(t) = pick(row) {
                data.extend_from_slice(&row.z);
                target.push(t);
            }
        }
        let n = target.len();
        let mut m = RidgeRegression::new(RidgeConfig {
            l2: config.ridge,
            ..RidgeConfig::default()
        })?;
        m.fit(&Matrix::new(n, d, data)?, &target, None)?;
        let (bias, weights) = unstandardise(m.standardiser.as_ref(), m.intercept, &m.coefficients);
        Ok(LinearTerm { bias, weights })
    };
    let margin = ridge(&|p| p.row.ordered.then_some(p.row.profit + p.row.discount))?;
    let value = ridge(&|p| {
        let depth = config.depths[p.offer];
        (p.row.ordered && depth > 0.0).then(|| p.row.discount / depth)
    })?;
    let non_buyers: Vec<f64> = kept
        .iter()
        .filter(|p| !p.row.ordered)
        .map(|p| p.row.profit)
        .collect();
    let profit_if_none = non_buyers.iter().sum::<f64>() / non_buyers.len().max(1) as f64;
    let offers: Vec<OfferResponse> = offer_ids
        .iter()
        .enumerate()
        .map(|(o, id)| {
            let depth = config.depths[o];
            let mine = kept.iter().filter(|p| p.offer == o);
            let (n, orders) = mine.fold((0u64, 0u64), |(n, b), p| {
                (n + 1, b + u64::from(p.row.ordered))
            });
            let combine = |a: &LinearTerm, b: &LinearTerm, sign: f64| LinearTerm {
                bias: a.bias + sign * depth * b.bias,
                weights: a
                    .weights
                    .iter()
                    .zip(&b.weights)
                    .map(|(x, y)| x + sign * depth * y)
                    .collect(),
            };
            OfferResponse {
                offer_id: id.clone(),
                rows: n,
                orders,
                order: LinearTerm {
                    bias: order_bias
                        + if o > 0 {
                            offer_w.get(o - 1).copied().unwrap_or(0.0)
                        } else {
                            0.0
                        },
                    weights: base_w
                        .iter()
                        .zip(depth_w)
                        .map(|(b, c)| b + depth * c)
                        .collect(),
                },
                profit_if_order: combine(&margin, &value, -1.0),
                discount_if_order: LinearTerm {
                    bias: depth * value.bias,
                    weights: value.weights.iter().map(|w| depth * w).collect(),
                },
                profit_if_none,
            }
        })
        .collect();
    Ok(offers)
}

fn matrix<'a>(rows: impl Iterator<Item = &'a DecisionRow>, d: usize) -> Result<Matrix, ModelError> {
    let mut data = Vec::new();
    let mut n = 0;
    for r in rows {
        data.extend_from_slice(&r.x);
        n += 1;
    }
    Matrix::new(n, d, data)
}

/// Rewrites `b + w . (x - m) / s` (a regression's own standardisation) as
/// `b' + w' . (x - c) / sigma` (the model's).
fn onto(global: &Standardiser, own: Option<&Standardiser>, bias: f64, w: &[f64]) -> LinearTerm {
    let d = global.means.len();
    let (m, s) = match own {
        Some(o) => (o.means.clone(), o.scales.clone()),
        None => (vec![0.0; d], vec![1.0; d]),
    };
    let mut weights = vec![0.0; d];
    let mut b = bias;
    for j in 0..d.min(w.len()) {
        weights[j] = w[j] * global.scales[j] / s[j];
        b += w[j] * (global.means[j] - m[j]) / s[j];
    }
    LinearTerm { bias: b, weights }
}

/// How a model does on a window of the log.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ResponseValidation {
    pub rows: usize,
    /// Order model on the offers served: ranking and calibration.
    pub auc: Option<f64>,
    pub log_loss: Option<f64>,
    /// Mean profit per decision the logging policy earned.
    pub logged_value: f64,
    /// Self-normalised IPS estimate of the profit per decision of the model's greedy choice
    /// (most expected profit), on the decisions where it agrees with the log.
    pub greedy_value_snips: Option<f64>,
    /// Decisions on which the greedy choice matches what was served.
    pub greedy_matches: usize,
    /// Order rate per offer in the window, for the record.
    pub order_rate: BTreeMap<String, f64>,
}

/// Judges `model` on `rows` (a later window than it was trained on).
pub fn validate_response_model(
    model: &ResponseModel,
    rows: &[DecisionRow],
) -> Result<ResponseValidation, ModelError> {
    let ids: Vec<&str> = model.offers.iter().map(|o| o.offer_id.as_str()).collect();
    let mut z = Vec::new();
    let mut predicted = Vec::with_capacity(rows.len());
    let mut observed = Vec::with_capacity(rows.len());
    let (mut num, mut den, mut matches) = (0.0, 0.0, 0);
    let mut per_offer: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for r in rows {
        let Some(served) = ids.iter().position(|id| *id == r.offer_id) else {
            continue;
        };
        model
            .standardise(&r.x, &mut z)
            .map_err(|e| ModelError::Data(format!("validation row: {e}")))?;
        let responses: Vec<_> = (0..ids.len()).map(|k| model.respond(k, &z)).collect();
        predicted.push(responses[served].conversion);
        observed.push(f64::from(u8::from(r.ordered)));
        let e = per_offer.entry(r.offer_id.clone()).or_default();
        e.0 += f64::from(u8::from(r.ordered));
        e.1 += 1.0;
        let greedy = (0..ids.len())
            .max_by(|&a, &b| responses[a].profit.total_cmp(&responses[b].profit))
            .unwrap_or(served);
        if greedy == served && r.propensity > 0.0 {
            num += r.profit / r.propensity;
            den += 1.0 / r.propensity;
            matches += 1;
        }
    }
    let n = predicted.len();
    Ok(ResponseValidation {
        rows: n,
        auc: roc_auc(&predicted, &observed).ok(),
        log_loss: log_loss(&predicted, &observed).ok(),
        logged_value: rows.iter().map(|r| r.profit).sum::<f64>() / rows.len().max(1) as f64,
        greedy_value_snips: (den > 0.0).then(|| num / den),
        greedy_matches: matches,
        order_rate: per_offer
            .into_iter()
            .map(|(k, (o, n))| (k, o / n))
            .collect(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Customers with `loyal = 1` buy anyway; the others buy more with the offer.
    pub(crate) fn rows(n: usize, seed: u64) -> Vec<DecisionRow> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                let loyal = f64::from(u8::from(rng.gen::<bool>()));
                let noise: f64 = rng.gen();
                let offer = rng.gen::<bool>();
                let p = match (loyal > 0.5, offer) {
                    (true, _) => 0.6,
                    (false, true) => 0.4,
                    (false, false) => 0.05,
                };
                let ordered = rng.gen::<f64>() < p;
                let discount = if ordered && offer { 300.0 } else { 0.0 };
                DecisionRow {
                    offer_id: if offer { "pct10" } else { "none" }.into(),
                    at: i as i64,
                    x: vec![loyal, noise],
                    propensity: 0.5,
                    ordered,
                    profit: if ordered { 1_000.0 - discount } else { 0.0 },
                    discount,
                }
            })
            .collect()
    }

    pub(crate) fn two_offers() -> (Vec<String>, Vec<String>) {
        (
            vec!["none".to_string(), "pct10".to_string()],
            vec!["loyal".to_string(), "noise".to_string()],
        )
    }

    /// What both fits must learn from [`rows`]: for a loyal customer the offer only costs, for a
    /// new one it pays, and the spend follows the 40% who order with the 300 discount.
    fn assert_learns_the_two_kinds(
        m: &ResponseModel,
    ) -> (
        discount_policy::response::Response,
        discount_policy::response::Response,
    ) {
        let mut z = Vec::new();
        m.standardise(&[1.0, 0.5], &mut z).unwrap();
        let (none, offer) = (m.respond(0, &z), m.respond(1, &z));
        assert!(offer.profit < none.profit, "{offer:?} {none:?}");
        assert!((none.conversion - 0.6).abs() < 0.05, "{none:?}");
        m.standardise(&[0.0, 0.5], &mut z).unwrap();
        let (none, offer) = (m.respond(0, &z), m.respond(1, &z));
        assert!(offer.profit > none.profit + 100.0, "{offer:?} {none:?}");
        assert!((offer.spend - 0.4 * 300.0).abs() < 30.0, "{offer:?}");
        (none, offer)
    }

    #[test]
    fn learns_who_the_offer_moves() {
        let train = rows(4_000, 1);
        let (offers, names) = two_offers();
        let m = fit_response_model(
            &train,
            &offers,
            &names,
            "spec",
            &ResponseFitConfig::default(),
        )
        .unwrap();
        assert_learns_the_two_kinds(&m);

        let v = validate_response_model(&m, &rows(2_000, 2)).unwrap();
        assert!(v.auc.unwrap() > 0.65, "{v:?}");
        // The greedy choice (offer to the non-loyal only) beats the random log.
        assert!(
            v.greedy_value_snips.unwrap() > v.logged_value + 50.0,
            "{v:?}"
        );
    }

    #[test]
    fn the_pooled_fit_learns_the_same_response_with_one_model() {
        let train = rows(4_000, 1);
        let (offers, names) = two_offers();
        let pooled = ResponseFitConfig {
            depths: vec![0.0, 0.3],
            ..ResponseFitConfig::default()
        };
        let m = fit_response_model(&train, &offers, &names, "spec", &pooled).unwrap();
        // The list value (1,000) is learned from the orders with a coupon, the spend from it.
        let (none, offer) = assert_learns_the_two_kinds(&m);
        assert!((none.conversion - 0.05).abs() < 0.03, "{none:?}");
        assert!((offer.conversion - 0.4).abs() < 0.05, "{offer:?}");
        assert_eq!(none.spend, 0.0);
        let bad = ResponseFitConfig {
            depths: vec![0.0],
            ..ResponseFitConfig::default()
        };
        let e = fit_response_model(&train, &offers, &names, "spec", &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("one depth") && e.contains("2 offers"), "{e}");
    }

    #[test]
    fn too_little_data_names_the_offer() {
        let train = rows(40, 3);
        let (offers, names) = two_offers();
        let e = fit_response_model(
            &train,
            &offers,
            &names,
            "spec",
            &ResponseFitConfig::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("too little data for offer") && e.contains("at least 30"),
            "{e}"
        );
    }
}
