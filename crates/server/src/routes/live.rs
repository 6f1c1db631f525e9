//! What the dashboard (`/ui`) shows, as JSON: `GET /v1/stats/live` (counters and latency this
//! process keeps, budgets against their pacing plan), `GET /v1/stats/recent` (the latest
//! decisions of the log: offer mix, the policies' values with intervals, the randomised arms
//! against control) and `GET /v1/fraud/alerts` (the latest decisions the fraud gate acted on).

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use discount_core::Timestamp;
use discount_policy::{GateAction, GateRecord, OfferScore};
use discount_store::decision_log::{DecisionRow, OutcomeRow};
use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::{json, Shared};
use crate::auth::Role;
use crate::error::{query_params, ApiError, ApiResult, ErrorBody};

/// The route whose counters and latency are the decisions'.
const DECISIONS_ROUTE: &str = "/v1/decisions";
/// Decisions `GET /v1/stats/recent` and `GET /v1/fraud/alerts` read when no `limit` is given.
const DEFAULT_RECENT: usize = 2_000;
/// The most decisions one request may read from the log.
const MAX_RECENT: usize = 50_000;
/// Alerts listed at most (the counts cover every decision read).
const MAX_ALERTS: usize = 100;
/// Two-sided level of every interval.
const ALPHA: f64 = 0.05;

/// What this process has served since it started, the budgets against their pacing plan and what
/// is active: the answer of `GET /v1/stats/live`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveStats {
    /// The service's clock, RFC 3339.
    pub at: String,
    /// Decisions served by this process since it started (summed over offers).
    pub decisions: u64,
    /// `POST /v1/decisions` requests by status class since start.
    pub requests: RequestCounts,
    /// Latency of the answered (200) decision requests since start.
    pub latency: LatencySummary,
    /// Decisions served by this process since start, by offer id.
    pub offers: Vec<OfferCount>,
    pub budgets: Vec<BudgetPacing>,
    pub policy: Option<ServingPolicy>,
    /// The registered response model scoring offers (`None`: the policy's own online models).
    pub serving_model: Option<String>,
    /// The registry's active model when this process refused it, and why.
    pub refused_model: Option<crate::models::Refusal>,
}

/// `POST /v1/decisions` requests by the class of their status.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct RequestCounts {
    pub ok: u64,
    pub client_errors: u64,
    pub server_errors: u64,
}

/// Latency of the answered decision requests, from the histogram `/metrics` exports.
#[derive(Debug, Serialize, ToSchema)]
pub struct LatencySummary {
    pub count: u64,
    pub sum_seconds: f64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Cumulative counts at each bucket's upper bound (ms), so that a client can take quantiles
    /// over the interval between two reads.
    pub buckets: Vec<LatencyBucket>,
}

/// One bucket of the latency histogram: requests answered within `le_ms`.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct LatencyBucket {
    pub le_ms: f64,
    pub count: u64,
}

/// Decisions this process served with one offer.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferCount {
    pub offer_id: String,
    pub decisions: u64,
}

/// A budget and where its even pacing plan says spend should be.
#[derive(Debug, Serialize, ToSchema)]
pub struct BudgetPacing {
    pub id: String,
    pub currency: String,
    /// Minor units, as every amount here.
    pub total: i64,
    pub spent: i64,
    pub reserved: i64,
    pub remaining: i64,
    pub shadow_price: Option<f64>,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    /// Share of the period elapsed: the share of the total the even plan has spent by now.
    pub plan_share: Option<f64>,
    /// `total * plan_share`, rounded down.
    pub planned_spend: Option<i64>,
}

/// The active policy: its version and its ladder of offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServingPolicy {
    pub version: String,
    pub engine_version: String,
    pub apprentice: bool,
    /// The rung that is "no offer": the control arm.
    pub control_offer: String,
    pub offers: Vec<LadderRung>,
}

/// One offer of the ladder: its id and a label a person reads (`10% off`).
#[derive(Debug, Serialize, ToSchema)]
pub struct LadderRung {
    pub offer_id: String,
    pub label: String,
}

