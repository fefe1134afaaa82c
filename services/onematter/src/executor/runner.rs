//! The executor: claims due steps, runs them with a deadline and a heartbeat, and records each
//! result in one fenced transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::AnyConnection;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use kit::store::Db;

use super::store::{self, CaseRecord, Claimed, NewCase};
use super::{
    Announce, CaseState, Clock, EngineError, Phase, Plan, Registry, StepCall, StepError,
    StepOutcome, idempotency_key,
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
    /// How often a WatchCase stream reads the store when no signal woke it (updates written by
    /// another replica).
    pub watch_poll: Duration,
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
            watch_poll: Duration::from_secs(5),
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
    signals: super::CaseSignals,
    announce: Option<Arc<dyn Announce>>,
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
            signals: super::CaseSignals::default(),
            announce: None,
        }
    }

    /// Wakes the WatchCase streams of a case after its updates were committed.
    pub fn signals(&self) -> &super::CaseSignals {
        &self.signals
    }

    /// WatchCase's fallback poll.
    pub fn watch_poll(&self) -> Duration {
        self.config.watch_poll
    }

    /// Announces finished cases through `announce` (e.g. the CaseFinished event).
    pub fn with_announcer(mut self, announce: Arc<dyn Announce>) -> Self {
        self.announce = Some(announce);
        self
    }

    pub(super) fn announcer(&self) -> Option<&Arc<dyn Announce>> {
        self.announce.as_ref()
    }

    /// One version of the plan of a workflow kind this executor knows.
    pub(super) fn plan_of(&self, kind: &str, version: i64) -> Option<&'static Plan> {
        self.registry.plan(kind, u32::try_from(version).ok()?)
    }

    /// The workflows this executor runs (every version of their plans).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Wakes `step` of `case_id` when it waits for a recheck (the event it waits for arrived).
    pub async fn wake(&self, case_id: &str, step: &str) -> Result<super::store::Wake, sqlx::Error> {
        let mut conn = self.db.pool.acquire().await?;
        let now = self.clock.now_ms(&mut conn).await?;
        super::store::wake_waiting(&mut conn, case_id, step, now).await
    }

    /// "Now" within the transaction about to use it.
    pub(super) async fn now(&self, conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
        self.clock.now_ms(conn).await
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
        let known: Vec<u32> = self
            .registry
            .versions(new.kind)
            .iter()
            .map(|p| p.version)
            .collect();
        let version = store::current_version(conn, new.kind, &known).await?;
        let plan = self
            .registry
            .plan(new.kind, version)
            .unwrap_or(workflow.plan());
        Ok(store::insert_case(conn, plan, new, now).await?)
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
        for c in &claimed {
            self.signals.notify(&c.case_id);
        }
        Ok(claimed)
    }

    /// Runs one claimed attempt (without recording it): under the case's trace, with the
    /// step's attempt timeout, extending the lease while it runs.
    pub async fn execute(&self, claimed: &Claimed) -> Attempt {
        let (call, timeout, traceparent) = match self.prepare(claimed).await {
            Ok(Ok(prepared)) => prepared,
            Ok(Err(reason)) => return Attempt::Exhausted(reason),
            Err(e) => {
                let error = StepError::new(tonic::Code::Unavailable, format!("store: {e}"));
                return Attempt::Failed(error);
            }
        };
        let Some(workflow) = self.registry.get(&call.kind).cloned() else {
            return Attempt::Exhausted("the case's workflow is not known to this executor".into());
        };
        let span = tracing::info_span!(
            "onematter.step",
            otel.name = %format!("onematter.step {}", claimed.step),
            case_id = %claimed.case_id,
            step = %claimed.step,
            phase = claimed.phase.as_str(),
            attempt = claimed.attempts,
        );
        kit::telemetry::set_parent_from_traceparent(&span, &traceparent);
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
        let answer = store::answer_of(&mut conn, &case.id, &claimed.step).await?;
        drop(conn);
        if let Some(reason) = must_not_run(claimed, now) {
            return Ok(Err(reason));
        }
        let plan = self.plan_of(&case.kind, case.plan_version);
        let Some(def) = plan.and_then(|p| p.step(&claimed.step)) else {
            return Ok(Err("the step is not in the case's plan".into()));
        };
        let timeout = def.attempt_timeout;
        let traceparent = case.traceparent.clone();
        let mut call = self.step_call(case, claimed);
        call.answer = answer.and_then(|sealed| self.sealer.open(&sealed).ok());
        Ok(Ok((call, timeout, traceparent)))
    }

    /// What the step sees of its case.
    fn step_call(&self, case: CaseRecord, claimed: &Claimed) -> StepCall {
        let outputs: HashMap<String, serde_json::Value> = case
            .steps
            .iter()
            // Outputs are written only on success; a step being undone sees its own.
            .filter(|s| !s.output.is_null())
            .map(|s| (s.step.clone(), s.output.clone()))
            .collect();
        StepCall {
            input: self.open_input(&case.input_sealed),
            key: idempotency_key(&case.id, &claimed.step, claimed.phase),
            case_id: case.id,
            kind: case.kind,
            region: case.region,
            on_behalf_of: case.applicant,
            facts: case.facts,
            outputs,
            step: claimed.step.clone(),
            phase: claimed.phase,
            attempt: u32::try_from(claimed.attempts).unwrap_or(u32::MAX),
            answer: None,
        }
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
            for state in CaseState::ALL.map(CaseState::as_str) {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == state)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                metrics::gauge!("civil_onematter_cases", "state" => state).set(n as f64);
            }
        }
    }
}

/// Why a claimed step must not run at all: its attempts were used up by claims that never
/// reported back (a crash loop), or its deadline passed.
fn must_not_run(claimed: &Claimed, now: i64) -> Option<String> {
    if claimed.attempts > claimed.max_attempts {
        return Some(format!(
            "attempts exhausted ({} claims for {} allowed): earlier attempts never reported back (executor crash or lease expiry)",
            claimed.attempts, claimed.max_attempts
        ));
    }
    if claimed
        .deadline_at_ms
        .is_some_and(|deadline| now >= deadline)
    {
        return Some("the step's deadline passed".into());
    }
    None
}
