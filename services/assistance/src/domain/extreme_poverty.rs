//! 特困人员供养: who qualifies and the support amount (社会救助暂行办法 arts. 14-17;
//! 特困人员认定办法 2021 arts. 4-9; county policy for the amounts).

use money::Overflow;
use serde::{Deserialize, Serialize};
use time::Date;

use super::allowance::{AmountLine, Computation, finish};
use super::household::{Holdings, Member};
use super::policy::{Area, PolicyVersion};

/// Age from which an older person counts as unable to work (认定办法 art. 4).
pub const ELDERLY_AGE: u32 = 60;
/// Minors are covered below this age (认定办法 art. 4) ...
pub const MINOR_AGE: u32 = 16;
/// ... and while in school until this age (RULES.md: "< 16, extended while at school until 18";
/// provincial rules such as 福建省特困人员认定办法 2021 count a pupil of 16-17 as unable to work).
pub const MINOR_IN_SCHOOL_AGE: u32 = 18;

/// Why the person lacks the ability to work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Category {
    Elderly,
    SeverelyDisabled,
    Minor,
}

/// Returns the person's category on `on`, if any: aged 60 or over, severely disabled, or under
/// 16 (under 18 while in school). The first that applies wins.
pub fn category(member: &Member, on: Date) -> Option<Category> {
    let age = member.age_on(on);
    if age >= ELDERLY_AGE {
        Some(Category::Elderly)
    } else if member.disability.is_some_and(|d| d.is_severe()) {
        Some(Category::SeverelyDisabled)
    } else if age < MINOR_AGE || (member.in_school && age < MINOR_IN_SCHOOL_AGE) {
        Some(Category::Minor)
    } else {
        None
    }
}

/// The conditions of 特困 the person fails; all three are needed (认定办法 art. 4).
/// Whether 特困 support of `member` continues on `on` (RULES.md: "Support for minors continues
/// to 18 and beyond while in school"; 特困人员认定办法 2021: a minor recipient is supported
/// until 18, and after 18 while still in compulsory education, senior high school or secondary
/// vocational school). Elderly and severely disabled recipients are not affected. A person of
/// 18 or over applying for the first time is not a minor (see docs/rules/assistance.md).
pub fn support_continues(member: &Member, on: Date) -> bool {
    let age = member.age_on(on);
    age >= ELDERLY_AGE
        || member.disability.is_some_and(|d| d.is_severe())
        || age < MINOR_IN_SCHOOL_AGE
        || member.in_school
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unmet {
    #[error("not elderly, severely disabled or a minor (ability to work)")]
    AbleToWork,
    #[error("has income at or above the standard")]
    HasIncome,
    #[error("has property beyond the limits")]
    PropertyOverLimit,
    #[error("has a legal supporter able to support them")]
    HasSupporter,
}

/// Checks the three conditions: no ability to work (a category), no income (below the 低保
/// standard, property within limits: 认定办法 art. 7), and no legal supporter able to support.
/// Returns every condition that fails.
pub fn assess(
    policy: &PolicyVersion,
    area: Area,
    member: &Member,
    on: Date,
) -> Result<Category, Vec<Unmet>> {
    let mut unmet = Vec::new();
    let category = category(member, on);
    if category.is_none() {
        unmet.push(Unmet::AbleToWork);
    }
    let within_limits = Holdings::of(&[member]).within_limits(policy, area, 1);
    let income_at_or_above = member
        .monthly_income_fen()
        .is_none_or(|income| income >= policy.standard_fen(area));
    if income_at_or_above {
        unmet.push(Unmet::HasIncome);
    }
    if !within_limits {
        unmet.push(Unmet::PropertyOverLimit);
    }
    if !member.no_capable_supporter {
        unmet.push(Unmet::HasSupporter);
    }
    match category {
        Some(category) if unmet.is_empty() => Ok(category),
        _ => Err(unmet),
    }
}

/// Self-care ability from the six daily activities (认定办法 art. 20; 特困人员生活自理能力评估).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CareLevel {
    /// All six alone.
    SelfCaring,
    /// One to three not possible alone.
    PartlyDependent,
    /// Four or more not possible alone.
    FullyDependent,
}

impl CareLevel {
    pub fn from_activities(activities: super::household::DailyActivities) -> CareLevel {
        match activities.not_possible() {
            0 => CareLevel::SelfCaring,
            1..=3 => CareLevel::PartlyDependent,
            _ => CareLevel::FullyDependent,
        }
    }

    fn item(self) -> &'static str {
        match self {
            CareLevel::SelfCaring => "care:self_caring",
            CareLevel::PartlyDependent => "care:partly_dependent",
            CareLevel::FullyDependent => "care:fully_dependent",
        }
    }
}

