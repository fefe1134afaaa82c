use time::macros::date;

use super::*;

const RAISED: Date = date!(2026 - 03 - 02);
const DUE: Date = date!(2026 - 03 - 11);

fn verdict(level: Level, rule: &str) -> Verdict {
    Verdict {
        level,
        rule: rule.into(),
        due_working_days: 7,
    }
}

fn raised() -> Warning {
    raise(
        &verdict(Level::Orange, "M/medical"),
        "330723101",
        RAISED,
        DUE,
    )
}

fn staff(a: &str, b: &str) -> Vec<Staff> {
    [a, b]
        .iter()
        .map(|s| Staff {
            subject: (*s).into(),
            name: (*s).into(),
        })
        .collect()
}

fn visit_on(date: Date) -> Visit {
    Visit {
        date,
        staff: staff("a", "b"),
        finding: "income fell after hospital stay".into(),
        recorded_by: "a".into(),
    }
}

fn visited() -> Warning {
    let mut w = raised();
    assign(&mut w, "clerk-1").expect("assign");
    record_visit(&mut w, visit_on(RAISED), RAISED).expect("visit");
    w
}

fn clerk() -> Closer {
    Closer {
        subject: "a".into(),
        is_approver: false,
    }
}

fn facts(of_household: bool, dated: Date) -> EvidenceFacts {
    EvidenceFacts {
        of_household,
        dated: Some(dated),
    }
}

#[test]
fn a_raised_warning_has_the_verdicts_level_owner_and_due_date() {
    let w = raised();
    assert_eq!(
        (w.level, w.state, w.owner_region.as_str(), w.due_on),
        (Level::Orange, State::Raised, "330723101", DUE)
    );
}

#[test]
fn a_merged_signal_of_the_same_level_changes_nothing() {
    let mut w = raised();
    assert!(!merge(
        &mut w,
        &verdict(Level::Orange, "M/other"),
        date!(2026 - 03 - 13)
    ));
    assert_eq!(
        (w.level, w.due_on, w.rule.as_str()),
        (Level::Orange, DUE, "M/medical")
    );
}

#[test]
fn a_merged_more_urgent_signal_raises_the_level_and_brings_the_due_date_forward() {
    let mut w = raised();
    assert!(merge(
        &mut w,
        &verdict(Level::Red, "M/housing"),
        date!(2026 - 03 - 05)
    ));
    assert_eq!(
        (w.level, w.due_on, w.rule.as_str()),
        (Level::Red, date!(2026 - 03 - 05), "M/housing")
    );
}

#[test]
fn a_merged_less_urgent_signal_keeps_the_level() {
    let mut w = raised();
    merge(
        &mut w,
        &verdict(Level::Yellow, "M/x"),
        date!(2026 - 03 - 20),
    );
    assert_eq!(w.level, Level::Orange);
}

#[test]
fn assigning_moves_a_raised_warning_to_assigned() {
    let mut w = raised();
    assign(&mut w, "clerk-1").expect("assign");
    assert_eq!(
        (w.state, w.assignee.as_deref()),
        (State::Assigned, Some("clerk-1"))
    );
}

#[test]
fn a_closed_warning_cannot_be_assigned_visited_or_closed_again() {
    let mut w = visited();
    close(
        &mut w,
        Some(Evidence::Referral {
            to: "医保".into()
        }),
        None,
        &clerk(),
        "r",
        RAISED,
    )
    .expect("close");
    assert_eq!(assign(&mut w, "x"), Err(WarningRefusal::Closed));
    assert_eq!(
        record_visit(&mut w, visit_on(RAISED), RAISED),
        Err(WarningRefusal::Closed)
    );
    let again = close(
        &mut w,
        Some(Evidence::Dismissal),
        None,
        &clerk(),
        "r",
        RAISED,
    );
    assert_eq!(again, Err(WarningRefusal::Closed));
}

#[test]
fn a_visit_needs_an_assigned_warning() {
    let mut w = raised();
    let r = record_visit(&mut w, visit_on(RAISED), RAISED);
    assert_eq!(r, Err(WarningRefusal::NotAssigned));
}

#[test]
fn a_visit_is_dated_between_raising_and_today() {
    let mut w = raised();
    assign(&mut w, "c").expect("assign");
    let early = record_visit(&mut w, visit_on(date!(2026 - 03 - 01)), RAISED);
    let future = record_visit(&mut w, visit_on(date!(2026 - 03 - 03)), RAISED);
    assert_eq!(
        (early, future),
        (
            Err(WarningRefusal::VisitDate),
            Err(WarningRefusal::VisitDate)
        )
    );
}

