//! `discount decide`: one offer per request, from the decision engine.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use anyhow::Context;
use discount_core::CustomerIds;
use discount_features::{items_named, Catalog, CustomerEmbeddings};
use discount_lab::evaluate::{sim_engine_config, warm_engine};
use discount_lab::simulated::{explore_features, FeatureLog};
use discount_policy::engine::{
    CustomerFacts, DecisionEngine, DecisionRequest, EngineConfig, JoinedOutcome,
};
use discount_policy::facts::{
    customer_facts, feature_sources, FeatureSource, OFFER_HISTORY_DAYS, OFFER_HISTORY_DECISIONS,
};
use discount_server::models::{
    active_embeddings, load_response_model, serving_spec_id, RESPONSE_KIND,
};
use discount_sim::SimConfig;
use discount_store::decision_log::{open_decision_log, DecisionLog};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Deserialize;

/// Decide one offer per request with the decision engine (ladder, rules, budget, exploration).
///
/// Reads JSON Lines, one request per line:
///   {"request": {"customer_id": "u1", "context": {"placement": "cart", "basket": [
///      {"item_id": "i9", "category": "books", "quantity": 1, "unit_price": 2500, "unit_cost": 1400}]},
///    "explain": true},
///    "customer": {"features": [1.0, 0.0, ...], "orders": 2}}
/// and writes one decision per line (offer, propensity, whether it explored, the expected
/// incremental profit and probability of every offer, the risk gate's record, an explanation).
/// A request without `customer` gets the customer's facts from the store (`--store` or
/// `store.url`) as of now, through the function the service decides with: the profile from their
/// events, the engine's features picked from it (its model features must then be `bias` or
/// profile features), and the offers given before.
///
/// Without --engine, the engine is the one `discount evaluate-policy` uses on the simulated shop,
/// warm-started from a simulated exploration log (see --print-config for its TOML).
///
/// Examples:
///   discount decide --print-config > engine.toml
///   discount decide --engine engine.toml --outcomes joined.jsonl --requests requests.jsonl
///   cat requests.jsonl | discount decide --engine engine.toml
///   discount fraud scan --events events.jsonl --scores-out scores.jsonl
///   discount decide --engine engine.toml --risk-scores scores.jsonl --requests requests.jsonl
///   discount decide --engine engine.toml --model active --requests requests.jsonl
///   echo '{"request": {"customer_id": "u42"}}' | discount decide --engine engine.toml
///
/// docs/policy.md explains the decision rule and every setting.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct DecideArgs {
    /// Engine configuration (TOML): ladder, rules, budgets, exploration, model.
    #[arg(long = "engine", value_name = "FILE")]
    pub engine: Option<PathBuf>,

    /// Joined outcomes (JSON Lines of {offer_id, features, profit, discount, ordered}) to
    /// warm-start the models from.
    #[arg(long, value_name = "FILE")]
    pub outcomes: Option<PathBuf>,

    /// Requests (JSON Lines); standard input when absent.
    #[arg(long, value_name = "FILE")]
    pub requests: Option<PathBuf>,

    /// Print the default engine configuration as TOML and exit.
    #[arg(long = "print-config")]
    pub print_config: bool,

    /// Customers of the simulated exploration log (default engine only).
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub users: usize,

    /// Seed of the exploration draws and of the simulated log.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,

    /// Fraud scores (JSON Lines written by `discount fraud scan --scores-out`): the offer gate
    /// withholds or caps discounts above the engine's rules.gate thresholds.
    #[arg(long = "risk-scores", value_name = "FILE")]
    pub risk_scores: Option<PathBuf>,

    /// Score with a registered response model (`active` for the registry's active one) instead
    /// of the engine's own models, as `discount serve` does. A request without
    /// `customer.profile` gets the customer's profile from the store's events as of now, through
    /// the function the service uses.
    #[arg(long, value_name = "ID|active")]
    pub model: Option<String>,
}

