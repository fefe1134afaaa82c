//! SQL of the place-name service, portable across SQLite and PostgreSQL. One function per query:
//! place names, codes and seeds here; [`applications`] and [`house_numbers`] in their files.

mod applications;
mod house_numbers;

pub use applications::*;
pub use house_numbers::*;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::Date;

use crate::domain::name::{Category, NameStatus};
use crate::index::Entry;

pub type StoreResult<T> = Result<T, kit::ServiceError>;

pub use kit::clock::date_text;

pub(crate) fn opt_date(row: &AnyRow, column: &str) -> StoreResult<Option<Date>> {
    let text: Option<String> = row.try_get(column)?;
    text.as_deref().map(kit::clock::stored_date).transpose()
}

pub(crate) fn corrupt(what: &str, value: &str) -> kit::ServiceError {
    kit::ServiceError::Internal(anyhow::anyhow!("stored {what} {value:?} is unknown"))
}

/// A row of `place_names`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub specific_part: String,
    pub generic_part: String,
    pub pinyin: String,
    pub category: Category,
    pub region: String,
    pub longitude_e6: i64,
    pub latitude_e6: i64,
    pub location: String,
    pub origin_meaning: String,
    pub status: NameStatus,
    pub approval_document: String,
    pub protected_heritage: bool,
}

impl PlaceRow {
    /// The search-index entry of this record.
    pub fn entry(&self) -> Entry {
        let mut e = Entry::new(
            self.id.clone(),
            self.name.clone(),
            self.region.clone(),
            self.category,
            self.status,
        );
        e.code = self.code.clone();
        e.generic_len = self.generic_part.len();
        e
    }
}

const PLACE_COLUMNS: &str = "id, code, name, specific_part, generic_part, pinyin, category, region, longitude_e6, latitude_e6, \
     location, origin_meaning, status, approval_document, protected_heritage";

fn place_from(row: &AnyRow) -> StoreResult<PlaceRow> {
    let category: String = row.try_get("category")?;
    let status: String = row.try_get("status")?;
    Ok(PlaceRow {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        specific_part: row.try_get("specific_part")?,
        generic_part: row.try_get("generic_part")?,
        pinyin: row.try_get("pinyin")?,
        category: Category::parse(&category).ok_or_else(|| corrupt("category", &category))?,
        region: row.try_get("region")?,
        longitude_e6: row.try_get("longitude_e6")?,
        latitude_e6: row.try_get("latitude_e6")?,
        location: row.try_get("location")?,
        origin_meaning: row.try_get("origin_meaning")?,
        status: NameStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        approval_document: row.try_get("approval_document")?,
        protected_heritage: row.try_get::<i64, _>("protected_heritage")? != 0,
    })
}

pub async fn insert_place(conn: &mut AnyConnection, p: &PlaceRow, now_ms: i64) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO place_names ({PLACE_COLUMNS}, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)"
    )))
    .bind(&p.id)
    .bind(&p.code)
    .bind(&p.name)
    .bind(&p.specific_part)
    .bind(&p.generic_part)
    .bind(&p.pinyin)
    .bind(p.category.as_str())
    .bind(&p.region)
    .bind(p.longitude_e6)
    .bind(p.latitude_e6)
    .bind(&p.location)
    .bind(&p.origin_meaning)
    .bind(p.status.as_str())
    .bind(&p.approval_document)
    .bind(i64::from(p.protected_heritage))
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Rows per multi-row INSERT in [`insert_places`] (16 parameters each). SQLite binds `$n`
/// parameters by a linear name lookup, so a statement's binding cost grows with the square of
/// its parameters: keep statements small.
const PLACES_PER_INSERT: usize = 32;

