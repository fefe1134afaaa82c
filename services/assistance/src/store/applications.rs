//! Applications and the register of officials' close relatives.

use kit::ServiceError;
use kit::pii::Sealer;
use sqlx::{AnyConnection, Row};

use super::{open, seal, stale};
use crate::records::{ApplicationRecord, kind_str, state_str};

pub async fn insert_application(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    rec: &ApplicationRecord,
    now_ms: i64,
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
    .bind(now_ms)
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
    now_ms: i64,
) -> Result<(), ServiceError> {
    let n = sqlx::query(
        "UPDATE applications SET state = $1, deadline = $2, record_sealed = $3, version = version + 1, updated_at_ms = $4
         WHERE id = $5 AND version = $6",
    )
    .bind(state_str(rec.state))
    .bind(rec.deadline.clone())
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
        Err(stale("application"))
    }
}

/// Undecided applications of a region whose deadline is before `today` (YYYY-MM-DD compares
/// as text), ordered by (deadline, id), after the keyset position `after`, at most `limit`.
pub async fn overdue_applications(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    region_prefix: &str,
    today: &str,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<(String, ApplicationRecord)>, ServiceError> {
    let (after_deadline, after_id) = after.unwrap_or(("", ""));
    let rows = sqlx::query(
        "SELECT record_sealed, version, deadline FROM applications
         WHERE state NOT IN ('approved', 'refused') AND deadline IS NOT NULL AND deadline < $1 AND region LIKE $2
           AND (deadline > $3 OR (deadline = $3 AND id > $4))
         ORDER BY deadline, id LIMIT $5",
    )
    .bind(today)
    .bind(format!("{region_prefix}%"))
    .bind(after_deadline)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let mut rec: ApplicationRecord =
                open(sealer, &row.try_get::<String, _>("record_sealed")?)?;
            rec.version = row.try_get("version")?;
            Ok((row.try_get::<String, _>("deadline")?, rec))
        })
        .collect()
}

/// Registers a close relative of an official (近亲属备案); the record is sealed.
pub async fn insert_close_relative(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    id_index: &str,
    record: &contracts::civil::assistance::v1::CloseRelative,
    now_ms: i64,
) -> Result<(), ServiceError> {
    use prost::Message;
    let bytes = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        record.encode_to_vec(),
    );
    sqlx::query(
        "INSERT INTO close_relatives (id, id_index, official_subject, official_region, record_sealed, registered_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&record.id)
    .bind(id_index)
    .bind(&record.official_subject)
    .bind(&record.official_region)
    .bind(sealer.seal(&bytes))
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Subjects of the officials any of these people (blind indexes) is registered as a close
/// relative of.
pub async fn registered_officials(
    conn: &mut AnyConnection,
    indexes: &[String],
) -> Result<Vec<String>, ServiceError> {
    let mut officials = Vec::new();
    for index in indexes {
        let rows = sqlx::query(
            "SELECT official_subject FROM close_relatives WHERE id_index = $1 ORDER BY id",
        )
        .bind(index)
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            let subject: String = row.try_get("official_subject")?;
            if !officials.contains(&subject) {
                officials.push(subject);
            }
        }
    }
    Ok(officials)
}
