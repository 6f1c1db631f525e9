//! The privacy budget ledger on both backends: nothing is released from a data set without a
//! budget, releases add up, the one that would overspend is refused and not recorded, and two
//! processes spending at once cannot both take the last share.

use discount_store::decision_log::{open_decision_log, DecisionLog};
use discount_store::privacy_budget::{PrivacyRelease, Spend};

fn release(id: &str, epsilon: f64, delta: f64) -> PrivacyRelease {
    PrivacyRelease {
        id: id.into(),
        dataset: "decisions".into(),
        released_at: 1_000,
        mechanism: if delta > 0.0 { "gaussian" } else { "laplace" }.into(),
        epsilon,
        delta,
        query: "offers".into(),
    }
}

fn ledger_behaves(log: &mut dyn DecisionLog) {
    assert_eq!(
        log.spend_privacy_budget(&release("r0", 0.1, 0.0)).unwrap(),
        Spend::NoBudget
    );
    assert!(log.privacy_budget("decisions").unwrap().is_none());
    log.set_privacy_budget("decisions", 1.0, 1e-6, 10).unwrap();

    for (i, eps) in [0.3, 0.3, 0.4].iter().enumerate() {
        match log
            .spend_privacy_budget(&release(&format!("r{}", i + 1), *eps, 0.0))
            .unwrap()
        {
            Spend::Spent { budget } => assert_eq!(budget.releases, i as i64 + 1),
            other => panic!("release {i} refused: {other:?}"),
        }
    }
    // 0.3 + 0.3 + 0.4 = 1.0 exactly (within rounding): nothing is left.
    let Spend::Exceeded { budget } = log.spend_privacy_budget(&release("r4", 0.01, 0.0)).unwrap()
    else {
        panic!("an overspend was accepted");
    };
    assert!(budget.remaining_epsilon() < 1e-9, "{budget:?}");
    assert_eq!(log.privacy_releases("decisions").unwrap().len(), 3);

    // δ is tracked too: raising ε does not let δ overspend.
    log.set_privacy_budget("decisions", 2.0, 1e-6, 20).unwrap();
    assert!(matches!(
        log.spend_privacy_budget(&release("r5", 0.1, 2e-6)).unwrap(),
        Spend::Exceeded { .. }
    ));
    let Spend::Spent { budget } = log.spend_privacy_budget(&release("r6", 0.5, 1e-6)).unwrap()
    else {
        panic!("a release within both budgets was refused");
    };
    assert!((budget.spent_epsilon - 1.5).abs() < 1e-12);
    assert!((budget.spent_delta - 1e-6).abs() < 1e-18);
    assert_eq!(budget.releases, 4);
    // Other data sets have their own budget.
    assert!(log.privacy_budget("events").unwrap().is_none());
}

/// Ten threads, each with its own connection, try to spend 0.2 of a budget of 1.0 at once:
/// exactly five succeed.
fn concurrent_spenders_cannot_overspend(url: &str) {
    let mut log = open_decision_log(url).unwrap();
    log.set_privacy_budget("decisions", 1.0, 0.0, 0).unwrap();
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let url = url.to_string();
            std::thread::spawn(move || {
                let mut log = open_decision_log(&url).unwrap();
                loop {
                    match log.spend_privacy_budget(&release(&format!("c{i}"), 0.2, 0.0)) {
                        Ok(Spend::Spent { .. }) => return true,
                        Ok(_) => return false,
                        // SQLite may answer "busy" under contention: try again.
                        Err(e) if e.to_string().contains("locked") => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    let spent = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|&s| s)
        .count();
    assert_eq!(spent, 5);
    let budget = log.privacy_budget("decisions").unwrap().unwrap();
    assert_eq!(budget.releases, 5);
    assert!((budget.spent_epsilon - 1.0).abs() < 1e-9);
}

#[test]
fn ledger_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.sqlite").display());
    let mut log = open_decision_log(&url).unwrap();
    ledger_behaves(log.as_mut());
    let url = format!("sqlite://{}", dir.path().join("c.sqlite").display());
    concurrent_spenders_cannot_overspend(&url);
}

#[test]
fn ledger_on_postgres() {
    let Some(url) = discount_store::postgres::scratch_schema_url("privacy").unwrap() else {
        return;
    };
    let mut log = open_decision_log(&url).unwrap();
    ledger_behaves(log.as_mut());
    let Some(url) = discount_store::postgres::scratch_schema_url("privacy_race").unwrap() else {
        return;
    };
    concurrent_spenders_cannot_overspend(&url);
}
