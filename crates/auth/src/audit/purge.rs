//! Retention (item 7 of the Trust issue): purging rows whose retention ran out while the chain
//! stays verifiable.
//!
//! A purged row becomes a tombstone: its personal fields (actor, on-behalf-of, object, trace
//! id, person, organisation, role) are emptied, and what the chain needs stays: `seq`, `at_ms`,
//! `action`, `outcome`, `purpose`, `prev_hash` and its sealed `hash`, plus `purged_by`, the
//! sequence number of the purge's own audit row. The hash of a tombstone is no longer
//! recomputed, but it is still linked: the row's `prev_hash` must be the previous hash and the
//! next row's `prev_hash` must be this hash, and the signed heads still cover it.
//!
//! Every purge is itself an audit row (`<service>.PurgeAuditTrail`, actor `system:<service>`),
//! sealed before any row is emptied; its `object` is the retention policy it applied and its
//! `purpose` the number of rows purged. [`tombstone_allowed`] is the rule `verify` and the
//! offline check apply: a tombstone must point at a later, intact purge row whose policy let
//! that kind of row go at that age, never younger than the legal floor. Emptying any other row
//! (to hide who read a record) is reported as an altered row.

use sqlx::{AnyConnection, Row};

use super::{AuditEntry, AuditRecord, append, seal_on};

/// 网络安全法 art. 21(3): network logs are kept at least six months (183 days).
pub const LEGAL_FLOOR_MS: i64 = 183 * DAY_MS;
const DAY_MS: i64 = 86_400_000;
const YEAR_MS: i64 = 365 * DAY_MS;

/// Suffix of a purge's own audit row (`<service>.PurgeAuditTrail`).
pub const PURGE_ACTION: &str = "PurgeAuditTrail";

/// The record kinds retention tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A read (`Get*`, `List*`, `Search*`, `Query*`, `Export*`, `Verify*`, `Explain*`, `Watch*`).
    Read,
    /// A change (every other RPC, jobs).
    Change,
    /// A security event (purpose `security`).
    Security,
}

/// The kind of a row, from what a tombstone keeps (action and purpose).
pub fn kind_of(action: &str, purpose: &str) -> Kind {
    if purpose == crate::layer::SECURITY_PURPOSE {
        return Kind::Security;
    }
    let rpc = action.rsplit('.').next().unwrap_or("");
    const READS: [&str; 8] = [
        "Get", "List", "Search", "Query", "Export", "Verify", "Explain", "Watch",
    ];
    if READS.iter().any(|p| rpc.starts_with(p)) {
        Kind::Read
    } else {
        Kind::Change
    }
}

/// How long each kind is kept (`None`: kept for good). docs/operations/retention.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub reads_ms: Option<i64>,
    pub changes_ms: Option<i64>,
    pub security_ms: Option<i64>,
}

impl Retention {
    /// The documented periods of `service`: marriage keeps everything (the archive is
    /// long-term); elsewhere reads and security events 3 years, changes 30 years.
    pub fn documented(service: &str) -> Self {
        if service == "marriage" {
            return Self::keep_all();
        }
        Self {
            reads_ms: Some(3 * YEAR_MS),
            changes_ms: Some(30 * YEAR_MS),
            security_ms: Some(3 * YEAR_MS),
        }
    }

    pub fn keep_all() -> Self {
        Self {
            reads_ms: None,
            changes_ms: None,
            security_ms: None,
        }
    }

    pub fn keep_of(&self, kind: Kind) -> Option<i64> {
        match kind {
            Kind::Read => self.reads_ms,
            Kind::Change => self.changes_ms,
            Kind::Security => self.security_ms,
        }
    }

