//! Case and step states: parsed once from the store into enums, so no logic compares strings.

/// The state of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseState {
    /// Steps are running or waiting for their turn.
    Running,
    /// A step failed past its retries; an operator must look.
    Parked,
    /// Completed steps are being undone in reverse order.
    Compensating,
    Completed,
    Compensated,
    Cancelled,
}

impl CaseState {
    pub const ALL: [CaseState; 6] = [
        CaseState::Running,
        CaseState::Parked,
        CaseState::Compensating,
        CaseState::Completed,
        CaseState::Compensated,
        CaseState::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Running => "running",
            CaseState::Parked => "parked",
            CaseState::Compensating => "compensating",
            CaseState::Completed => "completed",
            CaseState::Compensated => "compensated",
            CaseState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<CaseState> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// No step of a final case runs again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CaseState::Completed | CaseState::Compensated | CaseState::Cancelled
        )
    }
}

/// The state of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepState {
    /// Waiting for the steps it depends on.
    Blocked,
    /// Ready to run (possibly after a back-off).
    Ready,
    Running,
    Succeeded,
    /// Failed past its retries, or with a terminal error.
    Failed,
    Compensated,
    /// An operator declared it done by hand.
    Skipped,
    Cancelled,
}

impl StepState {
    pub const ALL: [StepState; 8] = [
        StepState::Blocked,
        StepState::Ready,
        StepState::Running,
        StepState::Succeeded,
        StepState::Failed,
        StepState::Compensated,
        StepState::Skipped,
        StepState::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Blocked => "blocked",
            StepState::Ready => "ready",
            StepState::Running => "running",
            StepState::Succeeded => "succeeded",
            StepState::Failed => "failed",
            StepState::Compensated => "compensated",
            StepState::Skipped => "skipped",
            StepState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<StepState> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_stored_name() {
        for s in CaseState::ALL {
            assert_eq!(CaseState::parse(s.as_str()), Some(s));
        }
        for s in StepState::ALL {
            assert_eq!(StepState::parse(s.as_str()), Some(s));
        }
        assert_eq!(CaseState::parse("nonsense"), None);
    }

    #[test]
    fn completed_compensated_and_cancelled_cases_are_final() {
        let finals: Vec<_> = CaseState::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            vec![
                CaseState::Completed,
                CaseState::Compensated,
                CaseState::Cancelled
            ]
        );
    }
}