/// Inserts many records with multi-row statements: a census import is hundreds of thousands of
/// rows, and one round trip per row made a 200,000-row import take minutes on PostgreSQL.
pub async fn insert_places(
    conn: &mut AnyConnection,
    rows: &[PlaceRow],
    now_ms: i64,
) -> StoreResult<()> {
    for chunk in rows.chunks(PLACES_PER_INSERT) {
        let mut sql = format!(
            "INSERT INTO place_names ({PLACE_COLUMNS}, created_at_ms, updated_at_ms) VALUES "
        );
        for i in 0..chunk.len() {
            let b = i * 16;
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for k in 1..=16 {
                sql.push_str(&format!("${}, ", b + k));
            }
            sql.push_str(&format!("${})", b + 16));
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for p in chunk {
            query = query
                .bind(p.id.as_str())
                .bind(p.code.as_str())
                .bind(p.name.as_str())
                .bind(p.specific_part.as_str())
                .bind(p.generic_part.as_str())
                .bind(p.pinyin.as_str())
                .bind(p.category.as_str())
                .bind(p.region.as_str())
                .bind(p.longitude_e6)
                .bind(p.latitude_e6)
                .bind(p.location.as_str())
                .bind(p.origin_meaning.as_str())
                .bind(p.status.as_str())
                .bind(p.approval_document.as_str())
                .bind(i64::from(p.protected_heritage))
                .bind(now_ms);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rewrites a record's name, parts, status and approval document.
pub async fn update_place(conn: &mut AnyConnection, p: &PlaceRow, now_ms: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE place_names SET name = $1, specific_part = $2, generic_part = $3, pinyin = $4, status = $5,
         approval_document = $6, origin_meaning = $7, updated_at_ms = $8 WHERE id = $9",
    )
    .bind(&p.name)
    .bind(&p.specific_part)
    .bind(&p.generic_part)
    .bind(&p.pinyin)
    .bind(p.status.as_str())
    .bind(&p.approval_document)
    .bind(&p.origin_meaning)
    .bind(now_ms)
    .bind(&p.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn place_by_id(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<PlaceRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PLACE_COLUMNS} FROM place_names WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(place_from).transpose()
}

/// Every record, for building the search index on start.
pub async fn all_places(conn: &mut AnyConnection) -> StoreResult<Vec<PlaceRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PLACE_COLUMNS} FROM place_names"
    )))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(place_from).collect()
}

/// Takes the next code of a county and category: `{county}{category:02}{serial:06}`.
pub async fn next_code(
    conn: &mut AnyConnection,
    region: &str,
    category: Category,
) -> StoreResult<String> {
    let prefix = code_prefix(region, category);
    let last = advance_sequence(conn, &prefix, 1).await?;
    Ok(format!("{prefix}{last:06}"))
}

/// The code prefix of a record: county + category.
pub fn code_prefix(region: &str, category: Category) -> String {
    format!("{}{:02}", &region[..region.len().min(6)], category.number())
}

/// Codes for many records at once, in their order: one sequence update per prefix.
pub async fn next_codes(
    conn: &mut AnyConnection,
    keys: &[(String, Category)],
) -> StoreResult<Vec<String>> {
    let prefixes: Vec<String> = keys
        .iter()
        .map(|(region, category)| code_prefix(region, *category))
        .collect();
    let mut counts: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for p in &prefixes {
        *counts.entry(p.as_str()).or_default() += 1;
    }
    let mut next: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for (prefix, n) in &counts {
        let last = advance_sequence(conn, prefix, *n).await?;
        next.insert(prefix, last - n + 1);
    }
    Ok(prefixes
        .iter()
        .map(|p| {
            let slot = next.get_mut(p.as_str()).expect("every prefix was advanced");
            let code = format!("{p}{:06}", *slot);
            *slot += 1;
            code
        })
        .collect())
}

/// Advances a code sequence by `n`; returns the new last value.
pub async fn advance_sequence(conn: &mut AnyConnection, prefix: &str, n: i64) -> StoreResult<i64> {
    let row = sqlx::query(
        "INSERT INTO code_sequences (prefix, last_value) VALUES ($1, $2)
         ON CONFLICT (prefix) DO UPDATE SET last_value = code_sequences.last_value + $2
         RETURNING last_value",
    )
    .bind(prefix)
    .bind(n)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("last_value")?)
}

/// Claims a seed marker; false when the seed was already loaded.
pub async fn claim_seed(conn: &mut AnyConnection, name: &str, now_ms: i64) -> StoreResult<bool> {
    let n = sqlx::query("INSERT INTO seed_runs (name, rows_loaded, loaded_at_ms) VALUES ($1, 0, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn finish_seed(conn: &mut AnyConnection, name: &str, rows: i64) -> StoreResult<()> {
    sqlx::query("UPDATE seed_runs SET rows_loaded = $1 WHERE name = $2")
        .bind(rows)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Locks a road for house-number allocation (PostgreSQL row lock; SQLite serialises writers).
pub async fn lock_place(conn: &mut AnyConnection, id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE place_names SET updated_at_ms = updated_at_ms WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
