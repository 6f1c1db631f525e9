//! The policy registry: every engine configuration the service has been given is a policy,
//! stored with its configuration; one is active (decides), and any may be in apprentice mode
//! (its choices are logged, the control arm is served). Several processes read the same table,
//! so each refreshes its view every second.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use discount_core::RiskScores;
use discount_policy::response::ResponseModel;
use discount_policy::{DecisionEngine, EngineConfig};
use discount_store::decision_log::{BudgetRow, PolicyRow};

use crate::error::ServerError;
use crate::ledger::{Ledger, OwnedLedger, SharedLedger};
use crate::models::{
    lifetime_value_of, load_embeddings, load_response_model, LifetimeValue, ModelState, Refusal,
    CF_KIND, LTV_KIND, RESPONSE_KIND,
};
use crate::pool::LogPool;
use discount_features::CustomerEmbeddings;
pub use discount_policy::facts::FeatureSource;

pub struct Policy {
    pub version: String,
    pub engine: Arc<DecisionEngine>,
    pub features: Vec<FeatureSource>,
    pub apprentice: bool,
}

pub struct Registry {
    pool: Arc<LogPool>,
    /// This process's holder id when budgets are shared through the store (PostgreSQL).
    holder: Option<String>,
    currency: String,
    ledgers: RwLock<HashMap<String, Arc<dyn Ledger>>>,
    engines: RwLock<HashMap<String, Arc<DecisionEngine>>>,
    active: RwLock<Option<Arc<Policy>>>,
    rows: RwLock<Vec<PolicyRow>>,
    /// Fraud scores plugged into every engine's offer gate.
    risk: Option<Arc<dyn RiskScores>>,
    /// The registry's response model as this process last saw it.
    model: RwLock<ModelState>,
    /// The loaded response model that every engine scores with (engines built later get it too).
    response: RwLock<Option<(String, ResponseModel)>>,
    /// Cost of goods as a share of revenue, for the lifetime value's profit.
    cost_ratio: f64,
    /// The active CF model's customer vectors.
    embeddings: RwLock<Option<(String, Arc<CustomerEmbeddings>)>>,
    /// The active CF model this process refused, so it is not read again every second.
    embeddings_refused: RwLock<Option<String>>,
    /// The vectors the serving response model reads (it was trained with their slot).
    scoring_embeddings: RwLock<Option<Arc<CustomerEmbeddings>>>,
    /// What the serving response model is fed, against its training window.
    drift: crate::drift::LiveDrift,
}

/// Maps an engine's feature names onto the profile's feature vector.
pub fn feature_sources(config: &EngineConfig) -> Result<Vec<FeatureSource>, ServerError> {
    discount_policy::facts::feature_sources(config).map_err(|e| ServerError::Config(e.to_string()))
}

impl Registry {
    /// `holder`: this process's id when budgets are shared through the store, `None` when this
    /// process owns them (the embedded store).
    pub fn new(pool: Arc<LogPool>, holder: Option<String>, currency: &str) -> Self {
        Self {
            pool,
            holder,
            currency: currency.to_string(),
            ledgers: RwLock::new(HashMap::new()),
            engines: RwLock::new(HashMap::new()),
            active: RwLock::new(None),
            rows: RwLock::new(Vec::new()),
            risk: None,
            model: RwLock::new(ModelState::default()),
            response: RwLock::new(None),
            cost_ratio: 0.6,
            embeddings: RwLock::new(None),
            embeddings_refused: RwLock::new(None),
            scoring_embeddings: RwLock::new(None),
            drift: crate::drift::LiveDrift::default(),
        }
    }

    /// The cost of goods as a share of revenue the lifetime value's profit assumes.
    pub fn with_cost_ratio(mut self, ratio: f64) -> Self {
        self.cost_ratio = ratio;
        self
    }

    /// Gates every engine built from now on with `risk`.
    pub fn with_risk(mut self, risk: Option<Arc<dyn RiskScores>>) -> Self {
        self.risk = risk;
        self
    }

