//! Propensity models on the UCI online shoppers sessions (5 seeded folds), and the monotone-in-depth
//! constraint on simulated offers.

mod common;

use common::data_file;
use discount_models::propensity::{
    cv, folds, shoppers, synthetic, Interactions, Learner, LogisticConfig, LogisticRegression,
    ModelKind, MonotoneInDepth,
};

fn run_cv(kind: ModelKind) -> anyhow::Result<Option<cv::CvReport>> {
    let Some(path) = data_file(shoppers::RELATIVE_PATH) else {
        return Ok(None);
    };
    let data = shoppers::load(&path)?;
    assert_eq!(data.x.rows(), 12_330);
    assert_eq!(data.y.iter().filter(|y| **y == 1.0).count(), 1_908);
    let assignment = folds::kfold_assignment(data.x.rows(), 5, 2026)?;
    let build =
        || -> Result<Box<dyn Learner>, discount_models::ModelError> { Ok(Box::new(kind.build()?)) };
    let report = cv::cross_validate(&data.x, &data.y, &assignment, &build, &mut |_| {})?;
    println!(
        "{}: AUC {:.4} log-loss {:.4} ECE {:.4} | copy ECE {:.4} -> Platt {:.4}, isotonic {:.4} | fit {:.2}s",
        report.model,
        report.mean_auc,
        report.mean_log_loss,
        report.mean_ece,
        report.mean_ece_uncalibrated,
        report.mean_ece_platt,
        report.mean_ece_isotonic,
        report.fit_seconds
    );
    Ok(Some(report))
}

#[test]
fn logistic_reaches_the_auc_the_data_supports() -> anyhow::Result<()> {
    let Some(report) = run_cv(ModelKind::Logistic)? else {
        return Ok(());
    };
    assert!(report.mean_auc >= 0.90, "AUC {}", report.mean_auc);
    assert!(
        report.mean_log_loss <= 0.26,
        "log-loss {}",
        report.mean_log_loss
    );
    assert!(
        report.mean_ece_isotonic < report.mean_ece_uncalibrated,
        "isotonic ECE {} vs uncalibrated {}",
        report.mean_ece_isotonic,
        report.mean_ece_uncalibrated
    );
    Ok(())
}

#[test]
fn fm_and_mlp_rank_sessions_well() -> anyhow::Result<()> {
    for kind in [ModelKind::Fm, ModelKind::Mlp] {
        let Some(report) = run_cv(kind)? else {
            return Ok(());
        };
        assert!(
            report.mean_auc >= 0.88,
            "{:?} AUC {}",
            kind,
            report.mean_auc
        );
        for calibrated in [report.mean_ece_platt, report.mean_ece_isotonic] {
            assert!(
                calibrated < report.mean_ece_uncalibrated,
                "{kind:?}: calibrated ECE {calibrated} vs uncalibrated {}",
                report.mean_ece_uncalibrated
            );
        }
    }
    Ok(())
}

/// Trees with the default settings beat the best linear model (5-fold AUC 0.9155) on the same folds.
#[test]
fn gradient_boosted_trees_beat_the_linear_models() -> anyhow::Result<()> {
    let Some(report) = run_cv(ModelKind::Gbdt)? else {
        return Ok(());
    };
    assert!(report.mean_auc >= 0.93, "AUC {}", report.mean_auc);
    assert!(
        report.mean_log_loss <= 0.24,
        "log-loss {}",
        report.mean_log_loss
    );
    Ok(())
}

/// Every model, wrapped in the monotone constraint, never predicts a lower purchase probability at a deeper
/// discount, checked on a grid finer than the constraint's own.
#[test]
fn purchase_probability_is_monotone_in_depth_for_every_model() -> anyhow::Result<()> {
    let train = synthetic::offers(20_000, 11)?;
    let customers = synthetic::offers(300, 12)?;
    let depth = synthetic::DEPTH_COLUMN;
    let grid: Vec<f64> = (0..=6).map(|k| k as f64 * 0.05).collect();
    let monotone = MonotoneInDepth::new(depth, grid)?;
    let logistic = LogisticRegression::new(LogisticConfig {
        interactions: Interactions::all_with(depth, train.x.cols()),
        ..Default::default()
    })?;
    let mut fm = discount_models::propensity::FmConfig::default();
    fm.sgd.epochs = 5;
    let mut mlp = discount_models::propensity::MlpConfig::default();
    mlp.sgd.epochs = 5;
    let models: Vec<Box<dyn Learner>> = vec![
        Box::new(logistic),
        Box::new(discount_models::propensity::FactorisationMachine::new(fm)?),
        Box::new(discount_models::propensity::Mlp::new(mlp)?),
    ];
    let fine: Vec<f64> = (0..=35).map(|k| k as f64 * 0.01).collect();
    for mut model in models {
        model.fit(&train.x, &train.y, None)?;
        let mut at_depths = Vec::new();
        for &d in &fine {
            let mut x = customers.x.clone();
            for i in 0..x.rows() {
                x.set(i, depth, d);
            }
            at_depths.push(monotone.predict(model.as_ref(), &x)?);
        }
        for (k, pair) in at_depths.windows(2).enumerate() {
            for (i, (lower, deeper)) in pair[0].iter().zip(&pair[1]).enumerate() {
                assert!(
                    deeper >= lower,
                    "{}: customer {i} buys less at depth {} ({deeper}) than at {} ({lower})",
                    model.name(),
                    fine[k + 1],
                    fine[k],
                );
            }
        }
        // The constraint must not flatten the real effect: deep discounts sell more on average.
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(
            mean(&at_depths[30]) > mean(&at_depths[0]) + 0.05,
            "{}",
            model.name()
        );
    }
    Ok(())
}
