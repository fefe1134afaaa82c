//! The sealer: chains pending rows under the `audit_head` lock.

use sqlx::{AnyConnection, AnyPool, Row};

use super::{
    AuditRecord, COLUMNS, ROWS_PER_INSERT, SEAL_BATCH, WIDTH, bind_record, chain_hash, entry_of,
    push_placeholders,
};

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
    let pending = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_log WHERE seq < 0 ORDER BY at_ms, seq LIMIT $1"
    )))
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
        let entry = entry_of(r)?;
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
            purged_by: 0,
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
        let mut sql = format!("INSERT INTO audit_log ({COLUMNS}) VALUES ");
        push_placeholders(&mut sql, chunk.len(), WIDTH);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            query = bind_record(query, r.seq, r.at_ms, &r.entry, &r.prev_hash, &r.hash);
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
