//! SQL of the monthly allowance rolls.

use kit::ServiceError;
use money::Fen;
use sqlx::{AnyConnection, Row};

pub struct RollRow {
    pub recipients: i64,
    pub total_fen: i64,
}

pub async fn roll(conn: &mut AnyConnection, month: &str) -> Result<Option<RollRow>, ServiceError> {
    let row = sqlx::query("SELECT recipients, total_fen FROM allowance_rolls WHERE month = $1")
        .bind(month)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok(RollRow {
            recipients: r.try_get("recipients")?,
            total_fen: r.try_get("total_fen")?,
        })
    })
    .transpose()
}

/// Writes a roll; `false` when the month already has one (the first stands).
pub async fn insert_roll(
    conn: &mut AnyConnection,
    month: &str,
    lines: &[(String, Fen)],
    now_ms: i64,
) -> Result<bool, ServiceError> {
    let total = Fen::checked_sum(lines.iter().map(|(_, a)| *a))
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("roll total overflows")))?;
    let recipients = i64::try_from(lines.len())
        .map_err(|_| ServiceError::Internal(anyhow::anyhow!("roll too long")))?;
    let n = sqlx::query(
        "INSERT INTO allowance_rolls (month, recipients, total_fen, built_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (month) DO NOTHING",
    )
    .bind(month)
    .bind(recipients)
    .bind(total.get())
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    for (elder_id, amount) in lines {
        sqlx::query(
            "INSERT INTO allowance_roll_lines (month, elder_id, amount_fen) VALUES ($1, $2, $3)",
        )
        .bind(month)
        .bind(elder_id)
        .bind(amount.get())
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}