/// Returns the monthly support: basic support plus the care allowance of the care level.
/// 集中供养 pays both to the institution, 分散供养 to the person; the amount is the same.
pub fn support_amount(
    policy: &PolicyVersion,
    member: &Member,
    institutional: bool,
) -> Result<Computation, Overflow> {
    let standards = &policy.extreme_poverty;
    let level = CareLevel::from_activities(member.activities);
    let care = match level {
        CareLevel::SelfCaring => standards.care_self_caring_fen,
        CareLevel::PartlyDependent => standards.care_partly_dependent_fen,
        CareLevel::FullyDependent => standards.care_fully_dependent_fen,
    };
    let place = if institutional {
        "集中供养 (institution)"
    } else {
        "分散供养 (at home)"
    };
    let lines = vec![
        AmountLine {
            item: "support:basic".into(),
            amount_fen: standards.basic_support_fen,
            note: place.into(),
        },
        AmountLine {
            item: level.item().into(),
            amount_fen: care,
            note: format!(
                "{} of six daily activities not possible alone",
                member.activities.not_possible()
            ),
        },
    ];
    finish(policy, 1, lines)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::domain::household::fixtures::member;
    use crate::domain::household::{DailyActivities, Disability, DisabilityKind};
    use crate::domain::policy::Policy;

    const ON: Date = date!(2026 - 03 - 15);

    fn version() -> PolicyVersion {
        Policy::default_policy().in_force_on(ON).clone()
    }

    fn alone(birth: Date) -> Member {
        let mut m = member("p", birth, 0);
        m.no_capable_supporter = true;
        m
    }

    #[test]
    fn an_elderly_person_qualifies_from_the_sixtieth_birthday() {
        // 认定办法 art. 4: 老年人 = aged 60 or over.
        assert_eq!(
            assess(&version(), Area::Rural, &alone(date!(1966 - 03 - 15)), ON),
            Ok(Category::Elderly)
        );
        assert!(assess(&version(), Area::Rural, &alone(date!(1966 - 03 - 16)), ON).is_err());
    }

    #[test]
    fn a_minor_qualifies_until_the_sixteenth_birthday() {
        assert_eq!(
            category(&alone(date!(2010 - 03 - 16)), ON),
            Some(Category::Minor)
        );
        assert_eq!(
            category(&alone(date!(2010 - 03 - 15)), ON),
            None,
            "16 today, not in school"
        );
    }

    #[test]
    fn a_minor_in_school_qualifies_until_the_eighteenth_birthday() {
        let mut pupil = alone(date!(2008 - 03 - 16));
        pupil.in_school = true;
        assert_eq!(category(&pupil, ON), Some(Category::Minor), "17, in school");
        pupil.birth_date = date!(2008 - 03 - 15);
        assert_eq!(category(&pupil, ON), None, "18 today");
    }

    #[test]
    fn support_of_a_minor_continues_past_18_while_in_school_and_ends_at_18_otherwise() {
        // 特困人员认定办法 art. 6 as RULES.md reads it: to 18, and beyond while in school.
        let mut pupil = alone(date!(2008 - 03 - 15));
        assert!(support_continues(&pupil, date!(2026 - 03 - 14)), "17");
        assert!(!support_continues(&pupil, ON), "18 today, not in school");
        pupil.in_school = true;
        assert!(support_continues(&pupil, ON), "18 and in school");
        assert!(
            support_continues(&pupil, date!(2028 - 09 - 01)),
            "20, still in school"
        );
        // A first application at 18 or over is not the minor category, school or not.
        assert_eq!(category(&pupil, ON), None);
    }

    #[test]
    fn a_severely_disabled_adult_qualifies() {
        let mut adult = alone(date!(1990 - 01 - 01));
        adult.disability = Some(Disability {
            grade: 3,
            kind: DisabilityKind::Intellectual,
        });
        assert_eq!(
            assess(&version(), Area::Rural, &adult, ON),
            Ok(Category::SeverelyDisabled)
        );
    }

    #[test]
    fn all_three_conditions_are_needed() {
        // 认定办法 art. 4: 无劳动能力, 无生活来源, 无法定赡养抚养扶养义务人或其无能力.
        let elder = alone(date!(1950 - 01 - 01));
        let mut with_supporter = elder.clone();
        with_supporter.no_capable_supporter = false;
        assert_eq!(
            assess(&version(), Area::Rural, &with_supporter, ON),
            Err(vec![Unmet::HasSupporter])
        );

        let mut with_income = elder.clone();
        with_income.incomes.push(crate::domain::household::Income {
            kind: crate::domain::household::IncomeKind::Pension,
            monthly_fen: money::Fen::new(117_500),
        });
        assert_eq!(
            assess(&version(), Area::Rural, &with_income, ON),
            Err(vec![Unmet::HasIncome])
        );

        let able = alone(date!(1990 - 01 - 01));
        assert_eq!(
            assess(&version(), Area::Rural, &able, ON),
            Err(vec![Unmet::AbleToWork])
        );
    }

    #[test]
    fn care_level_follows_the_count_of_activities_not_possible_alone() {
        let mut a = DailyActivities::ALL;
        assert_eq!(CareLevel::from_activities(a), CareLevel::SelfCaring);
        a.bathe = false;
        assert_eq!(CareLevel::from_activities(a), CareLevel::PartlyDependent);
        a.dress = false;
        a.walk_indoors = false;
        assert_eq!(
            CareLevel::from_activities(a),
            CareLevel::PartlyDependent,
            "three not possible"
        );
        a.toilet = false;
        assert_eq!(
            CareLevel::from_activities(a),
            CareLevel::FullyDependent,
            "four not possible"
        );
    }

    #[test]
    fn support_is_basic_support_plus_the_care_allowance_of_the_level() {
        let mut person = alone(date!(1940 - 01 - 01));
        person.activities = DailyActivities {
            eat: false,
            dress: false,
            transfer: false,
            toilet: false,
            ..DailyActivities::ALL
        };
        let computation = support_amount(&version(), &person, true).expect("in range");
        let standards = &version().extreme_poverty;
        assert_eq!(
            Some(computation.total_fen),
            standards
                .basic_support_fen
                .checked_add(standards.care_fully_dependent_fen)
        );
        assert_eq!(computation.lines[1].item, "care:fully_dependent");
    }
}
