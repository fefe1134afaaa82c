//! The durable workflow executor: cases and their steps live in the aggregator's own store,
//! so a crash or restart at any point resumes every case where it stood.
//!
//! What it gets right (the lessons of DBOS, River, Oban and Hatchet, DESIGN.md §5):
//! 1. Claim: one short transaction takes many ready steps. PostgreSQL uses
//!    `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING`, so replicas
//!    never wait on each other's rows; SQLite uses the same statement under `BEGIN IMMEDIATE`
//!    (one writer, one connection).
//! 2. Lease + fencing: every claim increments `lease_token` and sets `lease_until_ms`; heartbeat,
//!    complete and fail are `WHERE id = $1 AND lease_token = $2`, and 0 rows means another
//!    executor took the step over: the result is discarded.
//! 3. Exactly-once effects exist only at the receiver: each step sends an idempotency key
//!    `case:step:do` (or `:undo`) as `request_id`, which every service stores with its effect.
//!    A step re-run after a crash between effect and checkpoint gets the first answer back.
//! 4. One transaction records a step's output, releases its dependants and writes the case
//!    update (`case_events`) that WatchCase and the metrics read.
//! 5. Attempts are counted at claim time, so a crash loop also exhausts retries; retryable vs
//!    terminal is decided by the gRPC code ([`StepError::retryable`]).
//!
//! The plans ([`Workflow`]) do not know this executor: the [`Engine`] trait is the seam where
//! an engine such as Temporal could run the same plans.

pub mod clock;
pub mod decide;
mod lineage;
mod operate;
pub use operate::UNDO_BY_HAND;
mod record;
mod registry;
pub use registry::Registry;
mod retry;
pub mod runner;
pub mod signals;
pub mod state;
pub mod store;

use std::collections::HashMap;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::AnyConnection;
use tonic::Code;

pub use clock::{Clock, DbClock, FakeClock};
pub use retry::RetryPolicy;
pub use runner::{Attempt, Executor, ExecutorConfig, Recorded};
pub use signals::CaseSignals;
pub use state::{CaseState, StepState};
pub use store::{CaseEvent, CaseRecord, NewCase, StepRecord};

/// What to do when a step fails past its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Undo the completed steps that have a compensation, in reverse order of completion.
    Compensate,
    /// Stop and wait for an operator (ResumeCase / RetryStep), with the reason on the case.
    Park,
}

/// One step of a plan.
#[derive(Debug, Clone, Copy)]
pub struct StepDef {
    pub name: &'static str,
    pub depends_on: &'static [&'static str],
    pub retry: RetryPolicy,
    /// Longest a single attempt may take before it counts as DEADLINE_EXCEEDED.
    pub attempt_timeout: Duration,
    /// Longest the step may take from becoming ready to success, retries included.
    pub deadline: Duration,
    /// Whether the workflow can undo the step ([`Phase::Undo`]).
    pub compensable: bool,
    /// The step only reads (a check, a status poll): nothing to undo when the case is cancelled.
    /// A step that changed something and cannot be undone is listed for a person to undo by hand.
    pub read_only: bool,
}

/// A workflow definition: a static plan of steps.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Stable name stored with each case, e.g. `after_death`.
    pub kind: &'static str,
    /// The plan's version: a case keeps the version it started with (`cases.plan_version`);
    /// new cases take the highest published one ([`store::current_version`]).
    pub version: u32,
    pub steps: &'static [StepDef],
    pub on_failure: OnFailure,
}

