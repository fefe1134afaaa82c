//! 年度报告: the annual report and its inspection conclusion.
//!
//! Sources: 社会团体登记管理条例 art. 28 and 民办非企业单位登记管理暂行条例 art. 23 (report for
//! the previous year by 31 May); 基金会管理条例 art. 29 (spending ratios).

use civil_calendar::HolidayCalendar;
use time::{Date, Month};

use super::refusal::Refusal;
use super::registration::OrganisationKind;

/// 年检结论.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectionResult {
    Passed,
    BasicallyPassed,
    Failed,
}

impl InspectionResult {
    pub fn as_str(self) -> &'static str {
        match self {
            InspectionResult::Passed => "PASSED",
            InspectionResult::BasicallyPassed => "BASICALLY_PASSED",
            InspectionResult::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Passed, Self::BasicallyPassed, Self::Failed]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Returns the last day to file the report for `year`: 31 May of the following year, moved to
/// the next working day when it is a rest day (民法典 art. 203; e.g. 2025-05-31 fell in the
/// Dragon Boat holiday, so the 2024 reports were due 2025-06-03).
pub fn report_deadline(calendar: &HolidayCalendar, year: i32) -> Date {
    let may_31 = Date::from_calendar_date(year + 1, Month::May, 31).unwrap_or(Date::MAX);
    calendar.period_end(may_31, 0)
}

/// Returns the latest year whose report deadline has passed by `today` (the report that must
/// be on file today).
pub fn latest_due_year(calendar: &HolidayCalendar, today: Date) -> i32 {
    let last_year = today.year() - 1;
    if today > report_deadline(calendar, last_year) {
        last_year
    } else {
        last_year - 1
    }
}

/// Checks that the report for `year` may be filed on `submitted_on` by an organisation
/// registered on `registered_on`. Late reports are accepted (they correct a listing).
pub fn check_report(
    year: i32,
    submitted_on: Date,
    registered_on: Date,
    already_filed: bool,
) -> Result<(), Refusal> {
    if year >= submitted_on.year() {
        return Err(Refusal::ReportYearNotEnded { year });
    }
    if registered_on.year() > year {
        return Err(Refusal::ReportNotDue { year });
    }
    if already_filed {
        return Err(Refusal::ReportAlreadyFiled { year });
    }
    Ok(())
}

/// A foundation's figures for the spending-ratio check.
#[derive(Debug, Clone, Copy, Default)]
pub struct FoundationFigures {
    pub previous_income_fen: i64,
    pub previous_fund_balance_fen: i64,
    pub charitable_spending_fen: i64,
}

/// Whether a foundation spent enough on its charitable purposes (基金会管理条例 art. 29): a
/// public-fundraising foundation at least 70% of the previous year's income, any other at least
/// 8% of the fund balance at the end of the previous year. Integer arithmetic, no rounding.
pub fn spending_ratio_met(public_fundraising: bool, figures: FoundationFigures) -> bool {
    let spent = i128::from(figures.charitable_spending_fen) * 100;
    if public_fundraising {
        spent >= i128::from(figures.previous_income_fen) * 70
    } else {
        spent >= i128::from(figures.previous_fund_balance_fen) * 8
    }
}

/// The conclusion recorded: a foundation that missed its spending ratio fails whatever was
/// proposed; other kinds keep the proposed conclusion.
pub fn conclusion(
    kind: OrganisationKind,
    public_fundraising: bool,
    proposed: InspectionResult,
    figures: FoundationFigures,
) -> (InspectionResult, bool) {
    if kind != OrganisationKind::Foundation {
        return (proposed, true);
    }
    let met = spending_ratio_met(public_fundraising, figures);
    (
        if met {
            proposed
        } else {
            InspectionResult::Failed
        },
        met,
    )
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn the_report_is_due_on_31_may_of_the_following_year_art_28() {
        let cal = HolidayCalendar::embedded();
        assert_eq!(report_deadline(&cal, 2023), date!(2024 - 05 - 31));
    }

    #[test]
    fn a_deadline_on_a_holiday_moves_to_the_next_working_day_civil_code_art_203() {
        let cal = HolidayCalendar::embedded();
        // 2025-05-31..06-02 Dragon Boat Festival.
        assert_eq!(report_deadline(&cal, 2024), date!(2025 - 06 - 03));
        // 2026-05-31 is a Sunday.
        assert_eq!(report_deadline(&cal, 2025), date!(2026 - 06 - 01));
    }

    #[test]
    fn the_latest_due_year_changes_the_day_after_the_deadline() {
        let cal = HolidayCalendar::embedded();
        assert_eq!(latest_due_year(&cal, date!(2026 - 06 - 01)), 2024);
        assert_eq!(latest_due_year(&cal, date!(2026 - 06 - 02)), 2025);
    }

    #[test]
    fn a_report_for_the_current_year_is_refused() {
        assert_eq!(
            check_report(2026, date!(2026 - 12 - 30), date!(2020 - 01 - 01), false),
            Err(Refusal::ReportYearNotEnded { year: 2026 })
        );
    }

    #[test]
    fn no_report_is_due_for_a_year_before_registration() {
        assert_eq!(
            check_report(2024, date!(2026 - 03 - 01), date!(2025 - 02 - 01), false),
            Err(Refusal::ReportNotDue { year: 2024 })
        );
    }

    #[test]
    fn a_year_is_reported_once() {
        assert_eq!(
            check_report(2025, date!(2026 - 03 - 01), date!(2020 - 01 - 01), true),
            Err(Refusal::ReportAlreadyFiled { year: 2025 })
        );
        assert_eq!(
            check_report(2025, date!(2026 - 09 - 01), date!(2025 - 12 - 31), false),
            Ok(())
        );
    }

    #[test]
    fn a_public_foundation_spends_seventy_percent_of_last_years_income_art_29() {
        let f = FoundationFigures {
            previous_income_fen: 1_000_000,
            previous_fund_balance_fen: 0,
            charitable_spending_fen: 700_000,
        };
        assert!(spending_ratio_met(true, f));
        assert!(!spending_ratio_met(
            true,
            FoundationFigures {
                charitable_spending_fen: 699_999,
                ..f
            }
        ));
    }

    #[test]
    fn a_non_public_foundation_spends_eight_percent_of_its_fund_balance_art_29() {
        let f = FoundationFigures {
            previous_income_fen: 0,
            previous_fund_balance_fen: 10_000_000,
            charitable_spending_fen: 800_000,
        };
        assert!(spending_ratio_met(false, f));
        assert!(!spending_ratio_met(
            false,
            FoundationFigures {
                charitable_spending_fen: 799_999,
                ..f
            }
        ));
    }

    #[test]
    fn a_foundation_missing_its_ratio_fails_inspection_but_other_kinds_keep_their_conclusion() {
        let low = FoundationFigures {
            previous_income_fen: 100,
            previous_fund_balance_fen: 100,
            charitable_spending_fen: 0,
        };
        assert_eq!(
            conclusion(
                OrganisationKind::Foundation,
                false,
                InspectionResult::Passed,
                low
            ),
            (InspectionResult::Failed, false)
        );
        assert_eq!(
            conclusion(
                OrganisationKind::SocialGroup,
                false,
                InspectionResult::Passed,
                low
            ),
            (InspectionResult::Passed, true)
        );
    }
}
