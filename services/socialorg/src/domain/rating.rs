//! 等级评估: ratings 1A-5A.
//!
//! Source: 社会组织评估管理办法 (民政部令第39号) art. 13 (not accepted: registered less than
//! two full years; last year's inspection failed or missed; penalised last year or this year)
//! and art. 16 (valid 5 years).

use time::Date;

use super::annual_report::InspectionResult;
use super::credit_list::years_after;
use super::refusal::Refusal;

pub const MIN_REGISTERED_YEARS: i32 = 2;
pub const VALID_YEARS: i32 = 5;

/// What the eligibility check needs.
#[derive(Debug, Clone)]
pub struct RatingFacts {
    pub registered_on: Date,
    /// Conclusion of the latest report whose deadline has passed (None: missed).
    pub last_due_report: Option<InspectionResult>,
    /// Days of the administrative penalties (warning, fine, suspension, revocation).
    pub penalties: Vec<Date>,
}

/// Checks that an organisation may be rated on `assessed_on`.
pub fn check_eligibility(facts: &RatingFacts, assessed_on: Date) -> Result<(), Refusal> {
    let possible_from = years_after(facts.registered_on, MIN_REGISTERED_YEARS);
    if assessed_on < possible_from {
        return Err(Refusal::RatingTooNew { possible_from });
    }
    if matches!(facts.last_due_report, None | Some(InspectionResult::Failed)) {
        return Err(Refusal::RatingInspection);
    }
    let penalised = facts
        .penalties
        .iter()
        .any(|d| d.year() >= assessed_on.year() - 1 && *d <= assessed_on);
    if penalised {
        return Err(Refusal::RatingUnderPenalty);
    }
    Ok(())
}

/// Returns the last day a rating granted on `granted_on` is valid: the day before the fifth
/// anniversary.
pub fn valid_until(granted_on: Date) -> Date {
    let anniversary = years_after(granted_on, VALID_YEARS);
    anniversary.previous_day().unwrap_or(anniversary)
}

/// Whether a rating granted on `granted_on` is in force on `today`.
pub fn in_force(granted_on: Date, today: Date) -> bool {
    granted_on <= today && today <= valid_until(granted_on)
}

/// Ratings are 1A to 5A.
pub fn valid_level(level: i32) -> bool {
    (1..=5).contains(&level)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn facts() -> RatingFacts {
        RatingFacts {
            registered_on: date!(2023 - 03 - 15),
            last_due_report: Some(InspectionResult::Passed),
            penalties: vec![],
        }
    }

    #[test]
    fn an_organisation_registered_two_full_years_with_a_passed_report_is_eligible_art_13() {
        assert_eq!(check_eligibility(&facts(), date!(2025 - 03 - 15)), Ok(()));
    }

    #[test]
    fn less_than_two_full_years_is_too_new_art_13() {
        assert_eq!(
            check_eligibility(&facts(), date!(2025 - 03 - 14)),
            Err(Refusal::RatingTooNew {
                possible_from: date!(2025 - 03 - 15)
            })
        );
    }

    #[test]
    fn a_missed_or_failed_last_inspection_bars_the_rating_art_13() {
        let mut f = facts();
        f.last_due_report = None;
        assert_eq!(
            check_eligibility(&f, date!(2025 - 09 - 01)),
            Err(Refusal::RatingInspection)
        );
        f.last_due_report = Some(InspectionResult::Failed);
        assert_eq!(
            check_eligibility(&f, date!(2025 - 09 - 01)),
            Err(Refusal::RatingInspection)
        );
        f.last_due_report = Some(InspectionResult::BasicallyPassed);
        assert_eq!(check_eligibility(&f, date!(2025 - 09 - 01)), Ok(()));
    }

    #[test]
    fn a_penalty_last_year_or_this_year_bars_the_rating_but_an_older_one_does_not_art_13() {
        let mut f = facts();
        f.penalties = vec![date!(2024 - 01 - 02)];
        assert_eq!(
            check_eligibility(&f, date!(2025 - 09 - 01)),
            Err(Refusal::RatingUnderPenalty)
        );
        f.penalties = vec![date!(2023 - 12 - 31)];
        assert_eq!(check_eligibility(&f, date!(2025 - 09 - 01)), Ok(()));
    }

    #[test]
    fn a_rating_is_valid_five_years_art_16() {
        let granted = date!(2025 - 09 - 01);
        assert_eq!(valid_until(granted), date!(2030 - 08 - 31));
        assert!(in_force(granted, date!(2030 - 08 - 31)));
        assert!(!in_force(granted, date!(2030 - 09 - 01)));
        assert!(!in_force(granted, date!(2025 - 08 - 31)));
    }

    #[test]
    fn levels_run_from_1a_to_5a() {
        assert!(valid_level(1) && valid_level(5));
        assert!(!valid_level(0) && !valid_level(6));
    }
}
