//! SQL of the monthly welfare visits.

use kit::ServiceError;
use sqlx::{AnyConnection, Row};
use time::Date;

use super::date_text;

/// Schedules a visit once per elder and month; returns true when newly scheduled.
pub async fn schedule_visit(
    conn: &mut AnyConnection,
    month: &str,
    elder_id: &str,
    township: &str,
) -> Result<bool, ServiceError> {
    let n = sqlx::query(
        "INSERT INTO visits (month, elder_id, township, visited_on, visitor, notes, scheduled) VALUES ($1, $2, $3, NULL, '', '', 1)
         ON CONFLICT (month, elder_id) DO UPDATE SET scheduled = 1 WHERE visits.scheduled = 0",
    )
    .bind(month)
    .bind(elder_id)
    .bind(township)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub struct VisitRecord<'a> {
    pub month: &'a str,
    pub elder_id: &'a str,
    pub township: &'a str,
    pub visited_on: Date,
    pub visitor: &'a str,
    pub notes: &'a str,
}

/// Records a visit: on the scheduled row, else as an unscheduled visit. Returns whether the
/// elder was on the month's schedule.
pub async fn record_visit(
    conn: &mut AnyConnection,
    v: &VisitRecord<'_>,
) -> Result<bool, ServiceError> {
    let n = sqlx::query("UPDATE visits SET visited_on = $1, visitor = $2, notes = $3 WHERE month = $4 AND elder_id = $5")
        .bind(date_text(v.visited_on))
        .bind(v.visitor)
        .bind(v.notes)
        .bind(v.month)
        .bind(v.elder_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if n == 1 {
        let row = sqlx::query("SELECT scheduled FROM visits WHERE month = $1 AND elder_id = $2")
            .bind(v.month)
            .bind(v.elder_id)
            .fetch_one(&mut *conn)
            .await?;
        return Ok(row.try_get::<i64, _>("scheduled")? == 1);
    }
    sqlx::query(
        "INSERT INTO visits (month, elder_id, township, visited_on, visitor, notes, scheduled) VALUES ($1, $2, $3, $4, $5, $6, 0)",
    )
    .bind(v.month)
    .bind(v.elder_id)
    .bind(v.township)
    .bind(date_text(v.visited_on))
    .bind(v.visitor)
    .bind(v.notes)
    .execute(&mut *conn)
    .await?;
    Ok(false)
}

pub struct VisitRow {
    pub elder_id: String,
    pub township: String,
    pub visited: bool,
    /// False for a visit to an elder not on the schedule.
    pub scheduled: bool,
}

pub async fn visits(
    conn: &mut AnyConnection,
    month: &str,
    region_prefix: &str,
) -> Result<Vec<VisitRow>, ServiceError> {
    let rows = sqlx::query("SELECT elder_id, township, visited_on, scheduled FROM visits WHERE month = $1 AND township LIKE $2 ORDER BY township, elder_id")
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
                scheduled: r.try_get::<i64, _>("scheduled")? == 1,
            })
        })
        .collect()
}
