//! The executor's tables: `cases`, `case_steps`, `case_events`. One function per query; the
//! transitions that combine them live in [`super::runner`].

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use kit::store::Dialect;

use super::{Phase, Plan};

/// Case states as stored.
pub mod case_state {
    pub const RUNNING: &str = "running";
    pub const PARKED: &str = "parked";
    pub const COMPENSATING: &str = "compensating";
    pub const COMPLETED: &str = "completed";
    pub const COMPENSATED: &str = "compensated";
    pub const CANCELLED: &str = "cancelled";

    pub fn is_final(state: &str) -> bool {
        matches!(state, COMPLETED | COMPENSATED | CANCELLED)
    }
}

/// Step states as stored.
pub mod step_state {
    pub const BLOCKED: &str = "blocked";
    pub const READY: &str = "ready";
    pub const RUNNING: &str = "running";
    pub const SUCCEEDED: &str = "succeeded";
    pub const FAILED: &str = "failed";
    pub const COMPENSATED: &str = "compensated";
    pub const SKIPPED: &str = "skipped";
    pub const CANCELLED: &str = "cancelled";
}

/// A case to create.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub id: String,
    pub kind: &'static str,
    pub dedupe_key: String,
    pub region: String,
    pub applicant: String,
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

fn step_id(case_id: &str, step: &str) -> String {
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
            event_seq, created_at_ms, updated_at_ms)
         VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '', $13, $14, 0, $15, $15)
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
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    for (position, def) in plan.steps.iter().enumerate() {
        let ready = def.depends_on.is_empty();
        let deadline_ms = def.deadline.as_millis() as i64;
        sqlx::query(
            "INSERT INTO case_steps (id, case_id, step, position, state, phase, compensable, pending_deps, attempts,
                max_attempts, next_run_at_ms, deadline_ms, deadline_at_ms, lease_token, lease_until_ms, leased_by,
                output, summary, last_error, done_seq, started_at_ms, finished_at_ms)
             VALUES ($1, $2, $3, $4, $5, 'do', $6, $7, 0, $8, $9, $10, $11, 0, NULL, '', 'null', '', '', NULL, NULL, NULL)",
        )
        .bind(step_id(&new.id, def.name))
        .bind(&new.id)
        .bind(def.name)
        .bind(position as i64)
        .bind(if ready { step_state::READY } else { step_state::BLOCKED })
        .bind(i64::from(def.compensable))
        .bind(def.depends_on.len() as i64)
        .bind(i64::from(def.retry.max_attempts))
        .bind(now)
        .bind(deadline_ms)
        .bind(if ready { Some(now + deadline_ms) } else { None })
        .execute(&mut *conn)
        .await?;
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

