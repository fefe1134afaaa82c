//! What a fork reruns: the chosen step and every step that depends on it (directly or not);
//! every other step that succeeded in the original keeps its recorded output.

use std::collections::BTreeSet;

use crate::executor::{CaseState, Plan};

/// Why a case cannot be forked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForkRefusal {
    /// Steps still run (or are being undone): forking would run them twice.
    Active,
    /// The step is not in the case's plan.
    UnknownStep,
}

/// The steps whose recorded outputs a fork from `from` keeps: those that succeeded in the
/// original (`succeeded`) and do not depend, directly or through others, on `from`.
pub fn fork_reuse(
    plan: &Plan,
    state: CaseState,
    from: &str,
    succeeded: &[String],
) -> Result<Vec<String>, ForkRefusal> {
    if matches!(state, CaseState::Running | CaseState::Compensating) {
        return Err(ForkRefusal::Active);
    }
    if plan.step(from).is_none() {
        return Err(ForkRefusal::UnknownStep);
    }
    let mut rerun = BTreeSet::from([from]);
    // Dependencies name earlier steps only (Plan::validate), so one pass in plan order is enough.
    for s in plan.steps {
        if s.depends_on.iter().any(|d| rerun.contains(d)) {
            rerun.insert(s.name);
        }
    }
    Ok(plan
        .steps
        .iter()
        .filter(|s| !rerun.contains(s.name) && succeeded.iter().any(|d| d == s.name))
        .map(|s| s.name.to_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::executor::{OnFailure, RetryPolicy, StepDef};

    const fn step(name: &'static str, depends_on: &'static [&'static str]) -> StepDef {
        StepDef {
            name,
            depends_on,
            retry: RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(8),
                multiplier: 2,
                jitter: 0.0,
            },
            attempt_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(60),
            compensable: false,
            read_only: false,
        }
    }

    /// a -> b -> c, a -> d.
    static STEPS: [StepDef; 4] = [
        step("a", &[]),
        step("b", &["a"]),
        step("c", &["b"]),
        step("d", &["a"]),
    ];
    static PLAN: Plan = Plan {
        kind: "k",
        version: 1,
        steps: &STEPS,
        on_failure: OnFailure::Park,
    };

    fn all() -> Vec<String> {
        ["a", "b", "c", "d"].map(String::from).to_vec()
    }

    #[test]
    fn a_fork_reruns_the_step_and_what_depends_on_it_and_reuses_the_rest() {
        let reused = fork_reuse(&PLAN, CaseState::Completed, "b", &all());
        assert_eq!(reused, Ok(vec!["a".to_owned(), "d".to_owned()]));
    }

    #[test]
    fn a_step_that_did_not_succeed_in_the_original_runs_again_in_the_fork() {
        let succeeded = ["a", "b"].map(String::from).to_vec();
        let reused = fork_reuse(&PLAN, CaseState::Parked, "c", &succeeded);
        assert_eq!(reused, Ok(vec!["a".to_owned(), "b".to_owned()]));
    }

    #[test]
    fn a_running_or_compensating_case_is_not_forked() {
        for state in [CaseState::Running, CaseState::Compensating] {
            assert_eq!(
                fork_reuse(&PLAN, state, "b", &all()),
                Err(ForkRefusal::Active)
            );
        }
    }

    #[test]
    fn a_fork_from_a_step_not_in_the_plan_is_refused() {
        assert_eq!(
            fork_reuse(&PLAN, CaseState::Completed, "x", &all()),
            Err(ForkRefusal::UnknownStep)
        );
    }
}
