//! Group commit for the decision log: request handlers hand their decision to one writer thread
//! and wait; the writer takes everything that queued up meanwhile and commits it in one
//! transaction, then answers each. A decision is in the store before its response is sent, and
//! one commit carries many decisions when the service is busy.

use std::sync::mpsc;

use crate::error::ServerError;
use discount_store::decision_log::{open_decision_log, DecisionRow, Holds, Recorded};
use tokio::sync::oneshot;

use crate::error::ApiError;

type Reply = oneshot::Sender<Result<Recorded, String>>;

/// Handle to the writer thread; dropping every handle lets the thread finish what is queued and
/// exit.
#[derive(Clone)]
pub struct DecisionWriter {
    tx: mpsc::Sender<(DecisionRow, Reply)>,
}

/// Most decisions committed in one transaction.
const MAX_GROUP: usize = 512;

impl DecisionWriter {
    /// Starts the writer on its own connection to `url`.
    /// `holder`: `None` when this process owns the budgets (holds are applied with the
    /// decisions), else the process id under which its ledger took the holds.
    pub fn start(url: &str, holder: Option<String>) -> Result<Self, ServerError> {
        let mut log = open_decision_log(url)?;
        let (tx, rx) = mpsc::channel::<(DecisionRow, Reply)>();
        let url = url.to_string();
        std::thread::Builder::new()
            .name("decision-writer".into())
            .spawn(move || {
                let mut rows = Vec::with_capacity(MAX_GROUP);
                let mut replies = Vec::with_capacity(MAX_GROUP);
                while let Ok(first) = rx.recv() {
                    rows.push(first.0);
                    replies.push(first.1);
                    while rows.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok((row, reply)) => {
                                rows.push(row);
                                replies.push(reply);
                            }
                            Err(_) => break,
                        }
                    }
                    let holds = match &holder {
                        None => Holds::Apply,
                        Some(h) => Holds::TakenBy(h),
                    };
                    match log.record_decisions(&rows, holds) {
                        Ok(recorded) => {
                            for (reply, r) in replies.drain(..).zip(recorded) {
                                let _ = reply.send(Ok(r));
                            }
                        }
                        Err(e) => {
                            let message = e.to_string();
                            for reply in replies.drain(..) {
                                let _ = reply.send(Err(message.clone()));
                            }
                            // The connection may be broken: open a fresh one for the next group.
                            match open_decision_log(&url) {
                                Ok(fresh) => log = fresh,
                                Err(e) => {
                                    tracing::error!("reopening the decision log: {e}")
                                }
                            }
                        }
                    }
                    rows.clear();
                }
            })
            .map_err(|source| ServerError::Io {
                context: "starting the decision writer".into(),
                source,
            })?;
        Ok(Self { tx })
    }

    /// Records one decision; returns once it is committed.
    pub async fn record(&self, row: DecisionRow) -> Result<Recorded, ApiError> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send((row, reply))
            .map_err(|_| ApiError::unavailable("the service is shutting down"))?;
        match wait.await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(ApiError::internal("recording the decision", e)),
            Err(_) => Err(ApiError::unavailable("the service is shutting down")),
        }
    }
}
