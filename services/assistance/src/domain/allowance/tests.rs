use proptest::prelude::*;
use time::macros::date;

use super::*;
use crate::domain::household::fixtures::{adult, household, member};
use crate::domain::household::{Disability, DisabilityKind};
use crate::domain::policy::{Policy, Rounding};

const ON: Date = date!(2026 - 01 - 10);
const STANDARD: i64 = 117_500;

fn version() -> PolicyVersion {
    Policy::default_policy().in_force_on(ON).clone()
}

/// The 低保 amount, in range for every figure these tests use.
fn amount(policy: &PolicyVersion, area: Area, members: &[&Member], on: Date) -> Computation {
    minimum_living_amount(policy, area, members, on).expect("in range")
}

fn refs(members: &[Member]) -> Vec<&Member> {
    members.iter().collect()
}

#[test]
fn the_allowance_is_the_gap_to_the_standard_times_members() {
    // 审核确认办法 art. 6 / county policy: (standard - per-member income) x members.
    let members = [adult("a", 100_000), adult("b", 50_000), adult("c", 0)];
    let computation = amount(&version(), Area::Rural, &refs(&members), ON);
    assert_eq!(computation.total_fen.get(), 3 * STANDARD - 150_000);
    assert_eq!(computation.policy_version, "330723-2025-07-example");
    assert_eq!(computation.lines[0].item, "gap");
}

#[test]
fn category_add_ons_stack_across_categories() {
    let mut elder = member("e", date!(1950 - 03 - 01), 0);
    elder.disability = Some(Disability {
        grade: 1,
        kind: DisabilityKind::Physical,
    });
    let child = member("c", date!(2016 - 03 - 01), 0);
    let computation = amount(&version(), Area::Rural, &[&elder, &child], ON);
    let addons = &version().addons;
    let items: Vec<&str> = computation.lines.iter().map(|l| l.item.as_str()).collect();
    assert_eq!(
        items,
        [
            "gap",
            "addon:elderly",
            "addon:severely_disabled",
            "addon:child"
        ]
    );
    assert_eq!(
        computation.total_fen.get(),
        2 * STANDARD
            + addons.elderly_fen.get()
            + addons.severely_disabled_fen.get()
            + addons.child_fen.get()
    );
}

#[test]
fn the_elderly_add_on_starts_on_the_birthday_of_the_policy_age() {
    let turns_70_on = member("e", date!(1956 - 01 - 10), 0);
    let turns_70_next_day = member("f", date!(1956 - 01 - 11), 0);
    let has = |m: &Member| {
        amount(&version(), Area::Rural, &[m], ON)
            .lines
            .iter()
            .any(|l| l.item == "addon:elderly")
    };
    assert!(has(&turns_70_on));
    assert!(!has(&turns_70_next_day));
}

#[test]
fn the_gap_is_never_negative_when_income_exceeds_the_standard() {
    let members = [adult("a", 500_000)];
    let computation = amount(&version(), Area::Rural, &refs(&members), ON);
    assert_eq!(computation.lines[0].amount_fen, Fen::ZERO);
    assert_eq!(computation.total_fen, Fen::ZERO);
}

#[test]
fn the_total_is_rounded_up_to_whole_yuan_when_the_policy_says_so() {
    let members = [adult("a", 100_001)];
    let computation = amount(&version(), Area::Rural, &refs(&members), ON);
    assert_eq!(
        computation.total_fen.get(),
        17_500,
        "17,499 fen rounds up to 175 yuan"
    );
    assert_eq!(
        computation
            .lines
            .last()
            .map(|l| (l.item.as_str(), l.amount_fen.get())),
        Some(("rounding", 1))
    );

    let mut exact = version();
    exact.rounding = Rounding::None;
    assert_eq!(
        amount(&exact, Area::Rural, &refs(&members), ON)
            .total_fen
            .get(),
        17_499
    );
}

#[test]
fn near_threshold_starts_at_the_standard_and_ends_below_the_multiple() {
    // Two members: standard total 235,000; 1.5x = 352,500 (county policy multiple).
    let at = |income: i64| {
        standing(
            &version(),
            Area::Rural,
            &refs(&[adult("a", income), adult("b", 0)]),
        )
    };
    assert_eq!(at(234_999), Standing::BelowStandard);
    assert_eq!(at(235_000), Standing::NearThreshold);
    assert_eq!(at(352_499), Standing::NearThreshold);
    assert_eq!(at(352_500), Standing::AboveThreshold);
}

#[test]
fn a_near_threshold_household_gets_no_monthly_allowance() {
    let h = household(vec![adult("a", 240_000), adult("b", 0)]);
    assert_eq!(
        assess_near_threshold(&version(), &h).map(|c| c.total_fen),
        Ok(Fen::ZERO)
    );
    let below = household(vec![adult("a", 0), adult("b", 0)]);
    assert_eq!(
        assess_near_threshold(&version(), &below),
        Err(Ineligible::HouseholdNotNearThreshold)
    );
}

