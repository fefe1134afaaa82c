//! SQL of the funeral service: one function per query, portable across SQLite and PostgreSQL
//! (placeholders `$n`, TEXT and BIGINT only). Functions take a connection so that they run
//! inside the caller's transaction. Dates are stored as `kit::clock::date_text`.

mod ashes;
mod cases;
mod cremation;
mod family;
mod plots;
mod waivers;

pub use ashes::*;
pub use cases::*;
pub use cremation::*;
pub use family::*;
pub use plots::*;
pub use waivers::*;
