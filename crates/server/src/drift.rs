//! Live drift of what the serving model is fed: for each served feature and for the decision's
//! score (its expected profit), the population stability index of the last decisions against the
//! decisions in the active response model's training window.
//!
//! The reference is read from the decision log once, when the active model changes; each decision
//! then only adds its values to bounded bin counts ([`RollingDrift`]), and `/metrics` reads the
//! indices from the counts. Without an active model (or one without a training window) there is
//! nothing to compare with and nothing is exported.

use std::sync::Mutex;

use discount_eval::drift::{DriftReference, RollingDrift};
use discount_store::decision_log::{DecisionRow, OutcomeRow};

use crate::metrics::Metrics;

/// Decisions each live window holds.
pub const WINDOW: usize = 10_000;
/// Quantile bins of each reference.
const BINS: usize = 10;
/// Fewer reference decisions than this give no reference (the bins would be noise).
const MIN_REFERENCE: usize = 50;

struct Tracked {
    model_id: String,
    /// Feature name and its window; `None` for a feature without a usable reference.
    features: Vec<(String, Option<RollingDrift>)>,
    score: Option<RollingDrift>,
}

/// The drift monitor of one serving process.
#[derive(Default)]
pub struct LiveDrift {
    tracked: Mutex<Option<Tracked>>,
}

impl LiveDrift {
    /// Compares what is served from now on with `reference` (the decisions of `model_id`'s
    /// training window), feature `j` named `names[j]`.
    pub fn track(
        &self,
        model_id: &str,
        names: &[String],
        reference: &[(DecisionRow, Option<OutcomeRow>)],
    ) {
        let vectors: Vec<Vec<f64>> = reference.iter().map(|(d, _)| d.logged_features()).collect();
        let width = vectors.iter().map(Vec::len).max().unwrap_or(0);
        let fit = |values: Vec<f64>| -> Option<RollingDrift> {
            (values.len() >= MIN_REFERENCE)
                .then(|| DriftReference::fit(&values, BINS).ok())
                .flatten()
                .map(|r| RollingDrift::new(r, WINDOW))
        };
        let features = (0..width)
            .map(|j| {
                let name = names
                    .get(j)
                    .cloned()
                    .unwrap_or_else(|| format!("feature_{j}"));
                let column: Vec<f64> = vectors.iter().filter_map(|v| v.get(j).copied()).collect();
                (name, fit(column))
            })
            .collect();
        let scores = reference
            .iter()
            .map(|(d, _)| d.expected_profit as f64)
            .collect();
        *self.tracked.lock().unwrap_or_else(|e| e.into_inner()) = Some(Tracked {
            model_id: model_id.to_string(),
            features,
            score: fit(scores),
        });
    }

    /// Stops comparing (no active model).
    pub fn clear(&self) {
        *self.tracked.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The model whose training window is the reference.
    pub fn model_id(&self) -> Option<String> {
        self.tracked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|t| t.model_id.clone())
    }

    /// Adds one served decision.
    pub fn observe(&self, features: &[f64], expected_profit: i64) {
        let mut tracked = self.tracked.lock().unwrap_or_else(|e| e.into_inner());
        let Some(t) = tracked.as_mut() else {
            return;
        };
        for ((_, window), &v) in t.features.iter_mut().zip(features) {
            if let Some(w) = window {
                w.push(v);
            }
        }
        if let Some(w) = &mut t.score {
            w.push(expected_profit as f64);
        }
    }

    /// Sets the drift gauges from the current windows.
    pub fn export(&self, metrics: &Metrics) {
        let tracked = self.tracked.lock().unwrap_or_else(|e| e.into_inner());
        metrics.feature_psi.reset();
        metrics.score_psi.reset();
        let Some(t) = tracked.as_ref() else {
            return;
        };
        for (name, window) in &t.features {
            if let Some(w) = window.as_ref().filter(|w| !w.is_empty()) {
                metrics
                    .feature_psi
                    .with_label_values(&[name, &t.model_id])
                    .set(w.psi());
            }
        }
        if let Some(w) = t.score.as_ref().filter(|w| !w.is_empty()) {
            metrics
                .score_psi
                .with_label_values(&[&t.model_id])
                .set(w.psi());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(features: &[f64], expected: i64) -> (DecisionRow, Option<OutcomeRow>) {
        (
            DecisionRow {
                id: "d".into(),
                idempotency_key: None,
                customer_id: "c".into(),
                at: 0,
                attribution_deadline: 0,
                policy_version: "p".into(),
                offer: "{}".into(),
                propensity: 1.0,
                explored: false,
                expected_profit: expected,
                currency: "USD".into(),
                budget_id: None,
                reserved: 0,
                request: serde_json::json!({ "features": features }).to_string(),
                response: "{}".into(),
                joined: false,
                offer_id: None,
            },
            None,
        )
    }

    #[test]
    fn served_values_unlike_the_training_window_show_in_the_gauges() {
        let reference: Vec<_> = (0..500)
            .map(|i| decision(&[f64::from(i % 50), 1.0], i64::from(i % 20)))
            .collect();
        let drift = LiveDrift::default();
        drift.track("m1", &["recency".into(), "constant".into()], &reference);
        // Recency like the training window; scores far above it.
        for i in 0..400 {
            drift.observe(&[f64::from(i % 50), 1.0], 1_000);
        }
        let metrics = Metrics::new();
        drift.export(&metrics);
        let text = metrics.render();
        let psi_of = |needle: &str| -> f64 {
            text.lines()
                .find(|l| l.starts_with(needle))
                .and_then(|l| l.rsplit(' ').next()?.parse().ok())
                .unwrap_or_else(|| panic!("no {needle} in\n{text}"))
        };
        assert!(psi_of("discount_feature_psi{feature=\"recency\"") < 0.05);
        assert!(psi_of("discount_score_psi{model_id=\"m1\"}") > 0.25);
        drift.clear();
        drift.export(&Metrics::new());
        assert!(drift.model_id().is_none());
    }
}
