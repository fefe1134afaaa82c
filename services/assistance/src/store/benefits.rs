//! Benefits, the people they cover (blind indexes), and recorded deaths.

use kit::ServiceError;
use kit::pii::Sealer;
use sqlx::{AnyConnection, Row};

use super::{open, seal, stale};
use crate::records::{BenefitRecord, BenefitState, kind_str};

pub async fn insert_benefit(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    rec: &BenefitRecord,
    member_indexes: &[String],
    now_ms: i64,
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
    .bind(now_ms)
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
    now_ms: i64,
) -> Result<(), ServiceError> {
    let n = sqlx::query(
        "UPDATE benefits SET state = $1, ends = $2, record_sealed = $3, version = version + 1, updated_at_ms = $4
         WHERE id = $5 AND version = $6",
    )
    .bind(rec.state.as_str())
    .bind(rec.terms.ends.map(|m| m.to_string()))
    .bind(seal(sealer, rec)?)
    .bind(now_ms)
    .bind(&rec.id)
    .bind(rec.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(stale("benefit"));
    }
    if rec.state == BenefitState::Terminated {
        super::release_household(conn, &rec.id).await?;
    }
    Ok(())
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
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query("INSERT INTO deaths (id_index, date_of_death, response, recorded_at_ms) VALUES ($1, $2, $3, $4)")
        .bind(id_index)
        .bind(date_of_death)
        .bind(response)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
