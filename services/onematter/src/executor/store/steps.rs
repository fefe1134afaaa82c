//! Queries on `case_steps`: claiming, leases, fenced settling, dependencies, compensation.

use sqlx::{AnyConnection, Row};

use kit::store::Dialect;

use super::{Claimed, Phase, StepState, unknown};

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
        .map(claimed_from_row)
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // Case rows are locked in one order by every transaction (no deadlock between claimers).
    claimed.sort_by(|a, b| (&a.case_id, &a.step).cmp(&(&b.case_id, &b.step)));
    Ok(claimed)
}

fn claimed_from_row(r: &sqlx::any::AnyRow) -> Result<Claimed, sqlx::Error> {
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

/// The next state of a claimed step, written under its lease token.
#[derive(Debug, Clone, Copy)]
pub struct Settle<'a> {
    pub state: StepState,
    pub next_run_at_ms: i64,
    /// Kept for later steps (only on success).
    pub output: Option<&'a serde_json::Value>,
    pub summary: Option<&'a str>,
    pub last_error: &'a str,
    /// A pending step starts its attempts again (waiting is not failing).
    pub reset_attempts: bool,
    pub now: i64,
}

/// Fenced update of a claimed step to its next state; false when another executor holds it.
pub async fn settle(
    conn: &mut AnyConnection,
    claimed: &Claimed,
    next: &Settle<'_>,
) -> Result<bool, sqlx::Error> {
    let finished = matches!(
        next.state,
        StepState::Succeeded | StepState::Failed | StepState::Compensated
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
    .bind(next.state.as_str())
    .bind(next.next_run_at_ms)
    .bind(next.output.map(|o| o.to_string()))
    .bind(next.summary)
    .bind(next.last_error)
    .bind(i64::from(next.reset_attempts))
    .bind(i64::from(finished))
    .bind(next.now)
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

/// Number of steps of the case in any of `states`.
pub async fn count_steps(
    conn: &mut AnyConnection,
    case_id: &str,
    states: &[StepState],
) -> Result<i64, sqlx::Error> {
    let list = states
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
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
    state: StepState,
) -> Result<Vec<(String, Phase)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT step, phase FROM case_steps WHERE case_id = $1 AND state = $2 ORDER BY position",
    )
    .bind(case_id)
    .bind(state.as_str())
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
) -> Result<Option<(StepState, Phase)>, sqlx::Error> {
    let row = sqlx::query("SELECT state, phase FROM case_steps WHERE case_id = $1 AND step = $2")
        .bind(case_id)
        .bind(step)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        let state: String = r.try_get("state")?;
        Ok((
            StepState::parse(&state).ok_or_else(|| unknown("step state", &state))?,
            Phase::parse(&r.try_get::<String, _>("phase")?),
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
    from: &[StepState],
    to: StepState,
) -> Result<u64, sqlx::Error> {
    let list = from
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE case_steps SET state = $2, lease_token = lease_token + 1, lease_until_ms = NULL
         WHERE case_id = $1 AND state IN ({list})"
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .bind(to.as_str())
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

/// What waking a step found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// It was waiting for a recheck and is due now.
    Woken,
    /// An attempt is running: it may have read the world before the event (look again later).
    Running,
    /// Blocked, done, or already due: its next attempt reads the world afresh.
    Nothing,
}

/// Makes a step that waits (ready, its recheck in the future) due now, e.g. when the event it
/// waits for arrived; attempts and deadline unchanged.
pub async fn wake_waiting(
    conn: &mut AnyConnection,
    case_id: &str,
    step: &str,
    now: i64,
) -> Result<Wake, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE case_steps SET next_run_at_ms = $3
         WHERE case_id = $1 AND step = $2 AND state = 'ready' AND phase = 'do' AND next_run_at_ms > $3",
    )
    .bind(case_id)
    .bind(step)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(Wake::Woken);
    }
    let running = sqlx::query(
        "SELECT 1 FROM case_steps WHERE case_id = $1 AND step = $2 AND state = 'running' AND phase = 'do'",
    )
    .bind(case_id)
    .bind(step)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(if running.is_some() {
        Wake::Running
    } else {
        Wake::Nothing
    })
}
