//! The registry's tables: one function per query, plain row types in and out. Every function
//! takes the connection it runs on, so writes join the caller's transaction (the one
//! `kit::rpc` opened) and reads may run on a pooled connection.

//!
//! - [`appointments`]: offices, slots and bookings.
//! - [`archive`]: persons, marriages, certificate serials, re-issues.
//! - [`divorce`]: divorce applications.
//! - [`keys`]: booking keys (request ids per caller) on the appointment rows.
//! - [`refusals`]: refusals decided at the desk.
//! - [`national`]: national-check overrides and outcomes.

mod appointments;
mod archive;
mod divorce;
pub mod keys;
mod national;
mod refusals;

pub use appointments::*;
pub use archive::*;
pub use divorce::*;
pub use national::*;
pub use refusals::*;

use time::Date;

pub type Result<T> = std::result::Result<T, sqlx::Error>;

/// Formats a calendar date as stored (`YYYY-MM-DD`, so text order is date order).
pub use kit::clock::date_text;

/// Parses a stored date; a malformed one is a corrupted row.
pub fn parse_date(text: &str) -> Result<Date> {
    kit::clock::parse_date(text)
        .ok_or_else(|| sqlx::Error::Decode(format!("stored date {text:?} is not a date").into()))
}

pub(crate) fn opt_date(text: Option<String>) -> Result<Option<Date>> {
    text.as_deref().map(parse_date).transpose()
}
