//! Property tests: every amount rule fed extreme figures (i64::MAX, i64::MIN, values near the
//! decode bound) never panics, never wraps, and never approves what the exact (i128) arithmetic
//! would refuse. An overflow is a refusal, never an approval (Defects issue 12, item 2).

use money::Fen;
use proptest::prelude::*;
use time::Date;
use time::macros::date;

use super::allowance::{Ineligible, assess_minimum_living, assess_near_threshold, standing};
use super::benefit::{BenefitKind, Terms, record_income_change};
use super::extreme_poverty::{assess as assess_extreme, support_amount};
use super::household::fixtures::{adult, household};
use super::household::{
    Holdings, Income, IncomeKind, Member, Property, PropertyKind, Verified, apply_verified,
    income_of,
};
use super::month::Month;
use super::policy::{Area, Policy, PolicyVersion};
use super::temporary::{TemporaryType, check_bounds};

const ON: Date = date!(2026 - 03 - 15);

fn version() -> PolicyVersion {
    Policy::default_policy().in_force_on(ON).clone()
}

fn extreme() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MAX),
        Just(i64::MAX - 1),
        Just(i64::MAX / 2 + 1),
        Just(i64::MIN),
        Just(0),
        Just(1_000_000_000_000),
        0i64..=1_000_000_000_000,
        0i64..300_000,
        any::<i64>(),
    ]
}

fn member_with(id: usize, incomes: &[i64], assets: &[i64]) -> Member {
    let mut m = adult(&format!("m{id}"), 0);
    m.incomes = incomes
        .iter()
        .map(|v| Income {
            kind: IncomeKind::Wages,
            monthly_fen: Fen::new(*v),
        })
        .collect();
    m.properties = assets
        .iter()
        .map(|v| Property {
            kind: PropertyKind::Financial,
            value_fen: Fen::new(*v),
        })
        .collect();
    m
}

fn members() -> impl Strategy<Value = Vec<Member>> {
    prop::collection::vec(
        (
            prop::collection::vec(extreme(), 0..4),
            prop::collection::vec(extreme(), 0..3),
        ),
        1..5,
    )
    .prop_map(|list| {
        list.iter()
            .enumerate()
            .map(|(i, (incomes, assets))| member_with(i, incomes, assets))
            .collect()
    })
}

fn wide_income(members: &[&Member]) -> i128 {
    members
        .iter()
        .flat_map(|m| m.incomes.iter())
        .map(|i| i128::from(i.monthly_fen.get()))
        .sum()
}

fn wide_assets(members: &[&Member]) -> i128 {
    members
        .iter()
        .flat_map(|m| m.properties.iter())
        .map(|p| i128::from(p.value_fen.get()))
        .sum()
}

