//! The audit trail (审计日志): who read or changed personal data, on whose behalf, when, with
//! which outcome and trace id.
//!
//! Rows are append-only and chained: each row's `hash` is SHA-256 over the previous row's hash
//! and this row's fields, so an altered, deleted or reordered row breaks the chain and
//! [`verify`] names the first broken sequence number (GB/T 22239 level 3: records cannot be
//! altered or deleted undetected). The hash sits behind [`chain_hash`] so SM3 can replace
//! SHA-256 by configuration where commercial cryptography is required.
//!
//! Changes are audited inside the transaction that makes them ([`append`]); reads go through
//! [`AuditWriter`], which batches rows in the background so a hot read RPC does not wait on a
//! write transaction.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, AnyPool, Row};
use tokio::sync::mpsc;

use crate::Principal;

/// Rows per multi-row INSERT (11 parameters each). Small on purpose: SQLite looks a `$n`
/// parameter's name up by a linear scan, so binding costs grow with the square of the
/// parameters in one statement (at 64 rows this was 6% of a cached read's CPU).
const ROWS_PER_INSERT: usize = 16;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// DDL, portable across SQLite and PostgreSQL; run by `kit::store` on connect.
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS audit_log (
        seq BIGINT PRIMARY KEY,
        at_ms BIGINT NOT NULL,
        actor TEXT NOT NULL,
        on_behalf_of TEXT NOT NULL,
        action TEXT NOT NULL,
        object TEXT NOT NULL,
        outcome TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        purpose TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_head (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL)",
    "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000') ON CONFLICT (id) DO NOTHING",
];

/// One audited action. `object` names the record (an id or a blind index), never an
/// identity number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub actor: String,
    pub on_behalf_of: String,
    pub action: String,
    pub object: String,
    pub outcome: String,
    pub trace_id: String,
    pub purpose: String,
}

impl AuditEntry {
    pub fn new(principal: &Principal, action: &str, object: &str) -> Self {
        Self {
            actor: principal.subject.clone(),
            on_behalf_of: principal.on_behalf_of_subject().to_owned(),
            action: action.to_owned(),
            object: object.to_owned(),
            outcome: "ok".into(),
            trace_id: String::new(),
            purpose: String::new(),
        }
    }

    pub fn with_outcome(mut self, outcome: &str) -> Self {
        self.outcome = outcome.into();
        self
    }

    pub fn with_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = trace_id.into();
        self
    }

    pub fn with_purpose(mut self, purpose: &str) -> Self {
        self.purpose = purpose.into();
        self
    }
}

