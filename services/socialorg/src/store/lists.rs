//! Annual reports, credit-list entries and ratings.

use std::collections::BTreeSet;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::Date;

use super::{StoreResult, corrupt, date_text, opt_date, parse_date};
use crate::domain::annual_report::InspectionResult;
use crate::domain::credit_list::{CreditList, Listing, RemovalReason, Trigger};

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

/// The credit-list entries of an organisation, oldest first.
pub async fn listings(conn: &mut AnyConnection, org: &str) -> StoreResult<Vec<Listing>> {
    Ok(listings_of(conn, org)
        .await?
        .into_iter()
        .map(|l| l.listing)
        .collect())
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
    /// The registration authority that decided the listing.
    pub deciding_authority: String,
}

const LISTING_SELECT: &str = "SELECT l.id, l.organisation_id, l.list, l.trigger_kind, l.listed_on, l.report_year, l.fine_fen, \
     l.evidence, l.corrected_on, l.removal_due, l.removed_on, l.removal_reason, l.deciding_authority, o.name AS org_name, o.credit_code, o.region \
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
        deciding_authority: row.try_get("deciding_authority")?,
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
    authority: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO listings (id, organisation_id, list, trigger_kind, listed_on, report_year, fine_fen, evidence,
         corrected_on, removal_due, removed_on, removal_reason, created_at_ms, deciding_authority)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL, NULL, $9, $10)",
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
    .bind(authority)
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

impl RatingRow {
    /// A rating granted on `granted_on`, valid five years.
    pub fn new(org: &str, level: i32, granted_on: Date) -> Self {
        Self {
            organisation_id: org.to_owned(),
            level,
            granted_on,
            valid_until: crate::domain::rating::valid_until(granted_on),
        }
    }
}

/// What the rating rules need to know of an organisation on `assessed_on`.
pub async fn rating_facts(
    conn: &mut AnyConnection,
    org: &super::OrgRow,
    assessed_on: Date,
    calendar: &civil_calendar::HolidayCalendar,
) -> StoreResult<crate::domain::rating::RatingFacts> {
    let due_year = crate::domain::annual_report::latest_due_year(calendar, assessed_on);
    let reports = reports_of(conn, &org.id).await?;
    let listings = listings(conn, &org.id).await?;
    Ok(crate::domain::rating::RatingFacts {
        registered_on: org.registered_on,
        last_due_report: reports
            .iter()
            .find(|r| r.year == due_year)
            .map(|r| r.result),
        penalties: listings
            .iter()
            .filter(|l| l.trigger.is_penalty())
            .map(|l| l.listed_on)
            .collect(),
    })
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
