//! Death cases, their declarant and the body's custody events.

use kit::ServiceError;
use sqlx::{AnyConnection, Row};

use crate::domain::case::CaseState;

/// A death case row.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub id: String,
    pub person_index: String,
    pub id_sealed: String,
    pub name_sealed: String,
    pub region: String,
    pub ethnicity: String,
    pub issuer: String,
    pub certificate_number: String,
    pub date_of_death: String,
    pub place_of_death: String,
    pub cause_class: String,
    pub state: CaseState,
    pub cremation_certificate: Option<String>,
    pub final_place: Option<String>,
    pub declarant: Option<DeclarantRow>,
    /// Household (户籍) region; the case's `region` for a resident.
    pub household_region: String,
}

/// The declarant (申报人) recorded with a case.
#[derive(Debug, Clone)]
pub struct DeclarantRow {
    pub index: String,
    pub id_sealed: String,
    pub name_sealed: String,
    /// Proto name of the relationship.
    pub relationship: String,
    /// Recorded by a funeral home at the desk (documents seen).
    pub at_desk: bool,
}

const CASE_COLUMNS: &str = "id, person_index, id_sealed, name_sealed, region, ethnicity, issuer, certificate_number, \
    date_of_death, place_of_death, cause_class, state, cremation_certificate, final_place, \
    declarant_index, declarant_sealed, declarant_name_sealed, declarant_relationship, declarant_at_desk, \
    household_region";

fn case_from_row(row: &sqlx::any::AnyRow) -> Result<CaseRow, ServiceError> {
    let state: String = row.try_get("state")?;
    Ok(CaseRow {
        id: row.try_get("id")?,
        person_index: row.try_get("person_index")?,
        id_sealed: row.try_get("id_sealed")?,
        name_sealed: row.try_get("name_sealed")?,
        region: row.try_get("region")?,
        ethnicity: row.try_get("ethnicity")?,
        issuer: row.try_get("issuer")?,
        certificate_number: row.try_get("certificate_number")?,
        date_of_death: row.try_get("date_of_death")?,
        place_of_death: row.try_get("place_of_death")?,
        cause_class: row.try_get("cause_class")?,
        state: CaseState::parse(&state)
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("unknown case state")))?,
        cremation_certificate: row.try_get("cremation_certificate")?,
        final_place: row.try_get("final_place")?,
        declarant: declarant_from_row(row)?,
        household_region: {
            let h: String = row.try_get("household_region")?;
            if h.is_empty() {
                row.try_get("region")?
            } else {
                h
            }
        },
    })
}

fn declarant_from_row(row: &sqlx::any::AnyRow) -> Result<Option<DeclarantRow>, ServiceError> {
    let index: String = row.try_get("declarant_index")?;
    if index.is_empty() {
        return Ok(None);
    }
    Ok(Some(DeclarantRow {
        index,
        id_sealed: row.try_get("declarant_sealed")?,
        name_sealed: row.try_get("declarant_name_sealed")?,
        relationship: row.try_get("declarant_relationship")?,
        at_desk: row.try_get::<i64, _>("declarant_at_desk")? == 1,
    }))
}

pub async fn case_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<CaseRow>, ServiceError> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM death_cases WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(case_from_row).transpose()
}

pub async fn case_by_person(
    conn: &mut AnyConnection,
    person_index: &str,
) -> Result<Option<CaseRow>, ServiceError> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM death_cases WHERE person_index = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(person_index)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(case_from_row).transpose()
}

/// Inserts a case; `false` when the person already has one (unique blind index).
pub async fn insert_case(
    conn: &mut AnyConnection,
    c: &CaseRow,
    now_ms: i64,
) -> Result<bool, ServiceError> {
    let n = sqlx::query(
        "INSERT INTO death_cases (id, person_index, id_sealed, name_sealed, region, ethnicity, issuer, certificate_number,
            date_of_death, place_of_death, cause_class, state, cremation_certificate, final_place, created_at_ms, updated_at_ms,
            declarant_index, declarant_sealed, declarant_name_sealed, declarant_relationship, declarant_at_desk,
            household_region)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, $13, $13, $14, $15, $16, $17, $18, $19)
         ON CONFLICT (person_index) DO NOTHING",
    )
    .bind(&c.id)
    .bind(&c.person_index)
    .bind(&c.id_sealed)
    .bind(&c.name_sealed)
    .bind(&c.region)
    .bind(&c.ethnicity)
    .bind(&c.issuer)
    .bind(&c.certificate_number)
    .bind(&c.date_of_death)
    .bind(&c.place_of_death)
    .bind(&c.cause_class)
    .bind(c.state.as_str())
    .bind(now_ms)
    .bind(c.declarant.as_ref().map(|d| d.index.as_str()).unwrap_or(""))
    .bind(c.declarant.as_ref().map(|d| d.id_sealed.as_str()).unwrap_or(""))
    .bind(c.declarant.as_ref().map(|d| d.name_sealed.as_str()).unwrap_or(""))
    .bind(c.declarant.as_ref().map(|d| d.relationship.as_str()).unwrap_or(""))
    .bind(i64::from(c.declarant.as_ref().is_some_and(|d| d.at_desk)))
    .bind(&c.household_region)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Moves a case from `from` to `to`; 0 rows means someone else moved it first (ABORTED).
pub async fn transition(
    conn: &mut AnyConnection,
    id: &str,
    from: CaseState,
    to: CaseState,
    now_ms: i64,
) -> Result<(), ServiceError> {
    let n = sqlx::query(
        "UPDATE death_cases SET state = $1, updated_at_ms = $2 WHERE id = $3 AND state = $4",
    )
    .bind(to.as_str())
    .bind(now_ms)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(ServiceError::Aborted(
            "the case changed concurrently, retry".into(),
        ))
    }
}

pub async fn set_final_place(
    conn: &mut AnyConnection,
    id: &str,
    place: &str,
) -> Result<(), ServiceError> {
    sqlx::query("UPDATE death_cases SET final_place = $1 WHERE id = $2")
        .bind(place)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub struct CustodyRow {
    pub kind: String,
    pub location: String,
    pub date: String,
}

pub async fn insert_custody(
    conn: &mut AnyConnection,
    case_id: &str,
    c: &CustodyRow,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query("INSERT INTO custody_events (id, case_id, kind, location, event_date, recorded_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(case_id)
        .bind(&c.kind)
        .bind(&c.location)
        .bind(&c.date)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn custody_of(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Vec<CustodyRow>, ServiceError> {
    let rows = sqlx::query(
        "SELECT kind, location, event_date FROM custody_events WHERE case_id = $1 ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CustodyRow {
                kind: r.try_get("kind")?,
                location: r.try_get("location")?,
                date: r.try_get("event_date")?,
            })
        })
        .collect()
}
