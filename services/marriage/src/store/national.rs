//! The national check: county approvers' overrides and each registration's outcome.

use sqlx::{AnyConnection, Row};
use time::Date;

use super::{Result, date_text};

/// A county approver's override for one couple at one office on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideRow {
    pub override_id: String,
    pub office_id: String,
    pub pair_key: String,
    pub valid_on: Date,
    pub reason: String,
    pub approved_by: String,
}

/// The couple's key: both blind indexes in order, so the parties may come in either order.
pub fn pair_key(a: &str, b: &str) -> String {
    if a <= b {
        format!("{a}|{b}")
    } else {
        format!("{b}|{a}")
    }
}

pub async fn insert_override(conn: &mut AnyConnection, r: &OverrideRow, now_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO national_check_overrides (override_id, office_id, pair_key, valid_on, reason,
            approved_by, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.override_id)
    .bind(&r.office_id)
    .bind(&r.pair_key)
    .bind(date_text(r.valid_on))
    .bind(&r.reason)
    .bind(&r.approved_by)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The overrides approved for this couple at this office on `day`, oldest first:
/// (override id, approver).
pub async fn overrides_for(
    conn: &mut AnyConnection,
    office_id: &str,
    pair_key: &str,
    day: Date,
) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT override_id, approved_by FROM national_check_overrides
         WHERE pair_key = $1 AND valid_on = $2 AND office_id = $3 ORDER BY override_id",
    )
    .bind(pair_key)
    .bind(date_text(day))
    .bind(office_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("override_id")?, r.try_get("approved_by")?)))
        .collect()
}

/// Records how the national check went for a registration ('local_only', 'passed',
/// 'overridden').
pub async fn record_check(
    conn: &mut AnyConnection,
    certificate_number: &str,
    outcome: &str,
    override_id: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO national_checks (certificate_number, outcome, override_id, recorded_at_ms)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(certificate_number)
    .bind(outcome)
    .bind(override_id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
