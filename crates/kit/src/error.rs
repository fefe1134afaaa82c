//! The domain error every handler returns, and its one mapping to a google.rpc rich status.
//!
//! Calling systems branch on the gRPC code and, for refusals, on the stable `ErrorInfo.reason`
//! (e.g. `MARRIAGE_UNDERAGE`); people read the message. Internal causes are logged with the
//! trace id and never returned.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every civil.* refusal.
pub const ERROR_DOMAIN: &str = "civil.county.gov.cn";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Malformed input: INVALID_ARGUMENT with one violation per bad field.
    #[error("invalid argument: {}", .0.iter().map(|v| format!("{}: {}", v.field, v.description)).collect::<Vec<_>>().join("; "))]
    InvalidArgument(Vec<FieldViolation>),
    /// A business rule refuses: FAILED_PRECONDITION with a stable reason.
    #[error("{reason}: {message}")]
    Refused {
        reason: &'static str,
        message: String,
    },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// Optimistic concurrency (etag) or a concurrent transaction: the caller may retry.
    #[error("aborted: {0}")]
    Aborted(String),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    #[error("resource exhausted: {0}")]
    ResourceExhausted(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Status(#[from] Status),
    #[error("internal: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    pub fn refused(reason: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Refused {
            reason,
            message: message.into(),
        }
    }

    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        ServiceError::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ServiceError::NotFound(what.into())
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            // Serialization failures and deadlocks are safe to retry: the transaction rolled back.
            if matches!(db.code().as_deref(), Some("40001") | Some("40P01")) {
                return ServiceError::Aborted("concurrent update, retry".into());
            }
        }
        ServiceError::Internal(anyhow::Error::new(e).context("store"))
    }
}

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Self {
        to_status(e)
    }
}

/// Builds the rich status. The only place where domain errors become gRPC codes.
pub fn to_status(e: ServiceError) -> Status {
    match e {
        ServiceError::InvalidArgument(violations) => {
            let mut details = ErrorDetails::new();
            for v in &violations {
                details.add_bad_request_violation(v.field.clone(), v.description.clone());
            }
            let msg = violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.description))
                .collect::<Vec<_>>()
                .join("; ");
            Status::with_error_details(Code::InvalidArgument, msg, details)
        }
        ServiceError::Refused { reason, message } => {
            let details = ErrorDetails::with_error_info(
                reason,
                ERROR_DOMAIN,
                std::collections::HashMap::new(),
            );
            Status::with_error_details(Code::FailedPrecondition, message, details)
        }
        ServiceError::NotFound(m) => Status::not_found(m),
        ServiceError::AlreadyExists(m) => Status::already_exists(m),
        ServiceError::Aborted(m) => Status::aborted(m),
        ServiceError::PermissionDenied(m) => Status::permission_denied(m),
        ServiceError::ResourceExhausted(m) => Status::resource_exhausted(m),
        ServiceError::Unavailable(m) => Status::unavailable(m),
        ServiceError::Status(s) => s,
        ServiceError::Internal(e) => {
            tracing::error!(error = format!("{e:#}"), "internal error");
            Status::internal("internal error; the trace id identifies it in the logs")
        }
    }
}

/// The refusal reason of a status, if it carries one (clients and tests branch on it).
pub fn reason_of(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|i| i.reason)
}

/// Field names of a status's BadRequest violations.
pub fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Collects every field violation of a request before refusing it, so the caller fixes all
/// fields in one round.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Adds a violation when `ok` is false.
    pub fn check(&mut self, ok: bool, field: &str, description: &str) {
        if !ok {
            self.add(field, description);
        }
    }

    /// Requires a non-blank string.
    pub fn required(&mut self, value: &str, field: &str) {
        self.check(!value.trim().is_empty(), field, "is required");
    }

    /// Parses a 居民身份证号, recording a violation (never echoing the number) on failure.
    pub fn id_number(&mut self, value: &str, field: &str) -> Option<civil_id::IdNumber> {
        match civil_id::IdNumber::parse(value) {
            Ok(id) => Some(id),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// Parses a division code.
    pub fn region(&mut self, value: &str, field: &str) -> Option<civil_id::RegionCode> {
        match civil_id::RegionCode::parse(value) {
            Ok(r) => Some(r),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// Converts a `civil.common.v1.Date` into a calendar date.
    pub fn date(
        &mut self,
        value: Option<&contracts::civil::common::v1::Date>,
        field: &str,
    ) -> Option<time::Date> {
        let Some(d) = value else {
            self.add(field, "is required");
            return None;
        };
        let month = u8::try_from(d.month)
            .ok()
            .and_then(|m| time::Month::try_from(m).ok());
        match month
            .and_then(|m| time::Date::from_calendar_date(d.year, m, u8::try_from(d.day).ok()?).ok())
        {
            Some(date) => Some(date),
            None => {
                self.add(field, "is not a real calendar date");
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was violated, else the INVALID_ARGUMENT error.
    pub fn finish(self) -> Result<(), ServiceError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::InvalidArgument(self.0))
        }
    }
}

/// `civil.common.v1.Date` from a calendar date.
pub fn to_proto_date(d: time::Date) -> contracts::civil::common::v1::Date {
    contracts::civil::common::v1::Date {
        year: d.year(),
        month: i32::from(u8::from(d.month())),
        day: i32::from(d.day()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_carries_its_stable_reason() {
        let status = to_status(ServiceError::refused("MARRIAGE_UNDERAGE", "the man is 21"));
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(reason_of(&status).as_deref(), Some("MARRIAGE_UNDERAGE"));
    }

    #[test]
    fn every_violated_field_is_listed() {
        let mut v = Violations::new();
        v.required("", "name");
        let _ = v.id_number("123", "id_number");
        let status = to_status(v.finish().expect_err("two violations"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), vec!["name", "id_number"]);
        assert!(
            !status.message().contains("123"),
            "the bad number is not echoed: {}",
            status.message()
        );
    }

    #[test]
    fn internal_causes_are_not_returned() {
        let status = to_status(ServiceError::Internal(anyhow::anyhow!("password=hunter2")));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
    }
}
