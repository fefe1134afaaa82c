//! The shape every write handler shares: take the caller, run the handler, and leave a trace of
//! a refused or failed attempt in the audit trail (等保 2.0 asks for failures too; successful
//! changes audit themselves inside their own transaction).

use std::future::Future;

use auth::Principal;
use auth::audit::{AuditEntry, AuditWriter};
use tonic::{Request, Response, Status};

use crate::error::{ServiceError, to_status};

/// What a failed attempt's audit row records as its outcome: the refusal's stable reason, or
/// the kind of error.
pub fn outcome_of(e: &ServiceError) -> String {
    match e {
        ServiceError::Refused { reason, .. } => (*reason).to_owned(),
        ServiceError::InvalidArgument(_) => "invalid_argument".into(),
        ServiceError::NotFound(_) => "not_found".into(),
        ServiceError::AlreadyExists(_) => "already_exists".into(),
        ServiceError::Aborted(_) => "aborted".into(),
        ServiceError::PermissionDenied(_) => "permission_denied".into(),
        ServiceError::ResourceExhausted(_) => "resource_exhausted".into(),
        ServiceError::Unavailable(_) => "unavailable".into(),
        ServiceError::Status(s) => format!("{:?}", s.code()).to_lowercase(),
        ServiceError::Internal(_) => "internal".into(),
    }
}

/// Runs a write handler for the authenticated caller; a failure is audited as `action` on the
/// object `object(&request)` names (never an identity number).
pub async fn write_rpc<Req, Resp, Fut>(
    request: Request<Req>,
    reads: &AuditWriter,
    action: &str,
    object: impl FnOnce(&Req) -> String,
    handler: impl FnOnce(Principal, Req) -> Fut,
) -> Result<Response<Resp>, Status>
where
    Fut: Future<Output = Result<Resp, ServiceError>>,
{
    let principal = auth::principal(&request)?.clone();
    let req = request.into_inner();
    let object = object(&req);
    let result = handler(principal.clone(), req).await;
    if let Err(e) = &result {
        let entry = AuditEntry::new(&principal, action, &object)
            .with_trace_id(crate::telemetry::current_trace_id())
            .with_outcome(&outcome_of(e));
        reads.record(entry).await;
    }
    result.map(Response::new).map_err(to_status)
}
