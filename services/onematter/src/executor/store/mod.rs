//! The executor's tables: `cases`, `case_steps`, `case_events`. One function per query; the
//! transitions that combine them live in [`super::record`] and [`super::operate`], decided by
//! [`super::decide`].

mod cases;
mod lineage;
mod requests;
mod retention;
mod steps;

use sqlx::AnyConnection;
#[allow(unused_imports)]
use sqlx::Row;

use super::{CaseState, Phase, Plan, StepState};

pub use cases::*;
pub use lineage::*;
pub use requests::*;
pub use retention::*;
pub use steps::*;

/// A case to create.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub id: String,
    pub kind: &'static str,
    pub dedupe_key: String,
    pub region: String,
    pub applicant: String,
    /// Why the applicant may act for the matter (`crate::family::Evidence` as stored).
    pub applicant_evidence: &'static str,
    pub declarant_sealed: String,
    pub declarant_index: String,
    pub declarant_relationship: String,
    pub subject_sealed: String,
    pub subject_index: String,
    pub input_sealed: String,
    pub facts: serde_json::Value,
    pub origin: String,
    pub traceparent: String,
}

/// A stored case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRecord {
    pub id: String,
    pub kind: String,
    pub state: String,
    pub region: String,
    pub applicant: String,
    pub applicant_evidence: String,
    pub declarant_sealed: String,
    pub declarant_index: String,
    pub declarant_relationship: String,
    pub subject_sealed: String,
    pub subject_index: String,
    pub input_sealed: String,
    pub facts: serde_json::Value,
    pub reason: String,
    pub origin: String,
    pub traceparent: String,
    pub event_seq: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The plan version the case started with (and keeps).
    pub plan_version: i64,
    /// The case this one was forked from, and the step it reran from ('' for an original).
    pub forked_from: String,
    pub fork_step: String,
    /// When the retention rule removed the case's personal data.
    pub purged_at_ms: Option<i64>,
    /// Cases forked from this one (filled by [`load_case`] only).
    pub forks: Vec<String>,
    pub steps: Vec<StepRecord>,
}

/// A stored step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub step: String,
    pub state: String,
    pub phase: Phase,
    pub attempts: i64,
    pub max_attempts: i64,
    pub next_run_at_ms: i64,
    pub lease_token: i64,
    pub summary: String,
    pub last_error: String,
    pub output: serde_json::Value,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
}

/// One line of a case's update log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseEvent {
    pub case_id: String,
    pub seq: i64,
    pub kind: String,
    pub step: String,
    pub message: String,
    pub case_state: String,
    pub at_ms: i64,
}

/// A step an executor holds a lease on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: String,
    pub case_id: String,
    pub step: String,
    pub phase: Phase,
    /// This attempt's number (counted by the claim).
    pub attempts: i64,
    pub max_attempts: i64,
    pub lease_token: i64,
    pub deadline_at_ms: Option<i64>,
}

pub(super) fn step_id(case_id: &str, step: &str) -> String {
    format!("{case_id}/{step}")
}

/// Inserts the case and its steps, unless a case with the same dedupe key exists.
/// Returns false (and writes nothing) in that case.
pub async fn insert_case(
    conn: &mut AnyConnection,
    plan: &Plan,
    new: &NewCase,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO cases (id, kind, state, dedupe_key, region, applicant, declarant_sealed, declarant_index,
            declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent,
            event_seq, created_at_ms, updated_at_ms, applicant_evidence, plan_version)
         VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '', $13, $14, 0, $15, $15, $16, $17)
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(&new.id)
    .bind(new.kind)
    .bind(&new.dedupe_key)
    .bind(&new.region)
    .bind(&new.applicant)
    .bind(&new.declarant_sealed)
    .bind(&new.declarant_index)
    .bind(&new.declarant_relationship)
    .bind(&new.subject_sealed)
    .bind(&new.subject_index)
    .bind(&new.input_sealed)
    .bind(new.facts.to_string())
    .bind(&new.origin)
    .bind(&new.traceparent)
    .bind(now)
    .bind(new.applicant_evidence)
    .bind(i64::from(plan.version))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    for (position, def) in plan.steps.iter().enumerate() {
        insert_step(conn, &new.id, position, def, now).await?;
    }
    append_event(
        conn,
        &new.id,
        "case_started",
        "",
        &format!("origin: {}", new.origin),
        now,
    )
    .await?;
    Ok(true)
}

/// One step of a new case: ready at once when it depends on nothing, blocked otherwise.
pub(super) async fn insert_step(
    conn: &mut AnyConnection,
    case_id: &str,
    position: usize,
    def: &super::StepDef,
    now: i64,
) -> Result<(), sqlx::Error> {
    let ready = def.depends_on.is_empty();
    let deadline_ms = i64::try_from(def.deadline.as_millis()).unwrap_or(i64::MAX);
    let state = if ready {
        StepState::Ready
    } else {
        StepState::Blocked
    };
    sqlx::query(
        "INSERT INTO case_steps (id, case_id, step, position, state, phase, compensable, pending_deps, attempts,
            max_attempts, next_run_at_ms, deadline_ms, deadline_at_ms, lease_token, lease_until_ms, leased_by,
            output, summary, last_error, done_seq, started_at_ms, finished_at_ms)
         VALUES ($1, $2, $3, $4, $5, 'do', $6, $7, 0, $8, $9, $10, $11, 0, NULL, '', 'null', '', '', NULL, NULL, NULL)",
    )
    .bind(step_id(case_id, def.name))
    .bind(case_id)
    .bind(def.name)
    .bind(i64::try_from(position).unwrap_or(i64::MAX))
    .bind(state.as_str())
    .bind(i64::from(def.compensable))
    .bind(i64::try_from(def.depends_on.len()).unwrap_or(i64::MAX))
    .bind(i64::from(def.retry.max_attempts))
    .bind(now)
    .bind(deadline_ms)
    .bind(ready.then(|| now.saturating_add(deadline_ms)))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The id of the case holding `dedupe_key`.
pub async fn find_by_dedupe_key(
    conn: &mut AnyConnection,
    dedupe_key: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT id FROM cases WHERE dedupe_key = $1")
        .bind(dedupe_key)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get("id")).transpose()
}

/// Appends a case update with the case's current state; returns its sequence number. The
/// case row is updated first, which serialises the writers of one case (PostgreSQL row lock).
pub async fn append_event(
    conn: &mut AnyConnection,
    case_id: &str,
    kind: &str,
    step: &str,
    message: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("UPDATE cases SET event_seq = event_seq + 1, updated_at_ms = $2 WHERE id = $1 RETURNING event_seq, state")
        .bind(case_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    let seq: i64 = row.try_get("event_seq")?;
    let state: String = row.try_get("state")?;
    sqlx::query("INSERT INTO case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(case_id)
        .bind(seq)
        .bind(kind)
        .bind(step)
        .bind(message)
        .bind(&state)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

fn unknown(what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("unknown {what} {value:?} in the store"))
}