/// `?limit=N`: how many of the latest decisions to read.
#[derive(Debug, Clone, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecentParams {
    /// The latest decisions of the log to read, 1 to 50000 (default 2000).
    #[param(minimum = 1, maximum = 50000, default = 2000)]
    pub limit: Option<usize>,
}

impl RecentParams {
    /// The `limit` of a query string that may carry nothing else; a 400 naming the parameter at
    /// fault otherwise.
    fn limit(
        query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    ) -> Result<usize, ApiError> {
        let mut params = query_params(query, &["limit"])?;
        let Some(text) = params.remove("limit") else {
            return Ok(DEFAULT_RECENT);
        };
        text.trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_RECENT).contains(n))
            .ok_or_else(|| {
                ApiError::query(
                    "limit",
                    format!("`limit` must be a whole number from 1 to {MAX_RECENT} (got `{text}`)"),
                )
            })
    }
}

/// Statistics of the latest decisions of the log: the answer of `GET /v1/stats/recent`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentStats {
    /// Decisions read (the latest ones of the log).
    pub decisions: usize,
    /// Of those, the ones with an outcome.
    pub settled: usize,
    /// Of those, the ones where the policy explored (drew at random).
    pub explored: usize,
    /// The earliest and latest decision read, RFC 3339.
    pub from: Option<String>,
    pub to: Option<String>,
    pub offers: Vec<OfferMix>,
    pub policies: Vec<PolicyValue>,
    pub experiment: Option<ArmExperiment>,
}

/// One offer's share of the recent decisions and how its settled ones did.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferMix {
    pub offer_id: String,
    pub decisions: usize,
    pub share: f64,
    pub settled: usize,
    pub conversion_rate: Option<f64>,
    /// Mean profit per settled decision, minor units.
    pub mean_profit: Option<f64>,
}

/// An estimate with its interval (level `1 - 0.05`), minor units of profit per decision.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct Estimate {
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
    /// Decisions the estimate rests on.
    pub n: usize,
}

impl Estimate {
    /// The standard error behind a symmetric interval of half-width `z` standard errors.
    fn standard_error(&self, z: f64) -> f64 {
        (self.upper - self.value) / z
    }
}

/// What one policy earned on its settled recent decisions, and what it would have earned acting
/// greedily or never giving an offer, estimated off-policy from the same decisions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyValue {
    /// The registry's version (the engine configuration's `name`).
    pub version: String,
    pub decisions: usize,
    pub settled: usize,
    /// Mean profit per settled decision as logged (the policy with its exploration).
    pub logged: Option<Estimate>,
    /// Self-normalised IPS value of always taking the highest-value rung the policy scored.
    pub greedy: Option<Estimate>,
    /// Self-normalised IPS value of never giving an offer.
    pub control: Option<Estimate>,
}

/// Every decision drew its offer at random with a logged probability, so the log is a randomised
/// experiment between the offers: each offer's profit per decision (self-normalised IPS over the
/// decisions that served it) against the control offer's.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArmExperiment {
    pub control: String,
    pub arms: Vec<ArmResult>,
}

/// One offer of the randomised experiment, against control.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArmResult {
    pub offer_id: String,
    /// Settled decisions that served this offer.
    pub settled: usize,
    /// Their conversion rate as observed (not weighted).
    pub conversion_rate: f64,
    /// Profit per decision if every decision had served this offer (absent under two).
    pub value: Option<Estimate>,
    /// `value` minus control's, with a normal interval on the two estimates' standard errors
    /// (absent for control itself and when either value is).
    pub difference: Option<ArmDifference>,
}

/// An offer's value minus control's, with its interval (level 0.95).
#[derive(Debug, Serialize, ToSchema)]
pub struct ArmDifference {
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
    /// Two-sided, normal; absent when both estimates have no spread.
    pub p_value: Option<f64>,
}

