//! Pagination of every list endpoint: `?limit=` (default [`DEFAULT_LIMIT`], at most
//! [`MAX_LIMIT`]) and `?cursor=` (opaque, from the previous page's `next_cursor`); the answer is
//! `{"items": [...], "next_cursor": "..." | null}`.
//!
//! Items are ordered by a unique key (creation time, then id) and a cursor names the last key
//! handed out, so a walk over the pages returns every item exactly once, even while items are
//! added (a new item shows on a later page when its key sorts after the cursor).

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use utoipa::IntoParams;

use crate::error::{query_params, ApiError};

/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// The most items one page holds.
pub const MAX_LIMIT: usize = 1_000;

/// The query parameters of a list endpoint, as documented.
#[derive(Debug, Clone, Default, PartialEq, Eq, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<usize>,
    /// Opaque: the `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
}

/// Where a page starts and how long it is, read from the query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    /// The key of the last item already handed out.
    pub after: Option<(i64, String)>,
}

impl PageRequest {
    /// Reads `limit` and `cursor` (and the names in `extra`, returned with their values); any
    /// other parameter, a bad limit or a cursor this service did not write is a 400 naming it.
    pub fn from_query(
        query: Result<Query<Vec<(String, String)>>, QueryRejection>,
        extra: &[&str],
    ) -> Result<(Self, std::collections::BTreeMap<String, String>), ApiError> {
        let mut allowed = vec!["limit", "cursor"];
        allowed.extend_from_slice(extra);
        let mut params = query_params(query, &allowed)?;
        let limit = match params.remove("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::query(
                        "limit",
                        format!(
                            "`limit` must be a whole number from 1 to {MAX_LIMIT} (got `{text}`)"
                        ),
                    )
                })?,
        };
        let after = match params.remove("cursor") {
            None => None,
            Some(text) => Some(decode_cursor(&text).ok_or_else(|| {
                ApiError::query(
                    "cursor",
                    "`cursor` is not a cursor this service wrote; pass the `next_cursor` of the \
                     previous page unchanged, or leave it out for the first page",
                )
            })?),
        };
        Ok((Self { limit, after }, params))
    }
}

/// One page of `items` (in any order) under `request`, ordered by `key` (unique per item), and
/// the cursor of the next page when more items follow.
pub fn paginate<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> (i64, String),
    request: &PageRequest,
) -> (Vec<T>, Option<String>) {
    items.sort_by_cached_key(&key);
    let start = request
        .after
        .as_ref()
        .map_or(0, |after| items.partition_point(|item| key(item) <= *after));
    let mut page: Vec<T> = items.into_iter().skip(start).collect();
    let more = page.len() > request.limit;
    page.truncate(request.limit);
    let next = more
        .then(|| page.last().map(|last| encode_cursor(&key(last))))
        .flatten();
    (page, next)
}

const CURSOR_VERSION: &str = "c1";

fn encode_cursor((at, id): &(i64, String)) -> String {
    hex::encode(format!("{CURSOR_VERSION}:{at}:{id}"))
}

fn decode_cursor(text: &str) -> Option<(i64, String)> {
    let bytes = hex::decode(text.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix(CURSOR_VERSION)?.strip_prefix(':')?;
    let (at, id) = rest.split_once(':')?;
    Some((at.parse().ok()?, id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(items: &[(i64, &str)], limit: usize) -> Vec<(i64, String)> {
        let owned: Vec<(i64, String)> = items.iter().map(|(t, s)| (*t, s.to_string())).collect();
        let mut seen = Vec::new();
        let mut request = PageRequest { limit, after: None };
        loop {
            let (page, next) = paginate(owned.clone(), |x| x.clone(), &request);
            assert!(page.len() <= limit);
            seen.extend(page);
            match next {
                Some(cursor) => request.after = Some(decode_cursor(&cursor).unwrap()),
                None => return seen,
            }
        }
    }

    #[test]
    fn every_item_once_in_key_order_for_every_limit() {
        let items = [
            (5, "b"),
            (1, "z"),
            (5, "a"),
            (3, "c:d"),
            (-2, "e"),
            (3, "c"),
        ];
        let mut sorted: Vec<(i64, String)> =
            items.iter().map(|(t, s)| (*t, s.to_string())).collect();
        sorted.sort();
        for limit in 1..=7 {
            assert_eq!(walk(&items, limit), sorted, "limit {limit}");
        }
        assert!(walk(&[], 3).is_empty());
    }

    #[test]
    fn cursors_round_trip_and_foreign_text_is_refused() {
        let key = (1_767_571_200_000_000, "policy:v2".to_string());
        assert_eq!(decode_cursor(&encode_cursor(&key)), Some(key));
        for bad in [
            "",
            "zz",
            "00",
            &hex::encode("c2:1:a"),
            &hex::encode("c1:x:a"),
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