impl Plan {
    pub fn step(&self, name: &str) -> Option<&StepDef> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// Steps that depend on `name`.
    pub fn dependants(&self, name: &str) -> Vec<&'static str> {
        self.steps
            .iter()
            .filter(|s| s.depends_on.contains(&name))
            .map(|s| s.name)
            .collect()
    }

    /// Checks that every dependency names an earlier step (so the plan has no cycle).
    pub fn validate(&self) -> Result<(), String> {
        for (i, s) in self.steps.iter().enumerate() {
            for d in s.depends_on {
                if !self.steps[..i].iter().any(|e| e.name == *d) {
                    return Err(format!(
                        "{}: step {} depends on {d}, which is not an earlier step",
                        self.kind, s.name
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether a step runs forward or is being undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Do,
    Undo,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Do => "do",
            Phase::Undo => "undo",
        }
    }

    pub fn parse(s: &str) -> Phase {
        if s == "undo" { Phase::Undo } else { Phase::Do }
    }
}

/// The idempotency key a step sends as `request_id`: stable across attempts and executors.
pub fn idempotency_key(case_id: &str, step: &str, phase: Phase) -> String {
    format!("{case_id}:{step}:{}", phase.as_str())
}

/// What a step sees of its case.
#[derive(Debug, Clone)]
pub struct StepCall {
    pub case_id: String,
    pub kind: String,
    pub region: String,
    /// Subject the calls act for (the applicant), empty when started without application.
    pub on_behalf_of: String,
    /// The opened matter (protobuf bytes of the kind's matter message).
    pub input: Vec<u8>,
    /// Non-personal facts (JSON object).
    pub facts: serde_json::Value,
    /// Outputs of the steps that succeeded so far.
    pub outputs: HashMap<String, serde_json::Value>,
    pub step: String,
    pub phase: Phase,
    pub attempt: u32,
    /// `case:step:do|undo`.
    pub key: String,
    /// The family's answer to this step's 补件 request, once given (opened: personal).
    pub answer: Option<String>,
}

impl StepCall {
    /// The output of an earlier step.
    pub fn output(&self, step: &str) -> Option<&serde_json::Value> {
        self.outputs.get(step)
    }

    /// The typed output of an earlier step; a missing or unreadable one is a terminal error
    /// (the plan's dependencies guarantee it exists).
    pub fn output_as<T: serde::de::DeserializeOwned>(&self, step: &str) -> Result<T, StepError> {
        let value = self
            .outputs
            .get(step)
            .ok_or_else(|| StepError::terminal(format!("step {step} has no output")))?;
        serde_json::from_value(value.clone()).map_err(|e| {
            StepError::terminal(format!("the output of step {step} is unreadable: {e}"))
        })
    }
}

/// A step's result.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// Done: `summary` is shown on the case (no personal data); `output` is kept for later
    /// steps (seal anything personal before putting it there).
    Done {
        summary: String,
        output: serde_json::Value,
    },
    /// Not yet (e.g. an application still under review): look again after `recheck_after`.
    /// Not a failure, so attempts start again.
    Pending {
        summary: String,
        recheck_after: Duration,
    },
    /// 补件: wait for a document or an answer from the family, due on `due_date`
    /// (`YYYY-MM-DD`, working days from today). The step runs again once the family answers,
    /// and then sees the answer in [`StepCall::answer`].
    AskFamily { what: String, due_date: String },
}

impl StepOutcome {
    pub fn done(summary: impl Into<String>) -> Self {
        StepOutcome::Done {
            summary: summary.into(),
            output: serde_json::Value::Null,
        }
    }

    pub fn with_output(summary: impl Into<String>, output: serde_json::Value) -> Self {
        StepOutcome::Done {
            summary: summary.into(),
            output,
        }
    }

    /// Done, keeping a typed output for later steps (read back with [`StepCall::output_as`]).
    pub fn typed<T: serde::Serialize>(summary: impl Into<String>, output: &T) -> Self {
        StepOutcome::Done {
            summary: summary.into(),
            output: serde_json::to_value(output).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// A failed attempt: the gRPC code decides whether it is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct StepError {
    pub code: Code,
    pub message: String,
}

impl StepError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A terminal error in the workflow's own logic (bad input, inconsistent data).
    pub fn terminal(message: impl Into<String>) -> Self {
        Self::new(Code::FailedPrecondition, message)
    }

    /// Transient failures: the same request (same idempotency key) may succeed later.
    /// - UNAVAILABLE: the callee is down or unreachable;
    /// - DEADLINE_EXCEEDED: the attempt's own timeout, or the callee's;
    /// - CANCELLED: what a tonic callee answers when the request's deadline (its request
    ///   timeout, which may be shorter than the step's attempt timeout) cuts the call off; the
    ///   executor never cancels a call it still wants, so a CANCELLED answer is a timeout
    ///   downstream, not a decision (Defects issue item 7);
    /// - ABORTED: a concurrent transaction at the callee; RESOURCE_EXHAUSTED: load shedding;
    /// - INTERNAL: a callee's unexpected failure (bounded by the step's attempts).
    ///
    /// Everything else (refusals, bad input, permissions, not found) fails at once: the same
    /// request would be answered the same way.
    pub fn retryable(&self) -> bool {
        matches!(
            self.code,
            Code::Unavailable
                | Code::DeadlineExceeded
                | Code::Cancelled
                | Code::Aborted
                | Code::ResourceExhausted
                | Code::Internal
        )
    }

    /// Code name and message, as shown on the case. The reason of a rich status is included.
    pub fn describe(&self) -> String {
        format!("{:?}: {}", self.code, self.message)
    }
}

impl From<tonic::Status> for StepError {
    fn from(s: tonic::Status) -> Self {
        let message = match kit::error::reason_of(&s) {
            Some(reason) => format!("{reason}: {}", s.message()),
            None => s.message().to_owned(),
        };
        StepError {
            code: s.code(),
            message,
        }
    }
}

/// A workflow: its plan and the code of its steps.
pub trait Workflow: Send + Sync + 'static {
    /// The newest version of the plan.
    fn plan(&self) -> &'static Plan;
    /// Every version this build still runs (cases keep the version they started with), oldest
    /// first; the newest is [`Workflow::plan`].
    fn versions(&self) -> Vec<&'static Plan> {
        vec![self.plan()]
    }
    /// Runs one attempt of `call.step` in `call.phase`.
    fn run(&self, call: StepCall) -> BoxFuture<'_, Result<StepOutcome, StepError>>;
}

/// Errors of the engine's operations.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no such case")]
    NotFound,
    #[error("{reason}: {message}")]
    Refused {
        reason: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl From<EngineError> for kit::ServiceError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotFound => kit::ServiceError::not_found("case"),
            EngineError::Refused { reason, message } => kit::ServiceError::refused(reason, message),
            EngineError::Store(e) => e.into(),
        }
    }
}

