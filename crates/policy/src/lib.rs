//! Discount policies: turn predictions into one offer per customer.
//!
//! - [`engine`]: the [`DecisionEngine`]: a configurable offer ladder ([`offers`]) with
//!   eligibility rules and margin floors, a fraud-risk [`gate`], per-offer linear models with
//!   epsilon-greedy, LinUCB or Thompson exploration ([`bandit`]), and a budget ([`budget`]) kept by
//!   a shadow price that pacing moves and a ledger that can never be overspent. Every decision
//!   carries its propensity, the expected profit of each offer and, on request, an explanation.
//! - [`response`]: a trained response model (a per-offer hurdle T-learner) that the engine
//!   scores with instead of its online models once one is set ([`DecisionEngine::set_response_model`]).
//! - [`scoring`]: the seam ([`scoring::OfferScorer`]) through which any trained model decides:
//!   the engine asks it for each candidate offer's response ([`DecisionEngine::set_scorer`]).
//! - [`plan`]: the offline allocation over a customer list (multiple-choice knapsack through its
//!   Lagrangian dual, checked against an exact solver); [`knapsack`]: the solvers themselves,
//!   which the simulator's oracle uses too.
//! - [`stock`]: the shadow price of each item's stock, so that offers stop discounting items
//!   about to run out and value clearing overstock ([`DecisionEngine::set_stock`]).
//! - [`fairness`]: limits on the ratio of offer rates between customer groups (in the plan)
//!   and on the spread of what customers pay for one item at one moment (engine and plan).
//! - [`logged_bandit`]: learning a policy from a logged contextual-bandit data set (Vowpal
//!   Wabbit's text formats, CSV, JSONL) with progressive validation (`discount bandit learn`).
//! - [`mod@bench`]: decisions per second and plan time (`discount bench decide|plan`).
//! - [`PolicyError`] (in [`error`]): what can go wrong.
//!
//! The engine knows nothing of the simulator: experiments that run it in the simulated shop
//! (evaluate-policy, lifecycle RL, the demo) live in `discount-lab`.
//!
//! ```no_run
//! use discount_policy::engine::{DecisionEngine, EngineConfig, DecisionRequest, CustomerFacts};
//! use rand::SeedableRng;
//! let config = EngineConfig::from_toml_str(&std::fs::read_to_string("engine.toml")?, "engine.toml")?;
//! let engine = DecisionEngine::new(config)?;
//! let mut rng = rand::rngs::StdRng::seed_from_u64(7);
//! let req = DecisionRequest { customer_id: "u1".into(), ..Default::default() };
//! let facts = CustomerFacts { features: vec![1.0], ..Default::default() };
//! let decision = engine.decide(&req, &facts, &mut rng)?;
//! println!("{} with probability {}", decision.offer_id, decision.propensity);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bandit;
pub mod bench;
pub mod budget;
pub mod engine;
pub mod error;
pub mod facts;
pub mod fairness;
pub mod gate;
pub mod knapsack;
pub mod logged_bandit;
pub mod offers;
pub mod plan;
pub mod response;
pub mod scoring;
pub mod stock;

pub use budget::{AtomicLedger, BudgetLedger};
pub use engine::{
    BasketLine, CustomerFacts, Decision, DecisionContext, DecisionEngine, DecisionRequest,
    EngineConfig, JoinedOutcome, OfferScore,
};
pub use error::PolicyError;
pub use gate::{GateAction, GateRecord};