#[test]
fn a_visit_is_made_by_two_distinct_named_staff() {
    assert!(two_distinct_staff(&staff("a", "b")));
    assert!(!two_distinct_staff(&staff("a", "a")));
    assert!(!two_distinct_staff(&staff("a", " ")));
    assert!(!two_distinct_staff(&staff("a", "b")[..1]));
}

#[test]
fn closing_without_a_visit_is_refused() {
    let mut w = raised();
    assign(&mut w, "c").expect("assign");
    let r = close(
        &mut w,
        Some(Evidence::Dismissal),
        None,
        &clerk(),
        "r",
        RAISED,
    );
    assert_eq!(r, Err(WarningRefusal::NotVisited));
}

#[test]
fn closing_without_evidence_is_refused() {
    let mut w = visited();
    let r = close(&mut w, None, None, &clerk(), "", RAISED);
    assert_eq!(r, Err(WarningRefusal::EvidenceRequired));
    assert_eq!(w.state, State::Visited);
}

#[test]
fn a_new_application_of_the_household_closes_the_warning() {
    let mut w = visited();
    let evidence = Evidence::Application { id: "app-1".into() };
    close(
        &mut w,
        Some(evidence.clone()),
        Some(&facts(true, RAISED)),
        &clerk(),
        "",
        RAISED,
    )
    .expect("closed");
    assert_eq!(w.state, State::Closed);
    assert_eq!(w.closure.map(|c| c.evidence), Some(evidence));
}

#[test]
fn an_application_of_another_household_is_no_evidence() {
    let mut w = visited();
    let e = Evidence::Application { id: "x".into() };
    let r = close(
        &mut w,
        Some(e),
        Some(&facts(false, RAISED)),
        &clerk(),
        "",
        RAISED,
    );
    assert_eq!(r, Err(WarningRefusal::OtherHousehold));
}

#[test]
fn evidence_older_than_the_warning_is_refused() {
    let mut w = visited();
    let e = Evidence::BenefitChange { id: "b".into() };
    let r = close(
        &mut w,
        Some(e),
        Some(&facts(true, date!(2026 - 02 - 27))),
        &clerk(),
        "",
        RAISED,
    );
    assert_eq!(r, Err(WarningRefusal::BeforeWarning));
}

#[test]
fn a_dismissal_is_approved_by_a_county_approver_who_did_not_visit() {
    let approver = |subject: &str| Closer {
        subject: subject.into(),
        is_approver: true,
    };
    let mut w = visited();
    let by_clerk = close(
        &mut w,
        Some(Evidence::Dismissal),
        None,
        &clerk(),
        "no need",
        RAISED,
    );
    let by_visitor = close(
        &mut w,
        Some(Evidence::Dismissal),
        None,
        &approver("b"),
        "ok",
        RAISED,
    );
    assert_eq!(by_clerk, Err(WarningRefusal::DismissalNeedsApprover));
    assert_eq!(by_visitor, Err(WarningRefusal::DismissalNeedsApprover));
    close(
        &mut w,
        Some(Evidence::Dismissal),
        None,
        &approver("boss"),
        "income restored",
        RAISED,
    )
    .expect("dismissed");
    assert_eq!(w.closure.map(|c| c.reason), Some("income restored".into()));
}

#[test]
fn an_open_warning_is_overdue_the_day_after_its_due_date() {
    let w = raised();
    assert!(!is_overdue(&w, DUE));
    assert!(is_overdue(&w, date!(2026 - 03 - 12)));
}

#[test]
fn an_overdue_warning_escalates_to_the_county_once() {
    let mut w = raised();
    assert!(!escalate(&mut w, DUE));
    assert!(escalate(&mut w, date!(2026 - 03 - 12)));
    assert!(!escalate(&mut w, date!(2026 - 03 - 13)));
    assert!(w.escalated);
}

#[test]
fn a_closed_warning_is_never_overdue_and_knows_whether_it_was_in_time() {
    let mut w = visited();
    close(
        &mut w,
        Some(Evidence::Referral {
            to: "住建".into()
        }),
        None,
        &clerk(),
        "r",
        date!(2026 - 03 - 12),
    )
    .expect("close");
    assert!(!is_overdue(&w, date!(2026 - 04 - 01)));
    assert_eq!(closed_in_time(&w), Some(false));
}
