//! Uplift meta-learners on the Hillstrom e-mail experiment (seeded 30% held out).

mod common;

use common::data_file;
use discount_models::uplift::evaluation::{
    evaluate, holdout_split, EvaluationConfig, Outcome, UpliftReport,
};
use discount_models::uplift::{hillstrom, MetaLearner};

fn run(outcome: Outcome) -> anyhow::Result<Option<UpliftReport>> {
    let Some(path) = data_file(hillstrom::RELATIVE_PATH) else {
        return Ok(None);
    };
    let experiment = hillstrom::load(&path)?;
    assert_eq!(experiment.arms.len(), 64_000);
    let holdout = holdout_split(experiment.arms.len(), 0.3, 2026);
    let config = EvaluationConfig::new(outcome);
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
                "{:?} {} {}: qini {:?} auuc {:.4} uplift@30 {:.5} ate {:.5}",
                outcome, l.learner, a.arm, a.qini, a.auuc, a.uplift_at_30, a.average_effect
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

/// On this split the Womens e-mail's effect on conversion is predictable from the features (Qini about 0.15);
/// the Mens e-mail's is not (Qini about -0.06 for every learner, within noise of 0 with ~270 held-out
/// conversions in the two arms), so the assertions are on the Womens arm and the Mens figures are reported.
#[test]
fn every_learner_ranks_the_womens_email_effect_and_beats_random_targeting() -> anyhow::Result<()> {
    let Some(report) = run(Outcome::Conversion)? else {
        return Ok(());
    };
    assert_eq!(report.test_rows, 19_200);
    assert_eq!(report.learners.len(), 4);
    for learner in &report.learners {
        let womens = &learner.arms[1];
        assert_eq!(womens.arm, "Womens E-Mail");
        let qini = womens.qini.unwrap_or(f64::NAN);
        assert!(qini > 0.05, "{}: Qini {qini}", learner.learner);
        // Targeting the top 30% by predicted effect beats random targeting (whose expected uplift is the ATE).
        assert!(
            womens.uplift_at_30 > womens.average_effect,
            "{}: uplift@30% {} vs average effect {}",
            learner.learner,
            womens.uplift_at_30,
            womens.average_effect
        );
        let top10 = &learner.targeting[0];
        assert!(
            top10.value > top10.random_value,
            "{}: best e-mail to the top 10% {} vs random {}",
            learner.learner,
            top10.value,
            top10.random_value
        );
    }
    Ok(())
}

/// IPS of "everyone gets arm a" with propensity 1/3 is the arm's outcome total divided by n/3.
#[test]
fn ips_of_everyone_policies_matches_arm_totals() -> anyhow::Result<()> {
    let Some(path) = data_file(hillstrom::RELATIVE_PATH) else {
        return Ok(());
    };
    let experiment = hillstrom::load(&path)?;
    let holdout = holdout_split(experiment.arms.len(), 0.3, 2026);
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
    let Some(report) = run(Outcome::Spend)? else {
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
