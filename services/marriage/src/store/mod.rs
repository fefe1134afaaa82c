//! The registry's tables: one function per query, plain row types in and out. Every function
//! takes the connection it runs on, so writes join the caller's transaction (the one
//! `kit::idempotency::once` opened) and reads may run on a pooled connection.

//!
//! - [`appointments`]: offices, slots and bookings.
//! - [`archive`]: persons, marriages, certificate serials, re-issues.
//! - [`divorce`]: divorce applications.
//! - [`keys`]: idempotency keys in batches (the booking desk).
//! - [`audit`]: the audit rows of a booking group in one statement.

mod appointments;
mod archive;
mod divorce;
pub mod keys;

pub use appointments::*;
pub use archive::*;
pub use divorce::*;

use time::Date;
use time::macros::format_description;

pub type Result<T> = std::result::Result<T, sqlx::Error>;

/// Formats a calendar date as stored (`YYYY-MM-DD`, so text order is date order).
pub fn date_text(date: Date) -> String {
    date.to_string()
}

/// Parses a stored date; a malformed one is a corrupted row.
pub fn parse_date(text: &str) -> Result<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|e| sqlx::Error::Decode(format!("stored date {text:?}: {e}").into()))
}

pub(crate) fn opt_date(text: Option<String>) -> Result<Option<Date>> {
    text.as_deref().map(parse_date).transpose()
}
