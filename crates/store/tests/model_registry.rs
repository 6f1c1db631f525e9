//! The model registry on both backends: register, promote, roll back, reject.

use discount_store::decision_log::{open_decision_log, DecisionLog};
use discount_store::model_registry::{ModelRow, ModelStatus};

fn row(id: &str, kind: &str, at: i64) -> ModelRow {
    ModelRow {
        id: id.into(),
        kind: kind.into(),
        feature_spec: Some("profile-v1+abc".into()),
        window_from: Some(0),
        window_to: Some(at),
        training_rows: 100,
        metrics: r#"{"auc":0.7}"#.into(),
        parent: None,
        created_at: at,
        status: ModelStatus::Candidate,
        activated_seq: None,
        content_hash: format!("hash-{id}"),
        artifact: format!(r#"{{"id":"{id}"}}"#),
    }
}

fn status(log: &mut dyn DecisionLog, id: &str) -> ModelStatus {
    log.model(id).unwrap().unwrap().status
}

fn registry_behaves(log: &mut dyn DecisionLog) {
    assert!(log.register_model(&row("a", "uplift", 1)).unwrap());
    assert!(
        !log.register_model(&row("a", "uplift", 1)).unwrap(),
        "ids are unique"
    );
    assert!(log.register_model(&row("b", "uplift", 2)).unwrap());
    assert!(log.register_model(&row("c", "uplift", 3)).unwrap());
    assert!(log.register_model(&row("p", "propensity", 4)).unwrap());
    assert!(log.active_model("uplift").unwrap().is_none());
    assert_eq!(log.roll_back_model("uplift").unwrap(), None);

    assert!(!log.promote_model("nope").unwrap());
    assert!(log.promote_model("a").unwrap());
    assert!(log.promote_model("p").unwrap());
    assert!(log.promote_model("b").unwrap());
    assert_eq!(log.active_model("uplift").unwrap().unwrap().id, "b");
    assert_eq!(log.active_model_id("uplift").unwrap().as_deref(), Some("b"));
    assert_eq!(log.active_model_id("ltv").unwrap(), None);
    assert_eq!(status(log, "a"), ModelStatus::Retired);
    // Another kind's active model is not touched.
    assert_eq!(log.active_model("propensity").unwrap().unwrap().id, "p");

    // A gate refuses c: it is kept, but cannot be promoted by a roll-back.
    assert!(log.reject_model("c").unwrap());
    assert!(
        !log.reject_model("b").unwrap(),
        "only candidates are rejected"
    );
    assert_eq!(status(log, "c"), ModelStatus::Rejected);

    // Roll back: a is active again, b leaves the history; a second roll-back has nowhere to go.
    assert_eq!(log.roll_back_model("uplift").unwrap().as_deref(), Some("a"));
    assert_eq!(log.active_model("uplift").unwrap().unwrap().id, "a");
    assert_eq!(status(log, "b"), ModelStatus::Candidate);
    assert_eq!(log.roll_back_model("uplift").unwrap(), None);
    assert_eq!(log.active_model("uplift").unwrap().unwrap().id, "a");

    let all: Vec<String> = log
        .models(None)
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(all, ["a", "b", "c", "p"]);
    let uplift = log.models(Some("uplift")).unwrap();
    assert_eq!(uplift.len(), 3);
    let a = log.model("a").unwrap().unwrap();
    assert_eq!(a.artifact, r#"{"id":"a"}"#);
    assert_eq!(a.metrics, r#"{"auc":0.7}"#);
    assert_eq!(a.window_to, Some(1));
}

#[test]
fn registry_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.sqlite").display());
    let mut log = open_decision_log(&url).unwrap();
    registry_behaves(log.as_mut());
}

#[test]
fn registry_on_postgres() {
    let Some(url) = discount_store::postgres::scratch_schema_url("registry").unwrap() else {
        return;
    };
    let mut log = open_decision_log(&url).unwrap();
    registry_behaves(log.as_mut());
}