/// What the fraud gate did to the latest decisions of the log: the answer of
/// `GET /v1/fraud/alerts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FraudAlerts {
    /// Decisions read (the latest ones of the log).
    pub scanned: usize,
    pub withheld: usize,
    pub capped: usize,
    /// Allowed, but the customer carried risk reasons.
    pub flagged: usize,
    /// The latest alerts first, at most 100.
    pub alerts: Vec<FraudAlert>,
}

/// A decision the fraud gate withheld or capped, or whose customer carried risk reasons.
#[derive(Debug, Serialize, ToSchema)]
pub struct FraudAlert {
    pub decision_id: String,
    pub customer_id: String,
    pub at: String,
    pub offer_id: String,
    #[schema(value_type = crate::openapi::GateActionSchema)]
    pub action: GateAction,
    pub score: f64,
    pub reasons: Vec<String>,
}

/// `GET /v1/stats/live`: this process's counters, the budgets and what is active.
#[utoipa::path(
    get,
    path = "/v1/stats/live",
    tag = "dashboard",
    summary = "This process's decision counters and latency, the budgets against their pacing plan, the active policy and model (role decide)",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Live figures", body = LiveStats),
    )
)]
pub async fn live(State(state): State<Shared>, headers: HeaderMap) -> ApiResult {
    state.caller(&headers).await?.require(Role::Decide)?;
    let now = state.clock.now().0;
    let rows = state.pool.run(|log| log.budgets()).await?;
    let policy = state.policies.active();
    let periods: BTreeMap<String, (i64, i64)> = policy
        .iter()
        .flat_map(|p| p.engine.config().budgets.iter().enumerate())
        .filter_map(|(i, b)| Some((b.campaign.clone(), b.period(i).ok().flatten()?)))
        .collect();
    let budgets = rows
        .into_iter()
        .map(|b| {
            let period = periods.get(&b.id).copied();
            let plan_share = period.map(|(start, end)| {
                ((now - start) as f64 / (end - start).max(1) as f64).clamp(0.0, 1.0)
            });
            BudgetPacing {
                shadow_price: policy
                    .as_ref()
                    .filter(|p| p.engine.ledger(Some(&b.id)).is_some())
                    .map(|p| p.engine.lambda(Some(&b.id))),
                remaining: b.remaining(),
                period_start: period.map(|(s, _)| Timestamp(s).to_rfc3339()),
                period_end: period.map(|(_, e)| Timestamp(e).to_rfc3339()),
                planned_spend: plan_share.map(|s| (b.total as f64 * s).floor() as i64),
                plan_share,
                id: b.id,
                currency: b.currency,
                total: b.total,
                spent: b.spent,
                reserved: b.reserved,
            }
        })
        .collect();
    let metrics = &state.metrics;
    let offers: Vec<OfferCount> = metric_rows(&metrics.decisions.collect())
        .filter_map(|(labels, m)| {
            Some(OfferCount {
                offer_id: label(&labels, "offer")?.to_string(),
                decisions: m.get_counter().get_value() as u64,
            })
        })
        .collect();
    let mut requests = RequestCounts::default();
    for (labels, m) in metric_rows(&metrics.requests.collect()) {
        if label(&labels, "route") != Some(DECISIONS_ROUTE) {
            continue;
        }
        let n = m.get_counter().get_value() as u64;
        match label(&labels, "status").and_then(|s| s.chars().next()) {
            Some('2') => requests.ok += n,
            Some('4') => requests.client_errors += n,
            _ => requests.server_errors += n,
        }
    }
    let model = state.policies.model_state();
    let stats = LiveStats {
        at: Timestamp(now).to_rfc3339(),
        decisions: offers.iter().map(|o| o.decisions).sum(),
        requests,
        latency: decision_latency(&state),
        offers,
        budgets,
        policy: policy.as_ref().map(|p| {
            let ladder = p.engine.ladder();
            ServingPolicy {
                version: p.version.clone(),
                engine_version: p.engine.policy_version(),
                apprentice: p.apprentice,
                control_offer: ladder
                    .rungs
                    .get(ladder.baseline)
                    .map_or_else(String::new, |r| r.id.clone()),
                offers: ladder
                    .rungs
                    .iter()
                    .map(|r| LadderRung {
                        offer_id: r.id.clone(),
                        label: r.offer.label(),
                    })
                    .collect(),
            }
        }),
        serving_model: model.serving,
        refused_model: model.refused,
    };
    Ok(json(&stats))
}

