//! Organisations: registration rows, lookups, the credit-code sequence.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::Date;

use super::{StoreResult, corrupt, date_text, opt_date, parse_date};
use crate::domain::registration::{ActivityField, OrganisationKind};

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
