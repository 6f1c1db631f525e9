//! The streaming scan of the joined decision log gives exactly what `joined_decisions` gives, on
//! both backends: the same decisions in the same order, each with its outcome or none, within
//! `[from, to)`, and it stops when the visitor says so.

use std::ops::ControlFlow;

use discount_store::decision_log::{
    open_decision_log, DecisionLog, DecisionRow, Holds, OutcomeRow, OutcomeSource,
};

fn decision(i: i64) -> DecisionRow {
    DecisionRow {
        id: format!("d{i:02}"),
        idempotency_key: None,
        customer_id: format!("c{}", i % 4),
        // Two decisions share each instant, so ties are ordered by id.
        at: 1_000_000 * (i / 2),
        attribution_deadline: 1_000_000 * (i / 2) + 500,
        policy_version: "p".into(),
        offer: r#"{"kind":"no_offer"}"#.into(),
        propensity: 0.5,
        explored: i % 3 == 0,
        expected_profit: i,
        currency: "USD".into(),
        budget_id: None,
        reserved: 0,
        request: format!(r#"{{"features":[{i}.0]}}"#),
        response: "{}".into(),
        joined: false,
        offer_id: None,
    }
}

fn check(log: &mut dyn DecisionLog) {
    // Recorded out of time order: the scan must sort.
    let decisions: Vec<DecisionRow> = (0..20).rev().map(decision).collect();
    log.record_decisions(&decisions, Holds::Apply).unwrap();
    for i in (0..20).filter(|i| i % 3 != 1) {
        let d = decision(i);
        let outcome = OutcomeRow {
            decision_id: d.id.clone(),
            at: d.at + 100,
            source: if i % 2 == 0 {
                OutcomeSource::Order
            } else {
                OutcomeSource::Default
            },
            event_id: (i % 2 == 0).then(|| format!("e{i}")),
            converted: i % 2 == 0,
            revenue: 100 * i,
            discount: i,
            profit: 10 * i,
            charged: i,
            recorded_at: d.at + 200,
        };
        assert!(log.record_outcome(&outcome).unwrap());
    }
    for (from, to) in [(i64::MIN, i64::MAX), (2_000_000, 7_000_000), (50, 60)] {
        let expected = log.joined_decisions(from, to).unwrap();
        let mut scanned = Vec::new();
        let visited = log
            .scan_joined_decisions(from, to, &mut |d, o| {
                scanned.push((d, o));
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(visited as usize, scanned.len());
        assert_eq!(scanned, expected, "[{from}, {to})");
    }
    let all = log.joined_decisions(i64::MIN, i64::MAX).unwrap();
    assert_eq!(all.len(), 20);
    assert_eq!(all.iter().filter(|(_, o)| o.is_some()).count(), 13);
    assert_eq!(all[0].0.id, "d00");
    assert_eq!(all[1].0.id, "d01");
    assert_eq!(all[1].1, None);
    assert_eq!(all[2].1.as_ref().map(|o| o.revenue), Some(200));

    let mut seen = 0;
    let visited = log
        .scan_joined_decisions(i64::MIN, i64::MAX, &mut |_, _| {
            seen += 1;
            if seen == 5 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!((visited, seen), (5, 5));
}

#[test]
fn sqlite_scan_matches_the_joined_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let mut log = open_decision_log(path.to_str().unwrap()).unwrap();
    check(log.as_mut());
}

#[test]
fn postgres_scan_matches_the_joined_log() {
    let Some(url) = discount_store::postgres::scratch_schema_url("joined_scan").unwrap() else {
        return;
    };
    let mut log = open_decision_log(&url).unwrap();
    check(log.as_mut());
}
