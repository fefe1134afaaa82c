//! The executor: claims due steps, runs them with a deadline and a heartbeat, and records each
//! result in one fenced transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use rand::Rng;
use sqlx::AnyConnection;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use contracts::civil::onematter::v1 as pb;
use kit::store::Db;

use super::store::{self, CaseEvent, CaseRecord, Claimed, NewCase, case_state, step_state};
use super::{
    Clock, Engine, EngineError, OnFailure, Phase, Registry, StepCall, StepError, StepOutcome,
    idempotency_key,
};

/// Tuning of one executor (one per process; replicas each run one).
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Names the lease holder in `case_steps.leased_by` (host and process).
    pub worker_id: String,
    /// Steps claimed per transaction.
    pub batch: i64,
    /// How long a claim holds a step before another executor may take it over.
    pub lease: Duration,
    /// How often a running step's lease is extended (well under `lease`).
    pub heartbeat: Duration,
    /// Pause between claims when nothing was due.
    pub poll: Duration,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            worker_id: format!(
                "onematter-{}-{}",
                std::process::id(),
                uuid::Uuid::now_v7().simple()
            ),
            batch: 16,
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(15),
            poll: Duration::from_millis(200),
        }
    }
}

/// The result of one attempt, before it is recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Outcome(StepOutcome),
    Failed(StepError),
    /// Not run: attempts or deadline used up (e.g. by crashes), or the plan is gone.
    Exhausted(String),
}

/// What recording an attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    Succeeded,
    Pending,
    RetryScheduled {
        at_ms: i64,
    },
    /// Failed for good; the case is parked or compensating (or already was).
    Failed,
    /// Another executor holds the step now (lease expired, case cancelled): result discarded.
    Stale,
}

/// The durable executor over the aggregator's store.
#[derive(Clone)]
pub struct Executor {
    db: Db,
    clock: Arc<dyn Clock>,
    registry: Registry,
    sealer: kit::pii::Sealer,
    config: ExecutorConfig,
}

