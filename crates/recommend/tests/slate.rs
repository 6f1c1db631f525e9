//! Slates on hand-made data with known answers: exclusions, category caps, cold start, offers, and the logged
//! Plackett-Luce propensity checked against discount-eval's.

use discount_core::config::UnknownItems;
use discount_core::event::WireRecord;
use discount_core::{Event, EventKind, Offer, Record, Timestamp};
use discount_eval::ope::slate::PlackettLuce;
use discount_policy::offers::{Ladder, MarginFloor};
use discount_recommend::{
    Catalogue, CatalogueItem, EventWeights, Interactions, Learner, OfferSettings, Recommender,
    ScoreSource, Scratch, SlateBuilder, SlateRequest, SlateSettings,
};
use rand::SeedableRng;

fn now() -> Timestamp {
    Timestamp::from_date(2024, 6, 1).unwrap()
}

fn view(user: &str, item: &str, k: usize) -> Event {
    Event {
        id: format!("e{k}"),
        user_id: user.into(),
        time: now(),
        kind: EventKind::View {
            item_id: Some(item.into()),
        },
    }
}

fn item(id: &str, category: &str, price: i64, stock: Option<i64>) -> CatalogueItem {
    CatalogueItem {
        id: id.into(),
        category: category.into(),
        price,
        unit_cost: Some(price / 2),
        stock,
    }
}

/// Two tastes: customers c0..c9 view items a0..a3 (category a), d0..d9 view b0..b3 (category b); "gold"
/// customers are the b group.
fn two_tastes() -> Interactions {
    let mut x = Interactions::new(EventWeights::default(), now()).unwrap();
    let mut k = 0;
    for u in 0..10 {
        for i in 0..4 {
            // Popularity differs within a group: item 0 is viewed by everyone, item 3 by every other customer.
            if i == 3 && u % 2 == 1 {
                continue;
            }
            x.push(&view(&format!("c{u}"), &format!("a{i}"), k));
            x.push(&view(&format!("d{u}"), &format!("b{i}"), k + 1));
            k += 2;
        }
    }
    x
}

fn catalogue() -> Catalogue {
    let mut items = Vec::new();
    for i in 0..4 {
        items.push(item(&format!("a{i}"), "a", 1000, None));
        items.push(item(&format!("b{i}"), "b", 1000, None));
    }
    Catalogue::new(items).unwrap()
}

fn segment(user: &str) -> Option<String> {
    Some(
        if user.starts_with('d') {
            "gold"
        } else {
            "basic"
        }
        .to_string(),
    )
}