/// The metrics of collected families with their labels as `(name, value)` pairs.
fn metric_rows(
    families: &[MetricFamily],
) -> impl Iterator<Item = (Vec<(String, String)>, &prometheus::proto::Metric)> {
    families.iter().flat_map(|f| f.get_metric()).map(|m| {
        let labels = m
            .get_label()
            .iter()
            .map(|l| (l.get_name().to_string(), l.get_value().to_string()))
            .collect();
        (labels, m)
    })
}

fn label<'a>(labels: &'a [(String, String)], name: &str) -> Option<&'a str> {
    labels
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn decision_latency(state: &Shared) -> LatencySummary {
    let families = state.metrics.latency.collect();
    let answered = metric_rows(&families).find(|(labels, _)| {
        label(labels, "route") == Some(DECISIONS_ROUTE) && label(labels, "status") == Some("200")
    });
    let Some((_, m)) = answered else {
        return LatencySummary {
            count: 0,
            sum_seconds: 0.0,
            p50_ms: None,
            p90_ms: None,
            p99_ms: None,
            buckets: Vec::new(),
        };
    };
    let h = m.get_histogram();
    let buckets: Vec<LatencyBucket> = h
        .get_bucket()
        .iter()
        .map(|b| LatencyBucket {
            le_ms: b.get_upper_bound() * 1e3,
            count: b.get_cumulative_count(),
        })
        .collect();
    let count = h.get_sample_count();
    LatencySummary {
        count,
        sum_seconds: h.get_sample_sum(),
        p50_ms: bucket_quantile(&buckets, count, 0.5),
        p90_ms: bucket_quantile(&buckets, count, 0.9),
        p99_ms: bucket_quantile(&buckets, count, 0.99),
        buckets,
    }
}

/// The `q` quantile of a histogram by linear interpolation inside the bucket that holds it (as
/// Prometheus' `histogram_quantile` does); the largest finite bound when it lies above them all.
pub fn bucket_quantile(buckets: &[LatencyBucket], count: u64, q: f64) -> Option<f64> {
    if count == 0 {
        return None;
    }
    let rank = q * count as f64;
    let (mut lower, mut below) = (0.0, 0u64);
    for b in buckets {
        if b.count as f64 >= rank {
            if b.count == below {
                return Some(b.le_ms);
            }
            let within = (rank - below as f64) / (b.count - below) as f64;
            return Some(lower + (b.le_ms - lower) * within);
        }
        (lower, below) = (b.le_ms, b.count);
    }
    Some(lower)
}

/// What the dashboard needs of a logged decision's response and request.
#[derive(Deserialize)]
struct Answered {
    offer_id: String,
    #[serde(default)]
    gate: Option<GateRecord>,
}

#[derive(Deserialize)]
struct Logged {
    /// The registry's version of the policy that decided.
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    scores: Vec<OfferScore>,
}

/// A recent decision reduced to what the statistics read.
struct Recent {
    row: DecisionRow,
    outcome: Option<OutcomeRow>,
    /// The offer served (from the stored response; empty when it cannot be read).
    offer_id: String,
    gate: Option<GateRecord>,
    /// The registry's policy version; the engine's version string when the log does not say.
    policy: String,
    /// The rung of highest value among the eligible ones the policy scored, if it logged scores.
    greedy: Option<String>,
}

