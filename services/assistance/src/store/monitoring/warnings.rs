//! Warnings; the visit and the closure's reasons sealed.

use kit::ServiceError;
use kit::clock::{date_text, stored_date};
use kit::pii::Sealer;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use crate::domain::monitoring::Level;
use crate::domain::monitoring::warning::{Closure, State, Visit, Warning};
use crate::store::{open, seal, stale};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningRow {
    pub id: String,
    pub household_id: String,
    pub warning: Warning,
    pub version: i64,
}

/// The sealed part of a warning.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Detail {
    visit: Option<Visit>,
    closure: Option<Closure>,
}

const WARNING_COLUMNS: &str = "id, household_id, level, state, owner_region, assignee, raised_on, \
     due_on, escalated, rule, detail_sealed, version";

fn warning_from(sealer: &Sealer, r: &sqlx::any::AnyRow) -> Result<WarningRow, ServiceError> {
    let detail: Detail = open(sealer, &r.try_get::<String, _>("detail_sealed")?)?;
    let (level, state): (String, String) = (r.try_get("level")?, r.try_get("state")?);
    let bad = |what: &str| ServiceError::Internal(anyhow::anyhow!("stored warning {what}"));
    Ok(WarningRow {
        id: r.try_get("id")?,
        household_id: r.try_get("household_id")?,
        warning: Warning {
            level: Level::parse(&level).ok_or_else(|| bad("level"))?,
            state: State::parse(&state).ok_or_else(|| bad("state"))?,
            owner_region: r.try_get("owner_region")?,
            assignee: r.try_get("assignee")?,
            raised_on: stored_date(&r.try_get::<String, _>("raised_on")?)?,
            due_on: stored_date(&r.try_get::<String, _>("due_on")?)?,
            escalated: r.try_get::<i64, _>("escalated")? != 0,
            rule: r.try_get("rule")?,
            visit: detail.visit,
            closure: detail.closure,
        },
        version: r.try_get("version")?,
    })
}

fn closure_columns(
    w: &Warning,
) -> (
    Option<&'static str>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    use crate::domain::monitoring::warning::Evidence;
    match &w.closure {
        None => (None, None, None, None),
        Some(c) => {
            let (app, benefit) = match &c.evidence {
                Evidence::Application { id } => (Some(id.clone()), None),
                Evidence::BenefitChange { id } => (None, Some(id.clone())),
                _ => (None, None),
            };
            (
                Some(c.evidence.kind_str()),
                app,
                benefit,
                Some(date_text(c.closed_on)),
            )
        }
    }
}

pub async fn insert_warning(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    row: &WarningRow,
    now_ms: i64,
) -> Result<(), ServiceError> {
    let w = &row.warning;
    sqlx::query(
        "INSERT INTO mon_warnings (id, household_id, level, state, owner_region, assignee,
             raised_on, due_on, escalated, rule, detail_sealed, version, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12)",
    )
    .bind(&row.id)
    .bind(&row.household_id)
    .bind(w.level.as_str())
    .bind(w.state.as_str())
    .bind(&w.owner_region)
    .bind(&w.assignee)
    .bind(date_text(w.raised_on))
    .bind(date_text(w.due_on))
    .bind(i64::from(w.escalated))
    .bind(&w.rule)
    .bind(seal(sealer, &Detail::default())?)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores a changed warning if nobody changed it since it was read (optimistic version).
pub async fn update_warning(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    row: &WarningRow,
    now_ms: i64,
) -> Result<(), ServiceError> {
    let w = &row.warning;
    let detail = Detail {
        visit: w.visit.clone(),
        closure: w.closure.clone(),
    };
    let (kind, app, benefit, closed_on) = closure_columns(w);
    let done = sqlx::query(
        "UPDATE mon_warnings SET level = $1, state = $2, owner_region = $3, assignee = $4,
             due_on = $5, escalated = $6, rule = $7, closure_kind = $8, application_id = $9,
             benefit_id = $10, closed_on = $11, detail_sealed = $12, version = version + 1,
             updated_at_ms = $13
         WHERE id = $14 AND version = $15",
    )
    .bind(w.level.as_str())
    .bind(w.state.as_str())
    .bind(&w.owner_region)
    .bind(&w.assignee)
    .bind(date_text(w.due_on))
    .bind(i64::from(w.escalated))
    .bind(&w.rule)
    .bind(kind)
    .bind(app)
    .bind(benefit)
    .bind(closed_on)
    .bind(seal(sealer, &detail)?)
    .bind(now_ms)
    .bind(&row.id)
    .bind(row.version)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(stale("warning"))
    }
}

pub async fn load_warning(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    id: &str,
) -> Result<WarningRow, ServiceError> {
    let sql = format!("SELECT {WARNING_COLUMNS} FROM mon_warnings WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("warning {id}")))?;
    warning_from(sealer, &row)
}

pub async fn open_warning(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    household_id: &str,
) -> Result<Option<WarningRow>, ServiceError> {
    let sql = format!(
        "SELECT {WARNING_COLUMNS} FROM mon_warnings WHERE household_id = $1 AND state <> 'closed'"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(household_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| warning_from(sealer, &r)).transpose()
}

pub async fn warnings_of_household(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    household_id: &str,
) -> Result<Vec<WarningRow>, ServiceError> {
    let sql = format!(
        "SELECT {WARNING_COLUMNS} FROM mon_warnings WHERE household_id = $1 ORDER BY raised_on, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(household_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| warning_from(sealer, r)).collect()
}

/// Warnings owned within `region` (prefix), newest first (ids are UUIDv7), before the id
/// `before` (empty: from the newest); `overdue_on`: only open ones due before that day.
pub async fn list_warnings(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    region: &str,
    overdue_on: Option<&str>,
    before: &str,
    limit: i64,
) -> Result<Vec<WarningRow>, ServiceError> {
    let sql = format!(
        "SELECT {WARNING_COLUMNS} FROM mon_warnings
         WHERE owner_region LIKE $1 AND ($2 = '' OR (state <> 'closed' AND due_on < $2))
           AND ($3 = '' OR id < $3)
         ORDER BY id DESC LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(format!("{region}%"))
        .bind(overdue_on.unwrap_or(""))
        .bind(before)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| warning_from(sealer, r)).collect()
}

/// Open warnings due before `today` not yet escalated.
pub async fn overdue_unescalated(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    today: &str,
) -> Result<Vec<WarningRow>, ServiceError> {
    let sql = format!(
        "SELECT {WARNING_COLUMNS} FROM mon_warnings
         WHERE state <> 'closed' AND due_on < $1 AND escalated = 0 ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(today)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| warning_from(sealer, r)).collect()
}
