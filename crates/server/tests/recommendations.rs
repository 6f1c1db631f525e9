//! `POST /v1/recommendations` through the real service, on SQLite and on PostgreSQL: a hand-made
//! one-factor model with known scores is registered and promoted, and the slates, offers,
//! exclusions, cold start, exploration propensity, the slate log and bad input are checked against
//! answers worked out by hand.

mod common;

use common::{expect_error, TestServer};
use discount_core::{Event, EventKind, Timestamp};
use discount_recommend::served::{RecommendArtifact, RECOMMEND_KIND};
use discount_recommend::{
    CatalogueItem, EventWeights, FactorModel, Interactions, Recommender, SlateSettings,
};
use discount_server::auth::Role;
use discount_store::model_registry::{content_hash, ModelRow, ModelStatus};

fn start() -> Timestamp {
    Timestamp::parse("start", common::START).unwrap()
}

/// Customers ann and bob; items cheap, dear, mid (in order of first view). One factor: ann 1.0,
/// bob 0.5; cheap 0.8, dear 1.0, mid 0.4. The training pairs score 0.8, 1.0, 0.5, 0.2, so the
/// scale (their 99th percentile) is 1.0.
fn artifact() -> String {
    let mut history = Interactions::new(EventWeights::default(), start()).unwrap();
    for (k, (user, item)) in [
        ("ann", "cheap"),
        ("ann", "dear"),
        ("bob", "mid"),
        ("bob", "dear"),
    ]
    .iter()
    .enumerate()
    {
        history.push(&Event {
            id: format!("v{k}"),
            user_id: user.to_string(),
            time: start().plus_days(-1.0),
            kind: EventKind::View {
                item_id: Some(item.to_string()),
            },
        });
    }
    let model = FactorModel {
        factors: 1,
        user_factors: vec![1.0, 0.5],
        item_factors: vec![0.8, 1.0, 0.4],
        item_bias: vec![],
    };
    let recommender = Recommender::from_factors(&history, model, &|_| None).unwrap();
    let item = |id: &str, category: &str, price: i64, cost: Option<i64>| CatalogueItem {
        id: id.into(),
        category: category.into(),
        price,
        unit_cost: cost,
        stock: None,
    };
    let artifact = RecommendArtifact {
        recommender,
        catalogue: vec![
            item("cheap", "a", 1000, Some(600)),
            item("dear", "b", 4000, Some(1000)),
            item("mid", "a", 2000, Some(1000)),
            // Never seen by the model: scores like its category-and-price neighbour `dear`.
            item("new", "b", 3500, None),
            item("gone", "b", 3000, Some(100)),
        ],
        settings: SlateSettings::default(),
        weights: EventWeights::default(),
        elasticity: 2.0,
    };
    let mut artifact = artifact;
    artifact.catalogue[4].stock = Some(0);
    serde_json::to_string(&artifact).unwrap()
}

fn register(s: &TestServer, id: &str, artifact: String) {
    let row = ModelRow {
        id: id.into(),
        kind: RECOMMEND_KIND.into(),
        feature_spec: None,
        window_from: None,
        window_to: None,
        training_rows: 4,
        metrics: "{}".into(),
        parent: None,
        created_at: 0,
        status: ModelStatus::Candidate,
        activated_seq: None,
        content_hash: content_hash(&artifact),
        artifact,
    };
    assert!(s
        .state
        .pool
        .with(move |log| log.register_model(&row))
        .unwrap());
}

fn items(r: &serde_json::Value) -> Vec<&str> {
    r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_id"].as_str().unwrap())
        .collect()
}

fn close(a: &serde_json::Value, b: f64) -> bool {
    (a.as_f64().unwrap() - b).abs() < 1e-9
}

