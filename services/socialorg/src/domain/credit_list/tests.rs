use time::macros::date;

use super::*;

fn cal() -> HolidayCalendar {
    HolidayCalendar::embedded()
}

fn org(registered_on: Date, reported: &[i32]) -> OrgFacts {
    OrgFacts {
        registered_on,
        active: true,
        reported_years: reported.iter().copied().collect(),
    }
}

fn listing(id: &str, list: CreditList, trigger: Trigger, listed_on: Date) -> Listing {
    Listing {
        id: id.into(),
        list,
        trigger,
        listed_on,
        report_year: None,
        corrected_on: None,
        removal_due: None,
        removed_on: None,
        removal_reason: None,
    }
}

/// Applies actions as the store does, giving new listings ids n1, n2, ….
fn apply(listings: &mut Vec<Listing>, actions: &[Action]) {
    for a in actions {
        match a {
            Action::List(new) => {
                let mut l = listing(
                    &format!("n{}", listings.len() + 1),
                    new.list,
                    new.trigger,
                    new.listed_on,
                );
                l.report_year = new.report_year;
                listings.push(l);
            }
            Action::Remove {
                listing_id,
                removed_on,
                reason,
            } => {
                let l = listings
                    .iter_mut()
                    .find(|l| &l.id == listing_id)
                    .expect("known listing");
                l.removed_on = Some(*removed_on);
                l.removal_reason = Some(*reason);
            }
        }
    }
}

#[test]
fn breaches_go_to_the_list_the_rules_name_art_11_and_15() {
    assert_eq!(list_for(Trigger::Unreachable, 0), CreditList::Abnormal);
    assert_eq!(
        list_for(Trigger::OverdueCorrection, 0),
        CreditList::Abnormal
    );
    assert_eq!(list_for(Trigger::Warning, 0), CreditList::Abnormal);
    assert_eq!(
        list_for(Trigger::Fine, SERIOUS_FINE_FEN - 1),
        CreditList::Abnormal
    );
    assert_eq!(
        list_for(Trigger::Fine, SERIOUS_FINE_FEN),
        CreditList::Serious
    );
    assert_eq!(list_for(Trigger::SuspensionOrder, 0), CreditList::Serious);
    assert_eq!(list_for(Trigger::Revocation, 0), CreditList::Serious);
}

#[test]
fn a_non_reporter_is_listed_the_day_after_the_deadline_art_11() {
    let o = org(date!(2023 - 04 - 01), &[2023]);
    // 2024 report due 2025-06-03 (holiday moved): nothing on 06-03, listed from 06-04.
    assert!(sweep(&cal(), &o, &[], date!(2025 - 06 - 03)).is_empty());
    let actions = sweep(&cal(), &o, &[], date!(2025 - 06 - 10));
    assert_eq!(actions.len(), 1);
    let Action::List(new) = &actions[0] else {
        panic!("expected a listing")
    };
    assert_eq!(new.list, CreditList::Abnormal);
    assert_eq!(new.trigger, Trigger::MissedAnnualReport);
    assert_eq!(new.listed_on, date!(2025 - 06 - 04));
    assert_eq!(new.report_year, Some(2024));
    assert!(new.evidence.contains("2024"));
}

#[test]
fn a_reporter_and_an_organisation_registered_after_the_year_are_not_listed() {
    assert!(
        sweep(
            &cal(),
            &org(date!(2023 - 04 - 01), &[2024]),
            &[],
            date!(2025 - 06 - 10)
        )
        .is_empty()
    );
    assert!(
        sweep(
            &cal(),
            &org(date!(2025 - 01 - 02), &[]),
            &[],
            date!(2025 - 06 - 10)
        )
        .is_empty()
    );
}

#[test]
fn the_sweep_is_idempotent_once_applied() {
    let o = org(date!(2023 - 04 - 01), &[]);
    let mut ls = Vec::new();
    let first = sweep(&cal(), &o, &ls, date!(2025 - 06 - 10));
    apply(&mut ls, &first);
    assert!(sweep(&cal(), &o, &ls, date!(2025 - 06 - 10)).is_empty());
    assert!(sweep(&cal(), &o, &ls, date!(2025 - 06 - 11)).is_empty());
}

#[test]
fn a_deregistered_organisation_is_not_swept() {
    let mut o = org(date!(2023 - 04 - 01), &[]);
    o.active = false;
    assert!(sweep(&cal(), &o, &[], date!(2025 - 06 - 10)).is_empty());
}

