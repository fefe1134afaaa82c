//! The audit trail (审计日志): who read or changed personal data, on whose behalf, when, with
//! which outcome and trace id.
//!
//! Rows are append-only and chained: each row's `hash` is SHA-256 over the previous row's hash
//! and this row's fields, so an altered, deleted or reordered row breaks the chain and
//! [`verify`] names the first broken sequence number (GB/T 22239 level 3: records cannot be
//! altered or deleted undetected). The hash sits behind [`chain_hash`] so SM3 can replace
//! SHA-256 by configuration where commercial cryptography is required.
//!
//! The trail is a log (transparency-log style, RFC 9162's signed tree heads as the model):
//! [`append`] inserts rows into `audit_log` with a random negative `seq` (pending: no hash
//! yet), without any serial lock, in the caller's transaction (a change and its audit row
//! commit or roll back together). One sealer per service ([`seal`], run by `kit::rpc`) chains
//! pending rows in batches under the `audit_head` lock (held only by sealers), and signs the
//! chain head at an interval ([`crate::evidence`]). [`verify`] and [`list`] seal first, so they
//! see every committed row. Reads go through [`AuditWriter`], which group-commits the rows of
//! concurrent reads; [`AuditWriter::record_durable`] returns once the row is committed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, AnyPool, Row};
use tokio::sync::mpsc;

use crate::Principal;

/// Rows per multi-row INSERT (11 parameters each). Small on purpose: SQLite looks a `$n`
/// parameter's name up by a linear scan, so binding costs grow with the square of the
/// parameters in one statement (at 64 rows this was 6% of a cached read's CPU).
const ROWS_PER_INSERT: usize = 16;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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
    // Signed chain heads: one per sealed head, re-signed in place while the head stands still.
    "CREATE TABLE IF NOT EXISTS audit_signature (
        seq BIGINT PRIMARY KEY,
        hash TEXT NOT NULL,
        signed_at_ms BIGINT NOT NULL,
        alg TEXT NOT NULL,
        key_id TEXT NOT NULL,
        public_key TEXT NOT NULL,
        signature TEXT NOT NULL)",
];

/// Pending rows chained per sealing transaction.
const SEAL_BATCH: i64 = 1000;

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

/// Appends entries inside the caller's transaction, without a lock: the rows wait, with a
/// random negative `seq` and no hash, for the sealer. An error here must fail the caller's change (fail closed).
pub async fn append(conn: &mut AnyConnection, entries: &[AuditEntry]) -> Result<(), sqlx::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let at_ms = now_ms();
    // Rows of one append keep their order: consecutive place holders from a random base.
    let mut seq = pending_base();
    // Many rows per statement: a read-audit batch is hundreds of rows, and on SQLite every
    // statement is a round trip to the driver's worker thread.
    for chunk in entries.chunks(ROWS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO audit_log (seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash) VALUES ",
        );
        push_placeholders(&mut sql, chunk.len(), 11);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            query = query
                .bind(seq)
                .bind(at_ms)
                .bind(e.actor.as_str())
                .bind(e.on_behalf_of.as_str())
                .bind(e.action.as_str())
                .bind(e.object.as_str())
                .bind(e.outcome.as_str())
                .bind(e.trace_id.as_str())
                .bind(e.purpose.as_str())
                .bind("")
                .bind("");
            seq += 1;
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The first pending place holder of an append: random in [-2^62, -2^32], so an append's
/// rows (fewer than 2^32) stay negative (collisions are about as likely as a UUID's).
fn pending_base() -> i64 {
    -(1_i64 << 32) - (rand::random::<u64>() >> 3) as i64
}

/// `($1,..,$w),($w+1,..)` for `rows` rows of `width` parameters.
fn push_placeholders(sql: &mut String, rows: usize, width: usize) {
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for j in 0..width {
            if j > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", i * width + j + 1));
        }
        sql.push(')');
    }
}

/// The chain head: the last sealed sequence number and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

/// Chains every pending row into `audit_log` (oldest first), in batches of [`SEAL_BATCH`],
/// each in one transaction under the `audit_head` lock. Returns the new head.
pub async fn seal(pool: &AnyPool) -> Result<Head, sqlx::Error> {
    seal_on(&mut *pool.acquire().await?).await
}

