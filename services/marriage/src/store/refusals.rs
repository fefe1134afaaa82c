//! Refusals decided at the desk (Rules #14): reason, parties by blind index, registrar.

use sqlx::{AnyConnection, Row};
use time::Date;

use super::{Result, date_text, parse_date};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalRow {
    pub refusal_id: String,
    pub office_id: String,
    pub rpc: String,
    pub request_id: String,
    pub reason: String,
    pub message: String,
    pub party_a_index: String,
    /// Empty when one party acted alone.
    pub party_b_index: String,
    pub registrar: String,
    pub refused_on: Date,
}

/// Records a refusal; a second refusal of the same registrar's request id records nothing.
pub async fn insert_refusal(conn: &mut AnyConnection, r: &RefusalRow, now_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO desk_refusals (refusal_id, office_id, rpc, request_id, reason, message, party_a_index,
            party_b_index, registrar, refused_on, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (registrar, rpc, request_id) DO NOTHING",
    )
    .bind(&r.refusal_id)
    .bind(&r.office_id)
    .bind(&r.rpc)
    .bind(&r.request_id)
    .bind(&r.reason)
    .bind(&r.message)
    .bind(&r.party_a_index)
    .bind(&r.party_b_index)
    .bind(&r.registrar)
    .bind(date_text(r.refused_on))
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Up to `limit` refusals of an office after `after` (a refusal id), oldest first.
pub async fn refusals_of_office(
    conn: &mut AnyConnection,
    office_id: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<RefusalRow>> {
    let rows = sqlx::query(
        "SELECT refusal_id, office_id, rpc, request_id, reason, message, party_a_index, party_b_index,
            registrar, refused_on
         FROM desk_refusals WHERE office_id = $1 AND refusal_id > $2 ORDER BY refusal_id LIMIT $3",
    )
    .bind(office_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RefusalRow {
                refusal_id: r.try_get("refusal_id")?,
                office_id: r.try_get("office_id")?,
                rpc: r.try_get("rpc")?,
                request_id: r.try_get("request_id")?,
                reason: r.try_get("reason")?,
                message: r.try_get("message")?,
                party_a_index: r.try_get("party_a_index")?,
                party_b_index: r.try_get("party_b_index")?,
                registrar: r.try_get("registrar")?,
                refused_on: parse_date(&r.try_get::<String, _>("refused_on")?)?,
            })
        })
        .collect()
}