/// The store, opened on first use.
fn store_for_facts<'s>(
    store: &'s mut Option<Box<dyn DecisionLog>>,
    config: &discount_core::Config,
) -> anyhow::Result<&'s mut dyn DecisionLog> {
    if store.is_none() {
        let url = &config.store.url;
        *store = Some(
            open_decision_log(url)
                .with_context(|| format!("opening the store {}", super::ingest::redact(url)))?,
        );
    }
    match store.as_mut() {
        Some(log) => Ok(log.as_mut()),
        None => anyhow::bail!("the store could not be opened"),
    }
}

/// Loads a score file for the offer gate.
pub fn load_risk_scores(path: &std::path::Path) -> anyhow::Result<discount_fraud::ScoreTable> {
    discount_fraud::ScoreTable::load_jsonl(path)
        .with_context(|| format!("loading the risk scores {}", path.display()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    request: DecisionRequest,
    /// Absent: built from the store as the service builds it.
    #[serde(default)]
    customer: Option<CustomerFacts>,
}

/// The simulated default: its configuration and its exploration log.
pub fn default_engine_config(
    users: usize,
    seed: u64,
    budget: Option<i64>,
) -> anyhow::Result<(EngineConfig, FeatureLog, u32)> {
    let sim = SimConfig {
        users,
        seed,
        days: 28,
        ..SimConfig::default()
    };
    sim.validate()?;
    let log = explore_features(&sim, seed).context("simulating the exploration log")?;
    let cfg = sim_engine_config(
        &sim,
        &log.outcomes,
        budget,
        discount_policy::bandit::Exploration::EpsilonGreedy { epsilon: 0.05 },
        discount_policy::engine::ModelStructure::Disjoint,
    );
    Ok((cfg, log, sim.days))
}

/// Reads joined outcomes, naming file and line in errors.
pub fn read_outcomes(path: &PathBuf) -> anyhow::Result<Vec<JoinedOutcome>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}:{}", path.display(), i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let o: JoinedOutcome = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not a joined outcome", path.display(), i + 1))?;
        out.push(o);
    }
    Ok(out)
}

/// Builds the engine from --engine/--outcomes or the simulated default.
pub fn build_engine(
    engine: Option<&PathBuf>,
    outcomes: Option<&PathBuf>,
    users: usize,
    seed: u64,
) -> anyhow::Result<DecisionEngine> {
    match engine {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let cfg = EngineConfig::from_toml_str(&text, &path.display().to_string())?;
            let engine = DecisionEngine::new(cfg)
                .with_context(|| format!("building the engine of {}", path.display()))?;
            if let Some(o) = outcomes {
                for (i, row) in read_outcomes(o)?.iter().enumerate() {
                    engine
                        .update(row)
                        .with_context(|| format!("{}:{}", o.display(), i + 1))?;
                }
            }
            Ok(engine)
        }
        None => {
            let (cfg, log, days) = default_engine_config(users, seed, None)?;
            let engine = warm_engine(cfg, &log, days, days)?;
            if let Some(o) = outcomes {
                for (i, row) in read_outcomes(o)?.iter().enumerate() {
                    engine
                        .update(row)
                        .with_context(|| format!("{}:{}", o.display(), i + 1))?;
                }
            }
            Ok(engine)
        }
    }
}

/// Loads a registered response model onto `engine`; the store it came from, to read profiles,
/// and the customer vectors the model reads, if it was trained with them.
fn use_model(
    config: &discount_core::Config,
    engine: &DecisionEngine,
    which: &str,
) -> anyhow::Result<(Box<dyn DecisionLog>, Option<CustomerEmbeddings>)> {
    let url = &config.store.url;
    let mut log = open_decision_log(url)
        .with_context(|| format!("opening the store {}", super::ingest::redact(url)))?;
    let row = if which == "active" {
        log.active_model(RESPONSE_KIND)?.with_context(|| {
            format!("--model active: no {RESPONSE_KIND} model is active (see discount models list)")
        })?
    } else {
        log.model(which)?
            .with_context(|| format!("--model {which}: no such model in the store"))?
    };
    let emb = active_embeddings(log.as_mut()).map_err(|e| anyhow::anyhow!(e))?;
    let model = load_response_model(&row, emb.as_ref().map(|(_, e)| e))
        .map_err(|why| anyhow::anyhow!("--model: {why}"))?;
    let reads = emb
        .map(|(_, e)| e)
        .filter(|_| model.feature_spec != serving_spec_id());
    engine.set_response_model(&row.id, model)?;
    Ok((log, reads))
}