/// [`seal`] on a connection the caller holds (a read in progress, whose store may have only
/// that one connection).
pub async fn seal_on(conn: &mut AnyConnection) -> Result<Head, sqlx::Error> {
    loop {
        let (head, sealed) = seal_batch(conn).await?;
        if sealed < SEAL_BATCH {
            return Ok(head);
        }
    }
}

async fn seal_batch(conn: &mut AnyConnection) -> Result<(Head, i64), sqlx::Error> {
    // Idle services take no lock and write nothing (the sealer polls).
    let any_pending = sqlx::query("SELECT seq FROM audit_log WHERE seq < 0 LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if !any_pending {
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
        let head = Head {
            seq: head.try_get("seq")?,
            hash: head.try_get("hash")?,
        };
        return Ok((head, 0));
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // The lock first: a second sealer waits here and then sees the first one's deletions.
    let head = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *tx)
        .await?;
    let mut seq: i64 = head.try_get("seq")?;
    let mut prev: String = head.try_get("hash")?;
    let pending = sqlx::query(
        "SELECT seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose
         FROM audit_log WHERE seq < 0 ORDER BY at_ms, seq LIMIT $1",
    )
    .bind(SEAL_BATCH)
    .fetch_all(&mut *tx)
    .await?;
    if pending.is_empty() {
        tx.rollback().await?;
        return Ok((Head { seq, hash: prev }, 0));
    }
    let mut rows = Vec::with_capacity(pending.len());
    let mut ids = Vec::with_capacity(pending.len());
    for r in &pending {
        let entry = AuditEntry {
            actor: r.try_get("actor")?,
            on_behalf_of: r.try_get("on_behalf_of")?,
            action: r.try_get("action")?,
            object: r.try_get("object")?,
            outcome: r.try_get("outcome")?,
            trace_id: r.try_get("trace_id")?,
            purpose: r.try_get("purpose")?,
        };
        let at_ms: i64 = r.try_get("at_ms")?;
        ids.push(r.try_get::<i64, _>("seq")?);
        seq += 1;
        let hash = chain_hash(&prev, seq, at_ms, &entry);
        rows.push(AuditRecord {
            seq,
            at_ms,
            entry,
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
        });
    }
    for chunk in ids.chunks(64) {
        let mut sql = String::from("DELETE FROM audit_log WHERE seq IN (");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", i + 1));
        }
        sql.push(')');
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *tx).await?;
    }
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO audit_log (seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash) VALUES ",
        );
        push_placeholders(&mut sql, chunk.len(), 11);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            let e = &r.entry;
            query = query
                .bind(r.seq)
                .bind(r.at_ms)
                .bind(e.actor.as_str())
                .bind(e.on_behalf_of.as_str())
                .bind(e.action.as_str())
                .bind(e.object.as_str())
                .bind(e.outcome.as_str())
                .bind(e.trace_id.as_str())
                .bind(e.purpose.as_str())
                .bind(r.prev_hash.as_str())
                .bind(r.hash.as_str());
        }
        query.execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&prev)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((Head { seq, hash: prev }, rows.len() as i64))
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
    #[error("the signed head at row {seq} does not match the chain or its signature")]
    BadSignature { seq: i64 },
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
    verify_on(&mut *pool.acquire().await?).await
}

/// [`verify`] on a connection the caller holds.
pub async fn verify_on(conn: &mut AnyConnection) -> Result<i64, VerifyError> {
    // Chain what is committed but not yet sealed; a store that refuses the write (read-only
    // replica, restore check) is verified as it stands.
    if let Err(e) = seal_on(conn).await {
        tracing::warn!(error = %e, "audit rows could not be sealed before verifying");
    }
    let head: i64 = sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?
        .try_get("seq")?;
    let rows = list_sealed_on(conn, 0, head).await?;
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
    let by_seq: std::collections::HashMap<i64, &str> =
        rows.iter().map(|r| (r.seq, r.hash.as_str())).collect();
    // Heads signed after the head was read (a sealer running meanwhile) are not judged here.
    for s in crate::evidence::signatures_on(conn)
        .await?
        .into_iter()
        .filter(|s| s.seq <= head)
    {
        let chained = if s.seq == 0 {
            Some(GENESIS)
        } else {
            by_seq.get(&s.seq).copied()
        };
        if chained != Some(s.hash.as_str()) || !s.verifies_with_own_key() {
            return Err(ChainBreak::BadSignature { seq: s.seq }.into());
        }
    }
    Ok(last)
}

