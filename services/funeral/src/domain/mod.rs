//! Funeral and burial rules (殡葬管理条例) as plain types and functions: no I/O, no clock.
//!
//! Every number a county sets (zones, slots, rewards, plot limits, waiver extensions) lives in
//! [`policy::FuneralPolicy`], read from configuration with defaults that run.

pub mod ashes;
pub mod case;
pub mod cremation;
pub mod eco_burial;
pub mod error;
pub mod fees;
pub mod plot;
pub mod policy;
pub mod text;
pub mod waiver;
pub mod zone;

pub use error::Refusal;
