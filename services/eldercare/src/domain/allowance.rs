//! 高龄津贴: advanced-age allowance, granted without application (免申即享).
//!
//! A person reaches an age on the birthday itself, and someone born on 29 February reaches it on
//! 28 February in a common year (民法典 art. 202; `civil_calendar::age_on`). The allowance of a
//! bracket is paid from the month after the birthday month (county policy may differ), paid in
//! full for the month of death and stopped from the next month.

use civil_calendar::{age_on, birthday_in_year};
use money::Fen;
use time::Date;

use super::{month_start, next_month_start};

/// Age bracket of the allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bracket {
    From80,
    From90,
    From100,
}

impl Bracket {
    pub const ALL: [Bracket; 3] = [Bracket::From80, Bracket::From90, Bracket::From100];

    pub fn min_age(self) -> i32 {
        match self {
            Bracket::From80 => 80,
            Bracket::From90 => 90,
            Bracket::From100 => 100,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Bracket::From80 => "80_89",
            Bracket::From90 => "90_99",
            Bracket::From100 => "100_plus",
        }
    }

    pub fn parse(s: &str) -> Option<Bracket> {
        Bracket::ALL.into_iter().find(|b| b.as_str() == s)
    }

    /// The bracket of someone aged `age`, if any.
    pub fn for_age(age: u32) -> Option<Bracket> {
        Bracket::ALL
            .into_iter()
            .rev()
            .find(|b| i64::from(age) >= i64::from(b.min_age()))
    }

    /// The day someone born on `birth` enters this bracket.
    pub fn reached_on(self, birth: Date) -> Date {
        birthday_in_year(birth, birth.year() + self.min_age())
    }
}

/// Monthly amounts per bracket (county policy, one version of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowanceAmounts {
    pub from80: Fen,
    pub from90: Fen,
    pub from100: Fen,
}

impl AllowanceAmounts {
    /// The monthly amount of a bracket; never negative.
    pub fn monthly(&self, bracket: Bracket) -> Fen {
        let amount = match bracket {
            Bracket::From80 => self.from80,
            Bracket::From90 => self.from90,
            Bracket::From100 => self.from100,
        };
        amount.max(Fen::ZERO)
    }
}

/// A grant: the bracket someone is in on a day and the first month it is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub bracket: Bracket,
    /// First day of the first month paid at this bracket.
    pub payable_from: Date,
}

/// The grant due on `on` to someone born on `birth`, if they have reached a bracket.
pub fn grant_on(birth: Date, on: Date) -> Option<Grant> {
    let bracket = Bracket::for_age(age_on(birth, on))?;
    Some(Grant {
        bracket,
        payable_from: next_month_start(bracket.reached_on(birth)),
    })
}

/// The amount payable for the month starting `month` (any day of it) to someone born on `birth`
/// who died on `death`, if so: the highest bracket already payable that month, nothing after the
/// month of death.
pub fn amount_for_month(
    birth: Date,
    death: Option<Date>,
    month: Date,
    amounts: &AllowanceAmounts,
) -> Fen {
    let month = month_start(month);
    if death.is_some_and(|d| month > month_start(d)) {
        return Fen::ZERO;
    }
    Bracket::ALL
        .into_iter()
        .rev()
        .find(|b| next_month_start(b.reached_on(birth)) <= month)
        .map(|b| amounts.monthly(b))
        .unwrap_or(Fen::ZERO)
}

/// Why a day cannot be a grant day (RunDailyGrants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantDayProblem {
    /// Before the policy's first version: no allowance existed then (INVALID_ARGUMENT).
    BeforePolicyStart,
    /// After today: nobody's age on a future day is known to be reached (refusal).
    NotReached,
    /// Further back than the county's catch-up window (refusal).
    PastCatchUp,
}

/// Checks a grant day: from the policy start, not after `today`, and not more than
/// `catch_up_days` before it (catch-up after an outage; docs/rules/eldercare.md).
pub fn check_grant_day(
    day: Date,
    today: Date,
    policy_start: Date,
    catch_up_days: u32,
) -> Result<(), GrantDayProblem> {
    if day < policy_start {
        return Err(GrantDayProblem::BeforePolicyStart);
    }
    if day > today {
        return Err(GrantDayProblem::NotReached);
    }
    if (today - day).whole_days() > i64::from(catch_up_days) {
        return Err(GrantDayProblem::PastCatchUp);
    }
    Ok(())
}

