//! Uplift meta-learners on the Hillstrom e-mail experiment (seeded 30% held out, stratified by arm and
//! outcome).

mod common;

use common::data_file;
use discount_models::uplift::evaluation::{
    evaluate, stratified_holdout_split, BaseLearner, EvaluationConfig, Outcome, UpliftReport,
};
use discount_models::uplift::{hillstrom, MetaLearner};

fn run(outcome: Outcome, base: BaseLearner) -> anyhow::Result<Option<UpliftReport>> {
    let Some(path) = data_file(hillstrom::RELATIVE_PATH) else {
        return Ok(None);
    };
    let experiment = hillstrom::load(&path)?;
    assert_eq!(experiment.arms.len(), 64_000);
    let holdout =
        stratified_holdout_split(&experiment.arms, &outcome.values(&experiment), 0.3, 2026)?;
    let mut config = EvaluationConfig::new(outcome);
    config.base = base;
    let report = evaluate(
        &experiment,
        &holdout,
        &config,
        &MetaLearner::ALL,
        &mut |_| {},
    )?;
    for l in &report.learners {
        for a in &l.arms {
            println!(
                "{:?} {} ({:?}) {}: qini {:?} auuc {:.4} uplift@30 {:.5} ate {:.5} fit {:.2}s",
                outcome,
                l.learner,
                l.base,
                a.arm,
                a.qini_auc,
                a.auuc,
                a.uplift_at_30,
                a.average_effect,
                l.fit_seconds
            );
        }
        for t in &l.targeting {
            println!(
                "  top {:.0}%: {:.5} (random {:.5}, sent {:.3})",
                t.share * 100.0,
                t.value,
                t.random_value,
                t.sent
            );
        }
    }
    println!("everyone: {:?}", report.everyone);
    Ok(Some(report))
}

/// On this split the Womens e-mail's effect on conversion is predictable from the features (Qini 0.12-0.15
/// with either base); the Mens e-mail's is not (Qini -0.06 to -0.01, within noise of 0 with ~250 held-out
/// conversions in the two arms), so the assertions are on the Womens arm and the Mens figures are reported.
/// The IPS value of targeting the top 10% is printed, not asserted: it rests on about a dozen held-out
/// conversions and is within noise of random targeting for some learners (S-learner 0.00625 against
/// 0.00627); the IPS arithmetic itself is checked below and in `uplift::value`.
#[test]
fn every_learner_ranks_the_womens_email_effect_with_either_base() -> anyhow::Result<()> {
    for base in [BaseLearner::Linear, BaseLearner::Gbdt] {
        let Some(report) = run(Outcome::Conversion, base)? else {
            return Ok(());
        };
        assert_womens_effect_is_ranked(&report);
    }
    Ok(())
}

fn assert_womens_effect_is_ranked(report: &UpliftReport) {
    assert_eq!(report.test_rows, 19_200);
    assert_eq!(report.learners.len(), 4);
    for learner in &report.learners {
        let womens = &learner.arms[1];
        assert_eq!(womens.arm, "Womens E-Mail");
        let qini = womens.qini_auc.unwrap_or(f64::NAN);
        assert!(
            qini > 0.05,
            "{} ({:?}): Qini {qini}",
            learner.learner,
            learner.base
        );
        // Targeting the top 30% by predicted effect beats random targeting (whose expected uplift is the ATE).
        assert!(
            womens.uplift_at_30 > womens.average_effect,
            "{}: uplift@30% {} vs average effect {}",
            learner.learner,
            womens.uplift_at_30,
            womens.average_effect
        );
    }
}

/// IPS of "everyone gets arm a" with propensity 1/3 is the arm's outcome total divided by n/3.
#[test]
fn ips_of_everyone_policies_matches_arm_totals() -> anyhow::Result<()> {
    let Some(path) = data_file(hillstrom::RELATIVE_PATH) else {
        return Ok(());
    };
    let experiment = hillstrom::load(&path)?;
    let holdout = stratified_holdout_split(&experiment.arms, &experiment.conversion, 0.3, 2026)?;
    let report = evaluate(
        &experiment,
        &holdout,
        &EvaluationConfig::new(Outcome::Conversion),
        &[MetaLearner::T],
        &mut |_| {},
    )?;
    let n = holdout.iter().filter(|h| **h).count() as f64;
    for (a, (_, value)) in report.everyone.iter().enumerate() {
        let total: f64 = (0..holdout.len())
            .filter(|&i| holdout[i] && experiment.arms[i] == a)
            .map(|i| experiment.conversion[i])
            .sum();
        assert!(
            (value - total / (n / 3.0)).abs() < 1e-12,
            "arm {a}: {value} vs {}",
            total / (n / 3.0)
        );
    }
    Ok(())
}

#[test]
fn spend_learners_rank_the_womens_email_better_than_random() -> anyhow::Result<()> {
    let Some(report) = run(Outcome::Spend, BaseLearner::Linear)? else {
        return Ok(());
    };
    for learner in &report.learners {
        let womens = &learner.arms[1];
        assert!(
            womens.auuc > 0.0,
            "{} Womens AUUC gain {}",
            learner.learner,
            womens.auuc
        );
    }
    Ok(())
}

/// Visits are common (15%) and both e-mails move them (ATE 0.077 Mens, 0.045 Womens). With either base every
/// learner ranks the Womens e-mail's effect on visits (Qini 0.064-0.080) and its top 30% by predicted
/// effect gain more than the average. The Mens e-mail's is reported only: Qini 0.014-0.022 with linear bases,
/// -0.002 to 0.002 with trees.
#[test]
fn visit_effect_of_the_womens_email_is_ranked_with_either_base() -> anyhow::Result<()> {
    for base in [BaseLearner::Linear, BaseLearner::Gbdt] {
        let Some(report) = run(Outcome::Visit, base)? else {
            return Ok(());
        };
        for learner in &report.learners {
            let womens = &learner.arms[1];
            assert_eq!(womens.arm, "Womens E-Mail");
            let qini = womens.qini_auc.unwrap_or(f64::NAN);
            assert!(
                qini > 0.05,
                "{} ({:?}): Qini {qini}",
                learner.learner,
                learner.base
            );
            assert!(
                womens.uplift_at_30 > womens.average_effect,
                "{} ({:?}): uplift@30% {} vs average {}",
                learner.learner,
                learner.base,
                womens.uplift_at_30,
                womens.average_effect
            );
        }
    }
    Ok(())
}

#[test]
fn history_can_be_read_as_given() -> anyhow::Result<()> {
    let Some(path) = data_file(hillstrom::RELATIVE_PATH) else {
        return Ok(());
    };
    let logged = hillstrom::load(&path)?;
    let given = hillstrom::load_with(&path, hillstrom::HistoryScale::AsGiven)?;
    assert_eq!(logged.x.rows(), given.x.rows());
    for i in [0, 1, 1000, 63_999] {
        assert!((logged.x.get(i, 1) - given.x.get(i, 1).ln_1p()).abs() < 1e-12);
        for j in (0..given.x.cols()).filter(|&j| j != 1) {
            assert_eq!(logged.x.get(i, j), given.x.get(i, j));
        }
    }
    assert_eq!(given.features[1].meaning, "dollars spent in the past year");
    Ok(())
}
