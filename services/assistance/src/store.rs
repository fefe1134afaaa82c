//! sqlx queries (portable SQL, one code path for SQLite and PostgreSQL). Each function runs on a
//! connection the caller holds, usually the idempotent write's transaction.

use kit::ServiceError;
use kit::pii::Sealer;
use sqlx::{AnyConnection, Row};

use crate::records::{ApplicationRecord, BenefitRecord, kind_str, state_str};

fn seal<T: serde::Serialize>(sealer: &Sealer, value: &T) -> Result<String, ServiceError> {
    let json = serde_json::to_string(value)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("encode record: {e}")))?;
    Ok(sealer.seal(&json))
}

fn open<T: serde::de::DeserializeOwned>(sealer: &Sealer, sealed: &str) -> Result<T, ServiceError> {
    let json = sealer
        .open(sealed)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
    serde_json::from_str(&json)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("decode record: {e}")))
}

fn stale(what: &str) -> ServiceError {
    ServiceError::Aborted(format!("the {what} changed concurrently; retry"))
}

pub async fn insert_application(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    rec: &ApplicationRecord,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO applications (id, kind, state, region, flagged, submitted_on, deadline, record_sealed, version, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)",
    )
    .bind(&rec.id)
    .bind(kind_str(rec.kind))
    .bind(state_str(rec.state))
    .bind(&rec.household.region)
    .bind(i64::from(rec.flagged()))
    .bind(&rec.submitted_on)
    .bind(rec.deadline.clone())
    .bind(seal(sealer, rec)?)
    .bind(kit::now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn load_application(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    id: &str,
) -> Result<ApplicationRecord, ServiceError> {
    let row = sqlx::query("SELECT record_sealed, version FROM applications WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("application {id}")))?;
    let mut rec: ApplicationRecord = open(sealer, &row.try_get::<String, _>("record_sealed")?)?;
    rec.version = row.try_get("version")?;
    Ok(rec)
}

/// Saves a changed application; refused (ABORTED) when another writer changed it since it was
/// loaded (optimistic concurrency on `version`).
pub async fn update_application(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    rec: &ApplicationRecord,
) -> Result<(), ServiceError> {
    let n = sqlx::query(
        "UPDATE applications SET state = $1, deadline = $2, record_sealed = $3, version = version + 1, updated_at_ms = $4
         WHERE id = $5 AND version = $6",
    )
    .bind(state_str(rec.state))
    .bind(rec.deadline.clone())
    .bind(seal(sealer, rec)?)
    .bind(kit::now_ms())
    .bind(&rec.id)
    .bind(rec.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(stale("application"))
    }
}

/// Undecided applications of a region whose deadline is before `today` (YYYY-MM-DD compares
/// as text).
pub async fn overdue_applications(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    region_prefix: &str,
    today: &str,
) -> Result<Vec<ApplicationRecord>, ServiceError> {
    let rows = sqlx::query(
        "SELECT record_sealed, version FROM applications
         WHERE state NOT IN ('approved', 'refused') AND deadline IS NOT NULL AND deadline < $1 AND region LIKE $2
         ORDER BY deadline, id LIMIT 1000",
    )
    .bind(today)
    .bind(format!("{region_prefix}%"))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let mut rec: ApplicationRecord =
                open(sealer, &row.try_get::<String, _>("record_sealed")?)?;
            rec.version = row.try_get("version")?;
            Ok(rec)
        })
        .collect()
}