    /// Registers `config` (if its name is new), sets its budgets' totals, and activates it when no
    /// policy is active yet.
    pub fn install(&self, config: &EngineConfig) -> Result<(), ServerError> {
        feature_sources(config)?;
        DecisionEngine::new(config.clone())?;
        let json = serde_json::to_string(config)
            .map_err(|e| ServerError::Config(format!("engine `{}`: {e}", config.name)))?;
        let name = config.name.clone();
        let currency = self.currency.clone();
        let budgets: Vec<(String, i64)> = config
            .budgets
            .iter()
            .map(|b| (b.campaign.clone(), b.amount))
            .collect();
        self.pool.with(|log| {
            for (campaign, amount) in &budgets {
                log.set_budget(campaign, &currency, *amount)?;
            }
            log.register_policy(&name, &json, now_micros())?;
            if !log.policies()?.iter().any(|p| p.active) {
                log.activate_policy(&name)?;
            }
            Ok(())
        })?;
        self.refresh()
    }

    fn ledger(&self, campaign: &str) -> Result<Arc<dyn Ledger>, ServerError> {
        if let Some(l) = self
            .ledgers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(campaign)
        {
            return Ok(Arc::clone(l));
        }
        let currency = self.currency.clone();
        let id = campaign.to_string();
        let row = self.pool.with(|log| {
            if log.budget(&id)?.is_none() {
                log.set_budget(&id, &currency, 0)?;
            }
            log.budget(&id)
        })?;
        let row = row.unwrap_or(BudgetRow {
            id: campaign.to_string(),
            currency: self.currency.clone(),
            total: 0,
            reserved: 0,
            spent: 0,
        });
        let ledger: Arc<dyn Ledger> = if let Some(holder) = &self.holder {
            Arc::new(SharedLedger::new(Arc::clone(&self.pool), holder, &row))
        } else {
            Arc::new(OwnedLedger::from_row(&row))
        };
        self.ledgers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(campaign.to_string(), Arc::clone(&ledger));
        Ok(ledger)
    }

    pub fn ledger_of(&self, campaign: &str) -> Option<Arc<dyn Ledger>> {
        self.ledgers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(campaign)
            .cloned()
    }

