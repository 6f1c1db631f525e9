//! Customers' profile states for the decision path, so that a decision does not rebuild the
//! profile from the whole history.
//!
//! Where the states live:
//! - in this process (`server.profile_cache_entries` of them, evicted by the clock algorithm,
//!   an approximation of least recently used), written to the store's `profile_states` table in
//!   the background and at shutdown, so that a restart starts from them instead of rebuilding
//!   everyone;
//! - or in Redis when `server.redis_url` is set, shared by every process that names it: an event
//!   written through one process updates the state the others decide with.
//!
//! A state is trusted only when it matches the store: the number of events it folded and its
//! latest event time must equal the customer's in the store (one indexed read beside the offer
//! history the decision reads anyway). Any other state (events written by another process
//! without Redis, by `discount ingest`, erased, or a lost race between two writers) is rebuilt
//! from the history, so a cached profile is always the rebuild's profile.
//!
//! Every path that stores events calls [`events_stored`] after its commit.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use discount_core::{Event, Timestamp};
use discount_features::{items_named, point_in_time, Catalog, FeatureError, Profile, ProfileState};
use discount_store::decision_log::DecisionLog;
use discount_store::profile_states::EventSummary;
use discount_store::StoreError;
use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

use crate::app::AppState;
use crate::clock::{Clock, SystemClock};
use crate::error::ApiError;
use crate::pool::LogPool;
use crate::redis_shared::RedisShared;

/// Every event of a customer (the store's limit is a signed 64-bit number).
const ALL_EVENTS: usize = i64::MAX as usize;

/// How often states changed in memory are written to the store.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(2);

/// Why a profile could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Features(#[from] FeatureError),
}

impl From<ProfileError> for ApiError {
    fn from(e: ProfileError) -> Self {
        match e {
            ProfileError::Store(e) => ApiError::from(e),
            ProfileError::Features(e) => ApiError::internal("building the profile", e),
        }
    }
}

/// A customer's profile and base feature vector as of a decision.
pub struct LiveProfile {
    pub profile: Profile,
    pub vector: Vec<f64>,
}

/// How a lookup was answered, the label of `discount_profile_cache_lookups_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lookup {
    /// A cached state matched the store.
    Hit,
    /// No state was cached; one was read from the store's table or rebuilt.
    Miss,
    /// A cached state did not match the store and was rebuilt.
    Stale,
    /// No cache (`profile_cache_entries = 0` and no Redis).
    Off,
}

impl Lookup {
    fn label(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Miss => "miss",
            Lookup::Stale => "stale",
            Lookup::Off => "off",
        }
    }
}

/// The cache's metrics: entries held in memory, lookups by result, states rebuilt from the
/// history, states written to the store.
struct CacheMetrics {
    entries: IntGauge,
    lookups: IntCounterVec,
    rebuilds: prometheus::IntCounter,
    saved: prometheus::IntCounter,
}

impl CacheMetrics {
    fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let entries = IntGauge::new(
            "discount_profile_cache_entries",
            "Profile states held in this process's memory",
        )?;
        let lookups = IntCounterVec::new(
            Opts::new(
                "discount_profile_cache_lookups_total",
                "Profile lookups by result: hit, miss, stale (rebuilt) or off",
            ),
            &["result"],
        )?;
        let rebuilds = prometheus::IntCounter::new(
            "discount_profile_rebuilds_total",
            "Profile states rebuilt from a customer's whole history",
        )?;
        let saved = prometheus::IntCounter::new(
            "discount_profile_states_saved_total",
            "Profile states written to the store",
        )?;
        registry.register(Box::new(entries.clone()))?;
        registry.register(Box::new(lookups.clone()))?;
        registry.register(Box::new(rebuilds.clone()))?;
        registry.register(Box::new(saved.clone()))?;
        Ok(Self {
            entries,
            lookups,
            rebuilds,
            saved,
        })
    }
}

/// One cached state: `referenced` is the clock's second-chance bit, `dirty` says the store's
/// copy is older.
struct Slot {
    customer: String,
    state: Arc<ProfileState>,
    referenced: bool,
    dirty: bool,
}

