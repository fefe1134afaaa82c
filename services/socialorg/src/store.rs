//! SQL of the social-organisation service, portable across SQLite and PostgreSQL. One function
//! per query; every function takes the connection (or transaction) to run on.

use std::collections::BTreeSet;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::Date;

use crate::domain::annual_report::InspectionResult;
use crate::domain::credit_list::{CreditList, Listing, RemovalReason, Trigger};
use crate::domain::registration::{ActivityField, OrganisationKind};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgStatus {
    Active,
    Deregistered,
    Revoked,
}

impl OrgStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgStatus::Active => "ACTIVE",
            OrgStatus::Deregistered => "DEREGISTERED",
            OrgStatus::Revoked => "REVOKED",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "ACTIVE" => Ok(OrgStatus::Active),
            "DEREGISTERED" => Ok(OrgStatus::Deregistered),
            "REVOKED" => Ok(OrgStatus::Revoked),
            other => Err(corrupt("status", other)),
        }
    }
}

/// A row of `organisations`.
#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: String,
    pub credit_code: String,
    pub kind: OrganisationKind,
    pub field: ActivityField,
    pub name: String,
    pub region: String,
    pub address: String,
    pub rep_index: String,
    pub rep_id_sealed: String,
    pub rep_name_sealed: String,
    pub supervisory_unit: String,
    pub individual_members: i64,
    pub unit_members: i64,
    pub funds_fen: i64,
    pub public_fundraising: bool,
    pub status: OrgStatus,
    pub received_on: Date,
    pub registered_on: Date,
    pub decision_due: Date,
    pub ended_on: Option<Date>,
}

const ORG_COLUMNS: &str = "id, credit_code, kind, field, name, region, address, rep_index, rep_id_sealed, rep_name_sealed, \
     supervisory_unit, individual_members, unit_members, funds_fen, public_fundraising, status, received_on, \
     registered_on, decision_due, ended_on";

fn org_from(row: &AnyRow) -> StoreResult<OrgRow> {
    let kind: String = row.try_get("kind")?;
    let field: String = row.try_get("field")?;
    let status: String = row.try_get("status")?;
    Ok(OrgRow {
        id: row.try_get("id")?,
        credit_code: row.try_get("credit_code")?,
        kind: OrganisationKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        field: ActivityField::parse(&field).ok_or_else(|| corrupt("field", &field))?,
        name: row.try_get("name")?,
        region: row.try_get("region")?,
        address: row.try_get("address")?,
        rep_index: row.try_get("rep_index")?,
        rep_id_sealed: row.try_get("rep_id_sealed")?,
        rep_name_sealed: row.try_get("rep_name_sealed")?,
        supervisory_unit: row.try_get("supervisory_unit")?,
        individual_members: row.try_get("individual_members")?,
        unit_members: row.try_get("unit_members")?,
        funds_fen: row.try_get("funds_fen")?,
        public_fundraising: row.try_get::<i64, _>("public_fundraising")? != 0,
        status: OrgStatus::parse(&status)?,
        received_on: parse_date(&row.try_get::<String, _>("received_on")?)?,
        registered_on: parse_date(&row.try_get::<String, _>("registered_on")?)?,
        decision_due: parse_date(&row.try_get::<String, _>("decision_due")?)?,
        ended_on: opt_date(row, "ended_on")?,
    })
}

/// Takes the next body serial of the county (1, 2, …) atomically.
pub async fn next_credit_sequence(conn: &mut AnyConnection, county: &str) -> StoreResult<i64> {
    let row = sqlx::query(
        "INSERT INTO credit_sequences (county, last_value) VALUES ($1, 1)
         ON CONFLICT (county) DO UPDATE SET last_value = credit_sequences.last_value + 1
         RETURNING last_value",
    )
    .bind(county)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("last_value")?)
}