fn reduce(rows: Vec<(DecisionRow, Option<OutcomeRow>)>) -> Vec<Recent> {
    rows.into_iter()
        .map(|(row, outcome)| {
            let answered = serde_json::from_str::<Answered>(&row.response).ok();
            let (offer_id, gate) = answered.map_or((String::new(), None), |a| (a.offer_id, a.gate));
            let logged = serde_json::from_str::<Logged>(&row.request).ok();
            let greedy = logged.as_ref().and_then(|l| {
                l.scores
                    .iter()
                    .filter(|s| s.ineligible.is_none())
                    .max_by(|a, b| a.value.total_cmp(&b.value))
                    .map(|s| s.offer_id.clone())
            });
            let policy = logged
                .and_then(|l| l.policy)
                .unwrap_or_else(|| row.policy_version.clone());
            Recent {
                row,
                outcome,
                offer_id,
                gate,
                policy,
                greedy,
            }
        })
        .collect()
}

/// `GET /v1/stats/recent?limit=N`: the latest `N` decisions of the log (default 2,000).
#[utoipa::path(
    get,
    path = "/v1/stats/recent",
    tag = "dashboard",
    summary = "Offer mix, the policies' off-policy values and the offers against control over the latest decisions (role decide)",
    params(RecentParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Statistics of the latest decisions", body = RecentStats),
        (status = 400, description = "A bad `limit`, or an unknown query parameter", body = ErrorBody),
    )
)]
pub async fn recent(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    state.caller(&headers).await?.require(Role::Decide)?;
    let limit = RecentParams::limit(query)?;
    let rows = state
        .pool
        .run(move |log| log.recent_decisions(limit))
        .await?;
    let control = state.policies.active().and_then(|p| {
        let ladder = p.engine.ladder();
        ladder.rungs.get(ladder.baseline).map(|r| r.id.clone())
    });
    Ok(json(&recent_stats(&reduce(rows), control.as_deref())))
}

fn recent_stats(recent: &[Recent], control: Option<&str>) -> RecentStats {
    let settled = recent.iter().filter(|r| r.outcome.is_some()).count();
    let mut offers: BTreeMap<&str, Vec<&Recent>> = BTreeMap::new();
    let mut policies: BTreeMap<&str, Vec<&Recent>> = BTreeMap::new();
    for r in recent {
        offers.entry(r.offer_id.as_str()).or_default().push(r);
        policies.entry(r.policy.as_str()).or_default().push(r);
    }
    let control = control.unwrap_or("none");
    let mut offers: Vec<OfferMix> = offers
        .into_iter()
        .map(|(offer_id, rows)| {
            let outcomes: Vec<&OutcomeRow> =
                rows.iter().filter_map(|r| r.outcome.as_ref()).collect();
            let n = outcomes.len();
            OfferMix {
                offer_id: offer_id.to_string(),
                decisions: rows.len(),
                share: rows.len() as f64 / recent.len().max(1) as f64,
                settled: n,
                conversion_rate: (n > 0)
                    .then(|| outcomes.iter().filter(|o| o.converted).count() as f64 / n as f64),
                mean_profit: (n > 0)
                    .then(|| outcomes.iter().map(|o| o.profit as f64).sum::<f64>() / n as f64),
            }
        })
        .collect();
    offers.sort_by_key(|o| std::cmp::Reverse(o.decisions));
    let times = || recent.iter().map(|r| r.row.at);
    RecentStats {
        decisions: recent.len(),
        settled,
        explored: recent.iter().filter(|r| r.row.explored).count(),
        from: times().min().map(|t| Timestamp(t).to_rfc3339()),
        to: times().max().map(|t| Timestamp(t).to_rfc3339()),
        offers,
        policies: policies
            .into_iter()
            .map(|(version, rows)| policy_value(version, &rows, control))
            .collect(),
        experiment: arm_experiment(recent, control),
    }
}