/// A fixed number of slots swept by a clock hand: a slot used since the hand last passed gets a
/// second chance, the first one not used is evicted.
struct ClockCache {
    capacity: usize,
    index: HashMap<String, usize>,
    slots: Vec<Slot>,
    hand: usize,
    /// Dirty states evicted before they were written.
    evicted: Vec<(String, Arc<ProfileState>)>,
}

impl ClockCache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            index: HashMap::new(),
            slots: Vec::new(),
            hand: 0,
            evicted: Vec::new(),
        }
    }

    fn contains(&self, customer: &str) -> bool {
        self.index.contains_key(customer)
    }

    fn get(&mut self, customer: &str) -> Option<Arc<ProfileState>> {
        let slot = &mut self.slots[*self.index.get(customer)?];
        slot.referenced = true;
        Some(Arc::clone(&slot.state))
    }

    fn insert(&mut self, customer: &str, state: Arc<ProfileState>, dirty: bool) {
        if let Some(&i) = self.index.get(customer) {
            let slot = &mut self.slots[i];
            slot.state = state;
            slot.referenced = true;
            slot.dirty |= dirty;
            return;
        }
        let slot = Slot {
            customer: customer.to_string(),
            state,
            referenced: false,
            dirty,
        };
        if self.slots.len() < self.capacity {
            self.index.insert(customer.to_string(), self.slots.len());
            self.slots.push(slot);
            return;
        }
        let victim = loop {
            let at = self.hand % self.slots.len();
            self.hand = at + 1;
            if std::mem::take(&mut self.slots[at].referenced) {
                continue;
            }
            break at;
        };
        let old = std::mem::replace(&mut self.slots[victim], slot);
        self.index.remove(&old.customer);
        self.index.insert(customer.to_string(), victim);
        if old.dirty {
            self.evicted.push((old.customer, old.state));
        }
    }

    /// Applies `f` to the customer's state if it is cached (copying it if a reader holds it).
    fn update(&mut self, customer: &str, f: impl FnOnce(&mut ProfileState)) -> bool {
        let Some(&i) = self.index.get(customer) else {
            return false;
        };
        let slot = &mut self.slots[i];
        f(Arc::make_mut(&mut slot.state));
        slot.dirty = true;
        true
    }

    fn remove(&mut self, customer: &str) {
        let Some(i) = self.index.remove(customer) else {
            return;
        };
        let last = self.slots.len() - 1;
        self.slots.swap_remove(i);
        if i != last {
            let moved = self.slots[i].customer.clone();
            self.index.insert(moved, i);
        }
    }

    /// The states changed since they were last written (evicted ones included); they count as
    /// written from now on.
    fn take_dirty(&mut self) -> Vec<(String, Arc<ProfileState>)> {
        let mut out = std::mem::take(&mut self.evicted);
        for slot in self.slots.iter_mut().filter(|s| s.dirty) {
            slot.dirty = false;
            out.push((slot.customer.clone(), Arc::clone(&slot.state)));
        }
        out
    }
}

/// Where the service keeps profile states. See the module documentation.
pub struct ProfileStates {
    memory: Option<Mutex<ClockCache>>,
    redis: Option<Arc<RedisShared>>,
    metrics: CacheMetrics,
}

impl ProfileStates {
    /// States in Redis when `redis` is given, else up to `capacity` in memory (0: none kept).
    pub fn new(
        capacity: usize,
        redis: Option<Arc<RedisShared>>,
        registry: &Registry,
    ) -> Result<Self, prometheus::Error> {
        let memory =
            (redis.is_none() && capacity > 0).then(|| Mutex::new(ClockCache::new(capacity)));
        Ok(Self {
            memory,
            redis,
            metrics: CacheMetrics::new(registry)?,
        })
    }

