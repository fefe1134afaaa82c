//! The application procedure of 最低生活保障审核确认办法 2021 (arts. 11-25) and 特困人员认定办法
//! (arts. 10-19): apply -> accept -> home visit -> economic check -> public notice -> decision.
//! Each step is allowed only from the states listed in [`ApplicationState::after`].

use civil_calendar::HolidayCalendar;
use time::Date;

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ApplicationState {
    Submitted,
    Accepted,
    Investigated,
    Checked,
    Notice,
    /// An objection during the notice: the household is investigated again (审核确认办法 art. 20).
    Reinvestigation,
    Approved,
    Refused,
}

/// A step of the procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Accept,
    Investigate,
    Check,
    StartNotice,
    Object,
    Approve,
    Refuse,
}

/// The step is not allowed in the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{step:?} is not allowed while the application is {state:?}")]
pub struct OutOfOrder {
    pub state: ApplicationState,
    pub step: Step,
}

impl ApplicationState {
    /// Returns the state after `step`, or refuses a step out of order. A re-investigation
    /// leads back to a new notice: the economic check already done stands.
    pub fn after(self, step: Step) -> Result<ApplicationState, OutOfOrder> {
        use ApplicationState as S;
        let next = match (self, step) {
            (S::Submitted, Step::Accept) => S::Accepted,
            (S::Accepted, Step::Investigate) => S::Investigated,
            (S::Reinvestigation, Step::Investigate) => S::Checked,
            (S::Investigated, Step::Check) => S::Checked,
            (S::Checked, Step::StartNotice) => S::Notice,
            (S::Notice, Step::Object) => S::Reinvestigation,
            (S::Notice, Step::Approve) => S::Approved,
            (S::Notice, Step::Refuse) => S::Refused,
            _ => return Err(OutOfOrder { state: self, step }),
        };
        Ok(next)
    }

    /// Whether the review is still running (counts for the deadline).
    pub fn is_open(self) -> bool {
        !matches!(self, ApplicationState::Approved | ApplicationState::Refused)
    }
}

/// A staff member on a home visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Investigator {
    pub subject: String,
    pub signed: bool,
}

/// Why a home-visit record is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VisitError {
    #[error("a home visit needs at least two different staff")]
    TwoStaffRequired,
    #[error("every staff member and the household must sign the record")]
    SignatureMissing,
    #[error("the applicant is a close relative of a staff member: the county investigates")]
    CountyInvestigates,
    #[error("a staff member related to the applicant may not investigate")]
    ConflictOfInterest,
}

/// Checks a home-visit record (审核确认办法 art. 15: at least two staff, both sides sign;
/// art. 30: an applicant related to a case worker or village cadre is registered separately
/// and investigated by the county). `recorder_is_county` is whether the recording clerk's
/// scope is the county.
pub fn check_visit(
    staff: &[Investigator],
    household_signed: bool,
    related_staff: &[String],
    recorder_is_county: bool,
) -> Result<(), VisitError> {
    let mut subjects: Vec<&str> = staff.iter().map(|s| s.subject.as_str()).collect();
    subjects.sort_unstable();
    subjects.dedup();
    if subjects.len() < 2 {
        return Err(VisitError::TwoStaffRequired);
    }
    if !household_signed || staff.iter().any(|s| !s.signed) {
        return Err(VisitError::SignatureMissing);
    }
    if !related_staff.is_empty() {
        if staff.iter().any(|s| related_staff.contains(&s.subject)) {
            return Err(VisitError::ConflictOfInterest);
        }
        if !recorder_is_county {
            return Err(VisitError::CountyInvestigates);
        }
    }
    Ok(())
}

/// Days a public notice stays up (审核确认办法 art. 19; 特困人员认定办法 art. 13).
pub const NOTICE_DAYS: u32 = 7;

/// Returns the last day of a notice posted on `start`: the posting day is day 1, in calendar
/// days, not moved for rest days (RULES.md "Conventions": posted on the 11th, it runs through
/// the 17th and a decision may be taken from the 18th).
pub fn notice_end(start: Date) -> Date {
    start.saturating_add(time::Duration::days(i64::from(NOTICE_DAYS) - 1))
}