    fn build(&self, row: &PolicyRow) -> Result<Arc<DecisionEngine>, ServerError> {
        if let Some(e) = self
            .engines
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&row.version)
        {
            return Ok(Arc::clone(e));
        }
        let config: EngineConfig = serde_json::from_str(&row.config)
            .map_err(|e| ServerError::Config(format!("stored policy `{}`: {e}", row.version)))?;
        let mut engine = DecisionEngine::new(config.clone())?;
        if let Some(risk) = &self.risk {
            engine = engine.with_risk(Arc::clone(risk));
        }
        for b in &config.budgets {
            let ledger = self.ledger(&b.campaign)?;
            engine = engine.with_ledger(&b.campaign, ledger)?;
        }
        if let Some((id, model)) = &*self.response.read().unwrap_or_else(|e| e.into_inner()) {
            if let Err(e) = engine.set_response_model(id, model.clone()) {
                tracing::warn!(
                    "policy {} keeps its own models: response model {id}: {e}",
                    row.version
                );
            }
        }
        if let Some(l) = &self.model_state().lifetime_value {
            engine.set_lifetime_value(Some(l.value))?;
        }
        let engine = Arc::new(engine);
        self.engines
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(row.version.clone(), Arc::clone(&engine));
        Ok(engine)
    }

    /// Re-reads the registry from the store.
    pub fn refresh(&self) -> Result<(), ServerError> {
        let rows = self.pool.with(|log| log.policies())?;
        let mut active = None;
        // Every policy's engine is built here, on a blocking thread, so that handlers find them
        // ready (outcomes teach the policy that decided, active or not).
        for row in &rows {
            if let Err(e) = self.build(row) {
                tracing::warn!("policy {}: {e}", row.version);
            }
        }
        for row in rows.iter().filter(|r| r.active) {
            let engine = self.build(row)?;
            let features = feature_sources(engine.config())?;
            active = Some(Arc::new(Policy {
                version: row.version.clone(),
                engine,
                features,
                apprentice: row.apprentice,
            }));
        }
        *self.active.write().unwrap_or_else(|e| e.into_inner()) = active;
        *self.rows.write().unwrap_or_else(|e| e.into_inner()) = rows;
        self.refresh_embeddings()?;
        self.refresh_model()?;
        self.refresh_lifetime_value()?;
        for l in self
            .ledgers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            l.refresh();
        }
        Ok(())
    }

    /// Follows the registry's active response model: a new one is checked and then scores in
    /// every engine (the active policy's ladder must be covered, or it is refused and the previous
    /// scorer stays); none active puts the engines back on their own models.
    fn refresh_model(&self) -> Result<(), ServerError> {
        let id = self.pool.with(|log| log.active_model_id(RESPONSE_KIND))?;
        let state = self.model_state();
        let refused = state.refused.as_ref().map(|r| &r.model_id);
        if id.is_some() && id.as_ref() == refused {
            return Ok(());
        }
        if id == state.serving {
            // A refused model was rolled back past: the serving one is the registry's again.
            self.model
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .refused = None;
            return Ok(());
        }
        // Only now, with the id changed, is the artifact read.
        let row = match &id {
            Some(_) => self.pool.with(|log| log.active_model(RESPONSE_KIND))?,
            None => None,
        };
        let engines: Vec<Arc<DecisionEngine>> = self
            .engines
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let Some(row) = row else {
            for e in &engines {
                e.clear_response_model();
            }
            *self.response.write().unwrap_or_else(|e| e.into_inner()) = None;
            self.drift.clear();
            let mut state = self.model.write().unwrap_or_else(|e| e.into_inner());
            state.serving = None;
            state.refused = None;
            return Ok(());
        };
        let embeddings = self
            .embeddings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let checked = load_response_model(&row, embeddings.as_ref().map(|(_, e)| e.as_ref()))
            .and_then(|model| {
                if let Some(p) = self.active() {
                    p.engine
                        .set_response_model(&row.id, model.clone())
                        .map_err(|e| {
                            format!("model `{}` cannot score policy {}: {e}", row.id, p.version)
                        })?;
                }
                Ok(model)
            });
        match checked {
            Ok(model) => {
                for e in &engines {
                    if let Err(why) = e.set_response_model(&row.id, model.clone()) {
                        tracing::warn!(
                            "model {} does not fit policy {}: {why}",
                            row.id,
                            e.config().name
                        );
                    }
                }
                tracing::info!("response model {} scores the offers", row.id);
                *self
                    .scoring_embeddings
                    .write()
                    .unwrap_or_else(|e| e.into_inner()) = embeddings
                    .filter(|_| model.feature_spec != crate::models::serving_spec_id())
                    .map(|(_, e)| e);
                self.track_drift(&row);
                *self.response.write().unwrap_or_else(|e| e.into_inner()) =
                    Some((row.id.clone(), model));
                let mut state = self.model.write().unwrap_or_else(|e| e.into_inner());
                state.serving = Some(row.id);
                state.refused = None;
            }
            Err(reason) => {
                tracing::warn!("refused {reason}; the previous scorer keeps serving");
                self.model
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .refused = Some(Refusal {
                    model_id: row.id,
                    reason,
                });
            }
        }
        Ok(())
    }

    /// Makes the decisions of `row`'s training window the reference of the live drift gauges (a
    /// model without a window, or a log that cannot be read, leaves no reference: said once).
    fn track_drift(&self, row: &discount_store::model_registry::ModelRow) {
        let (Some(from), Some(to)) = (row.window_from, row.window_to) else {
            self.drift.clear();
            return;
        };
        let names = self
            .active()
            .map(|p| p.engine.config().model.features.clone())
            .unwrap_or_default();
        match self.pool.with(|log| log.joined_decisions(from, to)) {
            Ok(reference) => self.drift.track(&row.id, &names, &reference),
            Err(e) => {
                tracing::warn!("no drift reference for model {}: {}", row.id, e);
                self.drift.clear();
            }
        }
    }

    /// Drift of what the serving model is fed.
    pub fn drift(&self) -> &crate::drift::LiveDrift {
        &self.drift
    }

    /// Follows the registry's active CF model; a change makes the response model be checked
    /// again (the feature specs it may use change with it).
    fn refresh_embeddings(&self) -> Result<(), ServerError> {
        let id = self.pool.with(|log| log.active_model_id(CF_KIND))?;
        let current = self
            .embeddings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(id, _)| id.clone());
        let refused = self
            .embeddings_refused
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if id == current || (id.is_some() && id == refused) {
            return Ok(());
        }
        let row = match &id {
            Some(_) => self.pool.with(|log| log.active_model(CF_KIND))?,
            None => None,
        };
        let loaded = match &row {
            None => None,
            Some(r) => match load_embeddings(r) {
                Ok(e) => Some((r.id.clone(), Arc::new(e))),
                Err(why) => {
                    tracing::warn!("refused CF {why}; the previous vectors stay");
                    *self
                        .embeddings_refused
                        .write()
                        .unwrap_or_else(|e| e.into_inner()) = id;
                    return Ok(());
                }
            },
        };
        *self.embeddings.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        let mut state = self.model.write().unwrap_or_else(|e| e.into_inner());
        state.serving = None;
        state.refused = None;
        Ok(())
    }

    /// The customer vectors the serving response model reads, if it reads any.
    pub fn scoring_embeddings(&self) -> Option<Arc<CustomerEmbeddings>> {
        self.scoring_embeddings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Follows the registry's active lifetime-value model: its new-buyer value prices first
    /// orders in every engine; a broken one is reported and the previous value kept.
    fn refresh_lifetime_value(&self) -> Result<(), ServerError> {
        let id = self.pool.with(|log| log.active_model_id(LTV_KIND))?;
        let current = self.model_state().lifetime_value;
        if id.as_ref() == current.as_ref().map(|l| &l.model_id) {
            return Ok(());
        }
        let row = match &id {
            Some(_) => self.pool.with(|log| log.active_model(LTV_KIND))?,
            None => None,
        };
        let value = match &row {
            None => None,
            Some(r) => match lifetime_value_of(r, self.cost_ratio) {
                Ok(v) => Some(LifetimeValue {
                    model_id: r.id.clone(),
                    value: v,
                }),
                Err(why) => {
                    tracing::warn!("refused lifetime-value {why}; the previous value stays");
                    return Ok(());
                }
            },
        };
        for e in self
            .engines
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            e.set_lifetime_value(value.as_ref().map(|l| l.value))?;
        }
        if let Some(l) = &value {
            tracing::info!(
                "lifetime-value model {} prices a new buyer at {:.0} minor units",
                l.model_id,
                l.value
            );
        }
        self.model
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .lifetime_value = value;
        Ok(())
    }

    /// The response model serving and the last refusal.
    pub fn model_state(&self) -> ModelState {
        self.model.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn active(&self) -> Option<Arc<Policy>> {
        self.active
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The engine of a policy by version, as built by the last refresh.
    pub fn engine(&self, version: &str) -> Option<Arc<DecisionEngine>> {
        self.engines
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(version)
            .cloned()
    }

    pub fn rows(&self) -> Vec<PolicyRow> {
        self.rows.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn campaigns(&self) -> Vec<(String, Arc<dyn Ledger>)> {
        let mut v: Vec<_> = self
            .ledgers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, l)| (k.clone(), Arc::clone(l)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}
