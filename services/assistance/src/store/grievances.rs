//! Grievances (RULES.md "Second round" §6): the record sealed, the columns lists filter on.

use kit::ServiceError;
use kit::pii::Sealer;
use sqlx::{AnyConnection, Row};

use super::{open, seal, stale};
use crate::grievances::GrievanceRecord;

pub async fn insert_grievance(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    rec: &GrievanceRecord,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO grievances (id, category, region, state, deadline, escalated, record_sealed, version, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)",
    )
    .bind(&rec.id)
    .bind(rec.category.code())
    .bind(&rec.region)
    .bind(rec.state())
    .bind(&rec.deadline)
    .bind(i64::from(rec.escalated_on.is_some()))
    .bind(seal(sealer, rec)?)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn from_row(sealer: &Sealer, row: &sqlx::any::AnyRow) -> Result<GrievanceRecord, ServiceError> {
    let mut rec: GrievanceRecord = open(sealer, &row.try_get::<String, _>("record_sealed")?)?;
    rec.version = row.try_get("version")?;
    Ok(rec)
}

pub async fn load_grievance(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    id: &str,
) -> Result<GrievanceRecord, ServiceError> {
    let row = sqlx::query("SELECT record_sealed, version FROM grievances WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("grievance {id}")))?;
    from_row(sealer, &row)
}

/// Saves a changed grievance; ABORTED when another writer changed it since it was loaded.
pub async fn update_grievance(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    rec: &GrievanceRecord,
    now_ms: i64,
) -> Result<(), ServiceError> {
    let n = sqlx::query(
        "UPDATE grievances SET state = $1, deadline = $2, escalated = $3, record_sealed = $4, version = version + 1, updated_at_ms = $5
         WHERE id = $6 AND version = $7",
    )
    .bind(rec.state())
    .bind(&rec.deadline)
    .bind(i64::from(rec.escalated_on.is_some()))
    .bind(seal(sealer, rec)?)
    .bind(now_ms)
    .bind(&rec.id)
    .bind(rec.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(stale("grievance"))
    }
}

/// Unresolved grievances of a region whose deadline is before `today` (YYYY-MM-DD compares as
/// text), oldest deadline first, at most `limit`; only those not escalated when asked.
pub async fn overdue_grievances(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    region_prefix: &str,
    today: &str,
    not_escalated_only: bool,
    limit: i64,
) -> Result<Vec<GrievanceRecord>, ServiceError> {
    let rows = sqlx::query(
        "SELECT record_sealed, version FROM grievances
         WHERE state <> 'resolved' AND deadline < $1 AND region LIKE $2 AND escalated <= $3
         ORDER BY deadline, id LIMIT $4",
    )
    .bind(today)
    .bind(format!("{region_prefix}%"))
    .bind(if not_escalated_only { 0i64 } else { 1 })
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| from_row(sealer, r)).collect()
}

/// How many unresolved grievances are past their deadline (the overdue gauge).
pub async fn count_overdue_grievances(
    conn: &mut AnyConnection,
    today: &str,
) -> Result<i64, ServiceError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM grievances WHERE state <> 'resolved' AND deadline < $1",
    )
    .bind(today)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("n")?)
}

/// Whether an application or a benefit has this id (the corrected decision of an outcome);
/// gives its region.
pub async fn decision_region(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<String>, ServiceError> {
    let row = sqlx::query(
        "SELECT region FROM applications WHERE id = $1 UNION ALL SELECT region FROM benefits WHERE id = $2",
    )
    .bind(id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("region")?),
        None => None,
    })
}
