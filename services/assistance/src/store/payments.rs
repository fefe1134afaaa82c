//! Payment rolls of the PaymentRollService service: rolls, their lines, payee accounts and imported
//! bank returns. Accounts and line inputs are sealed; lines are written in multi-row batches.

use std::collections::HashMap;

use kit::ServiceError;
use sqlx::{AnyConnection, Row};

use super::stale;

/// Lines per multi-row INSERT (16 binds each: under SQLite's and PostgreSQL's limits).
const BATCH: usize = 200;

#[derive(Debug, Clone)]
pub struct RollRow {
    pub id: String,
    pub month: String,
    pub roll_kind: String,
    pub state: String,
    pub line_count: i64,
    pub total_fen: i64,
    pub created_by: String,
    pub submitted_by: String,
    pub approved_by: String,
    pub approved_hash: String,
    pub version: i64,
}

/// A line as stored.
#[derive(Debug, Clone)]
pub struct LineRow {
    pub line_id: String,
    pub roll_id: String,
    pub seq: i64,
    pub benefit_id: String,
    pub kind: String,
    pub region: String,
    pub for_month: String,
    pub amount_fen: i64,
    pub policy_version: String,
    pub account_sealed: Option<String>,
    pub account_version: Option<i64>,
    pub inputs_sealed: String,
    pub inputs_sha256: String,
    pub status: String,
    pub bank_code: Option<String>,
    pub bank_reason: Option<String>,
    pub reissue_of: Option<String>,
}

const ROLL_COLUMNS: &str = "id, month, roll_kind, state, line_count, total_fen, created_by, submitted_by, approved_by, approved_hash, version";
const LINE_COLUMNS: &str = "line_id, roll_id, seq, benefit_id, kind, region, for_month, amount_fen, policy_version, account_sealed, account_version, inputs_sealed, inputs_sha256, status, bank_code, bank_reason, reissue_of";

fn roll_from(row: &sqlx::any::AnyRow) -> Result<RollRow, sqlx::Error> {
    Ok(RollRow {
        id: row.try_get("id")?,
        month: row.try_get("month")?,
        roll_kind: row.try_get("roll_kind")?,
        state: row.try_get("state")?,
        line_count: row.try_get("line_count")?,
        total_fen: row.try_get("total_fen")?,
        created_by: row.try_get("created_by")?,
        submitted_by: row
            .try_get::<Option<String>, _>("submitted_by")?
            .unwrap_or_default(),
        approved_by: row
            .try_get::<Option<String>, _>("approved_by")?
            .unwrap_or_default(),
        approved_hash: row
            .try_get::<Option<String>, _>("approved_hash")?
            .unwrap_or_default(),
        version: row.try_get("version")?,
    })
}

fn line_from(row: &sqlx::any::AnyRow) -> Result<LineRow, sqlx::Error> {
    Ok(LineRow {
        line_id: row.try_get("line_id")?,
        roll_id: row.try_get("roll_id")?,
        seq: row.try_get("seq")?,
        benefit_id: row.try_get("benefit_id")?,
        kind: row.try_get("kind")?,
        region: row.try_get("region")?,
        for_month: row.try_get("for_month")?,
        amount_fen: row.try_get("amount_fen")?,
        policy_version: row.try_get("policy_version")?,
        account_sealed: row.try_get("account_sealed")?,
        account_version: row.try_get("account_version")?,
        inputs_sealed: row.try_get("inputs_sealed")?,
        inputs_sha256: row.try_get("inputs_sha256")?,
        status: row.try_get("status")?,
        bank_code: row.try_get("bank_code")?,
        bank_reason: row.try_get("bank_reason")?,
        reissue_of: row.try_get("reissue_of")?,
    })
}

/// Every account held: benefit id -> (sealed account, version).
pub async fn payee_accounts(
    conn: &mut AnyConnection,
) -> Result<HashMap<String, (String, i64)>, ServiceError> {
    let rows = sqlx::query("SELECT benefit_id, account_sealed, version FROM payee_accounts")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("benefit_id")?,
                (r.try_get("account_sealed")?, r.try_get("version")?),
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ServiceError::from)
}

/// Records (or replaces) a benefit's account; returns the new version.
pub async fn upsert_payee_account(
    conn: &mut AnyConnection,
    benefit_id: &str,
    sealed: &str,
    by: &str,
    now_ms: i64,
) -> Result<i64, ServiceError> {
    let row = sqlx::query(
        "INSERT INTO payee_accounts (benefit_id, account_sealed, version, updated_by, updated_at_ms) VALUES ($1, $2, 1, $3, $4)
         ON CONFLICT (benefit_id) DO UPDATE SET account_sealed = excluded.account_sealed, version = payee_accounts.version + 1,
           updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms
         RETURNING version",
    )
    .bind(benefit_id)
    .bind(sealed)
    .bind(by)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("version")?)
}

