//! The read-audit writer: group commit of concurrent reads' rows.

use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::mpsc;

use super::{AuditEntry, append};

/// The read-audit row could not be made durable: the read must be refused.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the audit trail cannot be written")]
pub struct AuditUnavailable;

type Ack = tokio::sync::oneshot::Sender<Result<(), AuditUnavailable>>;

/// Writes read-audit rows from a background task, group-committing the rows of concurrent
/// callers: it takes what is queued, writes it in one transaction, and tells each caller.
#[derive(Clone, Debug)]
pub struct AuditWriter {
    tx: mpsc::Sender<(AuditEntry, Option<Ack>)>,
}

/// Rows per group commit at most.
const GROUP_MAX: usize = 256;

impl AuditWriter {
    /// Starts the writer.
    pub fn spawn(pool: AnyPool) -> Self {
        let (tx, mut rx) = mpsc::channel::<(AuditEntry, Option<Ack>)>(8192);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(GROUP_MAX);
            let mut acks = Vec::with_capacity(GROUP_MAX);
            loop {
                let Some(first) = rx.recv().await else { break };
                let (e, ack) = first;
                batch.push(e);
                acks.extend(ack);
                // No timer: whatever queued while the last group committed goes in this one.
                while batch.len() < GROUP_MAX {
                    match rx.try_recv() {
                        Ok((e, ack)) => {
                            batch.push(e);
                            acks.extend(ack);
                        }
                        Err(_) => break,
                    }
                }
                let result = write_batch(&pool, &batch).await.map_err(|e| {
                    tracing::error!(error = %e, rows = batch.len(), "audit batch write failed");
                    AuditUnavailable
                });
                for ack in acks.drain(..) {
                    let _ = ack.send(result.clone());
                }
                batch.clear();
            }
        });
        Self { tx }
    }

    /// Queues a row without waiting for it to be written (waits only when the queue is full).
    /// Rows queued when the process dies are lost: use [`AuditWriter::record_durable`] where
    /// the answer must not go out before its audit row.
    pub async fn record(&self, entry: AuditEntry) {
        if self.tx.send((entry, None)).await.is_err() {
            tracing::error!("audit writer stopped; row lost");
        }
    }

    /// Writes a row and returns once it is committed (group commit with concurrent callers).
    pub async fn record_durable(&self, entry: AuditEntry) -> Result<(), AuditUnavailable> {
        let (ack, done) = tokio::sync::oneshot::channel();
        if self.tx.send((entry, Some(ack))).await.is_err() {
            tracing::error!("audit writer stopped; row not written");
            return Err(AuditUnavailable);
        }
        done.await.unwrap_or(Err(AuditUnavailable))
    }

    /// Waits until everything queued so far is written (tests, shutdown).
    pub async fn flush(&self) {
        // A durable marker row would add a row; wait for the queue to drain instead, then for
        // the group in flight.
        while self.tx.capacity() < self.tx.max_capacity() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn write_batch(pool: &AnyPool, batch: &[AuditEntry]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    append(&mut tx, batch).await?;
    tx.commit().await
}
