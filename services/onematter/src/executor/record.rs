//! Recording an attempt: one fenced transaction writes what [`super::decide`] decided (the
//! step's new state and output, released dependants, the case's state, the case updates).

use std::time::Duration;

use rand::Rng;
use sqlx::AnyConnection;

use super::decide::{self, AttemptFacts, CaseEffect, Transition};
use super::runner::{Executor, Recorded};
use super::store::{self, Claimed, Settle};
use super::{Attempt, CaseState, Phase, Plan, StepState};

/// Steps that keep a case from completing.
const OPEN: [StepState; 4] = [
    StepState::Blocked,
    StepState::Ready,
    StepState::Running,
    StepState::Failed,
];

impl Executor {
    /// Records an attempt in one transaction, fenced by the lease token: a result that comes
    /// back after another executor took the step over is discarded ([`Recorded::Stale`]).
    pub async fn record(
        &self,
        claimed: &Claimed,
        attempt: Attempt,
        elapsed: Duration,
    ) -> Result<Recorded, sqlx::Error> {
        let mut tx = self.db().begin().await?;
        let now = self.now(&mut tx).await?;
        let Some(head) = store::case_head(&mut tx, &claimed.case_id).await? else {
            return Ok(Recorded::Stale);
        };
        let Some(plan) = self.plan_of(&head.kind, head.plan_version) else {
            return Ok(Recorded::Stale);
        };
        let jitter = rand::thread_rng().r#gen::<f64>();
        let transition = decide::decide(
            attempt,
            &AttemptFacts::of(claimed),
            plan.step(&claimed.step),
            now,
            jitter,
        );
        let label = transition.label();
        let Some(recorded) = self.apply(&mut tx, plan, claimed, transition, now).await? else {
            return self.discard(tx, claimed).await;
        };
        tx.commit().await?;
        self.signals().notify(&claimed.case_id);
        metrics::histogram!(
            "civil_onematter_step_duration_seconds",
            "workflow" => plan.kind, "step" => claimed.step.clone(), "outcome" => label
        )
        .record(elapsed.as_secs_f64());
        Ok(recorded)
    }

    /// Writes a transition; None when fenced out.
    async fn apply(
        &self,
        conn: &mut AnyConnection,
        plan: &'static Plan,
        claimed: &Claimed,
        transition: Transition,
        now: i64,
    ) -> Result<Option<Recorded>, sqlx::Error> {
        let recorded = match transition {
            Transition::Done { summary, output } => {
                let done = self
                    .done(conn, plan, claimed, &summary, &output, now)
                    .await?;
                done.then_some(Recorded::Succeeded)
            }
            Transition::Wait { summary, at_ms } => {
                let waiting = self.wait(conn, claimed, &summary, at_ms, now).await?;
                waiting.then_some(Recorded::Pending)
            }
            Transition::AskFamily { what, due_date } => {
                let summary = format!("等待家属补件: {what} (due {due_date})");
                let waiting = self
                    .wait(conn, claimed, &summary, i64::MAX / 2, now)
                    .await?;
                if waiting {
                    let (case_id, step) = (&claimed.case_id, &claimed.step);
                    store::open_request(conn, case_id, step, &what, &due_date, now).await?;
                }
                waiting.then_some(Recorded::Pending)
            }
            Transition::Retry {
                at_ms,
                backoff,
                error,
            } => {
                let retry = self.retry(conn, plan, claimed, (at_ms, backoff), &error, now);
                retry.await?.then_some(Recorded::RetryScheduled { at_ms })
            }
            Transition::Fail { why } => {
                let failed = self.fail(conn, plan, claimed, &why, now).await?;
                failed.then_some(Recorded::Failed)
            }
        };
        Ok(recorded)
    }

    async fn done(
        &self,
        conn: &mut AnyConnection,
        plan: &'static Plan,
        claimed: &Claimed,
        summary: &str,
        output: &serde_json::Value,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let (state, event) = match claimed.phase {
            Phase::Do => (StepState::Succeeded, "step_succeeded"),
            Phase::Undo => (StepState::Compensated, "step_compensated"),
        };
        let next = Settle {
            state,
            next_run_at_ms: now,
            output: Some(output),
            summary: Some(summary),
            last_error: "",
            reset_attempts: false,
            now,
        };
        if !store::settle(conn, claimed, &next).await? {
            return Ok(false);
        }
        let seq =
            store::append_event(conn, &claimed.case_id, event, &claimed.step, summary, now).await?;
        if claimed.phase == Phase::Do {
            store::set_done_seq(conn, &claimed.case_id, &claimed.step, seq).await?;
        }
        let case = self.case_state(conn, &claimed.case_id).await?;
        let effect = decide::after_done(claimed.phase, case);
        self.effect(conn, plan, claimed, effect, now).await?;
        Ok(true)
    }

