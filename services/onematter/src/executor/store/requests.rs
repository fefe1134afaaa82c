//! 补件: requests to the family for a document or an answer, one per waiting step.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::step_id;

/// A stored request to the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyRequest {
    pub id: String,
    pub case_id: String,
    pub step: String,
    pub region: String,
    pub what: String,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    /// `open` or `answered`.
    pub state: String,
    pub answer_sealed: String,
    pub answered_by: String,
    pub requested_at_ms: i64,
    pub answered_at_ms: Option<i64>,
}

const COLUMNS: &str = "id, case_id, step, region, what, due_date, state, answer_sealed, answered_by, requested_at_ms, answered_at_ms";

fn from_row(r: &AnyRow) -> Result<FamilyRequest, sqlx::Error> {
    Ok(FamilyRequest {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        step: r.try_get("step")?,
        region: r.try_get("region")?,
        what: r.try_get("what")?,
        due_date: r.try_get("due_date")?,
        state: r.try_get("state")?,
        answer_sealed: r.try_get("answer_sealed")?,
        answered_by: r.try_get("answered_by")?,
        requested_at_ms: r.try_get("requested_at_ms")?,
        answered_at_ms: r.try_get("answered_at_ms")?,
    })
}

/// Opens the request of a step unless it has one (a step asks once; the answer stays).
pub async fn open_request(
    conn: &mut AnyConnection,
    case_id: &str,
    step: &str,
    what: &str,
    due_date: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "INSERT INTO family_requests (id, case_id, step, region, what, due_date, state, answer_sealed, answered_by,
            requested_at_ms, answered_at_ms)
         SELECT $1, id, $2, region, $3, $4, 'open', '', '', $5, NULL FROM cases WHERE id = $6
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(step_id(case_id, step))
    .bind(step)
    .bind(what)
    .bind(due_date)
    .bind(now)
    .bind(case_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // The step waits for the family now: its own deadline stops (the request's due date counts).
    sqlx::query("UPDATE case_steps SET deadline_at_ms = NULL WHERE id = $1")
        .bind(step_id(case_id, step))
        .execute(&mut *conn)
        .await?;
    Ok(n == 1)
}

/// Runs an answered request's step again now, with its full deadline from now.
pub async fn wake_answered(
    conn: &mut AnyConnection,
    case_id: &str,
    step: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE case_steps SET next_run_at_ms = $2, deadline_at_ms = $2 + deadline_ms
         WHERE id = $1 AND state = 'ready' AND phase = 'do'",
    )
    .bind(step_id(case_id, step))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One request by id (`<case id>/<step>`).
pub async fn load_request(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<FamilyRequest>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM family_requests WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Records the family's answer of an open request; false when it was answered already.
pub async fn answer_request(
    conn: &mut AnyConnection,
    id: &str,
    answer_sealed: &str,
    by: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE family_requests SET state = 'answered', answer_sealed = $2, answered_by = $3, answered_at_ms = $4
         WHERE id = $1 AND state = 'open'",
    )
    .bind(id)
    .bind(answer_sealed)
    .bind(by)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Which requests a listing selects.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only requests of cases with this applicant (a citizen's own).
    pub applicant: Option<String>,
    pub region_prefix: Option<String>,
    pub case_id: Option<String>,
    pub open_only: bool,
    /// Only open requests due before this date (`YYYY-MM-DD`): overdue on that day.
    pub due_before: Option<String>,
}

/// Requests, earliest due first (at most 500).
pub async fn list_requests(
    conn: &mut AnyConnection,
    f: &RequestFilter,
) -> Result<Vec<FamilyRequest>, sqlx::Error> {
    let cols = COLUMNS
        .split(", ")
        .map(|c| format!("r.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!(
        "SELECT {cols} FROM family_requests r JOIN cases c ON c.id = r.case_id WHERE 1 = 1"
    );
    let mut binds: Vec<String> = Vec::new();
    let mut add = |clause: &str, value: String, binds: &mut Vec<String>| {
        binds.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
    };
    if let Some(a) = &f.applicant {
        add(" AND c.applicant = ?", a.clone(), &mut binds);
    }
    if let Some(r) = &f.region_prefix {
        add(" AND r.region LIKE ?", format!("{r}%"), &mut binds);
    }
    if let Some(c) = &f.case_id {
        add(" AND r.case_id = ?", c.clone(), &mut binds);
    }
    if f.open_only || f.due_before.is_some() {
        add(" AND r.state = ?", "open".into(), &mut binds);
    }
    if let Some(d) = &f.due_before {
        add(" AND r.due_date < ?", d.clone(), &mut binds);
    }
    sql.push_str(" ORDER BY r.due_date, r.id LIMIT 500");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in binds {
        query = query.bind(b);
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Open requests past their due date on `today` (`YYYY-MM-DD`), for the overdue gauge.
pub async fn count_overdue_requests(
    conn: &mut AnyConnection,
    today: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM family_requests WHERE state = 'open' AND due_date < $1",
    )
    .bind(today)
    .fetch_one(&mut *conn)
    .await?;
    row.try_get("n")
}

/// The answer given to a step's request, sealed, if answered.
pub async fn answer_of(
    conn: &mut AnyConnection,
    case_id: &str,
    step: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT answer_sealed FROM family_requests WHERE id = $1 AND state = 'answered'",
    )
    .bind(step_id(case_id, step))
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| r.try_get("answer_sealed")).transpose()
}
