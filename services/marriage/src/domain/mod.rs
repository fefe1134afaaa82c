//! The registry's rules as plain types and functions: no gRPC, no storage, no clock (callers
//! pass `today`).
//!
//! - [`eligibility`]: who may marry whom on a given day (arts. 1042, 1047-1049).
//! - [`status`]: marital status derived from the archive (art. 1042).
//! - [`cooling_off`]: the divorce-by-registration procedure and its deadlines (arts. 1076-1078).
//! - [`certificate`]: certificate numbers (J, L, BJ, BL).
//! - [`court`]: court decisions and deaths recorded from outside.
//! - [`reissue`]: 补领, or a marriage record certificate when the status changed.
//! - [`appointment`]: slots and quotas.
//! - [`refusal`]: every refusal with its stable reason.

pub mod appointment;
pub mod certificate;
pub mod cooling_off;
pub mod court;
pub mod eligibility;
pub mod refusal;
pub mod reissue;
pub mod status;
pub mod testing;

pub use refusal::Refusal;
