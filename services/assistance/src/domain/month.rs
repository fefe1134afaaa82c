//! Calendar months: benefits are paid, changed and ended by month.

use std::fmt;

use time::{Date, Month as CalendarMonth};

/// A calendar month, e.g. 2026-07. Ordered in time.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Month {
    year: i32,
    /// 1-12.
    month: u8,
}

impl Month {
    /// Returns the month `year`-`month`, if `month` is 1-12.
    pub fn new(year: i32, month: u8) -> Option<Month> {
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    /// Returns the month containing `date`.
    pub fn of(date: Date) -> Month {
        Month {
            year: date.year(),
            month: u8::from(date.month()),
        }
    }

    /// Parses "YYYY-MM".
    pub fn parse(input: &str) -> Option<Month> {
        let (year, month) = input.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        Month::new(year.parse().ok()?, month.parse().ok()?)
    }

    /// Returns the month `n` months later.
    pub fn plus(self, n: u32) -> Month {
        let index = self.year * 12 + i32::from(self.month) - 1 + n as i32;
        Month {
            year: index.div_euclid(12),
            month: (index.rem_euclid(12) + 1) as u8,
        }
    }

    /// Returns the following month.
    pub fn next(self) -> Month {
        self.plus(1)
    }

    /// Returns the first day of the month.
    pub fn first_day(self) -> Date {
        let month = CalendarMonth::try_from(self.month).unwrap_or(CalendarMonth::January);
        Date::from_calendar_date(self.year, month, 1).unwrap_or(Date::MIN)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn the_month_after_december_is_january_of_the_next_year() {
        assert_eq!(
            Month::of(date!(2026 - 12 - 31)).next().to_string(),
            "2027-01"
        );
    }

    #[test]
    fn months_parse_and_print_as_year_dash_month() {
        let month = Month::parse("2026-07").expect("valid");
        assert_eq!(month.to_string(), "2026-07");
        assert_eq!(month.first_day(), date!(2026 - 07 - 01));
        assert_eq!(Month::parse("2026-13"), None);
        assert_eq!(Month::parse("2026-7"), None);
    }

    #[test]
    fn adding_months_crosses_years() {
        assert_eq!(
            Month::parse("2026-10").expect("valid").plus(6).to_string(),
            "2027-04"
        );
    }
}
