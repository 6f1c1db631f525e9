//! A small pool of decision-log connections (the store's clients are blocking, one thread at a
//! time), used from `spawn_blocking` so that the async workers never wait on the database.

use std::sync::{Arc, Mutex};

use discount_store::decision_log::{open_decision_log, DecisionLog};
use discount_store::StoreError;

use crate::error::ApiError;

pub struct LogPool {
    url: String,
    idle: Mutex<Vec<Box<dyn DecisionLog>>>,
}

impl LogPool {
    /// Opens one connection now (running migrations), more on demand.
    pub fn open(url: &str) -> Result<Arc<Self>, StoreError> {
        let first = open_decision_log(url)?;
        Ok(Arc::new(Self {
            url: url.to_string(),
            idle: Mutex::new(vec![first]),
        }))
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `f` on an idle connection (opening one if none is idle). A connection that failed
    /// is dropped rather than reused, since it may be broken.
    pub fn with<R>(
        &self,
        f: impl FnOnce(&mut dyn DecisionLog) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match taken {
            Some(c) => c,
            None => open_decision_log(&self.url)?,
        };
        let result = f(conn.as_mut());
        if result.is_ok() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
        result
    }

    /// [`LogPool::with`] on the blocking thread pool.
    pub async fn run<R: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut dyn DecisionLog) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|e| ApiError::internal("a store task", e))?
            .map_err(ApiError::from)
    }
}

impl Drop for LogPool {
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|e| e.into_inner()));
        drop(OffRuntime::new(idle));
    }
}

/// Owns a blocking client and drops it off the async runtime: the PostgreSQL client blocks on a
/// runtime of its own when dropped, which must not happen on an async worker thread.
pub struct OffRuntime<T: Send + 'static>(Option<T>);

impl<T: Send + 'static> OffRuntime<T> {
    pub fn new(value: T) -> Self {
        Self(Some(value))
    }
}

impl<T: Send + 'static> std::ops::Deref for OffRuntime<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(v) => v,
            None => unreachable!("OffRuntime holds its value until dropped"),
        }
    }
}

impl<T: Send + 'static> std::ops::DerefMut for OffRuntime<T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.0 {
            Some(v) => v,
            None => unreachable!("OffRuntime holds its value until dropped"),
        }
    }
}

impl<T: Send + 'static> Drop for OffRuntime<T> {
    fn drop(&mut self) {
        if let Some(v) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new()
                    .name("store-close".into())
                    .spawn(move || drop(v));
            }
        }
    }
}