    fn cache(&self) -> Option<std::sync::MutexGuard<'_, ClockCache>> {
        self.memory
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The cached state of `customer`, from memory or Redis (a Redis that fails or holds
    /// something unreadable counts as no state: the history is still there).
    fn cached(&self, customer: &str) -> Option<Arc<ProfileState>> {
        if let Some(redis) = &self.redis {
            return match redis.state(customer) {
                Ok(Some(json)) => match ProfileState::from_json(&json) {
                    Ok(s) => Some(Arc::new(s)),
                    Err(e) => {
                        tracing::warn!("the profile state of {customer} in Redis: {e}");
                        None
                    }
                },
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!("reading a profile state from Redis: {e}");
                    None
                }
            };
        }
        self.cache()?.get(customer)
    }

    /// Keeps a state that was built or changed on the decision path.
    fn keep(&self, customer: &str, state: &Arc<ProfileState>) {
        if let Some(redis) = &self.redis {
            let written = state
                .to_json()
                .map_err(|e| e.to_string())
                .and_then(|json| redis.put_state(customer, &json).map_err(|e| e.to_string()));
            if let Err(e) = written {
                tracing::warn!("writing the profile state of {customer} to Redis: {e}");
            }
        } else if let Some(mut cache) = self.cache() {
            cache.insert(customer, Arc::clone(state), true);
            self.metrics.entries.set(cache.slots.len() as i64);
        }
    }

    /// The customer's profile and feature vector as of `now`, on a connection of the decision
    /// log: from the cached state when it matches the store, else from the store's saved state
    /// when that does, else rebuilt from the history (and kept for the next decision).
    pub fn live(
        &self,
        log: &mut dyn DecisionLog,
        customer: &str,
        now: Timestamp,
    ) -> Result<LiveProfile, ProfileError> {
        let caching = self.memory.is_some() || self.redis.is_some();
        let summary = log.event_summary(customer)?;
        let cached = if caching { self.cached(customer) } else { None };
        let was_cached = cached.is_some();
        let (mut state, lookup) = match cached.filter(|s| matches(s, summary)) {
            Some(s) => (s, Lookup::Hit),
            None => {
                let lookup = match (caching, was_cached) {
                    (false, _) => Lookup::Off,
                    (true, true) => Lookup::Stale,
                    (true, false) => Lookup::Miss,
                };
                // A restart starts from the states saved in the store (kept in memory only).
                let saved = if lookup == Lookup::Miss && self.memory.is_some() {
                    log.profile_state(customer)?
                        .and_then(|json| ProfileState::from_json(&json).ok())
                        .filter(|s| matches(s, summary))
                } else {
                    None
                };
                let state = match saved {
                    Some(s) => s,
                    None => {
                        self.metrics.rebuilds.inc();
                        rebuild(log, customer)?
                    }
                };
                (Arc::new(state), lookup)
            }
        };
        self.metrics
            .lookups
            .with_label_values(&[lookup.label()])
            .inc();
        // Items unknown when their events arrived may be in the catalogue now.
        let mut changed = lookup != Lookup::Hit;
        if state.unknown_items().next().is_some() {
            let items: Vec<String> = state.unknown_items().map(str::to_string).collect();
            let catalog: Catalog = log.item_categories(&items)?.into_iter().collect();
            changed |= Arc::make_mut(&mut state).recategorise(&catalog);
        }
        if changed && caching {
            self.keep(customer, &state);
        }
        if state.latest_event().is_some_and(|l| l > now) {
            // Events stamped after `now` (a client clock ahead of ours): the state cannot leave
            // them out, the history can.
            let (events, catalog) = history(log, customer)?;
            let (profile, vector) = point_in_time(customer, &events, &catalog, now)?;
            return Ok(LiveProfile { profile, vector });
        }
        let (profile, vector) = state.point_in_time(now)?;
        Ok(LiveProfile { profile, vector })
    }

    /// Forgets a customer (erased): their state is rebuilt from whatever the store still holds.
    pub fn forget(&self, customer: &str) {
        if let Some(redis) = &self.redis {
            if let Err(e) = redis.delete_states(&[customer.to_string()]) {
                tracing::warn!("deleting a profile state from Redis: {e}");
            }
        } else if let Some(mut cache) = self.cache() {
            cache.remove(customer);
            self.metrics.entries.set(cache.slots.len() as i64);
        }
    }

