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

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::Principal;

pub mod purge;
mod query;
mod seal;
mod verify;
mod writer;

pub use query::{Page, QUERY_PAGE_MAX, Query, list, list_sealed, list_sealed_on, query, query_on};
pub use seal::{Head, seal, seal_on};
pub use verify::{ChainBreak, VerifyError, verify, verify_on};
pub use writer::{AuditUnavailable, AuditWriter};

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
        hash TEXT NOT NULL,
        person TEXT NOT NULL DEFAULT '',
        organisation TEXT NOT NULL DEFAULT '',
        role TEXT NOT NULL DEFAULT '',
        purged_by BIGINT NOT NULL DEFAULT 0)",
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

/// Columns added to `audit_log` after its first release (`kit::store` adds them to an older
/// store on start, forward-only): the person a row is about (blind index) and the acting
/// organisation and role, for the citizen's view (我的数据谁用了).
pub const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("audit_log", "person", "TEXT NOT NULL DEFAULT ''"),
    ("audit_log", "organisation", "TEXT NOT NULL DEFAULT ''"),
    ("audit_log", "role", "TEXT NOT NULL DEFAULT ''"),
    ("audit_log", "purged_by", "BIGINT NOT NULL DEFAULT 0"),
];

/// Every column of an `audit_log` row, in the order [`bind_record`] binds them.
const COLUMNS: &str = "seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash, person, organisation, role";
const WIDTH: usize = 14;

/// Pending rows chained per sealing transaction.
const SEAL_BATCH: i64 = 1000;

/// One audited action. `object` names the record (an id or a blind index), never an
/// identity number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEntry {
    pub actor: String,
    pub on_behalf_of: String,
    pub action: String,
    pub object: String,
    pub outcome: String,
    pub trace_id: String,
    pub purpose: String,
    /// The blind index of the person the row is about (empty: none named).
    pub person: String,
    /// The acting organisation (the token's `org`, else the calling system's profile).
    pub organisation: String,
    /// The actor's roles, comma-separated (`registrar`, `service`).
    pub role: String,
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
            person: String::new(),
            organisation: principal
                .organisation
                .clone()
                .or_else(|| principal.profile.clone())
                .unwrap_or_default(),
            role: principal
                .roles
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// Names the person (blind index) the row is about.
    pub fn with_person(mut self, person: &str) -> Self {
        self.person = person.into();
        self
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
    /// Non-zero on a purged row (a tombstone): the purge's own row ([`purge`]).
    pub purged_by: i64,
}

/// The chain hash. Fields are length-prefixed so that moving text between fields changes it.
/// Person, organisation and role (added later) are hashed when any is set, so rows sealed
/// before they existed keep their hashes.
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
    if !(e.person.is_empty() && e.organisation.is_empty() && e.role.is_empty()) {
        for field in [&e.person, &e.organisation, &e.role] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
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
        let mut sql = format!("INSERT INTO audit_log ({COLUMNS}) VALUES ");
        push_placeholders(&mut sql, chunk.len(), WIDTH);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            query = bind_record(query, seq, at_ms, e, "", "");
            seq += 1;
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds one row's [`COLUMNS`].
fn bind_record<'q>(
    query: AnyQuery<'q>,
    seq: i64,
    at_ms: i64,
    e: &'q AuditEntry,
    prev_hash: &'q str,
    hash: &'q str,
) -> AnyQuery<'q> {
    query
        .bind(seq)
        .bind(at_ms)
        .bind(e.actor.as_str())
        .bind(e.on_behalf_of.as_str())
        .bind(e.action.as_str())
        .bind(e.object.as_str())
        .bind(e.outcome.as_str())
        .bind(e.trace_id.as_str())
        .bind(e.purpose.as_str())
        .bind(prev_hash)
        .bind(hash)
        .bind(e.person.as_str())
        .bind(e.organisation.as_str())
        .bind(e.role.as_str())
}

/// An entry from a row selected with [`COLUMNS`].
fn entry_of(r: &sqlx::any::AnyRow) -> Result<AuditEntry, sqlx::Error> {
    use sqlx::Row;
    Ok(AuditEntry {
        actor: r.try_get("actor")?,
        on_behalf_of: r.try_get("on_behalf_of")?,
        action: r.try_get("action")?,
        object: r.try_get("object")?,
        outcome: r.try_get("outcome")?,
        trace_id: r.try_get("trace_id")?,
        purpose: r.try_get("purpose")?,
        person: r.try_get("person")?,
        organisation: r.try_get("organisation")?,
        role: r.try_get("role")?,
    })
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

#[cfg(test)]
mod tests;
