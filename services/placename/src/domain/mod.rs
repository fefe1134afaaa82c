//! The rules of the place-name database as plain functions over plain types: no I/O, no clock.

pub mod address;
pub mod census;
pub mod house_number;
pub mod name;
pub mod naming;
pub mod refusal;
pub mod scope;

pub use refusal::Refusal;