pub async fn insert_org(conn: &mut AnyConnection, o: &OrgRow, now_ms: i64) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO organisations ({ORG_COLUMNS}, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)"
    )))
    .bind(&o.id)
    .bind(&o.credit_code)
    .bind(o.kind.as_str())
    .bind(o.field.as_str())
    .bind(&o.name)
    .bind(&o.region)
    .bind(&o.address)
    .bind(&o.rep_index)
    .bind(&o.rep_id_sealed)
    .bind(&o.rep_name_sealed)
    .bind(&o.supervisory_unit)
    .bind(o.individual_members)
    .bind(o.unit_members)
    .bind(o.funds_fen)
    .bind(i64::from(o.public_fundraising))
    .bind(o.status.as_str())
    .bind(date_text(o.received_on))
    .bind(date_text(o.registered_on))
    .bind(date_text(o.decision_due))
    .bind(o.ended_on.map(date_text))
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Updates the changeable fields, and takes the row lock on PostgreSQL.
pub async fn update_org(conn: &mut AnyConnection, o: &OrgRow, now_ms: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE organisations SET name = $1, address = $2, rep_index = $3, rep_id_sealed = $4, rep_name_sealed = $5,
         status = $6, ended_on = $7, updated_at_ms = $8 WHERE id = $9",
    )
    .bind(&o.name)
    .bind(&o.address)
    .bind(&o.rep_index)
    .bind(&o.rep_id_sealed)
    .bind(&o.rep_name_sealed)
    .bind(o.status.as_str())
    .bind(o.ended_on.map(date_text))
    .bind(now_ms)
    .bind(&o.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Locks the organisation's row for the rest of the transaction (PostgreSQL; SQLite serialises
/// writers anyway) and returns it fresh.
pub async fn lock_org(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<OrgRow>> {
    sqlx::query("UPDATE organisations SET updated_at_ms = updated_at_ms WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    org_by_id(conn, id).await
}

pub async fn org_by_id(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<OrgRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(org_from).transpose()
}

pub async fn active_name_taken(
    conn: &mut AnyConnection,
    region: &str,
    name: &str,
    except_id: &str,
) -> StoreResult<bool> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM organisations WHERE region = $1 AND name = $2 AND status = 'ACTIVE' AND id <> $3")
        .bind(region)
        .bind(name)
        .bind(except_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

pub async fn active_orgs_by_rep(
    conn: &mut AnyConnection,
    rep_index: &str,
) -> StoreResult<Vec<OrgRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ORG_COLUMNS} FROM organisations WHERE rep_index = $1 AND status = 'ACTIVE' ORDER BY id"
    )))
    .bind(rep_index)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(org_from).collect()
}

pub async fn active_org_ids(conn: &mut AnyConnection) -> StoreResult<Vec<String>> {
    let rows = sqlx::query("SELECT id FROM organisations WHERE status = 'ACTIVE' ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| r.try_get("id").map_err(Into::into))
        .collect()
}

pub async fn insert_change(
    conn: &mut AnyConnection,
    org: &str,
    changed_on: Date,
    what: &str,
    old_value: &str,
    new_value: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO organisation_changes (id, organisation_id, changed_on, what, old_value, new_value, recorded_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(org)
    .bind(date_text(changed_on))
    .bind(what)
    .bind(old_value)
    .bind(new_value)
    .bind(kit::now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
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

#[derive(Debug, Clone)]
pub struct ReportRow {
    pub organisation_id: String,
    pub year: i32,
    pub submitted_on: Date,
    pub due_on: Date,
    pub late: bool,
    pub result: InspectionResult,
    pub spending_ratio_met: bool,
}

pub async fn reports_of(conn: &mut AnyConnection, org: &str) -> StoreResult<Vec<ReportRow>> {
    let rows = sqlx::query(
        "SELECT organisation_id, year, submitted_on, due_on, late, result, spending_ratio_met FROM annual_reports
         WHERE organisation_id = $1 ORDER BY year",
    )
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let result: String = row.try_get("result")?;
            Ok(ReportRow {
                organisation_id: row.try_get("organisation_id")?,
                year: i32::try_from(row.try_get::<i64, _>("year")?).unwrap_or_default(),
                submitted_on: parse_date(&row.try_get::<String, _>("submitted_on")?)?,
                due_on: parse_date(&row.try_get::<String, _>("due_on")?)?,
                late: row.try_get::<i64, _>("late")? != 0,
                result: InspectionResult::parse(&result)
                    .ok_or_else(|| corrupt("result", &result))?,
                spending_ratio_met: row.try_get::<i64, _>("spending_ratio_met")? != 0,
            })
        })
        .collect()
}

pub async fn reported_years(conn: &mut AnyConnection, org: &str) -> StoreResult<BTreeSet<i32>> {
    Ok(reports_of(conn, org)
        .await?
        .into_iter()
        .map(|r| r.year)
        .collect())
}

pub async fn insert_report(conn: &mut AnyConnection, r: &ReportRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO annual_reports (organisation_id, year, submitted_on, due_on, late, result, spending_ratio_met, recorded_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&r.organisation_id)
    .bind(i64::from(r.year))
    .bind(date_text(r.submitted_on))
    .bind(date_text(r.due_on))
    .bind(i64::from(r.late))
    .bind(r.result.as_str())
    .bind(i64::from(r.spending_ratio_met))
    .bind(kit::now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A listing with the public fields of its organisation.
#[derive(Debug, Clone)]
pub struct ListingRow {
    pub listing: Listing,
    pub organisation_id: String,
    pub organisation_name: String,
    pub credit_code: String,
    pub evidence: String,
    pub fine_fen: i64,
}

const LISTING_SELECT: &str = "SELECT l.id, l.organisation_id, l.list, l.trigger_kind, l.listed_on, l.report_year, l.fine_fen, \
     l.evidence, l.corrected_on, l.removal_due, l.removed_on, l.removal_reason, o.name AS org_name, o.credit_code, o.region \
     FROM listings l JOIN organisations o ON o.id = l.organisation_id";

fn listing_from(row: &AnyRow) -> StoreResult<ListingRow> {
    let list: String = row.try_get("list")?;
    let trigger: String = row.try_get("trigger_kind")?;
    let reason: Option<String> = row.try_get("removal_reason")?;
    let report_year: Option<i64> = row.try_get("report_year")?;
    Ok(ListingRow {
        listing: Listing {
            id: row.try_get("id")?,
            list: CreditList::parse(&list).ok_or_else(|| corrupt("list", &list))?,
            trigger: Trigger::parse(&trigger).ok_or_else(|| corrupt("trigger", &trigger))?,
            listed_on: parse_date(&row.try_get::<String, _>("listed_on")?)?,
            report_year: report_year.and_then(|y| i32::try_from(y).ok()),
            corrected_on: opt_date(row, "corrected_on")?,
            removal_due: opt_date(row, "removal_due")?,
            removed_on: opt_date(row, "removed_on")?,
            removal_reason: reason.as_deref().and_then(RemovalReason::parse),
        },
        organisation_id: row.try_get("organisation_id")?,
        organisation_name: row.try_get("org_name")?,
        credit_code: row.try_get("credit_code")?,
        evidence: row.try_get("evidence")?,
        fine_fen: row.try_get("fine_fen")?,
    })
}

pub async fn listings_of(conn: &mut AnyConnection, org: &str) -> StoreResult<Vec<ListingRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{LISTING_SELECT} WHERE l.organisation_id = $1 ORDER BY l.listed_on, l.id"
    )))
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(listing_from).collect()
}