impl Executor {
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        registry: Registry,
        sealer: kit::pii::Sealer,
        config: ExecutorConfig,
    ) -> Self {
        Self {
            db,
            clock,
            registry,
            sealer,
            config,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn sealer(&self) -> &kit::pii::Sealer {
        &self.sealer
    }

    /// Seals a matter's protobuf bytes for `NewCase::input_sealed`.
    pub fn seal_input(&self, bytes: &[u8]) -> String {
        use base64::Engine as _;
        self.sealer
            .seal(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    fn open_input(&self, sealed: &str) -> Vec<u8> {
        use base64::Engine as _;
        self.sealer
            .open(sealed)
            .ok()
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .unwrap_or_default()
    }

    /// Records a new case and its steps inside the caller's transaction. Returns false when a
    /// case with the same dedupe key exists (nothing is written).
    pub async fn create_case(
        &self,
        conn: &mut AnyConnection,
        new: &NewCase,
    ) -> Result<bool, EngineError> {
        let workflow = self
            .registry
            .get(new.kind)
            .ok_or_else(|| EngineError::Refused {
                reason: "ONEMATTER_UNKNOWN_MATTER",
                message: format!("no workflow {}", new.kind),
            })?;
        let now = self.clock.now_ms(conn).await?;
        Ok(store::insert_case(conn, workflow.plan(), new, now).await?)
    }

    /// Claims up to `batch` due steps in one short transaction.
    pub async fn claim(&self) -> Result<Vec<Claimed>, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let now = self.clock.now_ms(&mut tx).await?;
        let lease_ms = self.config.lease.as_millis() as i64;
        let claimed = store::claim(
            &mut tx,
            self.db.dialect,
            now,
            lease_ms,
            &self.config.worker_id,
            self.config.batch,
        )
        .await?;
        for c in &claimed {
            let kind = if c.phase == Phase::Undo {
                "compensation_started"
            } else {
                "step_started"
            };
            store::append_event(
                &mut tx,
                &c.case_id,
                kind,
                &c.step,
                &format!("attempt {}", c.attempts),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Runs one claimed attempt (without recording it): under the case's trace, with the
    /// step's attempt timeout, extending the lease while it runs.
    pub async fn execute(&self, claimed: &Claimed) -> Attempt {
        match self.prepare(claimed).await {
            Ok(Ok((call, timeout, traceparent))) => {
                let span = tracing::info_span!(
                    "onematter.step",
                    otel.name = %format!("onematter.step {}", claimed.step),
                    case_id = %claimed.case_id,
                    step = %claimed.step,
                    phase = claimed.phase.as_str(),
                    attempt = claimed.attempts,
                );
                kit::telemetry::set_parent_from_traceparent(&span, &traceparent);
                let Some(workflow) = self.registry.get(&call.kind).cloned() else {
                    return Attempt::Exhausted(
                        "the case's workflow is not known to this executor".into(),
                    );
                };
                let run = async move {
                    match tokio::time::timeout(timeout, workflow.run(call)).await {
                        Ok(Ok(outcome)) => Attempt::Outcome(outcome),
                        Ok(Err(e)) => Attempt::Failed(e),
                        Err(_) => Attempt::Failed(StepError::new(
                            tonic::Code::DeadlineExceeded,
                            format!("attempt took longer than {timeout:?}"),
                        )),
                    }
                }
                .instrument(span);
                tokio::select! {
                    attempt = run => attempt,
                    never = self.keep_lease(claimed) => match never {},
                }
            }
            Ok(Err(reason)) => Attempt::Exhausted(reason),
            Err(e) => Attempt::Failed(StepError::new(
                tonic::Code::Unavailable,
                format!("store: {e}"),
            )),
        }
    }

    /// Loads what the step needs; `Ok(Err(reason))` when it must not run at all.
    async fn prepare(
        &self,
        claimed: &Claimed,
    ) -> Result<Result<(StepCall, Duration, String), String>, sqlx::Error> {
        let mut conn = self.db.pool.acquire().await?;
        let now = self.clock.now_ms(&mut conn).await?;
        let Some(case) = store::load_case(&mut conn, &claimed.case_id).await? else {
            return Ok(Err("the case no longer exists".into()));
        };
        drop(conn);
        if claimed.attempts > claimed.max_attempts {
            return Ok(Err(format!(
                "attempts exhausted ({} claims for {} allowed): earlier attempts never reported back (executor crash or lease expiry)",
                claimed.attempts, claimed.max_attempts
            )));
        }
        if claimed
            .deadline_at_ms
            .is_some_and(|deadline| now >= deadline)
        {
            return Ok(Err("the step's deadline passed".into()));
        }
        let Some(def) = self
            .registry
            .get(&case.kind)
            .and_then(|w| w.plan().step(&claimed.step))
        else {
            return Ok(Err("the step is not in the case's plan".into()));
        };
        let outputs: HashMap<String, serde_json::Value> = case
            .steps
            .iter()
            // Outputs are written only on success; a step being undone sees its own.
            .filter(|s| !s.output.is_null())
            .map(|s| (s.step.clone(), s.output.clone()))
            .collect();
        let call = StepCall {
            case_id: case.id.clone(),
            kind: case.kind.clone(),
            region: case.region.clone(),
            on_behalf_of: case.applicant.clone(),
            input: self.open_input(&case.input_sealed),
            facts: case.facts.clone(),
            outputs,
            step: claimed.step.clone(),
            phase: claimed.phase,
            attempt: claimed.attempts as u32,
            key: idempotency_key(&case.id, &claimed.step, claimed.phase),
        };
        Ok(Ok((call, def.attempt_timeout, case.traceparent)))
    }

    /// Extends the lease every heartbeat; once the lease is lost it stops (the result will be
    /// discarded when recorded). Never returns.
    async fn keep_lease(&self, claimed: &Claimed) -> std::convert::Infallible {
        let mut lost = false;
        loop {
            tokio::time::sleep(self.config.heartbeat).await;
            if lost {
                continue;
            }
            let extended = async {
                let mut conn = self.db.pool.acquire().await?;
                let now = self.clock.now_ms(&mut conn).await?;
                store::heartbeat(
                    &mut conn,
                    claimed,
                    now + self.config.lease.as_millis() as i64,
                )
                .await
            }
            .await;
            match extended {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(case_id = %claimed.case_id, step = %claimed.step, "lease lost; the result of this attempt will be discarded");
                    lost = true;
                }
                Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
            }
        }
    }

    /// Records an attempt in one transaction: the step's new state and output, released
    /// dependants, the case's state, and the case updates. Fenced by the lease token.
    pub async fn record(
        &self,
        claimed: &Claimed,
        attempt: Attempt,
        elapsed: Duration,
    ) -> Result<Recorded, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let now = self.clock.now_ms(&mut tx).await?;
        let Some((kind, _, _)) = store::case_head(&mut tx, &claimed.case_id).await? else {
            return Ok(Recorded::Stale);
        };
        let Some(workflow) = self.registry.get(&kind).cloned() else {
            return Ok(Recorded::Stale);
        };
        let plan = workflow.plan();
        let outcome_label;
        let recorded = match attempt {
            Attempt::Outcome(StepOutcome::Done { summary, output }) => {
                outcome_label = "ok";
                let new_state = if claimed.phase == Phase::Do {
                    step_state::SUCCEEDED
                } else {
                    step_state::COMPENSATED
                };
                if !store::settle(
                    &mut tx,
                    claimed,
                    new_state,
                    now,
                    Some(&output),
                    Some(&summary),
                    "",
                    false,
                    now,
                )
                .await?
                {
                    return self.discard(tx, claimed).await;
                }
                let event = if claimed.phase == Phase::Do {
                    "step_succeeded"
                } else {
                    "step_compensated"
                };
                let seq = store::append_event(
                    &mut tx,
                    &claimed.case_id,
                    event,
                    &claimed.step,
                    &summary,
                    now,
                )
                .await?;
                let (_, state, _) = store::case_head(&mut tx, &claimed.case_id)
                    .await?
                    .unwrap_or_default();
                if claimed.phase == Phase::Do {
                    store::set_done_seq(&mut tx, &claimed.case_id, &claimed.step, seq).await?;
                    if state == case_state::COMPENSATING {
                        self.advance_compensation(&mut tx, &claimed.case_id, now)
                            .await?;
                    } else {
                        store::release(
                            &mut tx,
                            &claimed.case_id,
                            &plan.dependants(&claimed.step),
                            now,
                        )
                        .await?;
                        if state == case_state::RUNNING {
                            self.complete_if_done(&mut tx, &claimed.case_id, now)
                                .await?;
                        }
                    }
                } else {
                    self.advance_compensation(&mut tx, &claimed.case_id, now)
                        .await?;
                }
                Recorded::Succeeded
            }
            Attempt::Outcome(StepOutcome::Pending {
                summary,
                recheck_after,
            }) => {
                outcome_label = "pending";
                let at = now + recheck_after.as_millis() as i64;
                if !store::settle(
                    &mut tx,
                    claimed,
                    step_state::READY,
                    at,
                    None,
                    Some(&summary),
                    "",
                    true,
                    now,
                )
                .await?
                {
                    return self.discard(tx, claimed).await;
                }
                store::append_event(
                    &mut tx,
                    &claimed.case_id,
                    "step_waiting",
                    &claimed.step,
                    &summary,
                    now,
                )
                .await?;
                Recorded::Pending
            }
            Attempt::Failed(error) => {
                let def = plan.step(&claimed.step);
                let attempt_no = claimed.attempts.max(1) as u32;
                let backoff = def
                    .map(|d| {
                        d.retry
                            .backoff(attempt_no, rand::thread_rng().r#gen::<f64>())
                    })
                    .unwrap_or_default();
                let retry_at = now + backoff.as_millis() as i64;
                let within_deadline = claimed.deadline_at_ms.is_none_or(|d| retry_at < d);
                if error.retryable() && claimed.attempts < claimed.max_attempts && within_deadline {
                    outcome_label = "retry";
                    if !store::settle(
                        &mut tx,
                        claimed,
                        step_state::READY,
                        retry_at,
                        None,
                        None,
                        &error.describe(),
                        false,
                        now,
                    )
                    .await?
                    {
                        return self.discard(tx, claimed).await;
                    }
                    let message = format!(
                        "attempt {} failed ({}); next in {} ms",
                        claimed.attempts,
                        error.describe(),
                        backoff.as_millis()
                    );
                    store::append_event(
                        &mut tx,
                        &claimed.case_id,
                        "step_retry",
                        &claimed.step,
                        &message,
                        now,
                    )
                    .await?;
                    metrics::counter!("civil_onematter_step_retries_total", "workflow" => plan.kind, "step" => claimed.step.clone()).increment(1);
                    Recorded::RetryScheduled { at_ms: retry_at }
                } else {
                    outcome_label = "failed";
                    let why = if !error.retryable() {
                        error.describe()
                    } else if !within_deadline {
                        format!(
                            "{} (the next attempt would pass the step's deadline)",
                            error.describe()
                        )
                    } else {
                        format!("{} (after {} attempts)", error.describe(), claimed.attempts)
                    };
                    if !self
                        .fail(&mut tx, plan.on_failure, claimed, &why, now)
                        .await?
                    {
                        return self.discard(tx, claimed).await;
                    }
                    Recorded::Failed
                }
            }
            Attempt::Exhausted(why) => {
                outcome_label = "exhausted";
                if !self
                    .fail(&mut tx, plan.on_failure, claimed, &why, now)
                    .await?
                {
                    return self.discard(tx, claimed).await;
                }
                Recorded::Failed
            }
        };
        tx.commit().await?;
        metrics::histogram!(
            "civil_onematter_step_duration_seconds",
            "workflow" => plan.kind, "step" => claimed.step.clone(), "outcome" => outcome_label
        )
        .record(elapsed.as_secs_f64());
        Ok(recorded)
    }

    async fn discard(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Any>,
        claimed: &Claimed,
    ) -> Result<Recorded, sqlx::Error> {
        tx.rollback().await?;
        tracing::warn!(case_id = %claimed.case_id, step = %claimed.step, token = claimed.lease_token, "stale lease: result discarded");
        metrics::counter!("civil_onematter_stale_results_total").increment(1);
        Ok(Recorded::Stale)
    }

    /// Marks the step failed and applies the plan's failure policy. False when fenced out.
    async fn fail(
        &self,
        conn: &mut AnyConnection,
        policy: OnFailure,
        claimed: &Claimed,
        why: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        if !store::settle(
            conn,
            claimed,
            step_state::FAILED,
            now,
            None,
            None,
            why,
            false,
            now,
        )
        .await?
        {
            return Ok(false);
        }
        store::append_event(
            conn,
            &claimed.case_id,
            "step_failed",
            &claimed.step,
            why,
            now,
        )
        .await?;
        let (_, state, _) = store::case_head(conn, &claimed.case_id)
            .await?
            .unwrap_or_default();
        if claimed.phase == Phase::Undo {
            let reason = format!("compensation of step {} failed: {why}", claimed.step);
            store::set_case_state(conn, &claimed.case_id, case_state::PARKED, Some(&reason))
                .await?;
            store::append_event(
                conn,
                &claimed.case_id,
                "case_parked",
                &claimed.step,
                &reason,
                now,
            )
            .await?;
        } else if state == case_state::COMPENSATING {
            self.advance_compensation(conn, &claimed.case_id, now)
                .await?;
        } else if state == case_state::RUNNING {
            let reason = format!("step {} failed: {why}", claimed.step);
            match policy {
                OnFailure::Park => {
                    store::set_case_state(
                        conn,
                        &claimed.case_id,
                        case_state::PARKED,
                        Some(&reason),
                    )
                    .await?;
                    store::append_event(
                        conn,
                        &claimed.case_id,
                        "case_parked",
                        &claimed.step,
                        &reason,
                        now,
                    )
                    .await?;
                }
                OnFailure::Compensate => {
                    store::set_case_state(
                        conn,
                        &claimed.case_id,
                        case_state::COMPENSATING,
                        Some(&reason),
                    )
                    .await?;
                    store::move_steps(
                        conn,
                        &claimed.case_id,
                        &[step_state::BLOCKED, step_state::READY],
                        step_state::CANCELLED,
                    )
                    .await?;
                    store::append_event(
                        conn,
                        &claimed.case_id,
                        "case_compensating",
                        &claimed.step,
                        &reason,
                        now,
                    )
                    .await?;
                    self.advance_compensation(conn, &claimed.case_id, now)
                        .await?;
                }
            }
        }
        Ok(true)
    }

    /// Schedules the undo of the last completed compensable step, one at a time, once nothing
    /// is in flight; with none left the case is compensated.
    async fn advance_compensation(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        if store::compensation_busy(conn, case_id).await? {
            return Ok(());
        }
        match store::last_compensable(conn, case_id).await? {
            Some(step) => store::reset_step(conn, case_id, &step, Phase::Undo, now).await,
            None => {
                self.finish(conn, case_id, case_state::COMPENSATED, now)
                    .await
            }
        }
    }

    async fn complete_if_done(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let open = store::count_steps(
            conn,
            case_id,
            &[
                step_state::BLOCKED,
                step_state::READY,
                step_state::RUNNING,
                step_state::FAILED,
            ],
        )
        .await?;
        if open == 0 {
            self.finish(conn, case_id, case_state::COMPLETED, now)
                .await?;
        }
        Ok(())
    }

    /// Moves a case to a final state, writes its last update and the CaseFinished event.
    async fn finish(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        state: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        store::set_case_state(conn, case_id, state, None).await?;
        store::append_event(conn, case_id, &format!("case_{state}"), "", "", now).await?;
        let Some(case) = store::load_case(conn, case_id).await? else {
            return Ok(());
        };
        let event = pb::CaseFinished {
            r#case: format!("cases/{case_id}"),
            kind: pb::MatterKind::from_str_name(&format!(
                "MATTER_KIND_{}",
                case.kind.to_ascii_uppercase()
            ))
            .unwrap_or_default() as i32,
            state: to_pb_state(state) as i32,
            region: case.region,
            reason: case.reason,
        };
        kit::outbox::append(
            conn,
            "onematter.case_finished",
            "civil.onematter.v1.CaseFinished",
            case_id,
            &event,
        )
        .await?;
        Ok(())
    }

    /// Claims and runs one batch, steps of the batch concurrently; returns how many ran.
    pub async fn tick(&self) -> Result<usize, sqlx::Error> {
        let claimed = self.claim().await?;
        let n = claimed.len();
        let runs = claimed.into_iter().map(|c| async move {
            let started = Instant::now();
            let attempt = self.execute(&c).await;
            if let Err(e) = self.record(&c, attempt, started.elapsed()).await {
                // The lease runs out and another claim retries the step under the same key.
                tracing::warn!(error = %e, case_id = %c.case_id, step = %c.step, "recording a step failed");
            }
        });
        futures::future::join_all(runs).await;
        Ok(n)
    }

    /// Runs until `shutdown`: claim, run, record; refreshes the case gauge.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut last_gauge = Instant::now() - Duration::from_secs(60);
        loop {
            let ran = match self.tick().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "executor pass failed");
                    0
                }
            };
            if last_gauge.elapsed() >= Duration::from_secs(5) {
                last_gauge = Instant::now();
                self.refresh_gauge().await;
            }
            let pause = if ran as i64 >= self.config.batch {
                Duration::ZERO
            } else {
                self.config.poll
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Sets `civil_onematter_cases{state}` from the store (every replica reports the same).
    pub async fn refresh_gauge(&self) {
        let Ok(mut conn) = self.db.pool.acquire().await else {
            return;
        };
        if let Ok(counts) = store::count_by_state(&mut conn).await {
            for state in [
                case_state::RUNNING,
                case_state::PARKED,
                case_state::COMPENSATING,
                case_state::COMPLETED,
                case_state::COMPENSATED,
                case_state::CANCELLED,
            ] {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == state)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                metrics::gauge!("civil_onematter_cases", "state" => state).set(n as f64);
            }
        }
    }

    async fn retry_step_in(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        step: &str,
        actor: &str,
    ) -> Result<(), EngineError> {
        let now = self.clock.now_ms(conn).await?;
        let (_, state, _) = store::case_head(conn, case_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        if case_state::is_final(&state) {
            return Err(refused(
                "ONEMATTER_CASE_FINISHED",
                format!("the case is {state}"),
            ));
        }
        let (step_now, phase) = store::step_status(conn, case_id, step)
            .await?
            .ok_or(EngineError::NotFound)?;
        if step_now != step_state::FAILED && step_now != step_state::READY {
            return Err(refused(
                "ONEMATTER_STEP_NOT_RETRYABLE",
                format!("the step is {step_now}"),
            ));
        }
        store::reset_step(conn, case_id, step, phase, now).await?;
        if state == case_state::PARKED
            && store::count_steps(conn, case_id, &[step_state::FAILED]).await? == 0
        {
            let next = if phase == Phase::Undo {
                case_state::COMPENSATING
            } else {
                case_state::RUNNING
            };
            store::set_case_state(conn, case_id, next, Some("")).await?;
        }
        store::append_event(
            conn,
            case_id,
            "step_retry_requested",
            step,
            &format!("by {actor}"),
            now,
        )
        .await?;
        Ok(())
    }

    async fn resume_in(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        actor: &str,
        note: &str,
        by_hand: &[String],
    ) -> Result<(), EngineError> {
        let now = self.clock.now_ms(conn).await?;
        let (kind, state, _) = store::case_head(conn, case_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        if state != case_state::PARKED {
            return Err(refused(
                "ONEMATTER_CASE_NOT_PARKED",
                format!("the case is {state}"),
            ));
        }
        let failed = store::steps_in_state(conn, case_id, step_state::FAILED).await?;
        for name in by_hand {
            if !failed.iter().any(|(s, p)| s == name && *p == Phase::Do) {
                return Err(refused(
                    "ONEMATTER_STEP_NOT_RETRYABLE",
                    format!("step {name} has not failed"),
                ));
            }
        }
        let compensating = failed.iter().any(|(_, p)| *p == Phase::Undo);
        let next = if compensating {
            case_state::COMPENSATING
        } else {
            case_state::RUNNING
        };
        store::set_case_state(conn, case_id, next, Some("")).await?;
        let plan = self.registry.get(&kind).map(|w| w.plan());
        for (step, phase) in &failed {
            if by_hand.contains(step) {
                store::skip_step(
                    conn,
                    case_id,
                    step,
                    &format!("completed by hand: {note}"),
                    now,
                )
                .await?;
                let seq = store::append_event(
                    conn,
                    case_id,
                    "step_completed_by_hand",
                    step,
                    &format!("by {actor}"),
                    now,
                )
                .await?;
                store::set_done_seq(conn, case_id, step, seq).await?;
                if let Some(plan) = plan {
                    store::release(conn, case_id, &plan.dependants(step), now).await?;
                }
            } else {
                store::reset_step(conn, case_id, step, *phase, now).await?;
            }
        }
        store::append_event(
            conn,
            case_id,
            "case_resumed",
            "",
            &format!("by {actor}: {note}"),
            now,
        )
        .await?;
        if !compensating {
            self.complete_if_done(conn, case_id, now).await?;
        }
        Ok(())
    }

    async fn cancel_in(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        actor: &str,
        reason: &str,
    ) -> Result<(), EngineError> {
        let now = self.clock.now_ms(conn).await?;
        let (_, state, _) = store::case_head(conn, case_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        if case_state::is_final(&state) {
            return Err(refused(
                "ONEMATTER_CASE_FINISHED",
                format!("the case is {state}"),
            ));
        }
        store::move_steps(
            conn,
            case_id,
            &[step_state::BLOCKED, step_state::READY, step_state::RUNNING],
            step_state::CANCELLED,
        )
        .await?;
        store::set_case_state(
            conn,
            case_id,
            case_state::CANCELLED,
            Some(&format!("cancelled by {actor}: {reason}")),
        )
        .await?;
        self.finish(conn, case_id, case_state::CANCELLED, now)
            .await?;
        Ok(())
    }
}

fn refused(reason: &'static str, message: String) -> EngineError {
    EngineError::Refused { reason, message }
}

/// The proto state of a stored case state.
pub fn to_pb_state(state: &str) -> pb::CaseState {
    match state {
        case_state::RUNNING => pb::CaseState::Running,
        case_state::PARKED => pb::CaseState::Parked,
        case_state::COMPENSATING => pb::CaseState::Compensating,
        case_state::COMPLETED => pb::CaseState::Completed,
        case_state::COMPENSATED => pb::CaseState::Compensated,
        case_state::CANCELLED => pb::CaseState::Cancelled,
        _ => pb::CaseState::Unspecified,
    }
}

impl Engine for Executor {
    fn case(&self, case_id: &str) -> BoxFuture<'_, Result<Option<CaseRecord>, EngineError>> {
        let case_id = case_id.to_owned();
        Box::pin(async move {
            let mut conn = self.db.pool.acquire().await?;
            Ok(store::load_case(&mut conn, &case_id).await?)
        })
    }

    fn events_after(
        &self,
        case_id: &str,
        after_seq: i64,
    ) -> BoxFuture<'_, Result<Vec<CaseEvent>, EngineError>> {
        let case_id = case_id.to_owned();
        Box::pin(async move {
            let mut conn = self.db.pool.acquire().await?;
            Ok(store::events_after(&mut conn, &case_id, after_seq).await?)
        })
    }

    fn retry_step<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        case_id: &'a str,
        step: &'a str,
        actor: &'a str,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        Box::pin(self.retry_step_in(conn, case_id, step, actor))
    }

    fn resume<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        case_id: &'a str,
        actor: &'a str,
        note: &'a str,
        completed_by_hand: &'a [String],
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        Box::pin(self.resume_in(conn, case_id, actor, note, completed_by_hand))
    }

    fn cancel<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        case_id: &'a str,
        actor: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        Box::pin(self.cancel_in(conn, case_id, actor, reason))
    }
}