/// The last month paid when someone dies on `death`: the month of death itself.
pub fn last_paid_month(death: Date) -> Date {
    month_start(death)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const A: AllowanceAmounts = AllowanceAmounts {
        from80: Fen::new(10_000),
        from90: Fen::new(20_000),
        from100: Fen::new(50_000),
    };

    fn amount_for_month(
        birth: Date,
        death: Option<Date>,
        month: Date,
        a: &AllowanceAmounts,
    ) -> i64 {
        super::amount_for_month(birth, death, month, a).get()
    }

    #[test]
    fn the_allowance_is_granted_on_the_80th_birthday_itself_not_the_day_before() {
        let birth = date!(1946 - 03 - 15);
        assert_eq!(grant_on(birth, date!(2026 - 03 - 14)), None);
        assert_eq!(
            grant_on(birth, date!(2026 - 03 - 15)),
            Some(Grant {
                bracket: Bracket::From80,
                payable_from: date!(2026 - 04 - 01)
            })
        );
    }

    #[test]
    fn brackets_upgrade_on_the_90th_and_100th_birthdays() {
        let birth = date!(1936 - 07 - 01);
        assert_eq!(
            grant_on(birth, date!(2026 - 06 - 30)).map(|g| g.bracket),
            Some(Bracket::From80)
        );
        assert_eq!(
            grant_on(birth, date!(2026 - 07 - 01)),
            Some(Grant {
                bracket: Bracket::From90,
                payable_from: date!(2026 - 08 - 01)
            })
        );
        let birth = date!(1926 - 12 - 31);
        assert_eq!(
            grant_on(birth, date!(2026 - 12 - 30)).map(|g| g.bracket),
            Some(Bracket::From90)
        );
        assert_eq!(
            grant_on(birth, date!(2026 - 12 - 31)),
            Some(Grant {
                bracket: Bracket::From100,
                payable_from: date!(2027 - 01 - 01)
            })
        );
    }

    #[test]
    fn someone_born_on_29_february_reaches_the_bracket_on_28_february_of_a_common_year_art_202() {
        let birth = date!(1936 - 02 - 29);
        assert_eq!(
            grant_on(birth, date!(2026 - 02 - 27)).map(|g| g.bracket),
            Some(Bracket::From80)
        );
        assert_eq!(
            grant_on(birth, date!(2026 - 02 - 28)),
            Some(Grant {
                bracket: Bracket::From90,
                payable_from: date!(2026 - 03 - 01)
            })
        );
        let birth = date!(1944 - 02 - 29);
        assert_eq!(
            Bracket::From80.reached_on(birth),
            date!(2024 - 02 - 29),
            "2024 is a leap year"
        );
        assert_eq!(grant_on(birth, date!(2024 - 02 - 28)), None);
    }

    #[test]
    fn payment_starts_the_month_after_the_birthday_month() {
        let birth = date!(1946 - 03 - 15);
        assert_eq!(amount_for_month(birth, None, date!(2026 - 03 - 01), &A), 0);
        assert_eq!(
            amount_for_month(birth, None, date!(2026 - 04 - 01), &A),
            10_000
        );
        let birth = date!(1946 - 12 - 01);
        assert_eq!(amount_for_month(birth, None, date!(2026 - 12 - 01), &A), 0);
        assert_eq!(
            amount_for_month(birth, None, date!(2027 - 01 - 01), &A),
            10_000,
            "over the year end"
        );
    }

    #[test]
    fn the_higher_amount_starts_the_month_after_the_90th_birthday_month() {
        let birth = date!(1936 - 07 - 01);
        assert_eq!(
            amount_for_month(birth, None, date!(2026 - 07 - 01), &A),
            10_000
        );
        assert_eq!(
            amount_for_month(birth, None, date!(2026 - 08 - 01), &A),
            20_000
        );
        let birth = date!(1926 - 05 - 20);
        assert_eq!(
            amount_for_month(birth, None, date!(2026 - 06 - 01), &A),
            50_000
        );
    }

    #[test]
    fn the_month_of_death_is_paid_in_full_and_the_next_is_not() {
        let birth = date!(1940 - 01 - 10);
        let death = Some(date!(2026 - 05 - 01));
        assert_eq!(
            amount_for_month(birth, death, date!(2026 - 05 - 01), &A),
            10_000
        );
        assert_eq!(amount_for_month(birth, death, date!(2026 - 06 - 01), &A), 0);
        let death = Some(date!(2026 - 05 - 31));
        assert_eq!(
            amount_for_month(birth, death, date!(2026 - 05 - 01), &A),
            10_000
        );
        assert_eq!(
            last_paid_month(date!(2026 - 05 - 31)),
            date!(2026 - 05 - 01)
        );
    }

    #[test]
    fn a_death_before_the_first_payable_month_pays_nothing() {
        let birth = date!(1946 - 03 - 15);
        let death = Some(date!(2026 - 03 - 20));
        assert_eq!(amount_for_month(birth, death, date!(2026 - 03 - 01), &A), 0);
        assert_eq!(amount_for_month(birth, death, date!(2026 - 04 - 01), &A), 0);
    }

    #[test]
    fn a_grant_day_is_today_or_a_past_day_in_the_catch_up_window_from_the_policy_start() {
        let (today, start) = (date!(2026 - 12 - 04), date!(2024 - 01 - 01));
        let check = |day| check_grant_day(day, today, start, 31);
        assert_eq!(check(today), Ok(()));
        assert_eq!(check(date!(2026 - 11 - 03)), Ok(()), "31 days back");
        assert_eq!(
            check(date!(2026 - 11 - 02)),
            Err(GrantDayProblem::PastCatchUp)
        );
        assert_eq!(
            check(date!(2026 - 12 - 05)),
            Err(GrantDayProblem::NotReached)
        );
        assert_eq!(
            check(date!(2099 - 01 - 01)),
            Err(GrantDayProblem::NotReached)
        );
        assert_eq!(
            check(date!(1900 - 01 - 01)),
            Err(GrantDayProblem::BeforePolicyStart)
        );
        assert_eq!(
            check_grant_day(date!(2024 - 01 - 01), date!(2024 - 01 - 01), start, 0),
            Ok(()),
            "the policy start itself"
        );
    }

    #[test]
    fn brackets_round_trip_and_amounts_are_never_negative() {
        for b in Bracket::ALL {
            assert_eq!(Bracket::parse(b.as_str()), Some(b));
        }
        let bad = AllowanceAmounts {
            from80: Fen::new(-1),
            ..A
        };
        assert_eq!(bad.monthly(Bracket::From80), Fen::ZERO);
        assert_eq!(Bracket::for_age(79), None);
        assert_eq!(Bracket::for_age(105), Some(Bracket::From100));
    }
}
