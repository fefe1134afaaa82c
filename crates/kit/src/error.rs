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
        if is_connection_loss(&e) {
            tracing::warn!(error = %e, "store unreachable");
            return ServiceError::Unavailable(STORE_UNAVAILABLE.into());
        }
        ServiceError::Internal(anyhow::Error::new(e).context("store"))
    }
}

/// Message of the UNAVAILABLE answer when the database cannot be reached.
pub const STORE_UNAVAILABLE: &str = "the store is unreachable; retry shortly";

/// How long a client should wait before retrying an UNAVAILABLE answer (google.rpc.RetryInfo).
pub const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// True when `e` says the database could not be reached (a lost or refused connection, a pool
/// that timed out or was closed, a server shutting down), as opposed to a bad query: the same
/// call may succeed once the database is back, so it answers UNAVAILABLE, which standard gRPC
/// clients retry, never INTERNAL.
pub fn is_connection_loss(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL: class 08 connection exception; 57P01-57P03 shutdown / cannot connect
        // now; 53300 too many connections.
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
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
        ServiceError::Unavailable(m) => unavailable(m),
        ServiceError::Status(s) => s,
        // A lost connection that reached us through `anyhow` (a store helper returning
        // anyhow::Result) is still a lost connection.
        ServiceError::Internal(e)
            if e.chain()
                .filter_map(|c| c.downcast_ref::<sqlx::Error>())
                .any(is_connection_loss) =>
        {
            tracing::warn!(error = format!("{e:#}"), "store unreachable");
            unavailable(STORE_UNAVAILABLE.into())
        }
        ServiceError::Internal(e) => {
            tracing::error!(error = format!("{e:#}"), "internal error");
            Status::internal("internal error; the trace id identifies it in the logs")
        }
    }
}