fn policy_value(version: &str, rows: &[&Recent], control: &str) -> PolicyValue {
    let settled: Vec<(&Recent, f64)> = rows
        .iter()
        .filter_map(|r| Some((*r, r.outcome.as_ref()?.profit as f64)))
        .collect();
    let profits: Vec<f64> = settled.iter().map(|(_, p)| *p).collect();
    PolicyValue {
        version: version.to_string(),
        decisions: rows.len(),
        settled: settled.len(),
        logged: mean_interval(&profits),
        // Decisions that logged no scores say nothing about the greedy choice: left out.
        greedy: snips(settled.iter().filter_map(|(r, p)| {
            let greedy = r.greedy.as_deref()?;
            Some((*p, r.row.propensity, r.offer_id == greedy))
        })),
        control: snips(
            settled
                .iter()
                .map(|(r, p)| (*p, r.row.propensity, r.offer_id == control)),
        ),
    }
}

/// Mean with a Student t interval; `None` under two observations.
fn mean_interval(values: &[f64]) -> Option<Estimate> {
    if values.len() < 2 {
        return None;
    }
    let s = discount_eval::ab::SampleSummary::of(values);
    let df = (s.n - 1) as f64;
    let half = discount_eval::stats::student_t_quantile(1.0 - ALPHA / 2.0, df)
        * (s.variance / s.n as f64).sqrt();
    Some(Estimate {
        value: s.mean,
        lower: s.mean - half,
        upper: s.mean + half,
        n: values.len(),
    })
}

/// Self-normalised IPS over `(reward, propensity, target took the logged action)` with the
/// delta-method normal interval `±z * sqrt(sum w^2 (r - V)^2) / sum w`; `None` under two
/// matching decisions.
fn snips(rows: impl Iterator<Item = (f64, f64, bool)>) -> Option<Estimate> {
    let weighted: Vec<(f64, f64)> = rows
        .filter(|(_, p, matched)| *matched && *p > 0.0)
        .map(|(r, p, _)| (r, 1.0 / p))
        .collect();
    if weighted.len() < 2 {
        return None;
    }
    let total: f64 = weighted.iter().map(|(_, w)| w).sum();
    let value = weighted.iter().map(|(r, w)| r * w).sum::<f64>() / total;
    let spread: f64 = weighted
        .iter()
        .map(|(r, w)| (w * (r - value)).powi(2))
        .sum();
    let half = discount_eval::stats::normal_quantile(1.0 - ALPHA / 2.0) * spread.sqrt() / total;
    Some(Estimate {
        value,
        lower: value - half,
        upper: value + half,
        n: weighted.len(),
    })
}

fn arm_experiment(recent: &[Recent], control: &str) -> Option<ArmExperiment> {
    let settled: Vec<(&Recent, &OutcomeRow)> = recent
        .iter()
        .filter_map(|r| Some((r, r.outcome.as_ref()?)))
        .collect();
    let mut offers: Vec<&str> = settled.iter().map(|(r, _)| r.offer_id.as_str()).collect();
    offers.sort_unstable();
    offers.dedup();
    if offers.is_empty() {
        return None;
    }
    let value_of = |offer: &str| {
        snips(
            settled
                .iter()
                .map(|(r, o)| (o.profit as f64, r.row.propensity, r.offer_id == offer)),
        )
    };
    let control_value = value_of(control);
    let z = discount_eval::stats::normal_quantile(1.0 - ALPHA / 2.0);
    let arms = offers
        .into_iter()
        .map(|offer| {
            let served: Vec<&OutcomeRow> = settled
                .iter()
                .filter(|(r, _)| r.offer_id == offer)
                .map(|(_, o)| *o)
                .collect();
            let value = value_of(offer);
            let difference = match (value, control_value) {
                (Some(v), Some(c)) if offer != control => {
                    let se = (v.standard_error(z).powi(2) + c.standard_error(z).powi(2)).sqrt();
                    let d = v.value - c.value;
                    Some(ArmDifference {
                        value: d,
                        lower: d - z * se,
                        upper: d + z * se,
                        p_value: (se > 0.0).then(|| {
                            (2.0 * discount_eval::stats::normal_sf((d / se).abs())).min(1.0)
                        }),
                    })
                }
                _ => None,
            };
            ArmResult {
                offer_id: offer.to_string(),
                settled: served.len(),
                conversion_rate: served.iter().filter(|o| o.converted).count() as f64
                    / served.len().max(1) as f64,
                value,
                difference,
            }
        })
        .collect();
    Some(ArmExperiment {
        control: control.to_string(),
        arms,
    })
}