#[test]
fn property_over_the_limit_refuses_the_allowance() {
    let mut a = adult("a", 0);
    a.properties.push(crate::domain::household::Property {
        kind: crate::domain::household::PropertyKind::Vehicle,
        value_fen: Fen::new(1_000_000),
    });
    let h = household(vec![a]);
    assert_eq!(
        assess_minimum_living(&version(), &h, None, ON),
        Err(Ineligible::PropertyOverLimit)
    );
}

#[test]
fn individual_coverage_computes_a_severely_disabled_member_as_a_household_of_one() {
    // 审核确认办法 art. 9: 单人户 within a 低保边缘 household.
    let mut disabled = adult("d", 0);
    disabled.disability = Some(Disability {
        grade: 2,
        kind: DisabilityKind::Physical,
    });
    let h = household(vec![adult("a", 240_000), disabled]);
    let computation = assess_minimum_living(&version(), &h, Some("d"), ON).expect("covered alone");
    assert_eq!(computation.members, 1);
    assert_eq!(
        computation.total_fen.get(),
        STANDARD + version().addons.severely_disabled_fen.get()
    );
}

#[test]
fn individual_coverage_needs_a_qualifying_member_and_a_near_threshold_household() {
    let mut ill = adult("d", 0);
    ill.serious_illness = true;
    let near = household(vec![adult("a", 400_000), ill.clone(), adult("x", 0)]);
    assert!(
        assess_minimum_living(
            &version(),
            &household(vec![adult("a", 300_000), ill.clone()]),
            Some("d"),
            ON
        )
        .is_ok()
    );
    assert_eq!(
        assess_minimum_living(&version(), &near, Some("x"), ON),
        Err(Ineligible::MemberNotQualified)
    );
    let poor = household(vec![adult("a", 0), ill]);
    assert_eq!(
        assess_minimum_living(&version(), &poor, Some("d"), ON),
        Err(Ineligible::HouseholdNotNearThreshold)
    );
    let rich = household(vec![adult("a", 9_000_000), adult("d", 0)]);
    assert_eq!(
        assess_minimum_living(&version(), &rich, Some("d"), ON),
        Err(Ineligible::HouseholdNotNearThreshold)
    );
}

#[test]
fn a_household_at_the_standard_is_refused_the_allowance() {
    let h = household(vec![adult("a", STANDARD)]);
    assert_eq!(
        assess_minimum_living(&version(), &h, None, ON),
        Err(Ineligible::IncomeNotBelowStandard)
    );
}

proptest! {
    #[test]
    fn allowances_are_never_negative_and_whole_yuan(incomes in prop::collection::vec(0i64..2_000_000, 1..7)) {
        let members: Vec<Member> = incomes.iter().enumerate().map(|(i, income)| adult(&i.to_string(), *income)).collect();
        let computation = amount(&version(), Area::Urban, &refs(&members), ON);
        prop_assert!(!computation.total_fen.is_negative());
        prop_assert_eq!(computation.total_fen.get() % 100, 0);
        prop_assert_eq!(Fen::checked_sum(computation.lines.iter().map(|l| l.amount_fen)), Some(computation.total_fen));
    }
}

#[test]
fn add_ons_may_be_a_share_of_the_members_own_standard() {
    // County policy: the elderly add-on as 10% of the member's own (urban or rural) standard.
    let mut policy = version();
    policy.urban_standard_fen = Fen::new(130_000);
    policy.rural_standard_fen = Fen::new(110_000);
    policy.addons.elderly_percent = Some(10);
    let mut elder = member("e", date!(1950 - 03 - 01), 0);
    let rural = amount(&policy, Area::Rural, &[&elder], ON);
    let line = rural
        .lines
        .iter()
        .find(|l| l.item == "addon:elderly")
        .expect("elderly add-on");
    assert_eq!(line.amount_fen, Fen::new(11_000));
    elder.own_area = Some(Area::Urban);
    let mixed = amount(&policy, Area::Rural, &[&elder], ON);
    let line = mixed
        .lines
        .iter()
        .find(|l| l.item == "addon:elderly")
        .expect("elderly add-on");
    assert_eq!(
        line.amount_fen,
        Fen::new(13_000),
        "the member's own urban standard"
    );
}

