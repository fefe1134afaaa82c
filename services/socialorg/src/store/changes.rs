//! Change history and representative-change tasks.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::Date;

use super::{StoreResult, date_text};

/// One registered change (变更登记). For a change of legal representative `old_value` and
/// `new_value` are blind indexes and `from_sealed` / `to_sealed` the sealed "id\nname".
#[derive(Debug, Clone, Default)]
pub struct ChangeRow {
    pub what: String,
    pub old_value: String,
    pub new_value: String,
    pub changed_on: Option<Date>,
    pub recorded_by: String,
    pub reason: String,
    pub from_sealed: String,
    pub to_sealed: String,
}

pub async fn insert_change(conn: &mut AnyConnection, org: &str, c: &ChangeRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO organisation_changes (id, organisation_id, changed_on, what, old_value, new_value, recorded_at_ms,
         recorded_by, reason, from_sealed, to_sealed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(org)
    .bind(c.changed_on.map(date_text).unwrap_or_default())
    .bind(&c.what)
    .bind(&c.old_value)
    .bind(&c.new_value)
    .bind(kit::now_ms())
    .bind(&c.recorded_by)
    .bind(&c.reason)
    .bind(&c.from_sealed)
    .bind(&c.to_sealed)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The change history of an organisation, oldest first.
pub async fn changes_of(conn: &mut AnyConnection, org: &str) -> StoreResult<Vec<ChangeRow>> {
    let rows = sqlx::query(
        "SELECT what, old_value, new_value, changed_on, recorded_by, reason, from_sealed, to_sealed
         FROM organisation_changes WHERE organisation_id = $1 ORDER BY recorded_at_ms, id",
    )
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let on: String = r.try_get("changed_on")?;
            Ok(ChangeRow {
                what: r.try_get("what")?,
                old_value: r.try_get("old_value")?,
                new_value: r.try_get("new_value")?,
                changed_on: kit::clock::parse_date(&on),
                recorded_by: r.try_get("recorded_by")?,
                reason: r.try_get("reason")?,
                from_sealed: r.try_get("from_sealed")?,
                to_sealed: r.try_get("to_sealed")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: String,
    pub organisation_id: String,
    pub reason: String,
    pub open: bool,
    pub opened_at_ms: i64,
}

fn task_from(row: &AnyRow) -> StoreResult<TaskRow> {
    Ok(TaskRow {
        id: row.try_get("id")?,
        organisation_id: row.try_get("organisation_id")?,
        reason: row.try_get("reason")?,
        open: row.try_get::<String, _>("status")? == "OPEN",
        opened_at_ms: row.try_get("opened_at_ms")?,
    })
}

pub async fn open_task(conn: &mut AnyConnection, org: &str) -> StoreResult<Option<TaskRow>> {
    let row = sqlx::query(
        "SELECT id, organisation_id, reason, status, opened_at_ms FROM representative_tasks
         WHERE organisation_id = $1 AND status = 'OPEN'",
    )
    .bind(org)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(task_from).transpose()
}

pub async fn insert_task(conn: &mut AnyConnection, t: &TaskRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO representative_tasks (id, organisation_id, reason, status, opened_at_ms, closed_at_ms)
         VALUES ($1, $2, $3, 'OPEN', $4, NULL)",
    )
    .bind(&t.id)
    .bind(&t.organisation_id)
    .bind(&t.reason)
    .bind(t.opened_at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn close_tasks(conn: &mut AnyConnection, org: &str, now_ms: i64) -> StoreResult<()> {
    sqlx::query("UPDATE representative_tasks SET status = 'DONE', closed_at_ms = $1 WHERE organisation_id = $2 AND status = 'OPEN'")
        .bind(now_ms)
        .bind(org)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
