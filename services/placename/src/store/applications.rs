//! SQL of `naming_applications`.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::Date;

use super::{StoreResult, corrupt, date_text, opt_date};
use crate::domain::name::Category;
use crate::domain::naming::{Stage, Warning};

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
    pub expert_report: String,
    pub public_opinion_report: String,
}

const APP_COLUMNS: &str = "id, kind, target_id, name, specific_part, generic_part, category, region, longitude_e6, latitude_e6, \
     location, origin_meaning, reasons, stage, warnings, submitted_on, review_opinion, addressed_warnings, heritage_assessed, \
     approval_document, approved_on, filing_due, announcement_due, filed_on, announced_on, filed_late, announced_late, \
     new_place_name_id, expert_report, public_opinion_report";

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
        submitted_on: kit::clock::stored_date(&row.try_get::<String, _>("submitted_on")?)?,
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
        expert_report: row.try_get("expert_report")?,
        public_opinion_report: row.try_get("public_opinion_report")?,
    })
}

pub async fn insert_application(
    conn: &mut AnyConnection,
    a: &ApplicationRow,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO naming_applications ({APP_COLUMNS}, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, NULL, NULL, NULL,
         NULL, NULL, 0, 0, '', '', '', $21, $21)"
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
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Saves the workflow fields of an application.
pub async fn update_application(
    conn: &mut AnyConnection,
    a: &ApplicationRow,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE naming_applications SET stage = $1, review_opinion = $2, addressed_warnings = $3, heritage_assessed = $4,
         approval_document = $5, approved_on = $6, filing_due = $7, announcement_due = $8, filed_on = $9, announced_on = $10,
         filed_late = $11, announced_late = $12, new_place_name_id = $13, updated_at_ms = $14,
         expert_report = $16, public_opinion_report = $17 WHERE id = $15",
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
    .bind(now_ms)
    .bind(&a.id)
    .bind(&a.expert_report)
    .bind(&a.public_opinion_report)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Approved applications, not yet filed and announced, with a deadline before `before`, in
/// the region prefix, ordered by filing due date then id, after the keyset `after`.
pub async fn overdue_applications(
    conn: &mut AnyConnection,
    region_prefix: &str,
    before: Date,
    after: Option<(Date, &str)>,
    limit: i64,
) -> StoreResult<Vec<ApplicationRow>> {
    let (after_due, after_id) = after.map_or((String::new(), ""), |(d, id)| (date_text(d), id));
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {APP_COLUMNS} FROM naming_applications
         WHERE stage = 'APPROVED' AND region LIKE $1 || '%'
           AND (filing_due < $2 OR announcement_due < $2)
           AND (filing_due > $3 OR (filing_due = $3 AND id > $4))
         ORDER BY filing_due, id LIMIT $5"
    )))
    .bind(region_prefix)
    .bind(date_text(before))
    .bind(after_due)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(app_from).collect()
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
