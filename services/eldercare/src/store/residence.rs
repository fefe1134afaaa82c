//! SQL of beds, stays (residencies) and their discharge records.

use kit::ServiceError;
use sqlx::{AnyConnection, Row};
use time::Date;

use super::{date_text, opt_date};
use crate::domain::institution::{BedType, DischargeReason};

#[derive(Debug, Clone)]
pub struct BedRow {
    pub id: String,
    pub institution_id: String,
    pub label: String,
    pub seq: i64,
    pub bed_type: BedType,
    pub elder_id: Option<String>,
}

const BED_COLUMNS: &str = "id, institution_id, label, seq, bed_type, elder_id";

fn bed_from_row(r: &sqlx::any::AnyRow) -> Result<BedRow, ServiceError> {
    let kind: String = r.try_get("bed_type")?;
    Ok(BedRow {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        label: r.try_get("label")?,
        seq: r.try_get("seq")?,
        bed_type: BedType::parse(&kind)
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("stored bed type is unknown")))?,
        elder_id: r.try_get("elder_id")?,
    })
}

/// Creates the beds of a new institution: `nursing` nursing beds first, then general ones.
pub async fn insert_beds(
    conn: &mut AnyConnection,
    institution_id: &str,
    beds: i32,
    nursing: i32,
) -> Result<(), ServiceError> {
    for seq in 1..=i64::from(beds) {
        let kind = if seq <= i64::from(nursing) {
            BedType::Nursing
        } else {
            BedType::General
        };
        sqlx::query(
            "INSERT INTO beds (id, institution_id, label, seq, bed_type, elder_id) VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(institution_id)
        .bind(format!("{seq:03}"))
        .bind(seq)
        .bind(kind.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn bed(conn: &mut AnyConnection, id: &str) -> Result<Option<BedRow>, ServiceError> {
    let sql = format!("SELECT {BED_COLUMNS} FROM beds WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(bed_from_row).transpose()
}

/// Beds of an institution after position `after_seq`, in order, at most `limit`.
pub async fn beds(
    conn: &mut AnyConnection,
    institution_id: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<BedRow>, ServiceError> {
    let sql = format!(
        "SELECT {BED_COLUMNS} FROM beds WHERE institution_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(institution_id)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(bed_from_row).collect()
}

/// Gives `elder_id` the first free bed of `kind`; `None` when none is free. The conditional
/// UPDATE is the capacity check under concurrency.
pub async fn take_free_bed(
    conn: &mut AnyConnection,
    institution_id: &str,
    kind: BedType,
    elder_id: &str,
) -> Result<Option<String>, ServiceError> {
    let row = sqlx::query(
        "UPDATE beds SET elder_id = $1
         WHERE id = (SELECT id FROM beds WHERE institution_id = $2 AND bed_type = $3 AND elder_id IS NULL
                     ORDER BY seq LIMIT 1)
           AND elder_id IS NULL
         RETURNING id",
    )
    .bind(elder_id)
    .bind(institution_id)
    .bind(kind.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| r.try_get("id")).transpose().map_err(Into::into)
}

/// Gives `elder_id` the bed `bed_id` if it is free.
pub async fn take_bed(
    conn: &mut AnyConnection,
    bed_id: &str,
    elder_id: &str,
) -> Result<bool, ServiceError> {
    let n = sqlx::query("UPDATE beds SET elder_id = $1 WHERE id = $2 AND elder_id IS NULL")
        .bind(elder_id)
        .bind(bed_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Frees the bed `elder_id` holds, if any.
pub async fn free_bed_of(conn: &mut AnyConnection, elder_id: &str) -> Result<(), ServiceError> {
    sqlx::query("UPDATE beds SET elder_id = NULL WHERE elder_id = $1")
        .bind(elder_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub struct BedTypeChange<'a> {
    pub bed: &'a BedRow,
    pub to: BedType,
    pub changed_on: Date,
    pub reason: &'a str,
    pub changed_by: &'a str,
    pub at_ms: i64,
}

/// Changes a bed's type and keeps the change; `false` when the bed changed meanwhile.
pub async fn change_bed_type(
    conn: &mut AnyConnection,
    c: &BedTypeChange<'_>,
) -> Result<bool, ServiceError> {
    let n = sqlx::query("UPDATE beds SET bed_type = $1 WHERE id = $2 AND bed_type = $3")
        .bind(c.to.as_str())
        .bind(&c.bed.id)
        .bind(c.bed.bed_type.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if n != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO bed_type_changes (id, bed_id, from_type, to_type, changed_on, reason, changed_by, at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&c.bed.id)
    .bind(c.bed.bed_type.as_str())
    .bind(c.to.as_str())
    .bind(date_text(c.changed_on))
    .bind(c.reason)
    .bind(c.changed_by)
    .bind(c.at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// A stay; discharged when `discharged_on` is set (then it is a discharge record).
#[derive(Debug, Clone)]
pub struct StayRow {
    pub id: String,
    pub institution_id: String,
    pub elder_id: String,
    pub bed_id: String,
    pub bed_type: BedType,
    pub admitted_on: Option<Date>,
    pub discharged_on: Option<Date>,
    pub reason: DischargeReason,
    pub note: String,
}

const STAY_COLUMNS: &str = "id, institution_id, elder_id, bed_id, bed_type, admitted_on, discharged_on, discharge_reason, discharge_note";

fn stay_from_row(r: &sqlx::any::AnyRow) -> Result<StayRow, ServiceError> {
    let kind: String = r.try_get("bed_type")?;
    let reason: Option<String> = r.try_get("discharge_reason")?;
    Ok(StayRow {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        elder_id: r.try_get("elder_id")?,
        bed_id: r.try_get("bed_id")?,
        bed_type: BedType::parse(&kind).unwrap_or(BedType::General),
        admitted_on: opt_date(r.try_get("admitted_on")?)?,
        discharged_on: opt_date(r.try_get("discharged_on")?)?,
        reason: reason
            .as_deref()
            .and_then(DischargeReason::parse)
            .unwrap_or(DischargeReason::Unspecified),
        note: r.try_get("discharge_note")?,
    })
}

impl StayRow {
    /// A stay that opens on `admitted_on`.
    pub fn open(
        institution_id: &str,
        elder_id: &str,
        bed_id: String,
        bed_type: BedType,
        admitted_on: Date,
    ) -> StayRow {
        StayRow {
            id: uuid::Uuid::now_v7().to_string(),
            institution_id: institution_id.to_owned(),
            elder_id: elder_id.to_owned(),
            bed_id,
            bed_type,
            admitted_on: Some(admitted_on),
            discharged_on: None,
            reason: DischargeReason::Unspecified,
            note: String::new(),
        }
    }
}

pub async fn open_stay(conn: &mut AnyConnection, s: &StayRow) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO residencies (id, institution_id, elder_id, bed_id, bed_type, admitted_on, discharged_on,
            discharge_reason, discharge_note, discharged_by)
         VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, '', NULL)",
    )
    .bind(&s.id)
    .bind(&s.institution_id)
    .bind(&s.elder_id)
    .bind(&s.bed_id)
    .bind(s.bed_type.as_str())
    .bind(s.admitted_on.map(date_text))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The elder's open stay, if any.
pub async fn open_stay_of(
    conn: &mut AnyConnection,
    elder_id: &str,
) -> Result<Option<StayRow>, ServiceError> {
    let sql = format!(
        "SELECT {STAY_COLUMNS} FROM residencies WHERE elder_id = $1 AND discharged_on IS NULL"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(elder_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(stay_from_row).transpose()
}

/// Closes a stay: the discharge record.
pub async fn close_stay(
    conn: &mut AnyConnection,
    stay_id: &str,
    on: Date,
    reason: DischargeReason,
    note: &str,
    by: &str,
) -> Result<(), ServiceError> {
    sqlx::query(
        "UPDATE residencies SET discharged_on = $1, discharge_reason = $2, discharge_note = $3, discharged_by = $4
         WHERE id = $5 AND discharged_on IS NULL",
    )
    .bind(date_text(on))
    .bind(reason.as_str())
    .bind(note)
    .bind(by)
    .bind(stay_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Discharge records of an institution, newest first, after the cursor `(day, id)`.
pub async fn discharges(
    conn: &mut AnyConnection,
    institution_id: &str,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<StayRow>, ServiceError> {
    let order = "ORDER BY discharged_on DESC, id DESC";
    let rows = match after {
        Some((day, id)) => {
            let sql = format!(
                "SELECT {STAY_COLUMNS} FROM residencies
                 WHERE institution_id = $1 AND discharged_on IS NOT NULL
                   AND (discharged_on < $2 OR (discharged_on = $2 AND id < $3))
                 {order} LIMIT $4"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(institution_id)
                .bind(day)
                .bind(id)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?
        }
        None => {
            let sql = format!(
                "SELECT {STAY_COLUMNS} FROM residencies
                 WHERE institution_id = $1 AND discharged_on IS NOT NULL {order} LIMIT $2"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(institution_id)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    rows.iter().map(stay_from_row).collect()
}

/// Frees the elder's bed and closes the stay: its discharge record.
pub async fn release(
    conn: &mut AnyConnection,
    elder_id: &str,
    on: Date,
    reason: DischargeReason,
    note: &str,
    by: &str,
) -> Result<(), ServiceError> {
    free_bed_of(conn, elder_id).await?;
    if let Some(stay) = open_stay_of(conn, elder_id).await? {
        close_stay(conn, &stay.id, on, reason, note, by).await?;
    }
    super::set_residence(conn, elder_id, None, false).await
}