/// Rows with `seq > after`, oldest first, at most `limit` (pending rows are sealed first).
pub async fn list(pool: &AnyPool, after: i64, limit: i64) -> Result<Vec<AuditRecord>, sqlx::Error> {
    if let Err(e) = seal(pool).await {
        tracing::warn!(error = %e, "audit rows could not be sealed before listing");
    }
    list_sealed(pool, after, limit).await
}

/// Sealed rows with `seq > after` (`after` >= 0), oldest first, at most `limit`.
pub async fn list_sealed(
    pool: &AnyPool,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>, sqlx::Error> {
    list_sealed_on(&mut *pool.acquire().await?, after, limit).await
}

/// [`list_sealed`] on a connection the caller holds.
pub async fn list_sealed_on(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash
         FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(record_of).collect()
}

/// What the auditor looks for (item 5 of the Trust issue): every field optional, all given
/// fields must match. `object` is a record name or a person's blind index, never an identity
/// number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub object: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    /// Inclusive lower bound of `at_ms`.
    pub from_ms: Option<i64>,
    /// Exclusive upper bound of `at_ms`.
    pub to_ms: Option<i64>,
}

/// One page of a query: rows oldest first and the `after` of the next page (`None`: last page).
#[derive(Debug, Clone)]
pub struct Page {
    pub rows: Vec<AuditRecord>,
    pub next_after: Option<i64>,
}

/// Largest page [`query`] returns.
pub const QUERY_PAGE_MAX: i64 = 500;

/// Sealed rows matching `q` with `seq > after`, at most `limit` (1..=[`QUERY_PAGE_MAX`]).
/// Pending rows are sealed first, so the auditor sees every committed row.
pub async fn query(pool: &AnyPool, q: &Query, after: i64, limit: i64) -> Result<Page, sqlx::Error> {
    query_on(&mut *pool.acquire().await?, q, after, limit).await
}

/// [`query`] on a connection the caller holds.
pub async fn query_on(
    conn: &mut AnyConnection,
    q: &Query,
    after: i64,
    limit: i64,
) -> Result<Page, sqlx::Error> {
    if let Err(e) = seal_on(conn).await {
        tracing::warn!(error = %e, "audit rows could not be sealed before the query");
    }
    let limit = limit.clamp(1, QUERY_PAGE_MAX);
    let mut sql = String::from(
        "SELECT seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash
         FROM audit_log WHERE seq > $1",
    );
    let mut texts: Vec<&str> = Vec::new();
    let mut n = 1;
    for (column, value) in [
        ("object", &q.object),
        ("actor", &q.actor),
        ("action", &q.action),
        ("outcome", &q.outcome),
    ] {
        if let Some(v) = value {
            n += 1;
            sql.push_str(&format!(" AND {column} = ${n}"));
            texts.push(v);
        }
    }
    let mut times = Vec::new();
    for (op, value) in [(">=", q.from_ms), ("<", q.to_ms)] {
        if let Some(v) = value {
            n += 1;
            sql.push_str(&format!(" AND at_ms {op} ${n}"));
            times.push(v);
        }
    }
    n += 1;
    sql.push_str(&format!(" ORDER BY seq LIMIT ${n}"));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after.max(0));
    for t in texts {
        query = query.bind(t);
    }
    for t in times {
        query = query.bind(t);
    }
    let rows = query.bind(limit + 1).fetch_all(&mut *conn).await?;
    let mut records = rows
        .iter()
        .map(record_of)
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let next_after = if records.len() as i64 > limit {
        records.truncate(limit as usize);
        records.last().map(|r| r.seq)
    } else {
        None
    };
    Ok(Page {
        rows: records,
        next_after,
    })
}

fn record_of(r: &sqlx::any::AnyRow) -> Result<AuditRecord, sqlx::Error> {
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
}

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

#[cfg(test)]
mod tests;