pub async fn load_roll(conn: &mut AnyConnection, id: &str) -> Result<RollRow, ServiceError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ROLL_COLUMNS} FROM pay_rolls WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ServiceError::not_found(format!("payment roll {id}")))?;
    Ok(roll_from(&row)?)
}

/// The regular roll of a month, if generated.
pub async fn regular_roll(
    conn: &mut AnyConnection,
    month: &str,
) -> Result<Option<RollRow>, ServiceError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ROLL_COLUMNS} FROM pay_rolls WHERE month = $1 AND roll_kind = 'regular'"
    )))
    .bind(month)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(roll_from).transpose()?)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_pay_roll(
    conn: &mut AnyConnection,
    id: &str,
    month: &str,
    roll_kind: &str,
    line_count: i64,
    total_fen: i64,
    by: &str,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO pay_rolls (id, month, roll_kind, state, line_count, total_fen, created_by, created_at_ms, version)
         VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, 1)",
    )
    .bind(id)
    .bind(month)
    .bind(roll_kind)
    .bind(line_count)
    .bind(total_fen)
    .bind(by)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A draft generated again: its lines go, its totals are replaced.
pub async fn reset_draft(
    conn: &mut AnyConnection,
    roll: &RollRow,
    line_count: i64,
    total_fen: i64,
    by: &str,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query("DELETE FROM pay_lines WHERE roll_id = $1")
        .bind(&roll.id)
        .execute(&mut *conn)
        .await?;
    let n = sqlx::query(
        "UPDATE pay_rolls SET line_count = $1, total_fen = $2, created_by = $3, created_at_ms = $4, version = version + 1
         WHERE id = $5 AND version = $6 AND state = 'draft'",
    )
    .bind(line_count)
    .bind(total_fen)
    .bind(by)
    .bind(now_ms)
    .bind(&roll.id)
    .bind(roll.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(stale("payment roll"))
    }
}

/// Moves a roll to `state`, setting the named column pairs; refuses a concurrent change.
pub async fn set_roll_state(
    conn: &mut AnyConnection,
    roll: &RollRow,
    state: &str,
    set: &[(&str, String)],
) -> Result<(), ServiceError> {
    let mut sql = String::from("UPDATE pay_rolls SET state = $1, version = version + 1");
    for (i, (column, _)) in set.iter().enumerate() {
        sql.push_str(&format!(", {column} = ${}", i + 2));
    }
    let n = set.len();
    sql.push_str(&format!(" WHERE id = ${} AND version = ${}", n + 2, n + 3));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(state);
    for (column, value) in set {
        q = if column.ends_with("_ms") {
            q.bind(value.parse::<i64>().unwrap_or_default())
        } else {
            q.bind(value.clone())
        };
    }
    let done = q
        .bind(&roll.id)
        .bind(roll.version)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if done == 1 {
        Ok(())
    } else {
        Err(stale("payment roll"))
    }
}

/// Inserts lines in multi-row batches.
pub async fn insert_lines(conn: &mut AnyConnection, lines: &[LineRow]) -> Result<(), ServiceError> {
    for chunk in lines.chunks(BATCH) {
        let mut sql = format!("INSERT INTO pay_lines ({LINE_COLUMNS}) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for j in 0..17 {
                if j > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("${}", i * 17 + j + 1));
            }
            sql.push(')');
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for l in chunk {
            q = q
                .bind(&l.line_id)
                .bind(&l.roll_id)
                .bind(l.seq)
                .bind(&l.benefit_id)
                .bind(&l.kind)
                .bind(&l.region)
                .bind(&l.for_month)
                .bind(l.amount_fen)
                .bind(&l.policy_version)
                .bind(&l.account_sealed)
                .bind(l.account_version)
                .bind(&l.inputs_sealed)
                .bind(&l.inputs_sha256)
                .bind(&l.status)
                .bind(&l.bank_code)
                .bind(&l.bank_reason)
                .bind(&l.reissue_of);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A roll's lines in order, all or of one status.
pub async fn roll_lines(
    conn: &mut AnyConnection,
    roll_id: &str,
    status: Option<&str>,
) -> Result<Vec<LineRow>, ServiceError> {
    let rows = match status {
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {LINE_COLUMNS} FROM pay_lines WHERE roll_id = $1 ORDER BY seq"
            )))
            .bind(roll_id)
            .fetch_all(&mut *conn)
            .await?
        }
        Some(s) => sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINE_COLUMNS} FROM pay_lines WHERE roll_id = $1 AND status = $2 ORDER BY seq"
        )))
        .bind(roll_id)
        .bind(s)
        .fetch_all(&mut *conn)
        .await?,
    };
    rows.iter()
        .map(line_from)
        .collect::<Result<_, _>>()
        .map_err(ServiceError::from)
}

