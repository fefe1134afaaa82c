//! How the registry's refusals become gRPC statuses: FAILED_PRECONDITION with the stable reason,
//! except a full slot, which is RESOURCE_EXHAUSTED (the caller may try another slot) and still
//! carries its reason `MARRIAGE_SLOT_FULL` so clients can branch on it.

use kit::ServiceError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::Refusal;

/// How long a registrar should wait before retrying a registration the national check could
/// not complete (google.rpc.RetryInfo).
const NATIONAL_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

impl From<Refusal> for ServiceError {
    fn from(refusal: Refusal) -> Self {
        let reason = refusal.reason();
        match refusal {
            Refusal::SlotFull | Refusal::SerialsExhausted => {
                let details = ErrorDetails::with_error_info(
                    reason,
                    kit::error::ERROR_DOMAIN,
                    std::collections::HashMap::new(),
                );
                ServiceError::Status(Status::with_error_details(
                    Code::ResourceExhausted,
                    refusal.to_string(),
                    details,
                ))
            }
            Refusal::NationalCheckUnavailable { .. } => {
                let mut details = ErrorDetails::with_error_info(
                    reason,
                    kit::error::ERROR_DOMAIN,
                    std::collections::HashMap::new(),
                );
                details.set_retry_info(Some(NATIONAL_RETRY_AFTER));
                ServiceError::Status(Status::with_error_details(
                    Code::Unavailable,
                    refusal.to_string(),
                    details,
                ))
            }
            other => ServiceError::refused(reason, other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_slot_is_resource_exhausted_with_its_reason() {
        let status = kit::to_status(Refusal::SlotFull.into());
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            kit::error::reason_of(&status).as_deref(),
            Some("MARRIAGE_SLOT_FULL")
        );
    }

    #[test]
    fn a_rule_refusal_is_failed_precondition_with_its_reason() {
        let status = kit::to_status(
            Refusal::Underage {
                party: "man",
                minimum: 22,
            }
            .into(),
        );
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(
            kit::error::reason_of(&status).as_deref(),
            Some("MARRIAGE_UNDERAGE")
        );
    }
}
