//! Plan versions (which one new cases take) and forks (a case rerun from a step).

use sqlx::{AnyConnection, Row};

use super::{CaseRecord, StepState, step_id};
use crate::executor::Plan;

/// The highest published version of a kind's plan among `known` (the versions this build
/// runs); version 1 when none is published.
pub async fn current_version(
    conn: &mut AnyConnection,
    kind: &str,
    known: &[u32],
) -> Result<u32, sqlx::Error> {
    let rows = sqlx::query("SELECT version FROM plan_versions WHERE kind = $1")
        .bind(kind)
        .fetch_all(&mut *conn)
        .await?;
    let mut best = 1;
    for r in rows {
        let v: i64 = r.try_get("version")?;
        if let Ok(v) = u32::try_from(v)
            && known.contains(&v)
            && v > best
        {
            best = v;
        }
    }
    Ok(best)
}

/// A published version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub version: i64,
    pub published_at_ms: i64,
    pub published_by: String,
}

/// Publishes a version (new cases take it from now on); false when it already was.
pub async fn publish_version(
    conn: &mut AnyConnection,
    kind: &str,
    version: u32,
    by: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "INSERT INTO plan_versions (kind, version, published_at_ms, published_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (kind, version) DO NOTHING",
    )
    .bind(kind)
    .bind(i64::from(version))
    .bind(now)
    .bind(by)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The published versions of a kind, oldest first.
pub async fn published_versions(
    conn: &mut AnyConnection,
    kind: &str,
) -> Result<Vec<Published>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT version, published_at_ms, published_by FROM plan_versions WHERE kind = $1 ORDER BY version",
    )
    .bind(kind)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Published {
                version: r.try_get("version")?,
                published_at_ms: r.try_get("published_at_ms")?,
                published_by: r.try_get("published_by")?,
            })
        })
        .collect()
}

/// Ids of the cases forked from `case_id`, oldest first.
pub async fn forks_of(conn: &mut AnyConnection, case_id: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query("SELECT id FROM cases WHERE forked_from = $1 ORDER BY id")
        .bind(case_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// A fork to write: the original, the new id, the step it reruns from and, per step of the
/// plan, whether its recorded output is reused.
pub struct NewFork<'a> {
    pub original: &'a CaseRecord,
    pub id: &'a str,
    pub step: &'a str,
    pub plan: &'a Plan,
    /// The steps whose recorded output (and summary) the fork keeps.
    pub reused: &'a [String],
}

/// Inserts the forked case: the original's matter, people and facts; reused steps succeeded
/// with their recorded output, the others to run (ready when no dependency is left to run).
pub async fn insert_fork(
    conn: &mut AnyConnection,
    f: &NewFork<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let o = f.original;
    sqlx::query(
        "INSERT INTO cases (id, kind, state, dedupe_key, region, applicant, declarant_sealed, declarant_index,
            declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent,
            event_seq, created_at_ms, updated_at_ms, applicant_evidence, plan_version, forked_from, fork_step)
         SELECT $1, kind, 'running', $2, region, applicant, declarant_sealed, declarant_index,
            declarant_relationship, subject_sealed, subject_index, input_sealed, facts, '', origin, traceparent,
            0, $3, $3, applicant_evidence, plan_version, id, $4
         FROM cases WHERE id = $5",
    )
    .bind(f.id)
    .bind(format!("fork:{}", f.id))
    .bind(now)
    .bind(f.step)
    .bind(&o.id)
    .execute(&mut *conn)
    .await?;
    for (position, def) in f.plan.steps.iter().enumerate() {
        let recorded = o.steps.iter().find(|s| s.step == def.name);
        match recorded.filter(|_| f.reused.iter().any(|r| r == def.name)) {
            Some(s) => reuse_step(conn, f.id, position, def, s, now).await?,
            None => {
                let pending = def
                    .depends_on
                    .iter()
                    .filter(|d| !f.reused.iter().any(|r| r == *d))
                    .count();
                super::insert_step(conn, f.id, position, def, now).await?;
                fork_pending(conn, f.id, def.name, pending, now).await?;
            }
        }
    }
    Ok(())
}

/// A step of a fork that keeps the original's recorded output.
async fn reuse_step(
    conn: &mut AnyConnection,
    case_id: &str,
    position: usize,
    def: &crate::executor::StepDef,
    s: &super::StepRecord,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_steps (id, case_id, step, position, state, phase, compensable, pending_deps, attempts,
            max_attempts, next_run_at_ms, deadline_ms, deadline_at_ms, lease_token, lease_until_ms, leased_by,
            output, summary, last_error, done_seq, started_at_ms, finished_at_ms)
         VALUES ($1, $2, $3, $4, $5, 'do', $6, 0, 0, $7, $8, 0, NULL, 0, NULL, '', $9, $10, '', $11, $8, $8)",
    )
    .bind(step_id(case_id, def.name))
    .bind(case_id)
    .bind(def.name)
    .bind(i64::try_from(position).unwrap_or(i64::MAX))
    .bind(StepState::Succeeded.as_str())
    .bind(i64::from(def.compensable))
    .bind(i64::from(def.retry.max_attempts))
    .bind(now)
    .bind(s.output.to_string())
    .bind(format!("reused: {}", s.summary))
    .bind(i64::try_from(position).unwrap_or(0))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets how many dependencies a rerun step of a fork still waits for; ready at none.
async fn fork_pending(
    conn: &mut AnyConnection,
    case_id: &str,
    step: &str,
    pending: usize,
    now: i64,
) -> Result<(), sqlx::Error> {
    let ready = pending == 0;
    sqlx::query(
        "UPDATE case_steps SET pending_deps = $3, state = $4,
            deadline_at_ms = CASE WHEN $5 = 1 THEN $6 + deadline_ms ELSE NULL END
         WHERE case_id = $1 AND step = $2",
    )
    .bind(case_id)
    .bind(step)
    .bind(i64::try_from(pending).unwrap_or(i64::MAX))
    .bind(if ready {
        StepState::Ready.as_str()
    } else {
        StepState::Blocked.as_str()
    })
    .bind(i64::from(ready))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
