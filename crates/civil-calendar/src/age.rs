//! Ages in completed years.

use time::{Date, Month};

/// Returns the age in completed years on `on` of someone born on `birth` (0 before birth).
///
/// A person reaches an age on the birthday itself, the way registries register on the birthday
/// (RULES.md, conventions). Someone born on 29 February reaches it on 28 February in a common
/// year: 民法典 art. 202 ends a period counted in years on the corresponding day of the last
/// month, or on that month's last day when it has no such day.
pub fn age_on(birth: Date, on: Date) -> u32 {
    if on < birth {
        return 0;
    }
    let mut years = on.year() - birth.year();
    if on < birthday_in_year(birth, on.year()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// Returns the birthday of someone born on `birth` in `year`: the same month and day, or
/// 28 February in a common year for someone born on 29 February (民法典 art. 202).
///
/// Years outside the range `time::Date` supports are clamped to it.
pub fn birthday_in_year(birth: Date, year: i32) -> Date {
    let year = year.clamp(Date::MIN.year(), Date::MAX.year());
    Date::from_calendar_date(year, birth.month(), birth.day())
        .or_else(|_| Date::from_calendar_date(year, Month::February, 28))
        // Unreachable: 28 February exists in every supported year.
        .unwrap_or(birth)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn a_man_is_22_on_his_22nd_birthday_and_21_the_day_before() {
        // 民法典 art. 1047 (man >= 22) is checked on the registration date.
        let birth = date!(2004 - 05 - 20);
        assert_eq!(age_on(birth, date!(2026 - 05 - 20)), 22);
        assert_eq!(age_on(birth, date!(2026 - 05 - 19)), 21);
    }

    #[test]
    fn someone_born_on_29_february_comes_of_age_on_28_february_in_a_common_year() {
        // 民法典 art. 202: no corresponding day, so the month's last day.
        let birth = date!(2004 - 02 - 29);
        assert_eq!(age_on(birth, date!(2026 - 02 - 27)), 21);
        assert_eq!(age_on(birth, date!(2026 - 02 - 28)), 22);
        assert_eq!(age_on(birth, date!(2026 - 03 - 01)), 22);
    }

    #[test]
    fn someone_born_on_29_february_ages_on_29_february_in_a_leap_year() {
        let birth = date!(2004 - 02 - 29);
        assert_eq!(age_on(birth, date!(2028 - 02 - 28)), 23);
        assert_eq!(age_on(birth, date!(2028 - 02 - 29)), 24);
    }

    #[test]
    fn the_birthday_of_29_february_falls_on_28_february_in_common_years_only() {
        let birth = date!(2000 - 02 - 29);
        assert_eq!(birthday_in_year(birth, 2026), date!(2026 - 02 - 28));
        assert_eq!(birthday_in_year(birth, 2028), date!(2028 - 02 - 29));
        assert_eq!(
            birthday_in_year(date!(1990 - 03 - 07), 2026),
            date!(2026 - 03 - 07)
        );
    }

    #[test]
    fn age_is_zero_on_the_day_of_birth_and_before_it() {
        let birth = date!(2026 - 01 - 10);
        assert_eq!(age_on(birth, birth), 0);
        assert_eq!(age_on(birth, date!(2025 - 01 - 10)), 0);
        assert_eq!(age_on(birth, date!(2027 - 01 - 09)), 0);
        assert_eq!(age_on(birth, date!(2027 - 01 - 10)), 1);
    }

    #[test]
    fn a_centenarian_is_100_on_the_hundredth_birthday() {
        assert_eq!(age_on(date!(1926 - 12 - 31), date!(2026 - 12 - 31)), 100);
        assert_eq!(age_on(date!(1926 - 12 - 31), date!(2026 - 12 - 30)), 99);
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        assert_eq!(
            birthday_in_year(Date::MIN, i32::MAX).year(),
            Date::MAX.year()
        );
        let _ = age_on(Date::MIN, Date::MAX);
    }
}
