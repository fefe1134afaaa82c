//! The ashes trail (骨灰去向).

use kit::ServiceError;
use sqlx::{AnyConnection, Row};

/// One entry of the ashes trail (holder sealed).
pub struct AshesRow {
    /// Proto name of the holder kind.
    pub holder_kind: String,
    pub holder_sealed: String,
    pub place: String,
    pub since: String,
}

pub async fn insert_ashes(
    conn: &mut AnyConnection,
    case_id: &str,
    a: &AshesRow,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO ashes_trail (id, case_id, holder_kind, holder_sealed, place, since, recorded_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(case_id)
    .bind(&a.holder_kind)
    .bind(&a.holder_sealed)
    .bind(&a.place)
    .bind(&a.since)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The trail, oldest first.
pub async fn ashes_of(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Vec<AshesRow>, ServiceError> {
    let rows = sqlx::query(
        "SELECT holder_kind, holder_sealed, place, since FROM ashes_trail WHERE case_id = $1 ORDER BY since, id",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AshesRow {
                holder_kind: r.try_get("holder_kind")?,
                holder_sealed: r.try_get("holder_sealed")?,
                place: r.try_get("place")?,
                since: r.try_get("since")?,
            })
        })
        .collect()
}
