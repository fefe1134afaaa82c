//! The public-holiday calendar and periods counted against it.

use std::collections::BTreeMap;

use time::{
    Date, Duration, Weekday, format_description::BorrowedFormatItem, macros::format_description,
};

const DATE_FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// The national calendar shipped with the crate (2024-2026, `data/calendar`).
const EMBEDDED_CSV: &str = include_str!("../../../data/calendar/cn-public-holidays.csv");

/// Why a calendar could not be built. Lines are 1-based, as an editor shows them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("line {line}: expected `date,kind,name`")]
    Columns { line: usize },
    #[error("line {line}: date must be YYYY-MM-DD")]
    Date { line: usize },
    #[error("line {line}: kind must be `holiday` or `workday`")]
    Kind { line: usize },
    #[error("{date} is listed both as a holiday and as a workday")]
    Conflict { date: Date },
}

/// What the State Council's notice makes of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// A day off in a holiday period, weekend days within the period included.
    Holiday,
    /// A Saturday or Sunday made a working day (调休上班).
    Workday,
}

/// Which days are working days: the days the yearly notices list, and otherwise Monday to Friday.
///
/// Years the calendar does not list are treated as plain weeks (weekends off), which is wrong
/// for their holidays: a county adds each new year from configuration when the notice comes out
/// ([`HolidayCalendar::merge`]), and [`HolidayCalendar::covers_year`] lets a service warn when
/// a period reaches an unlisted year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    days: BTreeMap<Date, DayKind>,
}

impl HolidayCalendar {
    /// Parses `date,kind,name` rows (`kind` is `holiday` or `workday`; the name is free text and
    /// may contain commas). A `date,kind,name` header, blank lines and `#` comments are skipped.
    pub fn from_csv(csv: &str) -> Result<HolidayCalendar, CalendarError> {
        let mut calendar = HolidayCalendar::default();
        for (index, row) in csv.lines().enumerate() {
            let line = index + 1;
            let row = row.trim();
            if row.is_empty() || row.starts_with('#') || (index == 0 && row.starts_with("date,")) {
                continue;
            }
            let mut columns = row.splitn(3, ',');
            let (Some(date), Some(kind), Some(_name)) =
                (columns.next(), columns.next(), columns.next())
            else {
                return Err(CalendarError::Columns { line });
            };
            let date =
                Date::parse(date.trim(), DATE_FORMAT).map_err(|_| CalendarError::Date { line })?;
            let kind = match kind.trim() {
                "holiday" => DayKind::Holiday,
                "workday" => DayKind::Workday,
                _ => return Err(CalendarError::Kind { line }),
            };
            calendar.insert(date, kind)?;
        }
        Ok(calendar)
    }

    /// Returns the national calendar for 2024-2026 shipped in `data/calendar`.
    pub fn embedded() -> HolidayCalendar {
        // The file is checked by this crate's tests, so a parse failure cannot ship.
        HolidayCalendar::from_csv(EMBEDDED_CSV).expect("embedded holiday calendar is valid")
    }

    /// Adds the days of `other` (e.g. a year from a county's configuration). A day both list the
    /// same way is fine; a day they list differently is refused and nothing is added, because
    /// silently picking one would move legal deadlines.
    pub fn merge(&mut self, other: HolidayCalendar) -> Result<(), CalendarError> {
        if let Some((&date, _)) = other.days.iter().find(|(date, kind)| {
            self.days
                .get(date)
                .is_some_and(|existing| existing != *kind)
        }) {
            return Err(CalendarError::Conflict { date });
        }
        self.days.extend(other.days);
        Ok(())
    }

    /// Returns whether the calendar lists any day of `year`, i.e. whether that year's notice has
    /// been loaded.
    pub fn covers_year(&self, year: i32) -> bool {
        let (Ok(first), Ok(last)) = (
            Date::from_ordinal_date(year, 1),
            Date::from_calendar_date(year, time::Month::December, 31),
        ) else {
            return false;
        };
        self.days.range(first..=last).next().is_some()
    }

    /// Returns how the notices list `date`, if at all.
    pub fn day_kind(&self, date: Date) -> Option<DayKind> {
        self.days.get(&date).copied()
    }

    /// Returns whether `date` is a working day: a listed holiday is a rest day, a listed
    /// workday is a working day, otherwise Saturday and Sunday are rest days.
    pub fn is_working_day(&self, date: Date) -> bool {
        match self.days.get(&date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday),
        }
    }

    /// Returns the last day of a period of `days` days following `event` (民法典 arts. 200-204).
    ///
    /// The day of the event is not counted (art. 201), so the last day is `event + days`; a last
    /// day that is a rest day moves to the next working day (art. 203).
    pub fn period_end(&self, event: Date, days: u32) -> Date {
        let last_day = event.saturating_add(Duration::days(i64::from(days)));
        self.first_working_day_from(last_day)
    }

    /// Returns the last day of a period of `days` days that follows another period ending on
    /// `previous_end` (its end as moved by art. 203). The new period starts the day after that
    /// end, so it is counted exactly as a period following an event on `previous_end`.
    pub fn following_period_end(&self, previous_end: Date, days: u32) -> Date {
        self.period_end(previous_end, days)
    }

    /// Returns the `n`-th working day after `from` (`from` itself is not counted, as art. 201
    /// does not count the day of the event). `n = 0` returns `from`.
    pub fn add_working_days(&self, from: Date, n: u32) -> Date {
        let mut date = from;
        for _ in 0..n {
            let Some(next) = date.next_day() else {
                return date;
            };
            date = self.first_working_day_from(next);
        }
        date
    }

    /// Returns `date` if it is a working day, else the next working day.
    fn first_working_day_from(&self, date: Date) -> Date {
        let mut date = date;
        while !self.is_working_day(date) {
            match date.next_day() {
                Some(next) => date = next,
                None => break,
            }
        }
        date
    }

    fn insert(&mut self, date: Date, kind: DayKind) -> Result<(), CalendarError> {
        match self.days.insert(date, kind) {
            Some(previous) if previous != kind => Err(CalendarError::Conflict { date }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
