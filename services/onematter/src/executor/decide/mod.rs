//! The executor's decisions as pure functions: what an attempt's result does to its step
//! ([`decide`]: step, attempt, plan, clock -> transition), and what a step's end does to its
//! case ([`after_done`], [`after_failure`]). No database, no clock, no randomness of their own:
//! the recorder ([`super::record`]) reads those and writes what these decide.

use std::time::Duration;

use super::store::Claimed;
use super::{Attempt, CaseState, OnFailure, Phase, Plan, StepDef, StepOutcome};

/// What the executor knows of a claimed attempt when it records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptFacts {
    pub phase: Phase,
    /// This attempt's number (counted at claim).
    pub attempt: i64,
    pub max_attempts: i64,
    /// When the step's deadline falls (unix ms), if it has one.
    pub deadline_at_ms: Option<i64>,
}

impl AttemptFacts {
    pub fn of(claimed: &Claimed) -> Self {
        Self {
            phase: claimed.phase,
            attempt: claimed.attempts,
            max_attempts: claimed.max_attempts,
            deadline_at_ms: claimed.deadline_at_ms,
        }
    }
}

/// The step's next state.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// Done: succeeded (doing) or compensated (undoing); the output is kept for later steps.
    Done {
        summary: String,
        output: serde_json::Value,
    },
    /// Not yet: look again at `at_ms`, with fresh attempts.
    Wait { summary: String, at_ms: i64 },
    /// 补件: wait, without a deadline, until the family answers the request.
    AskFamily { what: String, due_date: String },
    /// A transient failure with attempts and time left: run again at `at_ms`.
    Retry {
        at_ms: i64,
        backoff: Duration,
        error: String,
    },
    /// Failed for good; `why` goes on the step (and the case's reason).
    Fail { why: String },
}

impl Transition {
    /// The `outcome` label of the step duration metric.
    pub fn label(&self) -> &'static str {
        match self {
            Transition::Done { .. } => "ok",
            Transition::Wait { .. } | Transition::AskFamily { .. } => "pending",
            Transition::Retry { .. } => "retry",
            Transition::Fail { .. } => "failed",
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Decides the step's next state from the attempt's result, the step's plan (retry policy),
/// the clock (`now_ms`) and a uniform random number in [0, 1) for the back-off's jitter.
pub fn decide(
    attempt: Attempt,
    facts: &AttemptFacts,
    def: Option<&StepDef>,
    now_ms: i64,
    unit_random: f64,
) -> Transition {
    match attempt {
        Attempt::Outcome(StepOutcome::Done { summary, output }) => {
            Transition::Done { summary, output }
        }
        Attempt::Outcome(StepOutcome::Pending {
            summary,
            recheck_after,
        }) => Transition::Wait {
            summary,
            at_ms: now_ms.saturating_add(millis(recheck_after)),
        },
        Attempt::Outcome(StepOutcome::AskFamily { what, due_date }) => {
            Transition::AskFamily { what, due_date }
        }
        Attempt::Failed(error) => failed(&error, facts, def, now_ms, unit_random),
        Attempt::Exhausted(why) => Transition::Fail { why },
    }
}

/// A failed attempt: retried when the error is transient and attempts and time are left.
fn failed(
    error: &super::StepError,
    facts: &AttemptFacts,
    def: Option<&StepDef>,
    now_ms: i64,
    unit_random: f64,
) -> Transition {
    let attempt_no = u32::try_from(facts.attempt.max(1)).unwrap_or(u32::MAX);
    let backoff = def
        .map(|d| d.retry.backoff(attempt_no, unit_random))
        .unwrap_or_default();
    let at_ms = now_ms.saturating_add(millis(backoff));
    let within_deadline = facts.deadline_at_ms.is_none_or(|d| at_ms < d);
    let error_text = error.describe();
    if !error.retryable() {
        Transition::Fail { why: error_text }
    } else if !within_deadline {
        Transition::Fail {
            why: format!("{error_text} (the next attempt would pass the step's deadline)"),
        }
    } else if facts.attempt >= facts.max_attempts {
        Transition::Fail {
            why: format!("{error_text} (after {} attempts)", facts.attempt),
        }
    } else {
        Transition::Retry {
            at_ms,
            backoff,
            error: error_text,
        }
    }
}

/// What a step's end does to its case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseEffect {
    /// Release the step's dependants; complete the case when nothing is left open.
    Release { complete_if_done: bool },
    /// Schedule the next undo, or finish the compensation when none is left.
    AdvanceCompensation,
    /// Stop for an operator, with the reason on the case.
    Park { reason: String },
    /// Cancel the steps not yet run and undo the completed ones in reverse order.
    Compensate { reason: String },
    /// Nothing more (the case is parked already: the failed step waits for the operator).
    Nothing,
}

/// A step succeeded (or was undone) in a case in `case` state.
pub fn after_done(phase: Phase, case: CaseState) -> CaseEffect {
    match (phase, case) {
        (Phase::Undo, _) | (Phase::Do, CaseState::Compensating) => CaseEffect::AdvanceCompensation,
        (Phase::Do, CaseState::Running) => CaseEffect::Release {
            complete_if_done: true,
        },
        // A parked case's independent steps still finish and release their dependants.
        (Phase::Do, _) => CaseEffect::Release {
            complete_if_done: false,
        },
    }
}

/// A step failed for good in a case in `case` state, under the plan's failure policy.
pub fn after_failure(
    phase: Phase,
    case: CaseState,
    policy: OnFailure,
    step: &str,
    why: &str,
) -> CaseEffect {
    if phase == Phase::Undo {
        return CaseEffect::Park {
            reason: format!("compensation of step {step} failed: {why}"),
        };
    }
    let reason = format!("step {step} failed: {why}");
    match (case, policy) {
        (CaseState::Compensating, _) => CaseEffect::AdvanceCompensation,
        (CaseState::Running, OnFailure::Park) => CaseEffect::Park { reason },
        (CaseState::Running, OnFailure::Compensate) => CaseEffect::Compensate { reason },
        _ => CaseEffect::Nothing,
    }
}

/// What cancelling a case does to the steps already done.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cancellation {
    /// Some completed step can be undone: the case compensates them in reverse order.
    pub compensate: bool,
    /// Steps that changed something and that the executor cannot undo: a person must.
    pub by_hand: Vec<String>,
}

