//! The register's entries (低收入人口库).

use kit::ServiceError;
use kit::clock::{date_text, stored_date};
use sqlx::{AnyConnection, Row};

use crate::domain::monitoring::register::Category;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRow {
    pub id: String,
    pub household_id: String,
    pub category: Category,
    pub region: String,
    pub owner_region: String,
    pub source: String,
    pub source_reference: String,
    pub starts_on: time::Date,
    pub ends_on: Option<time::Date>,
    pub members: i64,
}

/// Inserts an entry, or updates the dates and size of the entry from the same source.
pub async fn upsert_entry(
    conn: &mut AnyConnection,
    e: &RegisterRow,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO mon_register (id, household_id, category, region, owner_region, source,
             source_reference, starts_on, ends_on, members, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (source, source_reference, category)
         DO UPDATE SET ends_on = EXCLUDED.ends_on, members = EXCLUDED.members,
             updated_at_ms = EXCLUDED.updated_at_ms",
    )
    .bind(&e.id)
    .bind(&e.household_id)
    .bind(e.category.as_str())
    .bind(&e.region)
    .bind(&e.owner_region)
    .bind(&e.source)
    .bind(&e.source_reference)
    .bind(date_text(e.starts_on))
    .bind(e.ends_on.map(date_text))
    .bind(e.members)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

const REGISTER_COLUMNS: &str = "id, household_id, category, region, owner_region, source, \
     source_reference, starts_on, ends_on, members";

fn entry_from(r: &sqlx::any::AnyRow) -> Result<RegisterRow, ServiceError> {
    let category: String = r.try_get("category")?;
    let ends_on: Option<String> = r.try_get("ends_on")?;
    Ok(RegisterRow {
        id: r.try_get("id")?,
        household_id: r.try_get("household_id")?,
        category: Category::parse(&category)
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("category {category}")))?,
        region: r.try_get("region")?,
        owner_region: r.try_get("owner_region")?,
        source: r.try_get("source")?,
        source_reference: r.try_get("source_reference")?,
        starts_on: stored_date(&r.try_get::<String, _>("starts_on")?)?,
        ends_on: ends_on.as_deref().map(stored_date).transpose()?,
        members: r.try_get("members")?,
    })
}

pub async fn register_of_household(
    conn: &mut AnyConnection,
    household_id: &str,
) -> Result<Vec<RegisterRow>, ServiceError> {
    let sql = format!(
        "SELECT {REGISTER_COLUMNS} FROM mon_register WHERE household_id = $1 ORDER BY starts_on, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(household_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(entry_from).collect()
}

/// Entries owned within `region` (a prefix of the owner's code), optionally of one category,
/// after the id `after`, at most `limit`.
pub async fn list_register(
    conn: &mut AnyConnection,
    region: &str,
    category: Option<Category>,
    after: &str,
    limit: i64,
) -> Result<Vec<RegisterRow>, ServiceError> {
    let sql = format!(
        "SELECT {REGISTER_COLUMNS} FROM mon_register
         WHERE owner_region LIKE $1 AND ($2 = '' OR category = $2) AND id > $3
         ORDER BY id LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(format!("{region}%"))
        .bind(category.map_or("", Category::as_str))
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(entry_from).collect()
}