    /// Every period at or above the legal floor.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("reads", self.reads_ms),
            ("changes", self.changes_ms),
            ("security", self.security_ms),
        ] {
            if let Some(ms) = v
                && ms < LEGAL_FLOOR_MS
            {
                return Err(format!(
                    "{name} kept {ms} ms, below the six-month floor (网络安全法 art. 21(3))"
                ));
            }
        }
        Ok(())
    }

    /// `reads=<ms|keep> changes=<ms|keep> security=<ms|keep>`: the purge row's object.
    pub fn encode(&self) -> String {
        let f = |v: Option<i64>| v.map_or("keep".to_owned(), |ms| ms.to_string());
        format!(
            "reads={} changes={} security={}",
            f(self.reads_ms),
            f(self.changes_ms),
            f(self.security_ms)
        )
    }

    pub fn decode(text: &str) -> Option<Self> {
        let mut r = Self::keep_all();
        for part in text.split(' ') {
            let (k, v) = part.split_once('=')?;
            let v = if v == "keep" {
                None
            } else {
                Some(v.parse().ok()?)
            };
            match k {
                "reads" => r.reads_ms = v,
                "changes" => r.changes_ms = v,
                "security" => r.security_ms = v,
                _ => return None,
            }
        }
        r.validate().ok().map(|()| r)
    }
}

/// Whether a tombstone at `seq` (kept fields `at_ms`, `action`, `purpose`) is one `purge` (the
/// row at its `purged_by`) was allowed to leave.
pub fn tombstone_allowed(
    seq: i64,
    at_ms: i64,
    action: &str,
    purpose: &str,
    purge: Option<&AuditRecord>,
) -> bool {
    let Some(p) = purge else { return false };
    let is_purge = p.purged_by == 0
        && p.seq > seq
        && p.entry.action.rsplit('.').next() == Some(PURGE_ACTION)
        && p.entry.actor.starts_with("system:");
    let Some(policy) = is_purge
        .then(|| Retention::decode(&p.entry.object))
        .flatten()
    else {
        return false;
    };
    policy
        .keep_of(kind_of(action, purpose))
        .is_some_and(|keep| at_ms < p.at_ms - keep)
}

/// What a purge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    pub rows: i64,
    /// The purge's own audit row.
    pub purge_seq: i64,
}

/// Purges `service`'s rows whose retention under `policy` ran out: writes and seals the purge's
/// audit row, then empties the rows' personal fields (see the module documentation).
pub async fn purge(
    conn: &mut AnyConnection,
    service: &str,
    policy: &Retention,
) -> Result<Purged, PurgeError> {
    policy.validate().map_err(PurgeError::Policy)?;
    seal_on(conn).await?;
    let now = super::now_ms();
    let candidates = sqlx::query(
        "SELECT seq, at_ms, action, purpose FROM audit_log WHERE seq > 0 AND purged_by = 0 AND at_ms < $1 ORDER BY seq",
    )
    .bind(now - LEGAL_FLOOR_MS)
    .fetch_all(&mut *conn)
    .await?;
    let mut due = Vec::new();
    for r in &candidates {
        let (at_ms, action, purpose): (i64, String, String) = (
            r.try_get("at_ms")?,
            r.try_get("action")?,
            r.try_get("purpose")?,
        );
        if policy
            .keep_of(kind_of(&action, &purpose))
            .is_some_and(|keep| at_ms < now - keep)
        {
            due.push(r.try_get::<i64, _>("seq")?);
        }
    }
    let marker = format!("purge-{:016x}", rand::random::<u64>());
    let entry = AuditEntry {
        actor: format!("system:{service}"),
        action: format!("{service}.{PURGE_ACTION}"),
        object: policy.encode(),
        outcome: "ok".into(),
        trace_id: marker.clone(),
        purpose: format!("retention: {} rows purged", due.len()),
        organisation: "system".into(),
        role: "system".into(),
        ..AuditEntry::default()
    };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    append(&mut tx, std::slice::from_ref(&entry)).await?;
    tx.commit().await?;
    seal_on(conn).await?;
    let purge_seq: i64 = sqlx::query("SELECT seq FROM audit_log WHERE trace_id = $1 AND seq > 0")
        .bind(&marker)
        .fetch_one(&mut *conn)
        .await?
        .try_get("seq")?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    for seq in &due {
        sqlx::query(
            "UPDATE audit_log SET actor = '', on_behalf_of = '', object = '', trace_id = '',
                 person = '', organisation = '', role = '', purged_by = $1
             WHERE seq = $2 AND purged_by = 0",
        )
        .bind(purge_seq)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    tracing::info!(service, rows = due.len(), purge_seq, "audit rows purged");
    Ok(Purged {
        rows: due.len() as i64,
        purge_seq,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("retention policy refused: {0}")]
    Policy(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

#[cfg(test)]
#[path = "purge_tests.rs"]
mod tests;
