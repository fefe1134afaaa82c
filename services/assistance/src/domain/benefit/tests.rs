use time::macros::date;

use money::Fen;

use super::*;
use crate::domain::household::fixtures::{adult, household};

const STANDARD_2025: i64 = 117_500;
const STANDARD_2026: i64 = 123_000;

fn month(text: &str) -> Month {
    Month::parse(text).expect("month")
}

fn allowance(members: Vec<Member>, approved_on: Date) -> Terms {
    Terms::new(
        BenefitKind::MinimumLiving,
        household(members),
        None,
        false,
        approved_on,
    )
}

fn wages(monthly_fen: i64) -> Vec<Income> {
    vec![Income {
        kind: IncomeKind::Wages,
        monthly_fen: Fen::new(monthly_fen),
    }]
}

#[test]
fn a_benefit_is_paid_from_the_month_after_approval() {
    let policy = Policy::default_policy();
    let terms = allowance(vec![adult("a", 0)], date!(2026 - 01 - 31));
    assert_eq!(
        terms
            .amount_for(&policy, month("2026-01"))
            .expect("in range"),
        None
    );
    assert_eq!(
        terms
            .amount_for(&policy, month("2026-02"))
            .expect("in range")
            .map(|c| c.total_fen.get()),
        Some(STANDARD_2025)
    );
}

#[test]
fn a_new_standard_applies_to_existing_recipients_from_its_effective_month() {
    let policy = Policy::default_policy();
    let terms = allowance(vec![adult("a", 0), adult("b", 0)], date!(2026 - 03 - 10));
    assert_eq!(
        terms
            .amount_for(&policy, month("2026-06"))
            .expect("in range")
            .map(|c| c.total_fen.get()),
        Some(2 * STANDARD_2025)
    );
    let july = terms
        .amount_for(&policy, month("2026-07"))
        .expect("in range")
        .expect("paid");
    assert_eq!(july.total_fen.get(), 2 * STANDARD_2026);
    assert_eq!(july.policy_version, "330723-2026-07-example");
}

#[test]
fn termination_takes_effect_the_month_after_the_event() {
    assert_eq!(
        termination_effective_month(date!(2026 - 05 - 31)),
        month("2026-06")
    );
    assert_eq!(
        termination_effective_month(date!(2026 - 12 - 01)),
        month("2027-01")
    );
}

#[test]
fn a_terminated_benefit_pays_the_month_of_the_event_and_not_after() {
    let policy = Policy::default_policy();
    let mut terms = allowance(vec![adult("a", 0)], date!(2026 - 01 - 05));
    assert_eq!(
        terminate(&mut terms, date!(2026 - 04 - 20)),
        Ok(month("2026-05"))
    );
    assert!(
        terms
            .amount_for(&policy, month("2026-04"))
            .expect("in range")
            .is_some()
    );
    assert_eq!(
        terms
            .amount_for(&policy, month("2026-05"))
            .expect("in range"),
        None
    );
    assert_eq!(
        terminate(&mut terms, date!(2026 - 04 - 21)),
        Err(ChangeError::Ended)
    );
}

#[test]
fn income_rising_above_the_standard_from_work_starts_the_phase_out_at_the_previous_amount() {
    // 审核确认办法 art. 28 / county policy: 6 months of 渐退期 from the month after recording.
    let policy = Policy::default_policy();
    let mut terms = allowance(vec![adult("a", 0), adult("b", 0)], date!(2025 - 09 - 10));
    let outcome = record_income_change(
        &mut terms,
        &policy,
        "b",
        wages(400_000),
        true,
        date!(2025 - 12 - 15),
    );
    assert_eq!(
        outcome,
        Ok(IncomeChangeOutcome::PhaseOut {
            from: month("2026-01"),
            until: month("2026-06"),
            amount_fen: Fen::new(2 * STANDARD_2025)
        })
    );
    assert_eq!(
        terms
            .amount_for(&policy, month("2026-06"))
            .expect("in range")
            .map(|c| c.total_fen.get()),
        Some(2 * STANDARD_2025)
    );
    assert_eq!(
        terms
            .amount_for(&policy, month("2026-07"))
            .expect("in range"),
        None,
        "ends after six months"
    );
    assert_eq!(
        record_income_change(
            &mut terms,
            &policy,
            "b",
            wages(500_000),
            true,
            date!(2026 - 02 - 01)
        ),
        Err(ChangeError::InPhaseOut)
    );
}

