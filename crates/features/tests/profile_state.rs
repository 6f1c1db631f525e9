//! A profile state kept up to date one event at a time answers exactly what the rebuild from the
//! whole history answers, at any time from its latest event on: the same profile and the same
//! feature vector, whatever the order the events arrived in, whichever items the catalogue knew
//! when they arrived, and after a round trip through its JSON.

use discount_core::event::OrderLine;
use discount_core::time::MICROS_PER_DAY;
use discount_core::{Currency, Event, EventKind, Offer, Timestamp};
use discount_features::{point_in_time, Catalog, FeatureError, ProfileState};
use proptest::prelude::*;

/// 2024-01-01T00:00:00Z.
const START: i64 = 1_704_067_200_000_000;

const ITEMS: [&str; 6] = ["shoe", "boot", "hat", "cd", "lamp", "sock"];

/// The catalogue as of the decision: every item but `sock` is known.
fn full_catalog() -> Catalog {
    [
        ("shoe", "shoes"),
        ("boot", "shoes"),
        ("hat", "hats"),
        ("cd", "music"),
        ("lamp", "home"),
    ]
    .into_iter()
    .collect()
}

fn item() -> impl Strategy<Value = String> {
    prop::sample::select(&ITEMS[..]).prop_map(str::to_string)
}

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["USD", "EUR"])
        .prop_map(|c| Currency::parse("currency", c).expect("a valid code"))
}

fn line() -> impl Strategy<Value = OrderLine> {
    (item(), 1u32..4, 0i64..20_000, 0i64..3_000, 0i64..3_000).prop_map(
        |(item_id, quantity, paid, retail_discount, coupon_discount)| OrderLine {
            item_id,
            quantity,
            list_price: paid + retail_discount + coupon_discount,
            paid,
            retail_discount,
            coupon_discount,
        },
    )
}

fn kind() -> impl Strategy<Value = EventKind> {
    let coupon = || prop::sample::select(vec!["k1", "k2", "k3"]).prop_map(str::to_string);
    prop_oneof![
        4 => prop::option::of(item()).prop_map(|item_id| EventKind::View { item_id }),
        1 => prop::option::of(item()).prop_map(|item_id| EventKind::Click { item_id, decision_id: None }),
        2 => (item(), 1u32..3).prop_map(|(item_id, quantity)| EventKind::AddToCart { item_id, quantity }),
        3 => (currency(), prop::collection::vec(line(), 1..4)).prop_map(|(currency, lines)| EventKind::Order {
            order_id: "o".into(),
            currency,
            lines,
        }),
        1 => (currency(), 0i64..5_000, prop::option::of(item())).prop_map(|(currency, amount, item_id)| {
            EventKind::Refund { order_id: "o".into(), currency, amount, item_id }
        }),
        1 => (item(), 1u8..6).prop_map(|(item_id, rating)| EventKind::Review { item_id, rating, text: None }),
        1 => coupon().prop_map(|coupon_id| EventKind::CouponIssued {
            coupon_id,
            decision_id: None,
            offer: Offer::AmountOff { amount: 500, min_spend: 0 },
            expires_at: None,
        }),
        1 => (coupon(), currency()).prop_map(|(coupon_id, currency)| EventKind::CouponRedeemed {
            coupon_id,
            order_id: None,
            currency,
            amount: 500,
        }),
    ]
}

/// Event times: spread over 400 days, with many on whole days and some equal, so that window
/// edges (an event exactly 7, 30 or 90 days before the snapshot) come up often.
fn time() -> impl Strategy<Value = i64> {
    prop_oneof![
        (0i64..400).prop_map(|d| START + d * MICROS_PER_DAY),
        (0i64..400 * MICROS_PER_DAY).prop_map(|t| START + t),
    ]
}

fn history() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec((time(), kind()), 0..60).prop_map(|events| {
        events
            .into_iter()
            .enumerate()
            .map(|(i, (t, kind))| Event {
                id: format!("e{i}"),
                user_id: "u1".into(),
                time: Timestamp(t),
                kind,
            })
            .collect()
    })
}

/// Snapshot times after the latest event: whole days later (window edges), or any microsecond.
fn later() -> impl Strategy<Value = i64> {
    prop_oneof![
        prop::sample::select(vec![0i64, 1, 7, 30, 90, 91]).prop_map(|d| d * MICROS_PER_DAY),
        0i64..120 * MICROS_PER_DAY,
    ]
}

