//! SQL of the place-name service, portable across SQLite and PostgreSQL. One function per query.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::Date;

use crate::domain::house_number::{Door, Side};
use crate::domain::name::{Category, NameStatus};
use crate::domain::naming::{Stage, Warning};
use crate::index::Entry;

pub type StoreResult<T> = Result<T, kit::ServiceError>;

const DATE_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

pub fn date_text(d: Date) -> String {
    d.format(DATE_FORMAT).unwrap_or_default()
}

pub fn parse_date(s: &str) -> StoreResult<Date> {
    Date::parse(s, DATE_FORMAT)
        .map_err(|e| kit::ServiceError::Internal(anyhow::anyhow!("stored date {s:?}: {e}")))
}

fn opt_date(row: &AnyRow, column: &str) -> StoreResult<Option<Date>> {
    let text: Option<String> = row.try_get(column)?;
    text.as_deref().map(parse_date).transpose()
}

fn corrupt(what: &str, value: &str) -> kit::ServiceError {
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

pub async fn insert_place(conn: &mut AnyConnection, p: &PlaceRow) -> StoreResult<()> {
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
    .bind(kit::now_ms())
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
pub async fn insert_places(conn: &mut AnyConnection, rows: &[PlaceRow]) -> StoreResult<()> {
    let now = kit::now_ms();
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
                .bind(now);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rewrites a record's name, parts, status and approval document.
pub async fn update_place(conn: &mut AnyConnection, p: &PlaceRow) -> StoreResult<()> {
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
    .bind(kit::now_ms())
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
pub async fn claim_seed(conn: &mut AnyConnection, name: &str) -> StoreResult<bool> {
    let n = sqlx::query("INSERT INTO seed_runs (name, rows_loaded, loaded_at_ms) VALUES ($1, 0, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(kit::now_ms())
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

/// A row of `naming_applications`.
#[derive(Debug, Clone)]
pub struct ApplicationRow {
    pub id: String,
    pub renaming: bool,
    pub target_id: String,
    pub name: String,
    pub specific_part: String,
    pub generic_part: String,
    pub category: Category,
    pub region: String,
    pub longitude_e6: i64,
    pub latitude_e6: i64,
    pub location: String,
    pub origin_meaning: String,
    pub reasons: String,
    pub stage: Stage,
    pub warnings: Vec<Warning>,
    pub submitted_on: Date,
    pub review_opinion: String,
    pub addressed_warnings: Vec<String>,
    pub heritage_assessed: bool,
    pub approval_document: String,
    pub approved_on: Option<Date>,
    pub filing_due: Option<Date>,
    pub announcement_due: Option<Date>,
    pub filed_on: Option<Date>,
    pub announced_on: Option<Date>,
    pub filed_late: bool,
    pub announced_late: bool,
    pub new_place_name_id: String,
}

const APP_COLUMNS: &str = "id, kind, target_id, name, specific_part, generic_part, category, region, longitude_e6, latitude_e6, \
     location, origin_meaning, reasons, stage, warnings, submitted_on, review_opinion, addressed_warnings, heritage_assessed, \
     approval_document, approved_on, filing_due, announcement_due, filed_on, announced_on, filed_late, announced_late, \
     new_place_name_id";

fn warnings_text(ws: &[Warning]) -> String {
    ws.iter()
        .map(|w| format!("{}\t{}", w.code, w.message.replace(['\n', '\t'], " ")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn warnings_from(text: &str) -> Vec<Warning> {
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(code, message)| Warning {
            code: code.to_owned(),
            message: message.to_owned(),
        })
        .collect()
}

fn app_from(row: &AnyRow) -> StoreResult<ApplicationRow> {
    let category: String = row.try_get("category")?;
    let stage: String = row.try_get("stage")?;
    let addressed: String = row.try_get("addressed_warnings")?;
    Ok(ApplicationRow {
        id: row.try_get("id")?,
        renaming: row.try_get::<String, _>("kind")? == "RENAMING",
        target_id: row.try_get("target_id")?,
        name: row.try_get("name")?,
        specific_part: row.try_get("specific_part")?,
        generic_part: row.try_get("generic_part")?,
        category: Category::parse(&category).ok_or_else(|| corrupt("category", &category))?,
        region: row.try_get("region")?,
        longitude_e6: row.try_get("longitude_e6")?,
        latitude_e6: row.try_get("latitude_e6")?,
        location: row.try_get("location")?,
        origin_meaning: row.try_get("origin_meaning")?,
        reasons: row.try_get("reasons")?,
        stage: Stage::parse(&stage).ok_or_else(|| corrupt("stage", &stage))?,
        warnings: warnings_from(&row.try_get::<String, _>("warnings")?),
        submitted_on: parse_date(&row.try_get::<String, _>("submitted_on")?)?,
        review_opinion: row.try_get("review_opinion")?,
        addressed_warnings: addressed.lines().map(str::to_owned).collect(),
        heritage_assessed: row.try_get::<i64, _>("heritage_assessed")? != 0,
        approval_document: row.try_get("approval_document")?,
        approved_on: opt_date(row, "approved_on")?,
        filing_due: opt_date(row, "filing_due")?,
        announcement_due: opt_date(row, "announcement_due")?,
        filed_on: opt_date(row, "filed_on")?,
        announced_on: opt_date(row, "announced_on")?,
        filed_late: row.try_get::<i64, _>("filed_late")? != 0,
        announced_late: row.try_get::<i64, _>("announced_late")? != 0,
        new_place_name_id: row.try_get("new_place_name_id")?,
    })
}

pub async fn insert_application(conn: &mut AnyConnection, a: &ApplicationRow) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO naming_applications ({APP_COLUMNS}, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, NULL, NULL, NULL,
         NULL, NULL, 0, 0, '', $21, $21)"
    )))
    .bind(&a.id)
    .bind(if a.renaming { "RENAMING" } else { "NAMING" })
    .bind(&a.target_id)
    .bind(&a.name)
    .bind(&a.specific_part)
    .bind(&a.generic_part)
    .bind(a.category.as_str())
    .bind(&a.region)
    .bind(a.longitude_e6)
    .bind(a.latitude_e6)
    .bind(&a.location)
    .bind(&a.origin_meaning)
    .bind(&a.reasons)
    .bind(a.stage.as_str())
    .bind(warnings_text(&a.warnings))
    .bind(date_text(a.submitted_on))
    .bind(&a.review_opinion)
    .bind(a.addressed_warnings.join("\n"))
    .bind(i64::from(a.heritage_assessed))
    .bind(&a.approval_document)
    .bind(kit::now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Saves the workflow fields of an application.
pub async fn update_application(conn: &mut AnyConnection, a: &ApplicationRow) -> StoreResult<()> {
    sqlx::query(
        "UPDATE naming_applications SET stage = $1, review_opinion = $2, addressed_warnings = $3, heritage_assessed = $4,
         approval_document = $5, approved_on = $6, filing_due = $7, announcement_due = $8, filed_on = $9, announced_on = $10,
         filed_late = $11, announced_late = $12, new_place_name_id = $13, updated_at_ms = $14 WHERE id = $15",
    )
    .bind(a.stage.as_str())
    .bind(&a.review_opinion)
    .bind(a.addressed_warnings.join("\n"))
    .bind(i64::from(a.heritage_assessed))
    .bind(&a.approval_document)
    .bind(a.approved_on.map(date_text))
    .bind(a.filing_due.map(date_text))
    .bind(a.announcement_due.map(date_text))
    .bind(a.filed_on.map(date_text))
    .bind(a.announced_on.map(date_text))
    .bind(i64::from(a.filed_late))
    .bind(i64::from(a.announced_late))
    .bind(&a.new_place_name_id)
    .bind(kit::now_ms())
    .bind(&a.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn application_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> StoreResult<Option<ApplicationRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {APP_COLUMNS} FROM naming_applications WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(app_from).transpose()
}

/// A row of `house_numbers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseRow {
    pub id: String,
    pub road_id: String,
    pub side: Side,
    pub door: Door,
}

fn house_from(row: &AnyRow) -> StoreResult<HouseRow> {
    let side: String = row.try_get("side")?;
    Ok(HouseRow {
        id: row.try_get("id")?,
        road_id: row.try_get("road_id")?,
        side: Side::parse(&side).ok_or_else(|| corrupt("side", &side))?,
        door: Door {
            number: i32::try_from(row.try_get::<i64, _>("number")?).unwrap_or_default(),
            sub: i32::try_from(row.try_get::<i64, _>("sub_number")?).unwrap_or_default(),
            position_m: row.try_get("position_m")?,
        },
    })
}

pub async fn house_numbers_of(conn: &mut AnyConnection, road: &str) -> StoreResult<Vec<HouseRow>> {
    let rows = sqlx::query(
        "SELECT id, road_id, side, number, sub_number, position_m FROM house_numbers WHERE road_id = $1
         ORDER BY number, sub_number",
    )
    .bind(road)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(house_from).collect()
}

pub async fn house_number_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> StoreResult<Option<HouseRow>> {
    let row = sqlx::query(
        "SELECT id, road_id, side, number, sub_number, position_m FROM house_numbers WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(house_from).transpose()
}

/// Inserts a house number; false when the number is taken (a concurrent allocation).
pub async fn insert_house_number(conn: &mut AnyConnection, h: &HouseRow) -> StoreResult<bool> {
    let n = sqlx::query(
        "INSERT INTO house_numbers (id, road_id, side, number, sub_number, position_m, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (road_id, number, sub_number) DO NOTHING",
    )
    .bind(&h.id)
    .bind(&h.road_id)
    .bind(h.side.as_str())
    .bind(i64::from(h.door.number))
    .bind(i64::from(h.door.sub))
    .bind(h.door.position_m)
    .bind(kit::now_ms())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Locks a road for house-number allocation (PostgreSQL row lock; SQLite serialises writers).
pub async fn lock_place(conn: &mut AnyConnection, id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE place_names SET updated_at_ms = updated_at_ms WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