#[test]
fn add_ons_stack_or_pay_the_single_highest_by_county_policy() {
    let mut policy = version();
    let mut elder = member("e", date!(1950 - 03 - 01), 0);
    elder.disability = Some(Disability {
        grade: 1,
        kind: DisabilityKind::Physical,
    });
    let stacked = amount(&policy, Area::Rural, &[&elder], ON);
    let addons: Vec<&str> = stacked
        .lines
        .iter()
        .filter(|l| l.item.starts_with("addon:"))
        .map(|l| l.item.as_str())
        .collect();
    assert_eq!(addons, ["addon:elderly", "addon:severely_disabled"]);
    policy.addons.combine = crate::domain::policy::AddonRule::Highest;
    let highest = amount(&policy, Area::Rural, &[&elder], ON);
    let addons: Vec<(&str, Fen)> = highest
        .lines
        .iter()
        .filter(|l| l.item.starts_with("addon:"))
        .map(|l| (l.item.as_str(), l.amount_fen))
        .collect();
    assert_eq!(
        addons,
        [(
            "addon:severely_disabled",
            policy.addons.severely_disabled_fen
        )]
    );
}

#[test]
fn the_asset_limit_may_be_a_multiple_of_the_areas_standard() {
    // County policy: financial assets up to 24 months of the area's standard per member.
    let mut policy = version();
    policy.property_limits.financial_assets_standard_months = Some(24);
    policy.urban_standard_fen = Fen::new(130_000);
    policy.rural_standard_fen = Fen::new(110_000);
    assert_eq!(
        policy.financial_assets_limit(Area::Urban, 2),
        Some(Fen::new(130_000 * 24 * 2))
    );
    let mut saver = adult("s", 0);
    saver.properties.push(crate::domain::household::Property {
        kind: crate::domain::household::PropertyKind::Financial,
        value_fen: Fen::new(110_000 * 24 + 1),
    });
    let rural = household(vec![saver.clone()]);
    assert_eq!(
        assess_minimum_living(&policy, &rural, None, ON),
        Err(Ineligible::PropertyOverLimit)
    );
    let mut urban = household(vec![saver]);
    urban.area = Area::Urban;
    assert!(assess_minimum_living(&policy, &urban, None, ON).is_ok());
}

#[test]
fn add_on_rules_and_asset_limits_are_versioned_by_effective_date() {
    // The shipped policy (fixed add-ons that stack, a fixed asset limit) plus a version from
    // 2027 with shares of the member's own standard, "highest", and a multiple of the standard.
    let text = format!(
        "{}\n{}",
        crate::domain::policy::DEFAULT_POLICY_TOML,
        r#"
[[version]]
id = "share-2027"
effective_from = "2027-01-01"
urban_standard_fen = 130_000
rural_standard_fen = 110_000
near_threshold_percent = 150
rounding = "none"
phase_out_months = 6
review_interval_months = 12
review_interval_months_able_to_work = 6
review_deadline_working_days = 20
[version.property_limits]
financial_assets_per_member_fen = 0
financial_assets_standard_months = 24
max_houses = 1
max_vehicles = 0
[version.addons]
elderly_min_age = 70
elderly_fen = 0
elderly_percent = 10
severely_disabled_fen = 0
severely_disabled_percent = 20
children_under_age = 18
child_fen = 0
combine = "highest"
[version.extreme_poverty]
basic_support_fen = 160_000
care_self_caring_fen = 5_000
care_partly_dependent_fen = 20_000
care_fully_dependent_fen = 50_000
[version.temporary]
min_fen = 10_000
emergency_max_fen = 300_000
expenditure_max_fen = 1_000_000
"#
    );
    let policy = Policy::from_toml(&text).expect("policy");
    let mut elder = member("e", date!(1940 - 03 - 01), 0);
    elder.disability = Some(Disability {
        grade: 1,
        kind: DisabilityKind::Physical,
    });
    let addons = |on: Date| {
        amount(policy.in_force_on(on), Area::Rural, &[&elder], on)
            .lines
            .into_iter()
            .filter(|l| l.item.starts_with("addon:"))
            .map(|l| (l.item, l.amount_fen))
            .collect::<Vec<_>>()
    };
    let before = policy.in_force_on(date!(2026 - 12 - 31));
    assert_eq!(
        addons(date!(2026 - 12 - 31)),
        [
            ("addon:elderly".to_owned(), before.addons.elderly_fen),
            (
                "addon:severely_disabled".to_owned(),
                before.addons.severely_disabled_fen
            )
        ]
    );
    assert_eq!(
        addons(date!(2027 - 01 - 01)),
        [("addon:severely_disabled".to_owned(), Fen::new(22_000))]
    );
    assert_eq!(
        policy
            .in_force_on(date!(2026 - 12 - 31))
            .financial_assets_limit(Area::Rural, 1),
        Some(before.property_limits.financial_assets_per_member_fen)
    );
    assert_eq!(
        policy
            .in_force_on(date!(2027 - 01 - 01))
            .financial_assets_limit(Area::Rural, 1),
        Some(Fen::new(24 * 110_000))
    );
}