/// Takes up to `limit` due steps: ready ones whose time has come, and running ones whose
/// lease expired (their executor died or stalled). Each claim increments the attempt count and
/// the fencing token. Steps of a parked case still run when they do not depend on the failed
/// step (the family gets every independent result); the failed step's dependants wait for the
/// operator.
pub async fn claim(
    conn: &mut AnyConnection,
    dialect: Dialect,
    now: i64,
    lease_ms: i64,
    worker: &str,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let lock = match dialect {
        // Replicas skip each other's rows instead of queueing behind them.
        Dialect::Postgres => "FOR UPDATE OF s SKIP LOCKED",
        // One writer: the caller holds BEGIN IMMEDIATE.
        Dialect::Sqlite => "",
    };
    let sql = format!(
        "UPDATE case_steps SET state = 'running', attempts = attempts + 1, lease_token = lease_token + 1,
            lease_until_ms = $1 + $2, leased_by = $3, started_at_ms = $1
         WHERE id IN (
            SELECT s.id FROM case_steps s JOIN cases c ON c.id = s.case_id
            WHERE c.state IN ('running', 'compensating', 'parked')
              AND ((s.state = 'ready' AND s.next_run_at_ms <= $1) OR (s.state = 'running' AND s.lease_until_ms < $1))
            ORDER BY s.next_run_at_ms, s.id
            LIMIT $4 {lock})
         RETURNING id, case_id, step, phase, attempts, max_attempts, lease_token, deadline_at_ms"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(lease_ms)
        .bind(worker)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let mut claimed = rows
        .iter()
        .map(|r| {
            Ok(Claimed {
                id: r.try_get("id")?,
                case_id: r.try_get("case_id")?,
                step: r.try_get("step")?,
                phase: Phase::parse(&r.try_get::<String, _>("phase")?),
                attempts: r.try_get("attempts")?,
                max_attempts: r.try_get("max_attempts")?,
                lease_token: r.try_get("lease_token")?,
                deadline_at_ms: r.try_get("deadline_at_ms")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // Case rows are locked in one order by every transaction (no deadlock between claimers).
    claimed.sort_by(|a, b| (&a.case_id, &a.step).cmp(&(&b.case_id, &b.step)));
    Ok(claimed)
}

/// Extends a lease; false when the token is no longer current.
pub async fn heartbeat(
    conn: &mut AnyConnection,
    claimed: &Claimed,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query("UPDATE case_steps SET lease_until_ms = $3 WHERE id = $1 AND lease_token = $2 AND state = 'running'")
        .bind(&claimed.id)
        .bind(claimed.lease_token)
        .bind(until)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Fenced update of a claimed step to its next state; false when another executor holds it.
#[allow(clippy::too_many_arguments)]
pub async fn settle(
    conn: &mut AnyConnection,
    claimed: &Claimed,
    state: &str,
    next_run_at_ms: i64,
    output: Option<&serde_json::Value>,
    summary: Option<&str>,
    last_error: &str,
    reset_attempts: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let finished = matches!(
        state,
        step_state::SUCCEEDED | step_state::FAILED | step_state::COMPENSATED
    );
    let n = sqlx::query(
        "UPDATE case_steps SET state = $3, next_run_at_ms = $4,
            output = COALESCE($5, output), summary = COALESCE($6, summary), last_error = $7,
            attempts = CASE WHEN $8 = 1 THEN 0 ELSE attempts END,
            lease_until_ms = NULL, leased_by = '', finished_at_ms = CASE WHEN $9 = 1 THEN $10 ELSE finished_at_ms END
         WHERE id = $1 AND lease_token = $2 AND state = 'running'",
    )
    .bind(&claimed.id)
    .bind(claimed.lease_token)
    .bind(state)
    .bind(next_run_at_ms)
    .bind(output.map(|o| o.to_string()))
    .bind(summary)
    .bind(last_error)
    .bind(i64::from(reset_attempts))
    .bind(i64::from(finished))
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Records the completion order of a step (compensation runs in reverse of it).
pub async fn set_done_seq(
    conn: &mut AnyConnection,
    case_id: &str,
    step: &str,
    seq: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE case_steps SET done_seq = $3 WHERE case_id = $1 AND step = $2")
        .bind(case_id)
        .bind(step)
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Decrements the pending dependencies of `dependants` and readies those with none left.
/// Returns the steps that became ready.
pub async fn release(
    conn: &mut AnyConnection,
    case_id: &str,
    dependants: &[&str],
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    for d in dependants {
        sqlx::query("UPDATE case_steps SET pending_deps = pending_deps - 1 WHERE case_id = $1 AND step = $2")
            .bind(case_id)
            .bind(*d)
            .execute(&mut *conn)
            .await?;
    }
    let rows = sqlx::query(
        "UPDATE case_steps SET state = 'ready', next_run_at_ms = $2, deadline_at_ms = $2 + deadline_ms
         WHERE case_id = $1 AND state = 'blocked' AND pending_deps <= 0 RETURNING step",
    )
    .bind(case_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get("step")).collect()
}

/// Sets a case's state, and its reason unless `reason` is None.
pub async fn set_case_state(
    conn: &mut AnyConnection,
    case_id: &str,
    state: &str,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cases SET state = $2, reason = COALESCE($3, reason) WHERE id = $1")
        .bind(case_id)
        .bind(state)
        .bind(reason)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Number of steps of the case in any of `states`.
pub async fn count_steps(
    conn: &mut AnyConnection,
    case_id: &str,
    states: &[&str],
) -> Result<i64, sqlx::Error> {
    let list = states
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql =
        format!("SELECT COUNT(*) AS n FROM case_steps WHERE case_id = $1 AND state IN ({list})");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_one(&mut *conn)
        .await?;
    row.try_get("n")
}

/// Steps of a case in a state.
pub async fn steps_in_state(
    conn: &mut AnyConnection,
    case_id: &str,
    state: &str,
) -> Result<Vec<(String, Phase)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT step, phase FROM case_steps WHERE case_id = $1 AND state = $2 ORDER BY position",
    )
    .bind(case_id)
    .bind(state)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("step")?,
                Phase::parse(&r.try_get::<String, _>("phase")?),
            ))
        })
        .collect()
}

/// Whether an undo is scheduled or any step is in flight (compensation runs one step at a time).
pub async fn compensation_busy(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM case_steps WHERE case_id = $1 AND (state = 'running' OR (state = 'ready' AND phase = 'undo'))",
    )
    .bind(case_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// A step's state and phase.
pub async fn step_status(
    conn: &mut AnyConnection,
    case_id: &str,
    step: &str,
) -> Result<Option<(String, Phase)>, sqlx::Error> {
    let row = sqlx::query("SELECT state, phase FROM case_steps WHERE case_id = $1 AND step = $2")
        .bind(case_id)
        .bind(step)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok((
            r.try_get("state")?,
            Phase::parse(&r.try_get::<String, _>("phase")?),
        ))
    })
    .transpose()
}

/// A case's kind, state and reason.
pub async fn case_head(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Option<(String, String, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT kind, state, reason FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok((
            r.try_get("kind")?,
            r.try_get("state")?,
            r.try_get("reason")?,
        ))
    })
    .transpose()
}

/// The last-completed step that can be undone and was not yet.
pub async fn last_compensable(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT step FROM case_steps WHERE case_id = $1 AND state = 'succeeded' AND compensable = 1
         ORDER BY done_seq DESC LIMIT 1",
    )
    .bind(case_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| r.try_get("step")).transpose()
}