#[test]
fn a_customer_gets_their_taste_and_exclusions_hold() {
    let x = two_tastes();
    let model = Recommender::fit(&x, &Learner::default(), &segment).unwrap();
    let catalogue = catalogue();
    let settings = SlateSettings {
        category_cap: 10,
        ..SlateSettings::default()
    };
    let builder = SlateBuilder {
        recommender: &model,
        catalogue: &catalogue,
        history: Some(&x),
        settings: &settings,
        offers: None,
        catalogue_map: None,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let request = SlateRequest {
        user_id: "c3".into(),
        k: 4,
        now: Some(now()),
        ..Default::default()
    };
    let slate = builder
        .build(&request, &mut Scratch::default(), &mut rng)
        .unwrap();
    assert_eq!(slate.source, ScoreSource::Personal);
    let ids: Vec<&str> = slate.slots.iter().map(|s| s.item_id.as_str()).collect();
    assert!(ids.iter().all(|i| i.starts_with('a')), "{ids:?}");
    assert_eq!(slate.propensity, 1.0);
    // Expected profit falls down the slate (same margins, lower examination and scores).
    for w in slate.slots.windows(2) {
        assert!(
            w[0].expected_profit >= w[1].expected_profit,
            "{:?}",
            slate.slots
        );
    }

    // Exclusions: a0 excluded by the request, a1 out of stock.
    let mut items: Vec<CatalogueItem> = catalogue.items().to_vec();
    items[2].stock = Some(0); // a1
    let limited = Catalogue::new(items).unwrap();
    let builder = SlateBuilder {
        catalogue: &limited,
        ..builder
    };
    let request = SlateRequest {
        excluded_items: vec!["a0".into()],
        excluded_categories: vec!["b".into()],
        ..request
    };
    let slate = builder
        .build(&request, &mut Scratch::default(), &mut rng)
        .unwrap();
    let ids: Vec<&str> = slate.slots.iter().map(|s| s.item_id.as_str()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(!ids.contains(&"a0") && !ids.contains(&"a1"), "{ids:?}");
    assert_eq!(slate.excluded.out_of_stock, 1);
    assert_eq!(slate.excluded.excluded, 5);
}

#[test]
fn just_bought_items_are_left_out_and_categories_capped() {
    let mut x = two_tastes();
    let order: Record = serde_json::from_str::<WireRecord>(
        r#"{"type":"order","id":"o1","user_id":"c3","time":"2024-05-25","order_id":"o1",
            "lines":[{"item_id":"a0","quantity":1,"list_price":1000,"paid":1000}]}"#,
    )
    .unwrap()
    .into_record()
    .unwrap();
    let Record::Event(order) = order else {
        panic!("an order is an event")
    };
    x.push(&order);
    let model = Recommender::fit(&x, &Learner::default(), &segment).unwrap();
    let catalogue = catalogue();
    let settings = SlateSettings {
        category_cap: 2,
        ..SlateSettings::default()
    };
    let builder = SlateBuilder {
        recommender: &model,
        catalogue: &catalogue,
        history: Some(&x),
        settings: &settings,
        offers: None,
        catalogue_map: None,
    };
    let request = SlateRequest {
        user_id: "c3".into(),
        k: 4,
        now: Some(now()),
        ..Default::default()
    };
    let slate = builder
        .build(
            &request,
            &mut Scratch::default(),
            &mut rand::rngs::StdRng::seed_from_u64(1),
        )
        .unwrap();
    assert_eq!(slate.excluded.just_bought, 1);
    let categories: Vec<&str> = slate.slots.iter().map(|s| s.category.as_str()).collect();
    assert_eq!(
        categories.iter().filter(|c| **c == "a").count(),
        2,
        "{categories:?}"
    );
    assert_eq!(
        categories.iter().filter(|c| **c == "b").count(),
        2,
        "{categories:?}"
    );
    assert!(slate.slots.iter().all(|s| s.item_id != "a0"));
    // Bought 7 days ago: a rebuy window of 5 days lets it back in.
    let short = SlateSettings {
        rebuy_days: 5.0,
        ..settings.clone()
    };
    let slate = SlateBuilder {
        settings: &short,
        ..builder
    }
    .build(
        &request,
        &mut Scratch::default(),
        &mut rand::rngs::StdRng::seed_from_u64(1),
    )
    .unwrap();
    assert_eq!(slate.excluded.just_bought, 0);
}

#[test]
fn new_customers_get_their_segment_and_new_items_their_neighbours() {
    let x = two_tastes();
    let model = Recommender::fit(&x, &Learner::default(), &segment).unwrap();
    let mut items = catalogue().items().to_vec();
    // A new item of category b at a neighbouring price, and one of a category nobody has seen.
    items.push(item("b-new", "b", 900, None));
    items.push(item("z-new", "z", 1000, None));
    let catalogue = Catalogue::new(items).unwrap();
    let settings = SlateSettings {
        category_cap: 10,
        ..SlateSettings::default()
    };
    let builder = SlateBuilder {
        recommender: &model,
        catalogue: &catalogue,
        history: Some(&x),
        settings: &settings,
        offers: None,
        catalogue_map: None,
    };
    let request = SlateRequest {
        user_id: "someone-new".into(),
        segment: Some("gold".into()),
        k: 3,
        now: Some(now()),
        ..Default::default()
    };
    let slate = builder
        .build(
            &request,
            &mut Scratch::default(),
            &mut rand::rngs::StdRng::seed_from_u64(1),
        )
        .unwrap();
    assert_eq!(slate.source, ScoreSource::SegmentPopularity("gold".into()));
    // Gold customers viewed b0, b1, b2 ten times each, b3 five times: the top three are b0, b1, b2.
    let ids: Vec<&str> = slate.slots.iter().map(|s| s.item_id.as_str()).collect();
    assert_eq!(ids, ["b0", "b1", "b2"]);
    // The new b item scores the mean of its neighbours b0..b3 under the gold popularity: (1+1+1+0.5)/4.
    let mut buffer = Vec::new();
    let (scores, _) = model.catalogue_scores("someone-new", Some("gold"), &catalogue, &mut buffer);
    assert!((scores[8] - 0.875).abs() < 1e-9, "{scores:?}");
    assert_eq!(scores[9], 0.0);
    // Without a segment: overall popularity (a and b tie, so catalogue order decides).
    let request = SlateRequest {
        segment: None,
        ..request
    };
    let slate = builder
        .build(
            &request,
            &mut Scratch::default(),
            &mut rand::rngs::StdRng::seed_from_u64(1),
        )
        .unwrap();
    assert_eq!(slate.source, ScoreSource::Popularity);
}

#[test]
fn the_logged_propensity_is_the_plackett_luce_probability_of_the_shown_ranking() {
    let x = two_tastes();
    let model = Recommender::fit(&x, &Learner::default(), &segment).unwrap();
    let catalogue = catalogue();
    let settings = SlateSettings {
        category_cap: 10,
        ..SlateSettings::default()
    };
    let builder = SlateBuilder {
        recommender: &model,
        catalogue: &catalogue,
        history: None,
        settings: &settings,
        offers: None,
        catalogue_map: None,
    };
    let temperature = 0.5;
    let request = SlateRequest {
        user_id: "newcomer".into(),
        segment: Some("basic".into()),
        k: 3,
        temperature: Some(temperature),
        ..Default::default()
    };
    // The pool's values under basic popularity: the same logits discount-eval would compute.
    let mut buffer = Vec::new();
    let (scores, _) = model.catalogue_scores("newcomer", Some("basic"), &catalogue, &mut buffer);
    let values: Vec<f64> = scores
        .iter()
        .map(|s| settings.base_purchase_rate * s.clamp(0.0, 1.0) * 500.0)
        .collect();
    let top = values.iter().copied().fold(0.0, f64::max);
    let logits: Vec<f64> = values.iter().map(|v| v / (top * temperature)).collect();
    let pl = PlackettLuce::new(&logits).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let mut seen_different = false;
    let mut first = None;
    for _ in 0..50 {
        let slate = builder
            .build(&request, &mut Scratch::default(), &mut rng)
            .unwrap();
        let ranking: Vec<usize> = slate
            .slots
            .iter()
            .map(|s| {
                catalogue
                    .items()
                    .iter()
                    .position(|i| i.id == s.item_id)
                    .unwrap()
            })
            .collect();
        let expected = pl.ranking_probability(&ranking).unwrap();
        assert!(
            (slate.propensity - expected).abs() < 1e-12 * expected.max(1.0),
            "{} vs {expected}",
            slate.propensity
        );
        let product: f64 = slate
            .slots
            .iter()
            .map(|s| s.conditional_propensity)
            .product();
        assert!((product - slate.propensity).abs() < 1e-15);
        seen_different |= first.as_ref().is_some_and(|f| *f != ranking);
        first.get_or_insert(ranking);
    }
    assert!(seen_different, "exploration must vary the ranking");
}

#[test]
fn offers_go_where_they_earn_more_than_their_shadow_cost() {
    let x = two_tastes();
    let model = Recommender::fit(&x, &Learner::default(), &segment).unwrap();
    let catalogue = catalogue();
    let settings = SlateSettings::default();
    let offers = |shadow_price| OfferSettings {
        ladder: Ladder::from_offers(
            &[Offer::NoOffer, Offer::PercentOff { percent: 10.0 }],
            10_000,
        )
        .unwrap(),
        shadow_price,
        elasticity: 8.0,
        margin_floor: MarginFloor::default(),
    };
    let request = SlateRequest {
        user_id: "c1".into(),
        k: 3,
        ..Default::default()
    };
    let cheap = offers(0.0);
    let slate = SlateBuilder {
        recommender: &model,
        catalogue: &catalogue,
        history: None,
        settings: &settings,
        offers: Some(&cheap),
        catalogue_map: None,
    }
    .build(
        &request,
        &mut Scratch::default(),
        &mut rand::rngs::StdRng::seed_from_u64(1),
    )
    .unwrap();
    // 10% off (100) with elasticity 8 lifts p by 80%: 1.8 p × 400 − p × 500 = 220 p > 0 on every slot.
    assert!(
        slate.slots.iter().all(|s| s.offer.is_some()),
        "{:?}",
        slate.slots
    );
    assert_eq!(slate.offered_discount, 300);
    // λ = 3: 220 p − 3 × 1.8 p × 100 = −320 p < 0: no offers.
    let dear = offers(3.0);
    let slate = SlateBuilder {
        recommender: &model,
        catalogue: &catalogue,
        history: None,
        settings: &settings,
        offers: Some(&dear),
        catalogue_map: None,
    }
    .build(
        &request,
        &mut Scratch::default(),
        &mut rand::rngs::StdRng::seed_from_u64(1),
    )
    .unwrap();
    assert!(slate.slots.iter().all(|s| s.offer.is_none()));
    // A budget of 150 pays for one offer only.
    let slate = SlateBuilder {
        recommender: &model,
        catalogue: &catalogue,
        history: None,
        settings: &settings,
        offers: Some(&cheap),
        catalogue_map: None,
    }
    .build(
        &SlateRequest {
            budget_left: Some(150),
            ..request
        },
        &mut Scratch::default(),
        &mut rand::rngs::StdRng::seed_from_u64(1),
    )
    .unwrap();
    assert_eq!(slate.offered_discount, 100);
}

#[test]
fn training_reads_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = discount_store::open(&format!(
        "sqlite://{}",
        dir.path().join("s.sqlite").display()
    ))
    .unwrap();
    let records: Vec<Record> = [
        r#"{"type":"view","id":"v1","user_id":"u1","time":"2024-05-01","item_id":"i1"}"#,
        r#"{"type":"add_to_cart","id":"c1","user_id":"u1","time":"2024-05-02","item_id":"i2","quantity":2}"#,
        r#"{"type":"view","id":"v2","user_id":"u2","time":"2024-05-03","item_id":"i1"}"#,
        r#"{"type":"view","id":"v3","user_id":"u2","time":"2024-07-03","item_id":"i3"}"#,
    ]
    .iter()
    .map(|j| serde_json::from_str::<WireRecord>(j).unwrap().into_record().unwrap())
    .collect();
    store.write_batch(&records, UnknownItems::Register).unwrap();
    let x = Interactions::from_store(store.as_mut(), EventWeights::default(), now()).unwrap();
    // The July view is after as_of.
    assert_eq!(x.events_used(), 3);
    assert_eq!(x.len(), 3);
    assert!(x.item_index("i3").is_none());
    let (u1, i2) = (x.user_index("u1").unwrap(), x.item_index("i2").unwrap());
    // A cart of 2 units 30 days before as_of: 3 × 2 × 0.5^(30/90).
    let expected = 6.0 * 0.5f64.powf(30.0 / 90.0);
    assert!((x.strength(u1, i2) - expected).abs() < 1e-9);
}
