//! The outcome join: an order is attributed to the latest open decision for the same customer
//! whose attribution window contains the order's time; its reward is the order's paid revenue
//! less the cost of goods (the item's unit cost where the store knows it, else
//! `unknown_cost_ratio` of the list price), and the budget is charged the order's coupon discount
//! (at most what the decision held). A decision whose window closes without an order gets the
//! default reward and its hold is released. Each outcome is also taught to the policy that
//! decided.

use discount_policy::JoinedOutcome;
use discount_store::decision_log::{DecisionRow, OrderLineFact, OutcomeRow, OutcomeSource};
use serde::Deserialize;

use crate::app::{AppState, Shared};
use crate::error::ApiError;

/// What the decision log keeps of the request besides its body.
#[derive(Deserialize)]
pub struct LoggedRequest {
    /// The registry version of the policy that decided.
    pub policy: String,
    /// The rung served (the control arm in apprentice mode), which is what the outcome measures.
    pub offer_id: String,
    pub features: Vec<f64>,
}

/// The reward of one order's lines (all with the same event id).
pub fn reward_of_order(
    decision: &DecisionRow,
    lines: &[OrderLineFact],
    unknown_cost_ratio: f64,
    now: i64,
) -> Option<OutcomeRow> {
    let first = lines.first()?;
    let revenue: i64 = lines.iter().map(|l| l.paid).sum();
    let discount: i64 = lines.iter().map(|l| l.coupon_discount).sum();
    let cogs: i64 = lines
        .iter()
        .map(|l| match l.unit_cost {
            Some(c) => c * l.quantity,
            None => (l.list_price as f64 * unknown_cost_ratio).round() as i64,
        })
        .sum();
    Some(OutcomeRow {
        decision_id: decision.id.clone(),
        at: first.at,
        source: OutcomeSource::Order,
        event_id: Some(first.event_id.clone()),
        converted: true,
        revenue,
        discount,
        profit: revenue - cogs,
        charged: charge(decision, discount),
        recorded_at: now,
    })
}

/// What the budget is charged for a decision whose outcome gave `discount`: the discount, never
/// more than the decision held (a decision that held nothing charges nothing). The stored and
/// returned outcome carry this figure, which is exactly what the ledger moved.
pub fn charge(decision: &DecisionRow, discount: i64) -> i64 {
    discount.clamp(0, decision.reserved.max(0))
}

/// The first order of `lines` (sorted by time), as its lines.
fn first_order(lines: &[OrderLineFact]) -> &[OrderLineFact] {
    match lines.first() {
        Some(f) => {
            let n = lines
                .iter()
                .take_while(|l| l.event_id == f.event_id)
                .count();
            &lines[..n]
        }
        None => &[],
    }
}

/// Records `outcome`, mirrors the settlement in the campaign's ledger, and teaches the policy.
/// False if the decision already had an outcome.
pub async fn record(
    state: &Shared,
    decision: &DecisionRow,
    outcome: OutcomeRow,
) -> Result<bool, ApiError> {
    let o = outcome.clone();
    let stored = state.pool.run(move |log| log.record_outcome(&o)).await?;
    if !stored {
        return Ok(false);
    }
    if let Some(campaign) = &decision.budget_id {
        if let Some(l) = state.policies.ledger_of(campaign) {
            l.settled(decision.reserved, outcome.charged);
        }
    }
    let lag = (outcome.recorded_at - decision.at).max(0) as f64 / 1e6;
    state
        .metrics
        .join_lag
        .with_label_values(&[outcome.source.as_str()])
        .observe(lag);
    learn(state, decision, &outcome);
    Ok(true)
}

fn learn(state: &AppState, decision: &DecisionRow, outcome: &OutcomeRow) {
    let Ok(logged) = serde_json::from_str::<LoggedRequest>(&decision.request) else {
        return;
    };
    let Some(engine) = state.policies.engine(&logged.policy) else {
        return;
    };
    let joined = JoinedOutcome {
        offer_id: logged.offer_id,
        features: logged.features,
        profit: outcome.profit as f64,
        discount: outcome.discount as f64,
        ordered: outcome.converted,
    };
    if let Err(e) = engine.update(&joined) {
        tracing::warn!(
            "teaching policy {} decision {}: {e}",
            decision.policy_version,
            decision.id
        );
    }
    state
        .metrics
        .model_version
        .with_label_values(&[&logged.policy])
        .set(engine.version() as i64);
}

/// Where a stored order went.
#[derive(Clone, Debug, PartialEq)]
pub enum Attribution {
    /// The decision it was attributed to.
    To(String),
    /// Why it was attributed to none.
    None(String),
}

/// Attributes a just-stored order to the latest open decision of its customer.
pub async fn attribute_order(
    state: &Shared,
    customer: &str,
    event_id: &str,
    at: i64,
) -> Result<Attribution, ApiError> {
    let (c, e) = (customer.to_string(), event_id.to_string());
    let (open, lines) = state
        .pool
        .run(move |log| {
            let open = log.open_decisions_of(&c, at)?;
            let lines = if open.is_empty() {
                Vec::new()
            } else {
                log.order_lines_between(&c, at, at)?
            };
            Ok((open, lines))
        })
        .await?;
    let Some(decision) = open.into_iter().next() else {
        return Ok(Attribution::None(format!(
            "no decision for this customer was open at the order's time {} (an order counts for \
             the latest decision made at or before it, within server.attribution_window_days = {}, \
             that has no outcome yet)",
            discount_core::Timestamp(at).to_rfc3339(),
            state.server().attribution_window_days
        )));
    };
    let lines: Vec<OrderLineFact> = lines.into_iter().filter(|l| l.event_id == e).collect();
    let now = state.clock.now().0;
    let Some(outcome) = reward_of_order(&decision, &lines, state.server().unknown_cost_ratio, now)
    else {
        return Ok(Attribution::None(
            "the order has no lines in the store".into(),
        ));
    };
    Ok(if record(state, &decision, outcome).await? {
        Attribution::To(decision.id)
    } else {
        Attribution::None(format!(
            "decision {} received its outcome at the same time from another request",
            decision.id
        ))
    })
}

/// Settles every decision whose window has closed: with its first order inside the window if
/// one came in some other way (e.g. `discount ingest`), else with the default reward. Returns
/// how many were settled.
pub async fn settle_due(state: &Shared) -> Result<usize, ApiError> {
    let now = state.clock.now().0;
    let mut settled = 0;
    loop {
        let due = state
            .pool
            .run(move |log| log.due_decisions(now, 200))
            .await?;
        if due.is_empty() {
            break;
        }
        let batch = due.len();
        for d in due {
            let (c, from, to) = (d.customer_id.clone(), d.at, d.attribution_deadline);
            let lines = state
                .pool
                .run(move |log| log.order_lines_between(&c, from, to))
                .await?;
            let outcome = reward_of_order(
                &d,
                first_order(&lines),
                state.server().unknown_cost_ratio,
                now,
            )
            .unwrap_or_else(|| OutcomeRow {
                decision_id: d.id.clone(),
                at: d.attribution_deadline,
                source: OutcomeSource::Default,
                event_id: None,
                converted: false,
                revenue: 0,
                discount: 0,
                profit: state.server().default_reward,
                charged: 0,
                recorded_at: now,
            });
            if record(state, &d, outcome).await? {
                settled += 1;
            }
        }
        if batch < 200 {
            break;
        }
    }
    let open = state.pool.run(|log| log.log_counts()).await?.1;
    state.metrics.open_decisions.set(open);
    Ok(settled)
}
