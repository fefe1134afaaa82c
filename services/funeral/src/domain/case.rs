//! The death case: from the death certificate through the disposal of the body to the final
//! place of the ashes. States move only forward, through [`CaseState::apply`].

use time::Date;

use super::Refusal;

/// Who certified the death (医学死亡证明 or, for deaths outside hospital, the police).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {
    Medical,
    Police,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseState {
    Registered,
    CremationBooked,
    Cremated,
    Buried,
    AshesPlaced,
}

/// What happens to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Custody,
    BookCremation,
    CompleteCremation,
    Bury,
    PlaceAshes,
    /// The ashes change hands before their final place (骨灰去向).
    AshesCustody,
}

impl CaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Registered => "registered",
            CaseState::CremationBooked => "cremation_booked",
            CaseState::Cremated => "cremated",
            CaseState::Buried => "buried",
            CaseState::AshesPlaced => "ashes_placed",
        }
    }

    pub fn parse(s: &str) -> Option<CaseState> {
        Some(match s {
            "registered" => CaseState::Registered,
            "cremation_booked" => CaseState::CremationBooked,
            "cremated" => CaseState::Cremated,
            "buried" => CaseState::Buried,
            "ashes_placed" => CaseState::AshesPlaced,
            _ => return None,
        })
    }

    fn body_disposed(self) -> bool {
        matches!(
            self,
            CaseState::Cremated | CaseState::Buried | CaseState::AshesPlaced
        )
    }

    /// Returns the state after `step`, or why the step is not possible now.
    pub fn apply(self, step: Step) -> Result<CaseState, Refusal> {
        use CaseState::*;
        match (self, step) {
            (s, Step::Custody) if !s.body_disposed() => Ok(s),
            (Registered, Step::BookCremation) => Ok(CremationBooked),
            (CremationBooked, Step::BookCremation) => Err(Refusal::AlreadyBooked),
            (CremationBooked, Step::CompleteCremation) => Ok(Cremated),
            (Registered, Step::CompleteCremation) => Err(Refusal::NotBooked),
            // A booked cremation may give way to a lawful burial; the slot is released by the store.
            (Registered | CremationBooked, Step::Bury) => Ok(Buried),
            (Cremated, Step::PlaceAshes) => Ok(AshesPlaced),
            (Cremated, Step::AshesCustody) => Ok(Cremated),
            (AshesPlaced, Step::AshesCustody) => Err(Refusal::AshesPlaced),
            (Registered | CremationBooked | Buried, Step::AshesCustody) => {
                Err(Refusal::NotCremated)
            }
            (AshesPlaced, Step::PlaceAshes) => Err(Refusal::AshesPlaced),
            (Registered | CremationBooked | Buried, Step::PlaceAshes) => Err(Refusal::NotCremated),
            (_, _) => Err(Refusal::BodyDisposed),
        }
    }
}

/// Why a death certificate is malformed (INVALID_ARGUMENT on the named field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateProblem {
    pub field: &'static str,
    pub description: &'static str,
}

/// Checks the date of death against today and the birth date in the identity number.
pub fn check_date_of_death(
    date_of_death: Date,
    birth: Date,
    today: Date,
) -> Result<(), CertificateProblem> {
    if date_of_death > today {
        return Err(CertificateProblem {
            field: "certificate.date_of_death",
            description: "is in the future",
        });
    }
    if date_of_death < birth {
        return Err(CertificateProblem {
            field: "certificate.date_of_death",
            description: "is before the birth date in the identity number",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn a_case_moves_from_registration_through_cremation_to_the_ashes_final_place() {
        let s = CaseState::Registered.apply(Step::Custody).expect("custody");
        let s = s.apply(Step::BookCremation).expect("book");
        let s = s.apply(Step::CompleteCremation).expect("cremate");
        assert_eq!(s, CaseState::Cremated);
        assert_eq!(s.apply(Step::PlaceAshes), Ok(CaseState::AshesPlaced));
    }

    #[test]
    fn a_disposed_body_takes_no_more_custody_booking_or_burial() {
        for s in [
            CaseState::Cremated,
            CaseState::Buried,
            CaseState::AshesPlaced,
        ] {
            assert_eq!(s.apply(Step::Custody), Err(Refusal::BodyDisposed), "{s:?}");
            assert_eq!(
                s.apply(Step::BookCremation),
                Err(Refusal::BodyDisposed),
                "{s:?}"
            );
            assert_eq!(s.apply(Step::Bury), Err(Refusal::BodyDisposed), "{s:?}");
        }
    }

    #[test]
    fn cremation_needs_a_booking_and_one_booking_per_case() {
        assert_eq!(
            CaseState::Registered.apply(Step::CompleteCremation),
            Err(Refusal::NotBooked)
        );
        assert_eq!(
            CaseState::CremationBooked.apply(Step::BookCremation),
            Err(Refusal::AlreadyBooked)
        );
    }

    #[test]
    fn ashes_are_placed_once_and_only_after_cremation() {
        assert_eq!(
            CaseState::Registered.apply(Step::PlaceAshes),
            Err(Refusal::NotCremated)
        );
        assert_eq!(
            CaseState::Buried.apply(Step::PlaceAshes),
            Err(Refusal::NotCremated)
        );
        assert_eq!(
            CaseState::AshesPlaced.apply(Step::PlaceAshes),
            Err(Refusal::AshesPlaced)
        );
    }

    #[test]
    fn states_round_trip_through_their_stored_names() {
        for s in [
            CaseState::Registered,
            CaseState::CremationBooked,
            CaseState::Cremated,
            CaseState::Buried,
            CaseState::AshesPlaced,
        ] {
            assert_eq!(CaseState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn a_date_of_death_in_the_future_or_before_birth_is_malformed() {
        let birth = date!(1940 - 05 - 01);
        let today = date!(2026 - 03 - 02);
        assert!(check_date_of_death(date!(2026 - 03 - 03), birth, today).is_err());
        assert!(check_date_of_death(date!(1940 - 04 - 30), birth, today).is_err());
        assert!(check_date_of_death(today, birth, today).is_ok());
        assert!(check_date_of_death(birth, birth, today).is_ok());
    }
}
