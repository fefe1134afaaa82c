//! One test per clause of RULES.md "Second round" §6, on the 2026 holiday calendar.

use civil_calendar::HolidayCalendar;
use time::macros::date;

use super::*;

fn cal() -> HolidayCalendar {
    HolidayCalendar::embedded()
}

fn filed(category: Category, on: Date, known: Option<Date>) -> Result<Date, GrievanceRefusal> {
    on_filing(&cal(), &GrievancePolicy::default(), category, on, known)
}

#[test]
fn an_objection_during_notice_gets_its_new_opinion_within_15_working_days() {
    // Mon 2026-09-21: the Mid-autumn days (09-25..27) and National Day (10-01..07) do not
    // count, Sat 10-10 is a working day.
    assert_eq!(
        filed(Category::NoticeObjection, date!(2026 - 09 - 21), None),
        Ok(date!(2026 - 10 - 19))
    );
}

#[test]
fn a_complaint_is_handled_within_the_countys_working_days() {
    // Fri 2026-04-03; Tomb-sweeping (04-04..06) does not count.
    assert_eq!(
        filed(Category::StaffComplaint, date!(2026 - 04 - 03), None),
        Ok(date!(2026 - 04 - 27))
    );
    let ten = GrievancePolicy {
        complaint_working_days: 10,
    };
    assert_eq!(
        on_filing(
            &cal(),
            &ten,
            Category::StaffComplaint,
            date!(2026 - 04 - 03),
            None
        ),
        Ok(date!(2026 - 04 - 20))
    );
}

#[test]
fn a_petitions_acceptance_is_decided_within_15_calendar_days_moved_off_a_holiday() {
    // Wed 2026-09-16 + 15 = Thu 10-01, National Day: moved to Thu 10-08.
    assert_eq!(
        filed(Category::Petition, date!(2026 - 09 - 16), None),
        Ok(date!(2026 - 10 - 08))
    );
}

#[test]
fn an_accepted_petition_is_handled_within_60_calendar_days_of_acceptance() {
    // Mon 2026-03-02 + 60 = Fri 05-01, Labour Day (05-01..05): moved to Wed 05-06.
    assert_eq!(
        on_acceptance(&cal(), date!(2026 - 03 - 02)),
        date!(2026 - 05 - 06)
    );
}

#[test]
fn petition_handling_is_extended_once_by_30_days_following_the_moved_end() {
    // The period that follows starts the day after 05-06: 05-06 + 30 = Fri 06-05.
    let end = extended(&cal(), Category::Petition, date!(2026 - 05 - 06), false);
    assert_eq!(end, Ok(date!(2026 - 06 - 05)));
    assert_eq!(
        extended(&cal(), Category::Petition, date!(2026 - 06 - 05), true),
        Err(GrievanceRefusal::NotExtendable)
    );
}

#[test]
fn a_petition_review_is_requested_within_30_days_of_the_reply_and_answered_within_30() {
    let reply = date!(2026 - 06 - 01);
    // 06-01 + 30 = Wed 07-01: the last day to ask.
    assert_eq!(
        filed(Category::PetitionReview, date!(2026 - 07 - 01), Some(reply)),
        Ok(date!(2026 - 07 - 31))
    );
    assert_eq!(
        filed(Category::PetitionReview, date!(2026 - 07 - 02), Some(reply)),
        Err(GrievanceRefusal::TooLate(date!(2026 - 07 - 01)))
    );
}

#[test]
fn a_petition_re_review_follows_the_same_limits_as_the_review() {
    let answer = date!(2026 - 08 - 03);
    // 08-03 + 30 = Wed 09-02.
    assert_eq!(
        filed(
            Category::PetitionReReview,
            date!(2026 - 09 - 03),
            Some(answer)
        ),
        Err(GrievanceRefusal::TooLate(date!(2026 - 09 - 02)))
    );
    assert_eq!(
        filed(
            Category::PetitionReReview,
            date!(2026 - 09 - 02),
            Some(answer)
        ),
        Ok(date!(2026 - 10 - 08)) // 09-02 + 30 = Fri 10-02, National Day: Thu 10-08
    );
    assert_eq!(Category::PetitionReReview.extension(), None);
}

#[test]
fn an_administrative_review_is_filed_within_60_days_of_knowing_and_decided_within_60() {
    let known = date!(2026 - 03 - 20);
    // 03-20 + 60 = Tue 05-19: still in time; decided by 05-19 + 60 = Sat 07-18 -> Mon 07-20.
    assert_eq!(
        filed(
            Category::AdministrativeReview,
            date!(2026 - 05 - 19),
            Some(known)
        ),
        Ok(date!(2026 - 07 - 20))
    );
    assert_eq!(
        filed(
            Category::AdministrativeReview,
            date!(2026 - 05 - 20),
            Some(known)
        ),
        Err(GrievanceRefusal::TooLate(date!(2026 - 05 - 19)))
    );
    assert_eq!(
        filed(Category::AdministrativeReview, date!(2026 - 05 - 19), None),
        Err(GrievanceRefusal::KnownOnRequired)
    );
}

#[test]
fn an_administrative_review_is_extended_once_by_30_days() {
    // 07-20 + 30 = Wed 08-19.
    assert_eq!(
        extended(
            &cal(),
            Category::AdministrativeReview,
            date!(2026 - 07 - 20),
            false
        ),
        Ok(date!(2026 - 08 - 19))
    );
}

#[test]
fn objections_and_complaints_are_not_extended() {
    for c in [Category::NoticeObjection, Category::StaffComplaint] {
        assert_eq!(
            extended(&cal(), c, date!(2026 - 05 - 06), false),
            Err(GrievanceRefusal::NotExtendable)
        );
    }
}

#[test]
fn a_grievance_is_overdue_from_the_day_after_its_deadline_and_escalated_once() {
    let deadline = date!(2026 - 05 - 06);
    assert!(!is_overdue(false, deadline, deadline));
    assert!(is_overdue(false, deadline, date!(2026 - 05 - 07)));
    assert!(!is_overdue(true, deadline, date!(2026 - 05 - 07)));
    assert!(needs_escalation(
        false,
        false,
        deadline,
        date!(2026 - 05 - 07)
    ));
    assert!(!needs_escalation(
        false,
        true,
        deadline,
        date!(2026 - 05 - 07)
    ));
}

#[test]
fn a_petition_is_resolved_only_after_acceptance_and_any_grievance_only_once() {
    assert_eq!(
        resolve(Category::Petition, false, false),
        Err(GrievanceRefusal::NotAccepted)
    );
    assert_eq!(resolve(Category::Petition, true, false), Ok(()));
    assert_eq!(resolve(Category::StaffComplaint, false, false), Ok(()));
    assert_eq!(
        resolve(Category::StaffComplaint, false, true),
        Err(GrievanceRefusal::Resolved)
    );
}

#[test]
fn every_category_has_a_code_that_parses_back_and_a_group() {
    for c in CATEGORIES {
        assert_eq!(Category::parse(c.code()), Some(c));
        assert!(c.code().starts_with(match c.group() {
            Group::Objection => "objection.",
            Group::Complaint => "complaint.",
            Group::Petition => "petition.",
            Group::AdministrativeReview => "administrative_review.",
        }));
    }
}