/// `GET /v1/fraud/alerts?limit=N`: of the latest `N` decisions (default 2,000), those where the
/// fraud gate withheld or capped the offer or the customer carried risk reasons.
#[utoipa::path(
    get,
    path = "/v1/fraud/alerts",
    tag = "dashboard",
    summary = "The latest decisions the fraud gate withheld, capped or flagged (role admin)",
    params(RecentParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Counts over the decisions read and the latest alerts", body = FraudAlerts),
        (status = 400, description = "A bad `limit`, or an unknown query parameter", body = ErrorBody),
    )
)]
pub async fn fraud_alerts(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    state.caller(&headers).await?.require(Role::Admin)?;
    let limit = RecentParams::limit(query)?;
    let rows = state
        .pool
        .run(move |log| log.recent_decisions(limit))
        .await?;
    Ok(json(&alerts_of(&reduce(rows))))
}

fn alerts_of(recent: &[Recent]) -> FraudAlerts {
    let mut out = FraudAlerts {
        scanned: recent.len(),
        withheld: 0,
        capped: 0,
        flagged: 0,
        alerts: Vec::new(),
    };
    for r in recent {
        let Some(gate) = &r.gate else { continue };
        match gate.action {
            GateAction::Withhold => out.withheld += 1,
            GateAction::Cap => out.capped += 1,
            GateAction::Allow if !gate.reasons.is_empty() => out.flagged += 1,
            GateAction::Allow => continue,
        }
        if out.alerts.len() < MAX_ALERTS {
            out.alerts.push(FraudAlert {
                decision_id: r.row.id.clone(),
                customer_id: r.row.customer_id.clone(),
                at: Timestamp(r.row.at).to_rfc3339(),
                offer_id: r.offer_id.clone(),
                action: gate.action,
                score: gate.score,
                reasons: gate.reasons.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(le_ms: f64, count: u64) -> LatencyBucket {
        LatencyBucket { le_ms, count }
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        let b = [bucket(1.0, 50), bucket(2.0, 90), bucket(5.0, 100)];
        assert_eq!(bucket_quantile(&b, 100, 0.5), Some(1.0));
        assert_eq!(bucket_quantile(&b, 100, 0.7), Some(1.5));
        assert_eq!(bucket_quantile(&b, 100, 0.25), Some(0.5));
        assert_eq!(bucket_quantile(&b, 0, 0.5), None);
        // Above every finite bound: the largest bound.
        assert_eq!(bucket_quantile(&b, 120, 0.99), Some(5.0));
    }

    #[test]
    fn snips_weights_by_inverse_propensity() {
        // Two matches: reward 10 at propensity 0.5 (weight 2) and 0 at 1.0 (weight 1).
        let e = snips([(10.0, 0.5, true), (0.0, 1.0, true), (99.0, 0.5, false)].into_iter())
            .expect("two matches");
        assert!((e.value - 20.0 / 3.0).abs() < 1e-12, "{e:?}");
        assert!(e.lower < e.value && e.value < e.upper);
        assert_eq!(e.n, 2);
        assert!(snips([(1.0, 0.5, true)].into_iter()).is_none());
    }

    #[test]
    fn mean_interval_covers_the_mean() {
        let e = mean_interval(&[1.0, 2.0, 3.0, 4.0]).expect("four values");
        assert_eq!(e.value, 2.5);
        // t(0.975, 3) = 3.182; sd = 1.291; half = 3.182 * 1.291 / 2.
        assert!((e.upper - e.value - 2.054).abs() < 0.01, "{e:?}");
    }
}