/// Whether a decision may be taken on `today` for a notice ending on `end`.
pub fn notice_over(end: Date, today: Date) -> bool {
    today > end
}

/// 特困: the investigation takes at most 15 working days from acceptance (特困人员认定办法
/// art. 11), the confirmation at most 10 working days from the end of the notice (art. 13).
pub const EXTREME_POVERTY_INVESTIGATION_WORKING_DAYS: u32 = 15;
pub const EXTREME_POVERTY_CONFIRMATION_WORKING_DAYS: u32 = 10;

/// The 特困 investigation deadline for an application accepted on `accepted_on`.
pub fn investigation_deadline(calendar: &HolidayCalendar, accepted_on: Date) -> Date {
    calendar.add_working_days(accepted_on, EXTREME_POVERTY_INVESTIGATION_WORKING_DAYS)
}

/// The 特困 confirmation deadline for a notice ending on `notice_end`.
pub fn confirmation_deadline(calendar: &HolidayCalendar, notice_end: Date) -> Date {
    calendar.add_working_days(notice_end, EXTREME_POVERTY_CONFIRMATION_WORKING_DAYS)
}

/// Most working days a review may take with its extension (审核确认办法 art. 12: 30, extendable
/// to 45 in special cases).
pub const MAX_REVIEW_WORKING_DAYS: u32 = 45;

/// Why an extension is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the extended deadline would pass {MAX_REVIEW_WORKING_DAYS} working days after acceptance")]
pub struct ExtensionTooLong;

/// Extends `deadline` by `extra` working days, within 45 working days of acceptance.
pub fn extend_deadline(
    calendar: &HolidayCalendar,
    accepted_on: Date,
    deadline: Date,
    extra: u32,
) -> Result<Date, ExtensionTooLong> {
    let extended = calendar.add_working_days(deadline, extra);
    let latest = calendar.add_working_days(accepted_on, MAX_REVIEW_WORKING_DAYS);
    if extended > latest {
        Err(ExtensionTooLong)
    } else {
        Ok(extended)
    }
}

/// Returns the review deadline: `working_days` working days after acceptance (national
/// 30, counties set shorter ones; weekends and public holidays do not count).
pub fn review_deadline(calendar: &HolidayCalendar, accepted_on: Date, working_days: u32) -> Date {
    calendar.add_working_days(accepted_on, working_days)
}

