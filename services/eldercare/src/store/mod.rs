//! SQL of the eldercare service: one function per query, portable across SQLite and
//! PostgreSQL. Functions take a connection so that they run inside the caller's transaction.

use kit::ServiceError;
use money::Fen;
use sqlx::{AnyConnection, Row};
use time::Date;

pub mod institutions;
pub mod residence;
pub mod rolls;
pub mod visits;

use crate::domain::allowance::Bracket;
use crate::domain::elder::LivingSituation;

pub use kit::clock::date_text;

/// `YYYY-MM`.
pub fn month_text(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

pub fn parse_date(s: &str) -> Result<Date, ServiceError> {
    kit::clock::stored_date(s)
}

pub(crate) fn opt_date(s: Option<String>) -> Result<Option<Date>, ServiceError> {
    s.as_deref().map(parse_date).transpose()
}

#[derive(Debug, Clone)]
pub struct ElderRow {
    pub id: String,
    pub person_index: String,
    pub id_sealed: String,
    pub name_sealed: String,
    pub birth_date: Date,
    pub region: String,
    pub situations: Vec<LivingSituation>,
    pub bracket: Option<Bracket>,
    pub payable_from: Option<Date>,
    pub date_of_death: Option<Date>,
    pub last_paid_month: Option<Date>,
    pub death_allowance_stopped: bool,
    pub death_bed_released: bool,
    pub ability_level: i64,
    pub institution_id: Option<String>,
    pub nursing_bed: bool,
    /// The bed held while resident.
    pub bed_id: Option<String>,
    /// The benefit that makes the elder eligible for the care subsidy, and its first month.
    pub care_basis_benefit: Option<String>,
    pub care_eligible_from: Option<Date>,
}

impl ElderRow {
    /// A new elder from the register (not yet granted, assessed or resident).
    pub fn new(
        person_index: String,
        id_sealed: String,
        name_sealed: String,
        birth_date: Date,
        region: String,
        situations: Vec<LivingSituation>,
    ) -> Self {
        ElderRow {
            id: uuid::Uuid::now_v7().to_string(),
            person_index,
            id_sealed,
            name_sealed,
            birth_date,
            region,
            situations,
            bracket: None,
            payable_from: None,
            date_of_death: None,
            last_paid_month: None,
            death_allowance_stopped: false,
            death_bed_released: false,
            ability_level: -1,
            institution_id: None,
            nursing_bed: false,
            bed_id: None,
            care_basis_benefit: None,
            care_eligible_from: None,
        }
    }
}

const ELDER_COLUMNS: &str = "id, person_index, id_sealed, name_sealed, birth_date, region, situations, bracket, payable_from, \
    date_of_death, last_paid_month, death_allowance_stopped, death_bed_released, ability_level, institution_id, nursing_bed, \
    care_basis_benefit, care_eligible_from, (SELECT b.id FROM beds b WHERE b.elder_id = elders.id) AS bed_id";

fn elder_from_row(r: &sqlx::any::AnyRow) -> Result<ElderRow, ServiceError> {
    let situations: String = r.try_get("situations")?;
    let bracket: Option<String> = r.try_get("bracket")?;
    Ok(ElderRow {
        id: r.try_get("id")?,
        person_index: r.try_get("person_index")?,
        id_sealed: r.try_get("id_sealed")?,
        name_sealed: r.try_get("name_sealed")?,
        birth_date: parse_date(&r.try_get::<String, _>("birth_date")?)?,
        region: r.try_get("region")?,
        situations: situations
            .split(',')
            .filter_map(LivingSituation::parse)
            .collect(),
        bracket: bracket.as_deref().and_then(Bracket::parse),
        payable_from: opt_date(r.try_get("payable_from")?)?,
        date_of_death: opt_date(r.try_get("date_of_death")?)?,
        last_paid_month: opt_date(r.try_get("last_paid_month")?)?,
        death_allowance_stopped: r.try_get::<i64, _>("death_allowance_stopped")? == 1,
        death_bed_released: r.try_get::<i64, _>("death_bed_released")? == 1,
        ability_level: r.try_get("ability_level")?,
        institution_id: r.try_get("institution_id")?,
        nursing_bed: r.try_get::<i64, _>("nursing_bed")? == 1,
        bed_id: r.try_get("bed_id")?,
        care_basis_benefit: r.try_get("care_basis_benefit")?,
        care_eligible_from: opt_date(r.try_get("care_eligible_from")?)?,
    })
}

pub async fn elder_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<ElderRow>, ServiceError> {
    let sql = format!("SELECT {ELDER_COLUMNS} FROM elders WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(elder_from_row).transpose()
}

pub async fn elder_by_person(
    conn: &mut AnyConnection,
    person_index: &str,
) -> Result<Option<ElderRow>, ServiceError> {
    let sql = format!("SELECT {ELDER_COLUMNS} FROM elders WHERE person_index = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(person_index)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(elder_from_row).transpose()
}

/// Living elders born on or before `born_by` (candidates for the allowance).
pub async fn living_born_by(
    conn: &mut AnyConnection,
    born_by: Date,
) -> Result<Vec<ElderRow>, ServiceError> {
    let sql = format!(
        "SELECT {ELDER_COLUMNS} FROM elders WHERE date_of_death IS NULL AND birth_date <= $1 ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(date_text(born_by))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(elder_from_row).collect()
}

/// Elders with a granted allowance (living, or dead since `month`'s start).
pub async fn allowance_holders(conn: &mut AnyConnection) -> Result<Vec<ElderRow>, ServiceError> {
    let sql = format!("SELECT {ELDER_COLUMNS} FROM elders WHERE bracket IS NOT NULL ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(elder_from_row).collect()
}

pub async fn elders_in_region(
    conn: &mut AnyConnection,
    region_prefix: &str,
) -> Result<Vec<ElderRow>, ServiceError> {
    let sql = format!("SELECT {ELDER_COLUMNS} FROM elders WHERE region LIKE $1 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(format!("{region_prefix}%"))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(elder_from_row).collect()
}

/// Inserts or refreshes an elder from the register; returns true when created.
pub async fn upsert_elder(
    conn: &mut AnyConnection,
    e: &ElderRow,
    now_ms: i64,
) -> Result<bool, ServiceError> {
    let situations = e
        .situations
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let n = sqlx::query(
        "UPDATE elders SET name_sealed = $1, region = $2, situations = $3, updated_at_ms = $4 WHERE person_index = $5",
    )
    .bind(&e.name_sealed)
    .bind(&e.region)
    .bind(&situations)
    .bind(now_ms)
    .bind(&e.person_index)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO elders (id, person_index, id_sealed, name_sealed, birth_date, region, situations, bracket, payable_from,
            date_of_death, last_paid_month, death_allowance_stopped, death_bed_released, ability_level, institution_id, nursing_bed,
            created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, NULL, NULL, 0, 0, -1, NULL, 0, $8, $8)",
    )
    .bind(&e.id)
    .bind(&e.person_index)
    .bind(&e.id_sealed)
    .bind(&e.name_sealed)
    .bind(date_text(e.birth_date))
    .bind(&e.region)
    .bind(&situations)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Records the basis of the elder's care subsidy (and the situations it implies).
pub async fn set_care_basis(
    conn: &mut AnyConnection,
    id: &str,
    benefit: &str,
    eligible_from: Date,
    situations: &[LivingSituation],
    now_ms: i64,
) -> Result<(), ServiceError> {
    let situations = situations
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query(
        "UPDATE elders SET care_basis_benefit = $1, care_eligible_from = $2, situations = $3, updated_at_ms = $4 WHERE id = $5",
    )
    .bind(benefit)
    .bind(date_text(eligible_from))
    .bind(situations)
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_bracket(
    conn: &mut AnyConnection,
    id: &str,
    bracket: Bracket,
    payable_from: Date,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "UPDATE elders SET bracket = $1, payable_from = $2, updated_at_ms = $3 WHERE id = $4",
    )
    .bind(bracket.as_str())
    .bind(date_text(payable_from))
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a death once; `false` when a date of death was already recorded.
pub async fn record_death(
    conn: &mut AnyConnection,
    id: &str,
    date_of_death: Date,
    last_paid_month: Option<Date>,
    allowance_stopped: bool,
    bed_released: bool,
    now_ms: i64,
) -> Result<bool, ServiceError> {
    let n = sqlx::query(
        "UPDATE elders SET date_of_death = $1, last_paid_month = $2, death_allowance_stopped = $3, death_bed_released = $4,
            institution_id = NULL, nursing_bed = 0, updated_at_ms = $5
         WHERE id = $6 AND date_of_death IS NULL",
    )
    .bind(date_text(date_of_death))
    .bind(last_paid_month.map(date_text))
    .bind(i64::from(allowance_stopped))
    .bind(i64::from(bed_released))
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn set_ability_level(
    conn: &mut AnyConnection,
    id: &str,
    level: u8,
) -> Result<(), ServiceError> {
    sqlx::query("UPDATE elders SET ability_level = $1 WHERE id = $2")
        .bind(i64::from(level))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub struct AssessmentRow {
    pub elder_id: String,
    pub assessed_on: Date,
    pub total_score: i32,
    pub base_level: u8,
    pub level: u8,
    pub care_subsidy: Fen,
}

pub async fn insert_assessment(
    conn: &mut AnyConnection,
    a: &AssessmentRow,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO assessments (id, elder_id, assessed_on, total_score, base_level, level, care_subsidy_fen)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&a.elder_id)
    .bind(date_text(a.assessed_on))
    .bind(i64::from(a.total_score))
    .bind(i64::from(a.base_level))
    .bind(i64::from(a.level))
    .bind(a.care_subsidy.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_residence(
    conn: &mut AnyConnection,
    elder_id: &str,
    institution_id: Option<&str>,
    nursing: bool,
) -> Result<(), ServiceError> {
    sqlx::query("UPDATE elders SET institution_id = $1, nursing_bed = $2 WHERE id = $3")
        .bind(institution_id)
        .bind(i64::from(nursing))
        .bind(elder_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
