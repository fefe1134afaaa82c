//! Operator actions on a case (retry a step, resume a parked case, cancel), inside the portal's
//! transaction, and the [`Engine`] seam the portal uses.

use futures::FutureExt as _;
use futures::future::BoxFuture;
use sqlx::AnyConnection;

use super::decide;
use super::runner::Executor;
use super::store::{self, CaseEvent, CaseHead, CaseRecord};
use super::{CaseState, Engine, EngineError, Phase, StepState};

/// The case fact listing the steps a person must undo after a cancellation.
pub const UNDO_BY_HAND: &str = "undo_by_hand";

fn refused(reason: &'static str, message: String) -> EngineError {
    EngineError::Refused { reason, message }
}

fn not_finished(head: &CaseHead) -> Result<(), EngineError> {
    if head.state.is_final() {
        return Err(refused(
            "ONEMATTER_CASE_FINISHED",
            format!("the case is {}", head.state.as_str()),
        ));
    }
    Ok(())
}

/// Only a step that failed while doing can be declared done by hand.
fn only_failed_steps_by_hand(
    failed: &[(String, Phase)],
    by_hand: &[String],
) -> Result<(), EngineError> {
    match by_hand
        .iter()
        .find(|name| !failed.iter().any(|(s, p)| s == *name && *p == Phase::Do))
    {
        Some(name) => Err(refused(
            "ONEMATTER_STEP_NOT_RETRYABLE",
            format!("step {name} has not failed"),
        )),
        None => Ok(()),
    }
}

/// The case state a parked case returns to when its failed steps run again.
fn unparked(compensating: bool) -> CaseState {
    if compensating {
        CaseState::Compensating
    } else {
        CaseState::Running
    }
}

impl Executor {
    async fn head(&self, conn: &mut AnyConnection, case_id: &str) -> Result<CaseHead, EngineError> {
        store::case_head(conn, case_id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    async fn retry_step_in(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        step: &str,
        actor: &str,
    ) -> Result<(), EngineError> {
        let now = self.now(conn).await?;
        let head = self.head(conn, case_id).await?;
        not_finished(&head)?;
        let (step_now, phase) = store::step_status(conn, case_id, step)
            .await?
            .ok_or(EngineError::NotFound)?;
        if !matches!(step_now, StepState::Failed | StepState::Ready) {
            return Err(refused(
                "ONEMATTER_STEP_NOT_RETRYABLE",
                format!("the step is {}", step_now.as_str()),
            ));
        }
        store::reset_step(conn, case_id, step, phase, now).await?;
        let none_failed = store::count_steps(conn, case_id, &[StepState::Failed]).await? == 0;
        if head.state == CaseState::Parked && none_failed {
            let next = unparked(phase == Phase::Undo);
            store::set_case_state(conn, case_id, next, Some("")).await?;
        }
        let message = format!("by {actor}");
        store::append_event(conn, case_id, "step_retry_requested", step, &message, now).await?;
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
        let now = self.now(conn).await?;
        let head = self.head(conn, case_id).await?;
        if head.state != CaseState::Parked {
            return Err(refused(
                "ONEMATTER_CASE_NOT_PARKED",
                format!("the case is {}", head.state.as_str()),
            ));
        }
        let failed = store::steps_in_state(conn, case_id, StepState::Failed).await?;
        only_failed_steps_by_hand(&failed, by_hand)?;
        let compensating = failed.iter().any(|(_, p)| *p == Phase::Undo);
        store::set_case_state(conn, case_id, unparked(compensating), Some("")).await?;
        for (step, phase) in &failed {
            if by_hand.contains(step) {
                self.completed_by_hand(conn, &head, case_id, step, (actor, note), now)
                    .await?;
            } else {
                store::reset_step(conn, case_id, step, *phase, now).await?;
            }
        }
        let message = format!("by {actor}: {note}");
        store::append_event(conn, case_id, "case_resumed", "", &message, now).await?;
        if !compensating {
            self.complete_if_done(conn, case_id, now).await?;
        }
        Ok(())
    }

    /// A failed step the operator completed outside the system: skipped, its dependants released.
    async fn completed_by_hand(
        &self,
        conn: &mut AnyConnection,
        head: &CaseHead,
        case_id: &str,
        step: &str,
        (actor, note): (&str, &str),
        now: i64,
    ) -> Result<(), EngineError> {
        let summary = format!("completed by hand: {note}");
        store::skip_step(conn, case_id, step, &summary, now).await?;
        let by = format!("by {actor}");
        let seq =
            store::append_event(conn, case_id, "step_completed_by_hand", step, &by, now).await?;
        store::set_done_seq(conn, case_id, step, seq).await?;
        if let Some(plan) = self.plan_of(&head.kind, head.plan_version) {
            store::release(conn, case_id, &plan.dependants(step), now).await?;
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
        let now = self.now(conn).await?;
        let head = self.head(conn, case_id).await?;
        not_finished(&head)?;
        if head.state == CaseState::Compensating {
            return Err(refused(
                "ONEMATTER_CASE_COMPENSATING",
                "the case is already undoing its steps".into(),
            ));
        }
        let names =
            |steps: Vec<(String, Phase)>| steps.into_iter().map(|(s, _)| s).collect::<Vec<_>>();
        let in_flight = names(store::steps_in_state(conn, case_id, StepState::Running).await?);
        let open = [StepState::Blocked, StepState::Ready, StepState::Running];
        store::move_steps(conn, case_id, &open, StepState::Cancelled).await?;
        let done = names(store::steps_in_state(conn, case_id, StepState::Succeeded).await?);
        let cancel = decide::on_cancel(
            self.plan_of(&head.kind, head.plan_version),
            &done,
            &in_flight,
        );
        let mut why = format!("cancelled by {actor}: {reason}");
        if !cancel.by_hand.is_empty() {
            why.push_str(&format!("; to undo by hand: {}", cancel.by_hand.join(", ")));
            let facts = serde_json::json!({ UNDO_BY_HAND: cancel.by_hand });
            store::merge_facts(conn, case_id, &facts).await?;
        }
        if cancel.compensate {
            store::set_case_state(conn, case_id, CaseState::Compensating, Some(&why)).await?;
            store::append_event(conn, case_id, "case_compensating", "", &why, now).await?;
            self.advance_compensation(conn, case_id, now).await?;
        } else {
            store::set_case_state(conn, case_id, CaseState::Cancelled, Some(&why)).await?;
            self.finish(conn, case_id, CaseState::Cancelled, now)
                .await?;
        }
        Ok(())
    }
}

impl Engine for Executor {
    fn case(&self, case_id: &str) -> BoxFuture<'_, Result<Option<CaseRecord>, EngineError>> {
        let case_id = case_id.to_owned();
        async move {
            let mut conn = self.db().pool.acquire().await?;
            Ok(store::load_case(&mut conn, &case_id).await?)
        }
        .boxed()
    }

    fn events_after(
        &self,
        case_id: &str,
        after_seq: i64,
    ) -> BoxFuture<'_, Result<Vec<CaseEvent>, EngineError>> {
        let case_id = case_id.to_owned();
        async move {
            let mut conn = self.db().pool.acquire().await?;
            Ok(store::events_after(&mut conn, &case_id, after_seq).await?)
        }
        .boxed()
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