/// Whether an open application is past its deadline on `today`.
pub fn is_overdue(state: ApplicationState, deadline: Date, today: Date) -> bool {
    state.is_open() && today > deadline
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn staff(subject: &str) -> Investigator {
        Investigator {
            subject: subject.into(),
            signed: true,
        }
    }

    #[test]
    fn the_procedure_runs_in_order_to_a_decision() {
        let mut state = ApplicationState::Submitted;
        for step in [
            Step::Accept,
            Step::Investigate,
            Step::Check,
            Step::StartNotice,
            Step::Approve,
        ] {
            state = state.after(step).expect("in order");
        }
        assert_eq!(state, ApplicationState::Approved);
    }

    #[test]
    fn a_decision_before_the_notice_is_out_of_order() {
        assert!(ApplicationState::Checked.after(Step::Approve).is_err());
        assert!(
            ApplicationState::Submitted
                .after(Step::Investigate)
                .is_err()
        );
        assert!(ApplicationState::Approved.after(Step::Refuse).is_err());
    }

    #[test]
    fn an_objection_sends_the_case_back_to_investigation_and_a_new_notice() {
        // 审核确认办法 art. 20: objections are investigated again, then noticed again.
        let state = ApplicationState::Notice
            .after(Step::Object)
            .expect("during notice");
        assert_eq!(state, ApplicationState::Reinvestigation);
        assert!(state.after(Step::Approve).is_err());
        let state = state.after(Step::Investigate).expect("re-investigation");
        assert_eq!(state.after(Step::StartNotice), Ok(ApplicationState::Notice));
    }

    #[test]
    fn a_home_visit_needs_two_different_staff_who_both_sign() {
        assert_eq!(
            check_visit(&[staff("a")], true, &[], false),
            Err(VisitError::TwoStaffRequired)
        );
        assert_eq!(
            check_visit(&[staff("a"), staff("a")], true, &[], false),
            Err(VisitError::TwoStaffRequired)
        );
        let unsigned = Investigator {
            subject: "b".into(),
            signed: false,
        };
        assert_eq!(
            check_visit(&[staff("a"), unsigned], true, &[], false),
            Err(VisitError::SignatureMissing)
        );
        assert_eq!(
            check_visit(&[staff("a"), staff("b")], false, &[], false),
            Err(VisitError::SignatureMissing)
        );
        assert_eq!(
            check_visit(&[staff("a"), staff("b")], true, &[], false),
            Ok(())
        );
    }

    #[test]
    fn a_close_relative_of_a_case_worker_is_investigated_by_the_county_without_that_worker() {
        let related = vec!["a".to_owned()];
        assert_eq!(
            check_visit(&[staff("b"), staff("c")], true, &related, false),
            Err(VisitError::CountyInvestigates)
        );
        assert_eq!(
            check_visit(&[staff("a"), staff("c")], true, &related, true),
            Err(VisitError::ConflictOfInterest)
        );
        assert_eq!(
            check_visit(&[staff("b"), staff("c")], true, &related, true),
            Ok(())
        );
    }

    #[test]
    fn thirty_working_days_after_21_september_2026_skip_the_national_day_holiday() {
        let calendar = HolidayCalendar::embedded();
        assert_eq!(
            review_deadline(&calendar, date!(2026 - 09 - 21), 30),
            date!(2026 - 11 - 09)
        );
    }

    #[test]
    fn an_open_application_is_overdue_the_day_after_its_deadline() {
        let deadline = date!(2026 - 11 - 09);
        assert!(!is_overdue(ApplicationState::Notice, deadline, deadline));
        assert!(is_overdue(
            ApplicationState::Notice,
            deadline,
            date!(2026 - 11 - 10)
        ));
        assert!(!is_overdue(
            ApplicationState::Approved,
            deadline,
            date!(2026 - 11 - 10)
        ));
    }

    #[test]
    fn public_notice_counts_the_posting_day_as_day_one() {
        // RULES.md "Conventions": posted on the 11th, it runs through the 17th, decision from
        // the 18th; not moved for rest days (2026-04-11 is a Saturday, the 17th a Friday).
        let end = notice_end(date!(2026 - 04 - 11));
        assert_eq!(end, date!(2026 - 04 - 17));
        assert!(!notice_over(end, date!(2026 - 04 - 17)));
        assert!(notice_over(end, date!(2026 - 04 - 18)));
        // An end on a Sunday stays there (2026-03-08 is a Sunday).
        assert_eq!(notice_end(date!(2026 - 03 - 02)), date!(2026 - 03 - 08));
    }

    #[test]
    fn extreme_poverty_investigation_is_15_and_confirmation_10_working_days() {
        // 特困人员认定办法 arts. 11, 13: separate deadlines, not the 低保 review deadline.
        let calendar = HolidayCalendar::embedded();
        // Accepted Monday 2026-09-21: 15 working days skip the National Day holiday.
        assert_eq!(
            investigation_deadline(&calendar, date!(2026 - 09 - 21)),
            calendar.add_working_days(date!(2026 - 09 - 21), 15)
        );
        assert_eq!(
            investigation_deadline(&calendar, date!(2026 - 03 - 02)),
            date!(2026 - 03 - 23)
        );
        // A notice ending Friday 2026-03-13: 10 working days later is Friday 2026-03-27.
        assert_eq!(
            confirmation_deadline(&calendar, date!(2026 - 03 - 13)),
            date!(2026 - 03 - 27)
        );
    }

    #[test]
    fn a_review_deadline_extends_to_at_most_45_working_days_after_acceptance() {
        // 审核确认办法 art. 12: 30 working days, extendable to 45.
        let calendar = HolidayCalendar::embedded();
        let accepted = date!(2026 - 03 - 02);
        let deadline = review_deadline(&calendar, accepted, 30);
        let extended = extend_deadline(&calendar, accepted, deadline, 15).expect("to 45");
        assert_eq!(extended, review_deadline(&calendar, accepted, 45));
        assert_eq!(
            extend_deadline(&calendar, accepted, deadline, 16),
            Err(ExtensionTooLong)
        );
    }
}
