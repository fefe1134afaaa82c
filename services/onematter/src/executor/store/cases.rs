//! Queries on `cases` and `case_events`: a case's state, facts and applicant, reads for the
//! portal.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{CaseEvent, CaseRecord, CaseState, StepRecord, unknown};
use crate::executor::Phase;

/// Sets a case's state, and its reason unless `reason` is None.
pub async fn set_case_state(
    conn: &mut AnyConnection,
    case_id: &str,
    state: CaseState,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cases SET state = $2, reason = COALESCE($3, reason) WHERE id = $1")
        .bind(case_id)
        .bind(state.as_str())
        .bind(reason)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A case's kind and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseHead {
    pub kind: String,
    pub state: CaseState,
    pub plan_version: i64,
}

/// A case's kind and state.
pub async fn case_head(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Option<CaseHead>, sqlx::Error> {
    let row = sqlx::query("SELECT kind, state, plan_version FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        let state: String = r.try_get("state")?;
        Ok(CaseHead {
            kind: r.try_get("kind")?,
            state: CaseState::parse(&state).ok_or_else(|| unknown("case state", &state))?,
            plan_version: r.try_get("plan_version")?,
        })
    })
    .transpose()
}

/// Merges non-personal facts into the case.
pub async fn merge_facts(
    conn: &mut AnyConnection,
    case_id: &str,
    patch: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    let row = sqlx::query("SELECT facts FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut *conn)
        .await?;
    let mut facts: serde_json::Value =
        serde_json::from_str(&row.try_get::<String, _>("facts")?).unwrap_or_default();
    if let (Some(f), Some(p)) = (facts.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            f.insert(k.clone(), v.clone());
        }
    } else {
        facts = patch.clone();
    }
    sqlx::query("UPDATE cases SET facts = $2 WHERE id = $1")
        .bind(case_id)
        .bind(facts.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A verified family member joining a case started without application.
#[derive(Debug, Clone)]
pub struct Adoption<'a> {
    pub applicant: &'a str,
    /// `crate::family::Evidence` as stored.
    pub evidence: &'a str,
    pub declarant_sealed: &'a str,
    pub declarant_index: &'a str,
    pub relationship: &'a str,
}

/// Sets the applicant of a case that has none yet (a verified family member joins it).
pub async fn adopt(
    conn: &mut AnyConnection,
    case_id: &str,
    a: &Adoption<'_>,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE cases SET applicant = $2, declarant_sealed = $3, declarant_index = $4, declarant_relationship = $5,
            applicant_evidence = $6
         WHERE id = $1 AND applicant = ''",
    )
    .bind(case_id)
    .bind(a.applicant)
    .bind(a.declarant_sealed)
    .bind(a.declarant_index)
    .bind(a.relationship)
    .bind(a.evidence)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

const CASE_COLUMNS: &str = "id, kind, state, region, applicant, applicant_evidence, declarant_sealed, declarant_index, declarant_relationship,
    subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms,
    plan_version, forked_from, fork_step, purged_at_ms";

fn case_from_row(r: &AnyRow) -> Result<CaseRecord, sqlx::Error> {
    Ok(CaseRecord {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        state: r.try_get("state")?,
        region: r.try_get("region")?,
        applicant: r.try_get("applicant")?,
        applicant_evidence: r.try_get("applicant_evidence")?,
        declarant_sealed: r.try_get("declarant_sealed")?,
        declarant_index: r.try_get("declarant_index")?,
        declarant_relationship: r.try_get("declarant_relationship")?,
        subject_sealed: r.try_get("subject_sealed")?,
        subject_index: r.try_get("subject_index")?,
        input_sealed: r.try_get("input_sealed")?,
        facts: serde_json::from_str(&r.try_get::<String, _>("facts")?).unwrap_or_default(),
        reason: r.try_get("reason")?,
        origin: r.try_get("origin")?,
        traceparent: r.try_get("traceparent")?,
        event_seq: r.try_get("event_seq")?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
        plan_version: r.try_get("plan_version")?,
        forked_from: r.try_get("forked_from")?,
        fork_step: r.try_get("fork_step")?,
        purged_at_ms: r.try_get("purged_at_ms")?,
        forks: Vec::new(),
        steps: Vec::new(),
    })
}

/// A case with its steps (in plan order).
pub async fn load_case(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Option<CaseRecord>, sqlx::Error> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1");
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let mut case = case_from_row(&row)?;
    case.forks = super::forks_of(conn, case_id).await?;
    let rows = sqlx::query(
        "SELECT step, state, phase, attempts, max_attempts, next_run_at_ms, lease_token, summary, last_error, output,
            started_at_ms, finished_at_ms
         FROM case_steps WHERE case_id = $1 ORDER BY position",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        case.steps.push(StepRecord {
            step: r.try_get("step")?,
            state: r.try_get("state")?,
            phase: Phase::parse(&r.try_get::<String, _>("phase")?),
            attempts: r.try_get("attempts")?,
            max_attempts: r.try_get("max_attempts")?,
            next_run_at_ms: r.try_get("next_run_at_ms")?,
            lease_token: r.try_get("lease_token")?,
            summary: r.try_get("summary")?,
            last_error: r.try_get("last_error")?,
            output: serde_json::from_str(&r.try_get::<String, _>("output")?).unwrap_or_default(),
            started_at_ms: r.try_get("started_at_ms")?,
            finished_at_ms: r.try_get("finished_at_ms")?,
        });
    }
    Ok(Some(case))
}