fn sorted(events: &[Event]) -> Vec<Event> {
    let mut by_time = events.to_vec();
    by_time.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
    by_time
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Events applied in a shuffled order, some items unknown to the catalogue when applied,
    /// snapshots taken along the way; then the state is recategorised, written to JSON and read
    /// back, and asked at a later time.
    #[test]
    fn the_incremental_state_equals_the_rebuild(
        (events, shuffled) in history().prop_flat_map(|e| (Just(e.clone()), Just(e).prop_shuffle())),
        unknown_at_arrival in prop::collection::vec(any::<bool>(), ITEMS.len()),
        later in later(),
        checks in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let full = full_catalog();
        // The catalogue as events arrive: some items are not in it yet.
        let arriving: Catalog = ITEMS
            .iter()
            .zip(&unknown_at_arrival)
            .filter(|(item, unknown)| !**unknown && full.category(item) != "unknown")
            .map(|(item, _)| (*item, full.category(item)))
            .collect();
        let checkpoints: Vec<usize> = checks.iter().map(|c| c.index(shuffled.len() + 1)).collect();
        let mut state = ProfileState::new("u1");
        for (n, e) in shuffled.iter().enumerate() {
            state.apply(e, &arriving).unwrap();
            if checkpoints.contains(&(n + 1)) {
                // Mid-stream: the state so far equals the rebuild of the events so far (through the
                // catalogue they were applied with), at their latest time.
                let so_far = &shuffled[..=n];
                let now = state.latest_event().unwrap();
                let (expected, expected_vector) =
                    point_in_time("u1", &sorted(so_far), &arriving, now).unwrap();
                let (profile, vector) = state.point_in_time(now).unwrap();
                prop_assert_eq!(&profile, &expected);
                prop_assert_eq!(&vector, &expected_vector);
            }
        }
        state.recategorise(&full);
        let state = ProfileState::from_json(&state.to_json().unwrap()).unwrap();

        let latest = events.iter().map(|e| e.time.0).max().unwrap_or(START);
        let now = Timestamp(latest + later);
        let (expected, expected_vector) = point_in_time("u1", &sorted(&events), &full, now).unwrap();
        let (profile, vector) = state.point_in_time(now).unwrap();
        prop_assert_eq!(&profile, &expected);
        prop_assert_eq!(&vector, &expected_vector);
        // And the state equals the rebuild itself, not only its answers.
        let rebuilt = ProfileState::rebuild("u1", &sorted(&events), &full).unwrap();
        prop_assert_eq!(&state, &rebuilt);
    }
}

#[test]
fn a_snapshot_before_the_latest_event_is_refused() {
    let mut state = ProfileState::new("u1");
    let view = Event {
        id: "v".into(),
        user_id: "u1".into(),
        time: Timestamp(START),
        kind: EventKind::View { item_id: None },
    };
    state.apply(&view, &Catalog::default()).unwrap();
    let e = state.snapshot(Timestamp(START - 1)).unwrap_err();
    assert!(
        matches!(e, FeatureError::SnapshotBeforeEvents { .. }),
        "{e}"
    );
    let other = Event {
        user_id: "u2".into(),
        ..view
    };
    assert!(matches!(
        state.apply(&other, &Catalog::default()),
        Err(FeatureError::WrongUser { .. })
    ));
}

#[test]
fn the_json_is_compact_and_checked() {
    let mut state = ProfileState::new("u1");
    for d in 0..30 {
        let view = Event {
            id: format!("v{d}"),
            user_id: "u1".into(),
            time: Timestamp(START + d * MICROS_PER_DAY),
            kind: EventKind::View {
                item_id: Some("hat".into()),
            },
        };
        state.apply(&view, &full_catalog()).unwrap();
    }
    let json = state.to_json().unwrap();
    // The 30 window times written absolutely (16 digits and a comma each) would take 510
    // bytes alone; as differences they are one day (11 digits) each after the first.
    assert!(json.len() < 480, "{} bytes: {json}", json.len());
    assert_eq!(ProfileState::from_json(&json).unwrap(), state);
    let unordered = json.replacen("86400000000", "-86400000000", 1);
    assert!(matches!(
        ProfileState::from_json(&unordered),
        Err(FeatureError::StateEncoding(_))
    ));
}