/// A stored audit row.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub seq: i64,
    pub at_ms: i64,
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// The chain hash. Fields are length-prefixed so that moving text between fields changes it.
pub fn chain_hash(prev_hash: &str, seq: i64, at_ms: i64, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(seq.to_be_bytes());
    h.update(at_ms.to_be_bytes());
    for field in [
        &e.actor,
        &e.on_behalf_of,
        &e.action,
        &e.object,
        &e.outcome,
        &e.trace_id,
        &e.purpose,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Appends entries inside the caller's transaction. The head row's lock serialises appenders,
/// so the chain has no forks.
pub async fn append(conn: &mut AnyConnection, entries: &[AuditEntry]) -> Result<(), sqlx::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let head = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(entries.len() as i64)
        .fetch_one(&mut *conn)
        .await?;
    let last: i64 = head.try_get("seq")?;
    let mut prev: String = head.try_get("hash")?;
    let mut seq = last - entries.len() as i64;
    let at_ms = now_ms();
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        seq += 1;
        let hash = chain_hash(&prev, seq, at_ms, e);
        rows.push((seq, e, std::mem::replace(&mut prev, hash.clone()), hash));
    }
    // Many rows per statement: a read-audit batch is hundreds of rows, and on SQLite every
    // statement is a round trip to the driver's worker thread.
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO audit_log (seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 11;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${},${},${},${},${},${},${},${},${},${},${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9,
                b + 10,
                b + 11
            ));
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (seq, e, prev_hash, hash) in chunk {
            query = query
                .bind(*seq)
                .bind(at_ms)
                .bind(e.actor.as_str())
                .bind(e.on_behalf_of.as_str())
                .bind(e.action.as_str())
                .bind(e.object.as_str())
                .bind(e.outcome.as_str())
                .bind(e.trace_id.as_str())
                .bind(e.purpose.as_str())
                .bind(prev_hash.as_str())
                .bind(hash.as_str());
        }
        query.execute(&mut *conn).await?;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Where the chain is broken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainBreak {
    #[error("audit row {seq} does not match its hash")]
    Altered { seq: i64 },
    #[error("audit row {seq} does not follow row {previous}")]
    Gap { seq: i64, previous: i64 },
    #[error("audit head says {head} rows but the log ends at {last}")]
    Truncated { head: i64, last: i64 },
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Broken(#[from] ChainBreak),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// Recomputes the whole chain; returns the number of rows checked.
///
/// The head is read first: every row up to it was committed with it, so appends running
/// concurrently (the read-audit writer) cannot make an intact chain look truncated.
pub async fn verify(pool: &AnyPool) -> Result<i64, VerifyError> {
    let head: i64 = sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await?
        .try_get("seq")?;
    let rows = list(pool, 0, head).await?;
    let mut prev = GENESIS.to_owned();
    let mut last = 0;
    for r in rows.iter().take_while(|r| r.seq <= head) {
        if r.seq != last + 1 {
            return Err(ChainBreak::Gap {
                seq: r.seq,
                previous: last,
            }
            .into());
        }
        if r.prev_hash != prev || chain_hash(&prev, r.seq, r.at_ms, &r.entry) != r.hash {
            return Err(ChainBreak::Altered { seq: r.seq }.into());
        }
        prev = r.hash.clone();
        last = r.seq;
    }
    if head != last {
        return Err(ChainBreak::Truncated { head, last }.into());
    }
    Ok(last)
}

/// Rows with `seq > after`, oldest first, at most `limit`.
pub async fn list(pool: &AnyPool, after: i64, limit: i64) -> Result<Vec<AuditRecord>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash
         FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditRecord {
                seq: r.try_get("seq")?,
                at_ms: r.try_get("at_ms")?,
                entry: AuditEntry {
                    actor: r.try_get("actor")?,
                    on_behalf_of: r.try_get("on_behalf_of")?,
                    action: r.try_get("action")?,
                    object: r.try_get("object")?,
                    outcome: r.try_get("outcome")?,
                    trace_id: r.try_get("trace_id")?,
                    purpose: r.try_get("purpose")?,
                },
                prev_hash: r.try_get("prev_hash")?,
                hash: r.try_get("hash")?,
            })
        })
        .collect()
}

/// Writes read-audit rows in batches from a background task.
#[derive(Clone, Debug)]
pub struct AuditWriter {
    tx: mpsc::Sender<AuditEntry>,
}

impl AuditWriter {
    /// Starts the writer. Rows queued when the process dies before a flush are lost; that is the
    /// price of not putting a write transaction on every read, and why changes use [`append`].
    pub fn spawn(pool: AnyPool) -> Self {
        let (tx, mut rx) = mpsc::channel::<AuditEntry>(8192);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(256);
            loop {
                let Some(first) = rx.recv().await else { break };
                batch.push(first);
                let deadline = tokio::time::sleep(Duration::from_millis(20));
                tokio::pin!(deadline);
                while batch.len() < 256 {
                    tokio::select! {
                        _ = &mut deadline => break,
                        next = rx.recv() => match next { Some(e) => batch.push(e), None => break },
                    }
                }
                if let Err(e) = write_batch(&pool, &batch).await {
                    tracing::error!(error = %e, rows = batch.len(), "audit batch write failed");
                }
                batch.clear();
            }
        });
        Self { tx }
    }

    /// Queues a row; waits only when the queue is full (back-pressure instead of dropping).
    pub async fn record(&self, entry: AuditEntry) {
        if self.tx.send(entry).await.is_err() {
            tracing::error!("audit writer stopped; row lost");
        }
    }

    /// Waits until everything queued so far is written (tests, shutdown).
    pub async fn flush(&self) {
        // The writer drains in order, so once a permit for the whole capacity is free the
        // queue is empty; then give the in-flight batch time to commit.
        while self.tx.capacity() < self.tx.max_capacity() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
}