/// Makes a step runnable now with fresh attempts, in `phase`.
pub async fn reset_step(
    conn: &mut AnyConnection,
    case_id: &str,
    step: &str,
    phase: Phase,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE case_steps SET state = 'ready', phase = $3, attempts = 0, next_run_at_ms = $4,
            deadline_at_ms = $4 + deadline_ms, last_error = '', finished_at_ms = NULL
         WHERE case_id = $1 AND step = $2",
    )
    .bind(case_id)
    .bind(step)
    .bind(phase.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets steps of a case from one state to another (fencing running ones out).
pub async fn move_steps(
    conn: &mut AnyConnection,
    case_id: &str,
    from: &[&str],
    to: &str,
) -> Result<u64, sqlx::Error> {
    let list = from
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE case_steps SET state = $2, lease_token = lease_token + 1, lease_until_ms = NULL
         WHERE case_id = $1 AND state IN ({list})"
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .bind(to)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Marks one step skipped (completed by hand).
pub async fn skip_step(
    conn: &mut AnyConnection,
    case_id: &str,
    step: &str,
    note: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE case_steps SET state = 'skipped', summary = $3, finished_at_ms = $4
         WHERE case_id = $1 AND step = $2 AND state = 'failed' AND phase = 'do'",
    )
    .bind(case_id)
    .bind(step)
    .bind(note)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
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

/// Sets the applicant of a case started without application (a family member joins it).
pub async fn adopt(
    conn: &mut AnyConnection,
    case_id: &str,
    applicant: &str,
    declarant_sealed: &str,
    declarant_index: &str,
    relationship: &str,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE cases SET applicant = $2, declarant_sealed = $3, declarant_index = $4, declarant_relationship = $5
         WHERE id = $1 AND applicant = ''",
    )
    .bind(case_id)
    .bind(applicant)
    .bind(declarant_sealed)
    .bind(declarant_index)
    .bind(relationship)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

const CASE_COLUMNS: &str = "id, kind, state, region, applicant, declarant_sealed, declarant_index, declarant_relationship,
    subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms";

fn case_from_row(r: &AnyRow) -> Result<CaseRecord, sqlx::Error> {
    Ok(CaseRecord {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        state: r.try_get("state")?,
        region: r.try_get("region")?,
        applicant: r.try_get("applicant")?,
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