/// Cancelling a case (DESIGN §5): completed steps that can be undone are compensated; steps
/// that changed something and cannot be undone (or were in flight, so their effect is unknown)
/// are listed for a person to undo by hand; steps that only read are left alone.
pub fn on_cancel(plan: Option<&Plan>, succeeded: &[String], in_flight: &[String]) -> Cancellation {
    let def = |name: &str| plan.and_then(|p| p.step(name));
    let changed = |name: &&String| !def(name).is_some_and(|d| d.read_only);
    let undoable = |name: &&String| def(name).is_some_and(|d| d.compensable);
    let mut by_hand: Vec<String> = succeeded
        .iter()
        .filter(changed)
        .filter(|n| !undoable(n))
        .chain(in_flight.iter().filter(changed))
        .cloned()
        .collect();
    by_hand.dedup();
    Cancellation {
        compensate: succeeded.iter().any(|n| undoable(&n)),
        by_hand,
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;
    use crate::executor::{RetryPolicy, StepError};

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_secs(2),
        max_backoff: Duration::from_secs(60),
        multiplier: 2,
        jitter: 0.0,
    };

    const DEF: StepDef = StepDef {
        name: "s",
        depends_on: &[],
        retry: POLICY,
        attempt_timeout: Duration::from_secs(10),
        deadline: Duration::from_secs(3600),
        compensable: true,
        read_only: false,
    };

    fn facts(attempt: i64, deadline_at_ms: Option<i64>) -> AttemptFacts {
        AttemptFacts {
            phase: Phase::Do,
            attempt,
            max_attempts: 3,
            deadline_at_ms,
        }
    }

    fn failed(code: Code) -> Attempt {
        Attempt::Failed(StepError::new(code, "x"))
    }

    #[test]
    fn a_transient_failure_with_attempts_left_is_retried_after_the_backoff() {
        let t = decide(
            failed(Code::Unavailable),
            &facts(2, None),
            Some(&DEF),
            1_000,
            0.0,
        );
        assert_eq!(
            t,
            Transition::Retry {
                at_ms: 5_000,
                backoff: Duration::from_secs(4),
                error: "Unavailable: x".into()
            }
        );
    }

    #[test]
    fn a_first_attempt_cut_off_by_a_downstream_timeout_is_retried_not_failed() {
        let t = decide(failed(Code::Cancelled), &facts(1, None), Some(&DEF), 0, 0.0);
        assert!(matches!(t, Transition::Retry { .. }), "{t:?}");
    }

    #[test]
    fn a_refusal_fails_at_once() {
        let t = decide(
            failed(Code::FailedPrecondition),
            &facts(1, None),
            Some(&DEF),
            0,
            0.0,
        );
        assert_eq!(
            t,
            Transition::Fail {
                why: "FailedPrecondition: x".into()
            }
        );
    }

    #[test]
    fn the_last_attempt_fails_and_says_how_many_were_made() {
        let t = decide(
            failed(Code::Unavailable),
            &facts(3, None),
            Some(&DEF),
            0,
            0.0,
        );
        assert_eq!(
            t,
            Transition::Fail {
                why: "Unavailable: x (after 3 attempts)".into()
            }
        );
    }

    #[test]
    fn a_retry_that_would_pass_the_deadline_fails_instead() {
        let t = decide(
            failed(Code::Unavailable),
            &facts(1, Some(1_500)),
            Some(&DEF),
            0,
            0.0,
        );
        assert!(
            matches!(t, Transition::Fail { ref why } if why.contains("deadline")),
            "{t:?}"
        );
    }

    #[test]
    fn a_pending_step_waits_for_its_recheck_and_exhaustion_fails() {
        let pending = Attempt::Outcome(StepOutcome::Pending {
            summary: "under review".into(),
            recheck_after: Duration::from_secs(60),
        });
        assert_eq!(
            decide(pending, &facts(1, None), Some(&DEF), 10, 0.5),
            Transition::Wait {
                summary: "under review".into(),
                at_ms: 60_010
            }
        );
        let gone = Attempt::Exhausted("crash loop".into());
        assert_eq!(
            decide(gone, &facts(4, None), Some(&DEF), 0, 0.0),
            Transition::Fail {
                why: "crash loop".into()
            }
        );
    }

    #[test]
    fn a_step_asking_the_family_waits_for_the_answer_past_its_deadline() {
        let ask = Attempt::Outcome(StepOutcome::AskFamily {
            what: "ID card".into(),
            due_date: "2026-01-19".into(),
        });
        let t = decide(ask, &facts(1, Some(5)), Some(&DEF), 10, 0.5);
        assert_eq!(t.label(), "pending");
        assert_eq!(
            t,
            Transition::AskFamily {
                what: "ID card".into(),
                due_date: "2026-01-19".into()
            }
        );
    }

    #[test]
    fn a_success_releases_dependants_and_completes_only_a_running_case() {
        assert_eq!(
            after_done(Phase::Do, CaseState::Running),
            CaseEffect::Release {
                complete_if_done: true
            }
        );
        assert_eq!(
            after_done(Phase::Do, CaseState::Parked),
            CaseEffect::Release {
                complete_if_done: false
            }
        );
        assert_eq!(
            after_done(Phase::Do, CaseState::Compensating),
            CaseEffect::AdvanceCompensation
        );
        assert_eq!(
            after_done(Phase::Undo, CaseState::Compensating),
            CaseEffect::AdvanceCompensation
        );
    }

    #[test]
    fn a_failure_parks_or_compensates_by_the_plans_policy() {
        let park = after_failure(Phase::Do, CaseState::Running, OnFailure::Park, "s", "boom");
        assert_eq!(
            park,
            CaseEffect::Park {
                reason: "step s failed: boom".into()
            }
        );
        let undo = after_failure(
            Phase::Do,
            CaseState::Running,
            OnFailure::Compensate,
            "s",
            "b",
        );
        assert!(matches!(undo, CaseEffect::Compensate { .. }));
        assert_eq!(
            after_failure(Phase::Do, CaseState::Parked, OnFailure::Park, "s", "b"),
            CaseEffect::Nothing
        );
        assert_eq!(
            after_failure(
                Phase::Do,
                CaseState::Compensating,
                OnFailure::Compensate,
                "s",
                "b"
            ),
            CaseEffect::AdvanceCompensation
        );
    }

    #[test]
    fn a_failed_undo_parks_the_case_whatever_the_policy() {
        let e = after_failure(
            Phase::Undo,
            CaseState::Compensating,
            OnFailure::Compensate,
            "s",
            "b",
        );
        assert_eq!(
            e,
            CaseEffect::Park {
                reason: "compensation of step s failed: b".into()
            }
        );
    }

    #[test]
    fn cancelling_undoes_what_it_can_and_lists_what_a_person_must_undo() {
        static STEPS: [StepDef; 4] = [
            StepDef {
                name: "check",
                read_only: true,
                compensable: false,
                ..DEF
            },
            StepDef {
                name: "outside",
                compensable: true,
                ..DEF
            },
            StepDef {
                name: "bureau",
                compensable: false,
                ..DEF
            },
            StepDef {
                name: "late",
                compensable: true,
                ..DEF
            },
        ];
        let plan = Plan {
            kind: "k",
            version: 1,
            steps: &STEPS,
            on_failure: OnFailure::Compensate,
        };
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let c = on_cancel(
            Some(&plan),
            &names(&["check", "outside", "bureau"]),
            &names(&["late"]),
        );
        assert!(c.compensate, "the outside change is withdrawn");
        assert_eq!(c.by_hand, names(&["bureau", "late"]));
        let nothing = on_cancel(Some(&plan), &names(&["check"]), &[]);
        assert_eq!(nothing, Cancellation::default());
    }
}

mod fork;
pub use fork::{ForkRefusal, fork_reuse};
