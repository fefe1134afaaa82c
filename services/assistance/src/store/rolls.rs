//! Monthly payment rolls.

use kit::ServiceError;
use sqlx::{AnyConnection, Row};

/// A stored roll (base64 protobuf), by month.
pub async fn roll_for_month(
    conn: &mut AnyConnection,
    month: &str,
) -> Result<Option<String>, ServiceError> {
    let row = sqlx::query("SELECT roll FROM payment_rolls WHERE month = $1")
        .bind(month)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("roll")).transpose()?)
}

/// Stores a roll unless the month already has one; returns whether this call stored it.
pub async fn insert_roll(
    conn: &mut AnyConnection,
    id: &str,
    month: &str,
    total_fen: i64,
    lines: i64,
    roll: &str,
    now_ms: i64,
) -> Result<bool, ServiceError> {
    let n = sqlx::query(
        "INSERT INTO payment_rolls (id, month, total_fen, line_count, roll, generated_at_ms) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (month) DO NOTHING",
    )
    .bind(id)
    .bind(month)
    .bind(total_fen)
    .bind(lines)
    .bind(roll)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Roll summaries, newest month first, after `before_month` (paging).
pub async fn list_rolls(
    conn: &mut AnyConnection,
    before_month: &str,
    limit: i64,
) -> Result<Vec<(String, String, i64)>, ServiceError> {
    let rows = sqlx::query("SELECT id, month, total_fen FROM payment_rolls WHERE month < $1 ORDER BY month DESC LIMIT $2")
        .bind(before_month)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("month")?,
                r.try_get("total_fen")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ServiceError::from)
}
