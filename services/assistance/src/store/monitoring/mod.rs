//! 低收入人口动态监测: monitored households and members (blind indexes), the register, signals
//! and warnings. A visit's finding and a closure's reasons are sealed (`detail_sealed`).

mod register;
mod signals;
mod warnings;

pub use register::*;
pub use signals::*;
pub use warnings::*;

use kit::ServiceError;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone)]
pub struct HouseholdRow {
    pub id: String,
    pub region: String,
    pub owner_region: String,
}

pub async fn household_of_person(
    conn: &mut AnyConnection,
    index: &str,
) -> Result<Option<HouseholdRow>, ServiceError> {
    let row = sqlx::query(
        "SELECT h.id, h.region, h.owner_region FROM mon_households h
         JOIN mon_members m ON m.household_id = h.id WHERE m.id_index = $1",
    )
    .bind(index)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| household_from(&r)).transpose()
}

pub async fn household(conn: &mut AnyConnection, id: &str) -> Result<HouseholdRow, ServiceError> {
    let row = sqlx::query("SELECT id, region, owner_region FROM mon_households WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("household {id}")))?;
    household_from(&row)
}

fn household_from(r: &sqlx::any::AnyRow) -> Result<HouseholdRow, ServiceError> {
    Ok(HouseholdRow {
        id: r.try_get("id")?,
        region: r.try_get("region")?,
        owner_region: r.try_get("owner_region")?,
    })
}

pub async fn insert_household(
    conn: &mut AnyConnection,
    h: &HouseholdRow,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO mon_households (id, region, owner_region, created_at_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(&h.id)
    .bind(&h.region)
    .bind(&h.owner_region)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Puts a person in a household unless they are in one already.
pub async fn add_member(
    conn: &mut AnyConnection,
    household_id: &str,
    index: &str,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO mon_members (id_index, household_id) VALUES ($1, $2)
         ON CONFLICT (id_index) DO NOTHING",
    )
    .bind(index)
    .bind(household_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn household_members(
    conn: &mut AnyConnection,
    household_id: &str,
) -> Result<Vec<String>, ServiceError> {
    let rows =
        sqlx::query("SELECT id_index FROM mon_members WHERE household_id = $1 ORDER BY id_index")
            .bind(household_id)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("id_index").map_err(Into::into))
        .collect()
}