proptest! {
    #[test]
    fn an_approved_minimum_living_allowance_never_rests_on_a_wrapped_income(list in members()) {
        let policy = version();
        let h = household(list);
        let refs: Vec<&Member> = h.members.iter().collect();
        let standard_total = i128::from(policy.standard_fen(h.area).get()) * refs.len() as i128;
        match assess_minimum_living(&policy, &h, None, ON) {
            Ok(computation) => {
                prop_assert!(wide_income(&refs) < standard_total, "approved above the standard");
                let limit = i128::from(policy.property_limits.financial_assets_per_member_fen.get())
                    * refs.len() as i128;
                prop_assert!(wide_assets(&refs) <= limit, "approved over the asset limit");
                prop_assert!(!computation.total_fen.is_negative());
                prop_assert_eq!(
                    Fen::checked_sum(computation.lines.iter().map(|l| l.amount_fen)),
                    Some(computation.total_fen)
                );
                // the gap line is exactly standard x members - income, never a wrapped figure
                let gap = (standard_total - wide_income(&refs)).max(0);
                prop_assert_eq!(i128::from(computation.lines[0].amount_fen.get()), gap);
            }
            Err(Ineligible::IncomeNotBelowStandard) => {
                // refused on income: it is at or above the standard, or its sum does not fit
                // (including negative figures, which decoding refuses before the rules see them)
                prop_assert!(wide_income(&refs) >= standard_total || income_of(&refs).is_none());
            }
            Err(Ineligible::PropertyOverLimit | Ineligible::AmountOutOfRange) => {}
            Err(other) => prop_assert!(false, "unexpected refusal {other:?}"),
        }
    }

    #[test]
    fn two_incomes_of_i64_max_are_refused_on_income_not_approved(extra in extreme()) {
        let policy = version();
        let h = household(vec![member_with(0, &[i64::MAX, i64::MAX, extra.max(0)], &[])]);
        prop_assert_eq!(
            assess_minimum_living(&policy, &h, None, ON),
            Err(Ineligible::IncomeNotBelowStandard)
        );
        let assets = household(vec![member_with(0, &[], &[i64::MAX, i64::MAX, extra.max(0)])]);
        prop_assert_eq!(
            assess_minimum_living(&policy, &assets, None, ON),
            Err(Ineligible::PropertyOverLimit)
        );
    }

    #[test]
    fn standing_and_holdings_never_place_an_extreme_household_low(list in members()) {
        let policy = version();
        let refs: Vec<&Member> = list.iter().collect();
        let holdings = Holdings::of(&refs);
        if holdings.within_limits(&policy, Area::Urban, refs.len()) {
            let limit = i128::from(policy.property_limits.financial_assets_per_member_fen.get())
                * refs.len() as i128;
            prop_assert!(wide_assets(&refs) <= limit);
        }
        let s = standing(&policy, Area::Urban, &refs);
        let standard_total = i128::from(policy.urban_standard_fen.get()) * refs.len() as i128;
        if s == super::allowance::Standing::BelowStandard {
            prop_assert!(wide_income(&refs) < standard_total);
        }
        if s == super::allowance::Standing::NearThreshold {
            prop_assert!(wide_income(&refs) * 100 < standard_total * i128::from(policy.near_threshold_percent));
        }
        let _ = assess_near_threshold(&policy, &household(list.clone()));
    }

    #[test]
    fn individual_coverage_and_extreme_poverty_refuse_extreme_incomes(incomes in prop::collection::vec(extreme(), 1..4)) {
        let policy = version();
        let mut person = member_with(0, &incomes, &[]);
        person.serious_illness = true;
        person.no_capable_supporter = true;
        person.birth_date = date!(1940 - 01 - 01);
        let wide: i128 = incomes.iter().map(|v| i128::from(*v)).sum();
        let standard = i128::from(policy.rural_standard_fen.get());
        if assess_extreme(&policy, Area::Rural, &person, ON).is_ok() {
            prop_assert!(wide < standard);
        }
        let amount = support_amount(&policy, &person, false);
        prop_assert!(amount.is_ok(), "support does not depend on income");
        let h = household(vec![adult("a", 200_000), person.clone()]);
        if let Ok(c) = assess_minimum_living(&policy, &h, Some("m0"), ON) {
            prop_assert!(wide < standard);
            prop_assert!(!c.total_fen.is_negative());
        }
    }

    #[test]
    fn the_economic_check_and_temporary_bounds_handle_extreme_figures(
        declared in extreme(), found in extreme(), assets in extreme(), amount in extreme()
    ) {
        let policy = version();
        let mut h = household(vec![member_with(0, &[declared], &[assets])]);
        apply_verified(&mut h, &[Verified {
            id_number: "m0".into(),
            monthly_income_fen: Fen::new(found),
            financial_assets_fen: Fen::new(found),
            houses: u32::MAX,
            vehicles: 0,
        }]);
        let after = wide_income(&[&h.members[0]]);
        prop_assert!(after >= i128::from(declared), "declared figures are never lowered");
        let bounds = &policy.temporary;
        let ok = check_bounds(&policy, TemporaryType::Expenditure, Fen::new(amount)).is_ok();
        prop_assert_eq!(ok, (bounds.min_fen.get()..=bounds.expenditure_max_fen.get()).contains(&amount));
    }

    #[test]
    fn an_income_change_to_extreme_figures_never_raises_the_benefit_by_wrapping(new_income in extreme()) {
        let policy = Policy::default_policy();
        let mut terms = Terms::new(
            BenefitKind::MinimumLiving,
            household(vec![adult("a", 0), adult("b", 0)]),
            None,
            false,
            date!(2025 - 09 - 10),
        );
        let before = terms
            .amount_for(&policy, Month::of(date!(2025 - 12 - 01)))
            .expect("in range")
            .expect("paid");
        let outcome = record_income_change(
            &mut terms,
            &policy,
            "b",
            vec![Income { kind: IncomeKind::Business, monthly_fen: Fen::new(new_income) }],
            false,
            date!(2025 - 12 - 15),
        );
        if let Ok(super::benefit::IncomeChangeOutcome::Recomputed { amount_fen, .. }) = outcome
            && new_income >= 0
        {
            prop_assert!(amount_fen <= before.total_fen, "more income never raises the amount");
        }
        let _ = terms.amount_for(&policy, Month::of(date!(2026 - 01 - 01)));
    }
}
