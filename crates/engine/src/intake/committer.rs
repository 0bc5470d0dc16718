//! Group commit: one writer task takes every pending intake change, runs them in a single
//! transaction ([`Store::intake_batch`]) and answers each caller only after that commit is
//! durable. Under load, one fsync acknowledges a whole batch instead of one change; alone, a
//! change is committed at once (no waiting for company).

use safeguard_store::{IntakeOp, IntakeOutcome, Store};
use tokio::sync::{mpsc, oneshot};

use super::IntakeError;

/// Most changes committed together.
pub const DEFAULT_MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<IntakeOutcome, IntakeError>>;

/// Handle to the writer task; the task ends when every handle is dropped.
#[derive(Debug, Clone)]
pub struct Committer {
    tx: mpsc::Sender<(IntakeOp, Reply)>,
}

impl Committer {
    /// Starts the writer on the current tokio runtime.
    pub fn spawn(store: Store, max_batch: usize) -> Self {
        let (tx, rx) = mpsc::channel(max_batch.max(1) * 4);
        tokio::spawn(write_loop(store, rx, max_batch.max(1)));
        Self { tx }
    }

    /// Queues a change and waits for its durable outcome.
    pub async fn run(&self, op: IntakeOp) -> Result<IntakeOutcome, IntakeError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((op, reply))
            .await
            .map_err(|_| IntakeError::internal("the intake writer has stopped"))?;
        answer
            .await
            .map_err(|_| IntakeError::internal("the intake writer dropped a change"))?
    }
}

async fn write_loop(store: Store, mut rx: mpsc::Receiver<(IntakeOp, Reply)>, max_batch: usize) {
    let mut ops = Vec::with_capacity(max_batch);
    let mut replies = Vec::with_capacity(max_batch);
    while let Some((op, reply)) = rx.recv().await {
        ops.push(op);
        replies.push(reply);
        while ops.len() < max_batch {
            match rx.try_recv() {
                Ok((op, reply)) => {
                    ops.push(op);
                    replies.push(reply);
                }
                Err(_) => break,
            }
        }
        match store.intake_batch(&ops).await {
            Ok(results) => {
                for (reply, result) in replies.drain(..).zip(results) {
                    let _ = reply.send(result.map_err(IntakeError::internal));
                }
            }
            Err(e) => {
                tracing::error!("intake batch of {} failed: {e}", ops.len());
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(IntakeError::new(
                        safeguard_formats::cybertipline::ResponseCode::SaveFailed,
                        "",
                    )));
                }
            }
        }
        ops.clear();
        replies.clear();
    }
}