pub async fn insert_benefit(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    rec: &BenefitRecord,
    member_indexes: &[String],
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO benefits (id, kind, state, region, paid_from, ends, record_sealed, version, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)",
    )
    .bind(&rec.id)
    .bind(kind_str(rec.kind()))
    .bind(rec.state.as_str())
    .bind(rec.region())
    .bind(rec.terms.paid_from.to_string())
    .bind(rec.terms.ends.map(|m| m.to_string()))
    .bind(seal(sealer, rec)?)
    .bind(kit::now_ms())
    .execute(&mut *conn)
    .await?;
    for index in member_indexes {
        sqlx::query("INSERT INTO benefit_members (benefit_id, id_index) VALUES ($1, $2) ON CONFLICT (benefit_id, id_index) DO NOTHING")
            .bind(&rec.id)
            .bind(index)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn benefit_from_row(
    sealer: &Sealer,
    row: &sqlx::any::AnyRow,
) -> Result<BenefitRecord, ServiceError> {
    let mut rec: BenefitRecord = open(sealer, &row.try_get::<String, _>("record_sealed")?)?;
    rec.version = row.try_get("version")?;
    Ok(rec)
}

pub async fn load_benefit(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    id: &str,
) -> Result<BenefitRecord, ServiceError> {
    let row = sqlx::query("SELECT record_sealed, version FROM benefits WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("benefit {id}")))?;
    benefit_from_row(sealer, &row)
}

pub async fn update_benefit(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    rec: &BenefitRecord,
) -> Result<(), ServiceError> {
    let n = sqlx::query(
        "UPDATE benefits SET state = $1, ends = $2, record_sealed = $3, version = version + 1, updated_at_ms = $4
         WHERE id = $5 AND version = $6",
    )
    .bind(rec.state.as_str())
    .bind(rec.terms.ends.map(|m| m.to_string()))
    .bind(seal(sealer, rec)?)
    .bind(kit::now_ms())
    .bind(&rec.id)
    .bind(rec.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(stale("benefit"))
    }
}

/// Benefits in which the person (by blind index) is or was a member.
pub async fn benefits_of_person(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    id_index: &str,
) -> Result<Vec<BenefitRecord>, ServiceError> {
    let rows = sqlx::query(
        "SELECT b.record_sealed, b.version FROM benefits b JOIN benefit_members m ON m.benefit_id = b.id
         WHERE m.id_index = $1 ORDER BY b.id",
    )
    .bind(id_index)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| benefit_from_row(sealer, row))
        .collect()
}

/// Blind indexes of a benefit's members (cache invalidation).
pub async fn member_indexes(
    conn: &mut AnyConnection,
    benefit_id: &str,
) -> Result<Vec<String>, ServiceError> {
    let rows = sqlx::query("SELECT id_index FROM benefit_members WHERE benefit_id = $1")
        .bind(benefit_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            r.try_get::<String, _>("id_index")
                .map_err(ServiceError::from)
        })
        .collect()
}

/// Monthly benefits that may pay in `month` ("YYYY-MM" compares as text).
pub async fn benefits_paying_in(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    month: &str,
) -> Result<Vec<BenefitRecord>, ServiceError> {
    let rows = sqlx::query(
        "SELECT record_sealed, version FROM benefits
         WHERE kind IN ('minimum_living', 'extreme_poverty') AND paid_from <= $1 AND (ends IS NULL OR ends > $1)
         ORDER BY region, id",
    )
    .bind(month)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| benefit_from_row(sealer, row))
        .collect()
}

/// The stored outcome of a person's death, if already recorded.
pub async fn death_response(
    conn: &mut AnyConnection,
    id_index: &str,
) -> Result<Option<String>, ServiceError> {
    let row = sqlx::query("SELECT response FROM deaths WHERE id_index = $1")
        .bind(id_index)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("response")).transpose()?)
}

pub async fn insert_death(
    conn: &mut AnyConnection,
    id_index: &str,
    date_of_death: &str,
    response: &str,
) -> Result<(), ServiceError> {
    sqlx::query("INSERT INTO deaths (id_index, date_of_death, response, recorded_at_ms) VALUES ($1, $2, $3, $4)")
        .bind(id_index)
        .bind(date_of_death)
        .bind(response)
        .bind(kit::now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

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
    .bind(kit::now_ms())
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
