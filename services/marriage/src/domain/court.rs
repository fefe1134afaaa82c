//! Facts the registry records from outside: court decisions (arts. 1051-1054 annulment, art.
//! 1079 judicial divorce) and deaths. The registry never revokes a marriage itself (art. 1052);
//! it records the judgment and annotates the archive.

use time::Date;

use super::refusal::Refusal;
use super::status::MarriageState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CourtDecisionKind {
    /// 婚姻无效 / 撤销婚姻: void from the start (art. 1054).
    Annulment,
    /// 诉讼离婚 (art. 1079).
    JudicialDivorce,
}

/// Returns the marriage's state after a court decision.
///
/// A judicial divorce needs a marriage in effect. An annulment may follow a divorce or a death
/// (a void marriage is void whatever happened since) but not another annulment.
pub fn apply_court_decision(
    state: MarriageState,
    kind: CourtDecisionKind,
) -> Result<MarriageState, Refusal> {
    match (kind, state) {
        (CourtDecisionKind::JudicialDivorce, MarriageState::InEffect) => {
            Ok(MarriageState::JudiciallyDivorced)
        }
        (CourtDecisionKind::JudicialDivorce, _) => Err(Refusal::NotInEffect),
        (CourtDecisionKind::Annulment, MarriageState::Annulled) => Err(Refusal::NotInEffect),
        (CourtDecisionKind::Annulment, _) => Ok(MarriageState::Annulled),
    }
}

/// Returns whether a death on `died_on` ends a marriage registered on `registered_on` that is
/// in `state`: only a marriage in effect on the day of death ends (the survivor is widowed).
pub fn death_ends_marriage(state: MarriageState, registered_on: Date, died_on: Date) -> bool {
    state == MarriageState::InEffect && registered_on <= died_on
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn a_judicial_divorce_ends_a_marriage_in_effect_art_1079() {
        assert_eq!(
            apply_court_decision(MarriageState::InEffect, CourtDecisionKind::JudicialDivorce),
            Ok(MarriageState::JudiciallyDivorced)
        );
    }

    #[test]
    fn a_judicial_divorce_of_an_ended_marriage_is_refused() {
        for state in [
            MarriageState::Divorced,
            MarriageState::EndedByDeath,
            MarriageState::Annulled,
        ] {
            assert_eq!(
                apply_court_decision(state, CourtDecisionKind::JudicialDivorce)
                    .map_err(|r| r.reason()),
                Err("MARRIAGE_NOT_IN_EFFECT")
            );
        }
    }

    #[test]
    fn an_annulment_voids_the_marriage_even_after_a_divorce_art_1054() {
        assert_eq!(
            apply_court_decision(MarriageState::InEffect, CourtDecisionKind::Annulment),
            Ok(MarriageState::Annulled)
        );
        assert_eq!(
            apply_court_decision(MarriageState::Divorced, CourtDecisionKind::Annulment),
            Ok(MarriageState::Annulled)
        );
        assert!(
            apply_court_decision(MarriageState::Annulled, CourtDecisionKind::Annulment).is_err()
        );
    }

    #[test]
    fn a_death_ends_only_a_marriage_in_effect_on_that_day() {
        assert!(death_ends_marriage(
            MarriageState::InEffect,
            date!(2020 - 01 - 01),
            date!(2024 - 01 - 01)
        ));
        assert!(!death_ends_marriage(
            MarriageState::Divorced,
            date!(2020 - 01 - 01),
            date!(2024 - 01 - 01)
        ));
        assert!(!death_ends_marriage(
            MarriageState::InEffect,
            date!(2025 - 01 - 01),
            date!(2024 - 01 - 01)
        ));
    }
}
