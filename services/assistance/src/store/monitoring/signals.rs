//! Signals, once per (source, source record id), with their first receipt.

use kit::ServiceError;
use kit::clock::{date_text, stored_date};
use kit::pii::Sealer;
use sqlx::{AnyConnection, Row};

use crate::store::seal;

#[derive(Debug, Clone)]
pub struct SignalRow {
    pub id: String,
    pub source: String,
    pub source_record_id: String,
    pub kind: String,
    pub household_id: String,
    pub occurred_on: time::Date,
    pub received_on: time::Date,
    pub amount_fen: i64,
    pub warning_id: Option<String>,
}

/// The content hash and receipt of a signal already received from this source record.
pub async fn signal_by_source(
    conn: &mut AnyConnection,
    source: &str,
    record: &str,
) -> Result<Option<(String, String)>, ServiceError> {
    let row = sqlx::query(
        "SELECT content_sha256, receipt FROM mon_signals WHERE source = $1 AND source_record_id = $2",
    )
    .bind(source)
    .bind(record)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((r.try_get("content_sha256")?, r.try_get("receipt")?)))
        .transpose()
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_signal(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    s: &SignalRow,
    detail: &str,
    content_sha256: &str,
    receipt: &str,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO mon_signals (id, source, source_record_id, kind, household_id, occurred_on,
             received_on, amount_fen, detail_sealed, content_sha256, warning_id, receipt, received_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&s.id)
    .bind(&s.source)
    .bind(&s.source_record_id)
    .bind(&s.kind)
    .bind(&s.household_id)
    .bind(date_text(s.occurred_on))
    .bind(date_text(s.received_on))
    .bind(s.amount_fen)
    .bind(seal(sealer, &detail)?)
    .bind(content_sha256)
    .bind(&s.warning_id)
    .bind(receipt)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn signal_from(r: &sqlx::any::AnyRow) -> Result<SignalRow, ServiceError> {
    Ok(SignalRow {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        source_record_id: r.try_get("source_record_id")?,
        kind: r.try_get("kind")?,
        household_id: r.try_get("household_id")?,
        occurred_on: stored_date(&r.try_get::<String, _>("occurred_on")?)?,
        received_on: stored_date(&r.try_get::<String, _>("received_on")?)?,
        amount_fen: r.try_get("amount_fen")?,
        warning_id: r.try_get("warning_id")?,
    })
}

/// Signals of a household (`column` = household_id) or of a warning (`warning_id`), oldest
/// first.
pub async fn signals_where(
    conn: &mut AnyConnection,
    column: SignalsOf,
    id: &str,
) -> Result<Vec<SignalRow>, ServiceError> {
    let column = match column {
        SignalsOf::Household => "household_id",
        SignalsOf::Warning => "warning_id",
    };
    let sql = format!(
        "SELECT id, source, source_record_id, kind, household_id, occurred_on, received_on,
             amount_fen, warning_id FROM mon_signals WHERE {column} = $1 ORDER BY received_at_ms, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(signal_from).collect()
}

#[derive(Debug, Clone, Copy)]
pub enum SignalsOf {
    Household,
    Warning,
}