/// Announces a finished case in the transaction that finishes it. The executor does not know
/// the portal's contract: the service gives it an announcer (the CaseFinished event).
pub trait Announce: Send + Sync + 'static {
    fn finished<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        case: &'a CaseRecord,
        state: CaseState,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>>;
}

/// The seam between the portal API and whatever runs the plans: the durable executor on our
/// store implements it; an engine such as Temporal could implement it over its own client.
/// Operator actions take the portal's transaction (request id and audit row commit with them);
/// an engine with its own store would signal its workflow there instead.
pub trait Engine: Send + Sync + 'static {
    fn case(&self, case_id: &str) -> BoxFuture<'_, Result<Option<CaseRecord>, EngineError>>;
    fn events_after(
        &self,
        case_id: &str,
        after_seq: i64,
    ) -> BoxFuture<'_, Result<Vec<CaseEvent>, EngineError>>;
    fn retry_step<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        case_id: &'a str,
        step: &'a str,
        actor: &'a str,
    ) -> BoxFuture<'a, Result<(), EngineError>>;
    fn resume<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        case_id: &'a str,
        actor: &'a str,
        note: &'a str,
        completed_by_hand: &'a [String],
    ) -> BoxFuture<'a, Result<(), EngineError>>;
    fn cancel<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        case_id: &'a str,
        actor: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), EngineError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 5,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(10),
        multiplier: 2,
        jitter: 0.5,
    };

    #[test]
    fn unavailable_is_retried() {
        assert!(StepError::new(Code::Unavailable, "connection refused").retryable());
    }

    #[test]
    fn deadline_exceeded_is_retried() {
        assert!(StepError::new(Code::DeadlineExceeded, "attempt took too long").retryable());
    }

    #[test]
    fn cancelled_by_a_downstream_request_timeout_is_retried() {
        let status = tonic::Status::cancelled("Timeout expired");
        assert!(StepError::from(status).retryable());
    }

    #[test]
    fn aborted_is_retried() {
        assert!(StepError::new(Code::Aborted, "concurrent update").retryable());
    }

    #[test]
    fn resource_exhausted_is_retried() {
        assert!(StepError::new(Code::ResourceExhausted, "load shed").retryable());
    }

    #[test]
    fn transient_grpc_codes_are_retried_and_refusals_are_not() {
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::Aborted,
            Code::ResourceExhausted,
            Code::Internal,
        ] {
            assert!(StepError::new(code, "x").retryable(), "{code:?}");
        }
        for code in [
            Code::FailedPrecondition,
            Code::InvalidArgument,
            Code::PermissionDenied,
            Code::NotFound,
            Code::AlreadyExists,
            Code::Unauthenticated,
        ] {
            assert!(!StepError::new(code, "x").retryable(), "{code:?}");
        }
    }

    #[test]
    fn a_plan_whose_step_depends_on_a_later_step_is_rejected() {
        static STEPS: [StepDef; 2] = [
            StepDef {
                name: "a",
                depends_on: &["b"],
                retry: POLICY,
                attempt_timeout: Duration::from_secs(1),
                deadline: Duration::from_secs(9),
                compensable: false,
                read_only: false,
            },
            StepDef {
                name: "b",
                depends_on: &[],
                retry: POLICY,
                attempt_timeout: Duration::from_secs(1),
                deadline: Duration::from_secs(9),
                compensable: false,
                read_only: false,
            },
        ];
        let plan = Plan {
            kind: "bad",
            version: 1,
            steps: &STEPS,
            on_failure: OnFailure::Park,
        };
        assert!(plan.validate().is_err());
        assert_eq!(plan.dependants("b"), vec!["a"]);
    }

    #[test]
    fn idempotency_keys_differ_between_doing_and_undoing() {
        assert_eq!(idempotency_key("c1", "s", Phase::Do), "c1:s:do");
        assert_eq!(idempotency_key("c1", "s", Phase::Undo), "c1:s:undo");
    }
}
