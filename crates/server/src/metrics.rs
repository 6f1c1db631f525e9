//! Prometheus metrics, served as text at `/metrics`.

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    pub registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub decisions: IntCounterVec,
    pub budget_spent: IntGaugeVec,
    pub budget_reserved: IntGaugeVec,
    pub budget_remaining: IntGaugeVec,
    /// Each budget's shadow price as pacing last set it.
    pub shadow_price: GaugeVec,
    /// Seconds from a decision to the outcome joined to it.
    pub join_lag: HistogramVec,
    pub open_decisions: IntGauge,
    pub model_version: IntGaugeVec,
    /// 1 for the registered response model that scores (`state="serving"`) and for one the
    /// registry made active but this process refused (`state="refused"`).
    pub response_model: IntGaugeVec,
    pub events: IntCounterVec,
    /// PSI of each served feature: the last decisions against the model's training window.
    pub feature_psi: GaugeVec,
    /// PSI of the decisions' expected profit against the training window.
    pub score_psi: GaugeVec,
    /// Share of each budget's period elapsed: the share of the budget the even plan has spent.
    pub budget_plan_share: GaugeVec,
}

fn must<T>(r: Result<T, prometheus::Error>) -> T {
    // Metric definitions are constants of this file; a failure is a programming error that
    // the unit test below catches.
    r.unwrap_or_else(|e| panic!("metric definition: {e}"))
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = must(IntCounterVec::new(
            Opts::new(
                "discount_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["route", "status"],
        ));
        let latency = must(HistogramVec::new(
            HistogramOpts::new(
                "discount_http_request_duration_seconds",
                "HTTP request latency by route and status",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["route", "status"],
        ));
        let decisions = must(IntCounterVec::new(
            Opts::new("discount_decisions_total", "Decisions served, by offer"),
            &["offer"],
        ));
        let gauge =
            |name: &str, help: &str| must(IntGaugeVec::new(Opts::new(name, help), &["campaign"]));
        let budget_spent = gauge("discount_budget_spent", "Budget spent, minor units");
        let budget_reserved = gauge(
            "discount_budget_reserved",
            "Budget held by open decisions, minor units",
        );
        let budget_remaining = gauge("discount_budget_remaining", "Budget remaining, minor units");
        let shadow_price = must(GaugeVec::new(
            Opts::new(
                "discount_budget_shadow_price",
                "Shadow price of a unit of budget, as pacing last set it",
            ),
            &["campaign"],
        ));
        let join_lag = must(HistogramVec::new(
            HistogramOpts::new(
                "discount_join_lag_seconds",
                "Time from a decision to the outcome joined to it",
            )
            .buckets(vec![
                1.0,
                60.0,
                3600.0,
                86_400.0,
                3.0 * 86_400.0,
                7.0 * 86_400.0,
                30.0 * 86_400.0,
            ]),
            &["source"],
        ));
        let open_decisions = must(IntGauge::new(
            "discount_open_decisions",
            "Decisions whose outcome is not known yet",
        ));
        let model_version = must(IntGaugeVec::new(
            Opts::new(
                "discount_model_version",
                "Outcomes learned by each policy's model",
            ),
            &["policy"],
        ));
        let response_model = must(IntGaugeVec::new(
            Opts::new(
                "discount_response_model",
                "The registered response model scoring offers, or refused",
            ),
            &["model_id", "state"],
        ));
        let events = must(IntCounterVec::new(
            Opts::new("discount_events_total", "Events received, by result"),
            &["result"],
        ));
        let feature_psi = must(GaugeVec::new(
            Opts::new(
                "discount_feature_psi",
                "Population stability index of a served feature, last decisions against the active model's training window",
            ),
            &["feature", "model_id"],
        ));
        let score_psi = must(GaugeVec::new(
            Opts::new(
                "discount_score_psi",
                "Population stability index of the decisions' expected profit against the active model's training window",
            ),
            &["model_id"],
        ));
        let budget_plan_share = must(GaugeVec::new(
            Opts::new(
                "discount_budget_plan_share",
                "Share of the budget's period elapsed, i.e. the share the even pacing plan has spent",
            ),
            &["campaign"],
        ));
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(decisions.clone()),
            Box::new(budget_spent.clone()),
            Box::new(budget_reserved.clone()),
            Box::new(budget_remaining.clone()),
            Box::new(shadow_price.clone()),
            Box::new(join_lag.clone()),
            Box::new(open_decisions.clone()),
            Box::new(model_version.clone()),
            Box::new(response_model.clone()),
            Box::new(events.clone()),
            Box::new(feature_psi.clone()),
            Box::new(score_psi.clone()),
            Box::new(budget_plan_share.clone()),
        ] {
            must(registry.register(c));
        }
        Self {
            registry,
            requests,
            latency,
            decisions,
            budget_spent,
            budget_reserved,
            budget_remaining,
            shadow_price,
            join_lag,
            open_decisions,
            model_version,
            response_model,
            events,
            feature_psi,
            score_psi,
            budget_plan_share,
        }
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut buf) {
            tracing::error!("encoding metrics: {e}");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn metrics_register_and_render() {
        let m = super::Metrics::new();
        m.requests
            .with_label_values(&["/v1/decisions", "200"])
            .inc();
        assert!(m.render().contains("discount_http_requests_total"));
    }

    /// Every metric the shipped alert rules use is one this service exports.
    #[test]
    fn alert_rules_name_exported_metrics() {
        let rules = include_str!("../../../deploy/prometheus/alerts.yml");
        let m = super::Metrics::new();
        // Families are gathered once they have a sample: give each labelled family one.
        m.requests.with_label_values(&["/r", "200"]).inc();
        m.latency.with_label_values(&["/r", "200"]).observe(0.1);
        m.decisions.with_label_values(&["none"]).inc();
        for g in [&m.budget_spent, &m.budget_reserved, &m.budget_remaining] {
            g.with_label_values(&["c"]).set(1);
        }
        m.shadow_price.with_label_values(&["c"]).set(1.0);
        m.join_lag.with_label_values(&["order"]).observe(1.0);
        m.model_version.with_label_values(&["p"]).set(1);
        m.events.with_label_values(&["stored"]).inc();
        m.feature_psi.with_label_values(&["f", "m"]).set(0.1);
        m.score_psi.with_label_values(&["m"]).set(0.1);
        m.budget_plan_share.with_label_values(&["c"]).set(0.5);
        let exported: Vec<String> = m
            .registry
            .gather()
            .iter()
            .map(|f| f.get_name().to_string())
            .collect();
        let mut checked = 0;
        for word in rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !word.starts_with("discount_") {
                continue;
            }
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| word.strip_suffix(s))
                .unwrap_or(word);
            assert!(
                exported.iter().any(|e| e == base || e == word),
                "alerts.yml uses {word}, which /metrics does not export ({exported:?})"
            );
            checked += 1;
        }
        assert!(
            checked >= 6,
            "only {checked} metric names found in the rules"
        );
    }
}
