//! Elderly-care rules as plain types and functions: no I/O, no clock.
//!
//! Every amount a county sets lives in [`policy::EldercarePolicy`], read from configuration with
//! defaults that run.

pub mod allowance;
pub mod assessment;
pub mod elder;
pub mod error;
pub mod institution;
pub mod policy;
pub mod visit;

pub use error::Refusal;

use time::{Date, Month};

/// The first day of the month `date` lies in.
pub fn month_start(date: Date) -> Date {
    date.replace_day(1).unwrap_or(date)
}

/// The first day of the month after the one `date` lies in.
pub fn next_month_start(date: Date) -> Date {
    let (y, m) = if date.month() == Month::December {
        (date.year() + 1, Month::January)
    } else {
        (date.year(), date.month().next())
    };
    Date::from_calendar_date(y, m, 1).unwrap_or(date)
}

/// The last day of the month `date` lies in.
pub fn month_end(date: Date) -> Date {
    next_month_start(date).previous_day().unwrap_or(date)
}
