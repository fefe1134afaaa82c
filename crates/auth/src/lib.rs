//! The common auth crate: who is calling, what they may do, and the audit trail of what they did.
//!
//! - [`token`]: ES256 JWT verification against a JWKS, and the dev issuer that mints tokens locally.
//! - [`Principal`] and [`Role`]: the caller, with role and region (行政区划) data scope.
//! - [`layer`]: the tower layer every server mounts; it authenticates and leaves a [`Principal`]
//!   in the request extensions.
//! - [`client`]: the interceptor a service uses to call another: its own credential plus the
//!   original caller, so the callee's audit trail names the person.
//! - [`audit`]: append-only, SHA-256 hash-chained audit log and its verifier.

pub mod audit;
pub mod client;
pub mod duties;
pub mod evidence;
pub mod layer;
pub mod permissions;
mod principal;
pub mod profiles;
pub mod reasons;
pub mod token;

pub use duties::ensure_different_person;
pub use principal::{ClaimedIdNumber, OnBehalfOf, Principal, Role, principal};

/// Metadata key a service principal sets to name the person it acts for.
pub const ON_BEHALF_OF_HEADER: &str = "x-civil-on-behalf-of";