    /// Applies newly stored events to the states of their customers that are cached (the others
    /// are built when next needed), on a connection of the decision log for the items'
    /// categories.
    pub fn apply(&self, log: &mut dyn DecisionLog, events: &[Event]) -> Result<(), ProfileError> {
        if let Some(redis) = &self.redis {
            return self.apply_in_redis(redis, log, events);
        }
        let wanted: Vec<&Event> = match self.cache() {
            Some(cache) => events
                .iter()
                .filter(|e| cache.contains(&e.user_id))
                .collect(),
            None => return Ok(()),
        };
        if wanted.is_empty() {
            return Ok(());
        }
        let catalog = catalog_of(log, wanted.iter().copied())?;
        let mut cache = match self.cache() {
            Some(c) => c,
            None => return Ok(()),
        };
        let mut failed = Vec::new();
        for e in wanted {
            cache.update(&e.user_id, |state| {
                if state.apply(e, &catalog).is_err() {
                    failed.push(e.user_id.clone());
                }
            });
        }
        // Cannot happen (events are grouped by their own customer); if it did, rebuild.
        for customer in failed {
            cache.remove(&customer);
        }
        self.metrics.entries.set(cache.slots.len() as i64);
        Ok(())
    }

    fn apply_in_redis(
        &self,
        redis: &RedisShared,
        log: &mut dyn DecisionLog,
        events: &[Event],
    ) -> Result<(), ProfileError> {
        let mut by_customer: HashMap<&str, Vec<&Event>> = HashMap::new();
        for e in events {
            by_customer.entry(&e.user_id).or_default().push(e);
        }
        let customers: Vec<String> = by_customer.keys().map(|c| c.to_string()).collect();
        let stored = match redis.states(&customers) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("reading profile states from Redis: {e}");
                return Ok(());
            }
        };
        let held: Vec<(String, String)> = customers
            .into_iter()
            .zip(stored)
            .filter_map(|(c, s)| Some((c, s?)))
            .collect();
        if held.is_empty() {
            return Ok(());
        }
        let catalog = catalog_of(
            log,
            held.iter()
                .flat_map(|(c, _)| by_customer.get(c.as_str()).into_iter().flatten().copied()),
        )?;
        let mut updates = Vec::new();
        let mut dropped = Vec::new();
        for (customer, old) in held {
            let updated = ProfileState::from_json(&old).and_then(|mut state| {
                for e in by_customer.get(customer.as_str()).into_iter().flatten() {
                    state.apply(e, &catalog)?;
                }
                state.to_json()
            });
            match updated {
                Ok(new) => updates.push((customer, old, new)),
                Err(_) => dropped.push(customer),
            }
        }
        match redis.swap_states(&updates) {
            // A state another process changed meanwhile is dropped rather than retried: the
            // next decision rebuilds it from the store, which holds both changes.
            Ok(swapped) => dropped.extend(
                updates
                    .into_iter()
                    .zip(swapped)
                    .filter(|(_, s)| !s)
                    .map(|((c, _, _), _)| c),
            ),
            Err(e) => {
                tracing::warn!("writing profile states to Redis: {e}");
                dropped.extend(updates.into_iter().map(|(c, _, _)| c));
            }
        }
        if let Err(e) = redis.delete_states(&dropped) {
            tracing::warn!("dropping profile states from Redis: {e}");
        }
        Ok(())
    }

    /// Writes the states changed in memory since the last save to the store.
    pub fn save(&self, log: &mut dyn DecisionLog, now: Timestamp) -> Result<usize, ProfileError> {
        let dirty = match self.cache() {
            Some(mut cache) => cache.take_dirty(),
            None => return Ok(0),
        };
        // The latest of each customer's (an evicted one may also be cached again).
        let mut latest: HashMap<String, Arc<ProfileState>> = HashMap::new();
        for (customer, state) in dirty {
            latest.insert(customer, state);
        }
        let mut rows = Vec::with_capacity(latest.len());
        for (customer, state) in latest {
            rows.push((customer, state.to_json()?));
        }
        if let Err(e) = log.save_profile_states(&rows, now.0) {
            // Mark them changed again so that the next save retries.
            if let Some(mut cache) = self.cache() {
                let kept: HashSet<&str> = rows.iter().map(|(c, _)| c.as_str()).collect();
                for slot in cache.slots.iter_mut() {
                    slot.dirty |= kept.contains(slot.customer.as_str());
                }
            }
            return Err(e.into());
        }
        self.metrics.saved.inc_by(rows.len() as u64);
        Ok(rows.len())
    }
}