    async fn wait(
        &self,
        conn: &mut AnyConnection,
        claimed: &Claimed,
        summary: &str,
        at_ms: i64,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let next = Settle {
            state: StepState::Ready,
            next_run_at_ms: at_ms,
            output: None,
            summary: Some(summary),
            last_error: "",
            reset_attempts: true,
            now,
        };
        if !store::settle(conn, claimed, &next).await? {
            return Ok(false);
        }
        let (case_id, step) = (&claimed.case_id, &claimed.step);
        store::append_event(conn, case_id, "step_waiting", step, summary, now).await?;
        Ok(true)
    }

    async fn retry(
        &self,
        conn: &mut AnyConnection,
        plan: &'static Plan,
        claimed: &Claimed,
        (at_ms, backoff): (i64, Duration),
        error: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let next = Settle {
            state: StepState::Ready,
            next_run_at_ms: at_ms,
            output: None,
            summary: None,
            last_error: error,
            reset_attempts: false,
            now,
        };
        if !store::settle(conn, claimed, &next).await? {
            return Ok(false);
        }
        let message = format!(
            "attempt {} failed ({error}); next in {} ms",
            claimed.attempts,
            backoff.as_millis()
        );
        let (case_id, step) = (&claimed.case_id, &claimed.step);
        store::append_event(conn, case_id, "step_retry", step, &message, now).await?;
        metrics::counter!("civil_onematter_step_retries_total", "workflow" => plan.kind, "step" => claimed.step.clone()).increment(1);
        Ok(true)
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
        plan: &'static Plan,
        claimed: &Claimed,
        why: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let next = Settle {
            state: StepState::Failed,
            next_run_at_ms: now,
            output: None,
            summary: None,
            last_error: why,
            reset_attempts: false,
            now,
        };
        if !store::settle(conn, claimed, &next).await? {
            return Ok(false);
        }
        let (case_id, step) = (&claimed.case_id, &claimed.step);
        store::append_event(conn, case_id, "step_failed", step, why, now).await?;
        let case = self.case_state(conn, case_id).await?;
        let effect = decide::after_failure(claimed.phase, case, plan.on_failure, step, why);
        self.effect(conn, plan, claimed, effect, now).await?;
        Ok(true)
    }

    /// Writes what a step's end does to its case.
    async fn effect(
        &self,
        conn: &mut AnyConnection,
        plan: &'static Plan,
        claimed: &Claimed,
        effect: CaseEffect,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let (case_id, step) = (claimed.case_id.as_str(), claimed.step.as_str());
        match effect {
            CaseEffect::Release { complete_if_done } => {
                store::release(conn, case_id, &plan.dependants(step), now).await?;
                if complete_if_done {
                    self.complete_if_done(conn, case_id, now).await?;
                }
            }
            CaseEffect::AdvanceCompensation => {
                self.advance_compensation(conn, case_id, now).await?
            }
            CaseEffect::Park { reason } => {
                store::set_case_state(conn, case_id, CaseState::Parked, Some(&reason)).await?;
                store::append_event(conn, case_id, "case_parked", step, &reason, now).await?;
            }
            CaseEffect::Compensate { reason } => {
                self.start_compensation(conn, case_id, step, &reason, now)
                    .await?;
            }
            CaseEffect::Nothing => {}
        }
        Ok(())
    }

    async fn start_compensation(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        step: &str,
        reason: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let state = CaseState::Compensating;
        store::set_case_state(conn, case_id, state, Some(reason)).await?;
        let not_run = [StepState::Blocked, StepState::Ready];
        store::move_steps(conn, case_id, &not_run, StepState::Cancelled).await?;
        store::append_event(conn, case_id, "case_compensating", step, reason, now).await?;
        self.advance_compensation(conn, case_id, now).await
    }

    /// Schedules the undo of the last completed compensable step, one at a time, once nothing
    /// is in flight; with none left the case is compensated.
    pub(super) async fn advance_compensation(
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
                self.finish(conn, case_id, CaseState::Compensated, now)
                    .await
            }
        }
    }

    pub(super) async fn complete_if_done(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        if store::count_steps(conn, case_id, &OPEN).await? == 0 {
            self.finish(conn, case_id, CaseState::Completed, now)
                .await?;
        }
        Ok(())
    }

    /// Moves a case to a final state, writes its last update and announces it (the
    /// CaseFinished event, written by the service's announcer in this transaction).
    pub(super) async fn finish(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        state: CaseState,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        store::set_case_state(conn, case_id, state, None).await?;
        let kind = format!("case_{}", state.as_str());
        store::append_event(conn, case_id, &kind, "", "", now).await?;
        let Some(case) = store::load_case(conn, case_id).await? else {
            return Ok(());
        };
        match self.announcer() {
            Some(announce) => announce.finished(conn, &case, state).await,
            None => Ok(()),
        }
    }

    async fn case_state(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
    ) -> Result<CaseState, sqlx::Error> {
        let head = store::case_head(conn, case_id).await?;
        head.map(|h| h.state)
            .ok_or_else(|| sqlx::Error::RowNotFound)
    }
}
