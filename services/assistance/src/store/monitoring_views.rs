//! Read-only queries of the monitoring views: a benefit's roll lines (the chain to the money),
//! the warnings of a month for the statistics, and the open / overdue counts for the metric.

use kit::ServiceError;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollLineRow {
    pub roll_id: String,
    pub line_id: String,
    pub benefit_id: String,
    pub for_month: String,
    pub amount_fen: i64,
    pub roll_state: String,
    pub status: String,
}

/// Every roll line paying a benefit, by month.
pub async fn roll_lines_of_benefit(
    conn: &mut AnyConnection,
    benefit_id: &str,
) -> Result<Vec<RollLineRow>, ServiceError> {
    let rows = sqlx::query(
        "SELECT l.roll_id, l.line_id, l.benefit_id, l.for_month, l.amount_fen, l.status,
                r.state AS roll_state
         FROM pay_lines l JOIN pay_rolls r ON r.id = l.roll_id
         WHERE l.benefit_id = $1 ORDER BY l.for_month, l.line_id",
    )
    .bind(benefit_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RollLineRow {
                roll_id: r.try_get("roll_id")?,
                line_id: r.try_get("line_id")?,
                benefit_id: r.try_get("benefit_id")?,
                for_month: r.try_get("for_month")?,
                amount_fen: r.try_get("amount_fen")?,
                roll_state: r.try_get("roll_state")?,
                status: r.try_get("status")?,
            })
        })
        .collect()
}

/// A warning as the statistics count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow {
    pub owner_region: String,
    pub open: bool,
    pub due_on: String,
    pub closure_kind: Option<String>,
    pub closed_on: Option<String>,
}

/// The warnings raised in `month` (YYYY-MM) owned within `region` (prefix).
pub async fn warnings_raised_in(
    conn: &mut AnyConnection,
    region: &str,
    month: &str,
) -> Result<Vec<StatRow>, ServiceError> {
    let rows = sqlx::query(
        "SELECT owner_region, state, due_on, closure_kind, closed_on FROM mon_warnings
         WHERE owner_region LIKE $1 AND substr(raised_on, 1, 7) = $2 ORDER BY owner_region",
    )
    .bind(format!("{region}%"))
    .bind(month)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StatRow {
                owner_region: r.try_get("owner_region")?,
                open: r.try_get::<String, _>("state")? != "closed",
                due_on: r.try_get("due_on")?,
                closure_kind: r.try_get("closure_kind")?,
                closed_on: r.try_get("closed_on")?,
            })
        })
        .collect()
}

/// Open warnings, and of them those past their due date on `today` (YYYY-MM-DD).
pub async fn open_and_overdue(
    conn: &mut AnyConnection,
    today: &str,
) -> Result<(i64, i64), ServiceError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS open,
                COALESCE(SUM(CASE WHEN due_on < $1 THEN 1 ELSE 0 END), 0) AS overdue
         FROM mon_warnings WHERE state <> 'closed'",
    )
    .bind(today)
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.try_get("open")?, row.try_get("overdue")?))
}
