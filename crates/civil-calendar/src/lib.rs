//! Working days and civil-law periods for China's public-holiday calendar.
//!
//! - [`HolidayCalendar`]: which days are working days, from the State Council's yearly notices
//!   (public holidays and the weekend days made working days, 调休上班).
//! - Periods counted in days under 民法典 arts. 200-204 ([`HolidayCalendar::period_end`]) and in
//!   working days ([`HolidayCalendar::add_working_days`]).
//! - Ages ([`age_on`], [`birthday_in_year`]), with the art. 202 rule for 29 February.
//! - County policy versioned by effective date ([`Versions`]).
//!
//! The crate is pure: callers pass the dates in; nothing reads the clock.

mod age;
mod effective;
mod holiday_calendar;

pub use age::{age_on, birthday_in_year};
pub use effective::{Effective, Versions, VersionsError};
pub use holiday_calendar::{CalendarError, DayKind, HolidayCalendar};