/// Whether a state folded exactly the events the store holds for its customer.
fn matches(state: &ProfileState, summary: EventSummary) -> bool {
    state.events() == summary.events && state.latest_event().map(|t| t.0) == summary.latest
}

/// The customer's whole history and the categories of the items it names.
fn history(log: &mut dyn DecisionLog, customer: &str) -> Result<(Vec<Event>, Catalog), StoreError> {
    let events = log.events_of(customer, ALL_EVENTS)?;
    let catalog = log
        .item_categories(&items_named(&events))?
        .into_iter()
        .collect();
    Ok((events, catalog))
}

/// The state rebuilt from the customer's whole history.
fn rebuild(log: &mut dyn DecisionLog, customer: &str) -> Result<ProfileState, ProfileError> {
    let (events, catalog) = history(log, customer)?;
    Ok(ProfileState::rebuild(customer, &events, &catalog)?)
}

fn catalog_of<'a>(
    log: &mut dyn DecisionLog,
    events: impl Iterator<Item = &'a Event>,
) -> Result<Catalog, StoreError> {
    let events: Vec<Event> = events.cloned().collect();
    Ok(log
        .item_categories(&items_named(&events))?
        .into_iter()
        .collect())
}

/// Events were stored (by `POST /v1/events`, the NATS intake or any other path that writes
/// events through the service): brings the profile states of their customers up to date. Call it
/// after the events are committed, with the events stored (not the duplicates).
pub async fn events_stored(state: &AppState, events: Vec<Event>) {
    if events.is_empty() || !state.profiles.caching() {
        return;
    }
    let profiles = Arc::clone(&state.profiles);
    let applied = state
        .pool
        .run(move |log| Ok(profiles.apply(log, &events)))
        .await;
    match applied {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("updating profile states: {e}"),
        Err(e) => tracing::warn!("updating profile states: {}", e.message),
    }
}

impl ProfileStates {
    /// Whether states are kept at all (in memory or in Redis).
    pub fn caching(&self) -> bool {
        self.memory.is_some() || self.redis.is_some()
    }

    /// Profile states held in memory now (`None` when they are kept in Redis or not at all).
    pub fn cached_states(&self) -> Option<usize> {
        self.memory
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()).slots.len())
    }

    /// Lookups so far by result (`hit`, `miss`, `stale`, `off`), as `/metrics` counts them.
    pub fn lookup_counts(&self) -> std::collections::BTreeMap<String, u64> {
        [Lookup::Hit, Lookup::Miss, Lookup::Stale, Lookup::Off]
            .into_iter()
            .map(|l| {
                let n = self.metrics.lookups.with_label_values(&[l.label()]).get();
                (l.label().to_string(), n)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// Saves the changed states every [`SAVE_INTERVAL`] on its own thread; ends with the pool.
pub fn start_saver(profiles: Arc<ProfileStates>, pool: std::sync::Weak<LogPool>) {
    if profiles.memory.is_none() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("profile-states".into())
        .spawn(move || loop {
            std::thread::sleep(SAVE_INTERVAL);
            let Some(pool) = pool.upgrade() else { break };
            save_now(&profiles, &pool);
        });
    if let Err(e) = spawned {
        tracing::warn!("no thread saving profile states ({e}); they are saved at shutdown");
    }
}

/// Writes the changed states now (at shutdown, and from the saver thread).
pub fn save_now(profiles: &ProfileStates, pool: &LogPool) {
    let now = SystemClock.now();
    match pool.with(|log| Ok(profiles.save(log, now))) {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!("saving profile states: {e}"),
        Err(e) => tracing::warn!("saving profile states: {e}"),
    }
}