/// The customer's facts from the store as of now, through the function the service decides
/// with: the profile from their events (extended with `embeddings` when the model reads them),
/// the engine's features picked from it by `sources`, and the offers given before.
fn facts_from_store(
    log: &mut dyn DecisionLog,
    ids: &CustomerIds,
    embeddings: Option<&CustomerEmbeddings>,
    customer: &str,
    sources: &[FeatureSource],
) -> anyhow::Result<CustomerFacts> {
    let stored = ids.stored(customer);
    let now = discount_core::Timestamp(chrono::Utc::now().timestamp_micros());
    // Every event: the profile is of the whole history (the limit is a signed 64-bit number).
    let events = log.events_of(&stored, i64::MAX as usize)?;
    let catalog: Catalog = log
        .item_categories(&items_named(&events))?
        .into_iter()
        .collect();
    let since = now.0 - OFFER_HISTORY_DAYS * discount_core::time::MICROS_PER_DAY;
    let offers = log.offers_of(&stored, since, OFFER_HISTORY_DECISIONS)?;
    let (_, facts) = customer_facts(
        &stored, &events, &catalog, &offers, now, embeddings, sources,
    )?;
    Ok(facts)
}

pub fn run(config: &discount_core::Config, args: &DecideArgs, _json: bool) -> anyhow::Result<()> {
    if args.print_config {
        let (cfg, _, _) = default_engine_config(args.users.min(5_000), args.seed, Some(200_000))?;
        print!("{}", cfg.to_toml()?);
        return Ok(());
    }
    let engine = build_engine(
        args.engine.as_ref(),
        args.outcomes.as_ref(),
        args.users,
        args.seed,
    )?;
    let engine = match &args.risk_scores {
        Some(path) => engine.with_risk(std::sync::Arc::new(load_risk_scores(path)?)),
        None => engine,
    };
    let (mut store, embeddings) = match &args.model {
        Some(which) => {
            let (log, e) = use_model(config, &engine, which)?;
            (Some(log), e)
        }
        None => (None, None),
    };
    let ids = CustomerIds::from_key(config.privacy.pseudonymise_key.as_deref())?;
    let sources = feature_sources(engine.config());
    let mut rng = StdRng::seed_from_u64(args.seed);
    let (reader, origin): (Box<dyn BufRead>, String) = match &args.requests {
        Some(p) => (
            Box::new(BufReader::new(
                std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?,
            )),
            p.display().to_string(),
        ),
        None => (Box::new(BufReader::new(std::io::stdin())), "stdin".into()),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {origin}:{}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line)
            .with_context(|| format!("{origin}:{}: not a decision request", i + 1))?;
        let at = || format!("{origin}:{}: the customer's facts from the store", i + 1);
        let facts = match parsed.customer {
            // Given features; with --model, a missing profile comes from the store.
            Some(mut given) => {
                if given.profile.is_empty() && args.model.is_some() {
                    let log = store_for_facts(&mut store, config)?;
                    given.profile = facts_from_store(
                        log,
                        &ids,
                        embeddings.as_ref(),
                        &parsed.request.customer_id,
                        &[],
                    )
                    .with_context(at)?
                    .profile;
                }
                given
            }
            None => {
                let sources = sources.as_ref().map_err(|e| {
                    anyhow::anyhow!(
                        "{origin}:{}: the request has no `customer` facts, and they cannot be \
                         built from the store for this engine: {e}",
                        i + 1
                    )
                })?;
                let log = store_for_facts(&mut store, config)?;
                facts_from_store(
                    log,
                    &ids,
                    embeddings.as_ref(),
                    &parsed.request.customer_id,
                    sources,
                )
                .with_context(at)?
            }
        };
        let decision = engine
            .decide(&parsed.request, &facts, &mut rng)
            .with_context(|| format!("{origin}:{}", i + 1))?;
        writeln!(out, "{}", serde_json::to_string(&decision)?)?;
    }
    Ok(())
}