fn recommendations(backend: &str) {
    let Some(s) = TestServer::start(backend, "recommend", 100_000) else {
        return;
    };
    let mut api = s.client();
    let (decide, admin) = (s.key(Role::Decide), s.key(Role::Admin));
    let ask = r#"{"customer_id":"ann","k":3}"#;
    // No model yet.
    let e = expect_error(&api.post("/v1/recommendations", &decide, ask), 503);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("recommend --register"),
        "{e}"
    );
    register(&s, "rec-1", artifact());
    let p = api.post("/v1/models/rec-1/promote", &admin, "");
    assert_eq!(p.status, 200, "{}", p.text());
    // The budget's shadow price is 0: offers pay when they add profit.
    let engine = s.state.policies.active().unwrap().engine.clone();
    engine.set_lambda(None, 0.0).unwrap();

    // Values (0.1 × score × margin): dear 300, new 105 (score 1.0 of `dear`, margin 30% of 3500),
    // mid 40, cheap 32; `gone` is out of stock.
    let r = api.post("/v1/recommendations", &decide, ask);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = r.json();
    assert_eq!(items(&r), ["dear", "new", "mid"]);
    assert_eq!(r["model_id"], "rec-1");
    assert_eq!(r["policy_version"], "test-v1");
    assert_eq!(r["source"]["kind"], "personal");
    assert_eq!(r["propensity"], 1.0);
    assert_eq!(r["excluded"]["out_of_stock"], 1);
    // dear at the top: p = 0.1; 5.00 off lifts it to 0.1 × (1 + 2 × 500 / 4000) = 0.125 and earns
    // 0.125 × 2500 − 0.1 × 3000 = 12.5 more.
    let top = &r["items"][0];
    assert_eq!(top["position"], 1);
    assert_eq!(top["offer"]["offer_id"], "amt500");
    assert_eq!(top["offer"]["discount"], 500);
    assert!(close(&top["offer"]["incremental_profit"], 12.5), "{top}");
    assert!(close(&top["purchase_probability"], 0.125), "{top}");
    assert!(close(&top["expected_profit"], 312.5), "{top}");
    // new and mid: 5.00 off loses money (0.0631 × (1.2857 × 550 − 1050) < 0; 0.03 × 500 − 0.02 × 1000 < 0).
    assert!(r["items"][1]["offer"].is_null() && r["items"][2]["offer"].is_null());
    assert!(close(&r["items"][2]["purchase_probability"], 0.02), "{r}");
    assert_eq!(r["offered_discount"], 500);

    // A shadow price of 1 makes every offer cost more than it adds.
    engine.set_lambda(None, 1.0).unwrap();
    let r = api.post("/v1/recommendations", &decide, ask).json();
    assert_eq!(r["shadow_price"], 1.0);
    assert!(r["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["offer"].is_null()));
    // Without offers asked for, none and no policy.
    let r = api
        .post(
            "/v1/recommendations",
            &decide,
            r#"{"customer_id":"ann","k":3,"offers":false}"#,
        )
        .json();
    assert!(r["policy_version"].is_null());

    // Exclusions by item and category.
    let r = api
        .post(
            "/v1/recommendations",
            &decide,
            r#"{"customer_id":"ann","k":3,"exclusions":{"items":["new"],"categories":["zzz"]}}"#,
        )
        .json();
    assert_eq!(items(&r), ["dear", "mid", "cheap"]);
    assert_eq!(r["excluded"]["excluded"], 1);

    // What ann just bought is left out (an order stored through the API a day ago).
    let order = format!(
        r#"{{"events":[{{"type":"order","id":"o1","user_id":"ann","time":"{}","order_id":"o1","lines":[{{"item_id":"dear","quantity":1,"list_price":4000,"paid":4000}}]}}]}}"#,
        start().plus_days(-1.0).to_rfc3339()
    );
    let ingest = api.post("/v1/events", &admin, &order);
    assert_eq!(ingest.status, 200, "{}", ingest.text());
    let r = api.post("/v1/recommendations", &decide, ask).json();
    assert_eq!(items(&r), ["new", "mid", "cheap"]);
    assert_eq!(r["excluded"]["just_bought"], 1);

    // A new customer: popularity (dear viewed twice, the others once; new scores like dear).
    let r = api
        .post(
            "/v1/recommendations",
            &decide,
            r#"{"customer_id":"zed","k":2,"context":{"segment":"mobile"}}"#,
        )
        .json();
    assert_eq!(r["source"]["kind"], "popularity");
    assert_eq!(items(&r), ["dear", "new"]);

    // Exploration: the logged propensity is the product of the slots' conditional ones.
    let r = api
        .post(
            "/v1/recommendations",
            &decide,
            r#"{"customer_id":"bob","k":3,"temperature":0.5}"#,
        )
        .json();
    let product: f64 = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["conditional_propensity"].as_f64().unwrap())
        .product();
    let propensity = r["propensity"].as_f64().unwrap();
    assert!(propensity > 0.0 && propensity < 1.0, "{r}");
    assert!((propensity - product).abs() < 1e-12, "{r}");

    // Every slate is in the log with its items and propensity.
    let logged = s
        .state
        .pool
        .with(|log| log.slates_of("bob", 0, 100))
        .unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].id, r["recommendation_id"].as_str().unwrap());
    assert_eq!(logged[0].model_id, "rec-1");
    assert_eq!(logged[0].propensity, propensity);
    let shown: Vec<String> = serde_json::from_str(&logged[0].items).unwrap();
    assert_eq!(shown, items(&r));
    let ann = s
        .state
        .pool
        .with(|log| log.slates_of("ann", 0, 100))
        .unwrap();
    assert_eq!(ann.len(), 5);

    // Bad input names the field; auth as the other /v1 routes.
    for (body, field) in [
        (r#"{"customer_id":"ann","k":0}"#, "k"),
        (r#"{"customer_id":"","k":3}"#, "customer_id"),
        (r#"{"customer_id":"ann","temperature":-1}"#, "temperature"),
        (r#"{"customer_id":"ann","colour":"red"}"#, ""),
    ] {
        let e = expect_error(&api.post("/v1/recommendations", &decide, body), 422);
        if !field.is_empty() {
            assert_eq!(e["field"], field, "{body}: {e}");
        }
    }
    expect_error(&api.post("/v1/recommendations", &decide, "{"), 400);
    expect_error(&api.call("POST", "/v1/recommendations", None, ask), 401);
    expect_error(
        &api.post("/v1/recommendations", &s.key(Role::Ingest), ask),
        403,
    );

    // A broken artifact is refused; the previous model keeps serving.
    register(&s, "rec-2", r#"{"recommender":{}}"#.to_string());
    assert_eq!(api.post("/v1/models/rec-2/promote", &admin, "").status, 200);
    let r = api.post("/v1/recommendations", &decide, ask).json();
    assert_eq!(r["model_id"], "rec-1");
}
on_both!(recommendations);
