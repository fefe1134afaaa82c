//! Divorce applications and their stored deadlines.

use sqlx::{AnyConnection, Row};
use time::Date;

use super::{Result, date_text, opt_date, parse_date};
use crate::domain::cooling_off::{ApplicationState, Deadlines, DivorceApplication};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    pub application_id: String,
    pub office_id: String,
    pub marriage_certificate: String,
    pub agreement_summary: String,
    pub deadlines: Deadlines,
    pub state: ApplicationState,
    pub closed_on: Option<Date>,
    pub divorce_certificate: Option<String>,
}

impl ApplicationRow {
    pub fn rules(&self) -> DivorceApplication {
        DivorceApplication {
            deadlines: self.deadlines,
            state: self.state,
        }
    }
}

const APPLICATION_COLUMNS: &str =
    "application_id, office_id, marriage_certificate, agreement_summary, received_on,
    withdrawal_deadline, issuance_deadline, state, closed_on, divorce_certificate";

fn application_from_row(r: &sqlx::any::AnyRow) -> Result<ApplicationRow> {
    let state: String = r.try_get("state")?;
    Ok(ApplicationRow {
        application_id: r.try_get("application_id")?,
        office_id: r.try_get("office_id")?,
        marriage_certificate: r.try_get("marriage_certificate")?,
        agreement_summary: r.try_get("agreement_summary")?,
        deadlines: Deadlines {
            received_on: parse_date(&r.try_get::<String, _>("received_on")?)?,
            withdrawal_deadline: parse_date(&r.try_get::<String, _>("withdrawal_deadline")?)?,
            issuance_deadline: parse_date(&r.try_get::<String, _>("issuance_deadline")?)?,
        },
        state: ApplicationState::from_code(&state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown application state {state:?}").into())
        })?,
        closed_on: opt_date(r.try_get("closed_on")?)?,
        divorce_certificate: r.try_get("divorce_certificate")?,
    })
}

pub async fn insert_application(
    conn: &mut AnyConnection,
    a: &ApplicationRow,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO divorce_applications (application_id, office_id, marriage_certificate, agreement_summary, received_on,
            withdrawal_deadline, issuance_deadline, state, closed_on, divorce_certificate, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, $9)",
    )
    .bind(&a.application_id)
    .bind(&a.office_id)
    .bind(&a.marriage_certificate)
    .bind(&a.agreement_summary)
    .bind(date_text(a.deadlines.received_on))
    .bind(date_text(a.deadlines.withdrawal_deadline))
    .bind(date_text(a.deadlines.issuance_deadline))
    .bind(a.state.code())
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get_application(
    conn: &mut AnyConnection,
    application_id: &str,
) -> Result<Option<ApplicationRow>> {
    let sql =
        format!("SELECT {APPLICATION_COLUMNS} FROM divorce_applications WHERE application_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(application_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(application_from_row).transpose()
}

pub async fn application_by_divorce_certificate(
    conn: &mut AnyConnection,
    certificate: &str,
) -> Result<Option<ApplicationRow>> {
    let sql = format!(
        "SELECT {APPLICATION_COLUMNS} FROM divorce_applications WHERE divorce_certificate = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(certificate)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(application_from_row).transpose()
}

pub async fn open_application_for(
    conn: &mut AnyConnection,
    marriage_certificate: &str,
) -> Result<Option<ApplicationRow>> {
    let sql = format!(
        "SELECT {APPLICATION_COLUMNS} FROM divorce_applications WHERE marriage_certificate = $1 AND state = 'pending'"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(marriage_certificate)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(application_from_row).transpose()
}

/// Closes a pending application; false when it was no longer pending (another request or the
/// sweep closed it first), so each closing happens, and is announced, once.
pub async fn close_application(
    conn: &mut AnyConnection,
    application_id: &str,
    to: ApplicationState,
    closed_on: Date,
    divorce_certificate: Option<&str>,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE divorce_applications SET state = $1, closed_on = $2, divorce_certificate = $3
         WHERE application_id = $4 AND state = 'pending'",
    )
    .bind(to.code())
    .bind(date_text(closed_on))
    .bind(divorce_certificate)
    .bind(application_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Ids of pending applications whose issuance deadline is before `today`.
pub async fn applications_due_for_expiry(
    conn: &mut AnyConnection,
    today: Date,
    limit: i64,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT application_id FROM divorce_applications WHERE state = 'pending' AND issuance_deadline < $1
         ORDER BY issuance_deadline LIMIT $2",
    )
    .bind(date_text(today))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get("application_id")).collect()
}
