//! The fraud-risk gate: before any discount, the customer's risk is looked up (a
//! [`RiskScores`] source when one is plugged in, plus a configurable rule list) and the decision is
//! allowed, capped to small discounts, or withheld, with the reason recorded.

use std::collections::HashSet;
use std::sync::Arc;

use discount_core::{RiskAssessment, RiskScores};
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;

/// What the gate did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateAction {
    Allow,
    /// Only rungs costing at most `cap_discount` may be given.
    Cap,
    /// No discount at all.
    Withhold,
}

/// The gate's record, kept with the decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateRecord {
    /// Risk score in [0, 1] (1 for a rule match).
    pub score: f64,
    pub reasons: Vec<String>,
    pub action: GateAction,
}

/// Rules and thresholds of the gate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GateConfig {
    /// Customers who never receive a discount.
    pub blocked_customers: Vec<String>,
    /// Customers whose discounts are capped.
    pub capped_customers: Vec<String>,
    /// Withhold every discount at or above this risk score.
    pub withhold_above: f64,
    /// Cap discounts at or above this risk score.
    pub cap_above: f64,
    /// The largest discount (minor units) a capped customer may receive.
    pub cap_discount: i64,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            blocked_customers: Vec::new(),
            capped_customers: Vec::new(),
            withhold_above: 0.8,
            cap_above: 0.5,
            cap_discount: 500,
        }
    }
}

/// The gate: rules, and optionally a score source.
#[derive(Clone)]
pub struct RiskGate {
    config: GateConfig,
    blocked: HashSet<String>,
    capped: HashSet<String>,
    scores: Option<Arc<dyn RiskScores>>,
}

impl std::fmt::Debug for RiskGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiskGate")
            .field("config", &self.config)
            .field("scores", &self.scores.is_some())
            .finish()
    }
}

impl RiskGate {
    pub fn new(config: GateConfig) -> Result<Self, PolicyError> {
        for (name, v) in [
            ("rules.gate.withhold_above", config.withhold_above),
            ("rules.gate.cap_above", config.cap_above),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(PolicyError::Config {
                    field: name.into(),
                    value: v.to_string(),
                    rule: "must be in [0, 1]",
                });
            }
        }
        if config.cap_discount < 0 {
            return Err(PolicyError::Config {
                field: "rules.gate.cap_discount".into(),
                value: config.cap_discount.to_string(),
                rule: "must not be negative",
            });
        }
        Ok(Self {
            blocked: config.blocked_customers.iter().cloned().collect(),
            capped: config.capped_customers.iter().cloned().collect(),
            config,
            scores: None,
        })
    }

    /// Plugs in a score source (the fraud crate's score table).
    pub fn with_scores(mut self, scores: Arc<dyn RiskScores>) -> Self {
        self.scores = Some(scores);
        self
    }

    pub fn cap_discount(&self) -> i64 {
        self.config.cap_discount
    }

    /// The gate's verdict on `customer_id`.
    pub fn check(&self, customer_id: &str) -> GateRecord {
        if self.blocked.contains(customer_id) {
            return GateRecord {
                score: 1.0,
                reasons: vec!["rule: blocked customer".into()],
                action: GateAction::Withhold,
            };
        }
        let assessment = self
            .scores
            .as_ref()
            .and_then(|s| s.assess(customer_id))
            .unwrap_or(RiskAssessment {
                score: 0.0,
                reasons: Vec::new(),
            });
        let mut reasons = assessment.reasons;
        let score = if assessment.score.is_finite() {
            assessment.score.clamp(0.0, 1.0)
        } else {
            reasons.push("score not finite: treated as 1".into());
            1.0
        };
        let mut action = if score >= self.config.withhold_above {
            reasons.push(format!(
                "score {score:.3} >= withhold threshold {}",
                self.config.withhold_above
            ));
            GateAction::Withhold
        } else if score >= self.config.cap_above {
            reasons.push(format!(
                "score {score:.3} >= cap threshold {}",
                self.config.cap_above
            ));
            GateAction::Cap
        } else {
            GateAction::Allow
        };
        if action == GateAction::Allow && self.capped.contains(customer_id) {
            reasons.push("rule: capped customer".into());
            action = GateAction::Cap;
        }
        GateRecord {
            score,
            reasons,
            action,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Table;
    impl RiskScores for Table {
        fn assess(&self, customer_id: &str) -> Option<RiskAssessment> {
            match customer_id {
                "farmer" => Some(RiskAssessment {
                    score: 0.95,
                    reasons: vec!["many accounts per device".into()],
                }),
                "grey" => Some(RiskAssessment {
                    score: 0.6,
                    reasons: vec!["new device".into()],
                }),
                _ => None,
            }
        }
    }

    #[test]
    fn gate_withholds_caps_and_allows() {
        let gate = RiskGate::new(GateConfig {
            blocked_customers: vec!["b".into()],
            capped_customers: vec!["c".into()],
            ..GateConfig::default()
        })
        .unwrap()
        .with_scores(Arc::new(Table));
        assert_eq!(gate.check("b").action, GateAction::Withhold);
        let f = gate.check("farmer");
        assert_eq!(f.action, GateAction::Withhold);
        assert!(f.reasons[0].contains("device"));
        assert_eq!(gate.check("grey").action, GateAction::Cap);
        assert_eq!(gate.check("c").action, GateAction::Cap);
        let ok = gate.check("someone");
        assert_eq!(ok.action, GateAction::Allow);
        assert_eq!(ok.score, 0.0);
        assert!(RiskGate::new(GateConfig {
            cap_above: 2.0,
            ..GateConfig::default()
        })
        .is_err());
    }
}
