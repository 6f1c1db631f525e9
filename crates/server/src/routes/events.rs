//! `POST /v1/events`: a batch of records (users, items, events) with the same fields and the
//! same validation as `discount ingest` (see docs/ingest.md), stored in one transaction; each
//! record's result is reported, and a stored order is attributed to its customer's open decision.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use discount_core::Record;
use discount_ingest::source::Location;
use discount_store::Outcome;
use serde::{Deserialize, Serialize};

use crate::app::{json, Shared};
use crate::auth::Role;
use crate::error::{parse_json, ApiError, ApiResult, ErrorBody};
use axum::extract::rejection::BytesRejection;

/// Most records in one request.
pub const MAX_EVENTS: usize = 10_000;

/// A batch of records, stored in one transaction.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsBody {
    /// Users, items and events, each an object with a `type` (`user`, `item`, `view`, `click`,
    /// `add_to_cart`, `order`, `refund`, `review`, `offer_shown`, `coupon_issued`,
    /// `coupon_redeemed`, `session`) and that type's fields, as `discount ingest` reads them
    /// (docs/ingest.md). Times may be RFC 3339, RFC 2822, a date, or Unix seconds,
    /// milliseconds or microseconds. At most 10,000 records.
    #[schema(value_type = Vec<Object>, max_items = 10000)]
    pub events: Vec<serde_json::Value>,
}

/// What became of one record of the batch.
#[derive(Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct EventResult {
    /// The record's position in `events`.
    pub index: usize,
    /// `stored`, `duplicate` or `rejected`.
    #[schema(value_type = crate::openapi::EventStatusSchema)]
    pub status: &'static str,
    /// The field at fault of a rejected record (`events[3].time`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why a record was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The decision an order was attributed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributed_to: Option<String>,
    /// Why a stored order was attributed to no decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_attributed: Option<String>,
}

/// What became of a batch: counts, and one result per record in order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventsReport {
    pub received: usize,
    pub stored: usize,
    /// Records stored before (same id): not stored again.
    pub duplicates: usize,
    pub rejected: usize,
    pub results: Vec<EventResult>,
}

#[utoipa::path(
    post,
    path = "/v1/events",
    tag = "events",
    summary = "Store a batch of users, items and events; orders are attributed to open decisions (role ingest)",
    request_body = EventsBody,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Each record's result; a rejected record does not reject the batch", body = EventsReport),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 413, description = "The body is over server.body_limit_bytes", body = ErrorBody),
        (status = 422, description = "`events` is missing, not a list, or longer than 10,000", body = ErrorBody),
    )
)]
pub async fn ingest(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    run(&state, &headers, &body?).await
}

async fn run(state: &Shared, headers: &HeaderMap, body: &[u8]) -> ApiResult {
    let caller = state.caller(headers).await?;
    caller.require(Role::Ingest)?;
    let body: EventsBody = parse_json(body)?;
    if body.events.len() > MAX_EVENTS {
        return Err(ApiError::field(
            "events",
            format!(
                "`events` holds at most {MAX_EVENTS} records per request (got {})",
                body.events.len()
            ),
        ));
    }
    let texts: Vec<String> = body.events.iter().map(|raw| raw.to_string()).collect();
    let mut results = write_records(state, &texts).await?;
    for r in &mut results {
        r.field = r.field.take().map(|f| format!("events[{}].{f}", r.index));
    }
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    let report = EventsReport {
        received: results.len(),
        stored: count("stored"),
        duplicates: count("duplicate"),
        rejected: count("rejected"),
        results,
    };
    Ok(json(&report))
}

/// The one way records enter the store from the service (`POST /v1/events` and the NATS intake):
/// each text is one record as `discount ingest` reads a JSON line, validated the same way,
/// customer ids mapped, all of them written in one transaction; stored orders are then
/// attributed to their customers' open decisions, and `discount_events_total` counts the results.
/// Returns one result per text, in order; `index` is the text's position and `field` the path
/// inside the record (the caller adds where the record came from).
pub async fn write_records(state: &Shared, texts: &[String]) -> Result<Vec<EventResult>, ApiError> {
    let mut results: Vec<Option<EventResult>> = Vec::with_capacity(texts.len());
    let mut records = Vec::new();
    let mut positions = Vec::new();
    for (index, text) in texts.iter().enumerate() {
        let location = Location {
            file: "events".into(),
            line: index as u64,
        };
        match discount_ingest::jsonl::parse_line(text, location) {
            Ok((_, mut record)) => {
                state.customer_ids.map_record(&mut record);
                records.push(record);
                positions.push(index);
                results.push(None);
            }
            Err(e) => results.push(Some(EventResult {
                index,
                status: "rejected",
                field: e.field,
                reason: Some(e.reason),
                attributed_to: None,
                not_attributed: None,
            })),
        }
    }
    let store = Arc::clone(&state.events);
    let unknown_items = state.config.ingest.unknown_items;
    let (records, outcomes) = tokio::task::spawn_blocking(move || {
        let mut s = store.lock().unwrap_or_else(|e| e.into_inner());
        let outcomes = if records.is_empty() {
            Ok(Vec::new())
        } else {
            s.write_batch(&records, unknown_items)
        };
        (records, outcomes)
    })
    .await?;
    let outcomes = outcomes?;
    let mut orders = Vec::new();
    let mut stored_events = Vec::new();
    for ((record, index), outcome) in records.iter().zip(&positions).zip(outcomes) {
        let (status, field, reason) = match outcome {
            Outcome::Stored => {
                if let Record::Event(e) = record {
                    if matches!(e.kind, discount_core::EventKind::Order { .. }) {
                        orders.push((*index, e.user_id.clone(), e.id.clone(), e.time.0));
                    }
                    stored_events.push(e.clone());
                }
                ("stored", None, None)
            }
            Outcome::Duplicate => ("duplicate", None, None),
            Outcome::Rejected { field, reason } => ("rejected", Some(field), Some(reason)),
        };
        results[*index] = Some(EventResult {
            index: *index,
            status,
            field,
            reason,
            attributed_to: None,
            not_attributed: None,
        });
    }
    crate::profiles::events_stored(state, stored_events).await;
    for (index, user, event_id, at) in orders {
        let attribution = crate::join::attribute_order(state, &user, &event_id, at).await?;
        if let Some(Some(r)) = results.get_mut(index) {
            match attribution {
                crate::join::Attribution::To(decision) => r.attributed_to = Some(decision),
                crate::join::Attribution::None(why) => r.not_attributed = Some(why),
            }
        }
    }
    let results: Vec<EventResult> = results.into_iter().flatten().collect();
    for label in ["stored", "duplicate", "rejected"] {
        let n = results.iter().filter(|r| r.status == label).count();
        state
            .metrics
            .events
            .with_label_values(&[label])
            .inc_by(n as u64);
    }
    Ok(results)
}