async fn write_batch(pool: &AnyPool, batch: &[AuditEntry]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    append(&mut tx, batch).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pool() -> (tempfile::TempDir, AnyPool) {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("tmp");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("pool");
        for s in SCHEMA {
            sqlx::query(*s).execute(&pool).await.expect("schema");
        }
        (dir, pool)
    }

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            actor: "registrar-1".into(),
            on_behalf_of: String::new(),
            action: action.into(),
            object: "person:ab12".into(),
            outcome: "ok".into(),
            trace_id: "t".into(),
            purpose: "registration".into(),
        }
    }

    async fn append_one(pool: &AnyPool, e: AuditEntry) {
        let mut tx = pool.begin().await.expect("tx");
        append(&mut tx, &[e]).await.expect("append");
        tx.commit().await.expect("commit");
    }

    #[tokio::test]
    async fn an_untouched_chain_verifies() {
        let (_d, pool) = pool().await;
        for a in ["read", "register", "read"] {
            append_one(&pool, entry(a)).await;
        }
        assert_eq!(verify(&pool).await.expect("intact"), 3);
    }

    #[tokio::test]
    async fn an_altered_row_is_detected() {
        let (_d, pool) = pool().await;
        for a in ["read", "register", "read"] {
            append_one(&pool, entry(a)).await;
        }
        sqlx::query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
            .execute(&pool)
            .await
            .expect("tamper");
        match verify(&pool).await {
            Err(VerifyError::Broken(ChainBreak::Altered { seq })) => assert_eq!(seq, 2),
            other => panic!("tampering not detected: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_deleted_last_row_is_detected() {
        let (_d, pool) = pool().await;
        for a in ["read", "register"] {
            append_one(&pool, entry(a)).await;
        }
        sqlx::query("DELETE FROM audit_log WHERE seq = 2")
            .execute(&pool)
            .await
            .expect("delete");
        assert!(matches!(
            verify(&pool).await,
            Err(VerifyError::Broken(ChainBreak::Truncated { .. }))
        ));
    }

    #[tokio::test]
    async fn a_deleted_middle_row_is_detected() {
        let (_d, pool) = pool().await;
        for a in ["read", "register", "read"] {
            append_one(&pool, entry(a)).await;
        }
        sqlx::query("DELETE FROM audit_log WHERE seq = 2")
            .execute(&pool)
            .await
            .expect("delete");
        assert!(matches!(
            verify(&pool).await,
            Err(VerifyError::Broken(ChainBreak::Gap {
                seq: 3,
                previous: 1
            }))
        ));
    }

    #[tokio::test]
    async fn a_batch_larger_than_one_insert_statement_chains_in_order() {
        let (_d, pool) = pool().await;
        append_one(&pool, entry("before")).await;
        let batch: Vec<_> = (0..150).map(|i| entry(&format!("read-{i}"))).collect();
        let mut tx = pool.begin().await.expect("tx");
        append(&mut tx, &batch).await.expect("append");
        tx.commit().await.expect("commit");
        append_one(&pool, entry("after")).await;
        assert_eq!(verify(&pool).await.expect("intact"), 152);
        let rows = list(&pool, 0, 200).await.expect("list");
        assert_eq!(rows[1].entry.action, "read-0");
        assert_eq!(rows[150].entry.action, "read-149");
        assert_eq!(rows[151].entry.action, "after");
    }

    #[tokio::test]
    async fn the_batch_writer_chains_reads() {
        let (_d, pool) = pool().await;
        let w = AuditWriter::spawn(pool.clone());
        for _ in 0..50 {
            w.record(entry("read")).await;
        }
        w.flush().await;
        assert_eq!(verify(&pool).await.expect("intact"), 50);
    }
}
