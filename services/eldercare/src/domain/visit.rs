//! 探访: monthly welfare visits to elders with special difficulties (独居, 空巢, 失能, 特困…).
//!
//! Every living elder with a special difficulty gets one scheduled visit a month; the visit rate
//! per township is reported against the 100% target, and a visit not made by the end of its
//! month is overdue.

use time::Date;

use super::elder::LivingSituation;
use super::month_end;

/// Whether an elder is on the month's visit schedule.
pub fn needs_visit(situations: &[LivingSituation], deceased: bool) -> bool {
    !deceased && situations.iter().any(|s| s.is_special_difficulty())
}

/// A scheduled visit is overdue when it was not made and its month has ended by `as_of`.
pub fn is_overdue(month: Date, visited: bool, as_of: Date) -> bool {
    !visited && as_of > month_end(month)
}

/// Visit rate in basis points; an empty schedule counts as complete.
pub fn rate_bp(visited: i32, scheduled: i32) -> i32 {
    if scheduled <= 0 {
        10_000
    } else {
        super::institution::share_bp(visited, scheduled)
    }
}

/// The township (9 digits) of a region code, or the code itself when shorter.
pub fn township_of(region: &str) -> &str {
    region.get(..9).unwrap_or(region)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn elders_with_a_special_difficulty_are_scheduled_and_the_deceased_are_not() {
        assert!(needs_visit(&[LivingSituation::LivingAlone], false));
        assert!(needs_visit(
            &[LivingSituation::AdvancedAge, LivingSituation::Disabled],
            false
        ));
        assert!(!needs_visit(&[LivingSituation::AdvancedAge], false));
        assert!(!needs_visit(&[LivingSituation::EmptyNest], true));
    }

    #[test]
    fn an_unmade_visit_is_overdue_from_the_first_day_of_the_next_month() {
        let month = date!(2026 - 02 - 01);
        assert!(!is_overdue(month, false, date!(2026 - 02 - 28)));
        assert!(is_overdue(month, false, date!(2026 - 03 - 01)));
        assert!(!is_overdue(month, true, date!(2026 - 03 - 01)));
    }

    #[test]
    fn the_rate_is_visited_over_scheduled() {
        assert_eq!(rate_bp(3, 4), 7_500);
        assert_eq!(rate_bp(0, 0), 10_000);
        assert_eq!(township_of("330723001002"), "330723001");
        assert_eq!(township_of("330723"), "330723");
    }
}
