//! Operator and family actions that change which steps run: forking a case from a step,
//! publishing a plan version, and the family's answer to a 补件 request.

use sqlx::AnyConnection;

use super::decide::{self, ForkRefusal};
use super::runner::Executor;
use super::store::{self, NewFork};
use super::{CaseState, EngineError, StepState};

fn refused(reason: &'static str, message: String) -> EngineError {
    EngineError::Refused { reason, message }
}

/// The refusal of a fork, with its documented reason.
fn fork_refused(r: ForkRefusal, state: CaseState, step: &str) -> EngineError {
    match r {
        ForkRefusal::Active => refused(
            "ONEMATTER_CASE_ACTIVE",
            format!(
                "the case is {}: fork a parked or finished case",
                state.as_str()
            ),
        ),
        ForkRefusal::UnknownStep => refused(
            "ONEMATTER_UNKNOWN_STEP",
            format!("the case's plan has no step {step}"),
        ),
    }
}

impl Executor {
    /// Forks `case_id` from `step` as case `new_id` (same plan version): the steps that do not
    /// depend on `step` and succeeded keep their outputs; `step` and its dependants run again.
    /// A parked original is closed as cancelled (superseded; nothing is undone: the fork owns
    /// its effects); a finished one stays as it is. Both show the link.
    pub async fn fork(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        step: &str,
        new_id: &str,
        actor: &str,
    ) -> Result<(), EngineError> {
        let now = self.now(conn).await?;
        let original = store::load_case(conn, case_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let state = CaseState::parse(&original.state)
            .ok_or_else(|| refused("ONEMATTER_CASE_ACTIVE", "unknown case state".into()))?;
        let plan = self
            .plan_of(&original.kind, original.plan_version)
            .ok_or_else(|| refused("ONEMATTER_UNKNOWN_MATTER", original.kind.clone()))?;
        let succeeded: Vec<String> = original
            .steps
            .iter()
            .filter(|s| StepState::parse(&s.state) == Some(StepState::Succeeded))
            .map(|s| s.step.clone())
            .collect();
        let reused = decide::fork_reuse(plan, state, step, &succeeded)
            .map_err(|r| fork_refused(r, state, step))?;
        let fork = NewFork {
            original: &original,
            id: new_id,
            step,
            plan,
            reused: &reused,
        };
        store::insert_fork(conn, &fork, now).await?;
        let message = format!("forked from cases/{case_id} at step {step} by {actor}");
        store::append_event(conn, new_id, "case_started", step, &message, now).await?;
        let message = format!("forked as cases/{new_id} at step {step} by {actor}");
        store::append_event(conn, case_id, "case_forked", step, &message, now).await?;
        if state == CaseState::Parked {
            self.supersede(conn, case_id, new_id, now).await?;
        }
        self.signals().notify(case_id);
        Ok(())
    }

    /// Closes a parked original as cancelled, superseded by its fork (nothing is undone).
    async fn supersede(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        new_id: &str,
        now: i64,
    ) -> Result<(), EngineError> {
        let open = [StepState::Blocked, StepState::Ready, StepState::Failed];
        store::move_steps(conn, case_id, &open, StepState::Cancelled).await?;
        let why = format!("superseded by the fork cases/{new_id}");
        store::set_case_state(conn, case_id, CaseState::Cancelled, Some(&why)).await?;
        self.finish(conn, case_id, CaseState::Cancelled, now)
            .await?;
        Ok(())
    }

    /// Publishes version `version` of `kind`'s plan: new cases take it; running cases keep
    /// theirs. False when it was published already.
    pub async fn publish(
        &self,
        conn: &mut AnyConnection,
        kind: &str,
        version: u32,
        actor: &str,
    ) -> Result<bool, EngineError> {
        if self.registry().plan(kind, version).is_none() {
            return Err(refused(
                "ONEMATTER_UNKNOWN_PLAN_VERSION",
                format!("this build has no version {version} of the {kind} plan"),
            ));
        }
        let now = self.now(conn).await?;
        Ok(store::publish_version(conn, kind, version, actor, now).await?)
    }

    /// Records the family's answer to a step's 补件 request and runs the step again (with its
    /// full deadline from now). The answer is sealed at rest.
    pub async fn answer(
        &self,
        conn: &mut AnyConnection,
        request_id: &str,
        answer: &str,
        by: &str,
    ) -> Result<(), EngineError> {
        let now = self.now(conn).await?;
        let request = store::load_request(conn, request_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let sealed = self.sealer().seal(answer);
        if !store::answer_request(conn, request_id, &sealed, by, now).await? {
            return Err(refused(
                "ONEMATTER_REQUEST_ANSWERED",
                "the request was answered already".into(),
            ));
        }
        let (case_id, step) = (&request.case_id, &request.step);
        store::wake_answered(conn, case_id, step, now).await?;
        let message = format!("the family answered: {}", request.what);
        store::append_event(conn, case_id, "family_answered", step, &message, now).await?;
        Ok(())
    }
}