pub async fn listing_by_id(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<ListingRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{LISTING_SELECT} WHERE l.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(listing_from).transpose()
}

/// Listings of `list` in force on `on` within `region_prefix`, after the paging key.
pub async fn listings_in_force(
    conn: &mut AnyConnection,
    list: CreditList,
    on: Date,
    region_prefix: &str,
    after_id: &str,
    limit: i64,
) -> StoreResult<Vec<ListingRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{LISTING_SELECT} WHERE l.list = $1 AND l.listed_on <= $2 AND (l.removed_on IS NULL OR l.removed_on > $2)
         AND o.region LIKE $3 AND l.id > $4 ORDER BY l.id LIMIT $5"
    )))
    .bind(list.as_str())
    .bind(date_text(on))
    .bind(format!("{region_prefix}%"))
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(listing_from).collect()
}

pub async fn insert_listing(
    conn: &mut AnyConnection,
    org: &str,
    l: &Listing,
    fine_fen: i64,
    evidence: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO listings (id, organisation_id, list, trigger_kind, listed_on, report_year, fine_fen, evidence,
         corrected_on, removal_due, removed_on, removal_reason, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL, NULL, $9)",
    )
    .bind(&l.id)
    .bind(org)
    .bind(l.list.as_str())
    .bind(l.trigger.as_str())
    .bind(date_text(l.listed_on))
    .bind(l.report_year.map(i64::from))
    .bind(fine_fen)
    .bind(evidence)
    .bind(kit::now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn record_correction(
    conn: &mut AnyConnection,
    id: &str,
    corrected_on: Date,
    removal_due: Date,
) -> StoreResult<()> {
    sqlx::query("UPDATE listings SET corrected_on = $1, removal_due = $2 WHERE id = $3 AND removed_on IS NULL")
        .bind(date_text(corrected_on))
        .bind(date_text(removal_due))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends a listing; false when it had already ended (a concurrent sweep).
pub async fn remove_listing(
    conn: &mut AnyConnection,
    id: &str,
    removed_on: Date,
    reason: RemovalReason,
) -> StoreResult<bool> {
    let n = sqlx::query("UPDATE listings SET removed_on = $1, removal_reason = $2 WHERE id = $3 AND removed_on IS NULL")
        .bind(date_text(removed_on))
        .bind(reason.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

#[derive(Debug, Clone)]
pub struct RatingRow {
    pub organisation_id: String,
    pub level: i32,
    pub granted_on: Date,
    pub valid_until: Date,
}

pub async fn insert_rating(conn: &mut AnyConnection, r: &RatingRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO ratings (id, organisation_id, level, granted_on, valid_until, recorded_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&r.organisation_id)
    .bind(i64::from(r.level))
    .bind(date_text(r.granted_on))
    .bind(date_text(r.valid_until))
    .bind(kit::now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The latest rating in force on `on`.
pub async fn rating_in_force(
    conn: &mut AnyConnection,
    org: &str,
    on: Date,
) -> StoreResult<Option<RatingRow>> {
    let row = sqlx::query(
        "SELECT organisation_id, level, granted_on, valid_until FROM ratings
         WHERE organisation_id = $1 AND granted_on <= $2 AND valid_until >= $2 ORDER BY granted_on DESC, id DESC LIMIT 1",
    )
    .bind(org)
    .bind(date_text(on))
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(RatingRow {
            organisation_id: row.try_get("organisation_id")?,
            level: i32::try_from(row.try_get::<i64, _>("level")?).unwrap_or_default(),
            granted_on: parse_date(&row.try_get::<String, _>("granted_on")?)?,
            valid_until: parse_date(&row.try_get::<String, _>("valid_until")?)?,
        })
    })
    .transpose()
}