/// Filters of a case listing.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub applicant: Option<String>,
    pub region_prefix: Option<String>,
    pub state: Option<String>,
    pub kind: Option<String>,
    /// Exclusive upper bound on the id (ids are UUIDv7: newest first).
    pub before_id: Option<String>,
}

impl CaseFilter {
    /// The values that select rows, in a fixed order: a page token is bound to them.
    pub fn key(&self) -> [&str; 4] {
        [
            self.applicant.as_deref().unwrap_or(""),
            self.region_prefix.as_deref().unwrap_or(""),
            self.state.as_deref().unwrap_or(""),
            self.kind.as_deref().unwrap_or(""),
        ]
    }
}

/// Cases (without steps), newest first.
pub async fn list_cases(
    conn: &mut AnyConnection,
    filter: &CaseFilter,
    limit: i64,
) -> Result<Vec<CaseRecord>, sqlx::Error> {
    let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE 1 = 1");
    let mut binds: Vec<String> = Vec::new();
    let mut add = |clause: &str, value: String, binds: &mut Vec<String>| {
        binds.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
    };
    if let Some(a) = &filter.applicant {
        add(" AND applicant = ?", a.clone(), &mut binds);
    }
    if let Some(r) = &filter.region_prefix {
        add(" AND region LIKE ?", format!("{r}%"), &mut binds);
    }
    if let Some(s) = &filter.state {
        add(" AND state = ?", s.clone(), &mut binds);
    }
    if let Some(k) = &filter.kind {
        add(" AND kind = ?", k.clone(), &mut binds);
    }
    if let Some(b) = &filter.before_id {
        add(" AND id < ?", b.clone(), &mut binds);
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", limit.max(1)));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in binds {
        query = query.bind(b);
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(case_from_row)
        .collect()
}

/// Updates of a case after `after_seq`, oldest first.
pub async fn events_after(
    conn: &mut AnyConnection,
    case_id: &str,
    after_seq: i64,
) -> Result<Vec<CaseEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT case_id, seq, kind, step, message, case_state, at_ms FROM case_events
         WHERE case_id = $1 AND seq > $2 ORDER BY seq LIMIT 500",
    )
    .bind(case_id)
    .bind(after_seq)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CaseEvent {
                case_id: r.try_get("case_id")?,
                seq: r.try_get("seq")?,
                kind: r.try_get("kind")?,
                step: r.try_get("step")?,
                message: r.try_get("message")?,
                case_state: r.try_get("case_state")?,
                at_ms: r.try_get("at_ms")?,
            })
        })
        .collect()
}

