//! The HTML report: one self-contained file with a chart, an explanation and figures per section.

use discount_eval::experiment::{analyze, AnalysisConfig, Observation};
use discount_eval::ope::{BootstrapConfig, ConfidenceInterval, EstimateResult};
use discount_eval::report::{
    profit_curve, standard_report, Report, StandardReportInputs, UpliftEvaluation,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn uplift_data(seed: u64) -> UpliftEvaluation {
    // Half the customers are persuadable (the offer lifts purchase from 10% to 30%); the model's score is the true
    // uplift plus noise.
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut outcome, mut treatment, mut predicted_uplift, mut probability) =
        (vec![], vec![], vec![], vec![]);
    for _ in 0..4000 {
        let persuadable = rng.gen::<bool>();
        let treated = rng.gen::<bool>();
        let p = if persuadable && treated { 0.3 } else { 0.1 };
        outcome.push(if rng.gen::<f64>() < p { 1.0 } else { 0.0 });
        treatment.push(u8::from(treated));
        predicted_uplift.push(if persuadable { 0.2 } else { 0.0 } + 0.05 * rng.gen::<f64>());
        probability.push(p);
    }
    UpliftEvaluation {
        outcome,
        treatment,
        predicted_uplift,
        predicted_probability: Some(probability),
        margin_per_conversion: 30.0,
        cost_per_offer: 2.0,
        currency: "EUR".into(),
    }
}

#[test]
fn profit_peaks_at_the_persuadable_customers() {
    let curve = profit_curve(&uplift_data(1)).expect("profit curve");
    let (best_budget, best_profit) =
        curve
            .iter()
            .copied()
            .fold((0.0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
    // About 2000 persuadable customers at 2 EUR each: the peak budget is near 4000 EUR, not the full 8000.
    assert!(
        best_budget > 2500.0 && best_budget < 5500.0,
        "peak at {best_budget}"
    );
    assert!(best_profit > 0.0);
}

#[test]
fn standard_report_is_self_contained_and_explained() {
    let mut rng = StdRng::seed_from_u64(3);
    let observations: Vec<Observation> = (0..2000)
        .map(|i| {
            let arm = if rng.gen::<bool>() {
                "offer"
            } else {
                "control"
            };
            let pre: f64 = rng.gen::<f64>() * 50.0;
            let outcome = pre + if arm == "offer" { 3.0 } else { 0.0 } + 10.0 * rng.gen::<f64>();
            Observation {
                customer: format!("c{i}"),
                arm: arm.into(),
                outcome,
                pre_period: Some(pre),
            }
        })
        .collect();
    let analysis = analyze(&observations, &AnalysisConfig::default()).expect("analysis");
    let inputs = StandardReportInputs {
        obd: None,
        uplift: Some(uplift_data(2)),
        experiment: Some(analysis),
    };
    let report = standard_report("Discount evaluation", &inputs).expect("report");
    let html = report.to_html();
    for needle in [
        "Qini",
        "Profit versus budget",
        "Calibration",
        "Experiment",
        "always-valid",
        "<svg",
        "CUPED",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(
        !html.contains("NaN") && !html.contains(">inf") && !html.contains(" inf "),
        "unformatted numbers in the report"
    );
    assert!(
        !html.contains("http://")
            || html
                .matches("http://")
                .all(|_| html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
    );
    assert!(
        !html.contains("<script"),
        "no scripts, no external resources"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("report.html");
    report.write(&path).expect("write");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), html);
}

#[test]
fn ope_section_lists_every_estimator() {
    let interval = ConfidenceInterval {
        lower: 0.1,
        upper: 0.3,
        bootstrap_mean: 0.2,
        alpha: 0.05,
        n_resamples: 10,
    };
    let results = vec![
        EstimateResult {
            estimator: "ips".into(),
            estimate: 0.2,
            interval,
            effective_sample_size: 50.0,
            n_rounds: 100,
        },
        EstimateResult {
            estimator: "dr".into(),
            estimate: 0.25,
            interval,
            effective_sample_size: 50.0,
            n_rounds: 100,
        },
    ];
    let mut report = Report::new("t", "i");
    report.add_ope("OPE", "context.", &results, Some(("truth", 0.22)));
    let html = report.to_html();
    assert!(html.contains(">ips<") && html.contains(">dr<") && html.contains("truth"));
    let _ = BootstrapConfig::default();
}
