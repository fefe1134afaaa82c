//! 地名: the standard place-name database, naming and renaming, house numbers and addresses.

pub mod domain;
pub mod index;
