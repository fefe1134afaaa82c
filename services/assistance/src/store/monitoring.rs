//! 低收入人口动态监测: monitored households and members (blind indexes), the register, signals
//! and warnings. A visit's finding and a closure's reasons are sealed (`detail_sealed`).

use kit::ServiceError;
use kit::clock::{date_text, stored_date};
use kit::pii::Sealer;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use super::{open, seal, stale};
use crate::domain::monitoring::Level;
use crate::domain::monitoring::register::Category;
use crate::domain::monitoring::warning::{Closure, State, Visit, Warning};

#[derive(Debug, Clone)]
pub struct HouseholdRow {
    pub id: String,
    pub region: String,
    pub owner_region: String,
}

pub async fn household_of_person(
    conn: &mut AnyConnection,
    index: &str,
) -> Result<Option<HouseholdRow>, ServiceError> {
    let row = sqlx::query(
        "SELECT h.id, h.region, h.owner_region FROM mon_households h
         JOIN mon_members m ON m.household_id = h.id WHERE m.id_index = $1",
    )
    .bind(index)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| household_from(&r)).transpose()
}

pub async fn household(conn: &mut AnyConnection, id: &str) -> Result<HouseholdRow, ServiceError> {
    let row = sqlx::query("SELECT id, region, owner_region FROM mon_households WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("household {id}")))?;
    household_from(&row)
}

fn household_from(r: &sqlx::any::AnyRow) -> Result<HouseholdRow, ServiceError> {
    Ok(HouseholdRow {
        id: r.try_get("id")?,
        region: r.try_get("region")?,
        owner_region: r.try_get("owner_region")?,
    })
}

pub async fn insert_household(
    conn: &mut AnyConnection,
    h: &HouseholdRow,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO mon_households (id, region, owner_region, created_at_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(&h.id)
    .bind(&h.region)
    .bind(&h.owner_region)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Puts a person in a household unless they are in one already.
pub async fn add_member(
    conn: &mut AnyConnection,
    household_id: &str,
    index: &str,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO mon_members (id_index, household_id) VALUES ($1, $2)
         ON CONFLICT (id_index) DO NOTHING",
    )
    .bind(index)
    .bind(household_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn household_members(
    conn: &mut AnyConnection,
    household_id: &str,
) -> Result<Vec<String>, ServiceError> {
    let rows =
        sqlx::query("SELECT id_index FROM mon_members WHERE household_id = $1 ORDER BY id_index")
            .bind(household_id)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("id_index").map_err(Into::into))
        .collect()
}

// ---------------------------------------------------------------- register

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

// ---------------------------------------------------------------- signals

#[derive(Debug, Clone)]
pub struct SignalRow {
    pub id: String,
    pub source: String,
    pub source_record_id: String,
    pub kind: String,
    pub household_id: String,
    pub occurred_on: time::Date,
    pub received_on: time::Date,
    pub amount_fen: i64,
    pub warning_id: Option<String>,
}

/// The content hash and receipt of a signal already received from this source record.
pub async fn signal_by_source(
    conn: &mut AnyConnection,
    source: &str,
    record: &str,
) -> Result<Option<(String, String)>, ServiceError> {
    let row = sqlx::query(
        "SELECT content_sha256, receipt FROM mon_signals WHERE source = $1 AND source_record_id = $2",
    )
    .bind(source)
    .bind(record)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((r.try_get("content_sha256")?, r.try_get("receipt")?)))
        .transpose()
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_signal(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    s: &SignalRow,
    detail: &str,
    content_sha256: &str,
    receipt: &str,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO mon_signals (id, source, source_record_id, kind, household_id, occurred_on,
             received_on, amount_fen, detail_sealed, content_sha256, warning_id, receipt, received_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&s.id)
    .bind(&s.source)
    .bind(&s.source_record_id)
    .bind(&s.kind)
    .bind(&s.household_id)
    .bind(date_text(s.occurred_on))
    .bind(date_text(s.received_on))
    .bind(s.amount_fen)
    .bind(seal(sealer, &detail)?)
    .bind(content_sha256)
    .bind(&s.warning_id)
    .bind(receipt)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn signal_from(r: &sqlx::any::AnyRow) -> Result<SignalRow, ServiceError> {
    Ok(SignalRow {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        source_record_id: r.try_get("source_record_id")?,
        kind: r.try_get("kind")?,
        household_id: r.try_get("household_id")?,
        occurred_on: stored_date(&r.try_get::<String, _>("occurred_on")?)?,
        received_on: stored_date(&r.try_get::<String, _>("received_on")?)?,
        amount_fen: r.try_get("amount_fen")?,
        warning_id: r.try_get("warning_id")?,
    })
}

/// Signals of a household (`column` = household_id) or of a warning (`warning_id`), oldest
/// first.
pub async fn signals_where(
    conn: &mut AnyConnection,
    column: SignalsOf,
    id: &str,
) -> Result<Vec<SignalRow>, ServiceError> {
    let column = match column {
        SignalsOf::Household => "household_id",
        SignalsOf::Warning => "warning_id",
    };
    let sql = format!(
        "SELECT id, source, source_record_id, kind, household_id, occurred_on, received_on,
             amount_fen, warning_id FROM mon_signals WHERE {column} = $1 ORDER BY received_at_ms, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(signal_from).collect()
}

#[derive(Debug, Clone, Copy)]
pub enum SignalsOf {
    Household,
    Warning,
}

// ---------------------------------------------------------------- warnings

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