#[test]
fn income_rising_above_the_standard_otherwise_lapses_the_benefit_next_month() {
    let policy = Policy::default_policy();
    let mut terms = allowance(vec![adult("a", 0)], date!(2025 - 09 - 10));
    let outcome = record_income_change(
        &mut terms,
        &policy,
        "a",
        vec![Income {
            kind: IncomeKind::Transfer,
            monthly_fen: Fen::new(200_000),
        }],
        false,
        date!(2025 - 12 - 15),
    );
    assert_eq!(
        outcome,
        Ok(IncomeChangeOutcome::Lapsed {
            from: month("2026-01")
        })
    );
    assert_eq!(
        terms
            .amount_for(&policy, month("2026-01"))
            .expect("in range"),
        None
    );
}

#[test]
fn a_smaller_income_change_recomputes_from_the_next_month() {
    let policy = Policy::default_policy();
    let mut terms = allowance(vec![adult("a", 0), adult("b", 0)], date!(2025 - 09 - 10));
    let outcome = record_income_change(
        &mut terms,
        &policy,
        "b",
        wages(50_000),
        false,
        date!(2025 - 12 - 15),
    );
    assert_eq!(
        outcome,
        Ok(IncomeChangeOutcome::Recomputed {
            from: month("2026-01"),
            amount_fen: Fen::new(2 * STANDARD_2025 - 50_000)
        })
    );
    assert_eq!(
        terms
            .amount_for(&policy, month("2025-12"))
            .expect("in range")
            .map(|c| c.total_fen.get()),
        Some(2 * STANDARD_2025),
        "history unchanged"
    );
    assert_eq!(
        record_income_change(
            &mut terms,
            &policy,
            "zz",
            wages(1),
            false,
            date!(2026 - 01 - 01)
        ),
        Err(ChangeError::NotAMember)
    );
}

#[test]
fn the_death_of_the_only_member_ends_the_benefit_the_month_after() {
    let policy = Policy::default_policy();
    let mut terms = allowance(vec![adult("a", 0)], date!(2025 - 09 - 10));
    assert_eq!(
        record_death(&mut terms, &policy, "a", date!(2026 - 02 - 14)),
        Some(DeathOutcome::Terminated {
            from: month("2026-03")
        })
    );
    assert!(
        terms
            .amount_for(&policy, month("2026-02"))
            .expect("in range")
            .is_some()
    );
    assert_eq!(
        terms
            .amount_for(&policy, month("2026-03"))
            .expect("in range"),
        None
    );
    assert_eq!(
        record_death(&mut terms, &policy, "a", date!(2026 - 02 - 14)),
        None,
        "already applied"
    );
}

#[test]
fn the_death_of_one_member_recalculates_the_household_without_them() {
    let policy = Policy::default_policy();
    let mut terms = allowance(vec![adult("a", 0), adult("b", 0)], date!(2025 - 09 - 10));
    let outcome = record_death(&mut terms, &policy, "b", date!(2026 - 02 - 14));
    assert_eq!(
        outcome,
        Some(DeathOutcome::Recalculated {
            from: month("2026-03"),
            amount_fen: Fen::new(STANDARD_2025)
        })
    );
    assert_eq!(
        terms
            .amount_for(&policy, month("2026-02"))
            .expect("in range")
            .map(|c| c.total_fen.get()),
        Some(2 * STANDARD_2025)
    );
    assert_eq!(
        terms
            .amount_for(&policy, month("2026-03"))
            .expect("in range")
            .map(|c| (c.members, c.total_fen.get())),
        Some((1, STANDARD_2025))
    );
    assert_eq!(
        record_death(&mut terms, &policy, "b", date!(2026 - 02 - 14)),
        None,
        "idempotent"
    );
    assert_eq!(
        record_death(&mut terms, &policy, "x", date!(2026 - 02 - 14)),
        None,
        "not a member"
    );
}
