//! The rules of social-organisation registration and credit, as plain functions over plain
//! types: no I/O, no clock (every rule takes `today` or the day of the act).

pub mod annual_report;
pub mod credit_list;
pub mod rating;
pub mod refusal;
pub mod registration;

pub use refusal::Refusal;
