//! Business refusals: a service's refusal enum implements [`Refusal`] (its stable reason) and
//! `Display` (the message), and `?` turns it into FAILED_PRECONDITION with that reason; no
//! service writes `impl From<Refusal> for ServiceError`.

use crate::error::ServiceError;

/// A business rule refused the request.
pub trait Refusal: std::fmt::Display {
    /// The stable `ErrorInfo.reason` documented in the RPC's proto comment.
    fn reason(&self) -> &'static str;
}

impl<R: Refusal> From<R> for ServiceError {
    fn from(r: R) -> Self {
        ServiceError::refused(r.reason(), r.to_string())
    }
}
