//! Recomputing the chain and checking the signed heads.

use sqlx::{AnyConnection, AnyPool, Row};

use super::purge::tombstone_allowed;
use super::{GENESIS, chain_hash, list_sealed_on, seal_on};

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
    let by_seq: std::collections::HashMap<i64, &super::AuditRecord> =
        rows.iter().map(|r| (r.seq, r)).collect();
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
        let intact = if r.purged_by == 0 {
            chain_hash(&prev, r.seq, r.at_ms, &r.entry) == r.hash
        } else {
            // A tombstone: its sealed hash stays linked; the purge row must have allowed it.
            let e = &r.entry;
            tombstone_allowed(
                r.seq,
                r.at_ms,
                &e.action,
                &e.purpose,
                by_seq.get(&r.purged_by).copied(),
            )
        };
        if r.prev_hash != prev || !intact {
            return Err(ChainBreak::Altered { seq: r.seq }.into());
        }
        prev = r.hash.clone();
        last = r.seq;
    }
    if head != last {
        return Err(ChainBreak::Truncated { head, last }.into());
    }
    let hashes: std::collections::HashMap<i64, &str> =
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
            hashes.get(&s.seq).copied()
        };
        if chained != Some(s.hash.as_str()) || !s.verifies_with_own_key() {
            return Err(ChainBreak::BadSignature { seq: s.seq }.into());
        }
    }
    Ok(last)
}