/// Cases per state, for the `civil_onematter_cases{state}` gauge.
pub async fn count_by_state(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM cases GROUP BY state")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
        .collect()
}

/// Filters of an operator's case search (no identity number among them).
#[derive(Debug, Clone, Default)]
pub struct CaseSearch {
    pub region_prefix: String,
    pub kind: Option<String>,
    pub state: Option<String>,
    pub step: Option<String>,
    pub step_state: Option<String>,
    pub created_from_ms: Option<i64>,
    pub created_before_ms: Option<i64>,
    /// Only cases with an unfinished step past its deadline at this instant.
    pub overdue_at_ms: Option<i64>,
    /// Only cases whose subject or declarant has this blind index.
    pub person_index: Option<String>,
    /// Exclusive upper bound on the id (ids are UUIDv7: newest first).
    pub before_id: Option<String>,
}

impl CaseSearch {
    /// The values that select rows, in a fixed order: a page token is bound to them (the
    /// overdue instant is not: a later page of the same search may see more cases overdue).
    pub fn key(&self) -> Vec<String> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        vec![
            self.region_prefix.clone(),
            opt(&self.kind),
            opt(&self.state),
            opt(&self.step),
            opt(&self.step_state),
            num(self.created_from_ms),
            num(self.created_before_ms),
            self.overdue_at_ms.is_some().to_string(),
            opt(&self.person_index),
        ]
    }
}

/// Cases (without steps) an operator's search selects, newest first.
pub async fn search_cases(
    conn: &mut AnyConnection,
    search: &CaseSearch,
    limit: i64,
) -> Result<Vec<CaseRecord>, sqlx::Error> {
    enum Bind {
        Text(String),
        Number(i64),
    }
    let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE region LIKE $1");
    let mut binds = vec![Bind::Text(format!("{}%", search.region_prefix))];
    let mut add = |clause: &str, value: Bind, binds: &mut Vec<Bind>| {
        binds.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
    };
    if let Some(k) = &search.kind {
        add(" AND kind = ?", Bind::Text(k.clone()), &mut binds);
    }
    if let Some(s) = &search.state {
        add(" AND state = ?", Bind::Text(s.clone()), &mut binds);
    }
    if let Some(from) = search.created_from_ms {
        add(" AND created_at_ms >= ?", Bind::Number(from), &mut binds);
    }
    if let Some(before) = search.created_before_ms {
        add(" AND created_at_ms < ?", Bind::Number(before), &mut binds);
    }
    if let Some(step) = &search.step {
        let has_step =
            " AND EXISTS (SELECT 1 FROM case_steps s WHERE s.case_id = cases.id AND s.step = ?";
        match &search.step_state {
            Some(state) => {
                add(has_step, Bind::Text(step.clone()), &mut binds);
                add(" AND s.state = ?)", Bind::Text(state.clone()), &mut binds);
            }
            None => add(
                &format!("{has_step})"),
                Bind::Text(step.clone()),
                &mut binds,
            ),
        }
    }
    if let Some(now) = search.overdue_at_ms {
        add(
            " AND EXISTS (SELECT 1 FROM case_steps o WHERE o.case_id = cases.id \
             AND o.state IN ('ready', 'running', 'failed') \
             AND o.deadline_at_ms IS NOT NULL AND o.deadline_at_ms < ?)",
            Bind::Number(now),
            &mut binds,
        );
    }
    if let Some(index) = &search.person_index {
        add(
            " AND (subject_index = ?",
            Bind::Text(index.clone()),
            &mut binds,
        );
        add(
            " OR declarant_index = ?)",
            Bind::Text(index.clone()),
            &mut binds,
        );
    }
    if let Some(b) = &search.before_id {
        add(" AND id < ?", Bind::Text(b.clone()), &mut binds);
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", limit.max(1)));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in binds {
        query = match b {
            Bind::Text(t) => query.bind(t),
            Bind::Number(n) => query.bind(n),
        };
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(case_from_row)
        .collect()
}
