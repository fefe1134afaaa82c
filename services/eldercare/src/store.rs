//! SQL of the eldercare service: one function per query, portable across SQLite and
//! PostgreSQL. Functions take a connection so that they run inside the caller's transaction.

use kit::ServiceError;
use sqlx::{AnyConnection, Row};
use time::Date;

use crate::domain::allowance::Bracket;
use crate::domain::elder::LivingSituation;

/// `YYYY-MM-DD`.
pub fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `YYYY-MM`.
pub fn month_text(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

pub fn parse_date(s: &str) -> Result<Date, ServiceError> {
    let bad = || ServiceError::Internal(anyhow::anyhow!("stored date is malformed"));
    let mut parts = s.splitn(3, '-').map(|p| p.parse::<i32>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(bad)?;
    Date::from_calendar_date(y, month, u8::try_from(d).map_err(|_| bad())?).map_err(|_| bad())
}

fn opt_date(s: Option<String>) -> Result<Option<Date>, ServiceError> {
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
}

const ELDER_COLUMNS: &str = "id, person_index, id_sealed, name_sealed, birth_date, region, situations, bracket, payable_from, \
    date_of_death, last_paid_month, death_allowance_stopped, death_bed_released, ability_level, institution_id, nursing_bed";

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
pub async fn upsert_elder(conn: &mut AnyConnection, e: &ElderRow) -> Result<bool, ServiceError> {
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
    .bind(kit::now_ms())
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
    .bind(kit::now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

pub async fn set_bracket(
    conn: &mut AnyConnection,
    id: &str,
    bracket: Bracket,
    payable_from: Date,
) -> Result<(), ServiceError> {
    sqlx::query(
        "UPDATE elders SET bracket = $1, payable_from = $2, updated_at_ms = $3 WHERE id = $4",
    )
    .bind(bracket.as_str())
    .bind(date_text(payable_from))
    .bind(kit::now_ms())
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
    .bind(kit::now_ms())
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
    pub care_subsidy_fen: i64,
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
    .bind(a.care_subsidy_fen)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub struct RollRow {
    pub recipients: i64,
    pub total_fen: i64,
}

pub async fn roll(conn: &mut AnyConnection, month: &str) -> Result<Option<RollRow>, ServiceError> {
    let row = sqlx::query("SELECT recipients, total_fen FROM allowance_rolls WHERE month = $1")
        .bind(month)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok(RollRow {
            recipients: r.try_get("recipients")?,
            total_fen: r.try_get("total_fen")?,
        })
    })
    .transpose()
}

/// Writes a roll; `false` when the month already has one (the first stands).
pub async fn insert_roll(
    conn: &mut AnyConnection,
    month: &str,
    lines: &[(String, i64)],
) -> Result<bool, ServiceError> {
    let total: i64 = lines.iter().map(|(_, a)| a).sum();
    let n = sqlx::query(
        "INSERT INTO allowance_rolls (month, recipients, total_fen, built_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (month) DO NOTHING",
    )
    .bind(month)
    .bind(lines.len() as i64)
    .bind(total)
    .bind(kit::now_ms())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    for (elder_id, amount) in lines {
        sqlx::query(
            "INSERT INTO allowance_roll_lines (month, elder_id, amount_fen) VALUES ($1, $2, $3)",
        )
        .bind(month)
        .bind(elder_id)
        .bind(*amount)
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

#[derive(Debug, Clone)]
pub struct InstitutionRow {
    pub id: String,
    pub display_name: String,
    pub region: String,
    pub beds: i32,
    pub nursing_beds: i32,
    pub occupied: i32,
    pub occupied_nursing: i32,
    pub grade: i32,
}

fn int(r: &sqlx::any::AnyRow, col: &str) -> Result<i32, ServiceError> {
    Ok(i32::try_from(r.try_get::<i64, _>(col)?).unwrap_or(i32::MAX))
}

pub async fn institution(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<InstitutionRow>, ServiceError> {
    let row = sqlx::query("SELECT id, display_name, region, beds, nursing_beds, occupied, occupied_nursing, grade FROM institutions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok(InstitutionRow {
            id: r.try_get("id")?,
            display_name: r.try_get("display_name")?,
            region: r.try_get("region")?,
            beds: int(&r, "beds")?,
            nursing_beds: int(&r, "nursing_beds")?,
            occupied: int(&r, "occupied")?,
            occupied_nursing: int(&r, "occupied_nursing")?,
            grade: int(&r, "grade")?,
        })
    })
    .transpose()
}

pub async fn insert_institution(
    conn: &mut AnyConnection,
    i: &InstitutionRow,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO institutions (id, display_name, region, beds, nursing_beds, occupied, occupied_nursing, grade)
         VALUES ($1, $2, $3, $4, $5, 0, 0, 0)",
    )
    .bind(&i.id)
    .bind(&i.display_name)
    .bind(&i.region)
    .bind(i64::from(i.beds))
    .bind(i64::from(i.nursing_beds))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_grade(conn: &mut AnyConnection, id: &str, grade: u8) -> Result<(), ServiceError> {
    sqlx::query("UPDATE institutions SET grade = $1 WHERE id = $2")
        .bind(i64::from(grade))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Takes a bed of the requested type; `false` when none is free. The conditional UPDATE is the
/// capacity check under concurrency.
pub async fn take_bed(
    conn: &mut AnyConnection,
    institution_id: &str,
    nursing: bool,
) -> Result<bool, ServiceError> {
    let sql = if nursing {
        "UPDATE institutions SET occupied = occupied + 1, occupied_nursing = occupied_nursing + 1
         WHERE id = $1 AND occupied_nursing < nursing_beds"
    } else {
        "UPDATE institutions SET occupied = occupied + 1
         WHERE id = $1 AND occupied - occupied_nursing < beds - nursing_beds"
    };
    let n = sqlx::query(sql)
        .bind(institution_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn free_bed(
    conn: &mut AnyConnection,
    institution_id: &str,
    nursing: bool,
) -> Result<(), ServiceError> {
    let sql = if nursing {
        "UPDATE institutions SET occupied = occupied - 1, occupied_nursing = occupied_nursing - 1 WHERE id = $1 AND occupied_nursing > 0"
    } else {
        "UPDATE institutions SET occupied = occupied - 1 WHERE id = $1 AND occupied > occupied_nursing"
    };
    sqlx::query(sql)
        .bind(institution_id)
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

/// Schedules a visit once per elder and month; returns true when newly scheduled.
pub async fn schedule_visit(
    conn: &mut AnyConnection,
    month: &str,
    elder_id: &str,
    township: &str,
) -> Result<bool, ServiceError> {
    let n = sqlx::query(
        "INSERT INTO visits (month, elder_id, township, visited_on, visitor, notes) VALUES ($1, $2, $3, NULL, '', '')
         ON CONFLICT (month, elder_id) DO NOTHING",
    )
    .bind(month)
    .bind(elder_id)
    .bind(township)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Records a visit on the scheduled row; `false` when none was scheduled.
pub async fn record_visit(
    conn: &mut AnyConnection,
    month: &str,
    elder_id: &str,
    visited_on: Date,
    visitor: &str,
    notes: &str,
) -> Result<bool, ServiceError> {
    let n = sqlx::query("UPDATE visits SET visited_on = $1, visitor = $2, notes = $3 WHERE month = $4 AND elder_id = $5")
        .bind(date_text(visited_on))
        .bind(visitor)
        .bind(notes)
        .bind(month)
        .bind(elder_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub struct VisitRow {
    pub elder_id: String,
    pub township: String,
    pub visited: bool,
}

pub async fn visits(
    conn: &mut AnyConnection,
    month: &str,
    region_prefix: &str,
) -> Result<Vec<VisitRow>, ServiceError> {
    let rows = sqlx::query("SELECT elder_id, township, visited_on FROM visits WHERE month = $1 AND township LIKE $2 ORDER BY township, elder_id")
        .bind(month)
        .bind(format!("{region_prefix}%"))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(VisitRow {
                elder_id: r.try_get("elder_id")?,
                township: r.try_get("township")?,
                visited: r.try_get::<Option<String>, _>("visited_on")?.is_some(),
            })
        })
        .collect()
}