#[test]
fn a_correction_removes_the_listing_five_working_days_later_art_14() {
    let l = listing(
        "a",
        CreditList::Abnormal,
        Trigger::Unreachable,
        date!(2026 - 01 - 05),
    );
    // Thursday 2026-04-30 + 5 working days skips the Labour Day holiday (05-01..05-05):
    // 05-06, 05-07, 05-08, 05-09 (a made-up working Saturday), 05-11.
    let due = correct(&cal(), &l, date!(2026 - 04 - 30)).expect("correctable");
    assert_eq!(due, date!(2026 - 05 - 11));
    let mut corrected = l.clone();
    corrected.corrected_on = Some(date!(2026 - 04 - 30));
    corrected.removal_due = Some(due);
    let o = org(date!(2020 - 01 - 01), &[2024, 2025]);
    assert!(sweep(&cal(), &o, &[corrected.clone()], date!(2026 - 05 - 08)).is_empty());
    assert_eq!(
        sweep(&cal(), &o, &[corrected], date!(2026 - 05 - 11)),
        vec![Action::Remove {
            listing_id: "a".into(),
            removed_on: due,
            reason: RemovalReason::Corrected
        }]
    );
}

#[test]
fn every_abnormal_trigger_is_removed_after_correction() {
    for trigger in [
        Trigger::Unreachable,
        Trigger::OverdueCorrection,
        Trigger::Warning,
        Trigger::Fine,
    ] {
        let l = listing("a", CreditList::Abnormal, trigger, date!(2026 - 01 - 05));
        assert!(
            correct(&cal(), &l, date!(2026 - 02 - 02)).is_ok(),
            "{trigger:?}"
        );
    }
}

#[test]
fn serious_listings_missed_reports_and_removed_listings_are_not_corrected_by_record() {
    let serious = listing(
        "s",
        CreditList::Serious,
        Trigger::SuspensionOrder,
        date!(2026 - 01 - 05),
    );
    assert!(matches!(
        correct(&cal(), &serious, date!(2026 - 02 - 02)),
        Err(Refusal::NotCorrectable(_))
    ));
    let missed = listing(
        "m",
        CreditList::Abnormal,
        Trigger::MissedAnnualReport,
        date!(2026 - 01 - 05),
    );
    assert!(matches!(
        correct(&cal(), &missed, date!(2026 - 02 - 02)),
        Err(Refusal::NotCorrectable(_))
    ));
    let mut removed = listing(
        "r",
        CreditList::Abnormal,
        Trigger::Warning,
        date!(2026 - 01 - 05),
    );
    removed.removed_on = Some(date!(2026 - 01 - 20));
    assert_eq!(
        correct(&cal(), &removed, date!(2026 - 02 - 02)),
        Err(Refusal::ListingNotActive)
    );
}

#[test]
fn filing_the_missed_report_corrects_its_listing_art_14() {
    let mut l = listing(
        "m",
        CreditList::Abnormal,
        Trigger::MissedAnnualReport,
        date!(2025 - 06 - 04),
    );
    l.report_year = Some(2024);
    let other = listing(
        "u",
        CreditList::Abnormal,
        Trigger::Unreachable,
        date!(2025 - 06 - 04),
    );
    let ls = [l, other];
    let corrected = report_filed(&cal(), &ls, 2024, date!(2025 - 07 - 01));
    assert_eq!(corrected.len(), 1);
    assert_eq!(corrected[0].0.id, "m");
    assert_eq!(corrected[0].1, date!(2025 - 07 - 08));
    assert!(report_filed(&cal(), &ls, 2023, date!(2025 - 07 - 01)).is_empty());
}

#[test]
fn two_years_on_the_abnormal_list_escalate_to_the_serious_list_art_15() {
    let o = org(date!(2020 - 01 - 01), &[2023, 2024, 2025]);
    let ls = vec![listing(
        "a",
        CreditList::Abnormal,
        Trigger::Unreachable,
        date!(2024 - 03 - 01),
    )];
    assert!(sweep(&cal(), &o, &ls, date!(2026 - 02 - 28)).is_empty());
    let actions = sweep(&cal(), &o, &ls, date!(2026 - 03 - 01));
    assert_eq!(
        actions,
        vec![
            Action::List(NewListing {
                list: CreditList::Serious,
                trigger: Trigger::AbnormalTwoYears,
                listed_on: date!(2026 - 03 - 01),
                report_year: None,
                evidence:
                    "on the abnormal list since 2024-03-01 without interruption or correction"
                        .into(),
            }),
            Action::Remove {
                listing_id: "a".into(),
                removed_on: date!(2026 - 03 - 01),
                reason: RemovalReason::Escalated
            },
        ]
    );
    let mut applied = ls.clone();
    apply(&mut applied, &actions);
    assert!(
        sweep(&cal(), &o, &applied, date!(2026 - 03 - 02)).is_empty(),
        "escalates once"
    );
}

