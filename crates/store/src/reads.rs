//! Reading events back: one user's history, a streaming scan of all events, and item categories,
//! with the same SQL and decoding on both backends.

use discount_core::{Event, EventKind, Timestamp};

use crate::StoreError;

pub const EVENTS_OF_USER: &str =
    "SELECT id, user_id, at, payload FROM events WHERE user_id = $1 ORDER BY at, id";

/// Grouped by user, each user's events oldest first: profiles can be built one user at a time.
pub const ALL_EVENTS: &str = "SELECT id, user_id, at, payload FROM events ORDER BY user_id, at, id";

/// Rebuilds an event from its stored columns; the payload is the JSON of its kind.
pub fn decode(id: String, user_id: String, at: i64, payload: &str) -> Result<Event, StoreError> {
    let kind: EventKind =
        serde_json::from_str(payload).map_err(|source| StoreError::StoredEvent {
            id: id.clone(),
            source,
        })?;
    Ok(Event {
        id,
        user_id,
        time: Timestamp(at),
        kind,
    })
}