/// UNAVAILABLE with a RetryInfo of [`RETRY_AFTER`], so clients back off before retrying.
fn unavailable(message: String) -> Status {
    Status::with_error_details(
        Code::Unavailable,
        message,
        ErrorDetails::with_retry_info(Some(RETRY_AFTER)),
    )
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

/// The longest personal name accepted (characters).
pub const PERSON_NAME_MAX_CHARS: usize = 50;

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

    /// Parses a 居民身份证号, recording a violation (never echoing the number) on failure. A
    /// birth date after today (the system's, in China Standard Time) is refused; a handler
    /// on the clock seam uses [`Violations::id_number_on`].
    pub fn id_number(&mut self, value: &str, field: &str) -> Option<civil_id::IdNumber> {
        self.id_number_on(value, field, crate::today_cst())
    }

    /// Parses a 居民身份证号 as of `today`: a birth date after `today` is refused.
    ///
    /// ```
    /// use time::macros::date;
    /// let mut v = kit::Violations::new();
    /// // GB 11643 example number, born 1949-12-31.
    /// assert!(v.id_number_on("11010519491231002X", "id_number", date!(2026 - 05 - 04)).is_some());
    /// assert!(v.id_number_on("11010519491231002X", "id_number", date!(1949 - 12 - 30)).is_none());
    /// assert!(v.finish().is_err());
    /// ```
    pub fn id_number_on(
        &mut self,
        value: &str,
        field: &str,
        today: time::Date,
    ) -> Option<civil_id::IdNumber> {
        match civil_id::IdNumber::parse_on(value, today) {
            Ok(id) => Some(id),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// Parses the region code of a place: 6, 9 or 12 digits (county, township, village) in a
    /// known province. Province and city scopes (2 or 4 digits) are refused: they are token
    /// scopes, not places.
    ///
    /// ```
    /// let mut v = kit::Violations::new();
    /// assert!(v.region("330723001", "region").is_some());
    /// for bad in ["33072", "3307230", "33072300100", "990723", "33"] {
    ///     assert!(v.region(bad, "region").is_none(), "{bad}");
    /// }
    /// ```
    pub fn region(&mut self, value: &str, field: &str) -> Option<civil_id::RegionCode> {
        let parsed = civil_id::RegionCode::parse(value).and_then(|r| {
            if r.as_str().len() < 6 {
                Err(civil_id::RegionCodeError::Level)
            } else {
                Ok(r)
            }
        });
        match parsed {
            Ok(r) => Some(r),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// Like [`Violations::region`], and the county part must be a real county-level division
    /// (GB/T 2260, the 2023 list embedded in civil-id): for list filters and new records,
    /// where a code naming no county can only be a mistake.
    ///
    /// ```
    /// let mut v = kit::Violations::new();
    /// assert!(v.division("330723", "region").is_some()); // 武义县
    /// assert!(v.division("330799", "region").is_none()); // no such county
    /// ```
    pub fn division(&mut self, value: &str, field: &str) -> Option<civil_id::RegionCode> {
        match civil_id::RegionCode::parse_division(value) {
            Ok(r) => Some(r),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// A person's name as written on an identity document: required, 1 to
    /// [`PERSON_NAME_MAX_CHARS`] characters after trimming, no control characters (names of
    /// ethnic minorities and foreigners are long and may hold `·` and spaces). Returns the
    /// trimmed name. Other free text: `kit::rpc::Text`.
    ///
    /// ```
    /// let mut v = kit::Violations::new();
    /// assert_eq!(v.person_name(" 阿依古丽·买买提 ", "name"), "阿依古丽·买买提");
    /// assert!(v.is_empty());
    /// v.person_name("", "name");
    /// v.person_name(&"名".repeat(51), "spouse.name");
    /// v.person_name("张\u{7}三", "applicant.name");
    /// assert_eq!(
    ///     kit::error::violated_fields(&kit::to_status(v.finish().unwrap_err())),
    ///     vec!["name", "spouse.name", "applicant.name"]
    /// );
    /// ```
    pub fn person_name(&mut self, value: &str, field: &str) -> String {
        let name = value.trim();
        if name.is_empty() {
            self.add(field, "is required");
        } else {
            self.bounded(name, field, PERSON_NAME_MAX_CHARS);
        }
        name.to_owned()
    }

    fn bounded(&mut self, value: &str, field: &str, max_chars: usize) -> bool {
        // Counting stops past the bound: a 100,000-character value costs no more than the limit.
        if value.chars().nth(max_chars).is_some() {
            self.add(field, format!("must be at most {max_chars} characters"));
            return false;
        }
        if value.chars().any(char::is_control) {
            self.add(field, "must not contain control characters");
            return false;
        }
        true
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
    fn a_person_name_is_1_to_50_characters_without_control_characters() {
        let mut v = Violations::new();
        assert_eq!(v.person_name("张三", "name"), "张三");
        assert_eq!(v.person_name(&"名".repeat(50), "name").chars().count(), 50);
        assert!(v.is_empty());
        v.person_name(&format!("{}\u{1}", "张".repeat(199)), "a");
        v.person_name(&"名".repeat(51), "b");
        v.person_name(" ", "c");
        v.person_name("张\n三", "d");
        v.person_name(&"x".repeat(100_000), "e");
        let status = to_status(v.finish().expect_err("five violations"));
        assert_eq!(violated_fields(&status), vec!["a", "b", "c", "d", "e"]);
        assert!(status.message().len() < 300, "names are not echoed");
    }

    #[test]
    fn an_identity_number_born_after_today_is_refused() {
        let mut v = Violations::new();
        let today = time::macros::date!(1949 - 12 - 30);
        assert!(v.id_number_on("11010519491231002X", "id", today).is_none());
        assert!(v.id_number("11010519491231002X", "id").is_some());
        let status = to_status(v.finish().expect_err("one violation"));
        assert!(status.message().contains("future"), "{}", status.message());
    }

    #[test]
    fn a_region_filter_must_be_a_place_in_a_known_province() {
        let mut v = Violations::new();
        for bad in ["33072", "3307230", "33072300100", "990723", "33", "3307"] {
            assert!(v.region(bad, "region").is_none(), "{bad}");
        }
        assert!(v.region("330723", "region").is_some());
        assert!(v.region("330799", "region").is_some(), "format only");
        assert!(
            v.division("330799", "region").is_none(),
            "not a real county"
        );
        assert!(v.division("330723101001", "region").is_some());
    }

    #[test]
    fn internal_causes_are_not_returned() {
        let status = to_status(ServiceError::Internal(anyhow::anyhow!("password=hunter2")));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
    }
}
