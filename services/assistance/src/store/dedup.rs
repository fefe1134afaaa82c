//! The deduplication registers (RULES.md "Second round" §5): who is in a live assistance
//! household and who is in an open application of a program, by blind index.

use kit::ServiceError;
use sqlx::{AnyConnection, Row};

/// Where a person already is: the record's id and its region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub id: String,
    pub region: String,
}

/// The program (`kind` column) of a benefit.
pub async fn benefit_kind(
    conn: &mut AnyConnection,
    benefit_id: &str,
) -> Result<String, ServiceError> {
    let row = sqlx::query("SELECT kind FROM benefits WHERE id = $1")
        .bind(benefit_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("kind")?)
}

/// The live household benefit the person is in, if any.
pub async fn household_of(
    conn: &mut AnyConnection,
    id_index: &str,
) -> Result<Option<Holder>, ServiceError> {
    let row = sqlx::query("SELECT benefit_id, region FROM household_people WHERE id_index = $1")
        .bind(id_index)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Some(Holder {
            id: r.try_get("benefit_id")?,
            region: r.try_get("region")?,
        }),
        None => None,
    })
}

/// The open application of the program the person is in, if any.
pub async fn open_application_of(
    conn: &mut AnyConnection,
    id_index: &str,
    kind: &str,
) -> Result<Option<Holder>, ServiceError> {
    let row = sqlx::query(
        "SELECT application_id, region FROM application_people WHERE id_index = $1 AND kind = $2",
    )
    .bind(id_index)
    .bind(kind)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(r) => Some(Holder {
            id: r.try_get("application_id")?,
            region: r.try_get("region")?,
        }),
        None => None,
    })
}

/// Registers a person in an open application; false when the place is taken (a concurrent
/// application won).
pub async fn claim_application(
    conn: &mut AnyConnection,
    id_index: &str,
    kind: &str,
    holder: &Holder,
) -> Result<bool, ServiceError> {
    let n = sqlx::query(
        "INSERT INTO application_people (id_index, kind, application_id, region) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id_index, kind) DO NOTHING",
    )
    .bind(id_index)
    .bind(kind)
    .bind(&holder.id)
    .bind(&holder.region)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The application is decided: its people are free to apply again.
pub async fn release_application(
    conn: &mut AnyConnection,
    application_id: &str,
) -> Result<(), ServiceError> {
    sqlx::query("DELETE FROM application_people WHERE application_id = $1")
        .bind(application_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Registers a person in a live household benefit; false when the place is taken.
pub async fn claim_household(
    conn: &mut AnyConnection,
    id_index: &str,
    holder: &Holder,
) -> Result<bool, ServiceError> {
    let n = sqlx::query(
        "INSERT INTO household_people (id_index, benefit_id, region) VALUES ($1, $2, $3)
         ON CONFLICT (id_index) DO NOTHING",
    )
    .bind(id_index)
    .bind(&holder.id)
    .bind(&holder.region)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The benefit ended: its people leave the household register.
pub async fn release_household(
    conn: &mut AnyConnection,
    benefit_id: &str,
) -> Result<(), ServiceError> {
    sqlx::query("DELETE FROM household_people WHERE benefit_id = $1")
        .bind(benefit_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
