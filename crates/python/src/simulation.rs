//! The market simulator ([`discount_sim`]) driven by a configuration given as TOML text or JSON (a Python
//! dict), with one of the built-in policies; the summary, the records and the decisions' ground truth come back
//! as JSON text for the Python layer to parse.

use discount_sim::{
    policy_from_spec, simulate_with, simulate_with_counterfactual, NullSink, RunOptions, SimConfig,
};

use crate::error::{BindingError, Result};

/// Where the configuration comes from.
#[derive(Debug, Clone, Copy)]
pub enum ConfigSource<'a> {
    /// All defaults.
    Default,
    /// TOML text, as `discount simulate --config` reads it.
    Toml(&'a str),
    /// JSON text of the same fields (nested objects may name only what they change).
    Json(&'a str),
}

/// What to run and what to keep.
#[derive(Debug, Clone, Copy)]
pub struct SimulationRequest<'a> {
    pub config: ConfigSource<'a>,
    /// `none`, `uniform:PERCENT`, `random` or `oracle`.
    pub policy: &'a str,
    /// Also run the same seed with no offers and fill the summary's incremental figures.
    pub counterfactual: bool,
    /// Keep every record (as ingest JSON lines).
    pub keep_events: bool,
    /// Keep every decision's ground truth.
    pub decision_truth: bool,
}

/// A run's results as JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationResult {
    /// The summary object (`SimSummary`).
    pub summary: String,
    /// One JSON object per record, in time order (empty unless kept).
    pub events: Vec<String>,
    /// A JSON array of the decisions' truth (`[]` unless kept).
    pub decisions: String,
}

/// Parses and validates the configuration.
pub fn config(source: ConfigSource<'_>) -> Result<SimConfig> {
    let config = match source {
        ConfigSource::Default => SimConfig::default(),
        ConfigSource::Toml(text) => SimConfig::from_toml_str(text, "<config>")?,
        ConfigSource::Json(text) => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
                BindingError::argument("config", format!("field `{}`: {}", e.path(), e.inner()))
            })?
        }
    };
    config.validate()?;
    Ok(config)
}

/// Runs the simulation.
pub fn run(request: SimulationRequest<'_>) -> Result<SimulationResult> {
    let config = config(request.config)?;
    let mut policy = policy_from_spec(request.policy, config.seed)?;
    let options = RunOptions {
        customer_truth: false,
        decision_truth: request.decision_truth,
    };
    let mut events = Vec::new();
    let output = match (request.keep_events, request.counterfactual) {
        (true, true) => simulate_with_counterfactual(
            &config,
            policy.as_mut(),
            &mut |r: discount_core::Record| events.push(r.to_json()),
            options,
        )?,
        (true, false) => simulate_with(
            &config,
            policy.as_mut(),
            &mut |r: discount_core::Record| events.push(r.to_json()),
            options,
        )?,
        (false, true) => {
            simulate_with_counterfactual(&config, policy.as_mut(), &mut NullSink, options)?
        }
        (false, false) => simulate_with(&config, policy.as_mut(), &mut NullSink, options)?,
    };
    Ok(SimulationResult {
        summary: serde_json::to_string(&output.summary)?,
        events,
        decisions: serde_json::to_string(&output.truth.decisions)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(policy: &str, keep_events: bool) -> SimulationResult {
        run(SimulationRequest {
            config: ConfigSource::Json(r#"{"users": 300, "days": 5, "seed": 3}"#),
            policy,
            counterfactual: false,
            keep_events,
            decision_truth: true,
        })
        .unwrap()
    }

    #[test]
    fn same_seed_same_run_and_records_match_the_summary() {
        let a = small("uniform:10", true);
        let b = small("uniform:10", true);
        assert_eq!(a, b);
        let summary: serde_json::Value = serde_json::from_str(&a.summary).unwrap();
        assert_eq!(summary["users"], 300);
        let counted: u64 = summary["records"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(counted as usize, a.events.len());
        let decisions: Vec<serde_json::Value> = serde_json::from_str(&a.decisions).unwrap();
        assert_eq!(
            decisions.len() as u64,
            summary["decisions"].as_u64().unwrap()
        );
    }

    #[test]
    fn bad_configs_name_the_field() {
        let err = config(ConfigSource::Json(r#"{"population": {"visit_rat": 1}}"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("population"), "{err}");
        let err = config(ConfigSource::Json(r#"{"users": -3}"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("users"), "{err}");
        let err = run(SimulationRequest {
            config: ConfigSource::Default,
            policy: "greedy",
            counterfactual: false,
            keep_events: false,
            decision_truth: false,
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("greedy"), "{err}");
    }
}
