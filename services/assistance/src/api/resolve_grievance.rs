//! ResolveGrievance: the outcome, the corrected decision or a reasoned rejection.

use contracts::civil::assistance::v1 as pb;
use contracts::civil::assistance::v1::resolve_grievance_request::Outcome as PbOutcome;
use kit::Violations;
use kit::rpc::Text as _;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::{HANDLERS, grievance_in_scope};
use crate::domain::grievance::Outcome;
use crate::grievances;

/// The outcome as decoded.
pub struct Decoded(Outcome);

impl TryFrom<pb::ResolveGrievanceRequest> for Decoded {
    type Error = Violations;

    fn try_from(r: pb::ResolveGrievanceRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let outcome = match &r.outcome {
            Some(PbOutcome::CorrectedDecisionRef(id)) => Some(Outcome::Corrected {
                decision_ref: v.text(id, "corrected_decision_ref", kit::rpc::SHORT_MAX),
                note: String::new(),
            }),
            Some(PbOutcome::RejectionReasons(text)) => Some(Outcome::Rejected {
                reasons: v.text(text, "rejection_reasons", kit::rpc::LONG_MAX),
            }),
            None => {
                v.add(
                    "outcome",
                    "a corrected decision or rejection reasons is required",
                );
                None
            }
        };
        match outcome {
            Some(o) if v.is_empty() => Ok(Decoded(o)),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::ResolveGrievanceRequest>,
) -> Result<Response<pb::Grievance>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| grievance_in_scope(c, HANDLERS, &req.grievance_id).await,
            async |c, Decoded(outcome), rec| grievances::resolve(c, rec, outcome).await,
        )
        .await
}