pub async fn load_line(conn: &mut AnyConnection, line_id: &str) -> Result<LineRow, ServiceError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {LINE_COLUMNS} FROM pay_lines WHERE line_id = $1"
    )))
    .bind(line_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ServiceError::not_found(format!("payment line {line_id}")))?;
    Ok(line_from(&row)?)
}

/// Lines of a roll without an account.
pub async fn lines_without_account(
    conn: &mut AnyConnection,
    roll_id: &str,
) -> Result<i64, ServiceError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM pay_lines WHERE roll_id = $1 AND account_sealed IS NULL",
    )
    .bind(roll_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("n")?)
}

/// Failed lines county-wide, with the version of their benefit's account now.
pub async fn failed_lines(
    conn: &mut AnyConnection,
) -> Result<Vec<(LineRow, Option<i64>)>, ServiceError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {}, a.version AS account_now FROM pay_lines l LEFT JOIN payee_accounts a ON a.benefit_id = l.benefit_id
         WHERE l.status = 'failed' ORDER BY l.roll_id, l.seq",
        LINE_COLUMNS.split(", ").map(|c| format!("l.{c}")).collect::<Vec<_>>().join(", ")
    )))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((line_from(r)?, r.try_get::<Option<i64>, _>("account_now")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ServiceError::from)
}

/// Sets lines to `status` (paid, reissued), in batches; every line must move from `from`.
pub async fn set_lines_status(
    conn: &mut AnyConnection,
    line_ids: &[&str],
    from: &str,
    status: &str,
) -> Result<(), ServiceError> {
    for chunk in line_ids.chunks(BATCH * 4) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "UPDATE pay_lines SET status = $1 WHERE status = $2 AND line_id IN ({})",
            placeholders.join(",")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(status)
            .bind(from);
        for id in chunk {
            q = q.bind(*id);
        }
        let n = q.execute(&mut *conn).await?.rows_affected();
        if n != chunk.len() as u64 {
            return Err(stale("payment line"));
        }
    }
    Ok(())
}

/// A line the bank returned, with its reason.
pub async fn fail_line(
    conn: &mut AnyConnection,
    line_id: &str,
    code: &str,
    reason: &str,
) -> Result<(), ServiceError> {
    let n = sqlx::query(
        "UPDATE pay_lines SET status = 'failed', bank_code = $1, bank_reason = $2 WHERE line_id = $3 AND status = 'pending'",
    )
    .bind(code)
    .bind(reason)
    .bind(line_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(stale("payment line"))
    }
}

/// The roll a return file (by its SHA-256) was imported for, if any.
pub async fn return_imported(
    conn: &mut AnyConnection,
    sha256: &str,
) -> Result<Option<String>, ServiceError> {
    let row = sqlx::query("SELECT roll_id FROM bank_returns WHERE file_sha256 = $1")
        .bind(sha256)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("roll_id")).transpose()?)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_return(
    conn: &mut AnyConnection,
    sha256: &str,
    roll_id: &str,
    lines: i64,
    paid_fen: i64,
    failed_fen: i64,
    by: &str,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO bank_returns (file_sha256, roll_id, lines, paid_fen, failed_fen, imported_by, imported_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(sha256)
    .bind(roll_id)
    .bind(lines)
    .bind(paid_fen)
    .bind(failed_fen)
    .bind(by)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Per status of a roll's lines: (count, fen).
pub async fn line_totals(
    conn: &mut AnyConnection,
    roll_id: &str,
) -> Result<HashMap<String, (i64, i64)>, ServiceError> {
    let rows = sqlx::query(
        "SELECT status, COUNT(*) AS n, CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) AS fen FROM pay_lines WHERE roll_id = $1 GROUP BY status",
    )
    .bind(roll_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("status")?,
                (r.try_get("n")?, r.try_get::<i64, _>("fen")?),
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ServiceError::from)
}

/// Benefit-months of a roll's lines paid more than once in any roll.
pub async fn paid_twice(conn: &mut AnyConnection, roll_id: &str) -> Result<i64, ServiceError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM (
           SELECT p.benefit_id, p.for_month FROM pay_lines p
           WHERE p.status = 'paid' AND EXISTS (
             SELECT 1 FROM pay_lines r WHERE r.roll_id = $1 AND r.benefit_id = p.benefit_id AND r.for_month = p.for_month)
           GROUP BY p.benefit_id, p.for_month HAVING COUNT(*) > 1) t",
    )
    .bind(roll_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("n")?)
}