#[test]
fn a_new_breach_while_listed_restarts_the_two_year_clock_art_13() {
    let o = org(date!(2020 - 01 - 01), &[2023, 2024, 2025]);
    let ls = vec![
        listing(
            "a",
            CreditList::Abnormal,
            Trigger::Unreachable,
            date!(2024 - 03 - 01),
        ),
        listing(
            "b",
            CreditList::Abnormal,
            Trigger::Warning,
            date!(2025 - 01 - 10),
        ),
    ];
    assert_eq!(
        escalation_clock(&ls, date!(2026 - 03 - 01)),
        Some(date!(2025 - 01 - 10))
    );
    assert!(sweep(&cal(), &o, &ls, date!(2026 - 03 - 01)).is_empty());
    assert!(sweep(&cal(), &o, &ls, date!(2027 - 01 - 09)).is_empty());
    assert!(
        matches!(&sweep(&cal(), &o, &ls, date!(2027 - 01 - 10))[0], Action::List(n) if n.listed_on == date!(2027 - 01 - 10))
    );
}

#[test]
fn a_removed_new_breach_still_restarted_the_clock_while_the_first_listing_stays() {
    let mut b = listing(
        "b",
        CreditList::Abnormal,
        Trigger::Warning,
        date!(2025 - 01 - 10),
    );
    b.removed_on = Some(date!(2025 - 02 - 01));
    let ls = vec![
        listing(
            "a",
            CreditList::Abnormal,
            Trigger::Unreachable,
            date!(2024 - 03 - 01),
        ),
        b,
    ];
    assert_eq!(
        escalation_clock(&ls, date!(2026 - 03 - 01)),
        Some(date!(2025 - 01 - 10))
    );
}

#[test]
fn a_listing_after_removal_starts_a_new_spell() {
    let mut a = listing(
        "a",
        CreditList::Abnormal,
        Trigger::Unreachable,
        date!(2023 - 03 - 01),
    );
    a.removed_on = Some(date!(2024 - 01 - 10));
    let b = listing(
        "b",
        CreditList::Abnormal,
        Trigger::Warning,
        date!(2024 - 06 - 01),
    );
    assert_eq!(escalation_clock(&[a.clone()], date!(2024 - 03 - 01)), None);
    assert_eq!(
        escalation_clock(&[a, b], date!(2025 - 03 - 01)),
        Some(date!(2024 - 06 - 01))
    );
}

#[test]
fn serious_list_removal_needs_two_clean_years_art_16() {
    let s = listing(
        "s",
        CreditList::Serious,
        Trigger::Fine,
        date!(2024 - 03 - 01),
    );
    assert_eq!(
        serious_list_removal(std::slice::from_ref(&s), date!(2026 - 02 - 28)),
        Err(Refusal::NotTwoCleanYears {
            possible_from: date!(2026 - 03 - 01)
        })
    );
    assert_eq!(
        serious_list_removal(std::slice::from_ref(&s), date!(2026 - 03 - 01)),
        Ok(vec![Action::Remove {
            listing_id: "s".into(),
            removed_on: date!(2026 - 03 - 01),
            reason: RemovalReason::CleanYears
        }])
    );
}

#[test]
fn a_new_breach_restarts_the_clean_years() {
    let s = listing(
        "s",
        CreditList::Serious,
        Trigger::Fine,
        date!(2024 - 03 - 01),
    );
    let w = listing(
        "w",
        CreditList::Abnormal,
        Trigger::Warning,
        date!(2025 - 05 - 01),
    );
    assert_eq!(
        serious_list_removal(&[s, w], date!(2026 - 03 - 01)),
        Err(Refusal::NotTwoCleanYears {
            possible_from: date!(2027 - 05 - 01)
        })
    );
}

#[test]
fn removal_is_refused_when_not_on_the_serious_list() {
    let a = listing(
        "a",
        CreditList::Abnormal,
        Trigger::Warning,
        date!(2020 - 03 - 01),
    );
    assert_eq!(
        serious_list_removal(&[a], date!(2026 - 03 - 01)),
        Err(Refusal::NotOnSeriousList)
    );
}

#[test]
fn deregistration_ends_every_listing_in_force_art_17() {
    let s = listing(
        "s",
        CreditList::Serious,
        Trigger::Fine,
        date!(2024 - 03 - 01),
    );
    let a = listing(
        "a",
        CreditList::Abnormal,
        Trigger::Warning,
        date!(2025 - 03 - 01),
    );
    let mut gone = listing(
        "g",
        CreditList::Abnormal,
        Trigger::Warning,
        date!(2023 - 03 - 01),
    );
    gone.removed_on = Some(date!(2023 - 05 - 01));
    let actions = deregistration_removals(&[s, a, gone], date!(2026 - 01 - 05));
    let ids: Vec<_> = actions
        .iter()
        .map(|a| match a {
            Action::Remove {
                listing_id, reason, ..
            } => {
                assert_eq!(*reason, RemovalReason::Deregistered);
                listing_id.as_str()
            }
            Action::List(_) => panic!("no listing on deregistration"),
        })
        .collect();
    assert_eq!(ids, ["s", "a"]);
}

#[test]
fn two_years_after_29_february_ends_on_28_february() {
    assert_eq!(years_after(date!(2024 - 02 - 29), 2), date!(2026 - 02 - 28));
}
