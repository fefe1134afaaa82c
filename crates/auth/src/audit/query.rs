//! Listing and querying sealed rows (the auditor's view).

use sqlx::{AnyConnection, AnyPool, Row};

use super::{AuditRecord, COLUMNS, entry_of, seal, seal_on};

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
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, purged_by FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
    )))
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
    /// The person's blind index: rows whose `person` is it, or whose `object` is it (rows
    /// written before `person` existed name the person there).
    pub person: Option<String>,
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
    let mut sql = format!("SELECT {COLUMNS}, purged_by FROM audit_log WHERE seq > $1");
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
    // A person's rows: those naming them, and older ones whose object is their index.
    if let Some(p) = &q.person {
        n += 1;
        sql.push_str(&format!(" AND (person = ${n} OR object = ${n})"));
        texts.push(p);
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
        entry: entry_of(r)?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
        purged_by: r.try_get("purged_by")?,
    })
}
